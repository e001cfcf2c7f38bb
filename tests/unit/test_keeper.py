"""keeper: the suggested copy to keep, its reasons in words, bursts vs copies."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest

from mediafix.media.keeper import (
    COPY_MARKS,
    DEFAULT_ORDER,
    CopyMark,
    Criterion,
    KeeperInput,
    choose_keeper,
    classify_group,
    classify_pair,
    is_copy_folder,
    is_copy_path,
    keeper_ranks,
    keeper_score,
)
from mediafix.media.similarity import group_near

SHOT = datetime(2023, 7, 14, 18, 30, 5, 250_000)


def member(index: int, path: str, **changes: object) -> KeeperInput:
    base = KeeperInput(
        index=index,
        path=path,
        format="jpeg",
        width=4032,
        height=3024,
        size=3_000_000,
        has_camera_metadata=True,
        taken_at=SHOT,
        metadata_count=20,
        camera="Apple iPhone 12",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_original_heic_beats_whatsapp_copy() -> None:
    original = member(0, "/photos/IMG_1.HEIC", format="heic", size=2_400_000)
    whatsapp = member(
        1,
        "/chat/IMG-20230714-WA0003.jpg",
        width=1600,
        height=1200,
        size=210_000,
        has_camera_metadata=False,
        taken_at=None,
        metadata_count=2,
        camera=None,
    )
    index, reasons = choose_keeper([whatsapp, original])
    assert index == 0
    assert reasons[0] == "keeps IMG_1.HEIC"
    assert "original camera metadata, which IMG-20230714-WA0003.jpg lacks" in reasons
    assert "4032x3024 over 1600x1200" in reasons
    assert "original format HEIC over JPEG" in reasons


def test_format_decides_between_full_size_copies() -> None:
    heic = member(0, "b/IMG_2.HEIC", format="heic", size=2_000_000)
    jpeg = member(1, "a/IMG_2.jpg", size=4_000_000)
    index, reasons = choose_keeper([jpeg, heic])
    assert index == 0
    assert reasons == ["keeps IMG_2.HEIC", "original format HEIC over JPEG"]


def test_quality_decides_within_one_format() -> None:
    better = member(0, "x/1.jpg", size=5_000_000)
    worse = member(1, "x/2.jpg", size=1_000_000)
    index, reasons = choose_keeper([worse, better])
    assert index == 0
    assert any(reason.startswith("more bytes per pixel") for reason in reasons)


def test_complete_tie_is_broken_by_path() -> None:
    first, second = member(7, "/b/same.jpg"), member(3, "/a/same.jpg")
    assert choose_keeper([first, second])[0] == 3
    assert choose_keeper([second, first])[0] == 3
    assert "equal on every criterion" in choose_keeper([first, second])[1][-1]


def test_order_can_be_changed() -> None:
    small_original = member(0, "o.jpg", width=1600, height=1200)
    big_copy = member(1, "c.jpg", has_camera_metadata=False, metadata_count=1)
    assert choose_keeper([small_original, big_copy])[0] == 0
    order = (Criterion.RESOLUTION, Criterion.ORIGINAL)
    assert choose_keeper([small_original, big_copy], order)[0] == 1


def test_criteria_carry_display_text() -> None:
    assert Criterion.ORIGINAL.text == "original with camera metadata over a copy without"
    assert Criterion("format") is Criterion.FORMAT
    assert {c.value for c in DEFAULT_ORDER} == {c.value for c in Criterion}


def test_earlier_and_richer_metadata_reasons() -> None:
    early = member(0, "a.jpg", taken_at=SHOT, metadata_count=30)
    late = member(1, "b.jpg", taken_at=SHOT + timedelta(hours=1), metadata_count=30)
    assert choose_keeper([late, early])[0] == 0
    rich = member(2, "c.jpg", metadata_count=40)
    index, reasons = choose_keeper([early, rich])
    assert index == 2
    assert "richer metadata (40 tags over 30)" in reasons


def test_ranks_feed_group_near() -> None:
    members = [
        member(0, "copy.jpg", width=1600, height=1200, has_camera_metadata=False),
        member(1, "IMG_9.HEIC", format="heic"),
        member(2, "other.jpg", width=800, height=600),
    ]
    ranks = keeper_ranks(members)
    assert ranks.index(max(ranks)) == 1
    assert len(set(ranks)) == 3
    hashes = np.array([0b111, 0b011, 0b001], dtype=np.uint64)
    groups = group_near(hashes, 8, rank=ranks)
    assert [g.keeper for g in groups] == [choose_keeper(members)[0]]
    assert keeper_score(members[1]) > keeper_score(members[0])


def test_burst_vs_copy() -> None:
    frame1 = member(0, "IMG_1.jpg", taken_at=SHOT)
    frame2 = member(1, "IMG_2.jpg", taken_at=SHOT + timedelta(milliseconds=300))
    assert classify_pair(frame1, frame2) == "burst"  # sub-seconds tell the shots apart
    same_instant = member(2, "IMG_1 copy.jpg", taken_at=SHOT)
    assert classify_pair(frame1, same_instant) == "near"
    stripped = member(3, "IMG_1-WA.jpg", has_camera_metadata=False, camera=None)
    assert classify_pair(frame1, stripped) == "near"
    other_camera = member(4, "DSC_1.jpg", camera="NIKON D750", taken_at=SHOT + timedelta(seconds=1))
    assert classify_pair(frame1, other_camera) == "near"
    much_later = member(5, "IMG_3.jpg", taken_at=SHOT + timedelta(minutes=2))
    assert classify_pair(frame1, much_later) == "near"
    assert classify_group([frame1, same_instant, frame2]) == "burst"
    assert classify_group([frame1, same_instant, stripped]) == "near"


def test_camera_name_comparison_ignores_case_and_spaces() -> None:
    a = member(0, "a.jpg", camera="Apple  iPhone 12")
    b = member(1, "b.jpg", camera="apple iphone 12", taken_at=SHOT + timedelta(seconds=2))
    assert classify_pair(a, b) == "burst"


def test_empty_group_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        choose_keeper([])


@pytest.mark.parametrize("mark", COPY_MARKS, ids=lambda m: m.name)
def test_every_copy_mark_matches_its_example(mark: CopyMark) -> None:
    if mark.where != "name":
        assert is_copy_folder(mark.example)
    if mark.where != "folder":
        assert is_copy_path(f"/photos/{mark.example}.jpg")


@pytest.mark.parametrize(
    "path",
    [
        "/p/Backup 2019/IMG_1.jpg",
        "/p/iPhone_Backup/IMG_1.jpg",
        "/p/old backups/x/IMG_1.jpg",
        "/p/Copy of Italy/IMG_1.jpg",
        "/p/Italy/Copy of IMG_1.jpg",
        "/p/Italy/IMG_1 (1).jpg",
        "/p/Italy/IMG_1 - Copy.jpg",
        "/p/Italy/IMG_1 copy 2.jpg",
        "/p/Italy - Kopie/IMG_1.jpg",
    ],
)
def test_copy_paths(path: str) -> None:
    assert is_copy_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "/p/Italy 2019/IMG_1.jpg",
        "/p/Backupinator/IMG_1.jpg",
        "/p/Copying/IMG_1.jpg",
        "/p/Italy/IMG_1.jpg",
        "/p/Italy/(1).jpg",
    ],
)
def test_paths_that_are_not_copies(path: str) -> None:
    assert not is_copy_path(path)


def test_byte_identical_copies_keep_the_one_beside_its_partner_then_not_the_backup() -> None:
    """Identical bytes tie on every content criterion: where a copy lies decides."""
    in_bundle = member(0, "/p/phone/IMG_1.JPG", partners=1)
    backup = member(1, "/p/A Backup/IMG_1.JPG")  # first by name
    numbered = member(2, "/p/phone/IMG_1 (1).JPG")
    index, reasons = choose_keeper([backup, numbered, in_bundle])
    assert index == 0
    assert reasons[1] == (
        "beside its Live Photo or RAW+JPEG partner, where "
        "A Backup/IMG_1.JPG, phone/IMG_1 (1).JPG are not"
    )
    index, reasons = choose_keeper([backup, numbered, member(3, "/p/phone/IMG_1.JPG")])
    assert index == 3
    assert reasons[1] == (
        "not in a backup or copy, which A Backup/IMG_1.JPG, phone/IMG_1 (1).JPG are"
    )
    # Content comes first: a bigger copy in a backup folder is still the better one.
    bigger = member(4, "/p/Backup/IMG_1.JPG", width=8000, height=6000)
    assert choose_keeper([in_bundle, bigger])[0] == 4


def test_reasons_read_like_a_person_wrote_them() -> None:
    """Issue 21: "more bytes per pixel (0.06 over 0.06)" and raw microseconds."""
    pixels = 4032 * 3024
    better = member(0, "x/1.jpg", size=int(pixels * 0.0634))
    worse = member(1, "x/2.jpg", size=int(pixels * 0.0581))
    _, reasons = choose_keeper([worse, better])
    quality = next(r for r in reasons if "bytes per pixel" in r)
    assert "(0.063 over 0.058, 9 % more)" in quality
    early = member(0, "a/1.jpg", taken_at=SHOT, camera="x")
    late = member(1, "b/1.jpg", taken_at=SHOT + timedelta(seconds=1, microseconds=1), camera="x")
    _, reasons = choose_keeper([late, early], order=[Criterion.EARLIER])
    assert reasons[1:] == ["taken earlier (2023-07-14 18:30:05, before 2023-07-14 18:30:06)"]
    burst = member(1, "b/1.jpg", taken_at=SHOT + timedelta(milliseconds=300), camera="x")
    _, reasons = choose_keeper([burst, early], order=[Criterion.EARLIER])
    assert reasons[1:] == ["taken earlier (2023-07-14 18:30:05.2, before 2023-07-14 18:30:05.5)"]


def test_a_far_harder_compressed_conversion_does_not_beat_the_camera_jpeg() -> None:
    camera = member(0, "/photos/IMG_1.JPG", size=2_100_000)
    heic = member(1, "/converted/IMG_1.HEIC", format="heic", size=100_000)
    keeper, reasons = choose_keeper([heic, camera])
    assert keeper == 0
    assert any("far less compressed" in reason for reason in reasons)
    # a HEIC of ordinary size still wins on format: "far" is relative to the group
    fair = replace(heic, size=1_400_000)
    assert choose_keeper([fair, camera])[0] == 1


def test_the_picture_beats_its_edited_copy() -> None:
    photo = member(0, "/photos/IMG_1.JPG", has_camera_metadata=False, width=2000, height=1500)
    framed = member(1, "/shots/screen.png", format="png", edited="screenshot: bars removed")
    keeper, reasons = choose_keeper([framed, photo])
    assert keeper == 0
    assert any("screen.png is screenshot: bars removed" in reason for reason in reasons)


def test_a_name_with_an_extension_beats_one_without() -> None:
    bare = member(0, "/photos/a/IMG_1")
    named = member(1, "/photos/b/IMG_1.jpeg")
    keeper, reasons = choose_keeper([bare, named])
    assert keeper == 1
    assert any("extension" in reason for reason in reasons)


def test_ranks_are_those_of_sorting_every_member_by_its_scores() -> None:
    rng = random.Random(7)
    formats = ["jpeg", "heic", "png", "webp"]
    members = [
        member(
            n,
            rng.choice(["a.jpg", "b.jpg", f"IMG_{n % 40}.jpg", "shared/c.jpg"]),
            format=rng.choice(formats),
            width=rng.choice([None, 800, 1600, 4032]),
            height=rng.choice([None, 600, 1200, 3024]),
            size=rng.choice([0, 10_000, 2_000_000]),
            has_camera_metadata=rng.random() < 0.5,
            taken_at=rng.choice([None, SHOT, SHOT + timedelta(seconds=1)]),
            metadata_count=rng.choice([0, 12, 30]),
        )
        for n in range(600)
    ]
    expected = sorted(
        members,
        key=lambda m: (tuple(-v for v in keeper_score(m)), m.path, m.index),
    )
    ranks = keeper_ranks(iter(members))  # an iterator: read once
    assert sorted(range(len(members)), key=lambda n: -ranks[n]) == [m.index for m in expected]
    assert ranks == keeper_ranks(members)
    # paths asked for by index: the same ranks, and only the paths of tied scores asked
    asked: list[int] = []

    def path_of(index: int) -> str:
        asked.append(index)
        return members[index].path

    assert keeper_ranks(iter(members), path_of=path_of) == ranks
    scores = Counter(keeper_score(m) for m in members)
    assert set(asked) == {m.index for m in members if scores[keeper_score(m)] > 1}
