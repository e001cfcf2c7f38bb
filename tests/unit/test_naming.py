"""Dates as chosen are written: one NAMING row per precision gives its example name and the
dates written into the file, and the table is the one the README and the docs show.
A date a person picked, written through the CLI and the web, is checked in
``tests/integration/test_written_dates.py``."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from mediafix.media.plan import NAMING, PlanInput, make_plan
from tests.helpers.paths import REPO


@pytest.mark.parametrize("row", NAMING, ids=lambda r: r.precision)
def test_every_naming_row_gives_its_example(row, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    precision = None if row.precision == "none" else row.precision
    inp = PlanInput(
        file_id=1,
        path=f"/src/{row.example_name}",
        root="/src",
        rel_path=row.example_name,
        sha256="a" * 64,
        kind="image",
        format="jpeg",
        ext=".jpg",
        taken_at=row.example_taken,
        date_precision=precision,
    )
    if row.example_name.endswith(".HEIC"):
        inp = dataclasses.replace(inp, format="heic", ext=".heic")
    (item,) = make_plan([inp], str(tmp_path), include_review=True).items
    assert os.path.relpath(item.target, tmp_path) == row.example
    if row.example_taken is None:
        assert not item.write
        return
    stamp = row.example_taken.strftime(row.stamp)
    assert item.write["EXIF:DateTimeOriginal"] == stamp
    if row.kept:  # the precision is kept in XMP; no other XMP date is left
        assert item.write["XMP-photoshop:DateCreated"] == row.example_taken.strftime(row.kept)
        assert "12:00:00" in stamp and "EXIF:OffsetTimeOriginal" not in item.write
    else:
        assert item.write["XMP-photoshop:DateCreated"] == ()
    assert item.write["XMP-xmp:CreateDate"] == ()
    if item.format == "jpeg":
        assert item.write["IPTC:DateCreated"] == ()


def test_the_naming_table_is_in_the_readme_and_the_docs() -> None:
    for doc in (REPO / "README.md", REPO / "docs" / "archive.md"):
        text = doc.read_text()
        for row in NAMING:
            line = next((x for x in text.splitlines() if f"`{row.example}`" in x), None)
            assert line is not None, f"{doc.name} lacks the {row.precision} row"
            assert re.search(rf"\b{row.precision}\b", line), line
