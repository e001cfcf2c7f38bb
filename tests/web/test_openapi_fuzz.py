"""Schemathesis against ``docs/openapi.yaml``, through WSGI into the real app (issue #8).

Every operation of the description is a test (``test_answers_as_documented[GET /jobs]``)
that calls the app with the cases schemathesis makes from the description: its examples,
its coverage phase (edge values, missing and wrongly typed parameters) and a fixed number
of Hypothesis cases, valid and invalid. Every answer must

* not be a server error (5xx, or an exception escaping the app),
* have a status code and a content type the description declares for the operation,
* have a body and headers that match the declared schemas.

Each operation gets a fresh app (``create_app`` through ``web_app``: a temp data folder, the
queue in memory, so operations that enqueue jobs only write job rows and queue messages and
no worker runs) on a copy of one library: a few real photos scanned and grouped once per
module, so ids exist and there are groups and files to review. The app lives for all the
cases of its operation (hence the suppressed ``function_scoped_fixture`` health check):
what one case changes, the next one sees.

Nothing outside the test's folders is touched: the output folder is ``tmp_path/output``;
the photos' folder is the only import root, and a relative path sent to ``/imports`` is
taken inside it (as relative it would only be refused), so cases reach the checks there;
``POST /settings`` cannot point ``output_dir`` outside ``tmp_path`` (an absolute path is
replaced by one inside it; relative and broken values are kept, they must be refused).

Every case carries ``X-Requested-With`` and no ``X-CSRF-Token``, the way a script passes the
CSRF check, so cases reach the handlers (a wrong token is 403: ``test_web_auth.py``).
``test_without_credentials_only_401`` sets a password and sends no credentials: every
operation but ``/healthz`` and ``/login`` must answer 401 with a JSON error.

Deterministic: a fixed seed, ``derandomize``, no example database.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis import Case

from mediafix.config import Settings
from mediafix.services import library
from mediafix.services.duplicates import regroup
from mediafix.services.thumbnails import build_missing
from mediafix.store.db import dispose_engines, get_engine, upgrade
from tests.helpers.media import make_jpeg
from tests.helpers.paths import DOCS
from tests.helpers.web import Web, web_app

OPENAPI = DOCS / "openapi.yaml"
MAX_EXAMPLES = 60  # Hypothesis cases per operation, besides the examples and coverage phases
LOCKED_EXAMPLES = 5  # the same, without credentials (no coverage phase)
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
PASSWORD = "fuzz-4b1f0c2e-not-guessable"
OPEN = {"GET /healthz", "POST /login"}


def config(max_examples: int, *, coverage: bool = True) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": 8,
            "headers": {"X-Requested-With": "schemathesis"},
            "generation": {
                "mode": "all",
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
                "with-security-parameters": False,
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": coverage},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )


SCHEMA = schemathesis.openapi.from_path(OPENAPI, config=config(MAX_EXAMPLES))
LOCKED = schemathesis.openapi.from_path(OPENAPI, config=config(LOCKED_EXAMPLES, coverage=False))


@dataclass
class Library:
    photos: Path  # the import root
    data: Path  # a data folder holding the scanned library (copied for each test)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """Real photos, scanned, grouped and with thumbnails: an original, its byte copy, a
    smaller copy, another photo, an undated one and a text file."""
    base = tmp_path_factory.mktemp("fuzz-library")
    root = base / "photos"
    original = make_jpeg(
        root / "camera" / "IMG_1000.JPG", 11, DateTimeOriginal="2020:07:04 12:00:00"
    )
    (root / "backup").mkdir()
    shutil.copy2(original, root / "backup" / "IMG_1000.JPG")
    Image.open(original).resize((320, 240)).save(root / "small.jpg", "JPEG", quality=70)
    make_jpeg(root / "camera" / "IMG_1001.JPG", 99, DateTimeOriginal="2020:07:04 13:00:00")
    make_jpeg(root / "scans" / "scan.jpg", 5)
    (root / "notes.txt").write_text("not a photo")
    data = base / "data"
    env = Settings(
        data_dir=data,
        output_dir=base / "output",
        database_url=f"sqlite:///{data / 'mediafix.db'}",
        timezone="Europe/Berlin",
        workers=1,
    )
    env.ensure_dirs()
    upgrade(env.database_url)
    engine = get_engine(env.database_url)
    summary = library.scan([str(root)], env, engine, workers=1)
    assert summary.probed == 6 and summary.errors == 0, summary
    assert regroup(engine, env).exact == 1
    build_missing(engine, env)
    dispose_engines()
    return Library(root, data)


@pytest.fixture
def web(settings_env: Path, scanned: Library, monkeypatch: pytest.MonkeyPatch) -> Iterator[Web]:
    """The app on a copy of the scanned library; its only import root is the photos' folder."""
    shutil.copytree(scanned.data, settings_env)
    monkeypatch.setenv("MEDIAFIX_IMPORT_ROOTS", str(scanned.photos))
    with web_app() as w:
        yield w
    dispose_engines()


def in_root(raw: object, root: Path) -> object:
    """A relative server path made absolute inside the import root (it would only be
    refused as relative): so cases reach the checks there (``..``, too long, missing)."""
    if isinstance(raw, str) and raw.strip() and not raw.strip().startswith("/"):
        return f"{root}/{raw}"
    return raw


def as_a_script(case: Case, tmp_path: Path, root: Path) -> None:
    """The CSRF pass of a script, server paths inside the import root, and no output folder
    outside ``tmp_path``."""
    if case.headers:
        case.headers.pop("X-CSRF-Token", None)
    label = case.operation.label
    if label == "POST /imports" and isinstance(case.body, dict) and "path" in case.body:
        case.body["path"] = in_root(case.body["path"], root)
    elif label == "GET /imports/browse" and case.query and "path" in case.query:
        case.query["path"] = in_root(case.query["path"], root)
    elif label == "POST /settings" and isinstance(case.body, dict):
        raw = case.body.get("output_dir")
        if isinstance(raw, str) and "\x00" not in raw and os.path.isabs(os.path.expanduser(raw)):
            case.body["output_dir"] = str(tmp_path / "elsewhere")


@SCHEMA.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_answers_as_documented(case: Case, web: Web, scanned: Library, tmp_path: Path) -> None:
    as_a_script(case, tmp_path, scanned.photos)
    case.call_and_validate(app=web.app)


@pytest.fixture
def locked(settings_env: Path) -> Iterator[Web]:
    """The app with a password, on an empty library."""
    with web_app(MEDIAFIX_PASSWORD=PASSWORD) as w:
        yield w
    dispose_engines()


@LOCKED.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_without_credentials_only_401(case: Case, locked: Web) -> None:
    """No credentials, and whatever CSRF token schemathesis makes up: 401 (with a JSON error
    as documented), except ``/healthz`` and ``/login`` (a wrong token there is 403)."""
    response = case.call_and_validate(app=locked.app)
    if case.operation.label not in OPEN:
        assert response.status_code == 401, case.as_curl_command()
        assert response.json()["error"].startswith("login required")
    elif case.operation.label == "POST /login":
        assert response.status_code != 200, case.as_curl_command()
