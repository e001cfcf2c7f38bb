"""What the browser tests share: the app as ``mediafix serve`` runs it, a generated library,
and the look every page gets at a desktop and a phone size (overflow, screenshot, axe-core).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image

from tests.helpers.media import make_jpeg, scene
from tests.helpers.net import free_port
from tests.helpers.paths import REPO

ROOT = REPO
SHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (the test is skipped where it is missing)."""
    executable = shutil.which("chromium")
    if executable is None:
        import pytest

        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# The two sizes every page is looked at: a laptop and a phone (an iPhone 12-15's CSS pixels).
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
# What axe-core may report without failing a test: only minor and moderate findings.
FAILING_IMPACTS = ("serious", "critical")


def get_json(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def post_json(url: str, data: dict[str, Any] | None = None) -> Any:
    """A script's POST: JSON in and out, ``X-Requested-With`` instead of a CSRF token."""
    request = urllib.request.Request(
        url,
        data=json.dumps(data or {}).encode(),
        method="POST",
        headers={
            "Accept": "application/json",
            "Content-Type": "application/json",
            "X-Requested-With": "tests",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"POST {url}: {exc.code} {exc.read()[:500]!r}") from exc


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def wait_job(url: str, job_id: int, timeout: float = 120.0) -> dict[str, Any]:
    """The job's JSON once it finished (completed, failed or cancelled)."""

    def done() -> dict[str, Any] | None:
        job = get_json(f"{url}/jobs/{job_id}")
        return job if job["status"] in ("completed", "failed", "cancelled") else None

    job: dict[str, Any] = wait_for(done, timeout=timeout)
    return job


def thumbs_ready(url: str, ids: list[int]) -> bool:
    for file_id in ids:
        with urllib.request.urlopen(f"{url}/thumbs/{file_id}", timeout=10) as response:
            if response.headers.get("X-Thumbnail") == "pending":
                return False
    return True


def make_photos(folder: Path) -> None:
    """A small mess: a trip, an exact copy in a backup, two other years and an undated scan."""
    camera = {"Make": "Canon", "Model": "Canon EOS 80D"}
    make_jpeg(
        folder / "Italy 2019" / "IMG_0001.jpg",
        seed=11,
        DateTimeOriginal="2019:09:19 05:38:57",
        OffsetTimeOriginal="+02:00",
        **camera,
    )
    backup = folder / "backup" / "IMG_0001.jpg"
    backup.parent.mkdir(parents=True)
    shutil.copy2(folder / "Italy 2019" / "IMG_0001.jpg", backup)
    make_jpeg(
        folder / "Italy 2019" / "IMG_0002.jpg",
        seed=12,
        DateTimeOriginal="2019:09:20 18:02:11",
        OffsetTimeOriginal="+02:00",
        **camera,
    )
    make_jpeg(
        folder / "Garden" / "IMG_4410.jpg",
        seed=13,
        DateTimeOriginal="2021:05:02 10:15:00",
        OffsetTimeOriginal="+02:00",
    )
    scan = make_jpeg(folder / "scans" / "scan_0007.jpg", seed=14, size=(480, 640))
    os.utime(scan, (1_700_000_000, 1_700_000_000))


def make_library(folder: Path) -> None:
    """``make_photos`` and what a real family folder adds: a near copy (the same picture,
    smaller and recompressed, as a messenger sends it back), a second camera, another month,
    and a file that is not a readable photo."""
    make_photos(folder)
    make_jpeg(
        folder / "Italy 2019" / "IMG_0003.jpg",
        seed=21,
        size=(1024, 768),
        DateTimeOriginal="2019:09:21 12:00:00",
        OffsetTimeOriginal="+02:00",
        Make="Canon",
        Model="Canon EOS 1300D",
    )
    small = folder / "WhatsApp" / "IMG-20190921-WA0003.jpg"
    small.parent.mkdir(parents=True)
    scene(21, (1024, 768)).resize((512, 384), Image.Resampling.LANCZOS).save(
        small, "JPEG", quality=60
    )
    os.utime(small, (1_568_000_000, 1_568_000_000))
    make_jpeg(
        folder / "Birthday" / "DSC_0101.jpg",
        seed=31,
        DateTimeOriginal="2021:06:12 16:20:00",
        OffsetTimeOriginal="+02:00",
        Make="NIKON CORPORATION",
        Model="NIKON D3500",
    )
    broken = folder / "Birthday" / "DSC_0102.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"not really a photo" * 20)


class Server:
    """``mediafix serve`` (web + an embedded worker) on a free port, in a folder of its own."""

    def __init__(self, home: Path, **env: str) -> None:
        self.home = home
        self.data = home / "data"
        self.output = home / "output"
        self.photos = home / "My photos"
        self.photos.mkdir(parents=True)
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAFIX_")}
        env.update(
            MEDIAFIX_DATA_DIR=str(self.data),
            MEDIAFIX_OUTPUT_DIR=str(self.output),
            MEDIAFIX_TIMEZONE="Europe/Berlin",
            MEDIAFIX_WORKERS="2",
            # The import root holds the photos only: an output or data folder inside an
            # import root is refused (issue 15).
            MEDIAFIX_IMPORT_ROOTS=str(self.photos),
            PYTHONPATH=str(ROOT / "src"),
        )
        env.update(self.env)
        port = free_port()
        self.log = self.home / "server.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mediafix.web.serve", "--port", str(port), "-w", "2"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{port}"
        proc = self.proc

        def up() -> bool:
            try:
                return bool(get_json(self.url + "/healthz")["status"] == "ok")
            except OSError:
                return proc.poll() is not None  # stop waiting if it died

        wait_for(up, timeout=60)
        assert proc.poll() is None, self.log.read_text()
        return self

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data / 'mediafix.db'}"


def look(page: Any, name: str) -> None:
    """What every page must pass at its current size: no sideways scrolling, a screenshot
    for a person to look at, and no serious or critical axe-core violation."""
    page.wait_for_load_state("networkidle")
    width = page.evaluate("window.innerWidth")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                         && getComputedStyle(e).position !== 'fixed'
                         && e.offsetParent !== null)
            .slice(0, 5).map(e => e.tagName.toLowerCase() + '.' + e.className)"""
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert scroll <= width, f"{name}: the page is {scroll} px wide in {width} px: {wide}"
    # Evaluated through the DevTools protocol: the app's Content-Security-Policy refuses
    # inline scripts (add_script_tag), rightly, and must stay on in these tests.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v.get("impact") in FAILING_IMPACTS]
    assert not bad, f"{name}: axe-core found:\n" + "\n".join(
        f"  {v['impact']} {v['id']}: {v['help']} -> "
        + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:4])
        for v in bad
    )
