"""Faults while work is under way: SIGKILL of a worker (during an import, during duplicate
grouping, during an output job, while a move keeps an original), SIGKILL of the worker that
`mediafix serve` embeds, two applies into one output folder at once, PostgreSQL stopping
mid-import, and an output disk that fills up. Issues #8 and #16, "nothing is lost".

After each one: every source file is byte for byte what it was, the output holds no partial
file (``.mediafix-tmp-*``, exiftool's ``*_exiftool_tmp``) and no duplicate, every written
file verifies (its journaled hash, its dates read back, its image data unchanged), and the
work either finishes once the fault is gone or fails with a clear one-line message.

``FAULTS`` lists the cases, one per test (``docs/reliability.md`` tabulates it;
``tests/unit/test_reliability_doc.py`` keeps the two, and the xfail marks, equal).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.media.digest import image_data_digest
from mediafix.media.durable import TMP_PREFIX
from mediafix.media.exiftool import ExifTool, ExifToolError
from mediafix.media.holding import HOLD_DIR
from mediafix.media.journal import read_journal
from mediafix.media.outputlock import LOCK_NAME
from mediafix.store.db import dispose_engines, get_engine, session_scope, upgrade
from mediafix.store.models import DuplicateGroup, DuplicateMember, File
from tests.helpers.hostile import photo_bytes, snapshot
from tests.helpers.net import free_port
from tests.helpers.paths import HELPERS, REPO
from tests.integration.test_jobs import (
    FAULT_WORKER,
    MID_JOB_FILES,
    MID_JOB_POINT,
    FaultWorker,
    Worker,
    enqueue,
    job_state,
    make_library,
    probed_batches,
    wait_until,
)

# A folder whose sitecustomize gives every Python process started with it the patch of
# ``fault_worker.py`` (for the worker ``mediafix serve`` starts itself).
FAULT_SITE = HELPERS / "faultsite"
PARTIAL_MARKERS = (TMP_PREFIX, "_exiftool_tmp")
FINISHED = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class Fault:
    test: str  # the test (node id within this module) that provokes it
    what: str
    outcome: str  # what must happen
    expected_failure: str = ""  # why it fails today (the test is xfail strict), if it does


FAULTS: list[Fault] = [
    Fault(
        "test_sigkill_import",
        "SIGKILL the worker's process group mid-import (stopped dead with a probe batch "
        "probed and not saved), start another",
        "job resumes and completes; every file one row, none left unprobed; sources unchanged",
    ),
    Fault(
        "test_sigkill_grouping",
        "SIGKILL the worker inside the duplicate regroup "
        "transaction that follows a second import (new copies), start another",
        "the killed regroup leaves the old groups exactly; after the restart the groups "
        "match the files' hashes",
    ),
    Fault(
        "test_sigkill_apply[exiftool:4]",
        "SIGKILL an output job's worker before its 4th "
        "metadata write (a temporary copy on disk), start another",
        "job resumes and completes; no partial file, no duplicate; every output verifies",
    ),
    Fault(
        "test_sigkill_apply[place:4]",
        "SIGKILL an output job's worker after its 4th file "
        "is placed, before the journal's `done`, start another",
        "job resumes and completes; no partial file, no duplicate; every output verifies",
    ),
    Fault(
        "test_sigkill_move[hold:4]",
        "SIGKILL a move job's worker as it moves its 4th source into the holding folder "
        "(the `hold` journaled, the file not yet moved), start another",
        "nothing lost: each source at its place or kept in OUTPUT/.originals; the job resumes "
        "and completes; every original kept once; `mediafix undo` gives every source back "
        "byte for byte",
    ),
    Fault(
        "test_two_applies_into_one_output",
        "while a `mediafix apply` holds the output folder (paused mid-run): a second "
        "`mediafix apply`, a `mediafix undo`, and an output job in a real worker; then "
        "SIGKILL the first",
        "the second CLI command exits with one line naming the holder's command, pid, host "
        "and start; the job waits (pending, saying so), then runs once the holder is dead; "
        "no file written twice",
    ),
    Fault(
        "test_sigkill_serve_worker[consumer]",
        "SIGKILL the worker process `mediafix serve` started, mid-import (its worker "
        "process stopped dead with a probe batch probed and not saved)",
        "`/healthz` answers 503 naming the dead worker; serve starts another; the job is "
        "resumed (`resumed` in its JSON and page) and completes; every file one row",
    ),
    Fault(
        "test_sigkill_serve_worker[job-process]",
        "SIGKILL the process running the import job inside `mediafix serve`'s worker "
        "(stopped dead with a probe batch probed and not saved)",
        "the worker replaces the process and the job is resumed within a minute "
        "(`resumed`), and completes; every file one row",
    ),
    Fault(
        "test_postgres_stops_mid_import_then_a_worker_restart_finishes_it",
        "stop PostgreSQL (a throwaway cluster) mid-import, start it again, restart the worker",
        "the worker lives through it; the job completes; every file one row",
    ),
    Fault(
        "test_postgres_stops_mid_import_and_the_job_finishes_when_it_is_back",
        "the same without a worker restart",
        "the job completes once the database is back",
    ),
    Fault(
        "test_output_disk_full[tmpfs]",
        "output on a 400 kB tmpfs that fills mid-apply, then grown (remount)",
        "failed items say 'No space left on device'; no partial file; what was written "
        "verifies; after growing, the same command writes the rest",
    ),
    Fault(
        "test_output_disk_full[injected-copy]",
        "ENOSPC injected into the copy step after 4 files (runs where mounting is not allowed)",
        "as the tmpfs case",
    ),
    Fault(
        "test_output_disk_full[injected-exiftool]",
        "exiftool's write fails as on a full disk ('Error writing output file') after 4 files, "
        "the disk reporting no room",
        "as the tmpfs case: the items fail, none is written with an XMP sidecar instead",
    ),
]


@pytest.fixture
def fault_env(settings_env: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{REPO / 'src'}{os.pathsep}{REPO}"
    upgrade(get_settings().database_url)
    yield env
    dispose_engines()


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _files(folder: Path) -> dict[str, str]:
    return {str(p): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _archive(out: Path) -> dict[str, str]:
    """The output's files but the originals a move keeps and a killed apply's lock file."""
    return {
        p: d
        for p, d in _files(out).items()
        if not p.startswith(f"{out / HOLD_DIR}/") and p != str(out / LOCK_NAME)
    }


def _partials(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if any(m in p.name for m in PARTIAL_MARKERS)]


def _dated_photos(folder: Path, n: int, size: tuple[int, int] = (160, 120)) -> list[Path]:
    """``n`` distinct photos, each with its own camera year (``year_of``)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"IMG_{i:04d}.JPG"
        path.write_bytes(photo_bytes(i, size=size))
        paths.append(path)
    return paths


