"""The file-name date table: every row's own example, then the families and the traps."""

from __future__ import annotations

import os
import random
import time
from datetime import datetime, timedelta

import pytest

from mediafix.media.dates import filenames
from mediafix.media.dates.filenames import (
    NEVER,
    PATTERNS,
    NameDate,
    Pattern,
    Undated,
    parse_filename,
    strip_copy_suffix,
)
from mediafix.media.dates.folders import parse_folder
from mediafix.media.values import Precision, TimeMeaning
from tests.helpers.paths import REPO

NOW = datetime(2026, 6, 1, 12, 0, 0)
CORPUS = REPO.parent / "shared" / "corpus"


def iso(found: NameDate) -> str:
    """A NameDate in the notation of ``Pattern.expected``."""
    if found.precision is Precision.DAY:
        return found.value.date().isoformat()
    if found.precision is Precision.SUBSECOND:
        text = found.value.isoformat(timespec="milliseconds")
    else:
        text = found.value.isoformat(timespec="seconds")
    if found.offset is not None:
        sign = "-" if found.offset < 0 else "+"
        text += f"{sign}{abs(found.offset) // 60:02d}:{abs(found.offset) % 60:02d}"
    return text


def first_row(name: str, now: datetime = NOW) -> NameDate | None:
    """The table read the slow, obvious way: each row in order, no prefilter, no combining."""
    name = filenames._clean(name)
    if filenames._UNDATED.match(name):
        return None
    for index, pattern in enumerate(PATTERNS):
        if pattern.regex.match(name):
            return filenames._parse_with(index, name, now)
    return None


# --- the table -------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(PATTERNS)), ids=[p.name for p in PATTERNS])
def test_row_example_gives_expected_and_no_earlier_row_catches_it(index: int) -> None:
    row = PATTERNS[index]
    own = filenames._parse_with(index, row.example, NOW)
    assert own is not None, f"{row.name}: its example does not match its own row"
    assert iso(own) == row.expected
    assert own.precision is row.precision
    assert own.meaning is row.meaning
    for earlier in PATTERNS[:index]:
        assert earlier.regex.match(row.example) is None, (
            f"{row.example!r} is caught by the earlier row {earlier.name!r}"
        )
    found = parse_filename(row.example, now=NOW)
    assert found == own
    assert found.pattern == row.name and found.confidence == row.confidence


def test_rows_are_well_formed() -> None:
    names = [p.name for p in PATTERNS]
    assert len(set(names)) == len(names)
    for p in PATTERNS:
        assert isinstance(p, Pattern)
        assert 0 < p.confidence <= 1
        assert p.precision is not Precision.DAY or "T" not in p.expected
    # An epoch name is a download or app time, trusted little; a camera's own burst stamp
    # (BURST<epoch ms>) is the one epoch that is the capture instant.
    epoch = [p for p in PATTERNS if p.meaning is TimeMeaning.EPOCH_MS and p.name != "burst_epoch"]
    assert epoch and all(p.confidence <= 0.3 for p in epoch)
    for p in PATTERNS:  # a written offset comes with the digits; other rows have none
        assert ("+" in p.expected[10:] or "-" in p.expected[10:]) is (
            p.meaning is TimeMeaning.OFFSET
        ), p.name
    whatsapp = next(p for p in PATTERNS if p.name == "whatsapp")
    assert whatsapp.precision is Precision.DAY and whatsapp.confidence <= 0.5


# --- families that must give a date ---------------------------------------------------------

