"""One run of the real stack on a generated library: a temp folder with its own data
folder and output, the ``mediafix`` commands (in-process through click, or a subprocess
when it is to be SIGKILLed) and the review decisions a person makes on the web pages
(through the same store functions the views call)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select, update

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.store.db import dispose_engines, get_engine, session_scope
from mediafix.store.models import DuplicateMember, File
from tests.helpers.hostile import snapshot
from tests.invariants.library import Library, build, tree

__all__ = ["World", "world"]

REPO = Path(__file__).resolve().parents[2]
FAULT_WORKER = REPO / "tests" / "helpers" / "fault_worker.py"
_ENV_VARS = (
    "MEDIAFIX_DATA_DIR",
    "MEDIAFIX_OUTPUT_DIR",
    "MEDIAFIX_TIMEZONE",
    "MEDIAFIX_WORKERS",
    "MEDIAFIX_DATABASE_URL",
    "MEDIAFIX_QUEUE_URL",
    "MEDIAFIX_PASSWORD",
)


@dataclass(frozen=True)
class _Row:
    id: int
    path: str
    sha256: str | None
    kind: str
    format: str | None
    status: str
    bundle: str | None
    taken_at: datetime | None
    taken_at_utc: datetime | None
    utc_offset: int | None
    date_precision: str | None
    date_source: str | None

    @classmethod
    def of(cls, f: File) -> _Row:
        return cls(
            f.id,
            f.path,
            f.sha256,
            f.kind,
            f.format,
            f.status,
            f.bundle,
            f.taken_at,
            f.taken_at_utc,
            f.utc_offset,
            f.date_precision,
            f.date_source,
        )


@dataclass
class World:
    root: Path
    lib: Path
    out: Path
    data: Path
    spec: Library
    files: dict[str, str] = field(default_factory=dict)  # every library file -> sha256
    log: list[str] = field(default_factory=list)  # what was done, for the failure report
    before: dict[bytes, tuple[object, ...]] = field(default_factory=dict)  # snapshot(lib)
    rows_cache: dict[int, _Row] = field(default_factory=dict)

    # -- commands ---------------------------------------------------------------------------

    def cli(self, *args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(main, list(args))
        if ok:
            assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    def engine(self) -> Any:
        return get_engine(get_settings().database_url)

    def scan(self) -> None:
        self.cli("scan", "-w", "1", str(self.lib))
        self.log.append("scan")
        cids = self._content_ids()
        if cids:
            # exiftool cannot write Apple's ContentIdentifier: set it on the rows as a scan
            # of an iPhone's files (and of their byte-identical copies) would have read it.
            with session_scope(self.engine()) as s:
                for digest, cid in cids.items():
                    s.execute(update(File).where(File.sha256 == digest).values(content_id=cid))
            from mediafix.services.duplicates import regroup

            regroup(self.engine(), get_settings())
            self.log.append(f"content ids set on {len(cids)} contents, regrouped")

    def _content_ids(self) -> dict[str, str]:
        cids = {}
        for shot in self.spec.shots:
            if shot.cid:
                for name in shot.names():
                    if str(self.lib / name) in self.files:  # (not deleted)
                        cids[self.files[str(self.lib / name)]] = shot.cid
        return cids

    def delete(self, path: str) -> None:
        """A person deletes a library file between two scans: it is no longer the library's,
        and the sources to keep unchanged are the ones left."""
        os.unlink(path)
        del self.files[path]
        self.before = snapshot(self.lib)
        self.log.append(f"deleted {os.path.relpath(path, self.lib)}")

    def plan(self, *extra: str) -> dict[str, Any]:
        return json.loads(self.cli("plan", str(self.out), "--json", *extra))

    def apply(self, move: bool = False) -> str:
        args = ["apply", str(self.out)] + (["--move"] if move else [])
        self.log.append(" ".join(args))
        return self.cli(*args)

    def killed_apply(self, point: str, move: bool) -> bool:
        """``mediafix apply OUT [--move]`` in a process that stops dead at ``point``
        (``tests/helpers/fault_worker.py``) and is SIGKILLed there. False when the apply finished
        before reaching it."""
        marker = self.root / "paused"
        marker.unlink(missing_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = f"{REPO / 'src'}{os.pathsep}{REPO}"
        args = [sys.executable, str(FAULT_WORKER), point, str(marker), "--", "apply"]
        args += [str(self.out)] + (["--move"] if move else [])
        with open(self.root / "killed.log", "ab") as fh:
            proc = subprocess.Popen(
                args, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            deadline = time.monotonic() + 120
            while not marker.exists() and proc.poll() is None:
                assert time.monotonic() < deadline, "the apply to kill never got there"
                time.sleep(0.02)
            killed = marker.exists()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        how = "apply --move" if move else "apply"
        self.log.append(
            f"{how} SIGKILLed at {point}"
            if killed
            else f"{how} finished before {point} (exit {proc.returncode})"
        )
        if not killed:
            assert proc.returncode == 0, (self.root / "killed.log").read_text(errors="replace")
        return killed

    def undo_all(self) -> int:
        """``mediafix undo`` until nothing is left to undo; how many runs it undid."""
        runs = 0
        while True:
            result = CliRunner().invoke(main, ["undo"])
            if result.exit_code != 0:
                assert "no apply to undo" in result.output, result.output
                break
            runs += 1
            assert runs < 10, result.output
        self.log.append(f"undo x{runs}")
        return runs

    # -- the library as stored ------------------------------------------------------------

    def rows(self) -> dict[int, _Row]:
        with session_scope(self.engine()) as s:
            self.rows_cache = {f.id: _Row.of(f) for f in s.scalars(select(File))}
        return self.rows_cache

    def group_members(self) -> dict[int, dict[int, bool]]:
        """group id -> {file id: kept}."""
        groups: dict[int, dict[int, bool]] = {}
        with session_scope(self.engine()) as s:
            for gid, fid, keep in s.execute(
                select(DuplicateMember.group_id, DuplicateMember.file_id, DuplicateMember.keep)
            ):
                groups.setdefault(gid, {})[fid] = bool(keep)
        return groups

    def media_paths(self) -> set[str]:
        """The generated photos and videos (not the junk, not the sidecars)."""
        junk = {str(self.lib / j.path) for j in self.spec.junk}
        return {
            p
            for p in self.files
            if p not in junk and not p.lower().endswith((".xmp", ".json", ".aae"))
        }

    def report(self) -> str:
        return (
            "library:\n"
            + tree(self.lib, self.files)
            + "\nsteps: "
            + " -> ".join(self.log)
            + f"\n(kept in {self.root})"
        )


@contextlib.contextmanager
def world(spec: Library, keep_on_failure: bool = False) -> Iterator[World]:
    """A fresh temp folder with the library built in it and the MEDIAFIX_* settings
    pointing there (restored after). The folder is removed unless the body failed."""
    root = Path(tempfile.mkdtemp(prefix="mediafix-harness-"))
    saved = {k: os.environ.get(k) for k in _ENV_VARS}
    os.environ["MEDIAFIX_DATA_DIR"] = str(root / "data")
    os.environ["MEDIAFIX_OUTPUT_DIR"] = str(root / "archive")
    os.environ["MEDIAFIX_TIMEZONE"] = "UTC"
    os.environ["MEDIAFIX_WORKERS"] = "1"
    for k in ("MEDIAFIX_DATABASE_URL", "MEDIAFIX_QUEUE_URL", "MEDIAFIX_PASSWORD"):
        os.environ.pop(k, None)
    get_settings.cache_clear()
    w = World(root, root / "photos", root / "archive", root / "data", spec)
    failed = False
    try:
        w.files = build(w.lib, spec)
        w.before = snapshot(w.lib)
        yield w
    except BaseException:
        failed = True
        raise
    finally:
        dispose_engines()
        get_settings.cache_clear()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if not (failed and keep_on_failure):
            shutil.rmtree(root, ignore_errors=True)
