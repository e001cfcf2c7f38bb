"""The whole product in a real Chromium: upload a folder, review, fix a date, write the archive.

The app runs as ``mediafix serve`` does (``mediafix.web.serve`` in a subprocess with its
embedded worker) on a free port with a temp data folder. A screenshot of every page is saved
in ``test-artifacts/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    ROOT,
    SHOTS,
    get_json,
    launched_chromium,
    make_photos,
    thumbs_ready,
    wait_for,
)
from tests.helpers.net import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``mediafix serve`` (web + one embedded worker) on a free port; yields (url, output)."""
    data, output = tmp_path / "data", tmp_path / "output"
    # The import root holds the photos only: an output folder or a data folder inside an
    # import root is refused (issue 15).
    photos = tmp_path / "My photos"
    photos.mkdir()
    env = dict(os.environ)
    for var in list(env):
        if var.startswith("MEDIAFIX_"):
            del env[var]
    env.update(
        MEDIAFIX_DATA_DIR=str(data),
        MEDIAFIX_OUTPUT_DIR=str(output),
        MEDIAFIX_TIMEZONE="Europe/Berlin",
        MEDIAFIX_WORKERS="2",
        MEDIAFIX_IMPORT_ROOTS=str(photos),
        PYTHONPATH=str(ROOT / "src"),
    )
    port = free_port()
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediafix.web.serve", "--port", str(port), "-w", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return bool(get_json(url + "/healthz")["status"] == "ok")
        except OSError:
            return proc.poll() is not None  # stop waiting if it died

    try:
        wait_for(up, timeout=30)
        assert proc.poll() is None, (tmp_path / "server.log").read_text()
        yield url, output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture
def browser_page() -> Iterator[Any]:
    with launched_chromium() as browser:
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: errors.append(msg.text) if msg.type == "error" else None,
        )
        page.js_errors = errors  # type: ignore[attr-defined]
        yield page
        context.close()


def shot(page: Any, name: str, full: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def test_from_mess_to_archive(server: tuple[str, Path], browser_page: Any, tmp_path: Path) -> None:
    url, output = server
    page = browser_page
    photos = tmp_path / "My photos"
    make_photos(photos)

    page.goto(url + "/")
    shot(page, "01-home-empty")

    # Import: a whole folder through the folder picker, with its sub-folders kept.
    page.goto(url + "/import")
    page.wait_for_selector("#browse-list button")
    shot(page, "02-import")
    page.set_input_files("#pick-folder", str(photos))
    page.wait_for_url("**/jobs/*", timeout=30_000)
    job_url = page.url
    page.wait_for_selector('[data-field="status-pill"] .pill-completed', timeout=60_000)
    page.wait_for_selector(".next-steps", timeout=10_000)
    shot(page, "03-job-completed")
    job = get_json(job_url)
    assert job["status"] == "completed", job
    assert job["files"].get("ready", 0) + job["files"].get("review", 0) == 5, job
    uploaded = Path(job["params"]["paths"][0])
    assert (uploaded / "My photos" / "Italy 2019" / "IMG_0001.jpg").is_file()

    # Duplicates: the exact copy is grouped (by the regroup that follows an import).
    groups = wait_for(lambda: get_json(url + "/review/duplicates")["groups"], timeout=30)
    assert len(groups) == 1 and groups[0]["type"] == "exact"
    group = groups[0]
    wait_for(lambda: thumbs_ready(url, [m["file_id"] for m in group["members"]]), timeout=30)
    page.goto(url + "/review/duplicates")
    shot(page, "04-duplicates")
    page.click("text=Review one by one")
    page.wait_for_selector("#group-form")
    shot(page, "05-duplicate-group")
    # Keyboard: "2" keeps only the second copy, Enter saves (and there is no next group).
    page.keyboard.press("2")
    assert page.locator(".member").nth(0).get_attribute("class").find("discard") >= 0
    page.keyboard.press("Enter")
    page.wait_for_url("**/review/duplicates")
    page.wait_for_selector(".flash-success")
    decided = get_json(url + f"/review/duplicates/{group['id']}")
    assert decided["status"] == "resolved"
    assert [m["keep"] for m in decided["members"]] == [False, True]

    # Dates: the scan has only a file date; type the right one.
    page.goto(url + "/review/timestamps")
    rows = get_json(url + "/review/timestamps")
    assert [r["path"].endswith("scan_0007.jpg") for r in rows] == [True], rows
    scan_id = rows[0]["id"]
    # The upload kept the file's modification time, a (weak) clue to its date.
    assert rows[0]["candidates"][0]["source"] == "file:mtime"
    assert rows[0]["candidates"][0]["value"].startswith("2023-11-14T23:13:20"), rows[0]
    shot(page, "06-dates")
    row = page.locator(f"#file-{scan_id}")
    row.locator("input[name=taken_at]").fill("1998-07-14 16:30")
    row.locator("input[name=utc_offset]").fill("")
    row.locator("button:has-text('Set date')").click()
    page.wait_for_selector(f"#file-{scan_id}.confirmed")
    shot(page, "07-date-confirmed")
    fixed = get_json(url + f"/files/{scan_id}")
    assert fixed["taken_at"] == "1998-07-14T16:30:00"
    assert fixed["utc_offset"] == "+02:00"  # Berlin in summer
    assert fixed["source"] == "user" and fixed["confidence"] == 1.0
    assert fixed["status"] == "ready"

    # Library: select two photos and tag them.
    page.goto(url + "/library")
    tiles = page.locator(".tile")
    assert tiles.count() == 5
    tiles.nth(0).locator(".tile-check").click()
    tiles.nth(1).locator(".tile-check").click()
    page.fill("#lib-selection input[name=tag]", "Family")
    shot(page, "08-library-selection", full=False)
    page.click("#lib-selection button[value=add]")
    page.wait_for_selector(".flash-success")
    shot(page, "09-library")
    tagged = get_json(url + "/library?tag=Family")
    assert len(tagged) == 2
    page.goto(url + f"/files/{scan_id}")
    shot(page, "10-file")

    page.goto(url + "/settings")
    shot(page, "11-settings")
    page.goto(url + "/jobs")
    shot(page, "12-jobs")

    # Output: preview, apply (copy), browse the archive.
    page.goto(url + "/output")
    shot(page, "13-output-preview")
    page.click("#apply-form button.btn-primary")
    page.click("#confirm-dialog .dialog-ok")
    page.wait_for_url("**/jobs/*", timeout=15_000)
    page.wait_for_selector('[data-field="status-pill"] .pill-completed', timeout=60_000)
    written = sorted(p.relative_to(output).as_posix() for p in output.rglob("*.jpg"))
    assert "2019/20190919_053857.jpg" in written, written
    assert "1998/19980714_163000.jpg" in written, written
    assert len(written) == 4, written  # five photos, one copy left out
    page.goto(url + "/output/browse")
    shot(page, "14-output-browse")
    page.goto(url + "/output/browse?path=2019")
    shot(page, "15-output-year")
    page.goto(url + "/")
    shot(page, "16-home-done")
    page.emulate_media(color_scheme="dark")
    page.goto(url + "/library")
    shot(page, "17-library-dark")
    page.goto(url + f"/review/duplicates/{group['id']}")
    shot(page, "18-duplicate-group-dark")
    assert not page.js_errors, page.js_errors