VALID: list[tuple[str, str, str]] = [
    # Android camera apps
    ("IMG_20190919_053857.jpg", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20190919_053857_123.jpg", "2019-09-19T05:38:57.123", "camera_app"),
    ("IMG_20180312_154326529.jpg", "2018-03-12T15:43:26.529", "camera_app"),  # Motorola
    ("VID_20200101_120000.mp4", "2020-01-01T12:00:00", "camera_app"),
    ("IMG_20190919_053857~2.jpg", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20190919_053857_HDR.jpg", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20190919_053857_1.jpg", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20190919_053857_BURST001_COVER.jpg", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20190919_053857_BURST001.jpg", "2019-09-19T05:38:57", "camera_app"),
    ("PANO_20190919_053857.jpg", "2019-09-19T05:38:57", "camera_app"),
    ("MVIMG_20190919_053857.jpg", "2019-09-19T05:38:57", "camera_app"),
    ("VID_20210304_101532_00_001.insv", "2021-03-04T10:15:32", "camera_app"),  # Insta360
    ("img_20190919_053857.JPG", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20190919_053857", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20180725_163423-tiny.jpg", "2018-07-25T16:34:23", "camera_app"),
    ("IMG20210304101532.jpg", "2021-03-04T10:15:32", "oppo"),
    ("VID20210304101532.mp4", "2021-03-04T10:15:32", "oppo"),
    # Pixel (UTC, milliseconds)
    ("PXL_20210304_101532123.jpg", "2021-03-04T10:15:32.123", "pixel"),
    ("PXL_20210304_101532123.MP.jpg", "2021-03-04T10:15:32.123", "pixel"),
    ("PXL_20210304_101532123.NIGHT.jpg", "2021-03-04T10:15:32.123", "pixel"),
    ("PXL_20210304_101532123.PORTRAIT.jpg", "2021-03-04T10:15:32.123", "pixel"),
    ("PXL_20210304_101532123~2.jpg", "2021-03-04T10:15:32.123", "pixel"),
    ("PXL_20210304_101532123.LS.mp4", "2021-03-04T10:15:32.123", "pixel"),
    ("pxl_20210304_101532123.mp", "2021-03-04T10:15:32.123", "pixel"),
    # bursts with the time inside
    ("00000IMG_00000_BURST20190919053857123_COVER.jpg", "2019-09-19T05:38:57.123", "burst"),
    ("00001IMG_00001_BURST20190919053857123.jpg", "2019-09-19T05:38:57.123", "burst"),
    ("00100lrPORTRAIT_00100_BURST20190919053857123_COVER.jpg", "2019-09-19T05:38:57.123", "burst"),
    # Samsung / LG
    ("20190919_053857.jpg", "2019-09-19T05:38:57", "samsung"),
    ("20190919_053857(0).jpg", "2019-09-19T05:38:57", "samsung"),
    ("20190919_053857_001.jpg", "2019-09-19T05:38:57", "samsung"),
    ("20190919_053857 - Copy.jpg", "2019-09-19T05:38:57", "samsung"),
    ("20190919_053857.mp4", "2019-09-19T05:38:57", "samsung"),
    # OneDrive from iOS (UTC)
    ("20190919_053857000_iOS.jpg", "2019-09-19T05:38:57.000", "onedrive_ios"),
    ("20190919_053857_iOS.heic", "2019-09-19T05:38:57", "onedrive_ios"),
    # DJI, Windows
    ("DJI_20210304101532_0001_D.JPG", "2021-03-04T10:15:32", "dji"),
    ("DJI_20210304101532_0001_D.MP4", "2021-03-04T10:15:32", "dji"),
    ("WIN_20210304_10_15_32_Pro.jpg", "2021-03-04T10:15:32", "windows_camera"),
    ("WP_20140304_10_15_32_Pro.jpg", "2014-03-04T10:15:32", "windows_camera"),
    ("WP_20140304_001.jpg", "2014-03-04", "compact_date"),
    ("Camera_20190919_053857.jpg", "2019-09-19T05:38:57", "camera_word"),
    # WhatsApp on the phone
    ("IMG-20190919-WA0001.jpg", "2019-09-19", "whatsapp"),
    ("VID-20190919-WA0003.mp4", "2019-09-19", "whatsapp"),
    ("AUD-20190919-WA0003.opus", "2019-09-19", "whatsapp"),
    ("PTT-20190919-WA0003.opus", "2019-09-19", "whatsapp"),
    ("STK-20190919-WA0003.webp", "2019-09-19", "whatsapp"),
    ("IMG-20190919-WA0001 (1).jpg", "2019-09-19", "whatsapp"),
    ("img-20190919-wa0001.jpeg", "2019-09-19", "whatsapp"),
    # WhatsApp Web / Desktop, every language and clock
    ("WhatsApp Image 2021-03-04 at 10.15.32.jpeg", "2021-03-04T10:15:32", "whatsapp_web"),
    ("WhatsApp Image 2021-03-04 at 10.15.32", "2021-03-04T10:15:32", "whatsapp_web"),
    ("WhatsApp Video 2021-03-04 at 10.15.32 PM.mp4", "2021-03-04T22:15:32", "whatsapp_web"),
    ("WhatsApp Image 2021-03-04 at 12.15.32 AM.jpeg", "2021-03-04T00:15:32", "whatsapp_web"),
    ("WhatsApp Image 2021-03-04 at 12.15.32 PM.jpeg", "2021-03-04T12:15:32", "whatsapp_web"),
    ("WhatsApp Image 2021-03-04 at 1.05.09 PM.jpeg", "2021-03-04T13:05:09", "whatsapp_web"),
    ("WhatsApp Image 2021-03-04 at 9.05.09\u202fAM.jpeg", "2021-03-04T09:05:09", "whatsapp_web"),
    ("WhatsApp Image 2023-01-05 at 18.22.10 (1).jpeg", "2023-01-05T18:22:10", "whatsapp_web"),
    ("WhatsApp Image 2023-01-05 at 18.22.10 (2)", "2023-01-05T18:22:10", "whatsapp_web"),
    ("WhatsApp Image 2024-02-01 at 09.05.12_1a2b3c4d.jpg", "2024-02-01T09:05:12", "whatsapp_web"),
    ("WhatsApp Image 2024-02-01 at 09.05.12_a1b2c3d4.jpg", "2024-02-01T09:05:12", "whatsapp_web"),
    ("WhatsApp Bild 2021-03-04 um 10.15.32.jpeg", "2021-03-04T10:15:32", "whatsapp_web"),
    ("WhatsApp Image 2021-03-04 at 10.15.32 a. m..jpeg", "2021-03-04T10:15:32", "whatsapp_web"),
    ("WhatsApp Image 2021-03-04 at 10.15.32 p. m..jpeg", "2021-03-04T22:15:32", "whatsapp_web"),
    (
        "WhatsApp Image 2021-03-04 at 10.15.32 p.\u00a0m..jpeg",
        "2021-03-04T22:15:32",
        "whatsapp_web",
    ),
    ("WhatsApp-afbeelding 2023-05-01 om 12.30.45.jpg", "2023-05-01T12:30:45", "whatsapp_web"),
    ("WhatsApp-video 2023-05-01 om 12.30.45.mp4", "2023-05-01T12:30:45", "whatsapp_web"),
    ("WhatsApp Image 2021-03-04 à 10.15.32.jpeg", "2021-03-04T10:15:32", "whatsapp_web"),
    ("WhatsApp Image 2021-03-04 às 10.15.32.jpeg", "2021-03-04T10:15:32", "whatsapp_web"),
    ("WhatsApp Imagem 2021-03-04 at 10.15.32.jpeg", "2021-03-04T10:15:32", "whatsapp_web"),
    ("WhatsApp Immagine 2021-03-04 alle 10.15.32.jpeg", "2021-03-04T10:15:32", "whatsapp_web"),
    ("WhatsApp Imagen 2021-03-04 a las 10.15.32.jpeg", "2021-03-04T10:15:32", "whatsapp_web"),
    ("WhatsApp Audio 2021-03-04 at 10.15.32.ogg", "2021-03-04T10:15:32", "whatsapp_web"),
    # Signal, Telegram
    ("signal-2021-03-04-101532.jpg", "2021-03-04T10:15:32", "signal"),
    ("signal-2021-03-04-10-15-32-123.jpg", "2021-03-04T10:15:32.123", "signal"),
    ("signal-2021-03-04-101532_001.jpg", "2021-03-04T10:15:32", "signal"),
    ("signal-attachment-2021-03-04-101532.jpg", "2021-03-04T10:15:32", "signal"),
    ("photo_2021-03-04_10-15-32.jpg", "2021-03-04T10:15:32", "telegram"),
    ("video_2021-03-04_10-15-32.mp4", "2021-03-04T10:15:32", "telegram"),
    ("photo_2021-03-04 10.15.32.jpeg", "2021-03-04T10:15:32", "telegram"),
    ("IMG_20210304_101532_123.jpg", "2021-03-04T10:15:32.123", "camera_app"),
    # screenshots
    ("Screenshot_20190919-053857.png", "2019-09-19T05:38:57", "screenshot_android"),
    ("Screenshot_20190919-053857_WhatsApp.jpg", "2019-09-19T05:38:57", "screenshot_android"),
    ("Screenshot_20210304_101532.png", "2021-03-04T10:15:32", "screenshot_android"),
    ("Screen_Recording_20210304-101532_YouTube.mp4", "2021-03-04T10:15:32", "screenshot_android"),
    (
        "Screenshot_2019-09-19-05-38-57-123_com.whatsapp.jpg",
        "2019-09-19T05:38:57.123",
        "screenshot_android_dashed",
    ),
    ("Screenshot_2014-03-04-10-15-32.png", "2014-03-04T10:15:32", "screenshot_android_dashed"),
    ("Screenshot 2021-03-04 at 10.15.32.png", "2021-03-04T10:15:32", "screenshot_macos"),
    ("Screen Shot 2019-09-19 at 5.38.57 AM.png", "2019-09-19T05:38:57", "screenshot_macos"),
    ("Screen Shot 2019-09-19 at 5.38.57 PM.png", "2019-09-19T17:38:57", "screenshot_macos"),
    ("Screen Shot 2019-09-19 at 12.38.57 AM.png", "2019-09-19T00:38:57", "screenshot_macos"),
    ("Screenshot 2023-10-01 at 1.15.32\u202fPM.png", "2023-10-01T13:15:32", "screenshot_macos"),
    ("Screenshot 2021-03-04 at 10.15.32 (2).png", "2021-03-04T10:15:32", "screenshot_macos"),
    ("Screen Recording 2021-03-04 at 10.15.32.mov", "2021-03-04T10:15:32", "screenshot_macos"),
    ("Bildschirmfoto 2021-03-04 um 10.15.32.png", "2021-03-04T10:15:32", "date_at_time"),
    ("Capture d’écran 2021-03-04 à 10.15.32.png", "2021-03-04T10:15:32", "date_at_time"),
    (
        "Captura de pantalla 2021-03-04 a las 10.15.32 p. m..png",
        "2021-03-04T22:15:32",
        "date_at_time",
    ),
    ("Schermafbeelding 2021-03-04 om 10.15.32.png", "2021-03-04T10:15:32", "date_at_time"),
    ("Снимок экрана 2021-03-04 в 10.15.32.png", "2021-03-04T10:15:32", "date_at_time"),
    ("截屏2021-03-04 下午3.15.32.png", "2021-03-04T15:15:32", "date_at_time"),
    ("スクリーンショット 2021-03-04 10.15.32.png", "2021-03-04T10:15:32", "separated_datetime"),
    ("Screenshot 2021-03-04 101532.png", "2021-03-04T10:15:32", "screenshot_windows"),
    ("Screenshot from 2021-03-04 10-15-32.png", "2021-03-04T10:15:32", "screenshot_gnome"),
    ("Screenshot from 2021-03-04 10:15:32.png", "2021-03-04T10:15:32", "screenshot_gnome"),
    ("Screenshot From 2024-01-05 10-15-32.png", "2024-01-05T10:15:32", "screenshot_gnome"),
    # Dropbox
    ("2019-09-19 05.38.57.jpg", "2019-09-19T05:38:57", "dropbox"),
    ("2019-09-19 05.38.57-1.jpg", "2019-09-19T05:38:57", "dropbox"),
    ("2019-09-19 05.38.57 HDR.jpg", "2019-09-19T05:38:57", "dropbox"),
    # plain
    ("2019-09-19.jpg", "2019-09-19", "date"),
    ("2019-09-19 Birthday.jpg", "2019-09-19", "date"),
    ("1895-06-01 Grandpa.jpg", "1895-06-01", "date"),
    ("2019_09_19_05_38_57.jpg", "2019-09-19T05:38:57", "separated_datetime"),
    ("20190919053857.jpg", "2019-09-19T05:38:57", "compact_datetime"),
    ("20190919053857123.jpg", "2019-09-19T05:38:57.123", "compact_datetime"),
    ("20190919-053857.jpg", "2019-09-19T05:38:57", "compact_datetime"),
    ("date_20170101_010101.jpg", "2017-01-01T01:01:01", "compact_datetime"),
    ("2019-09-19_05-38-57.jpg", "2019-09-19T05:38:57", "separated_datetime"),
    ("2019-09-19T05:38:57", "2019-09-19T05:38:57", "separated_datetime"),
    ("2019-09-19T05:38:57.jpg", "2019-09-19T05:38:57", "separated_datetime"),
    ("2019-09-19-05h38m57", "2019-09-19T05:38:57", "separated_datetime"),
    ("2019-09-19-05h38m57s.jpg", "2019-09-19T05:38:57", "separated_datetime"),
    ("2019-09-19 05-38-57.jpg", "2019-09-19T05:38:57", "separated_datetime"),
    ("2019.09.19 05.38.57.jpg", "2019-09-19T05:38:57", "separated_datetime"),
    ("Photo 2021-03-04 10 15 32.jpg", "2021-03-04T10:15:32", "separated_datetime"),
    ("IMG_20190919.jpg", "2019-09-19", "compact_date"),
    ("IMG-20190919-00123.jpg", "2019-09-19", "compact_date"),
    ("Scan_20190919_0001.tif", "2019-09-19", "compact_date"),
    ("Geburtstag 19.09.2019.jpg", "2019-09-19", "date_dmy"),
    ("Foto 04.03.21, 10 15 32.jpg", "2021-03-04T10:15:32", "ios_share"),
    ("Photo 04.03.2021, 10 15 32.jpg", "2021-03-04T10:15:32", "ios_share"),
    ("2019-09-19T05:38:57Z.jpg", "2019-09-19T05:38:57+00:00", "iso_offset"),
    ("2019-09-19T07:38:57+02:00.jpg", "2019-09-19T07:38:57+02:00", "iso_offset"),
    ("20190919T073857+0200", "2019-09-19T07:38:57+02:00", "iso_offset"),
    ("2019-09-19T01:08:57-04:30.jpg", "2019-09-19T01:08:57-04:30", "iso_offset"),
    # epochs
    ("1568871537123.jpg", "2019-09-19T05:38:57.123", "epoch_ms"),
    ("FB_IMG_1568871537123.jpg", "2019-09-19T05:38:57.123", "epoch_ms"),
    ("received_1568871537123.jpeg", "2019-09-19T05:38:57.123", "epoch_ms"),
    ("mmexport1568871537123.jpg", "2019-09-19T05:38:57.123", "epoch_ms"),
    ("wx_camera_1568871537123.jpg", "2019-09-19T05:38:57.123", "epoch_ms"),
    ("FB_IMG_1568871537.jpg", "2019-09-19T05:38:57", "epoch_seconds"),
    # copy suffixes must not hide a date
    ("IMG_20190919_053857-edited.jpg", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20190919_053857(1).jpg", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20190919_053857 (1).jpg", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20190919_053857-2.jpg", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20190919_053857.jpg(1)", "2019-09-19T05:38:57", "camera_app"),
    ("IMG_20190919_053857-bearbeitet.jpg", "2019-09-19T05:38:57", "camera_app"),
    ("PXL_20210304_101532123.MP-edited.jpg", "2021-03-04T10:15:32.123", "pixel"),
    ("20190919_053857(1).jpg", "2019-09-19T05:38:57", "samsung"),
    # more real-world variants
    ("Game 2021.03.04 - 10.15.32.12.DVR.mp4", "2021-03-04T10:15:32", "separated_datetime"),
    ("Screenshot 2021-03-04 10.15.32 PM.png", "2021-03-04T22:15:32", "separated_datetime"),
    ("2019:09:19 05:38:57.jpg", "2019-09-19T05:38:57", "separated_datetime"),
    ("20190919 053857.jpg", "2019-09-19T05:38:57", "compact_datetime"),
    ("WIN_20140304_101532.JPG", "2014-03-04T10:15:32", "windows_camera"),
    ("Screen Recording 2024-01-05 101532.mp4", "2024-01-05T10:15:32", "screenshot_windows"),
    ("Screencast from 2021-03-04 10-15-32.webm", "2021-03-04T10:15:32", "screenshot_gnome"),
    ("00000012-PHOTO-2021-03-04-10-15-32.jpg", "2021-03-04T10:15:32", "whatsapp_export"),
    ("00000013-VIDEO-2021-03-04-10-15-32.mp4", "2021-03-04T10:15:32", "whatsapp_export"),
    ("2021_0304_101532_001F.MP4", "2021-03-04T10:15:32", "dashcam"),
    ("Screenrecorder-2021-03-04-10-15-32-123.mp4", "2021-03-04T10:15:32.123", "separated_datetime"),
    ("微信图片_20190919053857.jpg", "2019-09-19T05:38:57", "compact_datetime"),
    ("KakaoTalk_20210304_101532123.jpg", "2021-03-04T10:15:32.123", "compact_datetime"),
    ("InShot_20210304_101532123.jpg", "2021-03-04T10:15:32.123", "compact_datetime"),
    ("20210304101532_1.jpg", "2021-03-04T10:15:32", "compact_datetime"),  # Steam
    ("PRO_VID_20210304_101532_00_001.mp4", "2021-03-04T10:15:32", "compact_datetime"),
    ("스크린샷 2021-03-04 오후 3.15.32.png", "2021-03-04T15:15:32", "date_at_time"),
    (
        "Screenshot_2019-09-19-05-38-57-12_c37d.jpg",
        "2019-09-19T05:38:57",
        "screenshot_android_dashed",
    ),
    ("IMG_20190919_053857-01.jpeg", "2019-09-19T05:38:57", "camera_app"),
    ("microMsg.1568871537123.jpg", "2019-09-19T05:38:57.123", "epoch_ms"),
    ("Screenshot_20240105_101532_Chrome.jpg", "2024-01-05T10:15:32", "screenshot_android"),
    ("Screenshot_2021-03-04_10-15-32.png", "2021-03-04T10:15:32", "separated_datetime"),
    ("2019-09-19_05-38-57_001.jpg", "2019-09-19T05:38:57", "separated_datetime"),
    ("WhatsApp Image 2021-03-04 at 10_15_32.jpeg", "2021-03-04T10:15:32", "whatsapp_web"),
    (
        "WhatsApp Video 2021-03-04 at 10.15.32 PM_1a2b3c4d.mp4",
        "2021-03-04T22:15:32",
        "whatsapp_web",
    ),
    ("WhatsApp Image 2021-03-04 at 10.15.32 AM (1).jpeg", "2021-03-04T10:15:32", "whatsapp_web"),
    ("Foto 04.03.21 10 15 32.jpg", "2021-03-04T10:15:32", "ios_share"),
    ("20190919T053857.jpg", "2019-09-19T05:38:57", "compact_datetime"),
    ("20190919T053857Z.jpg", "2019-09-19T05:38:57+00:00", "iso_offset"),
    ("Captura de pantalla 2021-03-04 a la(s) 10.15.32.png", "2021-03-04T10:15:32", "date_at_time"),
    ("FB_IMG_1568871537123 (1).jpg", "2019-09-19T05:38:57.123", "epoch_ms"),
    # --- the peers' own test names (immich-go internal/filenames, GPTH, PhotoPrism pkg/txt)
    # immich-go
    ("PXL_20220909_154515546.TS.mp4", "2022-09-09T15:45:15.546", "pixel"),
    ("PXL_20231207_032111247.RAW-02.ORIGINAL.dng", "2023-12-07T03:21:11.247", "pixel"),
    ("PXL_20231207_032111247.RAW-01.COVER.jpg", "2023-12-07T03:21:11.247", "pixel"),
    ("PXL_20230330_184138390.MOTION-01.COVER.jpg", "2023-03-30T18:41:38.390", "pixel"),
    ("PXL_20230809_203029471.LONG_EXPOSURE-01.COVER.jpg", "2023-08-09T20:30:29.471", "pixel"),
    ("PXL_20240615_204528165.NIGHT.RAW-02.ORIGINAL.dng", "2024-06-15T20:45:28.165", "pixel"),
    ("IMG_20231014_183246_BURST001_COVER.jpg", "2023-10-14T18:32:46", "camera_app"),
    ("IMG_20231014_183246_BURST002.jpg", "2023-10-14T18:32:46", "camera_app"),
    ("00001IMG_00001_BURST20171111030039.jpg", "2017-11-11T03:00:39", "burst"),
    ("00015IMG_00015_BURST20171111030039_COVER.jpg", "2017-11-11T03:00:39", "burst"),
    ("00100lPORTRAIT_00100_BURST20181229213517346_COVER.jpg", "2018-12-29T21:35:17.346", "burst"),
    ("00000PORTRAIT_00000_BURST20190828181853475.jpg", "2019-08-28T18:18:53.475", "burst"),
    ("00001IMG_00001_BURST1723801037429_COVER.jpg", "2024-08-16T09:37:17.429", "burst_epoch"),
    ("00002IMG_00002_BURST1723801037429.jpg", "2024-08-16T09:37:17.429", "burst_epoch"),
    ("DSC_0001_BURST20230709220904977.JPG", "2023-07-09T22:09:04.977", "burst"),
    ("DSC_0052_BURST20230709220904977_COVER.JPG", "2023-07-09T22:09:04.977", "burst"),
    ("20231207_101605_001.jpg", "2023-12-07T10:16:05", "samsung"),
    ("20231207_101605_031.jpg", "2023-12-07T10:16:05", "samsung"),
    ("IMG_20171111_030128.jpg", "2017-11-11T03:01:28", "camera_app"),
    ("2024-05-05.png", "2024-05-05", "date"),
    ("Screenshot from 2022-12-17 19-45-43.png", "2022-12-17T19:45:43", "screenshot_gnome"),
    ("Bebop2_20180719194940+0200.mp4", "2018-07-19T19:49:40+02:00", "compact_offset"),
    ("AR_EFFECT_20141126193511.mp4", "2014-11-26T19:35:11", "compact_datetime"),
    ("2023-07-20 14:15:30", "2023-07-20T14:15:30", "separated_datetime"),
    ("20001010120000", "2000-10-10T12:00:00", "compact_datetime"),
    ("2023_07_20_10_09_20.mp4", "2023-07-20T10:09:20", "separated_datetime"),
    ("19991231", "1999-12-31", "compact_date"),
    ("2021-05-27_overlay~zip-9C801DD4-6F9C-4E7B-A2D1-08C136E43C0.webp", "2021-05-27", "date"),
    ("2020-06-25_js-EjQSFXMSRzqjMGZ4WTBjulPZ21MRG9KVxoAGgAyAQdIAIAEYAE.mp4", "2020-06-25", "date"),
    # GPTH (date-from-filename tests)
    ("Screenshot_20190919-053857_Camera-edited.jpg", "2019-09-19T05:38:57", "screenshot_android"),
    ("MVIMG_20190215_193501.MP4", "2019-02-15T19:35:01", "camera_app"),
    (
        "Screenshot_2019-04-16-11-19-37-232_com.jpg",
        "2019-04-16T11:19:37.232",
        "screenshot_android_dashed",
    ),
    ("signal-2020-10-26-163832.jpg", "2020-10-26T16:38:32", "signal"),
    ("VID_20220107_113306.mp4", "2022-01-07T11:33:06", "camera_app"),
    ("00004XTR_00004_BURST20190216172030.jpg", "2019-02-16T17:20:30", "burst"),
    ("00055IMG_00055_BURST20190216172030_COVER.jpg", "2019-02-16T17:20:30", "burst"),
    ("2016_01_30_11_49_15.mp4", "2016-01-30T11:49:15", "separated_datetime"),
    ("201801261147521000.jpg", "2018-01-26T11:47:52", "compact_datetime_4"),
    ("IMG_1_BURST20160623205107_COVER.jpg", "2016-06-23T20:51:07", "burst"),
    ("IMG_1_BURST20160520195318.jpg", "2016-05-20T19:53:18", "burst"),
    ("1990_06_16_07_30_00.jpg", "1990-06-16T07:30:00", "separated_datetime"),
    ("1869_12_30_16_59_57.jpg", "1869-12-30T16:59:57", "separated_datetime"),
    ("IMG_20220101_123456.jpg", "2022-01-01T12:34:56", "camera_app"),
    ("IMG_20200229_000000.gif", "2020-02-29T00:00:00", "camera_app"),
    # PhotoPrism (DateFromFilePath tests; the folder cases are in FOLDERS below)
    ("22-04-06 15-21-03 2160.jpg", "2022-04-06T15:21:03", "nextcloud"),
    ("90-04-06 15-21-03 2160.jpg", "1990-04-06T15:21:03", "nextcloud"),
    ("91-04-06 15-21-03 2160.jpg", "1991-04-06T15:21:03", "nextcloud"),
    ("05-04-06 15-21-03 2160.jpg", "2005-04-06T15:21:03", "nextcloud"),
    ("2018-04-12 19:24:49.gif", "2018-04-12T19:24:49", "separated_datetime"),
    ("telegram_2020_01_30_09_57_18.jpg", "2020-01-30T09:57:18", "separated_datetime"),
    ("telegram_2020-01-30_09-57-18.jpg", "2020-01-30T09:57:18", "separated_datetime"),
    ("Screenshot 2019_05_21 at 10.45.52.png", "2019-05-21T10:45:52", "screenshot_macos"),
    ("Screenshot 2019-05-21 at 10.45.52.png", "2019-05-21T10:45:52", "screenshot_macos"),
    ("telegram_2020-01-30_09-18.jpg", "2020-01-30", "date"),
    ("Screenshot 2019-05-21 at 10545.52.png", "2019-05-21", "date"),
    ("2019-07-23", "2019-07-23", "date"),
    ("2019.05.21", "2019-05-21", "date"),  # PhotoPrism leaves dotted dates undated
    ("21.05.2019", "2019-05-21", "date_dmy"),  # likewise; day-first with dots is unambiguous
    ("IMG-20191120-WA0001.jpg", "2019-11-20", "whatsapp"),
    ("VID-20191120-WA0001.jpg", "2019-11-20", "whatsapp"),
    ("20130518_142022_3D657EBD.jpg", "2013-05-18T14:20:22", "photoprism"),
    # the issue's own examples
    ("P20260105-205639.jpg", "2026-01-05T20:56:39", "p_prefix"),
    # Android keeps the original name behind .trashed-<epoch>-
    (".trashed-1700000000-IMG_20210203_101010.jpg", "2021-02-03T10:10:10", "camera_app"),
]


@pytest.mark.parametrize(("name", "expected", "row"), VALID, ids=[v[0] for v in VALID])
def test_dated_names(name: str, expected: str, row: str) -> None:
    found = parse_filename(name, now=NOW)
    assert found is not None
    assert (iso(found), found.pattern) == (expected, row)
    assert found == first_row(name)


def test_date_only_names_have_day_precision() -> None:
    for name in ("IMG-20190919-WA0001.jpg", "2019-09-19.jpg", "IMG_20190919.jpg"):
        found = parse_filename(name, now=NOW)
        assert found is not None and found.precision is Precision.DAY
        assert found.value == datetime(2019, 9, 19)


@pytest.mark.parametrize(
    ("name", "meaning"),
    [
        ("PXL_20210304_101532123.jpg", TimeMeaning.UTC),
        ("20190919_053857000_iOS.jpg", TimeMeaning.UTC),
        ("2019-09-19T05:38:57Z.jpg", TimeMeaning.OFFSET),
        ("Bebop2_20180719194940+0200.mp4", TimeMeaning.OFFSET),
        ("00001IMG_00001_BURST1723801037429_COVER.jpg", TimeMeaning.EPOCH_MS),
        ("20130518_142022_3D657EBD.jpg", TimeMeaning.UTC),
        ("22-04-06 15-21-03 2160.jpg", TimeMeaning.LOCAL),
        ("IMG_20190919_053857.jpg", TimeMeaning.LOCAL),
        ("WhatsApp Image 2021-03-04 at 10.15.32.jpeg", TimeMeaning.LOCAL),
        ("FB_IMG_1568871537123.jpg", TimeMeaning.EPOCH_MS),
        ("FB_IMG_1568871537.jpg", TimeMeaning.EPOCH_MS),
    ],
)
def test_meaning(name: str, meaning: TimeMeaning) -> None:
    found = parse_filename(name, now=NOW)
    assert found is not None and found.meaning is meaning


def test_confidence_reflects_the_family() -> None:
    def confidence(name: str) -> float:
        found = parse_filename(name, now=NOW)
        assert found is not None
        return found.confidence

    camera = confidence("IMG_20190919_053857.jpg")
    assert 0.75 <= camera <= 0.85
    assert confidence("IMG-20190919-WA0001.jpg") == 0.5
    assert confidence("2019-09-19.jpg") == 0.5
    assert confidence("1568871537123.jpg") == 0.3
    assert confidence("20190919053857.jpg") < camera


# --- names that must give nothing -----------------------------------------------------------

UNDATED = [
    "IMG_1234.JPG",
    "IMG_E1234.JPG",
    "DSC_0001.JPG",
    "DSCN0001.JPG",
    "DSCF0001.JPG",
    "GOPR0001.MP4",
    "GX010001.MP4",
    "GH010001.MP4",
    "P1200042.JPG",
    "_MG_1234.CR2",
    "MVI_1234.MOV",
    "CIMG0001.JPG",
    "DJI_0001.JPG",
    "100_0306.AVI",
    "6F9619FF-8B86-D011-B42D-00C04FC964FF.jpg",
    "32d08f4a5eb10332506ebedbb9bc7257.jpg",
    "Snapchat-431959199.jpg",
    "Snapchat-20190919.jpg",
    "image0.jpeg",
    "Screenshot (12).png",
    "Screenshot.png",
    "jp2 47102787.png",
    "Holidays 2004.jpg",
    "IMG_2019.JPG",
    "",
    ".jpg",
    "1234567890123456.jpg",  # a 16-digit id holds no date
    "received_10157123456789012.jpeg",  # Messenger object id
    "2019091905385712.jpg",  # 16 digits
    "120190919053857.jpg",  # 15 digits
    "x20190919053857.jpg",  # glued to a letter
    "abc20190919def.jpg",
    "1568871537.jpg",  # a bare 10-digit number is not trusted as epoch seconds
    "DSC01999.JPG",
    "DSC_20191.JPG",
    "IMG_1999_2000.jpg",
    "+491701234567.jpg",
    "v1.02.03 10 11 12.jpg",  # a version number is not a dd.mm.yy
    "IMG_20191319_053857.jpg",  # month 13
    "IMG_20190900_053857.jpg",  # day 0
    "IMG_20190932_053857.jpg",  # day 32
    "IMG_20190230_053857.jpg",  # Feb 30
    "IMG_20190919_253857.jpg",  # hour 25
    "IMG_20190919_056057.jpg",  # minute 60
    "IMG_20190919_053860.jpg",  # second 60
    "1020-09-19.jpg",  # year 1020
    "1825-09-19.jpg",  # before photography
    "2999-09-19.jpg",  # far future
    "IMG_29990919_053857.jpg",
    "PXL_20991231_101532123.jpg",
    "2019-13-19.jpg",
    "2019-02-29.jpg",  # not a leap year
    "WhatsApp Image 2021-03-04 at 13.15.32 PM.jpeg",  # 13 PM
    "WhatsApp Image 2021-03-04 at 0.15.32 AM.jpeg",  # 0 AM
    "Screen Shot 2019-09-19 at 25.38.57.png",
    "IMG-20191319-WA0001.jpg",
    "0999999999999.jpg",  # epoch ms with a leading 0 (1970s)
    "1999999999999.jpg",  # epoch ms in 2033
    "FB_IMG_999999999.jpg",
]


@pytest.mark.parametrize("row", NEVER, ids=[u.example for u in NEVER])
def test_never_table_stays_undated(row: Undated) -> None:
    """Every negative example of the table gives no date, and says why."""
    assert row.why
    assert parse_filename(row.example, now=NOW) is None
    assert first_row(row.example) is None


@pytest.mark.parametrize("name", UNDATED)
def test_undated_names(name: str) -> None:
    assert parse_filename(name, now=NOW) is None
    assert first_row(name) is None


def test_future_is_bounded_by_now_plus_one_day() -> None:
    now = datetime(2024, 5, 10, 12, 0, 0)
    assert parse_filename("IMG_20240511_100000.jpg", now=now) is not None
    assert parse_filename("IMG_20240511_115959.jpg", now=now) is not None
    assert parse_filename("IMG_20240511_120001.jpg", now=now) is None
    assert parse_filename("IMG_20240512_000000.jpg", now=now) is None
    assert parse_filename("2024-05-11.jpg", now=now) is not None
    assert parse_filename("2024-05-12.jpg", now=now) is None
    epoch_tomorrow = int((now + timedelta(days=2) - datetime(1970, 1, 1)).total_seconds() * 1000)
    assert parse_filename(f"{epoch_tomorrow}.jpg", now=now) is None
    assert parse_filename(f"{epoch_tomorrow - 2 * 86_400_000}.jpg", now=now) is not None


def test_default_now_is_the_clock() -> None:
    assert parse_filename("IMG_20190919_053857.jpg") is not None
    next_year = datetime.now().year + 1
    assert parse_filename(f"IMG_{next_year}0601_120000.jpg") is None


def test_year_bounds() -> None:
    assert parse_filename("1826-01-01.jpg", now=NOW) is not None
    assert parse_filename("1825-12-31.jpg", now=NOW) is None


def test_two_digit_year_takes_the_latest_past_century() -> None:
    found = parse_filename("Foto 04.03.99, 10 15 32.jpg", now=NOW)
    assert found is not None and found.value == datetime(1999, 3, 4, 10, 15, 32)


@pytest.mark.parametrize(
    ("clock", "hour"),
    [
        ("12.00.00 AM", 0),
        ("12.59.59 AM", 0),
        ("1.00.00 AM", 1),
        ("11.00.00 AM", 11),
        ("12.00.00 PM", 12),
        ("1.00.00 PM", 13),
        ("11.30.00 PM", 23),
        ("9.00.00 am", 9),
        ("9.00.00 pm", 21),
        ("9.00.00 a.m.", 9),
        ("9.00.00 p.m.", 21),
        ("09.00.00", 9),
    ],
)
def test_twelve_hour_clock(clock: str, hour: int) -> None:
    found = parse_filename(f"WhatsApp Image 2021-03-04 at {clock}.jpeg", now=NOW)
    assert found is not None and found.value.hour == hour


def test_am_inside_a_word_is_not_a_clock_marker() -> None:
    found = parse_filename("Screenshot 2021-03-04 at 10.15.32 PMS meeting.png", now=NOW)
    assert found is not None and found.value.hour == 10


def test_non_utf8_names_do_not_crash() -> None:
    name = os.fsdecode(b"IMG_20190919_053857_\xff\xfe.jpg")
    found = parse_filename(name, now=NOW)
    assert found is not None and found.value == datetime(2019, 9, 19, 5, 38, 57)
    assert parse_filename(os.fsdecode(b"\xff\xfe\xfd.jpg"), now=NOW) is None
    assert parse_folder([os.fsdecode(b"2019 \xff"), os.fsdecode(b"\xfe")], now=NOW) is not None
    assert strip_copy_suffix(os.fsdecode(b"\xff (1)")) == os.fsdecode(b"\xff")


def test_combined_matcher_equals_row_by_row() -> None:
    """The fast path (prefilter + one alternation) answers exactly as the table read in order."""
    rng = random.Random(20190919)
    names = [v[0] for v in VALID] + UNDATED + [p.example for p in PATTERNS]
    mutated = []
    for name in names:
        for _ in range(20):
            chars = list(name)
            if chars:
                i = rng.randrange(len(chars))
                chars[i] = rng.choice("0123456789_-. ()~aZT:")
            mutated.append("".join(chars))
    alphabet = "0123456789_-. IMGPXLWA"
    noise = [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(4, 30))) for _ in range(3000)
    ]
    for name in names + mutated + noise:
        assert parse_filename(name, now=NOW) == first_row(name), name


