"""Dates as chosen are written: a date a person picked goes into the file and its copied
sidecar, with no older date left for other programs. (One NAMING row per precision, the pure
half: ``tests/unit/test_naming.py``.)"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from mediafix.cli import main
from mediafix.media.exiftool import ExifTool
from mediafix.store.models import File
from tests.helpers.media import make_jpeg, write_tags
from tests.helpers.videogen import make_video
from tests.helpers.web import SCRIPT, web_app


@pytest.fixture(autouse=True)
def _reset_engines() -> Iterator[None]:
    yield
    from mediafix.store.db import dispose_engines

    dispose_engines()


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


XMP_SIDECAR = """<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x='adobe:ns:meta/'>
 <rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
  <rdf:Description rdf:about=''
    xmlns:xmp='http://ns.adobe.com/xap/1.0/'
    xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/'>
   <xmp:CreateDate>2009-05-19T09:57:21-07:00</xmp:CreateDate>
   <photoshop:DateCreated>2007-11-19</photoshop:DateCreated>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>
"""


def _dates(meta: dict[str, object]) -> dict[str, object]:
    return {
        k: v
        for k, v in meta.items()
        if re.search(r"Date|TimeCreated|DateTime", k.rpartition(":")[2])
        and not k.startswith(("System:", "File:"))
    }


def test_a_day_a_person_picked_is_written_and_older_dates_go(
    settings_env: Path, tmp_path: Path
) -> None:
    """The issue's BonTon scan: XMP CreateDate says 2009, XMP and IPTC say 2007-11-19."""
    lib = tmp_path / "photos"
    photo = make_jpeg(lib / "scans" / "BonTon.jpg", 3)
    write_tags(
        photo,
        **{
            "XMP-xmp:CreateDate": "2009:05:19 09:57:21-07:00",
            "XMP-photoshop:DateCreated": "2007:11:19",
            "IPTC:DateCreated": "2007:11:19",
        },
    )
    (lib / "scans" / "BonTon.xmp").write_text(XMP_SIDECAR)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in lib.rglob("*") if p.is_file()}
    _run("scan", "-w", "1", str(lib))
    with web_app() as web:
        with web.session() as s:
            file_id = s.scalar(select(File.id).where(File.name == "BonTon.jpg"))
        answer = web.client.post(
            f"/review/timestamps/{file_id}", headers=SCRIPT, json={"candidate": "xmp:DateCreated"}
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
    out = tmp_path / "archive"
    _run("apply", str(out))
    written = out / "2007" / "20071119_BonTon.jpg"
    sidecar = out / "2007" / "20071119_BonTon.xmp"
    assert sorted(p.name for p in (out / "2007").iterdir()) == [written.name, sidecar.name]
    with ExifTool() as et:
        meta, side = et.read_metadata([written, sidecar])
    assert _dates(meta) == {
        "ExifIFD:DateTimeOriginal": "2007:11:19 12:00:00",
        "ExifIFD:CreateDate": "2007:11:19 12:00:00",
        "XMP-photoshop:DateCreated": "2007:11:19",
    }
    assert _dates(side) == {
        "XMP-exif:DateTimeOriginal": "2007:11:19 12:00:00",
        "XMP-xmp:CreateDate": "2007:11:19 12:00:00",
        "XMP-photoshop:DateCreated": "2007:11:19",
    }
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in before}
    _run("undo")
    assert not [p for p in out.rglob("*") if p.is_file()]


def test_a_month_typed_for_a_clip_is_written_as_its_quicktime_dates(
    settings_env: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "photos"
    clip = make_video(lib / "old" / "clip.mov", seed=4, seconds=1.0)
    write_tags(
        clip,
        **{
            "QuickTime:CreateDate": "2016:03:02 10:00:00",
            "Keys:CreationDate": "2016:03:02 11:00:00+01:00",
        },
    )
    _run("scan", "-w", "1", str(lib))
    with web_app() as web:
        with web.session() as s:
            file_id = s.scalar(select(File.id).where(File.name == "clip.mov"))
        answer = web.client.post(
            f"/review/timestamps/{file_id}", headers=SCRIPT, json={"taken_at": "2004-06"}
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
    out = tmp_path / "archive"
    _run("apply", str(out))
    written = out / "2004" / "200406_clip.mov"
    with ExifTool() as et:
        (meta,) = et.read_metadata([written])
    dates = _dates(meta)
    assert dates["QuickTime:CreateDate"] == "2004:06:01 12:00:00"
    assert dates["XMP-photoshop:DateCreated"] == "2004:06"
    assert not [k for k, v in dates.items() if str(v).startswith("2016")]
    assert os.stat(written).st_mtime == datetime(2004, 6, 1, 12).timestamp()


def test_a_sidecar_exiftool_cannot_write_is_copied_as_it_was(
    settings_env: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "photos"
    photo = make_jpeg(lib / "IMG_1.jpg", 5, DateTimeOriginal="2019:09:19 05:38:57")
    broken = lib / "IMG_1.jpg.xmp"
    broken.write_bytes(b"<x:xmpmeta this is not XML")
    _run("scan", "-w", "1", str(lib))
    out = tmp_path / "archive"
    _run("apply", str(out))
    assert (out / "2019" / "20190919_053857.jpg").is_file()
    assert (out / "2019" / "20190919_053857.jpg.xmp").read_bytes() == broken.read_bytes()
    assert photo.is_file()


def test_a_date_picked_after_an_apply_says_how_to_write_it_anew(
    settings_env: Path, tmp_path: Path
) -> None:
    """apply never replaces an output: the plan must not claim the new date is written."""
    lib = tmp_path / "photos"
    make_jpeg(lib / "IMG_1.jpg", 6, DateTimeOriginal="2019:09:19 05:38:57")
    _run("scan", "-w", "1", str(lib))
    out = tmp_path / "archive"
    _run("apply", str(out))
    with web_app() as web:
        with web.session() as s:
            file_id = s.scalar(select(File.id).where(File.name == "IMG_1.jpg"))
        answer = web.client.post(
            f"/review/timestamps/{file_id}",
            headers=SCRIPT,
            json={"taken_at": "2018-05-01 10:00:00"},
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
    (item,) = json.loads(_run("plan", str(out), "--json"))["items"]
    assert item["action"] == "skip"
    assert item["target"] == str(out / "2019" / "20190919_053857.jpg")
    assert (
        "kept as 2019/20190919_053857.jpg, where an earlier apply wrote it with the date "
        "it had then; to write it as planned now, undo that apply (mediafix undo "
    ) in (item["reason"])
