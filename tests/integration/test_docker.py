"""Issue #6, the Docker part: ``compose.yaml``, the ``Dockerfile`` and ``docker/entrypoint.sh``.

There is no Docker engine where the tests run, so they check what can be checked without one:

* the structure of ``compose.yaml`` (parsed as compose does, ``<<: *mediafix`` merged) and of
  the ``Dockerfile``, and that both name only real mediafix settings;
* the services' ``command:`` lines run as plain processes with the compose environment mapped
  onto temporary folders: the web healthcheck's own command passes, an import through the API
  completes, and both processes stop cleanly on SIGTERM within their grace period;
* the entrypoint as a plain process, as a non-root user (it must just ``exec mediafix``) and,
  as root, with a stand-in ``gosu`` (the real one is not installed here).

What is not covered: building the image, the real ``gosu``/``useradd``, and the ``scale``
profile's PostgreSQL and Redis containers.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from mediafix import __version__
from mediafix.config import SETTINGS
from mediafix.web.serve import STOP_TIMEOUT
from tests.helpers.media import make_jpeg
from tests.helpers.net import free_port
from tests.helpers.paths import REPO

COMPOSE = REPO / "compose.yaml"
DOCKERFILE = REPO / "Dockerfile"
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
BIN = Path(sys.executable).parent  # the virtualenv's bin: mediafix and python
SETTING_NAMES = {f"MEDIAFIX_{s.name}" for s in SETTINGS}
DEFAULT_GRACE = 10.0  # docker compose's stop_grace_period when a service sets none
NOBODY = 65534


# -- compose.yaml, read the way docker compose reads it ---------------------------------------


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def service(name: str) -> dict[str, Any]:
    svc = compose()["services"][name]
    assert isinstance(svc, dict)
    return svc


_VAR = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?+])([^}]*))?\}|(\w+))")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``..."""

    def sub(m: re.Match[str]) -> str:
        if m.group(1):
            return "$"
        name = m.group(2) or m.group(5)
        op, arg = m.group(3), m.group(4) or ""
        val = env.get(name)
        if op in (":-", ":?"):
            missing = not val
        elif op in ("-", "?"):
            missing = val is None
        elif op == ":+":
            return arg if val else ""
        elif op == "+":
            return arg if val is not None else ""
        else:
            return val or ""
        if missing and op.endswith("?"):
            raise AssertionError(f"${{{name}}} is required: {arg}")
        return arg if missing else (val or "")

    return _VAR.sub(sub, value)


def variables(value: str) -> set[str]:
    return {m.group(2) or m.group(5) for m in _VAR.finditer(value) if not m.group(1)}


def environment(svc: Mapping[str, Any], host: Mapping[str, str]) -> dict[str, str]:
    raw = svc.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {k: interpolate(str(v), host) for k, v in raw.items()}


