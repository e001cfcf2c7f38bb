"""Every dated name family through the whole engine: `mediafix inspect --json` on generated
files named like the table's rows, the families' examples and the peers' paths.

Each file is a tiny JPEG without EXIF whose mtime is years from its name's date, so only
the name (or its folders) can date it, and it must give exactly the expected date: the wall
clock for local names, the instant for UTC ones, both for names that write their offset.
The names that must stay undated fall back to the mtime.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from mediafix.cli import main
from mediafix.media.dates.filenames import NEVER, PATTERNS
from mediafix.media.values import Precision, TimeMeaning
from tests.unit.test_filenames import PATHS, VALID

MTIME = datetime(2024, 11, 30, 12, 0).timestamp()
ROWS = {p.name: p for p in PATTERNS}


def _write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (120, 90, 60)).save(path, "JPEG")
    os.utime(path, (MTIME, MTIME))


def cases() -> list[tuple[str, str, str | None]]:
    """(relative path, expected, row or None for a folder date) for every named example."""
    out: dict[str, tuple[str, str | None]] = {}
    for p in PATTERNS:
        out[p.example] = (p.expected, p.name)
    for name, expected, row in VALID:
        out.setdefault(name, (expected, row))
    for path, expected, _precision in PATHS:
        if expected is not None:
            out.setdefault(path.lstrip("/"), (expected, None))
    # (discovery skips hidden files, so ".trashed-..." is left to the table's own tests)
    return [
        (k, v[0], v[1])
        for k, v in out.items()
        if not k.split("/")[-1].startswith(".") and k.split("/")[-1]
    ]


CASES = cases()


@pytest.fixture(scope="module")
def inspected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("names")
    for rel, _expected, _row in CASES:
        _write(root / "named" / rel)
    for undated in NEVER:
        _write(root / "never" / undated.example)
    env = {"MEDIAFIX_TIMEZONE": "Europe/Berlin"}
    result = CliRunner().invoke(main, ["inspect", "--json", "-w", "2", str(root)], env=env)
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    return {os.path.relpath(r["path"], root): r for r in records}


def test_every_generated_name_is_inspected(inspected: dict[str, dict[str, Any]]) -> None:
    assert len(inspected) == len(CASES) + len(NEVER)
    assert len(CASES) >= 250  # every family, in its variants (a floor, not the count)


@pytest.mark.parametrize(("rel", "expected", "row"), CASES, ids=[c[0] for c in CASES])
def test_inspect_gives_the_names_date(
    inspected: dict[str, dict[str, Any]], rel: str, expected: str, row: str | None
) -> None:
    r = inspected[os.path.join("named", rel)]
    assert r["source"] == ("filename" if row else "folder"), r["reason"]
    if len(expected) in (4, 7, 10):  # a year, month or day: said so, no time made up
        precision = {4: Precision.YEAR, 7: Precision.MONTH, 10: Precision.DAY}[len(expected)]
        assert r["precision"] == precision.value
        assert r["taken_at"] == expected + "-01" * ((10 - len(expected)) // 3) + "T00:00:00"
        return
    when = datetime.fromisoformat(expected)
    wall = when.replace(tzinfo=None).isoformat(timespec="seconds")
    meaning = ROWS[row].meaning if row else TimeMeaning.LOCAL
    if meaning in (TimeMeaning.UTC, TimeMeaning.EPOCH_MS) or (
        meaning is TimeMeaning.OFFSET and when.utcoffset() == timedelta(0)
    ):
        assert r["taken_at_utc"] == wall + "Z"  # an instant: its wall clock is the zone's
    elif meaning is TimeMeaning.OFFSET:
        assert (r["taken_at"], r["utc_offset"]) == (wall, expected[-6:])
        assert r["offset_source"] == "filename"
    else:
        assert r["taken_at"] == wall


@pytest.mark.parametrize("name", [u.example for u in NEVER])
def test_inspect_leaves_look_alikes_undated(
    inspected: dict[str, dict[str, Any]], name: str
) -> None:
    r = inspected[os.path.join("never", name)]
    assert r["source"] == "file:mtime", r["reason"]
