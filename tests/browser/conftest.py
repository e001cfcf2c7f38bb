"""Fixtures of the browser tests: Chromium through Playwright, and a library told as a story.

The page tests look at every page in each state a person meets it in. The states come in
the order a person goes through them (an empty library, imported, archive written, undone);
``Story.at(state)`` moves one app forward through them with the web API, and starts a fresh
app when a test asks for an earlier state than the app is in (a test run alone, ``-k``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    Server,
    get_json,
    launched_chromium,
    make_library,
    post_json,
    thumbs_ready,
    wait_for,
    wait_job,
)

STATES = ("empty", "imported", "applied", "undone")


class Story:
    """One app and how far a person got with it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.server: Server | None = None
        self.state = ""
        self.jobs: dict[str, int] = {}
        self.runs = 0

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def at(self, state: str) -> Story:
        if self.server is None or STATES.index(state) < STATES.index(self.state):
            self._fresh()
        while self.state != state:
            step = STATES[STATES.index(self.state) + 1]
            getattr(self, "_to_" + step)()
            self.state = step
        return self

    def _fresh(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.runs += 1
        self.server = Server(self.base / f"app{self.runs}").start()
        self.jobs = {}
        self.state = "empty"

    def _to_imported(self) -> None:
        assert self.server is not None
        make_library(self.server.photos)
        started = post_json(self.url + "/imports", {"path": str(self.server.photos)})
        self.jobs["import"] = started["job_id"]
        job = wait_job(self.url, started["job_id"])
        assert job["status"] == "completed", job
        # The regroup that follows an import, and the thumbnails a worker makes.
        wait_for(lambda: len(get_json(self.url + "/review/duplicates")["groups"]) >= 2, 60)
        ids = [f["id"] for f in get_json(self.url + "/library?per_page=500")]
        wait_for(lambda: thumbs_ready(self.url, ids), timeout=60)

    def _to_applied(self) -> None:
        started = post_json(self.url + "/output/apply", {"move": False})
        self.jobs["output"] = started["job_id"]
        job = wait_job(self.url, started["job_id"])
        assert job["status"] == "completed", job

    def _to_undone(self) -> None:
        started = post_json(self.url + "/output/undo")
        self.jobs["undo"] = started["job_id"]
        job = wait_job(self.url, started["job_id"])
        assert job["status"] == "completed", job

    def running_job(self) -> int:
        """A job row as a worker leaves it mid-run (40 of 143 files, started 20 s ago): a
        real job is too quick to catch running. Written the way workers write it."""
        from mediafix.store.db import get_engine, session_scope
        from mediafix.store.models import Job

        assert self.server is not None
        now = datetime.now(UTC).replace(tzinfo=None)
        with session_scope(get_engine(self.server.database_url)) as s:
            job = Job(
                type="undo",
                status="running",
                params={},
                progress_current=40,
                progress_total=143,
                message="removing written files",
                created_at=now - timedelta(seconds=21),
                started_at=now - timedelta(seconds=20),
                updated_at=now,
                worker="elsewhere:1",
                heartbeat_at=now,
            )
            s.add(job)
            s.flush()
            job_id = job.id
        return job_id

    def end_job(self, job_id: int) -> None:
        """Finish a job ``running_job`` made (it must not hold back the jobs after it)."""
        from mediafix.store.db import get_engine, session_scope
        from mediafix.store.models import Job

        assert self.server is not None
        now = datetime.now(UTC).replace(tzinfo=None)
        with session_scope(get_engine(self.server.database_url)) as s:
            job = s.get(Job, job_id)
            assert job is not None
            job.status, job.finished_at, job.message = "cancelled", now, "cancelled"

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.fixture(scope="session")
def story() -> Iterator[Story]:
    base = Path(tempfile.mkdtemp(prefix="mediafix-pages-"))
    told = Story(base)
    try:
        yield told
    finally:
        told.close()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def locked_app() -> Iterator[Server]:
    """An app with a password: the login page."""
    base = Path(tempfile.mkdtemp(prefix="mediafix-login-"))
    server = Server(base / "app", MEDIAFIX_PASSWORD="correct horse battery").start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


def new_page(browser: Any, width: int, height: int) -> Any:
    """A page in a context of its own (cookies, viewport) that records script errors."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    return page
