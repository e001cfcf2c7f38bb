"""Tags from folder names, from ``{a,b}`` in file names, and the user's own."""

from __future__ import annotations

import pytest

from mediafix.media.tags import (
    GENERIC_FOLDERS,
    MAX_TAG_BYTES,
    clean_tag,
    file_tag_origins,
    file_tags,
    folder_tags,
    is_generic_folder,
    merge_tags,
    name_tags,
)


@pytest.mark.parametrize("row", GENERIC_FOLDERS, ids=lambda r: r.name)
def test_every_generic_row_matches_its_example(row) -> None:  # type: ignore[no-untyped-def]
    assert is_generic_folder(row.example)


@pytest.mark.parametrize(
    "name",
    [
        "DCIM",
        "dcim",
        "Camera",
        "100APPLE",
        "101MSDCF",
        "100CANON",
        "100_FUJI",
        "WhatsApp Images",
        "WhatsApp Video",
        "Sent",
        "Pictures",
        "Photos",
        "Screenshots",
        "Download",
        "Downloads",
        "Takeout",
        "Google Photos",
        "Photos from 2019",
        "2019",
        "2019-09-19",
        "2019_09",
        "20190919",
        "19.09.2019",
        "September 2019",
        "Camera Roll",
        ".thumbnails",
        "  ",
        # file types, generic words, backups and copies (issue 16: they were written as tags)
        "jpg",
        "JPEG",
        "mp4",
        "heic",
        "MOV",
        "png",
        "avif",
        "jp2",
        "3gp",
        "raw",
        "CR2",
        "xmp",
        "sidecar",
        "sub_folder",
        "subfolder",
        "Folder 2",
        "files",
        "Backup 2019",
        "iPhone Backup",
        "backups",
        "Copy of Italy",
        "Italy - Copy",
        "Italy copy",
        "Italy (1)",
        "Urlaub - Kopie",
    ],
)
def test_generic_folder_names(name: str) -> None:
    assert is_generic_folder(name)


@pytest.mark.parametrize(
    "name",
    [
        "Italy 2019",
        "Anna's Birthday",
        "Summer in Rome",
        "2019 Summer Vacation",
        "Rome, Italy",
        "Wedding",
        "Oma",
        "2019-07 Italy",
        "Rome (Italy)",
        "jpg trip",
        "Copying machines",
        "lychee-samples",
        "phockup",
    ],
)
def test_meaningful_folder_names(name: str) -> None:
    assert not is_generic_folder(name)


def test_folder_tags_skip_generic_and_take_the_nearest() -> None:
    assert folder_tags("Italy 2019/DCIM/100APPLE/IMG_1.JPG") == ("Italy 2019",)
    assert folder_tags("Family/Kids/Anna/2019/Birthday/IMG_1.JPG") == ("Anna", "Birthday")
    assert folder_tags("Family/Kids/Anna/2019/Birthday/IMG_1.JPG", depth=3) == (
        "Kids",
        "Anna",
        "Birthday",
    )
    assert folder_tags("Family/Birthday/IMG_1.JPG", depth=1) == ("Birthday",)
    assert folder_tags("Family/Birthday/IMG_1.JPG", depth=0) == ()
    assert folder_tags("Takeout/Google Photos/Photos from 2019/IMG_1.jpg") == ()
    assert folder_tags("Takeout/Google Photos/Trip to Rome/IMG_1.jpg") == ("Trip to Rome",)
    assert folder_tags("IMG_1.jpg") == ()
    assert folder_tags("Urlaub\\Strand\\IMG_1.jpg") == ("Urlaub", "Strand")


def test_name_tags_are_read_and_removed_from_the_name() -> None:
    assert name_tags("IMG_1234 {Anna,Birthday}.jpg") == (("Anna", "Birthday"), "IMG_1234.jpg")
    assert name_tags("{Oma} scan 3.JPG") == (("Oma",), "scan 3.JPG")
    assert name_tags("a {x} b {y, z }.png") == (("x", "y", "z"), "a b.png")
    assert name_tags("IMG_1234.jpg") == ((), "IMG_1234.jpg")
    assert name_tags("IMG {}.jpg") == ((), "IMG.jpg")
    assert name_tags("{a,A,a}.jpg") == (("a",), ".jpg")
    assert name_tags("noext {t}") == (("t",), "noext")


def test_clean_tag_fits_every_keyword_field() -> None:
    assert clean_tag("  Anna \t Maria ") == "Anna Maria"
    assert clean_tag("a;b") == "a,b"  # ';' separates XPKeywords
    assert clean_tag("x\ny") == "x y"
    long = clean_tag("ü" * 100)
    assert len(long.encode()) <= MAX_TAG_BYTES and set(long) == {"ü"}
    assert clean_tag(" ; ") == ""


def test_merge_and_file_tags() -> None:
    assert merge_tags(["Anna", "rome"], ["anna", "Rome", ""], ["Ben"]) == ("Anna", "rome", "Ben")
    tags = file_tags("Italy 2019/DCIM/IMG_1 {Anna,beach}.jpg", ("Beach", "Favourite"))
    assert tags == ("Italy 2019", "Anna", "beach", "Favourite")


def test_tag_origins_say_where_each_tag_came_from() -> None:
    origins = file_tag_origins("Family/Kids/Anna/2019/jpg/IMG_1 {Oma,anna}.JPG", ["Fav", "oma"])
    assert [o.to_dict() for o in origins] == [
        {"tag": "Kids", "source": "folder", "from": "Family/Kids"},
        {"tag": "Anna", "source": "folder", "from": "Family/Kids/Anna"},
        {"tag": "Oma", "source": "name", "from": "IMG_1 {Oma,anna}.JPG"},
        {"tag": "Fav", "source": "user", "from": "the library"},
    ]
    assert tuple(o.tag for o in origins) == file_tags(
        "Family/Kids/Anna/2019/jpg/IMG_1 {Oma,anna}.JPG", ["Fav", "oma"]
    )
