"""The app itself: factory, secret key, health check, errors without tracebacks, headers, serve."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from mediafix.jobs import enqueue
from mediafix.web import create_app, serve
from tests.helpers.paths import DOCS
from tests.helpers.web import JSON, SCRIPT, Web, web_app


@pytest.fixture
def web(settings_env: Path) -> Iterator[Web]:
    with web_app() as w:
        yield w


def test_secret_key_is_created_private_and_kept(web: Web) -> None:
    key_file = web.settings.data_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32
    again = create_app({"TESTING": True})
    assert again.secret_key == web.app.secret_key == key_file.read_bytes()


def test_a_too_short_secret_key_is_refused(settings_env: Path) -> None:
    settings_env.mkdir(parents=True, exist_ok=True)
    (settings_env / "secret_key").write_bytes(b"short")
    with pytest.raises(RuntimeError, match="too short"):
        create_app({"TESTING": True})


def test_healthz_reports_database_and_queue(web: Web) -> None:
    response = web.client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "database": "ok",
        "queue": "ok",
        "queue_depth": 0,
        "worker": "not embedded",  # the app alone (workers run apart): nothing to check
    }
    enqueue.regroup()
    assert web.client.get("/healthz").json["queue_depth"] == 1


def test_healthz_says_what_failed(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> int:
        raise ConnectionError("redis is down")

    monkeypatch.setattr("mediafix.web.views.home.queue_depth", broken)
    response = web.client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"
    assert response.json["database"] == "ok"
    assert response.json["queue"] == "error: redis is down"


def test_healthz_database_failure(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.orm import Session

    def broken(self: Session, *args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("disk I/O error"))

    monkeypatch.setattr(Session, "execute", broken)
    response = web.client.get("/healthz")
    assert response.status_code == 503
    assert response.json["database"].startswith("error:")
    assert "disk I/O error" in response.json["database"]


def test_unknown_page_is_a_friendly_404(web: Web) -> None:
    page = web.client.get("/no/such/page")
    assert page.status_code == 404
    assert "Not found" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    api = web.get_json("/no/such/page")
    assert api.status_code == 404
    assert set(api.json) == {"error"}


def test_wrong_method_is_405_with_allow(web: Web) -> None:
    response = web.client.delete("/settings", headers={"X-Requested-With": "t", **JSON})
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "error" in response.json


def test_an_unexpected_error_never_shows_a_traceback(web: Web) -> None:
    def boom() -> str:
        raise ValueError("secret internals")

    web.app.add_url_rule("/boom", "boom", boom)
    web.app.testing = False  # let the error handler answer, as in production
    page = web.client.get("/boom")
    assert page.status_code == 500
    text = page.get_data(as_text=True)
    assert "Something went wrong" in text
    assert "secret internals" not in text and "Traceback" not in text
    api = web.get_json("/boom")
    assert api.status_code == 500
    assert "ValueError" in api.json["error"] and "secret" not in api.json["error"]


def test_security_headers(web: Web) -> None:
    response = web.client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_every_page_renders_empty(web: Web) -> None:
    for url in (
        "/",
        "/import",
        "/jobs",
        "/review/duplicates",
        "/review/timestamps",
        "/library",
        "/output/browse",
        "/settings",
    ):
        response = web.client.get(url)
        assert response.status_code == 200, url
        assert '<meta name="csrf-token"' in response.get_data(as_text=True)


def test_home_summary_json(web: Web) -> None:
    a = web.add_file()
    web.add_file(status="review")
    b = web.add_file()
    web.add_group("near", [a, b])
    data = web.get_json("/").json
    assert data["files"] == 3
    assert data["review"] == 1
    assert data["pending_groups"] == 1
    assert data["groups"]["near"] == {"pending": 1, "resolved": 0}
    html = web.client.get("/").get_data(as_text=True)
    assert "1 groups" not in html and "groups of copies to look at" in html


def test_stop_worker_terminates_then_waits() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert serve.stop_worker(proc, timeout=10) is not None
    assert proc.poll() is not None


_STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a worker hung past its stop
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"  # exited, not reaped


_CONSUMER = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # a worker process
time.sleep(120)
"""


def _child_of(pid: int) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        children = Path(f"/proc/{pid}/task/{pid}/children")
        text = children.read_text().split() if children.exists() else []
        if text:
            return int(text[0])
        time.sleep(0.05)
    raise AssertionError("the stand-in consumer did not start its worker process")


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _gone(pid)