# --- folders --------------------------------------------------------------------------------

FOLDERS: list[tuple[list[str], str | None, Precision | None]] = [
    (["2019", "2019-05-21 Trip"], "2019-05-21", Precision.DAY),
    (["2022", "11", "09"], "2022-11-09", Precision.DAY),
    (["Photos", "2022", "11", "09 Zoo"], "2022-11-09", Precision.DAY),
    (["2019", "05"], "2019-05-01", Precision.MONTH),
    (["2019", "2019-05", "21"], "2019-05-21", Precision.DAY),
    (["2019", "11 - November", "3 Zoo"], "2019-11-03", Precision.DAY),
    (["Holidays 2004"], "2004-01-01", Precision.YEAR),
    (["2019"], "2019-01-01", Precision.YEAR),
    (["2019", "Trip to Rome"], "2019-01-01", Precision.YEAR),
    (["Photos", "2019_05"], "2019-05-01", Precision.MONTH),
    (["DCIM", "202105__"], "2021-05-01", Precision.MONTH),
    (["Mai 2019"], "2019-05-01", Precision.MONTH),
    (["2019", "May"], "2019-05-01", Precision.MONTH),
    (["21.05.2019 Geburtstag"], "2019-05-21", Precision.DAY),
    (["20190521"], "2019-05-21", Precision.DAY),
    (["2019", "2018-12-24 Christmas"], "2018-12-24", Precision.DAY),  # the deeper folder wins
    (["2019-05-21", "Day 2"], "2019-05-21", Precision.DAY),
    (["Trip", "05", "2019"], "2019-01-01", Precision.YEAR),
    ([], None, None),
    (["DCIM", "100APPLE"], None, None),
    (["Camera"], None, None),
    (["2004-2005"], None, None),
    (["2030"], None, None),
    (["1700"], None, None),
    (["2019-13-45"], None, None),
]


