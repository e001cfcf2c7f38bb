"""A video's fingerprint and the matching of re-encoded copies: pure values, no decoding.

Apart from ``media.video`` (which decodes with PyAV, ~20 MB of memory once imported), so that
a regroup, which only compares the fingerprints the rows hold, never loads PyAV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DURATION_TOLERANCE", "VideoPrint", "video_groups"]

DURATION_TOLERANCE = 0.03  # 3 % (a re-encode may trim a few frames at either end)


@dataclass(frozen=True)
class VideoPrint:
    duration: float  # seconds
    hashes: tuple[int, ...]  # one 64-bit pHash per sampled frame

    def hex(self) -> str:
        return "".join(format(h, "016x") for h in self.hashes)

    @classmethod
    def from_hex(cls, value: str, duration: float) -> VideoPrint:
        return cls(duration, tuple(int(value[i : i + 16], 16) for i in range(0, len(value), 16)))


def video_groups(prints: Sequence[VideoPrint | None], threshold: int) -> list[list[int]]:
    """Indexes of videos that are copies of each other (every frame within ``threshold``).

    Groups form around the first member (input is expected best-first), never by chaining.
    """
    items = [(i, p) for i, p in enumerate(prints) if p is not None and p.hashes]
    items.sort(key=lambda x: x[1].duration)
    placed: set[int] = set()
    groups = []
    for pos, (i, a) in enumerate(items):
        if i in placed:
            continue
        members = [i]
        for j, b in items[pos + 1 :]:
            if b.duration > a.duration * (1 + DURATION_TOLERANCE) + 0.5:
                break
            if j in placed or len(a.hashes) != len(b.hashes):
                continue
            if all(
                (x ^ y).bit_count() <= threshold for x, y in zip(a.hashes, b.hashes, strict=True)
            ):
                members.append(j)
        if len(members) > 1:
            placed.update(members)
            groups.append(members)
    return groups