def test_serve_restarts_a_killed_worker_and_kills_its_orphans() -> None:
    sup = serve.WorkerSupervisor(start=lambda _n: serve.spawn([sys.executable, "-c", _CONSUMER]))
    try:
        first, orphan = sup.proc.pid, _child_of(sup.proc.pid)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while sup.state()["running"] and time.monotonic() < deadline:
            time.sleep(0.02)
        state = sup.state()
        assert not state["running"] and state["last_exit"] == "killed by SIGKILL", state
        assert _wait_gone(orphan)  # its worker process does not go on unwatched
        deadline = time.monotonic() + 20
        while sup.state()["restarts"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        state = sup.state()
        assert state["running"] and state["restarts"] == 1 and state["pid"] != first, state
    finally:
        sup.stop()
    assert not sup.state()["running"]


def test_serve_stopping_just_after_its_worker_died_leaves_no_orphan() -> None:
    sup = serve.WorkerSupervisor(start=lambda _n: serve.spawn([sys.executable, "-c", _CONSUMER]))
    orphan = _child_of(sup.proc.pid)
    os.kill(sup.proc.pid, signal.SIGKILL)
    sup.stop()  # before the watch noticed
    assert _wait_gone(orphan)


def test_a_worker_that_will_not_stop_is_killed_with_its_processes() -> None:
    """Found by hand: a deadlocked worker process outlived the consumer that
    ``stop_worker`` killed, and held its exiftool and files open forever."""
    proc = serve.spawn([sys.executable, "-c", _STUBBORN])
    grandchild = 0
    deadline = time.monotonic() + 20
    while not grandchild and time.monotonic() < deadline:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        text = children.read_text().split() if children.exists() else []
        grandchild = int(text[0]) if text else 0
        time.sleep(0.05)
    assert grandchild, "the stand-in worker did not start its process"
    assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)  # Ctrl-C does not reach it
    assert serve.stop_worker(proc, timeout=1) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild)


def test_the_worker_is_told_to_stop_when_serve_dies(tmp_path: Path) -> None:
    """``mediafix serve`` killed outright (SIGKILL, the OOM killer): its worker gets SIGTERM."""
    marker = tmp_path / "stopped"
    worker = (
        "import signal, sys, time\n"
        "def stop(*_):\n"
        f"    open({str(marker)!r}, 'w').close(); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from mediafix.web import serve; "
            "w = serve.spawn([sys.executable, '-c', sys.argv[1]]); "
            "print(w.pid, flush=True); import time; time.sleep(60)",
            worker,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        lines = [parent.stdout.readline(), parent.stdout.readline()]
        assert "ready\n" in lines
    finally:
        parent.kill()
        parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()


def test_serve_on_a_taken_port_is_one_clear_line(settings_env: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "mediafix.cli", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert done.stderr.strip() == (
        f"mediafix: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "running at" not in done.stdout  # no URL printed for a server that is not there


def test_every_api_route_is_documented(web: Web) -> None:
    """docs/api.md and docs/openapi.yaml name every route (STYLE habit 12)."""
    import re

    docs = DOCS
    api = re.sub(r"<[^>]+>", "<>", (docs / "api.md").read_text())
    openapi = (docs / "openapi.yaml").read_text()
    html_only = {"/import"}
    for rule in web.app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule in html_only:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert f"\n  {path}:\n" in openapi, f"{rule.rule} is not in docs/openapi.yaml"
        assert re.sub(r"<[^>]+>", "<>", rule.rule) in api, f"{rule.rule} is not in docs/api.md"


def test_an_id_too_large_for_the_database_is_404(web: Web) -> None:
    """Found by tests/web/test_openapi_fuzz.py: SQLite could not bind the number (a 500)."""
    group = web.add_group("near", [web.add_file(), web.add_file()])
    huge = "99753214976706366930944"
    gets = (f"/files/{huge}", f"/thumbs/{huge}", f"/jobs/{2**31}", f"/review/duplicates/{huge}")
    for url in gets:
        response = web.get_json(url)
        assert response.status_code == 404, url
        assert "ids go up to" in response.json["error"]
    # POST too: not a 405 because the GET rule for the same path was looked at first
    for url in (f"/review/duplicates/{huge}", f"/review/timestamps/{huge}", f"/jobs/{huge}/cancel"):
        response = web.client.post(url, json={"action": "suggestion"}, headers=SCRIPT)
        assert response.status_code == 404, url
    assert web.get_json(f"/review/duplicates/{group}").status_code == 200


def test_json_bodies_are_strict(web: Web) -> None:
    """Found probing the API (issue #8): Python's parser takes NaN and Infinity (which then
    broke int(): a 500) and fails with RecursionError on deep nesting (a 500)."""
    for data in ('{"duplicate_threshold": Infinity}', '{"review_confidence": NaN}',
                 "[" * 100_000 + "]" * 100_000):  # fmt: skip
        response = web.client.post(
            "/settings", data=data, content_type="application/json", headers=SCRIPT
        )
        assert response.status_code == 400, data[:40]
        assert response.json == {"error": "malformed JSON in the request body"}
