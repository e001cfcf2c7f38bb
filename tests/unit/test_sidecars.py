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
        (
            ["IMG_1234.JPG", "IMG_1234.JPG.supplemental-metadata.json"],
            {"IMG_1234.JPG": ["IMG_1234.JPG.supplemental-metadata.json"]},
            [],
        ),
        (
            ["IMG_1234.JPG", "IMG_1234.JPG.supplemental-metad.json"],
            {"IMG_1234.JPG": ["IMG_1234.JPG.supplemental-metad.json"]},
            [],
        ),
        (
            ["IMG_1234.JPG", "IMG_1234.JPG.suppl.json"],
            {"IMG_1234.JPG": ["IMG_1234.JPG.suppl.json"]},
            [],
        ),
        (["IMG_1234.JPG", "IMG_1234.JPG.s.json"], {"IMG_1234.JPG": ["IMG_1234.JPG.s.json"]}, []),
        (["IMG_1234.jpg", "IMG_1234.JPG.json"], {"IMG_1234.jpg": ["IMG_1234.JPG.json"]}, []),
        # "(1)" moves behind the extension
        (
            ["IMG_1234.JPG", "IMG_1234(1).JPG", "IMG_1234.JPG.json", "IMG_1234.JPG(1).json"],
            {"IMG_1234.JPG": ["IMG_1234.JPG.json"], "IMG_1234(1).JPG": ["IMG_1234.JPG(1).json"]},
            [],
        ),
        (
            ["IMG_1234(1).JPG", "IMG_1234.JPG.supplemental-metadata(1).json"],
            {"IMG_1234(1).JPG": ["IMG_1234.JPG.supplemental-metadata(1).json"]},
            [],
        ),
        # names cut to 46-51 characters
        ([LONG, LONG[:46] + ".json"], {LONG: [LONG[:46] + ".json"]}, []),
        ([MID, MID_CUT + ".json"], {MID: [MID_CUT + ".json"]}, []),
        (
            [MID, MID_CUT + "(1).json", MID.replace(".jpg", "(1).jpg")],
            {MID.replace(".jpg", "(1).jpg"): [MID_CUT + "(1).json"]},
            [],
        ),
        (
            [LONG, LONG.replace(".jpg", "(1).jpg"), LONG[:46] + "(1).json"],
            {LONG.replace(".jpg", "(1).jpg"): [LONG[:46] + "(1).json"]},
            [],
        ),
        # edited copies use the original's JSON, in Google's languages
        (
            ["IMG_1234.JPG", "IMG_1234-edited.JPG", "IMG_1234.JPG.json"],
            {"IMG_1234.JPG": ["IMG_1234.JPG.json"], "IMG_1234-edited.JPG": ["IMG_1234.JPG.json"]},
            [],
        ),
        (
            ["IMG_1234-bearbeitet.jpg", "IMG_1234.jpg.json"],
            {"IMG_1234-bearbeitet.jpg": ["IMG_1234.jpg.json"]},
            [],
        ),
        (
            ["IMG_1234-modifié.jpg", "IMG_1234.jpg.json"],
            {"IMG_1234-modifié.jpg": ["IMG_1234.jpg.json"]},
            [],
        ),
        (
            ["IMG_1234-編集済み.jpg", "IMG_1234.jpg.json"],
            {"IMG_1234-編集済み.jpg": ["IMG_1234.jpg.json"]},
            [],
        ),
        # Live Photo video shares the still's JSON
        (
            ["IMG_1234.HEIC", "IMG_1234.MP4", "IMG_1234.HEIC.json"],
            {"IMG_1234.HEIC": ["IMG_1234.HEIC.json"], "IMG_1234.MP4": ["IMG_1234.HEIC.json"]},
            [],
        ),
        # XMP: full name, short name when unambiguous, RAW of a RAW+JPEG pair
        (["a.jpg", "a.jpg.xmp", "a.xmp"], {"a.jpg": ["a.jpg.xmp", "a.xmp"]}, []),
        (["IMG_1.CR2", "IMG_1.JPG", "IMG_1.xmp"], {"IMG_1.CR2": ["IMG_1.xmp"]}, []),
        (["IMG_1.JPG", "IMG_1.PNG", "IMG_1.xmp"], {}, ["IMG_1.xmp"]),
        # AAE: Apple's edits, also the newer IMG_O names
        (
            ["IMG_1234.HEIC", "IMG_1234.MOV", "IMG_1234.AAE"],
            {"IMG_1234.HEIC": ["IMG_1234.AAE"]},
            [],
        ),
        (["IMG_1234.HEIC", "IMG_O1234.AAE"], {"IMG_1234.HEIC": ["IMG_O1234.AAE"]}, []),
        # everything at once, and album JSON that belongs to no file
        (
            [
                "IMG_1.HEIC",
                "IMG_1.HEIC.json",
                "IMG_1.AAE",
                "IMG_1.HEIC.xmp",
                "metadata.json",
                "print-subscriptions.json",
            ],
            {"IMG_1.HEIC": ["IMG_1.HEIC.json", "IMG_1.HEIC.xmp", "IMG_1.AAE"]},
            ["metadata.json", "print-subscriptions.json"],
        ),
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
    info = read_takeout(
        _takeout(
            tmp_path / "a.json",
            {
                "title": "IMG_1234.JPG",
                "description": "",
                "photoTakenTime": {"timestamp": "1568864337", "formatted": "Sep 19, 2019"},
                "creationTime": {"timestamp": "1569000000"},
                "geoData": {"latitude": 0.0, "longitude": 0.0},
                "geoDataExif": {"latitude": 52.52, "longitude": 13.405},
                "people": [{"name": "Anna"}, {"name": "Ben"}, {}],
            },
        )
    )
    assert info is not None
    assert info.taken_utc == datetime(2019, 9, 19, 3, 38, 57)
    assert info.created_utc == datetime(2019, 9, 20, 17, 20)
    assert (info.title, info.description) == ("IMG_1234.JPG", None)
    assert (info.latitude, info.longitude) == (52.52, 13.405)
    assert info.people == ("Anna", "Ben")


