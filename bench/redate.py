"""Re-dating a library after a zone change: how long, from stored evidence (issue #18).

    .venv/bin/python bench/redate.py [--files 20000] [--database-url URL]

Builds a library of database rows only (no media files): camera photos without an offset,
phone photos with one, Android videos with UTC headers, GoPro videos, names and folders
alone, a few dated by a person, on trips abroad and at home. Each row's evidence is what
``collect`` gathers from exiftool-like metadata, as a scan stores it. Then it times, on the
same library:

* ``redate`` after the home zone changed (every verdict judged again, changes written);
* ``redate`` again with nothing changed (judged, nothing written);
* ``redate`` of rows scanned before evidence was stored (gathered again from ``meta``);
* ``settle_dates`` (what every scan runs: cameras, zones from neighbours, sequences).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _metadata(kind: str, rng: random.Random, when: datetime, offset: int) -> dict[str, Any]:
    stamp = f"{when:%Y:%m:%d %H:%M:%S}"
    if kind == "camera":
        return {
            "IFD0:Make": "NIKON CORPORATION",
            "IFD0:Model": "NIKON D750",
            "ExifIFD:DateTimeOriginal": stamp,
            "ExifIFD:SubSecTimeOriginal": "12",
        }
    if kind == "phone":
        sign = "-" if offset < 0 else "+"
        return {
            "IFD0:Make": "Apple",
            "IFD0:Model": "iPhone 12",
            "ExifIFD:DateTimeOriginal": stamp,
            "ExifIFD:OffsetTimeOriginal": f"{sign}{abs(offset) // 60:02d}:00",
            "Composite:GPSLatitude": 52.5,
            "Composite:GPSLongitude": 13.4,
        }
    utc = f"{when - timedelta(minutes=offset):%Y:%m:%d %H:%M:%S}"
    if kind == "android":
        return {
            "QuickTime:CreateDate": utc,
            "Track1:TrackCreateDate": utc,
            "Track1:MediaCreateDate": utc,
            "QuickTime:Duration": rng.uniform(2, 60),
        }
    if kind == "gopro":
        return {
            "QuickTime:CreateDate": stamp,
            "UserData:Model": "HERO9 Black",
            "QuickTime:Duration": rng.uniform(2, 60),
        }
    return {}


def build(engine: Any, n: int, seed: int = 18) -> None:
    from mediafix.media.dates import collect, judge
    from mediafix.services.pipeline import analyse_options
    from mediafix.store.models import File
    from mediafix.store.records import verdict_columns

    rng = random.Random(seed)
    settings = __import__("mediafix.config", fromlist=["x"]).get_settings()
    options = analyse_options(settings).date_options()
    kinds = ["camera"] * 40 + ["phone"] * 25 + ["android"] * 20 + ["gopro"] * 5 + ["named"] * 10
    start = datetime(2012, 1, 1)
    rows = []
    for i in range(n):
        kind = rng.choice(kinds)
        when = start + timedelta(minutes=i * 37 + rng.randint(0, 20))
        abroad = (when.toordinal() // 20) % 4 == 0  # a trip every 80 days
        offset = -240 if abroad else 60
        folder = f"/photos/{when:%Y}/{when:%Y-%m} {'Trip' if abroad else 'Home'}"
        name = (
            f"IMG_{when:%Y%m%d_%H%M%S}.jpg"
            if kind == "named"
            else f"{'VID' if kind in ('android', 'gopro') else 'DSC'}_{i:05d}."
            f"{'mp4' if kind in ('android', 'gopro') else 'jpg'}"
        )
        meta = _metadata(kind, rng, when, offset)
        path = f"{folder}/{name}"
        mtime = (when + timedelta(days=rng.randint(30, 900))).timestamp()
        evidence = collect(path, meta, mtime, root="/photos", options=options)
        verdict = judge(evidence, options)
        user = rng.random() < 0.01
        row = {
            "root": "/photos",
            "rel_path": path[len("/photos/") :],
            "path": path,
            "name": name,
            "kind": "video" if kind in ("android", "gopro") else "image",
            "format": "jpeg",
            "ext": os.path.splitext(name)[1],
            "ext_mismatch": False,
            "size": 1000 + i,
            "mtime": mtime,
            "sha256": f"{i:064x}",
            "meta": meta,
            "sidecars": [],
            "tags": [],
            "model": meta.get("IFD0:Model") or meta.get("UserData:Model"),
            "evidence": evidence.to_json(),
            "status": "ready",
            **verdict_columns(verdict),
        }
        if user:
            row.update(date_source="user", confidence=1.0, confidence_level="high")
        rows.append(row)
    from mediafix.store.db import session_scope

    with session_scope(engine) as s:
        for k in range(0, len(rows), 2000):
            s.execute(insert(File), rows[k : k + 2000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MEDIAFIX_DATA_DIR"] = tmp
        os.environ["MEDIAFIX_TIMEZONE"] = "Europe/Berlin"
        if args.database_url:
            os.environ["MEDIAFIX_DATABASE_URL"] = args.database_url
        from mediafix.config import get_settings
        from mediafix.services.redate import redate, settle_dates
        from mediafix.store import settings as settingsrows
        from mediafix.store.db import get_engine, session_scope, upgrade
        from mediafix.store.models import File

        settings = get_settings()
        settings.ensure_dirs()
        upgrade(settings.database_url)
        engine = get_engine(settings.database_url)
        t0 = time.perf_counter()
        build(engine, args.files)
        print(
            f"built {args.files} rows in {time.perf_counter() - t0:.1f} s "
            f"({settings.database_url.split(':')[0]})"
        )
        results = []

        def timed(label: str, fn: Any) -> None:
            t, cpu = time.perf_counter(), time.process_time()
            summary = fn()
            results.append((label, time.perf_counter() - t, time.process_time() - cpu, summary))

        with session_scope(engine) as s:
            settingsrows.set_setting(s, "timezone", "America/New_York")
        timed("redate, home zone changed", lambda: redate(engine, settings))
        timed("redate, nothing changed", lambda: redate(engine, settings))
        with session_scope(engine) as s:
            s.execute(update(File).values(evidence=None))
            settingsrows.set_setting(s, "timezone", "Europe/Berlin")
        timed("redate, evidence gathered again from meta", lambda: redate(engine, settings))
        timed("settle_dates (after every scan)", lambda: settle_dates(engine, settings))
        print()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"(load average {load:.1f} on {os.cpu_count()} cores: wall time includes waiting"
            " for the CPU; cpu is this process's own time)"
        )
        print(f"{'step':44} {'wall s':>7} {'cpu s':>6} {'files/s':>8} {'changed':>8} {'zones':>6}")
        for label, seconds, cpu, s in results:
            print(
                f"{label:44} {seconds:7.2f} {cpu:6.2f} {s.files / seconds:8.0f} "
                f"{s.changed:8d} {s.zones:6d}"
            )
        cameras = results[0][3].cameras
        print(f"\ncameras detected: {', '.join(cameras) or 'none'}")


if __name__ == "__main__":
    main()
