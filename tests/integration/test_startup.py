"""Start-up: what `mediafix --version` and `inspect` of one file load (issue #20).

Their time is measured in bench/scale.py; here, the modules they must not import, checked
in a fresh interpreter running the real command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from mediafix.config import Settings
from mediafix.datadir import library_location
from mediafix.homezone import light_inspect_settings
from mediafix.store.db import SCHEMA_HEAD, current_revision, get_engine, session_scope, upgrade
from mediafix.store.models import File
from tests.helpers.media import make_jpeg

HEAVY = ("sqlalchemy", "alembic", "flask", "huey", "numpy")


def _run_cli(args: list[str], cwd: Path) -> tuple[str, set[str]]:
    """Run ``mediafix ARGS`` in a new interpreter; its stdout and the modules it imported
    (each by its full name and by its top package's)."""
    code = (
        "import sys\n"
        "from mediafix.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:], prog_name='mediafix')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "names = set(sys.modules) | {m.split('.')[0] for m in sys.modules}\n"
        "print('\\n@modules@', ' '.join(sorted(names)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, check=True
    )
    text, _, modules = done.stdout.rpartition("\n@modules@ ")
    return text, set(modules.split())


def test_version_loads_no_database_settings_or_web(tmp_path: Path) -> None:
    text, modules = _run_cli(["--version"], tmp_path)
    assert "mediafix, version" in text
    assert modules.isdisjoint({*HEAVY, "pydantic", "pydantic_settings", "rich"}), modules


def test_inspect_of_one_file_loads_no_database_or_web(settings_env: Path, tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "IMG_0001.jpg", DateTimeOriginal="2021:06:12 10:11:12")
    text, modules = _run_cli(["inspect", "--json", str(photo)], tmp_path)
    record = json.loads(text)[0]
    assert record["taken_at"].startswith("2021-06-12T10:11:12")
    light = {"sqlalchemy", "alembic", "flask", "huey", "pydantic", "pydantic_settings", "rich"}
    assert modules.isdisjoint(light), modules & light
    assert "pillow_heif" not in modules  # loaded with the first HEIC or AVIF, not for a JPEG
    # np.median's NaN check loads numpy.ma (a tenth of a second); the bar trimming has its own
    assert "numpy.ma" not in modules


def test_inspect_dates_in_the_zone_settings_give_and_refuses_what_they_refuse(
    settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No offset in the photo: the home zone decides its UTC time.
    photo = make_jpeg(tmp_path / "IMG_0002.jpg", DateTimeOriginal="2021:06:12 10:11:12")
    monkeypatch.setenv("MEDIAFIX_TIMEZONE", "Asia/Tokyo")
    text, _ = _run_cli(["inspect", "--json", str(photo)], tmp_path)
    assert json.loads(text)[0]["taken_at_utc"].startswith("2021-06-12T01:11:12")
    # a spelling only pydantic-settings reads: the full settings are loaded, same answer
    monkeypatch.delenv("MEDIAFIX_TIMEZONE")
    monkeypatch.setenv("mediafix_timezone", "America/New_York")
    text, modules = _run_cli(["inspect", "--json", str(photo)], tmp_path)
    assert json.loads(text)[0]["taken_at_utc"].startswith("2021-06-12T14:11:12")
    assert "pydantic_settings" in modules
    monkeypatch.delenv("mediafix_timezone")
    monkeypatch.setenv("MEDIAFIX_TIMEZONE", "Mars/Olympus")
    done = subprocess.run(
        [sys.executable, "-m", "mediafix.cli", "inspect", "--json", str(photo)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode != 0 and "unknown time zone 'Mars/Olympus'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"MEDIAFIX_TIMEZONE": "Europe/Berlin", "MEDIAFIX_WORKERS": "3"},
        {"MEDIAFIX_TIMEZONE": "", "MEDIAFIX_WORKERS": "64"},
        {"MEDIAFIX_WORKERS": "1", "TZ": "America/Sao_Paulo"},
    ],
)
def test_the_light_inspect_settings_are_what_settings_say(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _only(env, monkeypatch)
    settings = Settings()
    assert light_inspect_settings() == (settings.timezone, settings.workers)


@pytest.mark.parametrize(
    "env",
    [
        {"mediafix_workers": "2"},
        {"MEDIAFIX_TIMEZONE": " Europe/Berlin"},
        {"MEDIAFIX_TIMEZONE": "Nowhere/Atlantis"},
        {"MEDIAFIX_WORKERS": "0"},
        {"MEDIAFIX_WORKERS": "65"},
        {"MEDIAFIX_WORKERS": "two"},
    ],
)
def test_the_light_inspect_settings_leave_the_doubtful_to_settings(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _only(env, monkeypatch)
    assert light_inspect_settings() is None


def test_db_upgrade_of_a_new_library_loads_no_sqlalchemy_or_pydantic(
    settings_env: Path, tmp_path: Path
) -> None:
    # `make run` and the Docker entrypoint start with it: the database is created from the
    # stored schema with sqlite3 alone (mediafix.store.fresh).
    light = {*HEAVY, "pydantic", "pydantic_settings", "rich"}
    for _ in ("created", "found at head"):
        text, modules = _run_cli(["db", "upgrade"], tmp_path)
        assert f"database {settings_env / 'mediafix.db'} is at revision {SCHEMA_HEAD}" in text
        assert modules.isdisjoint(light), modules & light
    url = f"sqlite:///{settings_env / 'mediafix.db'}"
    assert current_revision(url) == SCHEMA_HEAD
    upgrade(url)  # the full way agrees: nothing to do
    with session_scope(get_engine(url)) as s:
        assert s.scalars(select(File)).all() == []


def test_db_upgrade_of_an_older_library_migrates_it(settings_env: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{settings_env / 'mediafix.db'}"
    upgrade(url, "0001")
    text, modules = _run_cli(["db", "upgrade"], tmp_path)
    assert f"is at revision {SCHEMA_HEAD}" in text and "alembic" in modules
    assert current_revision(url) == SCHEMA_HEAD


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"MEDIAFIX_DATA_DIR": "~/lib"},
        {"MEDIAFIX_DATA_DIR": "rel/../lib"},
        {"MEDIAFIX_DATA_DIR": "/x", "MEDIAFIX_DATABASE_URL": "postgresql://u@h/db"},
        {"MEDIAFIX_DATA_DIR": "/x", "MEDIAFIX_DATABASE_URL": ""},
    ],
)
def test_the_light_library_location_is_what_settings_say(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    _only(env, monkeypatch)
    where = library_location()
    assert where is not None
    settings = Settings()
    assert (where.data_dir, where.database_url) == (settings.data_dir, settings.database_url)


def test_the_light_library_location_leaves_other_spellings_to_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("mediafix_data_dir", "/elsewhere")  # pydantic-settings reads it too
    assert library_location() is None


def _only(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment's ``MEDIAFIX_*`` variables are ``env``'s alone."""
    for var in [k for k in os.environ if k.upper().startswith("MEDIAFIX_")]:
        monkeypatch.delenv(var)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