@pytest.mark.parametrize(("parts", "expected", "precision"), FOLDERS)
def test_folders(parts: list[str], expected: str | None, precision: Precision | None) -> None:
    found = parse_folder(parts, now=NOW)
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert (found.value.date().isoformat(), found.precision) == (expected, precision)
    assert found.value.time() == datetime.min.time()
    assert found.meaning is TimeMeaning.LOCAL
    assert found.confidence <= 0.35


# Whole paths from the peers' tests (immich-go TakeTimeFromPath, PhotoPrism DateFromFilePath):
# the folders, and a bare day number as the name, as the date engine reads them.
PATHS: list[tuple[str, str | None, Precision | None]] = [
    ("A/B/2022/2022.11/2022.11.09/IMG_1234.HEIC", "2022-11-09", Precision.DAY),
    ("A/B/2022.11.09/2022.11/2022/IMG_1234.HEIC", "2022-11-09", Precision.DAY),
    ("A/B/2022/2022.11/IMG_1234.HEIC", "2022-11", Precision.MONTH),  # immich-go: none
    ("20221109/IMG_1234.HEIC", "2022-11-09", Precision.DAY),
    ("20221109T2030/IMG_1234.HEIC", "2022-11-09T20:30", Precision.MINUTE),
    ("2022.11.09T20.30/IMG_1234.HEIC", "2022-11-09T20:30", Precision.MINUTE),
    ("2022-11-09T20-30-15 Party/IMG_1234.HEIC", "2022-11-09T20:30:15", Precision.SECOND),
    ("2022/11/09/IMG_1234.HEIC", "2022-11-09", Precision.DAY),
    ("something_2011-05-11 something/IMG_1234.JPG", "2011-05-11", Precision.DAY),
    ("2016/08/18 iPhone/WRNI2074.jpg", "2016-08-18", Precision.DAY),
    ("2016/08/18 iPhone/OZBJ8443.jpg", "2016-08-18", Precision.DAY),
    ("2019-05-21/file2314.JPG", "2019-05-21", Precision.DAY),
    ("Photos/2015-01-14/x.jpg", "2015-01-14", Precision.DAY),
    ("2019/05/21.jpeg", "2019-05-21", Precision.DAY),
    ("2019/05/21/foo.jpg", "2019-05-21", Precision.DAY),
    ("2019/5/foo.jpg", "2019-05", Precision.MONTH),
    ("2019/1/3/foo.jpg", "2019-01-03", Precision.DAY),
    ("1989/1/3/foo.jpg", "1989-01-03", Precision.DAY),
    ("1969/1/3/foo.jpg", "1969-01-03", Precision.DAY),  # PhotoPrism: none before 1970; scans are
    ("2019/21/05/foo.jpg", "2019", Precision.YEAR),  # 21 is no month: the year folder stands
    ("2019/05/2145.jpg", "2019-05", Precision.MONTH),  # 2145 is a counter, not a day
    ("2019/05/3.jpg", "2019-05", Precision.MONTH),  # one digit: a counter as likely as a day
    ("Trip 2019-05/03.jpg", "2019-05", Precision.MONTH),  # a titled folder's third photo
    ("2018-04-12 19/24/49.gif", "2018-04-12", Precision.DAY),  # no time across folders
    ("nextcloud/2022/04/x.jpg", "2022-04", Precision.MONTH),
    ("Photos from 2005/test_image.jpg", "2005", Precision.YEAR),  # GPTH folder year
    ("2020 Photos/test_image.jpg", "2020", Precision.YEAR),
    ("2018-03/test_image.jpg", "2018-03", Precision.MONTH),
    ("05/21/2019/foo.jpg", "2019", Precision.YEAR),  # US order: only the year is sure
    ("21/05/2019/foo.jpg", "2019", Precision.YEAR),
    ("/2002/London 81/x.jpg", "2002", Precision.YEAR),
    ("Random Folder/test_image.jpg", None, None),
]