def test_takeout_sentinels_and_foreign_json(tmp_path: Path) -> None:
    info = read_takeout(
        _takeout(
            tmp_path / "z.json",
            {"photoTakenTime": {"timestamp": "0"}, "geoData": {"latitude": 0.0, "longitude": 0.0}},
        )
    )
    assert info is not None and info.taken_utc is None and info.latitude is None
    assert read_takeout(_takeout(tmp_path / "f.json", {"token": "x", "scopes": []})) is None
    assert read_takeout(_takeout(tmp_path / "l.json", [1, 2])) is None
    (tmp_path / "b.json").write_text('{"photoTakenTime": {')
    assert read_takeout(str(tmp_path / "b.json")) is None
    (tmp_path / "u.json").write_bytes(b"\xff\xfe\x00garbage")
    assert read_takeout(str(tmp_path / "u.json")) is None
    assert read_takeout(str(tmp_path / "missing.json")) is None
    weird = read_takeout(
        _takeout(
            tmp_path / "w.json",
            {"photoTakenTime": {"timestamp": "soon"}, "people": "x", "title": 5},
        )
    )
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
        'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:DateTimeOriginal="&a;"/>'.encode("utf-16"),
    ],
)
def test_read_xmp_dates_refuses_broken_and_unsafe_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.xmp"
    path.write_bytes(content)
    assert read_xmp_dates(str(path)) == {}


def test_read_xmp_dates_missing_file(tmp_path: Path) -> None:
    assert read_xmp_dates(str(tmp_path / "nope.xmp")) == {}


