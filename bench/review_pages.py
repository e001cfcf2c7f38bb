"""How fast do the review pages render with a big backlog (issue #7's scale check)?

Builds a temporary SQLite library through the project's own migrations and models, filled
directly with rows shaped the way a scan, the date engine and a regroup write them:

* 5,000 duplicate groups (exact / near / burst, 2-4 members each), keeper and reasons from
  the real :func:`mediafix.media.keeper.choose_keeper`, member ``keep`` flags as
  ``duplicates._store`` sets them, a tenth already resolved with their ``Decision`` rows;
* 10,000 files needing a date check (confidence below ``REVIEW_CONFIDENCE``), their
  ``candidates`` made by :meth:`DateCandidate.to_dict` as ``store.records`` stores
  them (mtime, folder, file name, EXIF without offset, Takeout, conflicting sources...);
* a few thousand ordinary files (dated, some other kinds, a few unreadable), tags on ~15 %,
  an exiftool-like ``meta`` on every media file. File ids follow path order, as a scan
  leaves them.

Then it requests every page a reviewer uses through the real Flask app (``create_app``,
``app.test_client()``): the home page, the duplicate list (HTML and JSON, first and last
page), one group, the bulk-accept preview, the date review (HTML and JSON, last page, by
folder, level and name), the library (HTML and JSON, last page, filters year, undated,
status, needs review, tag, kind, name search), one file, and the output preview. Each page is
requested ``--warmup`` times, then timed ``--repeats`` times (the output preview, which plans
the whole library, ``--output-repeats`` times); the table shows the median and p95 in
milliseconds, the rows the page showed, the SQL statements of one request (an N+1 shows as
dozens) and pass/fail against the target (a median under 200 ms). With ``--http`` the same
pages are also timed over HTTP against a real ``mediafix serve --no-worker`` (werkzeug's
threaded server unless waitress is installed).

Run by hand (seconds to build, about 3 minutes to time, 5 with ``--http``, on 2 cores):

    .venv/bin/python bench/review_pages.py
    .venv/bin/python bench/review_pages.py --http --repeats 20
    .venv/bin/python bench/review_pages.py --only library --profile   # cProfile the slowest
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import insert  # noqa: E402

from mediafix.media.dates import DateCandidate, level_for  # noqa: E402
from mediafix.media.keeper import KeeperInput, choose_keeper  # noqa: E402
from mediafix.media.values import Precision  # noqa: E402
from mediafix.store.models import Decision, DuplicateGroup, DuplicateMember, File  # noqa: E402

SEED = 20260207
TARGET_MS = 200.0
THRESHOLD = 8
TAGS = [
    "Italy 2019",
    "Family",
    "Grandma",
    "Christmas",
    "Birthday",
    "Holiday",
    "Beach",
    "Hiking",
    "School",
    "Wedding",
    "Garden",
    "Cats",
    "Dog",
    "Berlin",
    "Paris",
    "Scans",
    "Best of",
    "Kids",
    "Friends",
    "Concert",
    "Snow",
    "Camping",
    "Food",
    "Work",
    "Car",
    "Museum",
    "Alps",
    "Lake",
    "Sunset",
    "Party",
    "Baby",
    "New house",
    "Road trip",
    "Zoo",
    "Football",
    "Bikes",
    "Rome",
    "London",
    "Porto",
    "Vienna",
]
CAMERAS = [
    ("Apple", "iPhone 11"),
    ("Apple", "iPhone 13 Pro"),
    ("samsung", "SM-G991B"),
    ("Canon", "Canon EOS 80D"),
    ("SONY", "ILCE-7M3"),
    ("Google", "Pixel 6"),
    ("NIKON CORPORATION", "NIKON D5300"),
    ("FUJIFILM", "X-T3"),
]
EVENTS = [
    "Holiday",
    "Birthday",
    "Garden",
    "Weekend",
    "Trip",
    "Christmas",
    "Party",
    "Zoo",
    "Hike",
    "Beach",
    "School",
    "Visit",
]


# -- the library ---------------------------------------------------------------------------


@dataclass
class Library:
    """What was written, and the values the pages are asked for."""

    files: int = 0
    review: int = 0
    groups: int = 0
    pending: int = 0
    members: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    review_folder: str = ""
    group_id: int = 0
    file_id: int = 0
    tag: str = ""
    year: int = 0
    seconds: float = 0.0


class Builder:
    """File rows as ``records.write_analysed`` leaves them; groups as ``duplicates._store``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rows: list[dict[str, Any]] = []
        self.names: dict[str, int] = {}

    # one file --------------------------------------------------------------------------

    def _name(self, folder: str, stem: str, ext: str) -> str:
        key = f"{folder}/{stem}{ext}"
        n = self.names.get(key, 0)
        self.names[key] = n + 1
        return f"{stem}{ext}" if n == 0 else f"{stem} ({n}){ext}"

    def add(self, folder: str, stem: str, ext: str = ".jpg", **fields: Any) -> dict[str, Any]:
        rng = self.rng
        name = self._name(folder, stem, ext)
        fmt = fields.pop(
            "format",
            {
                "jpg": "jpeg",
                "heic": "heic",
                "png": "png",
                "mp4": "mp4",
                "mov": "mov",
                "webp": "webp",
            }.get(ext[1:], "jpeg"),
        )
        kind = fields.pop("kind", "video" if fmt in ("mp4", "mov") else "image")
        width, height = fields.pop(
            "dims", rng.choice([(4032, 3024), (3024, 4032), (6000, 4000), (4000, 3000)])
        )
        row: dict[str, Any] = {
            "root": "/photos",
            "rel_path": f"{folder.removeprefix('/photos/')}/{name}",
            "path": f"{folder}/{name}",
            "name": name,
            "kind": kind,
            "format": fmt,
            "ext": ext,
            "ext_mismatch": False,
            "size": rng.randrange(1_500_000, 6_000_000),
            "mtime": 1_600_000_000 + rng.random() * 1e8,
            "sha256": rng.getrandbits(256).to_bytes(32, "big").hex(),
            "phash": f"{rng.getrandbits(64):016x}",
            "width": width,
            "height": height,
            "orientation": 1,
            "make": None,
            "model": None,
            "content_id": None,
            "bundle": None,
            "sidecars": [],
            "tags": [],
            "status": "ready",
            "error": None,
            "output_path": None,
            "job_id": None,
        }
        row.update(fields)
        if "meta" not in row:
            row["meta"] = self.meta(row)
        self.rows.append(row)
        return row

    def meta(self, row: dict[str, Any]) -> dict[str, Any]:
        """An exiftool ``-j -G1 -n`` answer for the tags mediafix reads (READ_TAGS)."""
        if row["kind"] == "other":
            return {"System:FileSize": row["size"], "File:FileType": "TXT"}
        fmt = (row["format"] or "jpeg").upper()
        meta: dict[str, Any] = {
            "System:FileName": row["name"],
            "System:Directory": os.path.dirname(row["path"]),
            "System:FileSize": row["size"],
            "System:FileModifyDate": "2023:11:14 23:13:20+01:00",
            "File:FileType": fmt,
            "File:FileTypeExtension": row["ext"].lstrip(".").upper(),
            "File:MIMEType": f"image/{fmt.lower()}",
            "File:ImageWidth": row["width"],
            "File:ImageHeight": row["height"],
        }
        if row.get("make"):
            taken = row.get("taken_at") or datetime(2019, 9, 19, 5, 38, 57)
            stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
            meta.update(
                {
                    "IFD0:Make": row["make"],
                    "IFD0:Model": row["model"],
                    "IFD0:Orientation": 1,
                    "IFD0:ModifyDate": stamp,
                    "IFD0:Software": "16.3",
                    "ExifIFD:DateTimeOriginal": stamp,
                    "ExifIFD:CreateDate": stamp,
                    "ExifIFD:OffsetTime": "+02:00",
                    "ExifIFD:OffsetTimeOriginal": "+02:00",
                    "ExifIFD:SubSecTimeOriginal": "123",
                    "ExifIFD:ExifImageWidth": row["width"],
                    "ExifIFD:ExifImageHeight": row["height"],
                    "ExifIFD:LensModel": f"{row['model']} back camera 4.25mm f/1.8",
                    "GPS:GPSLatitude": 45.4 + self.rng.random(),
                    "GPS:GPSLongitude": 9.1,
                    "GPS:GPSDateStamp": taken.strftime("%Y:%m:%d"),
                    "GPS:GPSTimeStamp": "03:38:57",
                    "Composite:SubSecDateTimeOriginal": stamp + ".123+02:00",
                    "Composite:GPSDateTime": stamp + "Z",
                }
            )
        return meta

    # dates -----------------------------------------------------------------------------

    def dated(self, taken: datetime, offset: int = 120, camera: bool = True) -> dict[str, Any]:
        """A high-confidence verdict: EXIF with its offset, agreeing with the name and GPS."""
        utc = taken - timedelta(minutes=offset)
        cands = [
            DateCandidate(
                "exif:DateTimeOriginal",
                taken,
                Precision.SUBSECOND,
                offset,
                "exif:OffsetTimeOriginal",
                utc,
                0.95,
            ),
            DateCandidate(
                "gps:GPSDateTime",
                taken,
                Precision.SECOND,
                offset,
                "exif:OffsetTimeOriginal",
                utc,
                0.8,
                "GPS time, read in the EXIF offset",
            ),
            DateCandidate(
                "file:mtime",
                taken + timedelta(days=self.rng.randrange(30, 900)),
                Precision.SECOND,
                60,
                "home-zone",
                utc,
                0.2,
                "the file's modification time (a copy date, usually)",
            ),
        ]
        if not camera:
            cands = [cands[2]]
        conf = 0.97 if camera else 0.85
        return self._verdict(
            taken,
            offset,
            "exif:OffsetTimeOriginal",
            conf,
            "exif:DateTimeOriginal",
            "camera EXIF DateTimeOriginal with its offset; GPS time agrees",
            Precision.SUBSECOND,
            cands,
        )

    def uncertain(self, folder: str, stem: str) -> dict[str, Any]:
        """A verdict below REVIEW_CONFIDENCE, of one of the kinds a family archive has."""
        rng = self.rng
        year = rng.randrange(1998, 2024)
        taken = datetime(
            year,
            rng.randrange(1, 13),
            rng.randrange(1, 29),
            rng.randrange(0, 24),
            rng.randrange(60),
            rng.randrange(60),
        )
        mtime = DateCandidate(
            "file:mtime",
            datetime(2023, 11, 14, 23, 13, 20) + timedelta(seconds=rng.randrange(10**7)),
            Precision.SECOND,
            60,
            "home-zone",
            datetime(2023, 11, 14, 22, 13, 20),
            0.25,
            "the file's modification time (a copy date, usually)",
        )
        case = rng.random()
        if case < 0.22:  # nothing but the copy date
            return self._verdict(
                mtime.value,
                60,
                "home-zone",
                0.25,
                "file:mtime",
                "only the file's modification time",
                Precision.SECOND,
                [mtime],
            )
        if case < 0.38:  # a folder named for the year or month
            month = rng.choice([None, rng.randrange(1, 13)])
            value = datetime(year, month or 1, 1)
            prec = Precision.MONTH if month else Precision.YEAR
            folder_c = DateCandidate(
                "folder",
                value,
                prec,
                None,
                None,
                None,
                0.35,
                f"folder {os.path.basename(folder)!r}",
            )
            return self._verdict(
                value,
                None,
                None,
                0.35,
                "folder",
                "only the folder's name gives a date (month precision at best)",
                prec,
                [folder_c, mtime],
            )
        if case < 0.60:  # a file name with a date, no offset
            name_c = DateCandidate(
                "filename",
                taken,
                Precision.SECOND,
                None,
                None,
                None,
                0.55,
                f"name {stem!r} (WhatsApp pattern)",
            )
            return self._verdict(
                taken,
                60,
                "home-zone",
                0.55,
                "filename",
                "a date in the file name, no time zone: read in the home zone",
                Precision.SECOND,
                [name_c, mtime],
            )
        if case < 0.75:  # EXIF without an offset, mtime disagrees
            exif = DateCandidate(
                "exif:DateTimeOriginal", taken, Precision.SECOND, None, None, None, 0.7
            )
            return self._verdict(
                taken,
                60,
                "home-zone",
                0.5,
                "exif:DateTimeOriginal",
                "EXIF DateTimeOriginal without an offset; the file's mtime disagrees by years",
                Precision.SECOND,
                [exif, mtime],
            )
        if case < 0.85:  # a camera clock that disagrees with the name and the sidecar
            utc = taken - timedelta(hours=1)
            cands = [
                DateCandidate(
                    "exif:DateTimeOriginal",
                    taken + timedelta(hours=9),
                    Precision.SECOND,
                    None,
                    None,
                    None,
                    0.7,
                ),
                DateCandidate(
                    "sidecar:takeout",
                    taken,
                    Precision.SECOND,
                    60,
                    "home-zone",
                    utc,
                    0.6,
                    "photoTakenTime of the Takeout JSON",
                ),
                DateCandidate(
                    "filename", taken, Precision.SECOND, None, None, None, 0.55, f"name {stem!r}"
                ),
                mtime,
            ]
            return self._verdict(
                taken + timedelta(hours=9),
                None,
                None,
                0.4,
                "exif:DateTimeOriginal",
                "EXIF and the Takeout sidecar are 9 hours apart: a camera clock in the wrong zone?",
                Precision.SECOND,
                cands,
            )
        if case < 0.93:  # a video's UTC date without a zone
            utc = taken - timedelta(hours=2)
            qt = DateCandidate(
                "quicktime:CreateDate",
                taken,
                Precision.SECOND,
                60,
                "home-zone",
                utc,
                0.6,
                "QuickTime UTC, local time from the home zone",
            )
            return self._verdict(
                taken,
                60,
                "home-zone",
                0.45,
                "quicktime:CreateDate",
                "QuickTime date (UTC) with no zone of its own",
                Precision.SECOND,
                [qt, mtime],
            )
        # nothing usable: sentinels dropped
        return self._verdict(
            None,
            None,
            None,
            0.0,
            None,
            "no date found (ignored: a 1970 epoch in CreateDate)",
            None,
            [],
        )

    @staticmethod
    def _verdict(
        taken: datetime | None,
        offset: int | None,
        offset_source: str | None,
        conf: float,
        source: str | None,
        reason: str,
        precision: Precision | None,
        cands: Sequence[DateCandidate],
    ) -> dict[str, Any]:
        return {
            "taken_at": taken,
            "utc_offset": offset,
            "offset_source": offset_source if offset is not None else None,
            "taken_at_utc": taken - timedelta(minutes=offset)
            if taken and offset is not None
            else None,
            "confidence": conf,
            "confidence_level": level_for(conf),
            "date_source": source,
            "date_reason": reason,
            "date_precision": precision.value if precision else None,
            "candidates": [c.to_dict() for c in cands],
        }

    # groups ----------------------------------------------------------------------------

    def group(self, kind: str, size: int, review_share: float) -> tuple[str, list[dict[str, Any]]]:
        rng = self.rng
        year = rng.randrange(2008, 2024)
        taken = datetime(
            year,
            rng.randrange(1, 13),
            rng.randrange(1, 29),
            rng.randrange(7, 22),
            rng.randrange(60),
            rng.randrange(60),
        )
        event = f"/photos/{year}/{year}-{taken.month:02d} {rng.choice(EVENTS)}"
        make, model = rng.choice(CAMERAS)
        n = rng.randrange(1, 9999)
        members: list[dict[str, Any]] = []
        if kind == "exact":
            first = self.add(
                event, f"IMG_{n:04d}", make=make, model=model, **self._status(taken, review_share)
            )
            members.append(first)
            for k in range(1, size):
                folder = rng.choice(
                    [
                        "/photos/Backup 2020/Phone",
                        "/photos/Old laptop/Pictures",
                        f"/photos/Backup {2015 + k}/{year}",
                        "/photos/Downloads",
                    ]
                )
                copy = {
                    key: first[key]
                    for key in (
                        "size",
                        "sha256",
                        "phash",
                        "width",
                        "height",
                        "make",
                        "model",
                        "meta",
                        "taken_at",
                        "utc_offset",
                        "offset_source",
                        "taken_at_utc",
                        "confidence",
                        "confidence_level",
                        "date_source",
                        "date_reason",
                        "date_precision",
                        "candidates",
                        "status",
                    )
                }
                members.append(self.add(folder, f"IMG_{n:04d}", **copy))
        elif kind == "burst":
            for k in range(size):
                when = taken + timedelta(seconds=k)
                members.append(
                    self.add(
                        event,
                        f"IMG_{n + k:04d}",
                        make=make,
                        model=model,
                        **self._status(when, review_share),
                    )
                )
        else:  # near: an original and copies that lost quality or metadata
            members.append(
                self.add(
                    event,
                    f"IMG_{n:04d}",
                    ".heic",
                    make=make,
                    model=model,
                    **self._status(taken, review_share),
                )
            )
            copies = [
                ("/photos/WhatsApp Images", f"IMG-{taken:%Y%m%d}-WA{n:04d}", ".jpg", (1600, 1200)),
                ("/photos/Exports", f"IMG_{n:04d}", ".jpg", (4032, 3024)),
                ("/photos/Web", f"IMG_{n:04d}", ".webp", (2048, 1536)),
            ]
            for folder, stem, ext, dims in copies[: size - 1]:
                status = self._status(taken, review_share, camera=False)
                members.append(
                    self.add(
                        folder, stem, ext, dims=dims, size=rng.randrange(150_000, 900_000), **status
                    )
                )
        return kind, members

    def _status(self, taken: datetime, review_share: float, camera: bool = True) -> dict[str, Any]:
        if self.rng.random() < review_share:
            return {**self.uncertain("/photos", "IMG"), "status": "review"}
        return {**self.dated(taken, camera=camera), "status": "ready"}


