"""Google Takeout: one test per naming quirk, on generated files.

Each test writes tiny JPEGs without EXIF (so nothing but the Takeout JSON can date them) and
a JSON with ``photoTakenTime``, gives every file an mtime years away, and runs the real
discover -> probe -> date stages with the real exiftool. The file must be dated by
``sidecar:takeout`` with the JSON's instant; decoys (another JSON, a look-alike file) must
not steal it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from mediafix.media.analysis import Analysed
from mediafix.media.exiftool import ExifTool
from mediafix.services.pipeline import AnalyseOptions, analyse_batch, iter_found

EPOCH = datetime(1970, 1, 1)
WRONG_MTIME = datetime(2024, 11, 30, 12, 0).timestamp()  # a copy made much later
OPTIONS = AnalyseOptions(timezone="Europe/Berlin")


def tiny_jpeg(path: Path, seed: int = 0) -> None:
    """An 8x8 JPEG with no EXIF at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (seed * 37 % 256, 90, 160)).save(path, "JPEG")
    os.utime(path, (WRONG_MTIME, WRONG_MTIME))


def takeout_json(path: Path, taken: datetime, title: str = "") -> None:
    seconds = int((taken - EPOCH).total_seconds())
    path.write_text(
        json.dumps(
            {
                "title": title or path.name,
                "description": "",
                "photoTakenTime": {"timestamp": str(seconds), "formatted": "..."},
                "creationTime": {"timestamp": str(seconds + 86400)},
                "geoData": {"latitude": 0.0, "longitude": 0.0},
            }
        ),
        encoding="utf-8",
    )


def analyse(folder: Path, exiftool: ExifTool) -> dict[str, Analysed]:
    founds = list(iter_found([folder]))
    return {os.path.basename(i.found.path): i for i in analyse_batch(founds, OPTIONS, exiftool)}


def assert_takeout(item: Analysed, taken: datetime, json_name: str) -> None:
    v = item.verdict
    assert v is not None, item.probe.error
    assert v.source == "sidecar:takeout", v.reason
    assert v.taken_at_utc == taken
    takeout = next(c for c in v.candidates if c.source == "sidecar:takeout")
    assert json_name in takeout.note


T1 = datetime(2019, 9, 19, 3, 38, 57)
T2 = datetime(2017, 3, 4, 10, 15, 32)

# (quirk, media name, JSON name, decoy files: name -> JSON time or None for a media decoy)
QUIRKS: list[tuple[str, str, str, dict[str, datetime | None]]] = [
    ("plain", "IMG_1234.JPG", "IMG_1234.JPG.json", {}),
    (
        "newer supplemental-metadata name",
        "IMG_1234.JPG",
        "IMG_1234.JPG.supplemental-metadata.json",
        {},
    ),
    (
        "supplemental suffix cut",
        "MVIMG_1991_12_30_232926.jpg",
        "MVIMG_1991_12_30_232926.jpg.supplemental-metad.json",
        {},
    ),
    (
        "supplemental suffix cut to one letter",
        "Photo_of_the_garden_in_summer_light_17.jpg",
        "Photo_of_the_garden_in_summer_light_17.jpg.s.json",
        {},
    ),
    (
        "name cut to 51, inside the extension",
        "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg",
        "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jp.json",
        {},
    ),
    (
        "cut counted in UTF-16 units (emoji count two)",
        "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛.jpg",
        "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋.json",
        {},
    ),
    (
        "duplicate counter behind the extension",
        "DSC_0101(1).JPG",
        "DSC_0101.JPG(1).json",
        {"DSC_0101.JPG": None, "DSC_0101.JPG.json": T2},
    ),
    (
        "counter after the supplemental suffix",
        "Scan35(1).jpg",
        "Scan35.jpg.supplemental-metadata(1).json",
        {"Scan35.jpg": None, "Scan35.jpg.supplemental-metadata.json": T2},
    ),
    (
        "counter before the supplemental suffix",
        "IMG_2367(1).HEIC",
        "IMG_2367.HEIC(1).supplemental-metadata.json",
        {"IMG_2367.HEIC": None, "IMG_2367.HEIC.supplemental-metadata.json": T2},
    ),
    (
        "name cut, counter kept",
        "13039_327707840323_537645323_9470255_27214_n(1).jpg",
        "13039_327707840323_537645323_9470255_27214_n.j(1).json",
        {},
    ),
    (
        "counter in the media name, then the 51-character cut",
        "Urlaub in Knaufspesch in der Schneifel (38).JPG",
        "Urlaub in Knaufspesch in der Schneifel (38).JP.json",
        {"Urlaub in Knaufspesch in der Schneifel (37).JPG": None},
    ),
    (
        "cut name and a counter on both",
        "Backyard_ceremony_wedding_photography_xxxxxxx_m(494).jpg",
        "Backyard_ceremony_wedding_photography_xxxxxxx_(494).json",
        {"Backyard_ceremony_wedding_photography_xxxxxxx_m(185).jpg": None},
    ),
    (
        "edited copy borrows the original's JSON",
        "IMG_1234-edited.JPG",
        "IMG_1234.JPG.json",
        {"IMG_1234.JPG": None},
    ),
    ("localized edit suffix (German)", "IMG_1234-bearbeitet.jpg", "IMG_1234.jpg.json", {}),
    (
        "localized edit suffix (French)",
        "IMG-20150125-WA0003-modifié.jpg",
        "IMG-20150125-WA0003.jpg.json",
        {},
    ),
    (
        "localized edit suffix (Spanish, two words)",
        "mi salón-ha editado.JPG",
        "mi salón.JPG.json",
        {},
    ),
    (
        "-edited(1): an edit with a counter, original without",
        "simple_file_20200101-edited(1).jpg",
        "simple_file_20200101.jpg.json",
        {"simple_file_20200101-edited.jpg": None},
    ),
    (
        "localized edit with a counter",
        "IMG-20150125-WA0003-modifié(1).jpg",
        "IMG-20150125-WA0003.jpg.json",
        {},
    ),
    (
        "edit with a counter uses the counted original's JSON",
        "IMG_7-edited(1).jpg",
        "IMG_7.jpg(1).json",
        {"IMG_7.jpg.json": T2},
    ),
    (
        "edit suffix cut by the 51-character limit",
        "Con Yoli por Málaga en el piso nuevo_001-ha edi.JPG",
        "Con Yoli por Málaga en el piso nuevo_001.JPG.json",
        {},
    ),
    (
        "edit of a file uploaded without an extension",
        "2234089303984509579-edited.jpg",
        "2234089303984509579.supplemental-metadata.json",
        {},
    ),
    ("uploaded without an extension", "20030616.jpg", "20030616.json", {}),
    (
        "Pixel motion part (.MP) uses its .MP.jpg JSON",
        "MOTION_0001.MP",
        "MOTION_0001.MP.jpg.json",
        {},
    ),
    (
        "renamed to its real type",
        "IMG_2368.HEIC.jpg",
        "IMG_2368.HEIC.supplemental-metadata.json",
        {},
    ),
]


