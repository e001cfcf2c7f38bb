"""Background jobs with a real Huey consumer process: progress, cancel, SIGKILL and resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from mediafix.config import get_settings
from mediafix.store.db import get_engine, make_engine, session_scope, upgrade
from mediafix.store.models import File, Job
from tests.helpers.media import make_jpeg
from tests.helpers.paths import HELPERS, REPO, SRC

pytestmark = pytest.mark.slow

FAULT_WORKER = HELPERS / "fault_worker.py"

# A kill that must land while an import runs: the worker stops dead once it has probed its
# 2nd batch, before saving it (``fault_worker.py``'s ``probed:2``), so the kill finds one
# batch saved, one probed but unsaved and three still queued, however fast the machine.
# (Killing at a moment the test polled for took 1,200 files: plain JPEGs are read
# in-process, media.jpegexif, and a loaded machine's kill arrived after hundreds.)
MID_JOB_FILES = 80
MID_JOB_POINT = "probed:2"


def make_library(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        sub = folder / f"{2010 + i % 5}"
        paths.append(make_jpeg(sub / f"IMG_{i:04d}.jpg", seed=i, size=(320, 240)))
    # exiftool writes are slow; give every tenth file a camera date
    return paths


def mediafix(
    *args: str, env: dict[str, str], check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediafix.cli", *args],
        env=env,
        text=True,
        capture_output=True,
        check=check,
        timeout=timeout,
    )


class Worker:
    """A real ``mediafix worker`` process, its output kept in a log file."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2) -> None:
        self.log = log
        self.fh = open(log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediafix.cli", "worker", "-w", str(workers)],
            env=env,
            stdout=self.fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.fh.close()


class FaultWorker(Worker):
    """``tests/helpers/fault_worker.py``: a worker that stops dead at ``point`` (see there)."""

    def __init__(self, env: dict[str, str], log: Path, point: str, marker: Path) -> None:
        self.log = log
        self.fh = open(log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(FAULT_WORKER), point, str(marker), "-w", "1"],
            env=env,
            stdout=self.fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.fixture
def worker_env(settings_env: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + str(REPO)
    upgrade(get_settings().database_url)
    yield env


def job_state(job_id: int) -> dict[str, object]:
    # Read as the web's job page reads (a deferred transaction on SQLite): a poll must not
    # queue for the write lock a worker's regroup holds, nor fail after the busy timeout.
    reader = make_engine(get_settings().database_url, immediate=False, poolclass=NullPool)
    with session_scope(reader) as s:
        job = s.get(Job, job_id)
        assert job is not None
        return {
            "status": job.status,
            "current": job.progress_current,
            "total": job.progress_total,
            "message": job.message,
            "error": job.error,
        }


def wait_until(predicate, timeout: float = 90.0, every: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def enqueue(env: dict[str, str], folder: Path) -> int:
    result = mediafix("import", str(folder), env=env)
    m = re.search(r"import job (\d+) queued", result.stdout)
    assert m, result.stdout + result.stderr
    return int(m.group(1))


def probed_batches(log: Path) -> list[list[int]]:
    """The file ids of each batch a worker probed, in order (its ``probed files`` lines)."""
    batches = []
    for line in log.read_text(errors="replace").splitlines():
        m = re.search(r"probed files ([\d,]+)", line)
        if m:
            batches.append([int(x) for x in m.group(1).split(",")])
    return batches


def probed_ids(*logs: Path) -> Counter[int]:
    seen: Counter[int] = Counter()
    for log in logs:
        for batch in probed_batches(log):
            seen.update(batch)
    return seen


def test_import_runs_in_a_worker_with_progress(worker_env: dict[str, str], tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_library(photos, 40)
    (photos / "notes.txt").write_text("not a photo")
    job_id = enqueue(worker_env, photos)
    assert job_state(job_id)["status"] == "pending"
    w = Worker(worker_env, tmp_path / "worker.log")
    try:
        seen_progress = set()

        def finished() -> bool:
            st = job_state(job_id)
            seen_progress.add(st["current"])
            return st["status"] in ("completed", "failed", "cancelled")

        wait_until(finished)
    finally:
        w.stop()
    st = job_state(job_id)
    assert st["status"] == "completed", st
    assert st["current"] == st["total"] == 41
    assert len(seen_progress) >= 2  # progress moved while it ran
    with session_scope(get_engine(get_settings().database_url)) as s:
        statuses = Counter(s.scalars(select(File.status)))
    assert statuses["new"] == 0 and statuses["probing"] == 0
    assert statuses["skipped"] == 1  # notes.txt
    assert sum(statuses.values()) == 41
    # `mediafix jobs --json` reports the same
    listed = json.loads(mediafix("jobs", "--json", env=worker_env).stdout)
    assert listed[0]["id"] == job_id and listed[0]["status"] == "completed"


def test_cancel_stops_promptly_and_leaves_consistent_rows(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    make_library(photos, 160)
    job_id = enqueue(worker_env, photos)
    w = Worker(worker_env, tmp_path / "worker.log", workers=1)
    try:
        wait_until(lambda: job_state(job_id)["current"] > 0)
        from mediafix.store.jobs import request_cancel

        with session_scope(get_engine(get_settings().database_url)) as s:
            request_cancel(s, job_id)
        asked = time.monotonic()
        wait_until(lambda: job_state(job_id)["status"] == "cancelled", timeout=30)
        assert time.monotonic() - asked < 15
    finally:
        w.stop()
    with session_scope(get_engine(get_settings().database_url)) as s:
        statuses = Counter(s.scalars(select(File.status)))
    assert statuses["probing"] == 0  # nothing left half-done
    assert statuses["new"] > 0  # the rest was not probed
    assert sum(statuses.values()) == 160


def test_a_cancel_between_two_batches_ends_the_job(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    """The batch in flight used to be the only one to end a cancelled import: a cancel asked
    between two batches left the job "running" for good (test_cancel_... was flaky)."""
    from mediafix.jobs import tasks
    from mediafix.services.imports import register_chunk
    from mediafix.services.pipeline import iter_found
    from mediafix.store import jobs as jobrows

    photos = tmp_path / "photos"
    make_library(photos, 4)
    engine = get_engine(get_settings().database_url)
    with session_scope(engine) as s:
        job = jobrows.create_job(s, "import", {"paths": [str(photos)], "discovered": True})
        job_id = job.id
        assert jobrows.try_start(s, job_id)
        ids, _ = register_chunk(s, job_id, list(iter_found([str(photos)])))
    tasks.probe_files.call_local(job_id, ids[:2])  # a first batch, done
    with session_scope(engine) as s:
        jobrows.request_cancel(s, job_id)  # no batch in flight now
    tasks.probe_files.call_local(job_id, ids[2:])  # the next one finds the cancel
    state = job_state(job_id)
    assert state["status"] == "cancelled", state
    with session_scope(engine) as s:
        statuses = Counter(s.scalars(select(File.status)))
    assert statuses["new"] == 2 and statuses["probing"] == 0


def test_sigkill_mid_import_resumes_without_duplicates(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    make_library(photos, MID_JOB_FILES)
    job_id = enqueue(worker_env, photos)
    log1, log2 = tmp_path / "w1.log", tmp_path / "w2.log"
    marker = tmp_path / "paused"
    w = FaultWorker(worker_env, log1, MID_JOB_POINT, marker)
    try:
        wait_until(marker.exists)
    finally:
        w.kill()
        w.fh.close()
    assert job_state(job_id)["status"] == "running"
    *saved, unsaved = probed_batches(log1)  # the last one probed, never saved
    assert len(saved) == 1 and len(unsaved) == 16
    w2 = Worker(worker_env, log2)
    try:
        wait_until(
            lambda: job_state(job_id)["status"] in ("completed", "failed", "cancelled"), timeout=120
        )
    finally:
        w2.stop()
    assert job_state(job_id)["status"] == "completed"
    with session_scope(get_engine(get_settings().database_url)) as s:
        n = s.scalar(select(func.count(File.id)))
        paths = s.scalars(select(File.path)).all()
        statuses = Counter(s.scalars(select(File.status)))
    assert n == MID_JOB_FILES and len(set(paths)) == MID_JOB_FILES
    assert statuses["new"] == statuses["probing"] == 0
    seen = probed_ids(log1, log2)
    # Every file was probed; only the batch the kill interrupted was redone (its results
    # were never saved), the one saved before it was not.
    assert len(seen) == MID_JOB_FILES
    assert {i for i, c in seen.items() if c > 1} == set(unsaved)


def _redis_url() -> str:
    import random

    import redis

    db = random.randint(1, 15)
    url = f"redis://127.0.0.1:6379/{db}"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.flushdb()
    except Exception:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis at 127.0.0.1:6379 is not reachable (CI needs it)")
        pytest.skip("Redis at 127.0.0.1:6379 is not reachable")
    return url


@pytest.mark.postgres
def test_two_workers_share_an_import_on_postgres_and_redis(
    worker_env: dict[str, str], tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_url = _redis_url()
    env = {**worker_env, "MEDIAFIX_DATABASE_URL": pg_url, "MEDIAFIX_QUEUE_URL": redis_url}
    monkeypatch.setenv("MEDIAFIX_DATABASE_URL", pg_url)
    monkeypatch.setenv("MEDIAFIX_QUEUE_URL", redis_url)
    get_settings.cache_clear()
    upgrade(pg_url)
    photos = tmp_path / "photos"
    make_library(photos, 300)
    job_id = enqueue(env, photos)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [Worker(env, logs[0], workers=1), Worker(env, logs[1], workers=1)]
    try:
        wait_until(lambda: job_state(job_id)["status"] in ("completed", "failed"), timeout=180)
    finally:
        for w in workers:
            w.stop()
    assert job_state(job_id)["status"] == "completed"
    seen = probed_ids(*logs)
    assert len(seen) == 300  # none lost
    assert max(seen.values()) == 1  # none probed twice
    per_worker = [sum(probed_ids(log).values()) for log in logs]
    assert all(n > 0 for n in per_worker), per_worker  # both took a share
    with session_scope(get_engine(pg_url)) as s:
        assert s.scalar(select(func.count(File.id))) == 300
        assert s.scalar(select(func.count(File.id)).where(File.status.in_(("new", "probing")))) == 0
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def test_an_import_forgets_the_files_gone_since_the_last(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    """Files deleted from a folder between two imports of it leave the library with the
    second, which says how many."""
    photos = tmp_path / "photos"
    make_library(photos, 6)
    w = Worker(worker_env, tmp_path / "worker.log")
    try:
        first = enqueue(worker_env, photos)
        wait_until(lambda: job_state(first)["status"] == "completed")
        gone = sorted(photos.rglob("*.jpg"))[:2]
        for path in gone:
            path.unlink()
        second = enqueue(worker_env, photos)
        wait_until(lambda: job_state(second)["status"] == "completed")
    finally:
        w.stop()
    assert "2 gone since, forgotten" in str(job_state(second)["message"])
    with session_scope(get_engine(get_settings().database_url)) as s:
        paths = set(s.scalars(select(File.path)))
    assert len(paths) == 4 and not paths & {str(p) for p in gone}
