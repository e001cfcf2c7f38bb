"""Hard copies through `mediafix scan` + `mediafix dupes --json`: screenshots, frames, mirrored,
cropped, captioned and tilted copies are grouped with their photo and named; look-alikes that
are not copies (another photo behind the same phone bars, two windows of one scene) are not."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw, ImageFont, ImageOps

from mediafix.cli import main
from mediafix.config import get_settings
from tests.helpers.regroup import group_values, regrouped_as_known

SIZE = (720, 540)


def photo(seed: int) -> Image.Image:
    """A photo-like picture: smooth light, many shapes of every size, a little noise."""
    rng = random.Random(seed)
    x = np.linspace(0, 1, SIZE[0])[None, :, None]
    y = np.linspace(0, 1, SIZE[1])[:, None, None]
    tint = np.array([rng.random() for _ in range(3)])[None, None, :]
    light = 60 + 120 * (0.6 * x + 0.4 * y) * (0.5 + tint)
    image = Image.fromarray(np.clip(light, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(260):
        cx, cy, r = rng.randrange(SIZE[0]), rng.randrange(SIZE[1]), rng.randrange(3, 40)
        colour = tuple(rng.randrange(256) for _ in range(3))
        box = (cx - r, cy - r * rng.random(), cx + r, cy + r)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    noise = np.random.default_rng(seed).normal(0, 6, (SIZE[1], SIZE[0], 3))
    pixels = np.asarray(image, dtype=np.float64) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def screenshot(picture: Image.Image, clock: str) -> Image.Image:
    """A phone screen: a status bar with a clock, the picture fitted, a navigation bar."""
    canvas = Image.new("RGB", (390, 844), (0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, 390, 47), fill=(28, 28, 30))
    font = ImageFont.load_default(size=16)
    draw.text((28, 16), clock, font=font, fill="white")
    draw.rectangle((300, 18, 360, 30), fill="white")
    draw.rectangle((0, 760, 390, 844), fill=(28, 28, 30))
    draw.text((28, 780), "Share   Edit   Delete", font=font, fill="white")
    fitted = picture.resize((390, round(390 * picture.height / picture.width)))
    canvas.paste(fitted, (0, (844 - fitted.height) // 2))
    return canvas


def letterbox(picture: Image.Image) -> Image.Image:
    canvas = Image.new("RGB", (SIZE[0], SIZE[1] + 300), (0, 0, 0))
    canvas.paste(picture, (0, 150))
    return canvas


def captioned(picture: Image.Image) -> Image.Image:
    band = SIZE[1] // 8
    canvas = Image.new("RGB", (SIZE[0], SIZE[1] + band), "white")
    canvas.paste(picture, (0, 0))
    font = ImageFont.load_default(size=band // 3)
    ImageDraw.Draw(canvas).text((30, SIZE[1] + band // 3), "Summer at the lake", font=font, fill=0)
    return canvas


def tilted(picture: Image.Image, degrees: float) -> Image.Image:
    turned = picture.rotate(degrees, resample=Image.Resampling.BICUBIC)
    w, h = picture.size
    angle = np.radians(abs(degrees))
    k = 1 / (np.cos(angle) + np.sin(angle) * w / h)
    box = ((w - w * k) / 2, (h - h * k) / 2, (w + w * k) / 2, (h + h * k) / 2)
    return turned.crop(tuple(round(v) for v in box))


def padded(picture: Image.Image) -> Image.Image:
    """Upscaled 1.5x and padded with a black bar as wide as itself on the right (as
    ``ImageOps.pad`` makes them): wider than the bars trimming takes off, and larger than
    the photo, so only knowing the bar for a frame keeps the photo the keeper."""
    w, h = picture.size
    canvas = Image.new("RGB", (3 * w, round(1.5 * h)), (0, 0, 0))
    canvas.paste(picture.resize((round(1.5 * w), round(1.5 * h))), (0, 0))
    return canvas


def in_tall_frame(picture: Image.Image) -> Image.Image:
    """The photo small in a frame four times its height: the black above and below it fills
    three quarters of every column, which must not make the columns beside it bars."""
    canvas = Image.new("RGB", (SIZE[0], SIZE[1] * 4), (0, 0, 0))
    canvas.paste(picture, (0, SIZE[1] * 3 // 2))
    return canvas


# kind -> (seed of its photo, the copy made of it, a word its group's reasons must name)
KINDS = {
    "screenshot": (1, lambda p: screenshot(p, "9:41"), "screenshot"),
    "letterbox": (2, letterbox, "letterbox"),
    "mirrored": (3, ImageOps.mirror, "mirrored"),
    "cropped": (4, lambda p: p.crop((round(SIZE[0] * 0.06), 0, *SIZE)), "cropped 6 % left"),
    "captioned": (5, captioned, "caption"),
    "tilted": (6, lambda p: tilted(p, 5), "tilted 5°"),
    "padded": (7, padded, "border added"),
    # seed 10: its 8° copy is 12 bits from every key of the photo but the turned ones
    "tilted8": (10, lambda p: tilted(p, 8), "tilted 8°"),
    "small-in-tall-frame": (8, in_tall_frame, "bars removed"),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    """One library with every kind of copy and the hard negatives, scanned once."""
    tmp = tmp_path_factory.mktemp("hard")
    root = tmp / "photos"
    (root / "camera").mkdir(parents=True)
    (root / "copies").mkdir()
    for kind, (seed, make, _word) in KINDS.items():
        picture = photo(seed)
        picture.save(root / "camera" / f"{kind}.jpg", "JPEG", quality=92)
        make(picture).save(root / "copies" / f"{kind}-copy.png")
    # Hard negatives: another photo behind the same phone bars as the screenshot, and two
    # windows 30 % apart of one scene (different shots, not an edit of one another).
    screenshot(photo(20), "9:41").save(root / "copies" / "other-screen.png")
    wide = photo(30).resize((1000, 540))
    wide.crop((0, 0, 700, 540)).save(root / "camera" / "shot-left.jpg", quality=92)
    wide.crop((300, 0, 1000, 540)).save(root / "camera" / "shot-right.jpg", quality=92)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MEDIAFIX_DATA_DIR", str(tmp / "data"))
        env.setenv("MEDIAFIX_OUTPUT_DIR", str(tmp / "output"))
        env.setenv("MEDIAFIX_TIMEZONE", "Europe/Berlin")
        for var in ("MEDIAFIX_DATABASE_URL", "MEDIAFIX_QUEUE_URL", "MEDIAFIX_PASSWORD"):
            env.delenv(var, raising=False)
        get_settings.cache_clear()
        try:
            scanned = CliRunner().invoke(main, ["scan", "-w", "1", str(root)])
            assert scanned.exit_code == 0, scanned.output
            shown = CliRunner().invoke(main, ["dupes", "--json"])
            assert shown.exit_code == 0, shown.output
            yield root, json.loads(shown.stdout)
        finally:
            from mediafix.store.db import dispose_engines

            dispose_engines()
            get_settings.cache_clear()


def _group_of(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    for group in data["groups"]:
        if any(Path(m["path"]).name == name for m in group["members"]):
            return group
    return None


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_hard_copy_is_grouped_with_its_photo_and_named(
    library: tuple[Path, dict[str, Any]], kind: str
) -> None:
    _root, data = library
    group = _group_of(data, f"{kind}.jpg")
    assert group is not None, f"{kind}: the photo is in no group"
    names = sorted(Path(m["path"]).name for m in group["members"])
    assert names == sorted([f"{kind}.jpg", f"{kind}-copy.png"])
    assert group["type"] == "near"
    word = KINDS[kind][2]
    assert any(word in reason for reason in group["reasons"]), group["reasons"]
    if kind != "mirrored":  # a mirror image is no lesser copy: the other rules decide
        assert Path(group["keeper"]).name == f"{kind}.jpg", group["reasons"]
        assert any("not an edited copy" in reason for reason in group["reasons"])


def test_another_photo_behind_the_same_phone_bars_is_not_a_copy(
    library: tuple[Path, dict[str, Any]],
) -> None:
    _root, data = library
    group = _group_of(data, "other-screen.png")
    assert group is None, group


def test_two_windows_of_one_scene_are_not_copies(library: tuple[Path, dict[str, Any]]) -> None:
    _root, data = library
    assert _group_of(data, "shot-left.jpg") is None
    assert _group_of(data, "shot-right.jpg") is None


def test_a_copy_swapped_for_a_link_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pixel check opens files as thumbnails do (issue 15): a library file replaced by a
    symbolic link after the scan is not followed, and the regroup goes on without that pair."""
    from sqlalchemy import delete

    from mediafix.services.duplicates import regroup
    from mediafix.store.db import dispose_engines, get_engine, session_scope
    from mediafix.store.models import CopyCheck

    root = tmp_path / "photos"
    root.mkdir()
    picture = photo(3)
    picture.save(root / "a.jpg", "JPEG", quality=92)
    ImageOps.mirror(picture).save(root / "a-mirrored.png")
    monkeypatch.setenv("MEDIAFIX_DATA_DIR", str(tmp_path / "data"))
    for var in ("MEDIAFIX_DATABASE_URL", "MEDIAFIX_QUEUE_URL", "MEDIAFIX_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    try:
        scanned = CliRunner().invoke(main, ["scan", "-w", "1", str(root)])
        assert scanned.exit_code == 0, scanned.output
        settings = get_settings()
        engine = get_engine(settings.database_url)
        assert regroup(engine, settings).hard_copies == 1  # found while the file is real
        with session_scope(engine) as s:
            s.execute(delete(CopyCheck))  # forget the verdict: the pixels are read again
        outside = tmp_path / "private.png"
        (root / "a-mirrored.png").rename(outside)
        (root / "a-mirrored.png").symlink_to(outside)
        assert regroup(engine, settings).hard_copies == 0
    finally:
        dispose_engines()
        get_settings.cache_clear()


def test_pixel_checks_beyond_the_budget_wait_for_the_next_regroup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One regroup checks at most ``check_budget`` new candidates (a library of many alike
    pictures would otherwise cost hours); the rest are checked by the next regroups, as the
    verdicts found are remembered."""
    from mediafix.services import copies
    from mediafix.services.duplicates import regroup
    from mediafix.store.db import dispose_engines, get_engine

    root = tmp_path / "photos"
    root.mkdir()
    for seed in (3, 5, 7):
        picture = photo(seed)
        picture.save(root / f"p{seed}.jpg", "JPEG", quality=92)
        ImageOps.mirror(picture).save(root / f"p{seed}-mirrored.png")
    monkeypatch.setenv("MEDIAFIX_DATA_DIR", str(tmp_path / "data"))
    for var in ("MEDIAFIX_DATABASE_URL", "MEDIAFIX_QUEUE_URL", "MEDIAFIX_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    try:
        monkeypatch.setattr(copies, "CHECK_BUDGET_BASE", 1)
        monkeypatch.setattr(copies, "CHECK_BUDGET_PER_FILE", 0)
        scanned = CliRunner().invoke(main, ["scan", "-w", "1", str(root)])
        assert scanned.exit_code == 0, scanned.output
        settings = get_settings()
        engine = get_engine(settings.database_url)
        found = [regroup(engine, settings).hard_copies for _ in range(3)]
        assert found == [2, 3, 3]  # the scan's regroup found the first
    finally:
        dispose_engines()
        get_settings.cache_clear()


def test_pixel_checks_left_waiting_go_on_in_the_rescans_regrouped_by_parts(
    settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A regroup over its pixel-check budget hands the candidates it left to the rescans
    that follow: each still regroups by parts (it costs what its changes cost) and checks a
    share of them, a copy found joining its groups; when the list runs out a full regroup
    finds the rest. After every rescan the groups are exactly those a full regroup makes of
    the verdicts known then."""

    from mediafix.config import Settings
    from mediafix.services import copies
    from mediafix.store.db import dispose_engines
    from mediafix.store.models import File

    root = tmp_path / "photos"
    (root / "new").mkdir(parents=True)
    pairs = 7  # the budget checks 1; the snapshot holds 4 (WAITING_KEPT budgets) of the 6 left
    for seed in range(40, 40 + pairs):
        picture = photo(seed)
        picture.save(root / f"p{seed}.jpg", "JPEG", quality=92)
        ImageOps.mirror(picture).save(root / f"p{seed}-mirrored.png")
    data = settings_env
    monkeypatch.setattr(copies, "CHECK_BUDGET_BASE", 1)
    monkeypatch.setattr(copies, "CHECK_BUDGET_PER_FILE", 0)
    monkeypatch.setattr(copies, "WAITING_KEPT", 4)

    def groups(settings: Settings) -> list[tuple[Any, ...]]:
        return group_values(settings, File.name)

    def scan() -> str:
        get_settings.cache_clear()
        scanned = CliRunner().invoke(main, ["scan", "-w", "1", str(root)])
        assert scanned.exit_code == 0, scanned.output
        dispose_engines()
        return scanned.output

    def mirrored_found() -> int:
        names = {n for group in groups(get_settings()) for n, _keep, _d in group[2]}
        return sum(name.endswith("-mirrored.png") for name in names)

    def dupes() -> str:
        listed = CliRunner().invoke(main, ["dupes"])
        assert listed.exit_code == 0, listed.output
        dispose_engines()
        return " ".join(listed.output.split())

    try:
        assert "(all regrouped)" in scan()
        assert mirrored_found() == 1
        assert "4 or more pairs of look-alike pictures wait for a pixel check" in dupes()
        ways, found = [], []
        for step in range(pairs - 1):
            photo(100 + step).save(root / "new" / f"new{step}.jpg", "JPEG", quality=92)
            output = scan()
            ways.append("parts" if "(regrouped by parts)" in output else "all")
            found.append(mirrored_found())
            # the same groups as a full regroup that checks nothing new, on a copy
            known = regrouped_as_known(data, tmp_path / f"copy{step}", monkeypatch)
            assert groups(known) == groups(get_settings()), step
            dispose_engines()
        # four by parts, one check each; then the list is empty with more left: a full
        # regroup checks the next and holds the last, which the next rescan checks by parts
        assert ways == ["parts", "parts", "parts", "parts", "all", "parts"]
        assert found == [2, 3, 4, 5, 6, 7]
        assert "wait for a pixel check" not in dupes()
    finally:
        dispose_engines()
        get_settings.cache_clear()


def test_a_rescan_by_parts_checks_no_more_than_its_part_budget(
    settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rescan's regroup by parts makes its share of pixel checks and ``PART_CHECKS``
    more, not a full regroup's budget: the candidates of a crowded library's new pictures
    wait (closest first) instead of making a small rescan cost as much as regrouping all."""
    from mediafix.services import copies, duplicates
    from tests.helpers.media import make_jpeg

    root = tmp_path / "photos"
    for n in range(40):
        make_jpeg(root / "old" / f"o{n}.jpg", 500 + n, (96, 72))
    monkeypatch.setattr(copies, "CHECK_BUDGET_BASE", 10)
    monkeypatch.setattr(copies, "CHECK_BUDGET_PER_FILE", 0)
    monkeypatch.setattr(duplicates, "PART_CHECKS", 0)
    get_settings.cache_clear()

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, [*args])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    try:
        run("scan", "-w", "1", str(root))
        (root / "new").mkdir()
        for seed in (60, 61, 62):
            picture = photo(seed)
            picture.save(root / "new" / f"p{seed}.jpg", "JPEG", quality=92)
            ImageOps.mirror(picture).save(root / "new" / f"p{seed}-mirrored.png")
        assert "(regrouped by parts)" in run("scan", "-w", "1", str(root))
        # 46 files, 6 changed: a share of ceil(10 * 6 / 46) = 2 checks, none more
        found = json.loads(run("dupes", "--json"))["groups"]
        mirrored = [m for g in found for m in g["members"] if "mirrored" in m["path"]]
        assert len(mirrored) == 2
        assert "1 pairs of look-alike pictures wait for a pixel check" in run("dupes")
    finally:
        from mediafix.store.db import dispose_engines

        dispose_engines()
        get_settings.cache_clear()