@pytest.mark.parametrize(("path", "expected", "precision"), PATHS, ids=[p[0] for p in PATHS])
def test_peer_paths(path: str, expected: str | None, precision: Precision | None) -> None:
    *parts, name = [p for p in path.split("/") if p]
    found = parse_folder(parts, name=os.path.splitext(name)[0], now=NOW)
    if expected is None:
        assert found is None
        return
    assert found is not None and found.precision is precision
    fmt = {
        Precision.YEAR: "%Y",
        Precision.MONTH: "%Y-%m",
        Precision.DAY: "%Y-%m-%d",
        Precision.MINUTE: "%Y-%m-%dT%H:%M",
        Precision.SECOND: "%Y-%m-%dT%H:%M:%S",
    }
    assert found.value.strftime(fmt[precision]) == expected


def test_folder_year_is_never_more_precise_than_a_year() -> None:
    found = parse_folder(["Holidays 2004"], now=NOW)
    assert found is not None and found.precision is Precision.YEAR


# --- copy suffixes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("IMG_20190919_053857-edited", "IMG_20190919_053857"),
        ("IMG_20190919_053857(1)", "IMG_20190919_053857"),
        ("IMG_20190919_053857 (1)", "IMG_20190919_053857"),
        ("IMG_20190919_053857 (12)", "IMG_20190919_053857"),
        ("IMG_20190919_053857-2", "IMG_20190919_053857"),
        ("IMG_20190919_053857~2", "IMG_20190919_053857"),
        ("IMG_20190919_053857_1", "IMG_20190919_053857"),
        ("IMG_20190919_053857_12", "IMG_20190919_053857"),
        ("20190919_053857 - Copy", "20190919_053857"),
        ("20190919_053857 - Copy (2)", "20190919_053857"),
        ("IMG_1234 copy 2", "IMG_1234"),
        ("IMG_1234-edited (1)", "IMG_1234"),
        ("IMG_1234-bearbeitet", "IMG_1234"),
        ("2019-09-19 05.38.57-1", "2019-09-19 05.38.57"),
        ("WhatsApp Image 2021-03-04 at 10.15.32 (1)", "WhatsApp Image 2021-03-04 at 10.15.32"),
        # digits that belong to a time, a date, a counter or milliseconds stay
        ("2019-09-19-05-38-57", "2019-09-19-05-38-57"),
        ("2019_09_19_05_38_57", "2019_09_19_05_38_57"),
        ("Trip 2019-09", "Trip 2019-09"),
        ("IMG_20190919_053857", "IMG_20190919_053857"),
        ("IMG_20190919_053857_123", "IMG_20190919_053857_123"),
        ("20190919_053857_001", "20190919_053857_001"),
        ("signal-2021-03-04-10-15-32-123", "signal-2021-03-04-10-15-32-123"),
        ("IMG_1234", "IMG_1234"),
        ("(1)", "(1)"),
        ("", ""),
    ],
)
def test_strip_copy_suffix(stem: str, expected: str) -> None:
    assert strip_copy_suffix(stem) == expected


