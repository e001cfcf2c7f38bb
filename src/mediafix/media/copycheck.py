"""Is a candidate pair the same photo edited (cropped, framed, mirrored, tilted...)?

The hash search (``media.similarity`` over ``fingerprint.copy_keys``) only proposes pairs;
this module decides them on the pixels, so it runs on candidate pairs only and its work grows
with their number, not with the library's square. Chosen in ``bench/hard_copies.py``:

1. Each picture is decoded small (long side ``VIEW_SIDE``), upright, grey, and its plain bars
   (status and navigation bars, a letterbox) are trimmed off with ``fingerprint.trim_bars``.
2. OpenCV's ORB finds up to ``FEATURES`` corners on each; descriptors are matched (Lowe's
   ratio test) and a similarity transform (scale, rotation, shift) is fitted with RANSAC
   (``cv2.estimateAffinePartial2D``). Mirrored pairs are tried on the flipped picture.
3. Geometry must fit an edit: one picture's content lies (almost) wholly inside the other's
   (a crop, a frame, a caption band), not two overlapping windows of one scene; and the
   turn is small (a straightened photo, not two views).
4. The aligned overlap of both is hashed with the 256-bit detail hash: a copy agrees within
   ``DETAIL_LIMIT`` bits, while a burst neighbour (the subject moved), another page of one
   form layout (other words) or another night shot does not.

The verdict says which file is the edited one and how, in words ("mirrored", "screenshot:
bars removed", "cropped 6 % left"), so the keeper and the group's reasons can use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from mediafix.media import fingerprint

# OpenCV (~20 MB of memory) is imported by the functions that use it: a regroup that has
# every verdict remembered never loads it.

__all__ = [
    "CHECK_VERSION",
    "DETAIL_LIMIT",
    "Verdict",
    "View",
    "compare",
    "compare_bytes",
    "prepare",
]

# Bumped when the checker changes, so verdicts remembered by an older one are made again.
CHECK_VERSION = 3
# Long side of the picture the features are found on.
VIEW_SIDE = 512
FEATURES = 500
# Largest distance (of 256 bits) between the detail hashes of the aligned overlaps.
DETAIL_LIMIT = 48
# Fewest RANSAC inliers that make an alignment.
MIN_INLIERS = 14
# One picture's content must lie this much inside the other's.
MIN_CONTAINED = 0.93
# ... and the overlap must hold this much of the larger one (a 15 % crop per side keeps 49 %).
MIN_OVERLAP = 0.3
# Largest turn (degrees) and scale change of an edit.
MAX_TURN = 12.0
MAX_SCALE = 8.0
# Smallest edit worth naming: a side cropped by 2 % of its length, a band of 4 %.
NAMED_CROP = 0.02
NAMED_BAND = 0.04
NAMED_TURN = 0.8
# Share of a picture inside the other at which it counts as wholly inside.
WHOLE = 0.97


@dataclass
class View:
    """One picture prepared for checking: grey levels with bars trimmed, and ORB features."""

    pixels: np.ndarray  # uint8, the whole upright picture at VIEW_SIDE
    trim: tuple[int, int, int, int]  # top, bottom, left, right rows/columns of bars

    @cached_property
    def content(self) -> np.ndarray:
        top, bottom, left, right = self.trim
        rows, cols = self.pixels.shape
        return np.ascontiguousarray(self.pixels[top : rows - bottom, left : cols - right])

    @cached_property
    def features(self) -> tuple[np.ndarray, np.ndarray | None]:
        return _orb(self.content)

    @cached_property
    def mirrored_features(self) -> tuple[np.ndarray, np.ndarray | None]:
        return _orb(np.ascontiguousarray(self.content[:, ::-1]))

    @property
    def phone_shaped(self) -> bool:
        rows, cols = self.pixels.shape
        return max(rows, cols) >= 1.85 * min(rows, cols)


@dataclass
class Verdict:
    """The checker's answer for a pair (a, b).

    ``same``: the same photo. ``edited``: "a" or "b" for the file that is the edited copy
    (the crop, the screenshot, the captioned one), None when neither is (a mirror image
    alone). ``kinds``: how the edited copy differs, in words. The numbers are what decided.
    """

    same: bool
    edited: str | None = None
    kinds: list[str] = field(default_factory=list)
    inliers: int = 0
    detail_distance: int = 256
    contained: float = 0.0
    why_not: str = ""

    def describe(self) -> str:
        """The kinds as one phrase ("mirrored, cropped 6 % left"), or "edited copy"."""
        return ", ".join(self.kinds) if self.kinds else "edited copy"

    def to_json(self) -> dict[str, object]:
        return {
            "same": self.same,
            "edited": self.edited,
            "kinds": list(self.kinds),
            "inliers": self.inliers,
            "detail_distance": self.detail_distance,
            "contained": round(self.contained, 3),
            "why_not": self.why_not,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Verdict:
        kinds = data.get("kinds") or []
        return cls(
            same=bool(data.get("same")),
            edited=str(data["edited"]) if data.get("edited") in ("a", "b") else None,
            kinds=[str(k) for k in kinds] if isinstance(kinds, list) else [],
            inliers=int(data.get("inliers") or 0),  # type: ignore[call-overload]
            detail_distance=int(data.get("detail_distance") or 0),  # type: ignore[call-overload]
            contained=float(data.get("contained") or 0.0),  # type: ignore[arg-type]
            why_not=str(data.get("why_not") or ""),
        )


def prepare(data: bytes) -> View:
    """Decode an image file's bytes for checking (raises ``fingerprint.FingerprintError``)."""
    import cv2

    luma = fingerprint.load_luma(data, min_side=VIEW_SIDE // 2)
    pixels = luma.pixels
    rows, cols = pixels.shape
    scale = VIEW_SIDE / max(rows, cols)
    if scale < 1.0:
        size = (max(1, round(cols * scale)), max(1, round(rows * scale)))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    grey = np.clip(pixels, 0, 255).astype(np.uint8)
    return View(pixels=grey, trim=fingerprint.trim_bars(grey.astype(np.float32)))


def compare_bytes(a: bytes, b: bytes) -> Verdict:
    return compare(prepare(a), prepare(b))


def compare(a: View, b: View) -> Verdict:
    """Whether ``b`` and ``a`` are the same photo, one edited; see the module's steps."""
    if min(a.content.shape) < 32 or min(b.content.shape) < 32:
        return Verdict(False, why_not="too small")
    best: tuple[int, np.ndarray, bool] | None = None
    for mirrored in (False, True):
        fitted = _align(a, b, mirrored)
        if fitted is not None and (best is None or fitted[0] > best[0]):
            best = (fitted[0], fitted[1], mirrored)
        if best is not None and best[0] >= 3 * MIN_INLIERS:
            break  # a clear alignment: no need to try the mirror image
    if best is None:
        return Verdict(False, why_not="no alignment")
    inliers, matrix, mirrored = best
    scale = math.hypot(matrix[0, 0], matrix[1, 0])
    turn = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    if not (1 / MAX_SCALE <= scale <= MAX_SCALE) or abs(turn) > MAX_TURN:
        return Verdict(False, inliers=inliers, why_not=f"scale {scale:.2f}, turn {turn:.1f}")
    b_pixels = b.content[:, ::-1] if mirrored else b.content
    area_a = float(a.content.shape[0] * a.content.shape[1])
    area_b = float(b_pixels.shape[0] * b_pixels.shape[1]) * scale * scale
    quad = _quad(b_pixels.shape, matrix)
    overlap = _overlap(quad, a.content.shape)
    in_a, in_b = overlap / area_b, overlap / area_a  # b's share inside a; a's inside b
    # A photo's own plain edge (a white wall, a dark background) may be trimmed as a bar in
    # one copy and not in another; then neither content lies inside the other, yet one
    # whole picture still lies inside the other whole picture.
    contained = max(in_a, in_b, _whole_inside(a, b, matrix, mirrored, scale))
    if contained < MIN_CONTAINED or overlap / max(area_a, area_b) < MIN_OVERLAP:
        return Verdict(
            False, inliers=inliers, contained=contained, why_not="overlapping, not contained"
        )
    distance = _overlap_distance(a.content, b_pixels, matrix)
    if distance > DETAIL_LIMIT:
        return Verdict(
            False,
            inliers=inliers,
            contained=contained,
            detail_distance=distance,
            why_not="details differ",
        )
    edited, kinds = _describe(a, b, b_pixels.shape, matrix, mirrored, turn, in_a, in_b)
    return Verdict(
        True,
        edited=edited,
        kinds=kinds,
        inliers=inliers,
        detail_distance=distance,
        contained=contained,
    )


# --------------------------------------------------------------------------- internals


def _orb(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    import cv2

    # Measured against spreading the corners over a grid (more found, the strongest kept
    # per cell): that aligns a copy with a text banner (ORB's 500 strongest corners crowd on
    # the banner's words) but fails more often on photos of text; see bench/hard_copies.py.
    orb = cv2.ORB_create(nfeatures=FEATURES, edgeThreshold=15, patchSize=15)  # type: ignore[attr-defined]
    keypoints, descriptors = orb.detectAndCompute(pixels, None)
    points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
    return points, descriptors


def _align(a: View, b: View, mirrored: bool) -> tuple[int, np.ndarray] | None:
    """(inliers, 2x3 matrix taking b's content, flipped if ``mirrored``, onto a's)."""
    import cv2

    points_a, desc_a = a.features
    points_b, desc_b = b.mirrored_features if mirrored else b.features
    if desc_a is None or desc_b is None or len(desc_a) < 8 or len(desc_b) < 8:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(desc_b, desc_a, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    source = points_b[[m.queryIdx for m in good]]
    target = points_a[[m.trainIdx for m in good]]
    matrix, mask = cv2.estimateAffinePartial2D(
        source,
        target,
        method=cv2.RANSAC,
        ransacReprojThreshold=3.0,
        maxIters=2000,
        confidence=0.995,
    )
    if matrix is None or mask is None:
        return None
    inliers = int(mask.sum())
    return (inliers, matrix) if inliers >= MIN_INLIERS else None


def _whole_inside(a: View, b: View, matrix: np.ndarray, mirrored: bool, scale: float) -> float:
    """The larger share of one whole picture (bars and all) inside the other whole picture."""
    top_a, _bottom_a, left_a, _right_a = a.trim
    top_b, _bottom_b, left_b, right_b = b.trim
    rows_b, cols_b = b.pixels.shape
    # b's whole frame in the coordinates of b's content (flipped first when mirrored)
    shift_x = right_b if mirrored else left_b
    corners = np.array(
        [[0, 0], [cols_b, 0], [cols_b, rows_b], [0, rows_b]], dtype=np.float64
    ) - np.array([shift_x, top_b], dtype=np.float64)
    quad = corners @ matrix[:, :2].T + matrix[:, 2] + np.array([left_a, top_a], np.float64)
    overlap = _overlap(quad, a.pixels.shape)
    area_a = float(a.pixels.shape[0] * a.pixels.shape[1])
    area_b = float(rows_b * cols_b) * scale * scale
    return max(overlap / area_b, overlap / area_a)


def _whole_quad(shape: tuple[int, ...], offset: tuple[int, int], matrix: np.ndarray) -> np.ndarray:
    """The corners of a whole picture of ``shape`` whose content starts at ``offset`` (x, y),
    through ``matrix`` (which takes its content's coordinates)."""
    rows, cols = shape[:2]
    corners = np.array([[0, 0], [cols, 0], [cols, rows], [0, rows]], dtype=np.float64)
    corners -= np.array(offset, dtype=np.float64)
    return corners @ matrix[:, :2].T + matrix[:, 2]


def _quad(shape: tuple[int, ...], matrix: np.ndarray) -> np.ndarray:
    rows, cols = shape[:2]
    corners = np.array([[0, 0], [cols, 0], [cols, rows], [0, rows]], dtype=np.float64)
    return corners @ matrix[:, :2].T + matrix[:, 2]


def _overlap(quad: np.ndarray, shape: tuple[int, ...]) -> float:
    import cv2

    rows, cols = shape[:2]
    frame = np.array([[0, 0], [cols, 0], [cols, rows], [0, rows]], dtype=np.float32)
    area, _ = cv2.intersectConvexConvex(quad.astype(np.float32), frame)
    return float(area)


def _overlap_distance(a: np.ndarray, b: np.ndarray, matrix: np.ndarray) -> int:
    """Detail-hash distance of a's and b's (warped onto a) common part."""
    import cv2

    rows, cols = a.shape
    warped = cv2.warpAffine(b, matrix, (cols, rows), flags=cv2.INTER_AREA)
    footprint = cv2.warpAffine(np.full(b.shape, 255, np.uint8), matrix, (cols, rows))
    valid = cv2.erode(footprint, np.ones((5, 5), np.uint8)) > 0
    ys, xs = np.nonzero(valid)
    if len(ys) < 64 * 64:
        return 256
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    mine = a[top:bottom, left:right].astype(np.float32)
    theirs = warped[top:bottom, left:right].astype(np.float32)
    inside = valid[top:bottom, left:right]
    theirs = np.where(inside, theirs, mine)  # corners a tilt leaves empty: not a difference
    first, second = fingerprint.detail_dct(mine), fingerprint.detail_dct(theirs)
    if first is None or second is None:
        return 256
    return (first ^ second).bit_count()


def _describe(
    a: View,
    b: View,
    b_shape: tuple[int, ...],
    matrix: np.ndarray,
    mirrored: bool,
    turn: float,
    in_a: float,
    in_b: float,
) -> tuple[str | None, list[str]]:
    """Which file is the edited copy, and how, from the alignment and the trimmed bars.

    What one picture lacks of the other is a crop of it, unless the lacking part is a plain
    band of the other's (a caption band above or below, a bar it was padded with on any side,
    wider than the bar trimming takes): then the other has a band added. A picture whose own
    plain edge was trimmed as a bar lacks that much of the other without being cropped.
    """
    import cv2

    rows_b, cols_b = b_shape[:2]
    # shares of each side of the *other* picture that this one lacks
    # Each whole picture (its own trimmed bars included: a plain edge of the photo that one
    # copy trims and another does not is no crop) against the other's content.
    shift_b = (b.trim[3] if mirrored else b.trim[2], b.trim[0])
    lacks = {
        "b": _sides_lost(_whole_quad(b.pixels.shape, shift_b, matrix), *a.content.shape),
        "a": _sides_lost(
            _whole_quad(a.pixels.shape, (a.trim[2], a.trim[0]), cv2.invertAffineTransform(matrix)),
            rows_b,
            cols_b,
        ),
    }
    if mirrored:  # a lacks sides of the flipped b: b's own left is its flipped right
        lost = lacks["a"]
        lacks["a"] = {**lost, "left": lost["right"], "right": lost["left"]}
    # only a picture not wholly inside the other lacks anything of it
    for who, inside in (("a", in_a), ("b", in_b)):
        if inside >= WHOLE:
            lacks[who] = dict.fromkeys(lacks[who], 0.0)
    views = {"a": a, "b": b}
    kinds: dict[str, list[str]] = {"a": [], "b": []}
    for who, other in (("a", "b"), ("b", "a")):
        framing = _framing(views[who])
        if framing:
            kinds[who].append(framing)
        lacking = {
            side: share
            for side, share in lacks[who].items()
            if share >= NAMED_CROP and not _own_bar(views[who], _flip(side, mirrored), share)
        }
        # what this one lacks that is a plain band of the other's is a frame added to the
        # other (a caption band, a padded bar), not a crop of this one
        bands = {
            side: share
            for side, share in lacking.items()
            if _plain_band(views[other].content, side, share)
        }
        captions = {s: v for s, v in bands.items() if s in ("top", "bottom") and v >= NAMED_BAND}
        if captions:
            words = ", ".join(
                f"{share * 100:.0f} % {'above' if side == 'top' else 'below'}"
                for side, share in captions.items()
            )
            kinds[other].append(f"caption band added ({words})")
        borders = {s: v for s, v in bands.items() if s not in captions}
        if borders:
            words = ", ".join(f"{share * 100:.0f} % {side}" for side, share in borders.items())
            kinds[other].append(f"border added ({words})")
        cropped = {side: share for side, share in lacking.items() if side not in bands}
        if cropped and abs(turn) >= NAMED_TURN:
            kinds[who].append(f"tilted {abs(turn):.0f}° and cropped")
        elif cropped:
            words = ", ".join(f"{share * 100:.0f} % {side}" for side, share in cropped.items())
            kinds[who].append(f"cropped {words}")
    # the same bars on both (a photo's own plain edges) are no edit of one of them
    for kind in set(kinds["a"]) & set(kinds["b"]):
        kinds["a"].remove(kind)
        kinds["b"].remove(kind)
    if len(kinds["a"]) == len(kinds["b"]):
        edited = None
        chosen = [*kinds["a"], *kinds["b"]]
    else:
        edited = "a" if len(kinds["a"]) > len(kinds["b"]) else "b"
        chosen = kinds[edited]
    if mirrored:
        chosen = ["mirrored", *chosen]
    return edited, chosen


def _flip(side: str, mirrored: bool) -> str:
    """A side of one picture as the same side of its mirror image."""
    return {"left": "right", "right": "left"}.get(side, side) if mirrored else side


def _own_bar(view: View, side: str, share: float) -> bool:
    """Whether a picture lacks ``share`` of the other's ``side`` only because that much of its
    own plain edge was trimmed as a bar there (and not in the other): no crop."""
    rows, cols = view.pixels.shape
    top, bottom, left, right = view.trim
    own = {"top": top / rows, "bottom": bottom / rows, "left": left / cols, "right": right / cols}
    return own[side] > 0 and share <= own[side] + NAMED_CROP / 2


def _plain_band(pixels: np.ndarray, side: str, share: float) -> bool:
    """Whether the ``share`` of ``pixels`` at ``side`` is a plain band set on the picture (a
    caption band, a bar it was padded with): mostly rows of one background colour (words
    allowed), with the picture's own content right where that colour ends. A sky or a wall
    that goes on past the band's edge is the picture's own, cropped off in the other."""
    if side in ("left", "right"):
        pixels, side = pixels.T, ("top" if side == "left" else "bottom")
    if side == "bottom":
        pixels = pixels[::-1]
    rows = pixels.shape[0]
    count = max(1, round(rows * share))
    slack = max(2, round(rows * 0.02))
    depth = max(3, round(rows * 0.03))
    if count + slack + 2 + depth > rows:
        return False
    head = pixels[: count + slack].astype(np.float32)
    median = np.median(head, axis=1)
    plain = (np.abs(head - median[:, None]) <= fingerprint.BAR_TOLERANCE).mean(axis=1) >= 0.6
    if plain[:count].mean() < 0.5:
        return False
    grey = float(np.median(median[:count][plain[:count]]))
    # the band: rows of its one grey (a drifting sky leaves it), most of the lacking strip
    at_grey = np.flatnonzero(plain & (np.abs(median - grey) <= 6))
    if (at_grey < count).sum() < 0.5 * count:
        return False
    end = int(at_grey.max()) + 1
    if end >= len(head):
        return False  # the plain rows go on past the lacking strip: the picture's own
    # rows right inside the band that are still mostly of its grey (a dark background with
    # the subject in a corner of it) are the picture's own plain edge, cropped in the other
    inner = pixels[end + 2 : end + 2 + depth].astype(np.float32)
    near = (np.abs(inner - grey) <= fingerprint.BAR_TOLERANCE).mean(axis=1)
    return bool((near >= 0.6).mean() < 0.5)


def _sides_lost(quad: np.ndarray, rows: int, cols: int) -> dict[str, float]:
    """How much of each side of a rows x cols frame lies outside ``quad`` (shares)."""
    xs, ys = quad[:, 0], quad[:, 1]
    # the largest axis-aligned box inside the quad, taken from its inner edges
    left = float(np.sort(xs)[1])
    right = float(np.sort(xs)[2])
    top = float(np.sort(ys)[1])
    bottom = float(np.sort(ys)[2])
    return {
        "left": max(0.0, left) / cols,
        "right": max(0.0, cols - right) / cols,
        "top": max(0.0, top) / rows,
        "bottom": max(0.0, rows - bottom) / rows,
    }


def _framing(view: View) -> str:
    """How a picture's trimmed bars read: a screenshot's, a letterbox, a frame, or none."""
    rows, cols = view.pixels.shape
    top, bottom, left, right = view.trim
    vertical = (top + bottom) / rows
    horizontal = (left + right) / cols
    if vertical < 0.03 and horizontal < 0.03:
        return ""
    if view.phone_shaped and top > 0 and bottom > 0:
        return "screenshot: bars removed"
    if horizontal < 0.03 and (top == 0 or bottom == 0):
        where = "above" if top else "below"
        return f"caption band ({vertical * 100:.0f} % {where}) removed"
    if vertical >= 0.03 and horizontal >= 0.03:
        return "framed: border removed"
    if vertical >= 0.03:
        return "letterbox: bars removed"
    return "pillarbox: bars removed"
