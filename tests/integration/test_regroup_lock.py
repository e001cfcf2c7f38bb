"""A regroup's pixel checks hold no write lock (issue #20): while one `mediafix` process's
regroup is paused at a pixel check (``tests/helpers/fault_worker.py copycheck``), a person's
keep decision through the web API is written at once, and when the regroup goes on, its
groups carry that decision; rows a scan changed meanwhile make it work the groups out again,
and what it writes is what a regroup from scratch makes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.store.db import dispose_engines, get_engine, session_scope
from mediafix.store.models import CopyCheck, DuplicateGroup, DuplicateMember, File
from tests.helpers.paths import HELPERS, REPO
from tests.helpers.web import web_app
from tests.integration.test_hard_copies import photo, screenshot

FAULT_WORKER = HELPERS / "fault_worker.py"


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _groups() -> list[tuple[Any, ...]]:
    """Every group as (type, status, ((file name, keep, distance) ...), reasons), sorted."""
    with session_scope(get_engine(get_settings().database_url)) as s:
        names = dict(s.execute(select(File.id, File.rel_path)).all())
        members: dict[int, list[tuple[str, bool, int]]] = {}
        for m in s.scalars(select(DuplicateMember)):
            members.setdefault(m.group_id, []).append((names[m.file_id], m.keep, m.distance))
        return sorted(
            (g.type, g.status, tuple(sorted(members.get(g.id, []))), tuple(g.reasons))
            for g in s.scalars(select(DuplicateGroup))
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def library(
    settings_env: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """A scanned library (SQLite, or PostgreSQL where its server runs) with two byte copies
    of a photo and a screenshot of another (a hard copy: grouped after a pixel check), its
    remembered verdicts forgotten, so the next regroup looks at the pixels again."""
    if request.param == "postgresql":
        monkeypatch.setenv("MEDIAFIX_DATABASE_URL", request.getfixturevalue("pg_url"))
        get_settings.cache_clear()
    root = tmp_path / "photos"
    for folder in ("camera", "backup", "screens"):
        (root / folder).mkdir(parents=True)
    photo(1).save(root / "camera" / "a.jpg", "JPEG", quality=92)
    (root / "backup" / "a.jpg").write_bytes((root / "camera" / "a.jpg").read_bytes())
    picture = photo(2)
    picture.save(root / "camera" / "b.jpg", "JPEG", quality=92)
    screenshot(picture, "9:41").save(root / "screens" / "b-shot.png")
    _cli("scan", "-w", "1", str(root))
    with session_scope(get_engine(get_settings().database_url)) as s:
        s.execute(delete(CopyCheck))
    yield root
    dispose_engines()


class PausedRegroup:
    """``mediafix dupes --threshold 8`` (a full regroup) in its own process, stopped at its
    first pixel check until :meth:`go`."""

    def __init__(self, tmp_path: Path) -> None:
        self.marker = tmp_path / "paused"
        command = ["dupes", "--threshold", "8"]
        env = dict(os.environ, PYTHONPATH=f"{REPO / 'src'}{os.pathsep}{REPO}")
        self.log = tmp_path / "regroup.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(FAULT_WORKER), "copycheck", str(self.marker), "--", *command],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while not self.marker.exists():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the regroup never reached a pixel check"
            time.sleep(0.05)

    def go(self) -> None:
        Path(f"{self.marker}.go").touch()
        try:
            code = self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        assert code == 0, self.log.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _exact_group_id() -> tuple[int, int, int]:
    """The exact group's id and its two files' ids (camera, backup)."""
    with session_scope(get_engine(get_settings().database_url)) as s:
        group = s.scalar(select(DuplicateGroup).where(DuplicateGroup.type == "exact"))
        assert group is not None
        ids = {m.file_id for m in group.members}
        paths = dict(s.execute(select(File.rel_path, File.id).where(File.id.in_(ids))).all())
        return group.id, paths["camera/a.jpg"], paths["backup/a.jpg"]


def test_a_decision_is_written_at_once_while_a_regroup_checks_pixels(
    library: Path, tmp_path: Path
) -> None:
    group_id, camera, backup = _exact_group_id()
    regroup = PausedRegroup(tmp_path)
    try:
        with web_app() as web:
            began = time.monotonic()
            answer = web.post(
                f"/review/duplicates/{group_id}", json={"action": "keep", "keep": [backup]}
            )
            took = time.monotonic() - began
        assert answer.status_code == 200, answer.get_data(as_text=True)
        # A regroup holding the write lock made it wait SQLite's busy timeout (30 s), then
        # fail with "database is locked"; on PostgreSQL, wait for the regroup's end
        assert took < 5, f"the decision waited {took:.1f} s"
        regroup.go()
    finally:
        regroup.kill()
    groups = _groups()
    exact = [g for g in groups if g[0] == "exact"]
    assert exact == [
        (
            "exact",
            "resolved",
            (("backup/a.jpg", True, 0), ("camera/a.jpg", False, 0)),
            exact[0][3],
        )
    ], groups
    near = [{name for name, _keep, _d in g[2]} for g in groups if g[0] == "near"]
    assert {"camera/b.jpg", "screens/b-shot.png"} in near, groups  # checked after the pause
    with session_scope(get_engine(get_settings().database_url)) as s:
        assert s.scalar(select(func.count()).select_from(CopyCheck)) == 1
    # what a regroup from scratch makes of the same library and decision
    _cli("dupes", "--threshold", "8")
    assert _groups() == groups
    assert camera != backup


def test_rows_a_scan_changed_meanwhile_are_grouped(library: Path, tmp_path: Path) -> None:
    regroup = PausedRegroup(tmp_path)
    try:
        # a scan of a new copy, with its own regroup, while the other waits at its pixels
        more = library / "more"
        more.mkdir()
        (more / "b.jpg").write_bytes((library / "camera" / "b.jpg").read_bytes())
        began = time.monotonic()
        _cli("scan", "-w", "1", str(library))
        assert time.monotonic() - began < 60
        regroup.go()
    finally:
        regroup.kill()
    groups = _groups()
    names = {name for g in groups for name, _keep, _d in g[2]}
    assert "more/b.jpg" in names, groups  # the paused regroup's reading did not have it
    _cli("dupes", "--threshold", "8")
    assert _groups() == groups


def test_a_change_committed_while_the_rows_are_let_go_is_grouped(
    library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full regroup lets its rows go while it searches the hard-copy candidates, then
    reads them again. A change another process commits in that gap (here: the screenshot
    moved to another folder) is in the groups it writes: PostgreSQL's second reading sees
    it and all is worked out again; SQLite's reading does not, and the write finds it."""
    from mediafix.services import duplicates

    real = duplicates.search_candidates
    engine = get_engine(get_settings().database_url)
    calls = []

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # moved on the disk, and the move saved as a rescan would
            (library / "moved").mkdir()
            (library / "screens" / "b-shot.png").rename(library / "moved" / "b-shot.png")
            with session_scope(engine) as s:  # another connection, committed at once
                shot = s.scalars(select(File).where(File.name == "b-shot.png")).one()
                shot.rel_path, shot.path = "moved/b-shot.png", shot.path.replace("screens", "moved")
        return real(*args, **kwargs)

    monkeypatch.setattr(duplicates, "search_candidates", meanwhile)
    duplicates.regroup(engine, get_settings())
    assert calls, "the full regroup searched with its rows let go"
    written = _groups()
    assert any("moved/b-shot.png" in str(g) for g in written), written
    monkeypatch.setattr(duplicates, "search_candidates", real)
    duplicates.regroup(engine, get_settings())  # the same rows, grouped again: the same
    assert _groups() == written