def keeper_input(index: int, row: dict[str, Any]) -> KeeperInput:
    """As ``store.records.keeper_input`` reads a row."""
    meta = row["meta"] or {}
    has_camera = any(k.split(":", 1)[-1] in ("Make", "Model", "DateTimeOriginal") for k in meta)
    camera = " ".join(x for x in (row["make"], row["model"]) if x) or None
    return KeeperInput(
        index=index,
        path=row["path"],
        format=row["format"] or "unknown",
        width=row["width"],
        height=row["height"],
        size=row["size"] or 0,
        has_camera_metadata=has_camera,
        taken_at=row.get("taken_at_utc") or row.get("taken_at"),
        metadata_count=len(meta),
        camera=camera,
    )


def build(database_url: str, groups: int, review: int, ordinary: int, seed: int) -> Library:
    from mediafix.store.db import get_engine, upgrade

    started = time.perf_counter()
    rng = random.Random(seed)
    b = Builder(seed)
    info = Library()

    # 1. duplicate groups: 40 % exact, 45 % near, 15 % burst; 2-4 members
    planned: list[tuple[str, list[dict[str, Any]]]] = []
    review_share = 0.2
    for _ in range(groups):
        kind = rng.choices(["exact", "near", "burst"], [40, 45, 15])[0]
        size = rng.choices([2, 3, 4], [60, 28, 12])[0]
        planned.append(b.group(kind, size, review_share))
    in_groups = sum(r["status"] == "review" for r in b.rows)

    # 2. the rest of the date backlog: scans, WhatsApp, Takeout, old phones, videos
    folders = (
        [f"/photos/Scans/Box {k}" for k in range(1, 41)]
        + [f"/photos/WhatsApp Images/{y}" for y in range(2014, 2024)]
        + [f"/photos/Google Photos/Takeout {k}/Photos from {2010 + k}" for k in range(12)]
        + [f"/photos/Old phone/DCIM/{100 + k}ANDRO" for k in range(30)]
        + [f"/photos/{y}/Unsorted" for y in range(2000, 2024)]
        + [f"/photos/Videos/{y}" for y in range(2012, 2024)]
    )
    for i in range(max(0, review - in_groups)):
        folder = rng.choice(folders)
        ext = ".mp4" if folder.startswith("/photos/Videos") else rng.choice([".jpg"] * 8 + [".png"])
        stem = (
            f"IMG-{2014 + i % 10}{i % 12 + 1:02d}{i % 28 + 1:02d}-WA{i:04d}"
            if "WhatsApp" in folder
            else f"scan_{i:05d}"
            if "Scans" in folder
            else f"VID_{i:05d}"
            if ext == ".mp4"
            else f"IMG_{i:05d}"
        )
        b.add(folder, stem, ext, status="review", **b.uncertain(folder, stem))

    # 3. ordinary files: dated photos and videos, plus non-media and unreadable ones
    for i in range(ordinary):
        year = rng.randrange(2004, 2024)
        taken = datetime(
            year,
            rng.randrange(1, 13),
            rng.randrange(1, 29),
            rng.randrange(7, 22),
            rng.randrange(60),
            rng.randrange(60),
        )
        folder = f"/photos/{year}/{year}-{taken.month:02d} {rng.choice(EVENTS)}"
        roll = rng.random()
        if roll < 0.05:
            b.add(
                folder,
                f"notes_{i}",
                ".txt",
                kind="other",
                format=None,
                dims=(None, None),
                phash=None,
                status="skipped",
                taken_at=None,
                confidence=0.0,
                confidence_level="none",
                date_reason="not a photo or video",
                candidates=[],
            )
        elif roll < 0.07:
            b.add(
                folder,
                f"IMG_{i:05d}",
                ".jpg",
                status="error",
                phash=None,
                dims=(None, None),
                error="image file is truncated (21 bytes not processed)",
                candidates=[],
                confidence=0.0,
                confidence_level="none",
            )
        else:
            make, model = rng.choice(CAMERAS)
            ext = ".mp4" if roll > 0.93 else ".jpg"
            b.add(
                folder,
                f"{'VID' if ext == '.mp4' else 'IMG'}_{i:05d}",
                ext,
                make=make,
                model=model,
                **b.dated(taken),
            )

    # tags on ~15 % of the files, 1-3 each, a few tags much more common than others
    for row in b.rows:
        if row["kind"] != "other" and rng.random() < 0.15:
            row["tags"] = sorted(
                {
                    rng.choices(TAGS, [40 - k for k in range(len(TAGS))])[0]
                    for _ in range(rng.randrange(1, 4))
                }
            )
    for row in b.rows:
        for key in DATE_KEYS:
            row.setdefault(key, None)
        row.setdefault("candidates", [])
        if row["confidence_level"] is None:
            row["confidence_level"] = "none"

    # ids in path order, as a scan of sorted folders leaves them
    ordered = sorted(b.rows, key=lambda r: r["path"])
    for file_id, row in enumerate(ordered, start=1):
        row["id"] = file_id

    upgrade(database_url)
    engine = get_engine(database_url)
    group_rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []
    decision_rows: list[dict[str, Any]] = []
    now = datetime(2024, 3, 1, 12, 0, 0)
    for group_id, (kind, members) in enumerate(planned, start=1):
        keeper, reasons = choose_keeper([keeper_input(n, r) for n, r in enumerate(members)])
        if kind == "exact":
            lead = "byte-identical copies (same size and SHA-256)"
            distances = [0] * len(members)
        elif kind == "burst":
            lead = "similar frames shot seconds apart: review them, nothing is discarded by default"
            distances = [0] + [rng.randrange(3, THRESHOLD + 1) for _ in members[1:]]
        else:
            distances = [0] + [rng.randrange(1, THRESHOLD + 1) for _ in members[1:]]
            lead = (
                f"the same picture (perceptual distance {max(distances)} of 64 bits, "
                f"threshold {THRESHOLD})"
            )
        resolved = rng.random() < 0.1
        group_rows.append(
            {
                "id": group_id,
                "type": kind,
                "keeper_id": members[keeper]["id"],
                "reasons": [lead, *reasons],
                "status": "resolved" if resolved else "pending",
                "created_at": now,
            }
        )
        for n, row in enumerate(members):
            keep = kind == "burst" or n == keeper
            member_rows.append(
                {"group_id": group_id, "file_id": row["id"], "distance": distances[n], "keep": keep}
            )
            if resolved:
                decision_rows.append(
                    {
                        "kind": "keep" if keep else "discard",
                        "file_id": row["id"],
                        "sha256": row["sha256"],
                        "other_sha256": None,
                        "payload": {"group_id": group_id, "group_type": kind},
                        "created_at": now,
                    }
                )
        info.by_type[kind] = info.by_type.get(kind, 0) + 1

    with engine.begin() as conn:
        for table, rows in (
            (File, ordered),
            (DuplicateGroup, group_rows),
            (DuplicateMember, member_rows),
            (Decision, decision_rows),
        ):
            for start in range(0, len(rows), 2000):
                conn.execute(insert(table), rows[start : start + 2000])
        conn.exec_driver_sql("ANALYZE")

    info.files = len(ordered)
    info.review = sum(r["status"] == "review" for r in ordered)
    info.groups = len(group_rows)
    info.members = len(member_rows)
    counts: dict[str, int] = {}
    for r in ordered:
        if r["status"] == "review":
            folder = os.path.dirname(r["path"])
            counts[folder] = counts.get(folder, 0) + 1
    info.review_folder = max(counts, key=lambda f: counts[f])
    pending = [g["id"] for g in group_rows if g["status"] == "pending"]
    info.pending = len(pending)
    info.group_id = pending[len(pending) // 2]
    info.file_id = group_rows[info.group_id - 1]["keeper_id"]
    tag_counts: dict[str, int] = {}
    for r in ordered:
        for t in r["tags"]:
            tag_counts[t] = tag_counts.get(t, 0) + 1
    info.tag = max(tag_counts, key=lambda t: tag_counts[t])
    info.year = 2019
    info.seconds = time.perf_counter() - started
    return info


DATE_KEYS = (
    "taken_at",
    "utc_offset",
    "offset_source",
    "taken_at_utc",
    "confidence",
    "confidence_level",
    "date_source",
    "date_reason",
    "date_precision",
)


# -- the pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    label: str
    url: str
    json: bool = False
    marker: str = ""  # counts the rows an HTML page shows


def pages(lib: Library) -> list[Page]:
    from urllib.parse import quote

    folder = quote(lib.review_folder)
    tag = quote(lib.tag)

    def last(n: int, per_page: int) -> int:  # the last page: the deepest OFFSET
        return max(1, -(-n // per_page))

    dupes, dates = last(lib.pending, 24), last(lib.review, 30)
    files, review = last(lib.files, 96), last(lib.review, 96)
    group_card = 'class="card group-card"'
    date_row = 'class="card date-row'
    tile = 'class="tile tile-'
    return [
        Page("home", "/", marker='class="card'),
        Page("duplicates", "/review/duplicates", marker=group_card),
        Page("duplicates JSON", "/review/duplicates", json=True),
        Page(f"duplicates p.{dupes}", f"/review/duplicates?page={dupes}", marker=group_card),
        Page(f"duplicates p.{dupes} JSON", f"/review/duplicates?page={dupes}", json=True),
        Page("duplicates near, all", "/review/duplicates?status=all&type=near", marker=group_card),
        Page("duplicate group", f"/review/duplicates/{lib.group_id}", marker='class="member '),
        Page("duplicate group JSON", f"/review/duplicates/{lib.group_id}", json=True),
        Page("accept preview JSON", "/review/duplicates/accept?type=exact,near", json=True),
        Page("timestamps", "/review/timestamps", marker=date_row),
        Page("timestamps JSON", "/review/timestamps", json=True),
        Page(f"timestamps p.{dates}", f"/review/timestamps?page={dates}", marker=date_row),
        Page(f"timestamps p.{dates} JSON", f"/review/timestamps?page={dates}", json=True),
        Page("timestamps folder", f"/review/timestamps?folder={folder}", marker=date_row),
        Page("timestamps level=low", "/review/timestamps?level=low", marker=date_row),
        Page("timestamps q=IMG_", "/review/timestamps?q=IMG_", marker=date_row),
        Page("library", "/library", marker=tile),
        Page("library JSON", "/library", json=True),
        Page(f"library p.{files}", f"/library?page={files}", marker=tile),
        Page(f"library p.{files} JSON", f"/library?page={files}", json=True),
        Page("library year", f"/library?year={lib.year}", marker=tile),
        Page("library undated", "/library?year=none", marker=tile),
        Page("library status=ready", "/library?status=ready", marker=tile),
        Page("library needs review", "/library?review=1", marker=tile),
        Page(f"library review p.{review}", f"/library?review=1&page={review}", marker=tile),
        Page("library tag", f"/library?tag={tag}", marker=tile),
        Page("library tag JSON", f"/library?tag={tag}", json=True),
        Page("library kind=video", "/library?kind=video", marker=tile),
        Page("library q=WA", "/library?q=WA", marker=tile),
        Page("file", f"/files/{lib.file_id}", marker="<td><code>"),
        Page("file JSON", f"/files/{lib.file_id}", json=True),
        Page("output preview", "/output", marker='<tr class="action-'),
        Page("output preview JSON", "/output", json=True),
    ]


def slow(page: Page) -> bool:
    """The output preview plans the whole library: a few timed requests say enough."""
    return page.url.startswith("/output")


def rows_shown(page: Page, status: int, body: bytes) -> str:
    if status != 200:
        return f"HTTP {status}"
    if page.json:
        data = json.loads(body)
        if isinstance(data, list):
            return str(len(data))
        for key in ("candidates", "groups", "items", "members"):
            value = data.get(key)
            if isinstance(value, list):
                return str(len(value))
            if isinstance(value, int):  # accept preview: how many groups it would resolve
                return str(value)
        return "?"
    return str(body.count(page.marker.encode()))


@dataclass
class Timing:
    page: Page
    times: list[float]
    rows: str
    queries: int | None = None  # SQL statements of the last request (in process only)


def time_page(
    fetch: Callable[[Page], tuple[int, bytes]],
    page: Page,
    warmup: int,
    repeats: int,
    counter: QueryCounter | None = None,
) -> Timing:
    status, body = 0, b""
    for _ in range(warmup):
        status, body = fetch(page)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        status, body = fetch(page)
        times.append((time.perf_counter() - started) * 1000)
    return Timing(
        page, times, rows_shown(page, status, body), counter.count if counter is not None else None
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(title: str, results: list[Timing]) -> int:
    print(f"\n{title}")
    header = (
        f"{'page':<26} {'median ms':>10} {'p95 ms':>8} {'rows':>6} {'SQL':>5}  {'< 200 ms':<8} url"
    )
    print(header)
    print("-" * len(header))
    failed = 0
    for r in results:
        median = statistics.median(r.times)
        ok = median < TARGET_MS and r.rows.isdigit()
        failed += not ok
        queries = "-" if r.queries is None else str(r.queries)
        print(
            f"{r.page.label:<26} {median:>10.1f} {percentile(r.times, 95):>8.1f} {r.rows:>6} "
            f"{queries:>5}  {'pass' if ok else 'FAIL':<8} {r.page.url}"
        )
    return failed


# -- in process and over HTTP -------------------------------------------------------------


class QueryCounter:
    """Counts the SQL statements the app's engines run (an N+1 shows as dozens per page)."""

    def __init__(self, app: Any) -> None:
        from sqlalchemy import event

        self.count = 0
        state = app.extensions["mediafix"]
        for engine in {id(e): e for e in (state.engine, state.read_engine)}.values():
            event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


def client_fetch(
    app: Any, counter: QueryCounter | None = None
) -> Callable[[Page], tuple[int, bytes]]:
    client = app.test_client()

    def fetch(page: Page) -> tuple[int, bytes]:
        headers = {"Accept": "application/json"} if page.json else {}
        if counter is not None:
            counter.count = 0
        response = client.get(page.url, headers=headers)
        return response.status_code, response.get_data()

    return fetch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_fetch(port: int) -> Callable[[Page], tuple[int, bytes]]:
    def fetch(page: Page) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            headers = {"Accept": "application/json"} if page.json else {}
            conn.request("GET", page.url, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    return fetch


def start_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cli = [sys.executable, "-m", "mediafix.cli"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*cli, "serve", "--no-worker", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    for _ in range(150):
        try:
            if http_fetch(port)(Page("health", "/healthz", json=True))[0] == 200:
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"mediafix serve did not start; see {log}")


def profile(fetch: Callable[[Page], tuple[int, bytes]], page: Page, repeats: int) -> None:
    fetch(page)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeats):
        fetch(page)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(35)
    print(f"\ncProfile of {page.label} ({page.url}), {repeats} requests, by cumulative time:")
    print(out.getvalue())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=5_000, help="duplicate groups")
    parser.add_argument("--review", type=int, default=10_000, help="files needing a date check")
    parser.add_argument(
        "--ordinary",
        type=int,
        default=5_000,
        help="other files not in any group (dated, non-media, unreadable)",
    )
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--output-repeats",
        type=int,
        default=5,
        help="timed requests of the output preview (seconds each: it plans the whole library)",
    )
    parser.add_argument("--only", help="time only pages whose label contains this")
    parser.add_argument(
        "--http",
        action="store_true",
        help="also time the pages over HTTP (mediafix serve --no-worker)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the slowest page after the table"
    )
    parser.add_argument("--keep", type=Path, help="build the library here and keep it")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="mediafix-bench-review-"))
    work.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work / "data", ignore_errors=True)  # --keep again: a fresh library
    env_keys = {
        "MEDIAFIX_DATA_DIR": str(work / "data"),
        "MEDIAFIX_OUTPUT_DIR": str(work / "out"),
        "MEDIAFIX_TIMEZONE": "Europe/Berlin",
        "MEDIAFIX_WORKERS": "2",
    }
    os.environ.update(env_keys)
    for var in ("MEDIAFIX_DATABASE_URL", "MEDIAFIX_QUEUE_URL", "MEDIAFIX_PASSWORD"):
        os.environ.pop(var, None)
    from mediafix.config import get_settings
    from mediafix.store.db import dispose_engines

    get_settings.cache_clear()
    settings = get_settings()
    settings.ensure_dirs()
    try:
        lib = build(settings.database_url, args.groups, args.review, args.ordinary, SEED)
        db_mb = Path(settings.database_url.removeprefix("sqlite:///")).stat().st_size / 1e6
        print(
            f"library in {work}: {lib.files:,} files, {lib.review:,} to review, "
            f"{lib.groups:,} groups ({', '.join(f'{n:,} {k}' for k, n in lib.by_type.items())}; "
            f"{lib.members:,} members), {db_mb:.0f} MB, built in {lib.seconds:.1f} s"
        )
        print(
            f"{args.warmup} warm-up + {args.repeats} timed requests per page; "
            f"load average {os.getloadavg()[0]:.2f}"
        )

        from mediafix.web import create_app

        app = create_app({"TESTING": True})
        counter = QueryCounter(app)
        fetch = client_fetch(app, counter)
        chosen = [p for p in pages(lib) if not args.only or args.only in p.label]
        results = [
            time_page(
                fetch,
                p,
                min(args.warmup, 1) if slow(p) else args.warmup,
                args.output_repeats if slow(p) else args.repeats,
                counter,
            )
            for p in chosen
        ]
        failed = report("in process (Flask test client)", results)

        if args.http:
            dispose_engines()
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
            proc, port = start_server(env, work / "serve.log")
            try:
                over_http = [
                    time_page(
                        http_fetch(port),
                        p,
                        min(args.warmup, 1) if slow(p) else args.warmup,
                        args.output_repeats if slow(p) else args.repeats,
                    )
                    for p in chosen
                ]
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            failed += report(f"over HTTP (mediafix serve --no-worker, port {port})", over_http)

        if args.profile and results:
            slowest = max(results, key=lambda r: statistics.median(r.times)).page
            profile(fetch, slowest, max(3, args.repeats // 4))
        print(
            f"\nload average at the end {os.getloadavg()[0]:.2f}; "
            f"{'every page under' if not failed else f'{failed} page(s) not under'} "
            f"{TARGET_MS:.0f} ms"
        )
        return 1 if failed else 0
    finally:
        dispose_engines()
        get_settings.cache_clear()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