def volumes(svc: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Container path -> (source, mode) for the short volume syntax."""
    result = {}
    for spec in svc.get("volumes") or []:
        source, target, *mode = interpolate(spec, {}).split(":")
        result[target] = (source, mode[0] if mode else "rw")
    return result


def duration(value: str) -> float:
    """A compose duration (``1m30s``, ``60s``, ``500ms``) in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", value)
    assert parts and "".join(n + u for n, u in parts) == value, value
    return sum(float(n) * units[u] for n, u in parts)


def grace_period(svc: Mapping[str, Any]) -> float:
    return duration(svc["stop_grace_period"]) if "stop_grace_period" in svc else DEFAULT_GRACE


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


# -- the Dockerfile ---------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, rest = pending.strip().partition(" ")
        result.append((keyword.upper(), " ".join(rest.split())))
        pending = ""
    return result


def dockerfile(keyword: str) -> list[str]:
    return [rest for kw, rest in instructions() if kw == keyword]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for rest in dockerfile("ENV"):
        for item in shlex.split(rest):
            key, _, value = item.partition("=")
            env[key] = value
    return env


# -- structure --------------------------------------------------------------------------------


def test_web_and_worker_are_one_image() -> None:
    web, worker = service("web"), service("worker")
    for key in ("image", "build", "environment", "volumes", "restart"):
        assert web.get(key) == worker.get(key), key
    assert web["image"] and web["build"] == "."
    assert (REPO / web["build"] / "Dockerfile").is_file()
    assert web["command"][0] == "serve" and "--no-worker" in web["command"]
    assert worker["command"][0] == "worker"


def test_volumes_data_on_a_named_volume_photos_read_only() -> None:
    data = compose()
    for name in ("web", "worker"):
        vols = volumes(service(name))
        assert set(vols) == {"/data", "/photos", "/output"}, name
        source, mode = vols["/data"]
        # a named volume (local disk: SQLite needs real file locks), not a bind mount
        assert "/" not in source and not source.startswith(".")
        assert source in (data.get("volumes") or {})
        assert mode == "rw"
        assert vols["/photos"][1] == "ro"
        assert vols["/output"][1] == "rw"
        env = environment(service(name), {})
        assert env["MEDIAFIX_DATA_DIR"] == "/data"
        assert env["MEDIAFIX_OUTPUT_DIR"] == "/output"
        assert env["MEDIAFIX_IMPORT_ROOTS"] == "/photos"
    assert "/data" in dockerfile("VOLUME")[0] and "/output" in dockerfile("VOLUME")[0]


def test_web_healthcheck_hits_healthz_on_the_served_port() -> None:
    web = service("web")
    port = option(web["command"], "--port")
    assert option(web["command"], "--host") == "0.0.0.0"
    assert any(
        str(p).endswith(f":{port}") and str(p).startswith("127.0.0.1:") for p in web["ports"]
    )
    check = web["healthcheck"]
    test = check["test"]
    assert test[0] == "CMD"
    assert f"127.0.0.1:{port}/healthz" in " ".join(test)
    assert duration(check["timeout"]) < duration(check["interval"])
    # the image's own HEALTHCHECK is the same command; the worker, which serves no HTTP,
    # must switch it off or it would always be unhealthy
    (image_check,) = dockerfile("HEALTHCHECK")
    assert shlex.split(image_check.split(" CMD ", 1)[1]) == test[1:]
    assert service("worker")["healthcheck"] == {"disable": True}


def test_worker_stops_with_sigterm_and_time_to_finish_its_batch() -> None:
    worker = service("worker")
    assert worker.get("stop_signal", "SIGTERM") == "SIGTERM"
    grace = duration(worker["stop_grace_period"])
    assert grace >= 30 and grace >= STOP_TIMEOUT


def test_worker_count_defaults_to_two() -> None:
    command = [interpolate(a, {}) for a in service("worker")["command"]]
    assert command == ["worker", "-w", "2"]
    assert [interpolate(a, {"MEDIAFIX_WORKERS": "5"}) for a in service("worker")["command"]] == [
        "worker",
        "-w",
        "5",
    ]


def test_scale_profile_holds_postgres_and_redis() -> None:
    services = compose()["services"]
    scaled = {name for name, svc in services.items() if "scale" in (svc.get("profiles") or [])}
    assert scaled == {"postgres", "redis"}
    assert "profiles" not in services["web"] and "profiles" not in services["worker"]


def test_scale_profile_usage_points_at_its_services() -> None:
    """The header tells how to use the profile: the URLs must name its services and logins."""
    header = "\n".join(line for line in COMPOSE.read_text().splitlines() if line.startswith("#"))
    urls = dict(re.findall(r"(MEDIAFIX_(?:DATABASE|QUEUE)_URL)=(\S+)", header))
    assert set(urls) == {"MEDIAFIX_DATABASE_URL", "MEDIAFIX_QUEUE_URL"}, header
    pg = environment(compose()["services"]["postgres"], {})
    db = re.fullmatch(
        r"postgresql(?:\+psycopg)?://(\w+):(\w+)@postgres(?::5432)?/(\w+)",
        urls["MEDIAFIX_DATABASE_URL"],
    )
    assert db, urls
    assert db.groups() == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"])
    assert re.fullmatch(r"redis://redis(?::6379)?(?:/\d+)?", urls["MEDIAFIX_QUEUE_URL"]), urls
    # and mediafix takes them (nothing connects yet)
    from huey import RedisHuey
    from sqlalchemy.engine import make_url

    from mediafix.config import Settings
    from mediafix.jobs import make_huey

    settings = Settings(
        database_url=urls["MEDIAFIX_DATABASE_URL"],
        queue_url=urls["MEDIAFIX_QUEUE_URL"],
        timezone="UTC",
    )
    assert isinstance(make_huey(settings), RedisHuey)
    assert make_url(settings.database_url).get_backend_name() == "postgresql"


def test_only_real_settings_are_used() -> None:
    documented = (REPO / "docs" / "configuration.md").read_text()
    used = {k for k in environment(service("web"), {}) if k.startswith("MEDIAFIX_")}
    used |= {v for v in variables(COMPOSE.read_text()) if v.startswith("MEDIAFIX_")}
    used |= {k for k in image_env() if k.startswith("MEDIAFIX_")}
    assert used >= {"MEDIAFIX_DATA_DIR", "MEDIAFIX_WORKERS"}
    assert used <= SETTING_NAMES, used - SETTING_NAMES
    for name in used:
        assert f"`{name}`" in documented, name


def test_empty_settings_mean_the_defaults(tmp_path: Path) -> None:
    """Compose passes ``MEDIAFIX_PASSWORD=""`` etc. when they are unset on the host."""
    env = environment(service("web"), {})
    empty = {k for k, v in env.items() if k.startswith("MEDIAFIX_") and v == ""}
    assert empty == {
        "MEDIAFIX_PASSWORD",
        "MEDIAFIX_DATABASE_URL",
        "MEDIAFIX_QUEUE_URL",
        "MEDIAFIX_TIMEZONE",
    }
    code = (
        "import json; from mediafix.config import Settings, system_timezone; s = Settings(); "
        "print(json.dumps([s.database_url, s.queue_url, s.password, "
        "s.timezone == system_timezone()]))"
    )
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAFIX_")}
    child_env.update(env, MEDIAFIX_DATA_DIR=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", code], env=child_env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == [
        f"sqlite:///{tmp_path / 'mediafix.db'}",
        f"sqlite:///{tmp_path / 'queue.db'}",
        "",
        True,  # an empty MEDIAFIX_TIMEZONE is the machine's zone (TZ first), not an error
    ]


def test_dockerfile() -> None:
    (base,) = dockerfile("FROM")
    version = re.fullmatch(r"python:3\.(\d+)-slim(?:-\w+)?", base)
    assert version and int(version.group(1)) >= 11, base  # requires-python >= 3.11
    installs = " ".join(dockerfile("RUN"))
    assert re.search(r"apt-get install [^&]*\blibimage-exiftool-perl\b", installs)
    assert re.search(r"apt-get install [^&]*\bgosu\b", installs)
    assert "8000" in dockerfile("EXPOSE")[0].split()
    # no fixed USER: the entrypoint starts as root and drops to PUID:PGID with gosu
    assert dockerfile("USER") == []
    entry = re.search(r"\bgosu\b.*\$PUID:\$PGID\"? mediafix \"\$@\"", ENTRYPOINT.read_text())
    assert entry, "the entrypoint must exec gosu PUID:PGID mediafix"
    # ENTRYPOINT runs docker/entrypoint.sh, where the COPY put it
    (entrypoint,) = dockerfile("ENTRYPOINT")
    argv = json.loads(entrypoint)
    copied = [r.split()[-1] for r in dockerfile("COPY") if r.split()[0] == "docker/entrypoint.sh"]
    assert len(copied) == 1
    assert any(a in (copied[0], Path(copied[0]).name) for a in argv), (argv, copied)
    if argv[0] == "tini":
        assert re.search(r"apt-get install [^&]*\btini\b", installs)
    env = image_env()
    assert env["PUID"] == environment(service("web"), {})["PUID"] == "1000"
    assert env["MEDIAFIX_DATA_DIR"] == "/data"


def test_entrypoint_is_executable_posix_sh() -> None:
    assert os.access(ENTRYPOINT, os.X_OK)
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
    subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=True)


