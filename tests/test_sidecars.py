"""Sidecars: Takeout's JSON naming quirks, XMP and AAE pairing, reading Takeout and XMP."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from mediafix.media.sidecars import pair_sidecars, read_takeout, read_xmp_dates

LONG = "Screenshot_20210312-154839_com.android.chrome.jpg"  # 49 characters
MID = "PXL_20210312_154839123.NIGHT.jpg"  # room for part of ".supplemental-metadata"
MID_CUT = (MID + ".supplemental-metadata")[:46]


@pytest.mark.parametrize(
    ("names", "pairs", "orphans"),
    [
        # plain and newer "supplemental-metadata" names, and its cut-off forms
        (["IMG_1234.JPG", "IMG_1234.JPG.json"], {"IMG_1234.JPG": ["IMG_1234.JPG.json"]}, []),
        (["IMG_1234.JPG", "IMG_1234.JPG.supplemental-metadata.json"],
         {"IMG_1234.JPG": ["IMG_1234.JPG.supplemental-metadata.json"]}, []),
        (["IMG_1234.JPG", "IMG_1234.JPG.supplemental-metad.json"],
         {"IMG_1234.JPG": ["IMG_1234.JPG.supplemental-metad.json"]}, []),
        (["IMG_1234.JPG", "IMG_1234.JPG.suppl.json"],
         {"IMG_1234.JPG": ["IMG_1234.JPG.suppl.json"]}, []),
        (["IMG_1234.JPG", "IMG_1234.JPG.s.json"], {"IMG_1234.JPG": ["IMG_1234.JPG.s.json"]}, []),
        (["IMG_1234.jpg", "IMG_1234.JPG.json"], {"IMG_1234.jpg": ["IMG_1234.JPG.json"]}, []),
        # "(1)" moves behind the extension
        (["IMG_1234.JPG", "IMG_1234(1).JPG", "IMG_1234.JPG.json", "IMG_1234.JPG(1).json"],
         {"IMG_1234.JPG": ["IMG_1234.JPG.json"], "IMG_1234(1).JPG": ["IMG_1234.JPG(1).json"]},
         []),
        (["IMG_1234(1).JPG", "IMG_1234.JPG.supplemental-metadata(1).json"],
         {"IMG_1234(1).JPG": ["IMG_1234.JPG.supplemental-metadata(1).json"]}, []),
        # names cut to 46-51 characters
        ([LONG, LONG[:46] + ".json"], {LONG: [LONG[:46] + ".json"]}, []),
        ([MID, MID_CUT + ".json"], {MID: [MID_CUT + ".json"]}, []),
        ([MID, MID_CUT + "(1).json", MID.replace(".jpg", "(1).jpg")],
         {MID.replace(".jpg", "(1).jpg"): [MID_CUT + "(1).json"]}, []),
        ([LONG, LONG.replace(".jpg", "(1).jpg"), LONG[:46] + "(1).json"],
         {LONG.replace(".jpg", "(1).jpg"): [LONG[:46] + "(1).json"]}, []),
        # edited copies use the original's JSON, in Google's languages
        (["IMG_1234.JPG", "IMG_1234-edited.JPG", "IMG_1234.JPG.json"],
         {"IMG_1234.JPG": ["IMG_1234.JPG.json"], "IMG_1234-edited.JPG": ["IMG_1234.JPG.json"]},
         []),
        (["IMG_1234-bearbeitet.jpg", "IMG_1234.jpg.json"],
         {"IMG_1234-bearbeitet.jpg": ["IMG_1234.jpg.json"]}, []),
        (["IMG_1234-modifié.jpg", "IMG_1234.jpg.json"],
         {"IMG_1234-modifié.jpg": ["IMG_1234.jpg.json"]}, []),
        (["IMG_1234-編集済み.jpg", "IMG_1234.jpg.json"],
         {"IMG_1234-編集済み.jpg": ["IMG_1234.jpg.json"]}, []),
        # Live Photo video shares the still's JSON
        (["IMG_1234.HEIC", "IMG_1234.MP4", "IMG_1234.HEIC.json"],
         {"IMG_1234.HEIC": ["IMG_1234.HEIC.json"], "IMG_1234.MP4": ["IMG_1234.HEIC.json"]}, []),
        # XMP: full name, short name when unambiguous, RAW of a RAW+JPEG pair
        (["a.jpg", "a.jpg.xmp", "a.xmp"], {"a.jpg": ["a.jpg.xmp", "a.xmp"]}, []),
        (["IMG_1.CR2", "IMG_1.JPG", "IMG_1.xmp"], {"IMG_1.CR2": ["IMG_1.xmp"]}, []),
        (["IMG_1.JPG", "IMG_1.PNG", "IMG_1.xmp"], {}, ["IMG_1.xmp"]),
        # AAE: Apple's edits, also the newer IMG_O names
        (["IMG_1234.HEIC", "IMG_1234.MOV", "IMG_1234.AAE"], {"IMG_1234.HEIC": ["IMG_1234.AAE"]},
         []),
        (["IMG_1234.HEIC", "IMG_O1234.AAE"], {"IMG_1234.HEIC": ["IMG_O1234.AAE"]}, []),
        # everything at once, and album JSON that belongs to no file
        (["IMG_1.HEIC", "IMG_1.HEIC.json", "IMG_1.AAE", "IMG_1.HEIC.xmp", "metadata.json",
          "print-subscriptions.json"],
         {"IMG_1.HEIC": ["IMG_1.HEIC.json", "IMG_1.HEIC.xmp", "IMG_1.AAE"]},
         ["metadata.json", "print-subscriptions.json"]),
        (["nothing.json", "lonely.xmp"], {}, ["lonely.xmp", "nothing.json"]),
    ],
)
def test_pair_sidecars(names: list[str], pairs: dict[str, list[str]], orphans: list[str]) -> None:
    assert pair_sidecars(names) == (pairs, orphans)


def test_truncated_name_is_not_given_to_a_second_file() -> None:
    a = "Screenshot_20210312-154839_com.android.chrome_first.jpg"
    b = "Screenshot_20210312-154839_com.android.chrome_second.jpg"
    js = a[:46] + ".json"
    assert js == b[:46] + ".json"
    assert pair_sidecars([a, b, js]) == ({}, [js])  # ambiguous: better unpaired
    edited = a.replace(".jpg", "-edited.jpg")
    assert pair_sidecars([a, edited, js]) == ({a: [js], edited: [js]}, [])


def _takeout(path: Path, doc: object) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def test_read_takeout(tmp_path: Path) -> None:
    info = read_takeout(_takeout(tmp_path / "a.json", {
        "title": "IMG_1234.JPG", "description": "",
        "photoTakenTime": {"timestamp": "1568864337", "formatted": "Sep 19, 2019"},
        "creationTime": {"timestamp": "1569000000"},
        "geoData": {"latitude": 0.0, "longitude": 0.0},
        "geoDataExif": {"latitude": 52.52, "longitude": 13.405},
        "people": [{"name": "Anna"}, {"name": "Ben"}, {}],
    }))
    assert info is not None
    assert info.taken_utc == datetime(2019, 9, 19, 3, 38, 57)
    assert info.created_utc == datetime(2019, 9, 20, 17, 20)
    assert (info.title, info.description) == ("IMG_1234.JPG", None)
    assert (info.latitude, info.longitude) == (52.52, 13.405)
    assert info.people == ("Anna", "Ben")


def test_takeout_sentinels_and_foreign_json(tmp_path: Path) -> None:
    info = read_takeout(_takeout(tmp_path / "z.json", {"photoTakenTime": {"timestamp": "0"},
                                                        "geoData": {"latitude": 0.0,
                                                                    "longitude": 0.0}}))
    assert info is not None and info.taken_utc is None and info.latitude is None
    assert read_takeout(_takeout(tmp_path / "f.json", {"token": "x", "scopes": []})) is None
    assert read_takeout(_takeout(tmp_path / "l.json", [1, 2])) is None
    (tmp_path / "b.json").write_text('{"photoTakenTime": {')
    assert read_takeout(str(tmp_path / "b.json")) is None
    (tmp_path / "u.json").write_bytes(b"\xff\xfe\x00garbage")
    assert read_takeout(str(tmp_path / "u.json")) is None
    assert read_takeout(str(tmp_path / "missing.json")) is None
    weird = read_takeout(_takeout(tmp_path / "w.json", {"photoTakenTime": {"timestamp": "soon"},
                                                        "people": "x", "title": 5}))
    assert weird is not None and weird.taken_utc is None and weird.people == ()


XMP_ATTRS = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"
     xmlns:xap="http://ns.adobe.com/xap/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
     exif:DateTimeOriginal="2019-09-19T05:38:57.12+02:00" xap:ModifyDate="2020-01-01T10:00:00">
   <photoshop:DateCreated>2019-09-19T05:38:57</photoshop:DateCreated>
   <exif:DateTimeDigitized><rdf:Seq><rdf:li>2019-09-19T05:38:58</rdf:li></rdf:Seq>
   </exif:DateTimeDigitized>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def test_read_xmp_dates(tmp_path: Path) -> None:
    path = tmp_path / "IMG_1.CR2.xmp"
    path.write_text(XMP_ATTRS, encoding="utf-8")
    assert read_xmp_dates(str(path)) == {
        "exif:DateTimeOriginal": "2019-09-19T05:38:57.12+02:00",
        "xmp:ModifyDate": "2020-01-01T10:00:00",  # "xap" is the same namespace
        "photoshop:DateCreated": "2019-09-19T05:38:57",
        "exif:DateTimeDigitized": "2019-09-19T05:38:58",
    }


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"<x:xmpmeta",
        b"\x00\x01binary",
        # external entity: must never be fetched or expanded
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><d xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        b'exif:DateTimeOriginal="&e;"/></x:xmpmeta>',
        # entity expansion bomb, also in UTF-16
        b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>',
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "x">]><r '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:DateTimeOriginal="&a;"/>'
        .encode("utf-16"),
    ],
)
def test_read_xmp_dates_refuses_broken_and_unsafe_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.xmp"
    path.write_bytes(content)
    assert read_xmp_dates(str(path)) == {}


def test_read_xmp_dates_missing_file(tmp_path: Path) -> None:
    assert read_xmp_dates(str(tmp_path / "nope.xmp")) == {}
