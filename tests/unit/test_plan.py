"""Plan: names, collisions, bundles, undated, holds, discards, what is written and why.

The plan is pure over its inputs and the output folder, so most of these need no real media:
sources are only paths (and a hash), except where a file at a target must be compared.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mediafix.media.plan import (
    Action,
    Outline,
    PlanInput,
    WriteMode,
    make_plan,
    plan_items,
    sanitize_stem,
    write_mode,
)

T = datetime(2019, 9, 19, 5, 38, 57)


def inp(
    file_id: int,
    name: str,
    *,
    root: str = "/src",
    kind: str = "image",
    fmt: str = "jpeg",
    ext: str = ".jpg",
    sha: str | None = None,
    **fields: Any,
) -> PlanInput:
    """A PlanInput for ``/src/<name>`` dated T unless told otherwise."""
    fields.setdefault("taken_at", T)
    return PlanInput(
        file_id=file_id,
        path=f"{root}/{name}",
        root=root,
        rel_path=name,
        sha256=sha if sha is not None else f"{file_id:064x}",
        kind=kind,
        format=fmt,
        ext=ext,
        size=100,
        **fields,
    )


def targets(plan: Any, out: Path) -> dict[str, str]:
    return {os.path.basename(i.source): os.path.relpath(i.target, out) for i in plan.items}


def test_dated_file_goes_to_its_year_with_the_reason(tmp_path: Path) -> None:
    plan = make_plan([inp(1, "IMG_1.JPG", utc_offset=120)], str(tmp_path))
    (item,) = plan.items
    assert item.target == str(tmp_path / "2019" / "20190919_053857.jpg")
    assert item.action is Action.COPY
    assert "taken 2019-09-19 05:38:57 UTC+02:00" in item.reason
    assert "lower-case" in item.reason
    assert item.mtime == datetime(2019, 9, 19, 3, 38, 57).timestamp() - (
        datetime(2019, 9, 19, 3, 38, 57).astimezone().utcoffset().total_seconds()
    )  # type: ignore[union-attr]
    assert not tmp_path.joinpath("2019").exists()  # planning writes nothing


def test_canonical_extensions(tmp_path: Path) -> None:
    inputs = [
        inp(1, "a.png", taken_at=datetime(2019, 1, 1, 0, 0, 1)),  # a JPEG named .png
        inp(2, "b.jpeg", taken_at=datetime(2019, 1, 1, 0, 0, 2)),
        inp(3, "c.HEIC", fmt="heic", ext=".heic", taken_at=datetime(2019, 1, 1, 0, 0, 3)),
        inp(4, "d.tiff", fmt="tiff", ext=".tif", taken_at=datetime(2019, 1, 1, 0, 0, 4)),
        inp(5, "e.NEF", fmt="raw", ext=".tif", taken_at=datetime(2019, 1, 1, 0, 0, 5)),
        inp(
            6, "f.MOV", kind="video", fmt="mov", ext=".mov", taken_at=datetime(2019, 1, 1, 0, 0, 6)
        ),
    ]
    got = targets(make_plan(inputs, str(tmp_path)), tmp_path)
    assert got == {
        "a.png": "2019/20190101_000001.jpg",
        "b.jpeg": "2019/20190101_000002.jpg",
        "c.HEIC": "2019/20190101_000003.heic",
        "d.tiff": "2019/20190101_000004.tif",
        "e.NEF": "2019/20190101_000005.nef",
        "f.MOV": "2019/20190101_000006.mov",
    }
    reason = next(
        i.reason for i in make_plan(inputs, str(tmp_path)).items if i.source.endswith("a.png")
    )
    assert "extension .jpg from the content (the name said .png)" in reason


def test_collisions_are_numbered_by_subseconds_then_content_in_any_input_order(
    tmp_path: Path,
) -> None:
    inputs = [
        inp(1, "late.jpg", taken_at=T.replace(microsecond=900000), sha="a" * 64),
        inp(2, "early.jpg", taken_at=T.replace(microsecond=100000), sha="f" * 64),
        inp(3, "whole_b.jpg", sha="c" * 64),
        inp(4, "whole_a.jpg", sha="b" * 64),
    ]
    expected = {
        "whole_a.jpg": "2019/20190919_053857.jpg",  # no sub-seconds, smaller hash
        "whole_b.jpg": "2019/20190919_053857_1.jpg",
        "early.jpg": "2019/20190919_053857_2.jpg",
        "late.jpg": "2019/20190919_053857_3.jpg",
    }
    for order in itertools.permutations(inputs):
        plan = make_plan(list(order), str(tmp_path))
        assert targets(plan, tmp_path) == expected
    numbered = next(i for i in plan.items if i.source.endswith("late.jpg"))
    assert "numbered _3" in numbered.reason


def test_bundle_shares_a_base_and_moves_whole_on_collision(tmp_path: Path) -> None:
    other = inp(9, "other.jpg", sha="0" * 64)  # sorts first: keeps the plain name
    heic = inp(
        1,
        "IMG_1.HEIC",
        fmt="heic",
        ext=".heic",
        bundle="live:1",
        sha="5" * 64,
        sidecars=("/src/IMG_1.AAE", "/src/IMG_1.HEIC.json"),
    )
    mov = inp(
        2,
        "IMG_1.MOV",
        kind="video",
        fmt="mov",
        ext=".mov",
        bundle="live:1",
        sha="6" * 64,
        taken_at=T.replace(microsecond=400000),
    )
    plan = make_plan([mov, other, heic], str(tmp_path))
    got = targets(plan, tmp_path)
    assert got == {
        "other.jpg": "2019/20190919_053857.jpg",
        "IMG_1.HEIC": "2019/20190919_053857_1.heic",
        "IMG_1.MOV": "2019/20190919_053857_1.mov",
    }
    item = next(i for i in plan.items if i.source.endswith("HEIC"))
    assert sorted(os.path.relpath(t, tmp_path) for _, t in item.sidecars) == [
        "2019/20190919_053857_1.aae",
        "2019/20190919_053857_1.heic.json",
    ]
    assert "IMG_1.MOV (same bundle)" in item.reason


def test_raw_and_jpeg_pair_share_a_name_and_raw_gets_a_sidecar(tmp_path: Path) -> None:
    raw = inp(1, "DSC_1.NEF", fmt="raw", ext=".tif", bundle="raw:1")
    jpg = inp(2, "DSC_1.JPG", bundle="raw:1")
    plan = make_plan([raw, jpg], str(tmp_path))
    by_name = {os.path.basename(i.source): i for i in plan.items}
    assert os.path.basename(by_name["DSC_1.NEF"].target) == "20190919_053857.nef"
    assert os.path.basename(by_name["DSC_1.JPG"].target) == "20190919_053857.jpg"
    assert by_name["DSC_1.NEF"].metadata_sidecar == str(
        tmp_path / "2019" / "20190919_053857.nef.xmp"
    )
    assert by_name["DSC_1.NEF"].write["XMP-exif:DateTimeOriginal"] == "2019:09:19 05:38:57"
    assert by_name["DSC_1.JPG"].metadata_sidecar is None


def test_undated_files_keep_their_sanitized_names(tmp_path: Path) -> None:
    inputs = [
        inp(1, "a/IMG_7 {Oma}.JPEG", taken_at=None, sha="1" * 64),
        inp(2, "b/IMG_7.jpg", taken_at=None, sha="2" * 64),
        inp(3, "c/bad:name?.jpg", taken_at=None),
        inp(4, "d/.hidden.jpg", taken_at=None),
    ]
    got = targets(make_plan(inputs, str(tmp_path)), tmp_path)
    assert got == {
        "IMG_7 {Oma}.JPEG": "undated/IMG_7.jpg",
        "IMG_7.jpg": "undated/IMG_7_1.jpg",
        "bad:name?.jpg": "undated/bad_name_.jpg",
        ".hidden.jpg": "undated/hidden.jpg",
    }
    plan = make_plan(inputs, str(tmp_path), undated_dir="no-date")
    first = plan.items[0]
    assert "/no-date/" in first.target and "no capture date" in first.reason
    assert plan.counts()["undated"] == 4


def test_sanitize_stem() -> None:
    assert sanitize_stem('a/b\\c:d*e?f"g<h>i|j') == "a_b_c_d_e_f_g_h_i_j"
    assert sanitize_stem("  ..x.. ") == "x"
    assert sanitize_stem("") == "untitled"
    assert sanitize_stem("CON") == "CON_"
    assert sanitize_stem("\udcff name") == "_ name"
    assert len(sanitize_stem("ä" * 200).encode()) <= 150


def test_review_is_held_unless_included_and_holds_its_bundle(tmp_path: Path) -> None:
    heic = inp(
        1,
        "IMG_1.HEIC",
        fmt="heic",
        ext=".heic",
        bundle="b",
        status="review",
        review_reason="date from the file time only",
    )
    mov = inp(2, "IMG_1.MOV", kind="video", fmt="mov", ext=".mov", bundle="b")
    ready = inp(3, "IMG_2.JPG", taken_at=T.replace(second=1))
    plan = make_plan([heic, mov, ready], str(tmp_path))
    assert [os.path.basename(i.source) for i in plan.items] == ["IMG_2.JPG"]
    held = dict(plan.held)
    assert held["/src/IMG_1.HEIC"] == "awaiting review: date from the file time only"
    assert "held with IMG_1.HEIC of its bundle" in held["/src/IMG_1.MOV"]
    plan = make_plan([heic, mov, ready], str(tmp_path), include_review=True)
    assert len(plan.items) == 3 and not plan.held


def test_discarded_duplicates_are_listed_with_their_trash_place(tmp_path: Path) -> None:
    keep = inp(1, "a/IMG_1.JPG")
    dup = inp(2, "b/IMG_1 copy.JPG", keep=False, discard_reason="exact copy of a/IMG_1.JPG")
    plan = make_plan([keep, dup], str(tmp_path))
    assert [i.source for i in plan.items] == ["/src/a/IMG_1.JPG"]
    (d,) = plan.discarded
    assert d.action is Action.DISCARD and d.reason == "exact copy of a/IMG_1.JPG"
    assert d.target == str(tmp_path / ".trash" / "src" / "b" / "IMG_1 copy.JPG")
    data = plan.to_dict()
    assert data["discarded"] == [
        {"path": "/src/b/IMG_1 copy.JPG", "reason": "exact copy of a/IMG_1.JPG", "trash": d.target}
    ]


def test_probe_errors_are_written_as_is_and_non_media_held(tmp_path: Path) -> None:
    broken = inp(1, "broken.jpg", status="error", error="exiftool: file format error")
    broken_undated = inp(
        2,
        "broken2.mp4",
        kind="video",
        fmt="mp4",
        ext=".mp4",
        status="error",
        error="truncated",
        taken_at=None,
    )
    text = inp(
        3,
        "notes.txt",
        kind="other",
        fmt="unknown",
        ext="",
        status="error",
        error="not media",
        taken_at=None,
    )
    plan = make_plan([broken, broken_undated, text], str(tmp_path))
    by_name = {os.path.basename(i.source): i for i in plan.items}
    assert by_name["broken.jpg"].target.endswith("2019/20190919_053857.jpg")
    assert by_name["broken.jpg"].write == {}
    assert "probe failed (exiftool: file format error): copied as it is" in (
        by_name["broken.jpg"].reason
    )
    assert by_name["broken2.mp4"].target.endswith("undated/broken2.mp4")
    assert plan.held == [("/src/notes.txt", "not a photo or video (not media)")]


def test_existing_files_take_names_and_identical_ones_are_skipped(tmp_path: Path) -> None:
    year = tmp_path / "2019"
    year.mkdir()
    (year / "20190919_053857.jpg").write_bytes(b"someone else's photo")
    (year / "20190919_053857_1.jpg.json").write_bytes(b"{}")  # any file of a base takes it
    same = b"identical bytes"
    (year / "20190919_053858.jpg").write_bytes(same)
    inputs = [
        inp(1, "a.jpg"),
        inp(2, "b.jpg", taken_at=T.replace(second=58), sha=hashlib.sha256(same).hexdigest()),
    ]
    plan = make_plan(inputs, str(tmp_path))
    by_name = {os.path.basename(i.source): i for i in plan.items}
    assert os.path.basename(by_name["a.jpg"].target) == "20190919_053857_2.jpg"
    assert by_name["b.jpg"].action is Action.SKIP
    assert by_name["b.jpg"].skip_reason == "an identical file is already at the target"


def test_coarse_dates_name_the_file_honestly(tmp_path: Path) -> None:
    inputs = [
        inp(1, "1987/scan 01.jpg", taken_at=datetime(1987, 1, 1), date_precision="year"),
        inp(2, "IMG-20190919-WA0001.jpg", taken_at=datetime(2019, 9, 19), date_precision="day"),
        inp(3, "x.jpg", taken_at=datetime(2004, 6, 1), date_precision="month"),
    ]
    plan = make_plan(inputs, str(tmp_path))
    got = targets(plan, tmp_path)
    assert got == {
        "scan 01.jpg": "1987/1987_scan 01.jpg",
        "IMG-20190919-WA0001.jpg": "2019/20190919_IMG-20190919-WA0001.jpg",
        "x.jpg": "2004/200406_x.jpg",
    }
    by_name = {os.path.basename(i.source): i for i in plan.items}
    # Written at noon on the period's first day, the precision kept in XMP (NAMING rows).
    removed = {
        "XMP-xmp:CreateDate": (),
        "XMP-exif:DateTimeOriginal": (),
        "XMP-exif:DateTimeDigitized": (),
        "IPTC:DateCreated": (),
        "IPTC:TimeCreated": (),
        "IPTC:DigitalCreationDate": (),
        "IPTC:DigitalCreationTime": (),
    }
    assert by_name["scan 01.jpg"].write == {
        "EXIF:DateTimeOriginal": "1987:01:01 12:00:00",
        "EXIF:CreateDate": "1987:01:01 12:00:00",
        "XMP-photoshop:DateCreated": "1987",
        **removed,
    }
    assert by_name["x.jpg"].write["XMP-photoshop:DateCreated"] == "2004:06"
    assert by_name["x.jpg"].write["EXIF:DateTimeOriginal"] == "2004:06:01 12:00:00"
    assert "only the year is known" in by_name["scan 01.jpg"].reason
    assert by_name["scan 01.jpg"].mtime == datetime(1987, 1, 1, 12).timestamp()


def test_what_is_written_per_format(tmp_path: Path) -> None:
    photo = inp(
        1,
        "p.jpg",
        taken_at=T.replace(microsecond=50000),
        utc_offset=-330,
        date_precision="subsecond",
        tags=("Anna",),
    )
    video = inp(
        2,
        "v.mp4",
        kind="video",
        fmt="mp4",
        ext=".mp4",
        utc_offset=120,
        taken_at=T + timedelta(seconds=1),
    )
    video_no_offset = inp(
        3, "w.mov", kind="video", fmt="mov", ext=".mov", taken_at=T + timedelta(seconds=2)
    )
    avi = inp(
        4,
        "a.avi",
        kind="video",
        fmt="avi",
        ext=".avi",
        taken_at=T + timedelta(seconds=3),
        utc_offset=60,
    )
    gif = inp(5, "g.gif", fmt="gif", ext=".gif", taken_at=T + timedelta(seconds=4), tags=("x",))
    png = inp(6, "n.png", fmt="png", ext=".png", taken_at=T + timedelta(seconds=5), tags=("ü",))
    plan = make_plan([photo, video, video_no_offset, avi, gif, png], str(tmp_path))
    w = {os.path.basename(i.source): i for i in plan.items}
    assert dict(w["p.jpg"].write) == {
        "EXIF:DateTimeOriginal": "2019:09:19 05:38:57",
        "EXIF:CreateDate": "2019:09:19 05:38:57",
        "EXIF:OffsetTimeOriginal": "-05:30",
        "EXIF:OffsetTime": "-05:30",
        "EXIF:OffsetTimeDigitized": "-05:30",
        "EXIF:SubSecTimeOriginal": "05",
        "EXIF:SubSecTimeDigitized": "05",
        "XMP-dc:Subject-": ["Anna"],
        "XMP-dc:Subject+": ["Anna"],
        "IPTC:Keywords-": ["Anna"],
        "IPTC:Keywords+": ["Anna"],
        "EXIF:XPKeywords": "Anna",
        # older dates another program could read instead are removed
        "XMP-xmp:CreateDate": (),
        "XMP-exif:DateTimeOriginal": (),
        "XMP-exif:DateTimeDigitized": (),
        "XMP-photoshop:DateCreated": (),
        "IPTC:DateCreated": (),
        "IPTC:TimeCreated": (),
        "IPTC:DigitalCreationDate": (),
        "IPTC:DigitalCreationTime": (),
    }
    assert w["v.mp4"].write["QuickTime:CreateDate"] == "2019:09:19 03:38:58"
    assert w["v.mp4"].write["QuickTime:MediaModifyDate"] == "2019:09:19 03:38:58"
    assert w["v.mp4"].write["Keys:CreationDate"] == "2019:09:19 05:38:58+02:00"
    assert w["w.mov"].write["QuickTime:CreateDate"] == "2019:09:19 05:38:59"
    assert "hold the local time as UTC" in w["w.mov"].reason
    assert w["a.avi"].metadata_sidecar and w["a.avi"].metadata_sidecar.endswith(
        "20190919_053900.avi.xmp"
    )
    assert w["a.avi"].write["XMP-exif:DateTimeOriginal"] == "2019:09:19 05:39:00+01:00"
    assert "XMP sidecar" in w["a.avi"].reason
    assert w["g.gif"].write == {
        "XMP-exif:DateTimeOriginal": "2019:09:19 05:39:01",
        "XMP-xmp:CreateDate": "2019:09:19 05:39:01",
        "XMP-exif:DateTimeDigitized": (),
        "XMP-photoshop:DateCreated": (),
        "XMP-dc:Subject-": ["x"],
        "XMP-dc:Subject+": ["x"],
    }
    assert w["w.mov"].write["Keys:CreationDate"] == ()  # no offset to write it with
    assert "IPTC:Keywords+" not in w["n.png"].write  # non-standard in PNG
    assert w["n.png"].write["EXIF:XPKeywords"] == "ü"
    assert write_mode("bmp", "image", "ready") is WriteMode.SIDECAR
    assert write_mode("jpeg", "image", "error") is WriteMode.AS_IS


def test_tags_from_folders_names_and_user(tmp_path: Path) -> None:
    item = make_plan(
        [inp(1, "Italy 2019/DCIM/100APPLE/IMG_1 {Anna,beach}.JPG", tags=("Favourite", "anna"))],
        str(tmp_path),
        tag_depth=2,
    ).items[0]
    assert item.tags == ("Italy 2019", "Anna", "beach", "Favourite")
    assert "tags: Italy 2019, Anna, beach, Favourite" in item.reason
    none = make_plan([inp(1, "Italy 2019/IMG_1.JPG")], str(tmp_path), tag_depth=0).items[0]
    assert none.tags == () and "XMP-dc:Subject+" not in none.write


def test_bundle_members_share_their_tags(tmp_path: Path) -> None:
    a = inp(1, "Rome/IMG_1.HEIC", fmt="heic", ext=".heic", bundle="b", tags=("Anna",))
    b = inp(2, "Rome/IMG_1.MOV", kind="video", fmt="mov", ext=".mov", bundle="b")
    plan = make_plan([a, b], str(tmp_path))
    assert {i.tags for i in plan.items} == {("Rome", "Anna")}


def test_plan_json_is_plain(tmp_path: Path) -> None:
    plan = make_plan(
        [inp(1, "a.jpg"), inp(2, "b.jpg", status="review"), inp(3, "c.jpg", keep=False)],
        str(tmp_path),
    )
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["output"] == str(tmp_path)
    assert data["items"][0]["action"] == "copy"
    assert set(data["items"][0]) >= {"source", "target", "reason", "tags", "action"}
    assert data["held"] == [{"path": "/src/b.jpg", "reason": "awaiting review"}]
    assert data["counts"] == {
        "copy": 1,
        "skip": 0,
        "held": 1,
        "discarded": 1,
        "undated": 0,
        "sidecars": 0,
    }


def test_a_copy_of_a_held_file_waits_with_it(tmp_path: Path) -> None:
    kept = inp(1, "Trip/IMG_1.JPG", status="review", review_reason="date from the folder")
    copy = inp(
        2,
        "Backup/IMG_1.JPG",
        sha=kept.sha256,
        keep=False,
        copy_of=1,
        discard_reason="exact duplicate of Trip/IMG_1.JPG (group #1)",
    )
    plan = make_plan([kept, copy], str(tmp_path))
    held = dict(plan.held)
    assert not plan.discarded and not plan.items
    assert held["/src/Backup/IMG_1.JPG"].startswith(
        "exact duplicate of Trip/IMG_1.JPG (group #1), which is held (awaiting review: date "
        "from the folder)"
    )
    plan = make_plan([kept, copy], str(tmp_path), include_review=True)
    assert [d.source for d in plan.discarded] == ["/src/Backup/IMG_1.JPG"]


def test_a_travelling_xmp_sidecar_gets_the_dates_written(tmp_path: Path) -> None:
    day = inp(
        1,
        "IMG_1.JPG",
        taken_at=datetime(2007, 11, 19),
        date_precision="day",
        sidecars=("/src/IMG_1.xmp", "/src/IMG_1.json"),
    )
    bare = inp(2, "IMG_2.JPG")
    items = {os.path.basename(i.source): i for i in make_plan([day, bare], str(tmp_path)).items}
    assert dict(items["IMG_1.JPG"].sidecar_write) == {
        "XMP-exif:DateTimeOriginal": "2007:11:19 12:00:00",
        "XMP-xmp:CreateDate": "2007:11:19 12:00:00",
        "XMP-exif:DateTimeDigitized": (),
        "XMP-photoshop:DateCreated": "2007:11:19",
    }
    assert items["IMG_2.JPG"].sidecar_write == {}  # no sidecar to write


def test_a_bundle_has_one_date_the_surest_of_its_members(tmp_path: Path) -> None:
    """A Live Photo is one moment: its name and every member's metadata carry one date,
    a person's first, then the surest (harness H10: the still and clip disagreed)."""
    still = inp(
        1,
        "IMG_1.JPG",
        bundle="b",
        taken_at=datetime(2021, 9, 19, 5, 38, 57),
        confidence=0.4,
        date_source="xmp:CreateDate",
    )
    clip = inp(
        2,
        "IMG_1.MOV",
        kind="video",
        fmt="mov",
        ext=".mov",
        bundle="b",
        confidence=0.8,
        date_source="filename",
    )
    items = make_plan([still, clip], str(tmp_path)).items
    assert {os.path.relpath(i.target, tmp_path) for i in items} == {
        "2019/20190919_053857.jpg",
        "2019/20190919_053857.mov",
    }
    assert {
        i.write.get("EXIF:DateTimeOriginal") or i.write["QuickTime:CreateDate"] for i in items
    } == {"2019:09:19 05:38:57"}
    reasons = {os.path.basename(i.source): i.reason for i in items}
    assert (
        "the date of IMG_1.MOV, its bundle partner (its own, 2021-09-19 05:38:57 from "
        "xmp:CreateDate)"
    ) in reasons["IMG_1.JPG"]
    assert "bundle partner (" not in reasons["IMG_1.MOV"]
    picked = replace(still, date_source="user", confidence=1.0)
    items = make_plan([picked, clip], str(tmp_path)).items
    assert {os.path.relpath(i.target, tmp_path) for i in items} == {
        "2021/20210919_053857.jpg",
        "2021/20210919_053857.mov",
    }


