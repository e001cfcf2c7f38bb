"""Pixel checks left waiting never bend the groups (issue #20).

A library of real photos and their mirrored copies (each a hard-copy candidate that only a
pixel check confirms) is scanned with a budget of one check per regroup, so most candidates
wait. Random rescans follow: new photos, new mirrored copies, copies deleted, files touched.
Whatever a rescan regroups (by parts, or all), its groups must be exactly those a full
regroup makes of the verdicts known at that moment (one that checks nothing new, on a copy
of the library); and a regroup with the budget back finds every copy.

A deleted copy's row stays (a rescan does not forget files that vanished): its candidates
are tried and skipped, never remembered, in every regroup.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import ImageOps

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.services import copies
from mediafix.services.duplicates import regroup
from mediafix.store.db import dispose_engines, get_engine
from tests.helpers.regroup import group_values, regrouped_as_known
from tests.integration.test_hard_copies import photo

STEPS = st.lists(
    st.lists(st.sampled_from(("new", "mirror", "gone", "touch")), min_size=1, max_size=2),
    min_size=1,
    max_size=5,
)


class Photos:
    """The library's folder: photos, their mirrored copies, and what a rescan finds."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self.seeds: list[int] = []
        self.mirrored: set[int] = set()
        root.mkdir(parents=True)

    def photo(self) -> None:
        seed = 200 + len(self.seeds)
        photo(seed).save(self.root / f"p{seed}.jpg", "JPEG", quality=92)
        self.seeds.append(seed)

    def mirror(self) -> None:
        bare = [s for s in self.seeds if s not in self.mirrored]
        if bare:
            seed = self.rng.choice(bare)
            picture = photo(seed)
            ImageOps.mirror(picture).save(self.root / f"p{seed}-mirrored.png")
            self.mirrored.add(seed)

    def change(self, what: str) -> None:
        if what == "new":
            self.photo()
        elif what == "mirror":
            self.mirror()
        elif what == "gone" and self.mirrored:
            seed = self.rng.choice(sorted(self.mirrored))
            (self.root / f"p{seed}-mirrored.png").unlink()
            self.mirrored.discard(seed)
        elif what == "touch":
            path = self.rng.choice(sorted(self.root.iterdir()))
            later = path.stat().st_mtime + 7
            os.utime(path, (later, later))


@pytest.mark.slow
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), start=st.integers(3, 6), steps=STEPS)
def test_groups_are_always_those_of_the_verdicts_known(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    start: int,
    steps: list[list[str]],
) -> None:
    rng = random.Random(seed)
    tmp = tmp_path_factory.mktemp("waiting")
    photos = Photos(tmp / "photos", rng)
    for _ in range(start):
        photos.photo()
        photos.mirror()
    data = tmp / "data"
    monkeypatch.setenv("MEDIAFIX_DATA_DIR", str(data))
    monkeypatch.setenv("MEDIAFIX_OUTPUT_DIR", str(tmp / "out"))
    for var in ("MEDIAFIX_DATABASE_URL", "MEDIAFIX_QUEUE_URL", "MEDIAFIX_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(copies, "CHECK_BUDGET_BASE", 1)
    monkeypatch.setattr(copies, "CHECK_BUDGET_PER_FILE", 0)
    monkeypatch.setattr(copies, "WAITING_KEPT", 2)

    def scan() -> None:
        get_settings.cache_clear()
        scanned = CliRunner().invoke(main, ["scan", "-w", "1", str(photos.root)])
        assert scanned.exit_code == 0, scanned.output
        dispose_engines()
        event("regrouped by parts" if "by parts" in scanned.output else "all regrouped")

    try:
        scan()
        for number, changes in enumerate(steps):
            for what in changes:
                photos.change(what)
            scan()
            known = regrouped_as_known(data, tmp / f"copy{number}", monkeypatch)
            assert group_values(known) == group_values(get_settings()), (
                seed,
                start,
                steps,
                number,
            )
            dispose_engines()
        # with the budget back, one full regroup checks every candidate it can read: each
        # mirrored copy is then in a group with its photo
        monkeypatch.setattr(copies, "CHECK_BUDGET_BASE", 6_000)
        library = get_settings()
        regroup(get_engine(library.database_url), library)
        grouped = {path for group in group_values(library) for path, *_ in group[2]}
        for seed in photos.mirrored:
            assert str(photos.root / f"p{seed}-mirrored.png") in grouped
            assert str(photos.root / f"p{seed}.jpg") in grouped
    finally:
        dispose_engines()
        get_settings.cache_clear()
