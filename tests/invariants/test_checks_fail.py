"""The invariant checks can fail: each is shown a broken archive and must say so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from mediafix.media.bundles import Written
from mediafix.media.exiftool import ExifTool
from mediafix.services import output
from tests.invariants import checks
from tests.invariants.library import Copy, Library, Shot
from tests.invariants.world import World, world

LIB = Library(
    shots=(
        Shot(1, "Trip", "IMG_0001", "live", datetime(2021, 4, 10, 11, 44), "exiftool"),
        Shot(2, "Trip", "IMG_0002", "photo", datetime(2019, 9, 19, 5, 38, 57)),
    ),
    copies=(Copy(0, "Backup 2019", "{stem}", (0,)), Copy(1, "", "Copy of {stem}")),
)


@pytest.fixture
def w() -> Iterator[World]:
    with world(LIB) as w:
        w.scan()
        yield w


def test_a_plan_writing_every_copy_is_caught(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        output, "choose_written", lambda files, votes: {f.id: Written(True) for f in files}
    )
    with pytest.raises(AssertionError, match="a source content is planned twice"):
        checks.check_plan(w, w.plan(), w.rows())


def test_a_bundle_split_is_caught(w: World) -> None:
    plan = w.plan()
    for item in plan["items"]:
        if item["source"].endswith(".MOV"):
            item["target"] = item["target"].replace("20210410_114400", "20210410_114401")
    with pytest.raises(AssertionError, match="do not share one base name"):
        checks.check_plan(w, plan, w.rows())


def test_a_photo_named_into_another_bundle_is_caught(w: World) -> None:
    plan = w.plan()
    live = next(i["target"] for i in plan["items"] if i["source"].endswith(".MOV"))
    for item in plan["items"]:
        if item["source"].endswith("IMG_0002.jpg"):
            item["target"] = live[: -len(".mov")] + ".png"
    with pytest.raises(AssertionError, match="two pictures that no bundle pairs share"):
        checks.check_plan(w, plan, w.rows())


def test_a_clip_claimed_by_two_bundles_goes_beside_one_of_them() -> None:
    role = {"A": "still", "B": "still", "V": "video", "H": "still"}
    bundles = {"trip": {"A", "V"}, "phone": {"B", "V"}}
    assert checks._claimed_apart(bundles, role) == {"trip": {"V"}, "phone": {"V"}}
    # One bundle holding a HEIC, its JPEG and the clip, and a copy of the HEIC + clip:
    # nothing is claimed apart.
    bundles = {"a": {"H", "A", "V"}, "b": {"H", "V"}}
    assert checks._claimed_apart(bundles, role) == {}


def test_an_output_broken_after_apply_is_caught(w: World) -> None:
    plan, rows = w.plan(), w.rows()
    w.apply()
    with ExifTool() as et:
        checks.check_after_apply(w, plan, rows, False, et)  # as it is: fine
        (w.out / "2019" / "stray.jpg").write_bytes(b"x")
        with pytest.raises(AssertionError, match="in no journal"):
            checks.check_after_apply(w, plan, rows, False, et)
        (w.out / "2019" / "stray.jpg").unlink()
        source = next(p for p in w.files if p.endswith("/Trip/IMG_0002.jpg"))
        with open(source, "ab") as f:
            f.write(b"\0")
        with pytest.raises(AssertionError, match="copy mode changed a source"):
            checks.check_after_apply(w, plan, rows, False, et)
        target = next(i["target"] for i in plan["items"] if i["source"] == source)
        et.write_tags(target, {"EXIF:DateTimeOriginal": "2001:01:01 00:00:00"})
        with pytest.raises(AssertionError, match="DateTimeOriginal disagrees"):
            checks.check_dates(w, plan, rows, et)