# The peers' JSON-matching tables (immich-go adapters/googlePhotos matcher tests, GPTH's
# json extractor tests): (JSON, media, paired?). A pair that must not match says why.
PEER_PAIRS: list[tuple[str, str, bool]] = [
    ("PXL_20211013_220651983.jpg.json", "PXL_20211013_220651983.jpg", True),
    ("PXL_20211013_220651983.jpg.json", "PXL_20211013_220651958.jpg", False),  # other photo
    (
        "PXL_20220405_090123740.PORTRAIT.jpg.json",
        "PXL_20220405_090123740.PORTRAIT-modifié.jpg",
        True,
    ),
    (
        "PXL_20220405_090123740.PORTRAIT.jpg.json",
        "PXL_20220405_090123741.PORTRAIT-modifié.jpg",
        False,
    ),  # an edit of another photo
    ("DSC_0100.JPG.json", "DSC_0100.JPG", True),
    ("DSC_0101.JPG(1).json", "DSC_0101(1).JPG", True),
    ("DSC_0102.JPG(2).json", "DSC_0102(1).JPG", False),  # another duplicate's JSON
    ("DSC_0103.JPG(1).json", "DSC_0103.JPG", False),  # the duplicate's, not the original's
    ("DSC_0104.JPG.json", "DSC_0104(1).JPG", False),  # the original's, not the duplicate's
    ("IMG_2710.HEIC(1).json", "IMG_2710(1).HEIC", True),
    ("PXL_20231118_035751175.MP.jpg.json", "PXL_20231118_035751175.MP.jpg", True),
    (
        "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGIN.json",
        "PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINA.jpg",
        True,
    ),
    (
        "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jp.json",
        "05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg",
        True,
    ),
    (
        "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋.json",
        "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛.jpg",
        True,
    ),
    (
        "Backyard_ceremony_wedding_photography_xxxxxxx_(494).json",
        "Backyard_ceremony_wedding_photography_xxxxxxx_m(494).jpg",
        True,
    ),
    (
        "Backyard_ceremony_wedding_photography_xxxxxxx_(494).json",
        "Backyard_ceremony_wedding_photography_xxxxxxx_m(185).jpg",
        False,
    ),  # other counter
    (
        "original_1d4caa6f-16c6-4c3d-901b-9387de10e528_.json",
        "original_1d4caa6f-16c6-4c3d-901b-9387de10e528_P.jpg",
        True,
    ),
    # immich-go pairs a counted copy with the plain JSON ("forgotten duplicates"); that is
    # the DSC_0104 case above: a duplicate with no JSON of its own stays without one.
    (
        "original_1d4caa6f-16c6-4c3d-901b-9387de10e528_.json",
        "original_1d4caa6f-16c6-4c3d-901b-9387de10e528_P(1).jpg",
        False,
    ),
    ("PXL_20210102_221126856.MP~2.jpg.json", "PXL_20210102_221126856.MP~2.jpg", True),
    (
        "13039_327707840323_537645323_9470255_27214_n.j(1).json",
        "13039_327707840323_537645323_9470255_27214_n(1).jpg",
        True,
    ),
    ("20161105_170829.jpg.supplemental-metadata.json", "20161105_170829.jpg", True),
    (
        "Screenshot_20231027_123303_Facebook.jpg.supple.json",
        "Screenshot_20231027_123303_Facebook.jpg",
        True,
    ),
    (
        "Screenshot_20231027_123303_Facebook.jpg.supple(1).json",
        "Screenshot_20231027_123303_Facebook(1).jpg",
        True,
    ),
    ("MVIMG_20191230_232926.jpg.supplemental-metadat.json", "MVIMG_20191230_232926.jpg", True),
    ("Screenshot_20200301-161151.png.supplemental-me.json", "Screenshot_20200301-161151.png", True),
    ("MVIMG_20200207_134534~2.jpg.supplemental-metad.json", "MVIMG_20200207_134534~2.jpg", True),
    ("Scan35.jpg.supplemental-metadata(1).json", "Scan35(1).jpg", True),
    ("CLIP0001.AVI.supplemental-metadata(10).json", "CLIP0001(10).AVI", True),
    ("IMAG0061.JPG.supplemental-metadata.json", "IMAG0061-edited.JPG", True),
    (
        "IMG-20230325-WA0122~2.jpg.supplemental-metadat.json",
        "IMG-20230325-WA0122~2-edited.jpg",
        True,
    ),
    ("2234089303984509579.supplemental-metadata.json", "2234089303984509579-edited.jpg", True),
    (
        "Screenshot_20231027_123303_Facebook.jpg.supple.json",
        "Screenshot_20231027_123303_Facebook-edited.jpg",
        True,
    ),
    (
        "Screenshot_2024-08-31-00-53-48-647_com.snapcha.json",
        "Screenshot_2024-08-31-00-53-48-647_com.snapchat.jpg",
        True,
    ),
    # GPTH
    ("image-edited.jpg.json", "image-edited.jpg", True),
    (
        "Urlaub in Knaufspesch in der Schneifel (38).JP.json",
        "Urlaub in Knaufspesch in der Schneifel (38).JPG",
        True,
    ),
    (
        "Screenshot_2022-10-28-09-31-43-118_com.snapcha.json",
        "Screenshot_2022-10-28-09-31-43-118_com.snapchat.jpg",
        True,
    ),
    ("simple_file_20200101.jpg.json", "simple_file_20200101-edited.jpg", True),
    ("simple_file_20200101.jpg.json", "simple_file_20200101-edited(1).jpg", True),
    ("img_(87).(vacation stuff).lol.jpg(87).json", "img_(87).(vacation stuff).lol(87).jpg", True),
    ("IMG-20150125-WA0003.jpg.json", "IMG-20150125-WA0003-modifié.jpg", True),
    ("IMG-20150125-WA0003.jpg.json", "IMG-20150125-WA0003-modifié(1).jpg", True),
    ("IMG_2367.HEIC(1).supplemental-metadata.json", "IMG_2367(1).HEIC", True),
    ("IMG_2367.HEIC.supplemental-metadata.json", "IMG_2367.MP4", True),
    ("IMG_2367.HEIC.supplemental-metadata.json", "IMG_2367.HEIC.jpg", True),
    ("photo.HEIC.NEF.supplemental-metadata.json", "photo.HEIC.NEF.jpg", True),
    ("photo.json", "photo.jpg", True),
    ("20030616.json", "20030616.jpg", True),
    ("foto.jpg.json", "foto-bearbeitet.jpg", True),
    ("photo.png.json", "photo-modifié.png", True),
    ("imagen.gif.json", "imagen-editado.gif", True),
    ("photo.jpg.json", "photo-edited(1).jpg", True),
    ("mi salón.JPG.json", "mi salón-ha editado.JPG", True),
    (
        "Con Yoli por Málaga en el piso nuevo_001.JPG.json",
        "Con Yoli por Málaga en el piso nuevo_001-ha edi.JPG",
        True,
    ),
    (
        "Museo Marino de Matalascañas con Yoli_001.JPG.json",
        "Museo Marino de Matalascañas con Yoli_001-ha ed.JPG",
        True,
    ),
    ("IMG_001.MP.jpg.json", "IMG_001.MP", True),
    # GPTH's "tryhard" pairs these too; a short name was never cut, so "-edi", "-be" may be
    # the name's own ending: no pairing on a guess.
    ("photo.JPG.json", "photo-edi.JPG", False),
    ("foto.jpg.json", "foto-be.jpg", False),
]


@pytest.mark.parametrize(
    ("js", "media", "paired"), PEER_PAIRS, ids=[f"{p[1]}<-{p[0]}" for p in PEER_PAIRS]
)
def test_peer_json_matching(js: str, media: str, paired: bool) -> None:
    pairs, orphans = pair_sidecars([js, media])
    assert (js in pairs.get(media, [])) is paired
    assert (js in orphans) is not paired


def test_newer_export_format_is_listed_first() -> None:
    pairs, _ = pair_sidecars(["x.jpg", "x.jpg.json", "x.jpg.supplemental-metadata.json"])
    assert pairs == {"x.jpg": ["x.jpg.supplemental-metadata.json", "x.jpg.json"]}
    pairs, _ = pair_sidecars(["x(1).jpg", "x.jpg(1).json", "x.jpg(1).supplemental-metadata.json"])
    assert pairs == {"x(1).jpg": ["x.jpg(1).supplemental-metadata.json", "x.jpg(1).json"]}
