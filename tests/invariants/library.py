"""A generated library: what the harness puts on disk, as plain values that print well.

A ``Library`` is a list of ``Shot``s (distinct pictures: a photo, a Live Photo, a RAW +
JPEG pair), each placed once as its original and maybe again as exact copies (whole or
part of a bundle, in other folders or under copy names) and near copies (resized and
recompressed), plus files that are no media at all. ``build`` writes it with Pillow, PyAV
and the real exiftool; ``tree`` prints what is on disk (the shrunk failing example).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from tests.helpers.media import scene

__all__ = ["Copy", "Junk", "Library", "Near", "Shot", "build", "sha256", "tree"]

SIZE = (160, 120)  # big enough for the perceptual hashes to tell seeds apart


@dataclass(frozen=True)
class Shot:
    """One distinct picture and how its date is carried.

    ``kind``: ``photo`` (a JPEG), ``live`` (a JPEG or HEIC still + a MOV clip of one stem, with
    ``cid`` the ContentIdentifier both carry, as exiftool reads it from an iPhone's files),
    ``raw`` (a TIFF-based ``.NEF`` + a JPEG of one stem). ``date`` is the wall-clock capture
    time or None (undated); ``how`` writes it: ``exiftool`` (DateTimeOriginal by the real
    exiftool), ``pillow`` (Pillow's EXIF), ``takeout`` (only a Takeout ``.json`` says it,
    as UTC), ``xmp`` (only an ``.xmp`` sidecar says it).
    """

    seed: int
    folder: str
    stem: str
    kind: str = "photo"
    date: datetime | None = None
    how: str = "pillow"
    cid: str | None = None
    still: str = "JPG"  # a Live Photo's still: JPG or HEIC

    def names(self) -> list[str]:
        """The shot's media files, relative to the library (the still first)."""
        base = f"{self.folder}/{self.stem}" if self.folder else self.stem
        if self.kind == "live":
            return [f"{base}.{self.still}", f"{base}.MOV"]
        if self.kind == "raw":
            return [f"{base}.JPG", f"{base}.NEF"]
        return [f"{base}.jpg"]


@dataclass(frozen=True)
class Copy:
    """Exact copies of some of a shot's files (``parts``: indexes into ``Shot.names``) into
    ``folder``, renamed by ``pattern`` (``{stem}``, ``Copy of {stem}``, ``{stem} (1)``...)."""

    shot: int
    folder: str
    pattern: str = "{stem}"
    parts: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Near:
    """The shot's still, resized by ``scale`` and recompressed at ``quality``, same date."""

    shot: int
    folder: str
    name: str
    scale: float = 0.5
    quality: int = 60


@dataclass(frozen=True)
class Junk:
    """A file that is no photo or video (text, a fake ``.jpg``, an empty file)."""

    path: str
    data: bytes


@dataclass(frozen=True)
class Library:
    shots: tuple[Shot, ...]
    copies: tuple[Copy, ...] = ()
    nears: tuple[Near, ...] = ()
    junk: tuple[Junk, ...] = ()
    extra: dict[str, str] = field(default_factory=dict, compare=False)


def sha256(path: str | os.PathLike[str]) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _exif(date: datetime | None, model: str = "HarnessCam") -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Harness"
    exif[0x0110] = model
    if date is not None:
        exif.get_ifd(0x8769)[0x9003] = date.strftime("%Y:%m:%d %H:%M:%S")
    return exif.tobytes()


def _exiftool(path: Path, *assignments: str) -> None:
    args = ["exiftool", "-q", "-m", "-overwrite_original", *assignments, "--", os.fspath(path)]
    subprocess.run(args, check=True, capture_output=True)


def _xmp_sidecar(path: Path, date: datetime) -> None:
    stamp = date.strftime("%Y-%m-%dT%H:%M:%S")
    path.write_text(
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        f'exif:DateTimeOriginal="{stamp}"/></rdf:RDF></x:xmpmeta>\n'
        '<?xpacket end="w"?>\n',
        encoding="utf-8",
    )


def _jpeg(shot: Shot, path: Path) -> None:
    dated = shot.date if shot.how in ("pillow", "exiftool") else None
    buf = io.BytesIO()
    exif = _exif(dated if shot.how == "pillow" else None)
    if path.suffix == ".HEIC":
        import pillow_heif

        pillow_heif.register_heif_opener()
        scene(shot.seed, SIZE).save(buf, "HEIF", quality=85, exif=exif)
    else:
        scene(shot.seed, SIZE).save(buf, "JPEG", quality=85, exif=exif)
    path.write_bytes(buf.getvalue())
    if shot.date is not None and shot.how == "exiftool":
        _exiftool(path, f"-DateTimeOriginal={shot.date:%Y:%m:%d %H:%M:%S}")


def _build_shot(root: Path, shot: Shot) -> None:
    names = shot.names()
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
    still = root / names[0]
    _jpeg(shot, still)
    if shot.kind == "live":
        from tests.helpers.videogen import make_video

        clip = root / names[1]
        make_video(clip, seed=shot.seed, size=(64, 48), seconds=0.4, fps=5)
        if shot.date is not None and shot.how in ("pillow", "exiftool"):
            # An iPhone clip: QuickTime's UTC, and the local time with its offset.
            utc = shot.date.replace(tzinfo=UTC)  # the harness's home zone is UTC
            _exiftool(
                clip,
                f"-QuickTime:CreateDate={utc:%Y:%m:%d %H:%M:%S}",
                f"-Keys:CreationDate={shot.date:%Y:%m:%d %H:%M:%S}+00:00",
            )
    elif shot.kind == "raw":
        raw = root / names[1]
        dated = shot.date if shot.how in ("pillow", "exiftool") else None
        scene(shot.seed, SIZE).save(raw, "TIFF", exif=_exif(dated, "HarnessRaw"))
    if shot.date is not None and shot.how == "takeout":
        stamp = int(shot.date.replace(tzinfo=UTC).timestamp())
        side = Path(f"{still}.json")
        side.write_text(
            json.dumps(
                {"title": still.name, "photoTakenTime": {"timestamp": str(stamp)}},
            )
        )
    elif shot.date is not None and shot.how == "xmp":
        _xmp_sidecar(Path(f"{still}.xmp"), shot.date)


def _copy_name(shot: Shot, name: str, pattern: str) -> str:
    base = os.path.basename(name)
    stem, ext = os.path.splitext(base)
    return pattern.format(stem=stem) + ext


def build(root: Path, lib: Library) -> dict[str, str]:
    """Write ``lib`` under ``root``; return every file written -> its sha256."""
    root.mkdir(parents=True, exist_ok=True)
    for shot in lib.shots:
        _build_shot(root, shot)
    for copy in lib.copies:
        shot = lib.shots[copy.shot]
        names = shot.names()
        for part in sorted(set(copy.parts)):
            src = root / names[part % len(names)]
            dst = root / copy.folder / _copy_name(shot, names[part % len(names)], copy.pattern)
            if dst.exists() or os.path.lexists(dst):
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    for near in lib.nears:
        shot = lib.shots[near.shot]
        dst = root / near.folder / near.name
        if os.path.lexists(dst):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        img = scene(shot.seed, SIZE)
        w, h = int(SIZE[0] * near.scale), int(SIZE[1] * near.scale)
        dated = shot.date if shot.how in ("pillow", "exiftool") else None
        img.resize((w, h)).save(dst, "JPEG", quality=near.quality, exif=_exif(dated))
    for junk in lib.junk:
        dst = root / junk.path
        if os.path.lexists(dst):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(junk.data)
    return {str(p): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def tree(root: Path, files: dict[str, str] | None = None) -> str:
    """The library as a person reads it: each file, its size, a short hash (copies share
    it) and the dates it carries."""
    files = files or {str(p): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}
    lines = [f"{root}/"]
    for path, digest in sorted(files.items()):
        rel = os.path.relpath(path, root)
        size = os.path.getsize(path) if os.path.exists(path) else -1
        lines.append(f"  {rel!r:60} {size:>7} B  sha {digest[:10]}")
    return "\n".join(lines)
