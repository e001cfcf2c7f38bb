"""Hostile files through every door: `mediafix scan`, an import job in a real worker,
`mediafix apply` + `undo`, and `mediafix apply --move` + `undo`. Issues #8 and #16,
"nothing is lost".

Every case of ``tests/helpers/hostile.py`` is put in one import folder (next to a folder a symlink
points into) and must come out processed or with a clear one-line error; no command fails,
no job fails, no worker dies, nothing hangs (a FIFO is among them). Names that are exiftool
options (``-o``, ``-@``, ``-delete_original``...) must never be taken as options: every photo
reads back its *own* camera date, the folders hold exactly the entries they held, byte for
byte, and the empty working folder every process ran in stays empty.

The three doors are module fixtures run once; the per-case tests then check one case each,
so ``pytest -v`` shows the count of cases per door.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.media.exiftool import ExifTool
from mediafix.media.probe import metadata_bomb
from mediafix.store.db import dispose_engines, get_engine, session_scope, upgrade
from mediafix.store.models import File
from tests.helpers.hostile import CASES, OUTSIDE, Case, build_folder, case_path, snapshot, year_of
from tests.helpers.paths import REPO

CASE_IDS = [c.id for c in CASES]
NUMBER = {c.id: n for n, c in enumerate(CASES)}
# What a leftover of an interrupted write looks like (ours, and exiftool's own).
PARTIAL_MARKERS = (".mediafix-tmp-", "_exiftool_tmp")


@dataclass
class Door:
    """What one way in (scan, import job, apply + undo) did with the hostile folder."""

    root: bytes
    data: Path
    rows: dict[bytes, dict[str, Any]] = field(default_factory=dict)
    exit_code: int = 0
    output: str = ""
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Folder:
    base: Path
    root: bytes
    before: dict[bytes, tuple[object, ...]]
    outside_before: dict[bytes, tuple[object, ...]]
    cwd: Path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    base = tmp_path_factory.mktemp("hostile")
    root = build_folder(base / "photos")
    cwd = base / "cwd"  # every process runs here: an option taken from a name would write here
    cwd.mkdir()
    return Folder(base, root, snapshot(root), snapshot(base / OUTSIDE), cwd)


@contextlib.contextmanager
def library(folder: Folder, name: str) -> Iterator[Path]:
    """MEDIAFIX_* for a library of its own, run from the empty working folder."""
    data = folder.base / name
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDIAFIX_DATA_DIR", str(data))
        mp.setenv("MEDIAFIX_OUTPUT_DIR", str(folder.base / f"{name}-output"))
        mp.setenv("MEDIAFIX_TIMEZONE", "Europe/Berlin")
        mp.setenv("MEDIAFIX_WORKERS", "2")
        for var in ("MEDIAFIX_DATABASE_URL", "MEDIAFIX_QUEUE_URL", "MEDIAFIX_PASSWORD"):
            mp.delenv(var, raising=False)
        mp.chdir(folder.cwd)
        get_settings.cache_clear()
        try:
            yield data
        finally:
            dispose_engines()
            get_settings.cache_clear()


def _rows() -> dict[bytes, dict[str, Any]]:
    with session_scope(get_engine(get_settings().database_url)) as s:
        return {
            os.fsencode(f.path): {
                "id": f.id,
                "kind": f.kind,
                "status": f.status,
                "error": f.error,
                "taken_at": f.taken_at,
                "date_source": f.date_source,
                "sha256": f.sha256,
            }
            for f in s.scalars(select(File))
        }


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def scanned(folder: Folder) -> Door:
    with library(folder, "scan-data") as data:
        started = time.monotonic()
        code, output = _cli("scan", "-w", "2", os.fsdecode(folder.root))
        door = Door(folder.root, data, _rows(), code, output, time.monotonic() - started)
    door.extra["after"] = snapshot(folder.root)
    return door


@pytest.fixture(scope="module")
def imported(folder: Folder) -> Door:
    from tests.integration.test_jobs import Worker, enqueue, job_state, wait_until

    with library(folder, "import-data") as data:
        upgrade(get_settings().database_url)
        env = dict(os.environ)
        env["PYTHONPATH"] = f"{REPO / 'src'}{os.pathsep}{REPO}"
        started = time.monotonic()
        job_id = enqueue(env, Path(os.fsdecode(folder.root)))
        worker = Worker(env, folder.base / "worker.log", workers=2)
        try:
            wait_until(
                lambda: job_state(job_id)["status"] in ("completed", "failed", "cancelled"),
                timeout=240,
            )
            seconds = time.monotonic() - started
            follow_ups = _wait_for_thumbnails()  # the tasks an import chains run on them too
            alive = worker.proc.poll() is None
        finally:
            worker.stop()
        door = Door(folder.root, data, _rows(), seconds=seconds)
        door.extra.update(job=job_state(job_id), worker_alive=alive, follow_ups=follow_ups)
    door.extra["log"] = (folder.base / "worker.log").read_text(errors="replace")
    door.extra["after"] = snapshot(folder.root)
    return door


def _wait_for_thumbnails() -> bool | None:
    """Wait until every photo and video has a thumbnail or a "no picture" marker (made by
    the ``make_thumbnails`` task an import chains); None where there are no thumbnails."""
    try:
        from mediafix.services.thumbnails import marker_path, thumb_path
    except ImportError:
        return None
    from tests.integration.test_jobs import wait_until

    settings = get_settings()

    def done() -> bool:
        for row in _rows().values():
            if row["kind"] in ("image", "video") and row["status"] not in ("new", "probing"):
                thumb = thumb_path(settings, row["sha256"] or row["id"])
                if not thumb.exists() and not marker_path(thumb).exists():
                    return False
        return True

    try:
        wait_until(done, timeout=90, every=0.5)
    except AssertionError:
        return False
    return True


def _journal(path: str) -> list[dict[str, Any]]:
    with open(path, "rb") as f:
        return [json.loads(line) for line in f if line.strip()]


def _files(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def applied(folder: Folder, scanned: Door) -> Door:
    """`mediafix plan --json`, `apply --include-review`, then `undo`, on the scanned library."""
    out = folder.base / "archive"
    with library(folder, "scan-data") as data:
        code, text = _cli("plan", str(out), "--json", "--include-review")
        assert code == 0, text
        plan = json.loads(text[text.index("{") :])
        started = time.monotonic()
        code, output = _cli("apply", str(out), "--include-review")
        door = Door(folder.root, data, scanned.rows, exit_code=code, output=output)
        door.seconds = time.monotonic() - started
        journals = sorted((data / "journals").glob("*.jsonl"))
        assert len(journals) == 1, output
        records = _journal(str(journals[0]))
        written = _files(out)
        readable = [p for p in written if metadata_bomb(p) is None]  # copies of the bombs
        with ExifTool() as et:
            meta = dict(zip(readable, et.read_metadata(readable), strict=True))
        door.extra.update(after_apply=snapshot(folder.root))
        undo_code, undo_output = _cli("undo")
    door.extra.update(
        plan=plan,
        records=records,
        written=written,
        meta=meta,
        undo_code=undo_code,
        undo_output=undo_output,
        after_undo=snapshot(folder.root),
        left_after_undo=_files(out),
    )
    return door


@pytest.fixture(scope="module")
def moved(folder: Folder) -> Door:
    """A library of its own: scan, `apply --move --include-review`, then `undo`."""
    out = folder.base / "moved-archive"
    with library(folder, "move-data") as data:
        code, output = _cli("scan", "-w", "2", os.fsdecode(folder.root))
        assert code == 0, output
        code, output = _cli("apply", str(out), "--move", "--include-review")
        door = Door(folder.root, data, _rows(), exit_code=code, output=output)
        door.extra.update(
            after_move=snapshot(folder.root),
            held=snapshot(out / ".originals"),
            written=_files(out),
        )
        door.extra["undo_code"], door.extra["undo_output"] = _cli("undo")
    door.extra.update(after_undo=snapshot(folder.root), left_after_undo=_files(out))
    return door


# -- per case -------------------------------------------------------------------------------


def _row_path(case: Case, door: Door) -> bytes:
    path = case_path(door.root, case)
    if not case.nested:
        return path
    under = [p for p in door.rows if p.startswith(path + b"/")]
    assert len(under) == 1, f"{case.id}: {len(under)} rows under it"
    return under[0]


def _check_row(case: Case, door: Door) -> None:
    path = _row_path(case, door)
    row = door.rows.get(path)
    assert row is not None, f"{case.id}: no row at all (the file was dropped)"
    error = row["error"]
    if case.expect == "ok":
        assert error is None, f"{case.id}: {error}"
        assert row["status"] in ("ready", "review"), row
        assert row["kind"] == "image", row
        with open(path, "rb") as f:
            assert row["sha256"] == hashlib.sha256(f.read()).hexdigest()
        if case.dated:  # exiftool read this very file, not a neighbour or an alias mix-up
            assert row["date_source"] == "exif:DateTimeOriginal", row
            assert row["taken_at"].year == year_of(NUMBER[case.id]), row
    else:
        assert row["status"] == "error", row
        assert error and "\n" not in error and len(error) <= 300, repr(error)
        assert case.says.lower() in error.lower(), error


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_scan_handles(case: Case, scanned: Door) -> None:
    _check_row(case, scanned)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_import_job_handles(case: Case, imported: Door) -> None:
    _check_row(case, imported)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_apply_and_undo_handle(case: Case, applied: Door) -> None:
    source = os.fsdecode(_row_path(case, applied))
    writes = [r for r in applied.extra["records"] if r["type"] == "write" and r["source"] == source]
    if case.apply == "ignored":
        assert not writes
        ignored = {i["path"] for i in applied.extra["plan"]["ignored"]}
        assert source in ignored, f"{case.id} is neither written nor listed as ignored"
        return
    assert len(writes) == 1, f"{case.id}: written {len(writes)} times"
    (record,) = writes
    target = record["target"]
    assert applied.extra["written"].get(target) == record["output_sha256"]  # verifies
    assert any(r["type"] == "done" and r["target"] == target for r in applied.extra["records"])
    with open(source, "rb") as f:
        source_sha = hashlib.sha256(f.read()).hexdigest()
    assert record["source_sha256"] == source_sha
    sidecars = [s["target"] for s in record["sidecars"]]
    if case.apply == "as-is":
        assert record["output_sha256"] == source_sha and not sidecars
    elif case.apply == "sidecar":
        assert record["output_sha256"] == source_sha and len(sidecars) == 1
        assert sidecars[0].endswith(".xmp") and sidecars[0] in applied.extra["written"]
    else:
        assert case.apply == "written"
        assert record["output_sha256"] != source_sha and not sidecars
    if case.dated and case.expect == "ok":
        year = year_of(NUMBER[case.id])
        assert f"{os.sep}{year}{os.sep}{year}0304_050607." in target, target
        dates = [
            str(v)
            for k, v in applied.extra["meta"][sidecars[0] if sidecars else target].items()
            if k.endswith(":DateTimeOriginal")
        ]
        assert dates and all(d.startswith(f"{year}:03:04 05:06:07") for d in dates), dates
    assert target not in applied.extra["left_after_undo"]  # undo removed it


# -- the whole run ----------------------------------------------------------------------------


def test_every_entry_has_exactly_one_row(scanned: Door) -> None:
    assert scanned.exit_code == 0, scanned.output
    assert len(scanned.rows) == len(CASES)
    assert set(scanned.rows) == {_row_path(c, scanned) for c in CASES}
    errors = sum(1 for c in CASES if c.expect == "error")
    summary = re.search(r"^\s*errors\s+(\d+)\s*$", scanned.output, re.M)
    assert summary and int(summary.group(1)) == errors, scanned.output


def test_scan_changes_nothing_and_runs_no_option(folder: Folder, scanned: Door) -> None:
    assert scanned.seconds < 120  # nothing hung (the FIFO) or crawled (the bombs)
    assert scanned.extra["after"] == folder.before
    assert snapshot(folder.base / OUTSIDE) == folder.outside_before
    assert not list(folder.cwd.iterdir())


@pytest.mark.slow
def test_import_job_completes_and_the_worker_lives(folder: Folder, imported: Door) -> None:
    job = imported.extra["job"]
    assert job["status"] == "completed", job
    assert imported.seconds < 180
    assert job["current"] == job["total"] == len(CASES), job
    assert imported.extra["worker_alive"], imported.extra["log"][-3000:]
    assert imported.extra["follow_ups"] in (True, None)  # thumbnails (where they exist)
    assert "Traceback" not in imported.extra["log"], imported.extra["log"][-3000:]
    assert len(imported.rows) == len(CASES)
    assert imported.extra["after"] == folder.before
    assert not list(folder.cwd.iterdir())


def test_apply_writes_every_photo_and_undo_restores_the_start(
    folder: Folder, applied: Door
) -> None:
    assert applied.exit_code == 0, applied.output  # no file failed
    expected = sum(1 for c in CASES if c.apply != "ignored")
    writes = [r for r in applied.extra["records"] if r["type"] == "write"]
    assert len(writes) == expected
    sidecars = sum(1 for c in CASES if c.apply == "sidecar")
    assert len(applied.extra["written"]) == expected + sidecars  # nothing else appeared
    assert not [p for p in applied.extra["written"] if any(m in p for m in PARTIAL_MARKERS)]
    assert applied.extra["undo_code"] == 0, applied.extra["undo_output"]
    assert applied.extra["left_after_undo"] == {}
    assert applied.extra["after_apply"] == folder.before
    assert applied.extra["after_undo"] == folder.before  # sources byte for byte, none gone
    assert snapshot(folder.base / OUTSIDE) == folder.outside_before
    assert not list(folder.cwd.iterdir())


def test_move_keeps_every_original_and_undo_puts_each_back(folder: Folder, moved: Door) -> None:
    assert moved.exit_code == 0, moved.output  # no file failed, every source was moved
    gone = set(folder.before) - set(moved.extra["after_move"])
    files = {p for p, entry in folder.before.items() if entry[0] == "file"}
    assert len(gone & files) == sum(1 for c in CASES if c.apply != "ignored")
    # each moved file is in the holding folder, the very bytes, under its own path
    held = {
        b"/" + p.split(b"/", 1)[1]: entry for p, entry in moved.extra["held"].items() if b"/" in p
    }  # (key: the run's folder, then the source's absolute path)
    for path in gone & files:
        assert held[os.path.join(folder.root, path)] == folder.before[path], path
    assert moved.extra["undo_code"] == 0, moved.extra["undo_output"]
    assert moved.extra["after_undo"] == folder.before  # every source byte for byte
    assert moved.extra["left_after_undo"] == {}
    assert snapshot(folder.base / OUTSIDE) == folder.outside_before
    assert not list(folder.cwd.iterdir())


# -- exiftool's own view ----------------------------------------------------------------------

# Every argument mediafix itself gives exiftool that is not an option: option values.
_OPTION_VALUES = {"filename=utf8", "largefilesupport=1", "iptc=UTF8"}


def test_exiftool_only_ever_sees_absolute_paths_and_our_options(
    tmp_path: Path, settings_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scan and apply in this process (one worker), recording every exiftool command (and
    the file names apply's batches hand exiftool in their JSON files): a name is always an
    absolute path, never one of the hostile names on its own."""
    from mediafix.services import library, output

    root = tmp_path / "names"
    broot = os.fsencode(root)
    os.makedirs(broot)
    named = [c for c in CASES if c.id.startswith("name-")]
    for case in named:
        path = case_path(broot, case)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        case.build(path, NUMBER[case.id])
    before = snapshot(root)
    seen: list[list[str]] = []
    real_send = ExifTool._send

    def recording(self: ExifTool, args: Any) -> int:
        seen.append(list(args))
        for arg in args:  # a batch's file names come in its JSON file
            if arg.startswith("-j="):
                with open(arg[3:], encoding="utf-8") as f:
                    seen[-1] += [r["SourceFile"] for r in json.load(f)]
        return real_send(self, args)

    monkeypatch.setattr(ExifTool, "_send", recording)
    monkeypatch.chdir(tmp_path)
    settings = get_settings()
    upgrade(settings.database_url)
    engine = get_engine(settings.database_url)
    summary = library.scan([str(root)], settings, engine, workers=1)
    assert summary.probed == len(named) and summary.errors == 0
    _plan, result = output.run_apply(engine, settings, str(tmp_path / "out"))
    assert not result.failed and result.written == len(named)
    dispose_engines()

    names = {os.fsdecode(os.path.basename(c.name)) for c in named}
    arguments = [a for args in seen for a in args]
    # one batch read, then the writes (in batches: each file read back in-process)
    assert len(seen) >= 2 and any(a.startswith("-j=") for args in seen for a in args)
    assert not names & set(arguments)
    for arg in arguments:
        assert arg.startswith(("-", "/")) or arg in _OPTION_VALUES, arg
        if arg.startswith("-"):
            assert os.sep not in arg.split("=", 1)[0], arg  # an option, not a path
    assert snapshot(root) == before
    assert sorted(os.listdir(tmp_path)) == sorted(["names", "out", "data"])


def test_exiftool_is_never_handed_a_metadata_bomb(tmp_path: Path) -> None:
    from mediafix.media.probe import probe_batch

    bombs = [c for c in CASES if c.id in ("png-ztxt-bomb", "png-itxt-xmp-bomb")]
    fine = next(c for c in CASES if c.id == "name-windows-aux")  # a PNG with EXIF
    paths = []
    for case in [*bombs, fine]:
        path = os.fsdecode(case_path(os.fsencode(tmp_path), case))
        case.build(os.fsencode(path), NUMBER[case.id])
        paths.append(path)
    handed: list[str] = []

    class Recording(ExifTool):
        def read_metadata(self, paths: Any, timeout: float | None = None) -> Any:
            handed.extend(os.fspath(p) for p in paths)
            return super().read_metadata(paths, timeout)

    started = time.monotonic()
    with Recording() as et:
        probes = probe_batch(paths, et)
    assert time.monotonic() - started < 10
    assert handed == [paths[-1]]
    for probe in probes[:-1]:
        assert probe.kind == "image" and probe.sha256
        assert probe.error and "decompression bomb" in probe.error
    assert probes[-1].error is None and probes[-1].metadata