def test_the_outline_given_before_the_items_is_the_one_they_have(tmp_path: Path) -> None:
    """``plan_items`` tells apply up front what its items will be (how many, the folders
    their files and sidecars go to, the trash folders, the sidecars several items copy)."""
    (tmp_path / "2019").mkdir()
    (tmp_path / "2019" / "20190919_053857.heic").write_bytes(b"someone else's")
    shared = "/src/Trip/IMG_1.HEIC.json"  # a Live Photo's halves share one Takeout JSON
    inputs = [
        inp(1, "Trip/IMG_1.HEIC", fmt="heic", ext=".heic", bundle="b", sidecars=(shared,)),
        inp(
            2, "Trip/IMG_1.MOV", kind="video", fmt="mov", ext=".mov", bundle="b", sidecars=(shared,)
        ),
        inp(3, "IMG_2.JPG", taken_at=None, sidecars=("/src/IMG_2.xmp",)),
        inp(4, "raw/DSC_1.NEF", fmt="raw", ext=".tif", taken_at=T.replace(year=2011)),
        inp(5, "backup/deep/IMG_3.JPG", keep=False, discard_reason="a copy"),
        inp(6, "other/IMG_3.JPG", keep=False, discard_reason="a copy"),
        inp(7, "IMG_4.JPG", status="review"),
    ]
    plan, items = plan_items(inputs, str(tmp_path))
    outline = plan.outline
    listed = list(items)
    assert outline == Outline.of(listed, plan.discarded)
    assert outline is not None and outline.items == 4 and outline.discarded == 2
    assert outline.shared_sidecars == {shared: 2}
    assert outline.folders == {str(tmp_path / f) for f in ("2019", "2011", "undated")}
    assert make_plan(inputs, str(tmp_path)).items == listed
