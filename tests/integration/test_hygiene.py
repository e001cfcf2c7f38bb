"""Storage hygiene: uploads go only after their files are in the output and time passed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.jobs import tasks
from mediafix.services.uploads import DONE_MARKER
from mediafix.services.uploads import cleanup_uploads as cleanup
from tests.helpers.media import make_jpeg


@pytest.fixture(autouse=True)
def _reset_engines() -> Iterator[None]:
    yield
    from mediafix.store.db import dispose_engines

    dispose_engines()


def _run(*args: str) -> None:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output


def test_upload_removed_after_output_and_retention(settings_env: Path, tmp_path: Path) -> None:
    upload = settings_env / "uploads" / "3"
    make_jpeg(upload / "IMG_1.jpg", 1, DateTimeOriginal="2021:01:01 10:00:00")
    make_jpeg(upload / "IMG_2.jpg", 2, DateTimeOriginal="2021:01:02 10:00:00")
    _run("scan", "-w", "1", str(upload))
    now = time.time()

    def cleanup_uploads(now: float) -> list[str]:
        return cleanup(tasks.engine(), get_settings(), now)

    assert cleanup_uploads(now) == []  # not written yet: kept
    assert not (upload / DONE_MARKER).exists()

    _run("apply", str(tmp_path / "out"))
    assert cleanup_uploads(now) == []  # written: the retention clock starts
    assert (upload / DONE_MARKER).exists()
    assert cleanup_uploads(now + 6 * 86400) == []  # within 7 days: kept
    assert cleanup_uploads(now + 7 * 86400 + 1) == [str(upload)]
    assert not upload.exists()
    assert len(list((tmp_path / "out").rglob("*.jpg"))) == 2  # the archive is untouched


def test_scratch_goes_with_its_job(settings_env: Path) -> None:
    folder = tasks.scratch_dir(42)
    (folder / "part").write_bytes(b"x")
    tasks.remove_scratch(42)
    assert not folder.exists()
