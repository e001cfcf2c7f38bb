"""Bundles: files that are one memory and must be kept or discarded together.

* a Live Photo: a HEIC/JPEG still and a MOV (or MP4) of the same base name in one folder,
  or any files sharing Apple's ContentIdentifier;
* a RAW + JPEG pair from one camera shot: same base name, one RAW and one JPEG/HEIC.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from mediafix.media.kinds import RAW_EXTENSIONS

__all__ = ["BundleInput", "assign_bundles"]

_STILL = {"jpeg", "heic", "heif", "png", "avif", "webp"}


@dataclass(frozen=True)
class BundleInput:
    id: int
    path: str
    kind: str  # image | video | other
    format: str
    content_id: str | None = None


def _stem(path: str) -> str:
    name = os.path.basename(path)
    stem, _ = os.path.splitext(name)
    return stem.lower()


def assign_bundles(items: Sequence[BundleInput]) -> dict[int, str]:
    """Map file id -> bundle key for every file that belongs to a bundle (others absent)."""
    result: dict[int, str] = {}
    by_cid: dict[str, list[BundleInput]] = defaultdict(list)
    for item in items:
        if item.content_id:
            by_cid[item.content_id].append(item)
    for cid, members in by_cid.items():
        kinds = {m.kind for m in members}
        if len(members) > 1 and kinds == {"image", "video"}:
            for m in members:
                result[m.id] = f"live:{cid}"

    by_stem: dict[tuple[str, str], list[BundleInput]] = defaultdict(list)
    for item in items:
        if item.id in result or item.kind not in ("image", "video"):
            continue
        by_stem[(os.path.dirname(item.path), _stem(item.path))].append(item)
    for (folder, stem), members in by_stem.items():
        if len(members) < 2:
            continue
        stills = [m for m in members if m.kind == "image" and m.format in _STILL]
        videos = [m for m in members if m.kind == "video"]
        raws = [
            m
            for m in members
            if m.kind == "image"
            and (m.format == "raw" or os.path.splitext(m.path)[1].lower() in RAW_EXTENSIONS)
        ]
        if len(stills) == 1 and len(videos) == 1 and not raws:
            key = f"live:{folder}/{stem}"
            result[stills[0].id] = result[videos[0].id] = key
        elif len(raws) == 1 and len(stills) == 1:
            key = f"raw:{folder}/{stem}"
            result[raws[0].id] = result[stills[0].id] = key
            if len(videos) == 1:  # a camera's RAW + JPEG + a clip of one shot: still one memory
                result[videos[0].id] = key
    return result