def _journal_entries(data: Path) -> dict[str, dict[str, Any]]:
    """target -> its last ``write`` record, with ``done`` set, across all journals."""
    entries: dict[str, dict[str, Any]] = {}
    for journal in sorted((data / "journals").glob("*.jsonl")):
        for record in read_journal(str(journal)):
            if record["type"] == "write":
                entries[record["target"]] = dict(record, done=False)
            elif record["type"] == "done" and record["target"] in entries:
                entries[record["target"]]["done"] = True
    return entries


def check_output(out: Path, data: Path, planned: dict[str, str]) -> None:
    """``planned``: target -> source. The output holds exactly the planned files, each
    journaled as done with its hash, its date readable, its image data the source's."""
    written = _archive(out)
    assert not _partials(out)
    assert set(written) == set(planned), (sorted(written), sorted(planned))
    entries = _journal_entries(data)
    with ExifTool() as et:
        metas = et.read_metadata(sorted(written))
    for (target, digest), meta in zip(sorted(written.items()), metas, strict=True):
        entry = entries[target]
        assert entry["done"] and entry["output_sha256"] == digest, entry
        assert entry["source"] == planned[target]
        year = int(os.path.basename(os.path.dirname(target)))
        assert str(meta.get("ExifIFD:DateTimeOriginal", "")).startswith(f"{year}:"), meta
        source = planned[target]
        if not os.path.exists(source):  # moved: its original is kept in the holding folder
            (source,) = glob.glob(f"{glob.escape(str(out / HOLD_DIR))}/*{glob.escape(source)}")
        assert image_data_digest(target, "jpeg") == image_data_digest(source, "jpeg")
    sources = Counter(planned.values())
    assert max(sources.values()) == 1  # no source written twice


