"""Load benchmark: workers importing on SQLite while clients poll and an upload streams in.

Run by hand (not a test):

    .venv/bin/python bench/load.py                 # 4 workers, 2,000 files, 20 pollers
    .venv/bin/python bench/load.py -n 500 --clients 10 --workers 2

It starts the real processes (`mediafix serve --no-worker` and `mediafix worker -w N`) on a
temporary SQLite library, imports a folder of generated photos through the JSON API
(`POST /imports`), and while the workers probe it, N clients poll `GET /jobs/<id>` and one
client uploads a second folder (`POST /upload`). It reports import throughput, poll
latency (p50/p95/p99/max), HTTP errors by status, and the "database is locked" errors
found in every process's log (the target is zero of both).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
CACHE = Path(tempfile.gettempdir()) / "mediafix-bench-load"


def generate(n: int) -> Path:
    """n small camera-like JPEGs with dates, cached between runs."""
    from PIL import Image, ImageDraw

    folder = CACHE / f"photos-{n}"
    if folder.exists() and len(list(folder.rglob("*.jpg"))) == n:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(n):
        sub = folder / f"{2015 + i % 8}" / f"{i // 200:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        img = Image.new("RGB", (800, 600), ((i * 37) % 255, (i * 91) % 255, (i * 13) % 255))
        draw = ImageDraw.Draw(img)
        draw.ellipse((i % 700, (i * 7) % 500, i % 700 + 100, (i * 7) % 500 + 100), fill="white")
        img.save(sub / f"IMG_{i:05d}.jpg", "JPEG", quality=85)
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-r",
            "-overwrite_original",
            "-Model=Bench",
            "-DateTimeOriginal=2019:05:06 07:08:09",
            str(folder),
        ],
        check=True,
    )
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def multipart(files: list[Path], root: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for f in files:
        rel = f.relative_to(root).as_posix()
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{rel}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
            + f.read_bytes()
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="photos to import")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--upload", type=int, default=200, help="photos uploaded meanwhile")
    args = parser.parse_args()

    photos = generate(args.n)
    upload_src = generate(max(args.upload, 1))
    work = Path(tempfile.mkdtemp(prefix="mediafix-load-"))
    env = {
        **os.environ,
        "MEDIAFIX_DATA_DIR": str(work / "data"),
        "MEDIAFIX_OUTPUT_DIR": str(work / "out"),
        "MEDIAFIX_IMPORT_ROOTS": str(CACHE),
        "PYTHONPATH": str(ROOT / "src"),
    }
    env.pop("MEDIAFIX_DATABASE_URL", None)
    env.pop("MEDIAFIX_QUEUE_URL", None)
    port = free_port()
    logs = {name: open(work / f"{name}.log", "wb") for name in ("web", "worker")}  # noqa: SIM115
    cli = [sys.executable, "-m", "mediafix.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    web = subprocess.Popen(
        [*cli, "serve", "--no-worker", "--port", str(port)],
        env=env,
        stdout=logs["web"],
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [*cli, "worker", "-w", str(args.workers)],
        env=env,
        stdout=logs["worker"],
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                if request(port, "GET", "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        api = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Requested-With": "bench",
        }
        started = time.monotonic()
        status, body = request(
            port, "POST", "/imports", json.dumps({"path": str(photos)}).encode(), api
        )
        assert status == 202, (status, body)
        job_id = json.loads(body)["job_id"]

        latencies: list[float] = []
        codes: Counter[int] = Counter()
        stop = threading.Event()
        lock = threading.Lock()

        def poll() -> None:
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    code, _ = request(
                        port, "GET", f"/jobs/{job_id}", headers={"Accept": "application/json"}
                    )
                except OSError:
                    code = 0
                with lock:
                    latencies.append((time.perf_counter() - t0) * 1000)
                    codes[code] += 1
                stop.wait(args.poll)

        upload_result: dict[str, object] = {}

        def upload() -> None:
            files = sorted(upload_src.rglob("*.jpg"))[: args.upload]
            body, ctype = multipart(files, upload_src)
            t0 = time.perf_counter()
            code, text = request(
                port,
                "POST",
                "/upload",
                body,
                {"Content-Type": ctype, "Accept": "application/json", "X-Requested-With": "bench"},
                timeout=300,
            )
            upload_result.update(
                status=code, seconds=time.perf_counter() - t0, mb=len(body) / 1e6, body=text[:200]
            )

        threads = [threading.Thread(target=poll, daemon=True) for _ in range(args.clients)]
        threads.append(threading.Thread(target=upload, daemon=True))
        for t in threads:
            t.start()
        final: dict[str, object] = {}
        while time.monotonic() - started < 1800:
            code, body = request(
                port, "GET", f"/jobs/{job_id}", headers={"Accept": "application/json"}
            )
            if code == 200:
                final = json.loads(body)
                if final["status"] in ("completed", "failed", "cancelled"):
                    break
            time.sleep(0.5)
        seconds = time.monotonic() - started
        stop.set()
        for t in threads:
            t.join(timeout=300)
    finally:
        for proc in (worker, web):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        for fh in logs.values():
            fh.close()
    locked = {
        name: (work / f"{name}.log").read_text(errors="replace").count("database is locked")
        for name in logs
    }
    server_errors = sum(n for code, n in codes.items() if code >= 500 or code == 0)
    print(
        f"\n{args.n} photos, {args.workers} workers, {args.clients} pollers every "
        f"{args.poll:g} s, upload of {args.upload} photos meanwhile (SQLite, WAL)\n"
    )
    rows = [
        ("import job", f"{final.get('status')} ({final.get('message')})"),
        ("import time", f"{seconds:.1f} s"),
        ("throughput", f"{args.n / seconds:.1f} files/s"),
        ("polls", f"{sum(codes.values())} ({dict(sorted(codes.items()))})"),
        (
            "poll latency p50 / p95 / p99 / max",
            f"{percentile(latencies, 50):.1f} / {percentile(latencies, 95):.1f} / "
            f"{percentile(latencies, 99):.1f} / {max(latencies or [0]):.1f} ms",
        ),
        ("5xx or failed requests", str(server_errors)),
        (
            "upload",
            f"HTTP {upload_result.get('status')}, {upload_result.get('mb', 0):.1f} MB in "
            f"{upload_result.get('seconds', 0):.1f} s",
        ),
        ('"database is locked" in logs', f"{sum(locked.values())} {locked}"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(f"\nlogs and data: {work}")


if __name__ == "__main__":
    main()
