"""Apply and undo on real files with the real exiftool.

Fixtures are made here: photos with Pillow (and pillow-heif), videos with PyAV, metadata
with exiftool. Every write is read back with exiftool; image data is compared by decoding
the pixels of source and output with Pillow (independently of apply's own check).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageSequence

from mediafix.media.apply import ApplyResult, ItemOutcome, apply_plan, undo
from mediafix.media.digest import DigestError, image_data_digest, jpeg_image_data
from mediafix.media.durable import TMP_PREFIX
from mediafix.media.exiftool import ExifTool
from mediafix.media.holding import HOLD_DIR
from mediafix.media.journal import journal_index, read_journal
from mediafix.media.kinds import sniff
from mediafix.media.plan import Action, Plan, PlanInput, make_plan, plan_items
from tests.helpers.media import make_jpeg, scene
from tests.helpers.paths import HELPERS

pillow_heif.register_heif_opener()

T = datetime(2019, 9, 19, 5, 38, 57)
CHILD = HELPERS / "apply_child.py"


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def et() -> Iterator[ExifTool]:
    """One exiftool session for the whole module."""
    with ExifTool() as session:
        yield session


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    src, out, journal = tmp_path / "src", tmp_path / "out", tmp_path / "journal"
    src.mkdir()
    return src, out, journal


def sha(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_image(path: Path, fmt: str, seed: int = 1, size: tuple[int, int] = (160, 120)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = scene(seed, size)
    if fmt == "gif":
        frames = [img.convert("P"), scene(seed + 50, size).convert("P")]
        frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100)
    else:
        img.save(
            path,
            {
                "jpeg": "JPEG",
                "png": "PNG",
                "webp": "WEBP",
                "tiff": "TIFF",
                "heic": "HEIF",
                "bmp": "BMP",
            }[fmt],
            **({"lossless": True} if fmt == "webp" else {}),
        )
    return path


def make_video(path: Path, container: str, seed: int = 1, audio: bool = True) -> Path:
    """A tiny real video (5 frames, optionally a silent audio track) written by PyAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream("aac", rate=8000) if audio and container != "avi" else None
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((48, 64, 3), (seed * 37 + i * 40) % 256, np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            chunk = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            chunk.sample_rate = 8000
            for packet in [*sound.encode(chunk), *sound.encode()]:
                out.mux(packet)
    return path


def real_input(path: Path, root: Path, file_id: int, **fields: Any) -> PlanInput:
    """A PlanInput for a real file, typed by content like the probe does."""
    with open(path, "rb") as f:
        ftype = sniff(f.read(512), path.suffix)
    fields.setdefault("taken_at", T)
    return PlanInput(
        file_id=file_id,
        path=str(path),
        root=str(root),
        rel_path=str(path.relative_to(root)),
        sha256=sha(path),
        kind=ftype.kind,
        format=ftype.format,
        ext=ftype.ext,
        size=path.stat().st_size,
        **fields,
    )


def read(et: ExifTool, path: Path | str, *tags: str) -> dict[str, Any]:
    """Tags as exiftool reads them (-G1 -n), group-qualified."""
    out, _ = et.execute(
        [
            "-j",
            "-G1",
            "-a",
            "-n",
            "-charset",
            "filename=utf8",
            *(f"-{t}" for t in tags),
            os.path.abspath(path),
        ]
    )
    data: dict[str, Any] = json.loads(out)[0]
    return data


def pixels(path: Path | str) -> list[bytes]:
    with Image.open(path) as img:
        return [frame.convert("RGBA").tobytes() for frame in ImageSequence.Iterator(img)]


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def run(plan: Plan, et: ExifTool, journal: Path, **kwargs: Any) -> ApplyResult:
    result = apply_plan(plan, et, str(journal), **kwargs)
    assert not result.failed, result.failed
    return result


# -- metadata written and read back ---------------------------------------------------


def test_jpeg_dates_offsets_subsec_and_tags_read_back(
    dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    photo = make_jpeg(src / "Italy 2019" / "DCIM" / "IMG_1 {Anna,Jürgen}.JPG", 3)
    et.write_tags(
        photo,
        {"IPTC:Keywords": "Old", "XPKeywords": "OldXP", "DateTimeOriginal": "2001:01:01 00:00:00"},
    )  # a camera's own
    before = sha(photo)
    item_in = real_input(
        photo,
        src,
        1,
        taken_at=T.replace(microsecond=120000),
        utc_offset=120,
        date_precision="subsecond",
        tags=("Favourite",),
    )
    plan = make_plan([item_in], str(out), journal_dir=str(journal))
    result = run(plan, et, journal)
    target = out / "2019" / "20190919_053857.jpg"
    assert result.written == 1 and result.bytes == target.stat().st_size
    meta = read(
        et,
        target,
        "DateTimeOriginal",
        "CreateDate",
        "OffsetTime*",
        "SubSecTime*",
        "Subject",
        "Keywords",
        "XPKeywords",
    )
    assert meta["ExifIFD:DateTimeOriginal"] == "2019:09:19 05:38:57"
    assert meta["ExifIFD:CreateDate"] == "2019:09:19 05:38:57"
    assert meta["ExifIFD:OffsetTimeOriginal"] == meta["ExifIFD:OffsetTime"] == "+02:00"
    assert meta["ExifIFD:OffsetTimeDigitized"] == "+02:00"
    assert str(meta["ExifIFD:SubSecTimeOriginal"]) == "12"
    assert meta["XMP-dc:Subject"] == ["Italy 2019", "Anna", "Jürgen", "Favourite"]
    assert meta["IPTC:Keywords"] == ["Old", "Italy 2019", "Anna", "Jürgen", "Favourite"]
    assert meta["IFD0:XPKeywords"] == "OldXP;Italy 2019;Anna;Jürgen;Favourite"
    # the capture instant as mtime, the pixels untouched, the source byte for byte
    assert target.stat().st_mtime == datetime(2019, 9, 19, 3, 38, 57, 120000).timestamp() + (
        datetime(2019, 9, 19, 3, 38, 57).astimezone().utcoffset().total_seconds()
    )  # type: ignore[union-attr]
    assert pixels(target) == pixels(photo)
    assert sha(photo) == before
    assert not any(n.startswith(TMP_PREFIX) for n in os.listdir(target.parent))


@pytest.mark.parametrize("fmt", ["png", "webp", "heic", "tiff", "gif"])
def test_other_image_formats_embed_dates_and_keep_their_pixels(
    fmt: str, dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    photo = make_image(src / f"pic.{fmt}", fmt, seed=7)
    before = sha(photo)
    plan = make_plan([real_input(photo, src, 1, utc_offset=60, tags=("Oma",))], str(out))
    run(plan, et, journal)
    (item,) = plan.items
    meta = read(et, item.target, "DateTimeOriginal", "OffsetTimeOriginal", "Subject")
    if fmt == "gif":  # exiftool writes only XMP into a GIF
        assert meta["XMP-exif:DateTimeOriginal"] == "2019:09:19 05:38:57+01:00"
    else:
        assert meta["ExifIFD:DateTimeOriginal"] == "2019:09:19 05:38:57"
        assert meta["ExifIFD:OffsetTimeOriginal"] == "+01:00"
    assert meta["XMP-dc:Subject"] == "Oma"
    assert pixels(item.target) == pixels(photo)
    assert image_data_digest(item.target, fmt) == image_data_digest(str(photo), fmt)
    assert sha(item.target) != before and sha(photo) == before


@pytest.mark.parametrize("container", ["mp4", "mov"])
def test_video_gets_quicktime_utc_and_keys_creation_date(
    container: str, dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    video = make_video(src / f"clip.{container}", container)
    before = sha(video)
    inp = real_input(
        video, src, 1, taken_at=T.replace(microsecond=500000), utc_offset=120, tags=("Rome",)
    )
    plan = make_plan([inp], str(out))
    run(plan, et, journal)
    target = out / "2019" / f"20190919_053857.{container}"
    meta = read(
        et,
        target,
        "CreateDate",
        "ModifyDate",
        "TrackCreateDate",
        "TrackModifyDate",
        "MediaCreateDate",
        "MediaModifyDate",
        "Keys:CreationDate",
        "Subject",
    )
    utc = "2019:09:19 03:38:57"
    for tag in (
        "QuickTime:CreateDate",
        "QuickTime:ModifyDate",
        "Track1:TrackCreateDate",
        "Track1:TrackModifyDate",
        "Track1:MediaCreateDate",
        "Track1:MediaModifyDate",
        "Track2:TrackCreateDate",
        "Track2:MediaCreateDate",
    ):
        assert meta[tag] == utc, tag
    assert meta["Keys:CreationDate"] == "2019:09:19 05:38:57.5+02:00"
    assert meta["XMP-dc:Subject"] == "Rome"
    assert image_data_digest(str(target), container) == image_data_digest(str(video), container)
    assert sha(video) == before


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("clip.avi", lambda p: make_video(p, "avi")),
        ("scan.bmp", lambda p: make_image(p, "bmp")),
    ],
)
def test_unwritable_formats_get_an_xmp_sidecar(
    name: str, make: Any, dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    media = make(src / name)
    plan = make_plan([real_input(media, src, 1, utc_offset=-300, tags=("Kids",))], str(out))
    result = run(plan, et, journal)
    (item,) = plan.items
    ext = os.path.splitext(name)[1]
    assert item.metadata_sidecar == str(out / "2019" / f"20190919_053857{ext}.xmp")
    assert sha(item.target) == sha(media)  # the file itself is copied unchanged
    meta = read(et, item.metadata_sidecar, "XMP:all")
    assert meta["XMP-exif:DateTimeOriginal"] == "2019:09:19 05:38:57-05:00"
    assert meta["XMP-xmp:CreateDate"] == "2019:09:19 05:38:57-05:00"
    assert meta["XMP-dc:Subject"] == "Kids"
    assert result.sidecars == 1


def test_sidecars_travel_with_their_file(dirs: tuple[Path, Path, Path], et: ExifTool) -> None:
    src, out, journal = dirs
    photo = make_jpeg(src / "IMG_5.JPG", 5)
    aae = src / "IMG_5.AAE"
    aae.write_bytes(b"<plist>edits</plist>")
    takeout = src / "IMG_5.JPG.supplemental-metadata.json"
    takeout.write_text('{"title": "IMG_5.JPG"}')
    plan = make_plan([real_input(photo, src, 1, sidecars=(str(aae), str(takeout)))], str(out))
    result = run(plan, et, journal)
    assert files_under(out) == {
        "2019/20190919_053857.jpg",
        "2019/20190919_053857.aae",
        "2019/20190919_053857.jpg.supplemental-metadata.json",
    }
    assert (out / "2019" / "20190919_053857.aae").read_bytes() == aae.read_bytes()
    assert result.sidecars == 2


def test_raw_sidecar_merges_into_its_own_xmp(dirs: tuple[Path, Path, Path], et: ExifTool) -> None:
    """A RAW file is copied unchanged; its own name.ext.xmp gets our dates added, keeping
    what it had (say, a Lightroom rating)."""
    src, out, journal = dirs
    raw = src / "DSC_1.NEF"
    Image.new("RGB", (8, 8)).save(raw, "TIFF")  # TIFF-based, like a NEF
    own_xmp = src / "DSC_1.NEF.xmp"
    own_xmp.write_bytes(b"")
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-XMP-xmp:Rating=4", str(own_xmp)], check=True
    )
    inp = real_input(raw, src, 1, sidecars=(str(own_xmp),))
    assert inp.format == "raw"
    plan = make_plan([inp], str(out))
    run(plan, et, journal)
    (item,) = plan.items
    assert item.target.endswith("20190919_053857.nef") and sha(item.target) == sha(raw)
    meta = read(et, out / "2019" / "20190919_053857.nef.xmp", "XMP:all")
    assert meta["XMP-xmp:Rating"] == 4
    assert meta["XMP-exif:DateTimeOriginal"] == "2019:09:19 05:38:57"
    assert files_under(out) == {"2019/20190919_053857.nef", "2019/20190919_053857.nef.xmp"}


def test_probe_error_file_is_copied_as_is(dirs: tuple[Path, Path, Path], et: ExifTool) -> None:
    src, out, journal = dirs
    photo = make_jpeg(src / "odd.jpg", 2)
    plan = make_plan([real_input(photo, src, 1, status="error", error="odd maker notes")], str(out))
    run(plan, et, journal)
    assert sha(plan.items[0].target) == sha(photo)


# -- the image data check -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "heic", "tiff", "gif"])
def test_image_data_digest_sees_pixels_not_metadata(fmt: str, tmp_path: Path, et: ExifTool) -> None:
    a = make_image(tmp_path / f"a.{fmt}", fmt, seed=1)
    b = make_image(tmp_path / f"b.{fmt}", fmt, seed=2)
    digest = image_data_digest(str(a), fmt)
    tags = {"XMP-dc:Subject": ["x", "y"], "XMP-exif:DateTimeOriginal": "2001:02:03 04:05:06"}
    if fmt != "gif":
        tags.update({"EXIF:DateTimeOriginal": "2001:02:03 04:05:06", "EXIF:Artist": "me"})
    et.write_tags(a, tags)
    assert image_data_digest(str(a), fmt) == digest
    assert image_data_digest(str(b), fmt) != digest


def test_a_jpeg_digest_from_bytes_is_the_one_from_the_file(tmp_path: Path, et: ExifTool) -> None:
    # apply's batches digest the bytes they hold (a faster reader): the same digest as the
    # file's, and the same refusal of a damaged file, for whole, cut and damaged JPEGs.
    photo = make_image(tmp_path / "a.jpg", "jpeg", seed=3)
    plain = photo.read_bytes()
    et.write_tags(photo, {"EXIF:DateTimeOriginal": "2001:02:03 04:05:06", "XMP-dc:Subject": ["x"]})
    data = photo.read_bytes()
    # ... and what they compare in memory when they hold both files: the same bytes
    # before and after a metadata write, and just what the digest hashes
    assert jpeg_image_data(data) == jpeg_image_data(plain) and data != plain
    assert hashlib.sha256(jpeg_image_data(data)).hexdigest() == image_data_digest(
        str(photo), "jpeg"
    )
    sos = data.index(b"\xff\xda")
    variants = {
        "whole": data,
        "fill bytes": data[:2] + b"\xff\xff" + data[2:],
        "restart marker": data[:2] + b"\xff\xd0" + data[2:],
        "end of image": data[:sos] + b"\xff\xd9",
        "cut in the scan": data[: sos + 40],
        "cut in a header": data[: sos - 3],
        "cut after a marker": data[:4],
        "bad length": data[:2] + b"\xff\xe0\x00\x01" + data[6:],
        "bad marker": data[:2] + b"\x00" + data[3:],
        "not a JPEG": b"GIF89a" + data[6:],
    }
    for name, variant in variants.items():
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(variant)
        try:
            from_file: str | None = image_data_digest(str(path), "jpeg")
        except DigestError:
            from_file = None
        try:
            from_bytes: str | None = image_data_digest(variant, "jpeg")
        except DigestError:
            from_bytes = None
        assert from_bytes == from_file, name
        assert (from_file is None) == (
            name not in ("whole", "fill bytes", "restart marker", "end of image", "cut in the scan")
        ), name


# -- idempotence, undo, move ------------------------------------------------------------


def _library(src: Path, n: int = 3) -> list[Path]:
    return [make_jpeg(src / f"IMG_{i}.JPG", i, size=(96, 64)) for i in range(n)]


def _inputs(paths: list[Path], src: Path) -> list[PlanInput]:
    return [
        real_input(p, src, i, taken_at=T.replace(minute=i), utc_offset=0)
        for i, p in enumerate(paths)
    ]


def test_apply_twice_writes_nothing_new(dirs: tuple[Path, Path, Path], et: ExifTool) -> None:
    src, out, journal = dirs
    inputs = _inputs(_library(src), src)
    first_plan = make_plan(inputs, str(out), journal_dir=str(journal))
    first = run(first_plan, et, journal)
    assert first.written == 3
    written = {p: sha(out / p) for p in files_under(out)}
    second_plan = make_plan(inputs, str(out), journal_dir=str(journal))
    assert {i.action for i in second_plan.items} == {Action.SKIP}
    assert {i.target for i in second_plan.items} == {i.target for i in first_plan.items}
    second = run(second_plan, et, journal)
    assert (second.written, second.skipped) == (0, 3)
    again = run(first_plan, et, journal)  # the old plan, run again
    assert (again.written, again.skipped) == (0, 3)
    assert {p: sha(out / p) for p in files_under(out)} == written


def test_copy_mode_leaves_discarded_duplicates_alone(
    dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    keep, dup = make_jpeg(src / "a.jpg", 1), make_jpeg(src / "b" / "a copy.jpg", 1)
    before = sha(dup)
    plan = make_plan(
        [
            real_input(keep, src, 1),
            real_input(dup, src, 2, keep=False, discard_reason="exact copy"),
        ],
        str(out),
    )
    result = run(plan, et, journal)
    assert result.written == 1 and result.trashed == 0
    assert sha(dup) == before and files_under(out) == {"2019/20190919_053857.jpg"}


def test_names_stay_put_when_files_are_added_later(
    dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    late, early = make_jpeg(src / "late.jpg", 1), make_jpeg(src / "early.jpg", 2)
    late_in = real_input(late, src, 1, taken_at=T.replace(microsecond=900000))
    early_in = real_input(early, src, 2, taken_at=T.replace(microsecond=100000))
    run(make_plan([late_in], str(out), journal_dir=str(journal)), et, journal)
    plan = make_plan([early_in, late_in], str(out), journal_dir=str(journal))
    by_name = {os.path.basename(i.source): i for i in plan.items}
    assert by_name["late.jpg"].action is Action.SKIP
    assert by_name["late.jpg"].target.endswith("20190919_053857.jpg")
    assert by_name["early.jpg"].target.endswith("20190919_053857_1.jpg")


def test_undo_removes_outputs_refuses_changed_ones_and_is_repeatable(
    dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    paths = _library(src)
    plan = make_plan(_inputs(paths, src), str(out), journal_dir=str(journal))
    result = run(plan, et, journal)
    changed = Path(plan.items[0].target)
    original = changed.read_bytes()
    changed.write_bytes(original + b"edited")
    first = undo(result.journal)
    assert [p for p, _ in first.refused] == [str(changed)]
    assert "changed since apply" in first.refused[0][1]
    assert sorted(first.removed) == sorted(i.target for i in plan.items[1:])
    assert files_under(out) == {os.path.relpath(changed, out)}  # the year folder is kept
    second = undo(result.journal)
    assert second.already_undone == 2 and len(second.refused) == 1 and not second.removed
    changed.write_bytes(original)
    third = undo(result.journal)
    assert third.ok and third.removed == [str(changed)]
    assert str(out / "2019") in third.dirs_removed
    assert out.is_dir() and not any(out.iterdir())  # the output root itself stays
    assert [sha(p) for p in paths] == [i.sha256 for i in plan.items]  # sources untouched
    assert undo(result.journal).already_undone == 3
    assert (
        make_plan(_inputs(paths, src), str(out), journal_dir=str(journal)).items[0].action
        is Action.COPY
    )  # undone outputs are not "already written"


def test_move_keeps_originals_until_undo_puts_them_back_byte_for_byte(
    dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    good = make_jpeg(src / "good.jpg", 1)
    side = src / "good.jpg.json"
    side.write_text("{}")
    corrupt = src / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"garbage" * 20)
    dup = make_jpeg(src / "dup" / "good copy.jpg", 1)
    inputs = [
        real_input(good, src, 1, sidecars=(str(side),)),
        real_input(corrupt, src, 2, taken_at=T.replace(second=1)),
        real_input(dup, src, 3, keep=False, discard_reason="exact copy of good.jpg"),
    ]
    before = {p: sha(p) for p in (good, side, corrupt, dup)}
    inode = good.stat().st_ino
    plan = make_plan(inputs, str(out), journal_dir=str(journal))
    result = apply_plan(plan, et, str(journal), move=True)
    assert result.failed == []
    assert result.written == 2 and result.moved == 2 and result.trashed == 1
    assert not good.exists() and not side.exists()  # moved after verification
    # Its metadata cannot be written safely: copied unchanged, the dates in a sidecar.
    (corrupt_out,) = [o for o in result.outcomes if o.source == str(corrupt)]
    assert "XMP sidecar" in (corrupt_out.message or "")
    assert sha(corrupt_out.target) == before[corrupt]
    assert os.path.isfile(corrupt_out.target + ".xmp")
    trash = out / ".trash" / "src" / "dup" / "good copy.jpg"
    assert not dup.exists() and sha(trash) == before[dup]  # discarded: moved, never unlinked
    output = plan.items[0].target if plan.items[0].source == str(good) else (plan.items[1].target)
    assert read(et, output, "DateTimeOriginal")["ExifIFD:DateTimeOriginal"] == (
        "2019:09:19 05:38:57"
    )
    assert not list(out.rglob(f"{TMP_PREFIX}*"))
    # Every moved source (and sidecar) is kept, the very file (same filesystem: no copy),
    # under the run's holding folder at its own absolute path.
    holding = Path(result.holding or "")
    assert holding.parent == out / HOLD_DIR
    kept = {p: holding / str(p).lstrip("/") for p in (good, side, corrupt)}
    assert {p: sha(h) for p, h in kept.items()} == {p: before[p] for p in kept}
    assert kept[good].stat().st_ino == inode
    assert result.held == 3 and result.held_bytes == sum(h.stat().st_size for h in kept.values())

    back = undo(result.journal)
    assert back.ok and sorted(back.restored) == sorted(map(str, (good, side, corrupt, dup)))
    assert back.from_output == []
    assert {p: sha(p) for p in before} == before  # every source byte for byte
    assert good.stat().st_ino == inode
    assert files_under(out) == set() and not (out / HOLD_DIR).exists()


def test_move_of_a_live_photo_sharing_one_takeout_json(
    dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    """Both halves of a Live Photo use the still's Takeout JSON: the first half moved must
    not take the JSON away from the second (it failed: "No such file")."""
    src, out, journal = dirs
    still = make_jpeg(src / "IMG_1.JPG", 1)
    video = make_video(src / "IMG_1.MOV", "mov")
    takeout = src / "IMG_1.JPG.json"
    takeout.write_text('{"title": "IMG_1.JPG"}')
    before = {p: sha(p) for p in (still, video, takeout)}
    inputs = [
        real_input(p, src, i, bundle="live-1", sidecars=(str(takeout),))
        for i, p in enumerate((still, video))
    ]
    plan = make_plan(inputs, str(out), journal_dir=str(journal))
    result = run(plan, et, journal, move=True)
    assert result.written == 2 and result.moved == 2 and result.held == 3
    assert not any(p.exists() for p in before)
    jsons = [p for p in (out / "2019").iterdir() if p.suffix == ".json"]
    assert len(files_under(out / "2019")) == 4 and len(jsons) == 2  # each half has its copy
    assert all(sha(p) == before[takeout] for p in jsons)
    back = undo(result.journal)
    assert back.ok and back.from_output == []
    assert {p: sha(p) for p in before} == before


def test_items_read_as_the_plan_makes_them_are_applied_as_a_whole_plan(
    dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    """Apply reading ``plan_items``' stream (each item let go once applied) moves a Live
    Photo sharing one Takeout JSON and a discarded copy as the listed plan does; each
    outcome is seen once, and the result keeps only those that say something."""
    src, out, journal = dirs
    still = make_jpeg(src / "IMG_1.JPG", 1)
    video = make_video(src / "IMG_1.MOV", "mov")
    takeout = src / "IMG_1.JPG.json"
    takeout.write_text('{"title": "IMG_1.JPG"}')
    broken = src / "IMG_2.JPG"
    broken.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"garbage" * 20)
    copy = src / "backup" / "IMG_1.JPG"
    copy.parent.mkdir()
    shutil.copy2(still, copy)
    before = {p: sha(p) for p in (still, video, takeout, broken, copy)}
    inputs = [
        real_input(p, src, i, bundle="live-1", sidecars=(str(takeout),))
        for i, p in enumerate((still, video))
    ] + [
        real_input(broken, src, 2, taken_at=T.replace(year=2018)),
        real_input(copy, src, 3, keep=False, discard_reason="exact copy of IMG_1.JPG"),
    ]
    plan, items = plan_items(inputs, str(out), journal_dir=str(journal))
    seen: list[ItemOutcome] = []
    progress: list[tuple[int, int]] = []
    result = apply_plan(
        plan,
        et,
        str(journal),
        items=items,
        move=True,
        on_outcome=seen.append,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert result.failed == []
    assert result.written == 3 and result.moved == 3 and result.trashed == 1
    assert not any(p.exists() for p in before)
    assert sorted(p.suffix for p in (out / "2019").iterdir()) == [".jpg", ".json", ".json", ".mov"]
    assert [o.source for o in seen] == [str(p) for p in (broken, still, video, copy)]
    assert progress[-1] == (4, 4)
    assert read_journal(result.journal)[0]["items"] == 4
    (noted,) = result.outcomes  # the damaged JPEG: copied as it is, dates in a sidecar
    assert noted.source == str(broken) and "XMP sidecar" in (noted.message or "")
    back = undo(result.journal)
    assert back.ok
    assert {p: sha(p) for p in before} == before


@pytest.fixture
def other_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on another filesystem than ``tmp_path`` (/dev/shm), or the test is skipped."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second filesystem here (/dev/shm)")
    folder = Path(tempfile.mkdtemp(prefix="mediafix-test-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_move_across_filesystems_copies_verifies_then_removes(
    other_disk: Path, tmp_path: Path, et: ExifTool
) -> None:
    src, out, journal = other_disk / "src", tmp_path / "out", tmp_path / "journal"
    paths = _library(src, 2)
    os.utime(paths[0], (1_500_000_000, 1_500_000_000))
    before = {p: (sha(p), p.stat().st_mtime_ns) for p in paths}
    plan = make_plan(_inputs(paths, src), str(out), journal_dir=str(journal))
    result = run(plan, et, journal, move=True)
    assert result.moved == result.held == 2 and not any(p.exists() for p in paths)
    holding = Path(result.holding or "")
    kept = {p: holding / str(p).lstrip("/") for p in paths}
    assert {p: (sha(h), h.stat().st_mtime_ns) for p, h in kept.items()} == before
    assert not list(out.rglob(f"{TMP_PREFIX}*"))
    back = undo(result.journal)
    assert back.ok and back.from_output == []
    assert {p: (sha(p), p.stat().st_mtime_ns) for p in paths} == before
    assert not list(src.rglob(f"{TMP_PREFIX}*")) and files_under(out) == set()


def test_undo_after_the_originals_were_purged_copies_the_output_back(
    dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    good = make_jpeg(src / "good.jpg", 1)
    plan = make_plan([real_input(good, src, 1)], str(out), journal_dir=str(journal))
    result = run(plan, et, journal, move=True)
    output_sha = sha(plan.items[0].target)
    shutil.rmtree(out / HOLD_DIR)  # what `mediafix purge` does
    back = undo(result.journal)
    # Not the original bytes (they are gone), but never the photo: its pixels are there.
    assert back.ok and back.restored == back.from_output == [str(good)]
    assert sha(good) == output_sha
    assert pixels(good) == pixels(make_jpeg(src / "ref.jpg", 1))


def test_move_finishes_a_run_killed_before_removing_sources(
    dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    paths = _library(src, 2)
    before = [sha(p) for p in paths]
    inputs = _inputs(paths, src)
    first = run(make_plan(inputs, str(out), journal_dir=str(journal)), et, journal)
    # a move run killed after placing the outputs, then resumed: only the moves remain
    result = run(make_plan(inputs, str(out), journal_dir=str(journal)), et, journal, move=True)
    assert (result.written, result.skipped, result.moved) == (0, 2, 2)
    assert not any(p.exists() for p in paths)
    # undoing the first run (whose journal never saw the moves) finds the originals the
    # second run journaled, and puts them back byte for byte
    back = undo(first.journal)
    assert back.ok and sorted(back.restored) == sorted(str(p) for p in paths)
    assert back.from_output == []
    assert [sha(p) for p in paths] == before
    assert files_under(out) == set()


# -- failures, cancel, progress -----------------------------------------------------


def test_a_failing_item_is_reported_and_the_run_goes_on(
    dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    good, changed, blocked, corrupt = (
        make_jpeg(src / f"{n}.jpg", i)
        for i, n in enumerate(["good", "changed", "blocked", "corrupt"])
    )
    corrupt.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"junk" * 30)
    refused = make_jpeg(src / "refused.jpg", 9)
    data = refused.read_bytes()
    refused.write_bytes(data[:2] + b"\xff\xd8" + data[2:])  # two SOIs: exiftool refuses it
    inputs = [
        real_input(good, src, 1),
        real_input(changed, src, 2, taken_at=T.replace(year=2018)),
        real_input(blocked, src, 3, taken_at=T.replace(year=2017)),
        real_input(corrupt, src, 4, taken_at=T.replace(year=2016)),
        real_input(refused, src, 5, taken_at=T.replace(year=2015)),
    ]
    plan = make_plan(inputs, str(out))
    changed.write_bytes(changed.read_bytes() + b"!")  # edited after the scan
    out.mkdir()
    (out / "2017").write_text("a file where the year folder should be")
    result = apply_plan(plan, et, str(journal))
    errors = dict(result.failed)
    assert set(errors) == {str(changed), str(blocked)}
    assert errors[str(changed)] == "the source changed since it was scanned (its sha256 differs)"
    assert errors[str(blocked)].startswith("File exists") and "2017" in errors[str(blocked)]
    # Files whose metadata exiftool cannot write are still written: unchanged + XMP sidecar.
    messages = {o.source: o.message or "" for o in result.outcomes}
    assert "damaged JPEG marker" in messages[str(corrupt)]
    assert "Corrupted JPEG image" in messages[str(refused)]
    assert result.written == 3
    # the two sidecars the plan could not foresee are told apart from the planned ones
    assert result.sidecars == result.sidecars_made == 2
    assert "2 of the sidecars made where the file took no metadata" in result.summary()
    assert [o.status for o in result.outcomes].count("failed") == 2
    # nothing half-written, no temporary file, no empty year folder
    assert files_under(out) == {
        "2019/20190919_053857.jpg",
        "2017",
        "2016/20160919_053857.jpg",
        "2016/20160919_053857.jpg.xmp",
        "2015/20150919_053857.jpg",
        "2015/20150919_053857.jpg.xmp",
    }
    assert sorted(os.listdir(out)) == ["2015", "2016", "2017", "2019"]


def test_a_write_that_does_not_read_back_fails(dirs: tuple[Path, Path, Path], et: ExifTool) -> None:
    src, out, journal = dirs
    photo = make_jpeg(src / "a.jpg", 1)
    plan = make_plan([real_input(photo, src, 1)], str(out))
    bogus = dict(plan.items[0].write, **{"EXIF:DateTimeOriginal": "not a date"})
    plan.items[0] = replace(plan.items[0], write=bogus)
    result = apply_plan(plan, et, str(journal))
    # Neither the file nor the XMP sidecar fallback can hold it: the item fails, cleanly.
    assert [s for s, _ in result.failed] == [str(photo)]
    assert "did not read back" in result.failed[0][1]
    assert files_under(out) == set()


def test_an_existing_target_is_never_overwritten(
    dirs: tuple[Path, Path, Path], et: ExifTool
) -> None:
    src, out, journal = dirs
    photo = make_jpeg(src / "a.jpg", 1)
    plan = make_plan([real_input(photo, src, 1)], str(out))
    target = Path(plan.items[0].target)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"someone else's file, put there after planning")
    result = apply_plan(plan, et, str(journal))
    assert result.failed == [(str(photo), f"target already exists: {target}")]
    assert target.read_bytes() == b"someone else's file, put there after planning"
    assert files_under(out) == {"2019/20190919_053857.jpg"}


def test_progress_and_cancel(dirs: tuple[Path, Path, Path], et: ExifTool) -> None:
    src, out, journal = dirs
    plan = make_plan(_inputs(_library(src), src), str(out))
    seen: list[tuple[int, int]] = []
    result = apply_plan(
        plan,
        et,
        str(journal),
        on_progress=lambda d, t: seen.append((d, t)),
        should_stop=lambda: len(seen) >= 2,
    )
    assert seen == [(1, 3), (2, 3)]
    assert result.cancelled and result.written == 2
    assert "(cancelled)" in result.summary()


def test_leftover_temporary_files_are_removed(dirs: tuple[Path, Path, Path], et: ExifTool) -> None:
    src, out, journal = dirs
    plan = make_plan(_inputs(_library(src, 1), src), str(out))
    year = out / "2019"
    year.mkdir(parents=True)
    (year / f"{TMP_PREFIX}dead.jpg").write_bytes(b"half a copy")
    (year / f"{TMP_PREFIX}dead.jpg_exiftool_tmp").write_bytes(b"exiftool's own")
    result = run(plan, et, journal)
    assert result.tmp_removed == 2
    assert files_under(out) == {"2019/20190919_050057.jpg"}


def test_journal_is_json_lines_with_hashes(dirs: tuple[Path, Path, Path], et: ExifTool) -> None:
    src, out, journal = dirs
    (photo,) = _library(src, 1)
    result = run(make_plan(_inputs([photo], src), str(out)), et, journal)
    records = read_journal(result.journal)
    assert [r["type"] for r in records] == ["run", "write", "done"]
    write = records[1]
    assert write["source"] == str(photo) and write["source_sha256"] == sha(photo)
    assert write["output_sha256"] == sha(write["target"]) and write["action"] == "copy"
    with open(result.journal, "ab") as f:
        f.write(b'{"type": "done", "tar')  # a torn last line, as a kill leaves it
    assert len(read_journal(result.journal)) == 3
    assert list(journal_index(str(journal)).by_target) == [write["target"]]


# -- SIGKILL mid-apply, then resume -------------------------------------------------


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
    return found


def _spec_inputs(inputs: list[PlanInput]) -> list[dict[str, Any]]:
    rows = []
    for inp in inputs:
        row = asdict(inp)
        for key in ("taken_at", "taken_at_utc"):
            if row[key] is not None:
                row[key] = row[key].isoformat()
        rows.append(row)
    return rows


@pytest.mark.parametrize("pause_at", ["exiftool", "place"])
def test_sigkill_mid_apply_then_resume(
    pause_at: str, dirs: tuple[Path, Path, Path], et: ExifTool, tmp_path: Path
) -> None:
    src, out, journal = dirs
    paths = [make_jpeg(src / f"IMG_{i:02d}.JPG", i, size=(64, 48)) for i in range(10)]
    # Two files share a second (numbering must survive the kill); the rest a minute each.
    inputs = [
        real_input(p, src, i, taken_at=T.replace(minute=min(i, 8)), utc_offset=60)
        for i, p in enumerate(paths)
    ]
    before = [sha(p) for p in paths]
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "inputs": _spec_inputs(inputs),
                "output": str(out),
                "journal": str(journal),
                "pause_at": pause_at,
                "stop_at": 4,
            }
        )
    )
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    orphans: list[int] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() == "paused 4":
                break
        else:
            pytest.fail(f"the child never paused: {child.stderr.read() if child.stderr else ''}")
        orphans = _children(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in orphans:  # its exiftool outlives it (it waits on a pipe nobody closes)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    leftovers = list(out.rglob(f"{TMP_PREFIX}*"))
    placed = [p for p in files_under(out) if not Path(p).name.startswith(TMP_PREFIX)]
    if pause_at == "exiftool":
        assert leftovers  # killed with a half-made copy
        assert len(placed) == 3
    else:
        assert len(placed) == 4  # the 4th is in place, its journal has no "done"

    plan = make_plan(inputs, str(out), journal_dir=str(journal))
    assert sum(i.action is Action.SKIP for i in plan.items) == len(placed)
    result = run(plan, et, journal)
    assert result.written == 10 - len(placed)
    expected = {f"2019/20190919_05{m:02d}57.jpg" for m in range(9)} | {"2019/20190919_050857_1.jpg"}
    assert files_under(out) == expected  # nothing partial, duplicated or missing
    for item in plan.items:
        assert read(et, item.target, "OffsetTimeOriginal")["ExifIFD:OffsetTimeOriginal"] == (
            "+01:00"
        )
        assert image_data_digest(item.target, "jpeg") == image_data_digest(item.source, "jpeg")
    assert [sha(p) for p in paths] == before
    index = journal_index(str(journal))
    assert set(index.by_target) == {str(out / p) for p in expected}
    assert all(e.done for e in index.by_target.values())
    # and once more: nothing to do
    again = run(make_plan(inputs, str(out), journal_dir=str(journal)), et, journal)
    assert (again.written, again.skipped) == (0, 10)


def _kill_child_at(spec: Path, stop_at: int) -> None:
    """Run ``apply_child.py`` on ``spec`` and SIGKILL it (and its exiftool) where it pauses."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    orphans: list[int] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() == f"paused {stop_at}":
                break
        else:
            pytest.fail(f"the child never paused: {child.stderr.read() if child.stderr else ''}")
        orphans = _children(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _everywhere(folder: Path) -> dict[str, int]:
    """sha256 -> how many files under ``folder`` have it."""
    found: dict[str, int] = {}
    for p in folder.rglob("*"):
        if p.is_file():
            found[sha(p)] = found.get(sha(p), 0) + 1
    return found


@pytest.mark.parametrize("pause_at", ["hold", "unlink", "held"])
def test_sigkill_while_moving_an_original_to_the_holding_folder(
    pause_at: str, dirs: tuple[Path, Path, Path], et: ExifTool, tmp_path: Path
) -> None:
    """A move killed at each step of holding a source: before it moves (its ``hold``
    journaled), between the link and the unlink (both names), after it moved (no
    ``source_removed`` yet). Nothing is lost; a second run finishes the move; undo puts
    every original back byte for byte, however the runs were cut."""
    src, out, journal = dirs
    paths = [make_jpeg(src / f"IMG_{i:02d}.JPG", i, size=(64, 48)) for i in range(6)]
    inputs = [real_input(p, src, i, taken_at=T.replace(minute=i)) for i, p in enumerate(paths)]
    before = {str(p): sha(p) for p in paths}
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "inputs": _spec_inputs(inputs),
                "output": str(out),
                "journal": str(journal),
                "pause_at": pause_at,
                "stop_at": 4,
                "move": True,
            }
        )
    )
    _kill_child_at(spec, 4)
    # nothing lost: each original is at its place or in the holding folder (or both, the
    # same file, when killed between the link and the unlink)
    held = _everywhere(out / HOLD_DIR)
    for path, digest in before.items():
        assert os.path.exists(path) or held.get(digest) == 1, path
    assert os.path.exists(paths[3]) == (pause_at != "held")
    assert len(files_under(out / "2019")) == 4

    result = run(make_plan(inputs, str(out), journal_dir=str(journal)), et, journal, move=True)
    assert (result.written, result.skipped) == (2, 4)
    assert not any(p.exists() for p in paths)  # every move finished
    assert _everywhere(out / HOLD_DIR) == {d: 1 for d in before.values()}  # each kept once
    assert not list(out.rglob(f"{TMP_PREFIX}*"))

    for path in sorted(journal.glob("*.jsonl"), reverse=True):  # the newest apply first
        assert undo(str(path)).ok
    assert {str(p): sha(p) for p in paths} == before
    assert files_under(out) == set()