def test_stripped_stem_keeps_its_date() -> None:
    for stem in ("IMG_20190919_053857-edited (1)", "IMG_20190919_053857~2", "20190919_053857(0)"):
        assert parse_filename(strip_copy_suffix(stem), now=NOW) == parse_filename(stem, now=NOW)


# --- the real corpus, when present ----------------------------------------------------------


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not here")
def test_corpus_names() -> None:
    dated = {}
    for path in CORPUS.rglob("*"):
        if path.is_file():
            found = parse_filename(path.name)
            if found is not None:
                dated[path.name] = iso(found)
    assert dated == {
        "IMG_20180725_163423-tiny.jpg": "2018-07-25T16:34:23",
        "IMG_20180725_163423-micro.avif": "2018-07-25T16:34:23",
        "IMG_20180725_163423-1.png": "2018-07-25T16:34:23",
        "IMG_20180725_163423-2.png": "2018-07-25T16:34:23",
        "date_20170101_010101.jpg": "2017-01-01T01:01:01",
        "date_20180101_010101.jpg": "2018-01-01T01:01:01",
    }


def test_long_adversarial_names_stay_fast() -> None:
    """No row may backtrack badly: 255-character soups of digits and separators stay cheap."""
    rng = random.Random(7)
    names = [
        "".join(rng.choice("2019-_. :0123456789ampAMPTZ+") for _ in range(255)) for _ in range(300)
    ]
    names += ["1" * 255, "2019-" * 51, "2019-09-19 " * 23, "WhatsApp " + "2019-09-19 at " * 17]
    start = time.perf_counter()
    for name in names:
        parse_filename(name, now=NOW)
        parse_folder([name, name], now=NOW)
        strip_copy_suffix(name)
    assert time.perf_counter() - start < 5
