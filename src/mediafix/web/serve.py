"""``mediafix serve``: the whole product on one machine - the web app and its workers.

``run`` starts the job consumer as a child process (``mediafix worker -w N``), serves the
app (werkzeug's threaded server, which streams uploads) and, on exit,
stops the consumer gracefully: SIGTERM, a wait for the running batch, SIGKILL only if it
hangs.

While it serves, a :class:`WorkerSupervisor` thread keeps the consumer running: when it
dies (``kill -9``, the OOM killer, a crash) the rest of its process group is killed (its
worker processes would otherwise go on taking jobs, watched by nobody) and a new consumer
is started a moment later, which first resumes the jobs the dead one left
(``tasks.recover``). ``/healthz`` reports the consumer's state.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any

from mediafix.config import get_settings
from mediafix.media.exiftool import signal_on_parent_death

__all__ = ["WorkerSupervisor", "run", "spawn", "start_worker", "stop_worker"]

STOP_TIMEOUT = 30.0  # seconds a worker may take to finish its batch on SIGTERM
RESTART_DELAY = 2.0  # seconds before a dead worker is replaced (doubling while it keeps dying)
MAX_RESTART_DELAY = 60.0
STEADY_AFTER = 60.0  # a worker that ran this long resets the delay
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def start_worker(workers: int | None = None) -> subprocess.Popen[bytes]:
    """The embedded consumer: ``python -m mediafix.cli worker -w N`` with this environment."""
    n = workers or get_settings().workers
    return spawn([sys.executable, "-m", "mediafix.cli", "worker", "-w", str(n)])


def _child_setup() -> None:
    signal_on_parent_death(signal.SIGTERM)


def spawn(args: list[str]) -> subprocess.Popen[bytes]:
    """A child stopped only by us: in a process group of its own, so that Ctrl-C reaches
    this process alone (which then asks the worker to stop gracefully, with SIGTERM,
    instead of the consumer taking SIGINT as its immediate stop), and sent SIGTERM by Linux
    should this process die without stopping it."""
    return subprocess.Popen(args, start_new_session=True, preexec_fn=_child_setup)


def stop_worker(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> int | None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL the worker's whole process
    group (a hung worker process must not outlive its consumer); returns the exit code."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            proc.kill()
        return proc.wait(timeout=10)


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class WorkerSupervisor:
    """The embedded consumer, kept running: see the module's docstring."""

    CHECK_EVERY = 0.5

    def __init__(
        self,
        workers: int | None = None,
        start: Callable[[int | None], subprocess.Popen[bytes]] = start_worker,
    ) -> None:
        self._start = start
        self._workers = workers
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.proc = start(workers)
        self.started_at = time.monotonic()
        self.restarts = 0
        self.last_exit: str | None = None
        self._thread = threading.Thread(target=self._watch, daemon=True, name="worker-watch")
        self._thread.start()

    def state(self) -> dict[str, Any]:
        """``running``, ``pid``, ``restarts`` and, once one died, ``last_exit``."""
        with self._lock:
            proc = self.proc
        code = proc.poll()
        return {
            "running": code is None and not self._stopping.is_set(),
            "pid": proc.pid,
            "restarts": self.restarts,
            "last_exit": _exit_text(code) if code is not None else self.last_exit,
        }

    def _watch(self) -> None:
        delay = RESTART_DELAY
        while not self._stopping.wait(self.CHECK_EVERY):
            with self._lock:
                proc = self.proc
            code = proc.poll()
            if code is None:
                if time.monotonic() - self.started_at > STEADY_AFTER:
                    delay = RESTART_DELAY
                continue
            self.last_exit = _exit_text(code)
            print(
                f"worker process {proc.pid} stopped ({self.last_exit}); "
                f"starting another in {delay:g} s",
                file=sys.stderr,
                flush=True,
            )
            # its worker processes and their exiftools, orphaned but still at work
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.proc = self._start(self._workers)
                self.started_at = time.monotonic()
                self.restarts += 1
            print(f"worker process {self.proc.pid} started (restart {self.restarts})", flush=True)
            delay = min(delay * 2, MAX_RESTART_DELAY)

    def stop(self) -> None:
        """Stop watching, then stop the consumer gracefully (``stop_worker``)."""
        self._stopping.set()
        self._thread.join(timeout=5)
        with self._lock:
            proc = self.proc
        stop_worker(proc)
        # A consumer that died just before, not yet noticed by the watch, left its worker
        # processes running (found by a test run: two of them outlived serve for an hour).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _listen(app: Any, host: str, port: int) -> Any:
    # werkzeug's threaded server hands the app the request body as a stream, so an upload
    # goes straight to DATA_DIR/uploads (waitress would first spool it to the system's temp
    # folder: twice the disk for a 50 GB upload). make_server rather than run_simple: no
    # development-server banner for people who run this on purpose. The socket is bound
    # here so that a taken port is one line from us, not werkzeug's two and its exit.
    from werkzeug.serving import make_server

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SystemExit(f"mediafix: cannot listen on {host}:{port}: {reason}") from exc
    with sock:
        return make_server(host, port, app, threaded=True, fd=sock.fileno())


def run(
    host: str = "127.0.0.1",
    port: int = 8000,
    embedded_worker: bool = True,
    workers: int | None = None,
) -> None:
    """Serve mediafix at ``http://host:port/`` until interrupted (Ctrl-C or SIGTERM)."""
    from mediafix.web import create_app

    settings = get_settings()
    # The address it is bound to is a name the app answers to (the Host check).
    app = create_app({"MEDIAFIX_BOUND_HOST": host})
    server = _listen(app, host, port)
    supervisor = WorkerSupervisor(workers) if embedded_worker else None
    app.config["MEDIAFIX_WORKER"] = supervisor

    def _terminate(_signum: int, _frame: types.FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    shown = f"[{host}]" if ":" in host else host
    print(f"mediafix is running at http://{shown}:{port}/  (Ctrl-C stops it)", flush=True)
    if host not in LOCAL_HOSTS and not settings.password:
        print(
            "warning: mediafix listens beyond this machine without a password; "
            "set MEDIAFIX_PASSWORD",
            file=sys.stderr,
            flush=True,
        )
    if supervisor is not None:
        print(
            f"worker process {supervisor.proc.pid} started (pid {os.getpid()} serves the pages)",
            flush=True,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        signal.signal(signal.SIGTERM, previous)
        if supervisor is not None:
            print("stopping the worker...", flush=True)
            supervisor.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m mediafix.web.serve [--host H] [--port P] [--no-worker] [-w N]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="mediafix serve", description=run.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("-w", "--workers", type=int, default=None)
    parser.add_argument("--no-worker", action="store_true", help="Do not start a worker.")
    args = parser.parse_args(argv)
    run(args.host, args.port, embedded_worker=not args.no_worker, workers=args.workers)


if __name__ == "__main__":  # pragma: no cover
    main()
