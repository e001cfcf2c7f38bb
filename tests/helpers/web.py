"""What the web tests share: an app on a temp data folder with its queue held in memory.

Holds no tests itself; ``tests/web/test_*.py`` (and a few integration tests) import
:func:`web_app` and :class:`Web`.
Every enqueued task stays in an in-memory queue (``Web.pending()`` lists them) unless a
test sets ``huey.immediate = True`` through :meth:`Web.immediate`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from huey.storage import MemoryStorage
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from mediafix.config import Settings, get_settings
from mediafix.jobs import enqueue, huey
from mediafix.store.db import get_engine, session_scope
from mediafix.store.models import DuplicateGroup, DuplicateMember, File
from mediafix.web import create_app, security

JSON = {"Accept": "application/json"}
SCRIPT = {"Accept": "application/json", "X-Requested-With": "test"}


class Web:
    """An app, a logged-out browser-like client and helpers to fill the library."""

    def __init__(self, app: Flask, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.client: FlaskClient = app.test_client()
        self.engine: Engine = get_engine(settings.database_url)
        self._n = 0

    # -- the library --------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as s:
            yield s

    def add_file(self, name: str | None = None, **fields: Any) -> int:
        """A File row as a scan would leave it (every field can be overridden)."""
        self._n += 1
        name = name or f"IMG_{self._n:04d}.jpg"
        folder = fields.pop("folder", "/photos/trip")
        values: dict[str, Any] = {
            "root": "/photos",
            "rel_path": f"{folder.removeprefix('/photos/')}/{name}",
            "path": f"{folder}/{name}",
            "name": name,
            "kind": "image",
            "format": "jpeg",
            "ext": ".jpg",
            "ext_mismatch": False,
            "size": 1000 + self._n,
            "mtime": 1.0,
            "sha256": f"{self._n:064x}",
            "phash": "c3a1" * 4,
            "width": 640,
            "height": 480,
            "taken_at": datetime(2019, 9, 19, 5, 38, self._n % 60),
            "utc_offset": 120,
            "offset_source": "exif:OffsetTimeOriginal",
            "taken_at_utc": datetime(2019, 9, 19, 3, 38, self._n % 60),
            "confidence": 0.95,
            "confidence_level": "high",
            "date_source": "exif:DateTimeOriginal",
            "date_reason": "camera EXIF DateTimeOriginal with its offset",
            "date_precision": "second",
            "candidates": [],
            "sidecars": [],
            "meta": {},
            "tags": [],
            "status": "ready",
        }
        values.update(fields)
        if os.path.isfile(values["path"]):
            # A real file: the size and mtime the scan would have recorded (the original
            # and its thumbnail are read only while the file is still that one), and its
            # folder as the root unless a test names one.
            st = os.stat(values["path"])
            values["size"] = fields.get("size", st.st_size)
            values["mtime"] = fields.get("mtime", st.st_mtime)
            if "root" not in fields:
                values["root"] = folder
        with self.session() as s:
            row = File(**values)
            s.add(row)
            s.flush()
            return row.id

    def add_group(
        self,
        type_: str,
        file_ids: list[int],
        keeper: int | None = None,
        reasons: list[str] | None = None,
    ) -> int:
        keeper = keeper if keeper is not None else file_ids[0]
        with self.session() as s:
            group = DuplicateGroup(
                type=type_,
                keeper_id=keeper,
                reasons=reasons or ["the same picture", "larger resolution"],
                status="pending",
            )
            for fid in file_ids:
                group.members.append(
                    DuplicateMember(
                        file_id=fid,
                        distance=0 if type_ == "exact" else 4,
                        keep=type_ == "burst" or fid == keeper,
                    )
                )
            s.add(group)
            s.flush()
            return group.id

    # -- requests ------------------------------------------------------------------------
    def csrf(self) -> str:
        """The session's CSRF token, as a page gives it."""
        html = self.client.get("/settings").get_data(as_text=True)
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
        assert match, "no CSRF token in the page"
        return match.group(1)

    def post(self, url: str, **kwargs: Any) -> TestResponse:
        """A POST as the page's own script makes it (with the CSRF header)."""
        headers = {"X-CSRF-Token": self.csrf(), **JSON, **kwargs.pop("headers", {})}
        return self.client.post(url, headers=headers, **kwargs)

    def get_json(self, url: str) -> TestResponse:
        return self.client.get(url, headers=JSON)

    # -- the queue -----------------------------------------------------------------------
    def pending(self) -> list[tuple[str, tuple[Any, ...]]]:
        """(task name, args) of every task waiting in the queue."""
        return [(t.name, tuple(t.args)) for t in huey.pending()]

    @contextmanager
    def immediate(self) -> Iterator[None]:
        """Run tasks as they are enqueued (in this process) inside the block."""
        storage = huey.storage
        huey.immediate = True
        try:
            yield
        finally:
            huey.immediate = False
            huey.storage = storage


@contextmanager
def web_app(**config: Any) -> Iterator[Web]:
    """The app for the current ``MEDIAFIX_*`` (use with ``settings_env``), queue in memory."""
    get_settings.cache_clear()
    settings = get_settings()
    saved = huey.storage
    huey.storage = MemoryStorage(huey.name)
    enqueue._last_thumbs = 0.0
    security.FAILURES.seen.clear()
    try:
        app = create_app({"TESTING": True, **config})
        yield Web(app, settings)
    finally:
        huey.immediate = False
        huey.storage = saved
        security.FAILURES.seen.clear()