@pytest.mark.parametrize(("quirk", "media", "js", "decoys"), QUIRKS, ids=[q[0] for q in QUIRKS])
def test_takeout_quirk(
    tmp_path: Path,
    exiftool: ExifTool,
    quirk: str,
    media: str,
    js: str,
    decoys: dict[str, datetime | None],
) -> None:
    folder = tmp_path / "Takeout" / "Google Photos" / "Photos from 2019"
    tiny_jpeg(folder / media)
    takeout_json(folder / js, T1, title=media)
    for n, (name, when) in enumerate(decoys.items(), start=1):
        if when is None:
            tiny_jpeg(folder / name, seed=n)
        else:
            takeout_json(folder / name, when)
    items = analyse(folder, exiftool)
    assert_takeout(items[media], T1, js)
    for name, when in decoys.items():
        if when is None:  # a look-alike never gets this JSON
            assert js not in items[name].found.sidecars


def test_both_export_formats_disagree_the_newer_wins_and_says_so(
    tmp_path: Path, exiftool: ExifTool
) -> None:
    folder = tmp_path / "Takeout" / "Google Photos" / "Trip"
    tiny_jpeg(folder / "IMG_5555.JPG")
    takeout_json(folder / "IMG_5555.JPG.json", T2)  # an older export, merged into the folder
    takeout_json(folder / "IMG_5555.JPG.supplemental-metadata.json", T1)
    item = analyse(folder, exiftool)["IMG_5555.JPG"]
    assert_takeout(item, T1, "IMG_5555.JPG.supplemental-metadata.json")
    assert item.verdict is not None
    assert "IMG_5555.JPG.json 2017-03-04 10:15:32 UTC" in item.verdict.reason
    assert "newer export" in item.verdict.reason


def test_both_export_formats_agree_nothing_to_say(tmp_path: Path, exiftool: ExifTool) -> None:
    folder = tmp_path / "Takeout"
    tiny_jpeg(folder / "IMG_5556.JPG")
    takeout_json(folder / "IMG_5556.JPG.json", T1)
    takeout_json(folder / "IMG_5556.JPG.supplemental-metadata.json", T1)
    item = analyse(folder, exiftool)["IMG_5556.JPG"]
    assert_takeout(item, T1, "IMG_5556.JPG.supplemental-metadata.json")
    assert item.verdict is not None and "disagrees" not in item.verdict.reason


def test_wrong_counter_is_never_borrowed(tmp_path: Path, exiftool: ExifTool) -> None:
    """DSC_0102(1).JPG must not take DSC_0102.JPG(2).json, nor DSC_0104(1).JPG the plain
    DSC_0104.JPG.json (immich-go's negative cases): they stay undated by Takeout."""
    folder = tmp_path / "Takeout"
    tiny_jpeg(folder / "DSC_0102(1).JPG")
    takeout_json(folder / "DSC_0102.JPG(2).json", T1)
    tiny_jpeg(folder / "DSC_0104(1).JPG", seed=2)
    takeout_json(folder / "DSC_0104.JPG.json", T1)
    items = analyse(folder, exiftool)
    for name in ("DSC_0102(1).JPG", "DSC_0104(1).JPG"):
        v = items[name].verdict
        assert v is not None and v.source == "file:mtime"
        assert v.taken_at_utc is not None
        assert abs(v.taken_at_utc - datetime(2024, 11, 30, 11, 0)) < timedelta(hours=2)