def _planned(out: Path) -> dict[str, str]:
    plan = json.loads(_cli("plan", str(out), "--json"))
    return {i["target"]: i["source"] for i in plan["items"]}


def enqueue_output(env: dict[str, str], out: Path, move: bool = False) -> int:
    code = (
        "from mediafix.jobs import enqueue; "
        f"print(enqueue.output(output_dir={str(out)!r}, move={move!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
        check=True,
    )
    return int(result.stdout.strip().splitlines()[-1])


def _finished(job_id: int) -> bool:
    return job_state(job_id)["status"] in FINISHED


# -- SIGKILL ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigkill_import(fault_env: dict[str, str], tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_library(photos, MID_JOB_FILES)
    before = snapshot(photos)
    job_id = enqueue(fault_env, photos)
    marker = tmp_path / "paused"
    # stops dead with a batch probed and not saved, a batch saved before it (see MID_JOB_POINT)
    w = FaultWorker(fault_env, tmp_path / "w1.log", MID_JOB_POINT, marker)
    try:
        wait_until(marker.exists)
    finally:
        w.kill()
        w.fh.close()
    assert job_state(job_id)["status"] == "running"
    assert len(probed_batches(tmp_path / "w1.log")) == 2
    w2 = Worker(fault_env, tmp_path / "w2.log")
    try:
        wait_until(lambda: _finished(job_id), timeout=120)
    finally:
        w2.stop()
    assert job_state(job_id)["status"] == "completed", job_state(job_id)
    with session_scope(get_engine(get_settings().database_url)) as s:
        paths = s.scalars(select(File.path)).all()
        statuses = Counter(s.scalars(select(File.status)))
    assert len(paths) == len(set(paths)) == MID_JOB_FILES
    assert statuses["new"] == statuses["probing"] == 0
    assert snapshot(photos) == before


def _copy_photos(originals: list[Path], folder: Path, picks: dict[int, int]) -> None:
    """Byte-identical copies into ``folder``: ``picks`` maps an original to its copy count."""
    folder.mkdir(parents=True)
    for i, count in picks.items():
        for n in range(count):
            shutil.copy(originals[i], folder / f"{originals[i].stem} ({n}).JPG")


def _exact_groups() -> dict[str, list[int]]:
    """sha256 -> member file ids of each exact group; checks every group on the way."""
    groups: dict[str, list[int]] = {}
    with session_scope(get_engine(get_settings().database_url)) as s:
        shas = dict(s.execute(select(File.id, File.sha256)).all())
        for group in s.scalars(select(DuplicateGroup)):
            members = [m.file_id for m in group.members]
            assert group.keeper_id in members, group.id
            assert len(members) == len(set(members)) >= 2
            if group.type == "exact":
                assert len({shas[m] for m in members}) == 1
                groups[shas[members[0]]] = sorted(members)
        in_exact = s.scalars(
            select(DuplicateMember.file_id)
            .join(DuplicateGroup)
            .where(DuplicateGroup.type == "exact")
        ).all()
    assert len(in_exact) == len(set(in_exact))  # no file in two exact groups
    return groups