# -- the services' commands as plain processes ------------------------------------------------


def service_env(name: str, root: Path) -> dict[str, str]:
    """What the container's process sees: image ENV, then the service's environment (with
    nothing set on the host), its volumes' container paths mapped to folders under ``root``."""
    svc = service(name)
    mapped = {target: root / target.strip("/") for target in volumes(svc)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAFIX_")}
    env.update(image_env())
    env.update(environment(svc, {}))
    for key, value in env.items():
        if key.startswith("MEDIAFIX_") and value:
            parts = value.split(os.pathsep)
            env[key] = os.pathsep.join(str(mapped.get(p, p)) for p in parts)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', os.defpath)}"
    return env


class Service:
    """A compose service's ``command:`` run as ``mediafix <args>``, its output in a log."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with open(log, "wb") as fh:
            self.proc = subprocess.Popen(
                [str(BIN / "mediafix"), *args],
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the finally below can kill its whole group
            )

    def output(self) -> str:
        return f"--- {self.name} log:\n{self.log.read_text(errors='replace')[-4000:]}"

    def terminate(self) -> None:
        """``docker stop``: SIGTERM to the main process only (tini forwards it, gosu execs)."""
        self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)


def http(
    method: str, url: str, payload: object | None = None
) -> tuple[int, Mapping[str, str], Any]:
    headers = {"Accept": "application/json", "X-Requested-With": "test_docker"}
    data = None
    if payload is not None:
        data = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers.items()), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read().decode(errors="replace")


def poll(what: str, check: Callable[[], Any], timeout: float, *logs: Service) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what}\n"
                + "\n".join(s.output() for s in logs)
            )
        time.sleep(0.1)


@pytest.mark.slow
def test_services_run_import_and_stop_cleanly(tmp_path: Path) -> None:
    if not (BIN / "mediafix").exists():
        pytest.skip(f"no mediafix command in {BIN}")
    web_svc, worker_svc = service("web"), service("worker")
    port = free_port()
    web_args = [interpolate(a, {}) for a in web_svc["command"]]
    container_port = option(web_args, "--port")
    web_args[web_args.index("--port") + 1] = str(port)
    web_args[web_args.index("--host") + 1] = "127.0.0.1"  # 0.0.0.0 would expose the test
    worker_args = [interpolate(a, {}) for a in worker_svc["command"]]
    web_env = service_env("web", tmp_path)
    worker_env = service_env("worker", tmp_path)
    assert web_env["MEDIAFIX_IMPORT_ROOTS"] == str(tmp_path / "photos")
    # Never silently UTC: both are passed through empty, and the page asks for the zone.
    assert web_env["MEDIAFIX_TIMEZONE"] == web_env["TZ"] == ""
    assert web_env["MEDIAFIX_DATABASE_URL"] == web_env["MEDIAFIX_QUEUE_URL"] == ""

    photos = tmp_path / "photos"
    taken = {}
    for i in range(6):
        when = f"2019:09:19 05:38:{10 + i:02d}"
        path = make_jpeg(
            photos / f"IMG_{i:04d}.jpg", seed=i, size=(320, 240), DateTimeOriginal=when
        )
        taken[os.path.realpath(path)] = when.replace(":", "-", 2).replace(" ", "T")
    (tmp_path / "output").mkdir()

    base = f"http://127.0.0.1:{port}"
    check = web_svc["healthcheck"]
    probe = [
        interpolate(a, {}).replace(f"127.0.0.1:{container_port}/", f"127.0.0.1:{port}/")
        for a in check["test"][1:]
    ]
    probe[0] = shutil.which(probe[0], path=web_env["PATH"]) or probe[0]

    def healthy() -> bool:
        result = subprocess.run(
            probe, env=web_env, capture_output=True, timeout=duration(check["timeout"])
        )
        return result.returncode == 0

    web = worker = None
    try:
        web = Service("web", web_args, web_env, tmp_path / "web.log")
        worker = Service("worker", worker_args, worker_env, tmp_path / "worker.log")
        poll("the web healthcheck to pass", healthy, 30, web, worker)
        assert web.proc.poll() is None and worker.proc.poll() is None
        status, _, health = http("GET", f"{base}/healthz")
        assert status == 200 and health["status"] == "ok", health

        status, _, created = http("POST", f"{base}/imports", {"path": str(photos)})
        assert status == 202, created
        job_id = created["job_id"]
        assert isinstance(job_id, int)

        def finished() -> dict[str, Any] | None:
            status, _, job = http("GET", f"{base}/jobs/{job_id}")
            assert status == 200, job
            done = job["status"] in ("completed", "failed", "cancelled")
            return job if done else None

        job = poll(f"import job {job_id}", finished, 60, web, worker)
        assert job["status"] == "completed", job
        assert job["progress_current"] == job["progress_total"] == 6, job
        assert job["failure_count"] == 0, job

        status, headers, files = http("GET", f"{base}/library?per_page=500")
        assert status == 200 and headers["X-Total-Count"] == "6"
        assert {f["path"]: f["taken_at"] for f in files} == taken
        assert {(f["kind"], f["source"]) for f in files} == {("image", "exif:DateTimeOriginal")}
        # the empty DATABASE_URL and QUEUE_URL meant SQLite files in the data volume
        assert (tmp_path / "data" / "mediafix.db").is_file()
        assert (tmp_path / "data" / "queue.db").is_file()
        said = "".join(worker.output().split())  # rich wraps the line at 80 columns
        assert f"onqueuesqlite:///{tmp_path / 'data' / 'queue.db'}" in said

        # docker compose stop: SIGTERM, then SIGKILL after the service's grace period
        stopping = [(worker, grace_period(worker_svc)), (web, grace_period(web_svc))]
        for proc, _ in stopping:
            proc.terminate()
        for proc, seconds in stopping:
            try:
                code = proc.proc.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                raise AssertionError(
                    f"{proc.name} ignored SIGTERM for {seconds:.0f} s\n{proc.output()}"
                ) from None
            assert code == 0, proc.output()
            assert "Traceback" not in proc.output(), proc.output()
    finally:
        for svc in (web, worker):
            if svc is not None:
                svc.kill()


# -- docker/entrypoint.sh as a plain process --------------------------------------------------


@contextlib.contextmanager
def world_readable_tempdir() -> Iterator[Path]:
    """A folder other users can enter (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="mediafix-docker-"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def unprivileged() -> list[str]:
    """A command prefix that runs as ``nobody`` (when the tests are root) or ``[]``.

    Skips when that is impossible. When this virtualenv's interpreter lives somewhere
    ``nobody`` cannot reach (a pyenv under /root), the prefix also keeps the capability to
    read and search directories: the user id, which is what the entrypoint looks at, is
    still 65534.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without setpriv (util-linux) to drop to an unprivileged uid")
    base = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    reach = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    # through a shell: setpriv's own exec still has root's capabilities while it opens the
    # program, a later exec (the entrypoint's) no longer does
    code = "import os, mediafix; print(os.getuid())"
    for prefix in (base, [*base, *reach]):
        probe = subprocess.run(
            [*prefix, "sh", "-c", 'exec "$0" -c "$1"', str(BIN / "python"), code],
            capture_output=True,
            text=True,
            cwd="/",
        )
        if probe.returncode == 0 and probe.stdout.strip() == str(NOBODY):
            return prefix
    pytest.skip(f"cannot run this virtualenv's python as uid {NOBODY}: {probe.stderr[-300:]}")


def entry_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAFIX_")}
    env["PATH"] = f"{BIN}{os.pathsep}/usr/sbin:/usr/bin:/sbin:/bin"
    env.update(extra)
    return env


def test_entrypoint_not_root_execs_mediafix() -> None:
    prefix = unprivileged()
    result = subprocess.run(
        [*prefix, str(ENTRYPOINT), "--version"],
        env=entry_env(PUID="1000", PGID="1000"),
        capture_output=True,
        text=True,
        cwd="/",
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"mediafix, version {__version__}"


def test_entrypoint_not_root_execs_so_docker_stop_reaches_mediafix() -> None:
    """``exec``: mediafix takes the entrypoint's process, so the SIGTERM of ``docker stop``
    (forwarded by tini) reaches it and not a shell that would leave it running."""
    prefix = unprivileged()
    with world_readable_tempdir() as root:
        (root / "mediafix").write_text('#!/bin/sh\necho "$$ $*"\n')
        (root / "mediafix").chmod(0o755)
        env = entry_env()
        env["PATH"] = f"{root}{os.pathsep}{env['PATH']}"
        proc = subprocess.Popen(
            [*prefix, str(ENTRYPOINT), "worker", "-w", "2"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            cwd="/",
        )
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out.split() == [str(proc.pid), "worker", "-w", "2"]


def test_entrypoint_not_root_does_real_work_as_that_user() -> None:
    prefix = unprivileged()
    uid = NOBODY if prefix else os.geteuid()
    with world_readable_tempdir() as root:
        data = root / "data"
        data.mkdir()
        if prefix:
            os.chown(data, NOBODY, NOBODY)
        result = subprocess.run(
            [*prefix, str(ENTRYPOINT), "db", "upgrade"],
            env=entry_env(
                MEDIAFIX_DATA_DIR=str(data),
                MEDIAFIX_OUTPUT_DIR=str(root / "out"),
                MEDIAFIX_TIMEZONE="UTC",
                HOME=str(data),
            ),
            capture_output=True,
            text=True,
            cwd="/",
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert (data / "mediafix.db").stat().st_uid == uid


def test_entrypoint_as_root_drops_to_puid_pgid() -> None:
    """The root branch, with stand-ins for the tools it needs that this host lacks or that
    must not change it: ``gosu`` (replaced by ``setpriv``), ``getent``, ``groupadd`` and
    ``useradd`` (which only record how they were called)."""
    if os.geteuid() != 0:
        pytest.skip("the entrypoint's root branch needs root")
    prefix = unprivileged()  # setpriv for the stand-in gosu; skips without it
    drop = " ".join(shlex.quote(a) for a in prefix[1:] if not a.startswith(("--reuid", "--regid")))
    with world_readable_tempdir() as root:
        shims, calls = root / "shims", root / "calls"
        shims.mkdir()
        stand_ins = {
            "gosu": f'spec=$1; shift; echo "gosu $$ $spec $*" >> {calls}\n'
            f'exec {prefix[0]} --reuid="${{spec%%:*}}" --regid="${{spec##*:}}" {drop} "$@"',
            "getent": f'echo "getent $*" >> {calls}; exit 2',
            "groupadd": f'echo "groupadd $*" >> {calls}',
            "useradd": f'echo "useradd $*" >> {calls}',
        }
        for name, body in stand_ins.items():
            (shims / name).write_text(f"#!/bin/sh\n{body}\n")
            (shims / name).chmod(0o755)
        data, out = root / "data", root / "out"
        env = entry_env(
            PUID=str(NOBODY),
            PGID=str(NOBODY),
            MEDIAFIX_DATA_DIR=str(data),
            MEDIAFIX_OUTPUT_DIR=str(out),
            MEDIAFIX_TIMEZONE="UTC",
        )
        env["PATH"] = f"{shims}{os.pathsep}{env['PATH']}"
        proc = subprocess.Popen(
            [str(ENTRYPOINT), "db", "upgrade"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            cwd="/",
        )
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert calls.read_text().splitlines() == [
            "getent group mediafix",
            f"groupadd -o -g {NOBODY} mediafix",
            "getent passwd mediafix",
            f"useradd -o -u {NOBODY} -g {NOBODY} -M -d /data -s /usr/sbin/nologin mediafix",
            f"gosu {proc.pid} {NOBODY}:{NOBODY} mediafix db upgrade",  # exec'd: same pid
        ]
        for folder in (data, out):  # created and handed to PUID:PGID
            assert (folder.stat().st_uid, folder.stat().st_gid) == (NOBODY, NOBODY)
        # mediafix itself ran as PUID: the database it created is theirs
        assert (data / "mediafix.db").stat().st_uid == NOBODY