@pytest.mark.slow
def test_sigkill_grouping(fault_env: dict[str, str], tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    originals = _dated_photos(photos / "camera", 20)
    _copy_photos(originals, photos / "backup", {0: 1, 5: 1})
    # A first import, grouped: the state the killed regroup must leave intact.
    first = enqueue(fault_env, photos)
    w = Worker(fault_env, tmp_path / "w0.log", workers=1)
    try:
        wait_until(lambda: _finished(first) and len(_exact_groups()) == 2, timeout=120)
    finally:
        w.stop()
    old = _exact_groups()
    # New copies, a second import, and a kill inside the regroup that follows it.
    _copy_photos(originals, photos / "phone", {0: 1, 10: 1, 15: 1})
    expected = {_sha(originals[i]): n for i, n in ((0, 3), (5, 2), (10, 2), (15, 2))}
    before = snapshot(photos)
    job_id = enqueue(fault_env, photos)
    marker = tmp_path / "paused"
    w = FaultWorker(fault_env, tmp_path / "w1.log", "regroup", marker)
    try:
        wait_until(marker.exists, timeout=120)  # (the paused regroup holds SQLite's lock)
    finally:
        w.kill()
        w.fh.close()
    assert job_state(job_id)["status"] == "completed"  # grouping follows the import
    assert _exact_groups() == old  # the killed regroup changed nothing: the old state
    w2 = Worker(fault_env, tmp_path / "w2.log", workers=1)
    try:
        with contextlib.suppress(AssertionError):
            wait_until(lambda: len(_exact_groups()) == len(expected), timeout=12)
    finally:
        w2.stop()
    groups = _exact_groups()
    assert {sha: len(ids) for sha, ids in groups.items()} == expected  # the new state
    assert snapshot(photos) == before


@pytest.mark.slow
@pytest.mark.parametrize("point", ["exiftool:4", "place:4"])
def test_sigkill_apply(point: str, fault_env: dict[str, str], tmp_path: Path) -> None:
    photos, out = tmp_path / "photos", tmp_path / "archive"
    _dated_photos(photos, 10)
    _cli("scan", "-w", "1", str(photos))
    before = snapshot(photos)
    planned = _planned(out)
    assert len(planned) == 10
    job_id = enqueue_output(fault_env, out)
    marker = tmp_path / "paused"
    w = FaultWorker(fault_env, tmp_path / "w1.log", point, marker)
    try:
        wait_until(marker.exists, timeout=90)
    finally:
        w.kill()
        w.fh.close()
    placed = [p for p in _archive(out) if not any(m in p for m in PARTIAL_MARKERS)]
    if point.startswith("exiftool"):
        assert _partials(out) and len(placed) == 3  # killed with a half-made copy
    else:
        assert len(placed) == 4  # the 4th is in place, its journal has no `done`
    w2 = Worker(fault_env, tmp_path / "w2.log", workers=1)
    try:
        wait_until(lambda: _finished(job_id), timeout=120)
    finally:
        w2.stop()
    state = job_state(job_id)
    assert state["status"] == "completed" and not state["error"], state
    check_output(out, get_settings().data_dir, planned)
    assert snapshot(photos) == before


def _sha_counts(folder: Path) -> Counter[str]:
    return Counter(_files(folder).values())


@pytest.mark.slow
@pytest.mark.parametrize("point", ["hold:4"])
def test_sigkill_move(point: str, fault_env: dict[str, str], tmp_path: Path) -> None:
    photos, out = tmp_path / "photos", tmp_path / "archive"
    originals = {str(p): _sha(p) for p in _dated_photos(photos, 10)}
    _cli("scan", "-w", "1", str(photos))
    before = snapshot(photos)
    planned = _planned(out)
    job_id = enqueue_output(fault_env, out, move=True)
    marker = tmp_path / "paused"
    w = FaultWorker(fault_env, tmp_path / "w1.log", point, marker)
    try:
        wait_until(marker.exists, timeout=90)
    finally:
        w.kill()
        w.fh.close()
    # nothing lost: each original is at its place or kept in the holding folder
    held = _sha_counts(out / HOLD_DIR)
    for path, digest in originals.items():
        assert os.path.exists(path) or held[digest] == 1, path
    assert sum(held.values()) == 3 and len(_archive(out)) == 4
    w2 = Worker(fault_env, tmp_path / "w2.log", workers=1)
    try:
        wait_until(lambda: _finished(job_id), timeout=120)
    finally:
        w2.stop()
    state = job_state(job_id)
    assert state["status"] == "completed" and not state["error"], state
    check_output(out, get_settings().data_dir, planned)
    assert not any(os.path.exists(p) for p in originals)
    assert _sha_counts(out / HOLD_DIR) == Counter(originals.values())  # each kept once
    for _ in range(2):  # the resumed run, then the killed one
        _cli("undo")
    assert snapshot(photos) == before
    assert not _archive(out)


def _paused_apply(
    env: dict[str, str], out: Path, marker: Path, log: Path
) -> subprocess.Popen[bytes]:
    """``mediafix apply OUT`` that stops dead (holding the output folder) after placing its
    2nd file."""
    with open(log, "ab") as fh:
        return subprocess.Popen(
            [sys.executable, str(FAULT_WORKER), "place:2", str(marker), "--", "apply", str(out)],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.mark.slow
def test_two_applies_into_one_output(fault_env: dict[str, str], tmp_path: Path) -> None:
    photos, out = tmp_path / "photos", tmp_path / "archive"
    _dated_photos(photos, 6)
    _cli("scan", "-w", "1", str(photos))
    before = snapshot(photos)
    planned = _planned(out)
    marker = tmp_path / "paused"
    first = _paused_apply(fault_env, out, marker, tmp_path / "first.log")
    job_id = None
    w = None
    try:
        wait_until(marker.exists, timeout=90)
        for args in (["apply", str(out)], ["undo"]):
            second = subprocess.run(
                [sys.executable, "-m", "mediafix.cli", *args],
                env=fault_env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode == 1, second
            lines = second.stderr.strip().splitlines()
            assert len(lines) == 1, second.stderr  # one line, no traceback
            line = lines[0]
            assert line.startswith(f"error: {out} is in use by mediafix apply {out} "), line
            assert f"(pid {first.pid} on {os.uname().nodename}, since " in line, line
            assert line.endswith("; try again when it has finished"), line
        job_id = enqueue_output(fault_env, out)
        w = Worker(fault_env, tmp_path / "w.log", workers=1)
        waiting = wait_until(
            lambda: (
                (s := job_state(job_id))["status"] == "pending"
                and str(s["message"]).startswith(f"waiting: {out} is in use by mediafix")
            ),
            timeout=60,
        )
        assert waiting
        assert len(_archive(out)) == 2  # the job wrote nothing while it waited
        os.killpg(first.pid, signal.SIGKILL)  # the holder dies: the kernel drops its lock
        first.wait(timeout=10)
        wait_until(lambda: _finished(job_id), timeout=120)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        if w is not None:
            w.stop()
    state = job_state(job_id)
    assert state["status"] == "completed" and not state["error"], state
    check_output(out, get_settings().data_dir, planned)
    assert not (out / LOCK_NAME).exists()
    assert snapshot(photos) == before


def _http_json(url: str) -> tuple[int, dict[str, Any]]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["consumer", "job-process"])
def test_sigkill_serve_worker(victim: str, fault_env: dict[str, str], tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    count = MID_JOB_FILES
    make_library(photos, count)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    marker = tmp_path / "paused"
    # The consumer serve starts (and each one it starts again) gets fault_worker.py's
    # patch: its worker process stops dead mid-import (MID_JOB_POINT), once.
    serve_env = {
        **fault_env,
        "PYTHONPATH": f"{FAULT_SITE}{os.pathsep}{fault_env['PYTHONPATH']}",
        "FAULT_WORKER_POINT": MID_JOB_POINT,
        "FAULT_WORKER_MARKER": str(marker),
    }
    with open(log, "wb") as fh:
        serve = subprocess.Popen(
            [sys.executable, "-m", "mediafix.cli", "serve", "--port", str(port), "-w", "1"],
            env=serve_env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        consumer = int(wait_until(lambda: _health(base).get("worker_pid"), timeout=60))
        job_id = enqueue(fault_env, photos)
        wait_until(marker.exists)
        assert job_state(job_id)["status"] == "running"
        paused = int(marker.read_text())
        if victim == "consumer":
            assert paused != consumer  # (the job runs in a worker process of the consumer)
            os.kill(consumer, signal.SIGKILL)
            down = wait_until(
                lambda: _http_json(f"{base}/healthz")[0] == 503, every=0.05, timeout=10
            )
            assert down
            code, health = _http_json(f"{base}/healthz")
            assert health["worker"].startswith("error: not running (killed by SIGKILL)") or (
                code == 200  # (already restarted between the two requests)
            ), health
            assert health["database"] == "ok" and health["queue"] == "ok"  # kept keys
            up = wait_until(lambda: _health(base).get("worker_restarts") == 1, timeout=30)
            assert up and _health(base)["worker_pid"] != consumer
        else:
            with session_scope(get_engine(get_settings().database_url)) as s:
                from mediafix.store.models import Job

                job = s.get(Job, job_id)
                assert job is not None and job.worker
                job_pid = int(job.worker.split(":")[1])
            assert job_pid == paused  # the process running the job, stopped mid-batch
            os.kill(job_pid, signal.SIGKILL)
            started = time.monotonic()
            wait_until(lambda: _http_json(f"{base}/jobs/{job_id}")[1]["resumed"] >= 1, timeout=60)
            assert time.monotonic() - started < 60  # resumed within a minute
            assert _health(base)["worker"] == "ok"  # the consumer itself lives on
        wait_until(lambda: _finished(job_id), timeout=180)
        code, job = _http_json(f"{base}/jobs/{job_id}")
        assert job["status"] == "completed" and job["resumed"] >= 1, job
        import urllib.request

        with urllib.request.urlopen(f"{base}/jobs/{job_id}", timeout=10) as page:
            html = page.read().decode()
        pill = html.split('data-field="resumed"', 1)[1].split("</span>", 1)[0]
        assert " hidden" not in pill and pill.endswith(">resumed")
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait(timeout=10)
    with session_scope(get_engine(get_settings().database_url)) as s:
        paths = s.scalars(select(File.path)).all()
        statuses = Counter(s.scalars(select(File.status)))
    assert len(paths) == len(set(paths)) == count
    assert statuses["new"] == statuses["probing"] == 0, statuses


def _health(base: str) -> dict[str, Any]:
    try:
        return _http_json(f"{base}/healthz")[1]
    except OSError:  # not listening yet
        return {}


# -- PostgreSQL stops -------------------------------------------------------------------------


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder, on a free port."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
        self.bin = os.path.dirname(found[-1])
        self.base = tempfile.mkdtemp(prefix="mediafix-pg-")
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as `postgres`
            if not shutil.which("runuser"):
                pytest.skip("running as root without runuser")
            shutil.chown(self.base, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(self.base, "data")
        self.port = free_port()
        self._run(
            "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
        )
        self.start()
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE mediafix")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/mediafix"

    def dsn(self, db: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={db} connect_timeout=5"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.prefix, os.path.join(self.bin, tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            self.data,
            "-o",
            options,
            "-l",
            os.path.join(self.base, "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    try:
        yield c
    finally:
        c.remove()


def _stop_postgres_mid_import(
    env: dict[str, str], cluster: Cluster, photos: Path, log: Path
) -> tuple[int, Worker]:
    """Start an import of ``photos`` on the cluster, stop PostgreSQL once it is under way,
    check the worker lives through it, start PostgreSQL again. The worker keeps running."""
    job_id = enqueue(env, photos)
    w = Worker(env, log, workers=2)
    try:
        wait_until(lambda: job_state(job_id)["current"] >= 10, timeout=90)
        cluster.stop()
        time.sleep(4)  # the workers meet the missing database
        assert w.proc.poll() is None, log.read_text()[-2000:]
        cluster.start()
        dispose_engines()
    except BaseException:
        w.stop()
        raise
    return job_id, w


def _check_imported(url: str, photos: Path, n: int, before: dict[bytes, Any]) -> None:
    with session_scope(get_engine(url)) as s:
        assert s.scalar(select(func.count(File.id))) == n
        assert s.scalar(select(func.count(File.id)).where(File.status.in_(("new", "probing")))) == 0
    assert snapshot(photos) == before


@pytest.fixture
def pg_env(
    fault_env: dict[str, str], cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setenv("MEDIAFIX_DATABASE_URL", cluster.url)
    get_settings.cache_clear()
    upgrade(cluster.url)
    return {**fault_env, "MEDIAFIX_DATABASE_URL": cluster.url}


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_stops_mid_import_then_a_worker_restart_finishes_it(
    pg_env: dict[str, str], cluster: Cluster, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    make_library(photos, 80)
    before = snapshot(photos)
    job_id, w = _stop_postgres_mid_import(pg_env, cluster, photos, tmp_path / "w1.log")
    w.stop()
    state = job_state(job_id)
    assert state["status"] != "failed" or "database" in str(state["error"]).lower(), state
    w2 = Worker(pg_env, tmp_path / "w2.log", workers=2)  # what systemd or Docker does
    try:
        if state["status"] == "failed":  # a failed import is run again: it resumes
            job_id = enqueue(pg_env, photos)
        wait_until(lambda: _finished(job_id), timeout=120)
    finally:
        w2.stop()
    assert job_state(job_id)["status"] == "completed", job_state(job_id)
    _check_imported(cluster.url, photos, 80, before)


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_stops_mid_import_and_the_job_finishes_when_it_is_back(
    pg_env: dict[str, str], cluster: Cluster, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    make_library(photos, 80)
    before = snapshot(photos)
    job_id, w = _stop_postgres_mid_import(pg_env, cluster, photos, tmp_path / "w1.log")
    try:
        with contextlib.suppress(AssertionError):
            wait_until(lambda: _finished(job_id), timeout=20)
        assert w.proc.poll() is None
    finally:
        w.stop()
    state = job_state(job_id)
    assert state["status"] == "completed", state  # without any restart
    _check_imported(cluster.url, photos, 80, before)


# -- the output disk fills up -----------------------------------------------------------------


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _apply_cli(out: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["apply", str(out)])
    return result.exit_code, result.output


@contextlib.contextmanager
def injected_full_disk(how: str, out: Path) -> Iterator[None]:
    """After 4 files, the output disk is "full": either the copy into the output raises
    ENOSPC, or exiftool's write fails as it does on a full disk ("Error writing output
    file") while the disk reports no room left."""
    from mediafix.media import durable

    written = Counter[str]()
    with pytest.MonkeyPatch.context() as mp:
        if how == "injected-copy":
            # Both ways apply copies a file into the output: streamed (one by one) and
            # written whole (a batch, which parses the bytes it read first).
            real_copy, real_write_new = durable.copy_hashed, durable.write_new

            def room(dest: str) -> None:
                if dest.startswith(str(out)) and written["n"] >= 4:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), dest)
                written["n"] += 1

            def full_copy(source: str, dest: str) -> tuple[str, int]:
                room(dest)
                return real_copy(source, dest)

            def full_write_new(dest: str, data: bytes) -> None:
                room(dest)
                real_write_new(dest, data)

            mp.setattr(durable, "copy_hashed", full_copy)
            mp.setattr(durable, "write_new", full_write_new)
        else:
            real_write, real_statvfs = ExifTool.write_tags, os.statvfs

            def full_write(self: ExifTool, path: Any, *args: Any, **kwargs: Any) -> None:
                if written["n"] >= 4:
                    raise ExifToolError(
                        f"exiftool could not write {os.fspath(path)!r}: "
                        f"Error writing output file - {os.fspath(path)}"
                    )
                written["n"] += 1
                real_write(self, path, *args, **kwargs)

            def no_room(path: Any) -> Any:
                st = real_statvfs(path)
                if written["n"] < 4 or not os.fspath(path).startswith(str(out)):
                    return st
                return os.statvfs_result((*st[:4], 0, *st[5:]))  # f_bavail = 0

            mp.setattr(ExifTool, "write_tags", full_write)
            mp.setattr(os, "statvfs", no_room)
        yield


@pytest.mark.parametrize("how", ["tmpfs", "injected-copy", "injected-exiftool"])
def test_output_disk_full(how: str, settings_env: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    _dated_photos(photos, 12, size=(2048, 1536))  # about 90 kB each
    _cli("scan", "-w", "1", str(photos))
    before = snapshot(photos)
    disk = tmp_path / "disk"
    out = disk / "archive"
    planned = _planned(out)
    with contextlib.ExitStack() as stack:
        if how == "tmpfs":
            stack.enter_context(small_tmpfs(disk, "400k"))
        full = stack.enter_context(contextlib.ExitStack())
        if how != "tmpfs":
            full.enter_context(injected_full_disk(how, out))
        code, text = _apply_cli(out)
        assert code == 1, text
        failed = [line for line in text.splitlines() if line.strip().startswith("!")]
        assert failed and all("No space left on device" in line for line in failed), text
        written = {t: s for t, s in planned.items() if os.path.exists(t)}
        assert 0 < len(written) < len(planned)
        check_output(out, settings_env, written)  # and no XMP sidecar instead of the dates
        assert snapshot(photos) == before
        # room again: the same command writes the rest
        if how == "tmpfs":
            subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        full.close()
        code, text = _apply_cli(out)
        assert code == 0, text
        check_output(out, settings_env, planned)
    assert snapshot(photos) == before
