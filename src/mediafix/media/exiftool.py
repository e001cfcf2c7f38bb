"""The stay-open exiftool session: batch reads and writes over one long-lived process.

exiftool costs about 0.2 s to start, so a worker keeps one process open with
``-stay_open True -@ -`` and sends it commands: one argument per line, then
``-execute<N>``. Its answer ends with ``{ready<N>}`` on stdout and (through ``-echo4``)
on stderr, which is how a batch's end is found.

Why not PyExifTool: it has no timeout on a batch (a hung exiftool hangs the worker) and
it cannot pass a file name that is not valid UTF-8. This module is small and owns both.

File names are never trusted as arguments:

* every path is made absolute, so it starts with ``/`` and is never taken for an option
  (``-x.jpg``, ``-@``) or a comment (``#``);
* a path that a line-based argument file cannot carry (a newline or other control
  character, bytes that are not UTF-8) is reached through a symlink with a plain name in a
  private folder, and the answer is mapped back to the real path.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DATE_TAGS",
    "READ_TAGS",
    "ExifTool",
    "ExifToolError",
    "ExifToolNotFound",
    "ExifToolTimeout",
    "WriteBatch",
    "exiftool_path",
]

# The tags mediafix reads; asking for these alone keeps exiftool's answer small and fast.
DATE_TAGS: tuple[str, ...] = (
    "DateTimeOriginal",
    "SubSecTimeOriginal",
    "OffsetTimeOriginal",
    "OffsetTime",
    "OffsetTimeDigitized",
    "SubSecTimeDigitized",
    "SubSecTime",
    "CreateDate",
    "ModifyDate",
    "DateTimeDigitized",
    "DateCreated",
    "TimeCreated",
    "DigitalCreationDate",
    "DigitalCreationTime",
    "GPSDateStamp",
    "GPSTimeStamp",
    "MediaCreateDate",
    "TrackCreateDate",
    "CreationDate",
    "DateTime",
    "DateTimeCreated",
    "ContentCreateDate",
    "TimeZone",
    "TimeZoneOffset",
)
READ_TAGS: tuple[str, ...] = (
    "FileType",
    "FileTypeExtension",
    "MIMEType",
    "ImageWidth",
    "ImageHeight",
    "ExifImageWidth",
    "ExifImageHeight",
    "Orientation",
    "Rotation",
    "Make",
    "Model",
    "Software",
    "LensModel",
    "SerialNumber",
    "ImageUniqueID",
    "ContentIdentifier",
    "MediaGroupUUID",
    "BurstUUID",
    "GPSLatitude",
    "GPSLongitude",
    "Duration",
    "HandlerVendorID",
    "Encoder",
    "CompressorName",
    "Title",
    "Subject",
    "Keywords",
    *DATE_TAGS,
)

_READ_ARGS: tuple[str, ...] = (
    "-j",
    "-G1",
    "-a",
    "-n",
    "-api",
    "largefilesupport=1",
    "-charset",
    "filename=utf8",
    *(f"-{t}" for t in READ_TAGS),
)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


class ExifToolError(RuntimeError):
    """exiftool could not do what was asked."""


class ExifToolNotFound(ExifToolError):
    """The exiftool program is not installed."""


class ExifToolTimeout(ExifToolError):
    """exiftool did not answer within the batch's time limit (it has been restarted)."""


def exiftool_path() -> str:
    """Where the exiftool program is, or raise ExifToolNotFound with what to do."""
    found = shutil.which("exiftool")
    if not found:
        raise ExifToolNotFound(
            "exiftool is not installed: run 'sudo apt-get install libimage-exiftool-perl' "
            "(or 'make run', which installs it)"
        )
    return found


def signal_on_parent_death(sig: int = signal.SIGKILL) -> None:
    """In a child before exec: ask Linux to send ``sig`` when its parent dies.

    A stay-open exiftool whose worker was SIGKILLed would otherwise live on, waiting for
    commands on a pipe nobody will write to; the embedded worker of ``mediafix serve`` asks
    for SIGTERM, its graceful stop.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the orphan is reaped at its next command
        pass


def _take(buf: bytearray, marker: bytes) -> bytes | None:
    """Cut one answer off the front of ``buf``: what comes before the line ``marker``
    (None while that line has not arrived)."""
    line = marker + b"\n"
    if buf.startswith(line):
        at = 0
    else:
        at = buf.find(b"\n" + line)
        if at < 0:
            return None
        at += 1
    answer = bytes(buf[:at])
    del buf[: at + len(line)]
    return answer


def _overwrite(pairs: list[tuple[str, str]]) -> str:
    """exiftool's option to write files in place. Through an alias (a symlink) plain
    ``-overwrite_original`` renames the new file over the *link* and leaves the real file
    as it was (found by the batch's tests: a name with a line break was reported written
    and was not); ``_in_place`` copies the new content into the file the link points to."""
    if any(real != given for real, given in pairs):
        return "-overwrite_original_in_place"
    return "-overwrite_original"


def _needs_alias(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # surrogate-escaped bytes: not valid UTF-8
        return True
    return bool(_UNSAFE.search(path))


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    """Close an ended exiftool's pipes (a pipe that will not close is left to the GC)."""
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


class ExifTool:
    """One stay-open exiftool process.

    Use as a context manager or call ``close()``. Not thread-safe across batches by design;
    a lock keeps one command in flight. A process that died, or that overran ``timeout``
    seconds on a batch, is restarted for the next command.
    """

    def __init__(self, executable: str | None = None, timeout: float = 120.0) -> None:
        self.executable = executable or exiftool_path()
        self.timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._seq = 0
        self._lock = threading.Lock()
        self._alias_dir: str | None = None
        self._pending: dict[int, bytearray] = {}  # fd -> bytes read past the last answer
        self.restarts = 0

    # -- process lifecycle -------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        if self._proc is not None:  # it died since the last command: count it, reap it
            self._kill()
        self._pending = {}
        self._proc = subprocess.Popen(
            [self.executable, "-stay_open", "True", "-@", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C for the worker is not exiftool's to handle
            preexec_fn=signal_on_parent_death,
        )

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                try:
                    assert proc.stdin is not None
                    proc.stdin.write(b"-stay_open\nFalse\n")
                    proc.stdin.flush()
                    proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    proc.kill()
                    proc.wait()
            _close_pipes(proc)
        if self._alias_dir:
            shutil.rmtree(self._alias_dir, ignore_errors=True)
            self._alias_dir = None

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()
            _close_pipes(proc)
        self.restarts += 1

    def __enter__(self) -> ExifTool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the protocol --------------------------------------------------------------
    def execute(self, args: Sequence[str], timeout: float | None = None) -> tuple[str, str]:
        """Run one command; return (stdout, stderr) as text.

        Each argument must be one line; callers pass paths through ``_safe_paths``.
        """
        for arg in args:
            if "\n" in arg or "\r" in arg:
                raise ValueError("an exiftool argument cannot contain a line break")
        with self._lock:
            for attempt in (1, 2):
                self.start()
                try:
                    return self._execute_once(args, timeout or self.timeout)
                except BrokenPipeError:
                    # exiftool died between commands (killed, crashed): restart once.
                    self._kill()
                    if attempt == 2:
                        raise ExifToolError("exiftool stopped unexpectedly") from None
        raise AssertionError("unreachable")

    def _execute_once(self, args: Sequence[str], timeout: float) -> tuple[str, str]:
        return self._receive(self._send(args), timeout)

    def _send(self, args: Sequence[str]) -> int:
        """Queue one command (the process reads it when it is done with those before);
        return its number for ``_receive``."""
        proc = self._proc
        assert proc is not None and proc.stdin
        self._seq += 1
        payload = "".join(f"{a}\n" for a in args) + f"-echo4\n{{ready{self._seq}}}\n"
        payload += f"-execute{self._seq}\n"
        proc.stdin.write(payload.encode("utf-8", "surrogateescape"))
        proc.stdin.flush()
        return self._seq

    def _receive(self, seq: int, timeout: float) -> tuple[str, str]:
        """The answer to command ``seq``: the oldest not yet received (answers come in
        order; what follows its end marker is kept for the next one)."""
        proc = self._proc
        assert proc is not None and proc.stdout and proc.stderr
        marker = f"{{ready{seq}}}".encode()
        fds = (proc.stdout.fileno(), proc.stderr.fileno())
        found: dict[int, bytes] = {}
        for fd in fds:
            got = _take(self._pending.setdefault(fd, bytearray()), marker)
            if got is not None:
                found[fd] = got
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            for stream in (proc.stdout, proc.stderr):
                if stream.fileno() not in found:
                    sel.register(stream, selectors.EVENT_READ)
            while len(found) < 2:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._kill()
                    raise ExifToolTimeout(f"exiftool gave no answer within {timeout:.0f} s")
                for key, _ in sel.select(remaining):
                    fd = key.fd
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        self._kill()
                        raise ExifToolError("exiftool stopped unexpectedly")
                    buf = self._pending[fd]
                    buf += chunk
                    got = _take(buf, marker)
                    if got is not None:
                        found[fd] = got
                        sel.unregister(key.fileobj)
        return (
            found[fds[0]].decode("utf-8", "replace"),
            found[fds[1]].decode("utf-8", "replace"),
        )

    # -- paths ---------------------------------------------------------------------
    def _safe_paths(self, paths: Iterable[str | os.PathLike[str]]) -> list[tuple[str, str]]:
        """(real absolute path, the name to hand exiftool) for each path."""
        pairs = []
        for i, p in enumerate(paths):
            real = os.path.abspath(os.fspath(p))
            given = real
            if _needs_alias(real):
                if self._alias_dir is None:
                    self._alias_dir = tempfile.mkdtemp(prefix="mediafix-exiftool-")
                suffix = Path(real).suffix
                if not suffix.isascii() or _UNSAFE.search(suffix) or len(suffix) > 8:
                    suffix = ""
                given = os.path.join(self._alias_dir, f"f{self._seq}_{i}{suffix}")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(given)
                os.symlink(os.fsencode(real), given)
            pairs.append((real, given))
        return pairs

    def _drop_aliases(self, pairs: list[tuple[str, str]]) -> None:
        for real, given in pairs:
            if given != real:
                with contextlib.suppress(OSError):
                    os.unlink(given)

    # -- public API ------------------------------------------------------------------
    def read_metadata(
        self, paths: Sequence[str | os.PathLike[str]], timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """Metadata of each path, in order: a dict of ``Group:Tag`` -> value.

        A file exiftool cannot read gets ``{"Error": "..."}``; a whole batch that times out
        gets that error on every file. Never raises for a bad file.
        """
        if not paths:
            return []
        pairs = self._safe_paths(paths)
        try:
            out, err = self.execute([*_READ_ARGS, *(g for _, g in pairs)], timeout)
        except ExifToolError as exc:
            if len(pairs) > 1 and not isinstance(exc, ExifToolNotFound):
                # One bad file must not cost its neighbours their metadata: retry one by one.
                self._drop_aliases(pairs)
                return [self._read_one(real, timeout) for real, _ in pairs]
            return [{"Error": str(exc)} for _ in pairs]
        finally:
            self._drop_aliases(pairs)
        return self._match(pairs, out, err)

    def _read_one(self, path: str, timeout: float | None) -> dict[str, Any]:
        pairs = self._safe_paths([path])
        try:
            out, err = self.execute([*_READ_ARGS, pairs[0][1]], timeout)
        except ExifToolError as exc:
            return {"Error": str(exc)}
        finally:
            self._drop_aliases(pairs)
        return self._match(pairs, out, err)[0]

    @staticmethod
    def _match(pairs: list[tuple[str, str]], out: str, err: str) -> list[dict[str, Any]]:
        try:
            records = json.loads(out) if out.strip() else []
        except json.JSONDecodeError:
            records = []
        by_source = {r.get("SourceFile"): r for r in records if isinstance(r, dict)}
        errors: dict[str, str] = {}
        for line in err.splitlines():
            m = re.match(r"(?:Error|Warning): (.*?) - (/.*)$", line)
            if m:
                errors.setdefault(m.group(2), m.group(1))
        result = []
        for real, given in pairs:
            rec = by_source.get(given)
            if rec is None:
                result.append({"Error": errors.get(given, "exiftool could not read this file")})
                continue
            rec = dict(rec)
            rec["SourceFile"] = real
            result.append(rec)
        return result

    def write_tags(
        self,
        path: str | os.PathLike[str],
        tags: Mapping[str, Any],
        extra_args: Sequence[str] = (),
        timeout: float | None = None,
        *,
        batch: WriteBatch | None = None,
    ) -> None:
        """Write ``tags`` into ``path`` in place (no ``_original`` backup is left).

        Only ever called on mediafix's own temporary copies, never on a user's file. With
        ``batch`` the write is only queued there (values as exiftool's JSON import takes
        them: a list for a list tag) and made by ``batch.run()`` with the others.
        """
        if batch is not None:
            batch.add(os.fspath(path), tags, extra_args)
            return
        pairs = self._safe_paths([path])
        args = [_overwrite(pairs), "-charset", "filename=utf8", *extra_args]
        for name, value in tags.items():
            values = value if isinstance(value, list | tuple) else [value]
            if not values:
                args.append(f"-{name}=")
            for v in values:
                text = str(v)
                if "\n" in text or "\r" in text:
                    raise ValueError(f"a value for {name} cannot contain a line break")
                args.append(f"-{name}={text}")
        args.append(pairs[0][1])
        try:
            out, err = self.execute(args, timeout)
        finally:
            self._drop_aliases(pairs)
        if "1 image files updated" not in out and "1 image files unchanged" not in out:
            message = err.strip().splitlines()[0] if err.strip() else out.strip() or "no answer"
            raise ExifToolError(f"exiftool could not write {os.fspath(path)!r}: {message}")

    def version(self) -> str:
        out, _ = self.execute(["-ver"])
        return out.strip()

    def private_dir(self) -> str:
        """A folder only this session uses (removed by ``close``)."""
        if self._alias_dir is None:
            self._alias_dir = tempfile.mkdtemp(prefix="mediafix-exiftool-")
        return self._alias_dir


class WriteBatch:
    """Metadata writes of many files made together, by one or more exiftool sessions.

    ``ExifTool.write_tags(..., batch=b)`` queues a file's write. Files sharing their extra
    arguments are cut into chunks; each chunk is one exiftool command whose per-file values
    come from a JSON file (``-j=``: one command over many files costs about what
    ``-AllDates=`` over them does, where a command per file costs 1.5-2x). A chunk is sent
    as soon as it is full, to the sessions in turn, so the processes write while the
    caller prepares the next files; ``run()`` sends the rest and yields each chunk's files
    as soon as its command is answered, so the caller checks them while the others are
    written. Nothing here says a file was written right: the caller reads each one back.
    The sessions are held (their locks) from the first chunk sent to the end of ``run()``
    or ``close()``.
    """

    def __init__(self, sessions: Sequence[ExifTool], expected: int = 0, chunk: int = 16) -> None:
        self.sessions = list(sessions)
        # At least one chunk per session when ``expected`` files come, so all have work.
        self.chunk = max(1, min(chunk, -(-max(1, expected) // len(self.sessions))))
        self._groups: dict[tuple[str, ...], list[tuple[str, Mapping[str, Any]]]] = {}
        self._sent: list[tuple[ExifTool, int | None, list[tuple[str, str]]]] = []
        self._answered = 0
        self._held: contextlib.ExitStack | None = None
        self._dead: set[int] = set()

    def __len__(self) -> int:
        return sum(len(g) for g in self._groups.values()) + sum(len(p) for *_, p in self._sent)

    def add(self, path: str, tags: Mapping[str, Any], extra_args: Sequence[str]) -> None:
        for name, value in tags.items():
            for v in value if isinstance(value, list | tuple) else [value]:
                if "\n" in str(v) or "\r" in str(v):
                    raise ValueError(f"a value for {name} cannot contain a line break")
        group = self._groups.setdefault(tuple(extra_args), [])
        group.append((os.path.abspath(path), dict(tags)))
        if len(group) >= self.chunk:
            self._send(tuple(extra_args), group)
            self._groups[tuple(extra_args)] = []

    def _send(
        self, extra_args: tuple[str, ...], entries: list[tuple[str, Mapping[str, Any]]]
    ) -> None:
        if self._held is None:
            self._held = contextlib.ExitStack()
            for session in self.sessions:
                self._held.enter_context(session._lock)
        et = self.sessions[len(self._sent) % len(self.sessions)]
        pairs = et._safe_paths([path for path, _tags in entries])
        data = [
            {"SourceFile": given, **tags}
            for (_real, given), (_path, tags) in zip(pairs, entries, strict=True)
        ]
        fd, name = tempfile.mkstemp(suffix=".json", dir=et.private_dir())
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            # dumps, then one write: ``json.dump`` encodes piece by piece in Python
            f.write(json.dumps(data, ensure_ascii=False, default=str))
        args = [_overwrite(pairs), "-charset", "filename=utf8", *extra_args, f"-j={name}"]
        seq = None
        if id(et) not in self._dead:
            try:
                et.start()
                seq = et._send([*args, *(given for _real, given in pairs)])
            except OSError:  # it died: its files are left as they were
                et._kill()
                self._dead.add(id(et))
        self._sent.append((et, seq, pairs))

    def flush(self) -> None:
        """Send the writes still queued, so the sessions work while the caller does
        something else before ``run()``."""
        for extra_args, entries in self._groups.items():
            if entries:
                self._send(extra_args, entries)
        self._groups = {}

    def run(self, timeout: float | None = None) -> Iterator[list[str]]:
        """Make the queued writes; yield each chunk's paths once its command is answered
        (or failed: a session that died or timed out is restarted for the next batch)."""
        self.flush()
        try:
            while self._answered < len(self._sent):
                et, seq, pairs = self._sent[self._answered]
                if seq is not None and id(et) not in self._dead:
                    try:
                        et._receive(seq, timeout or et.timeout)
                    except ExifToolError:
                        self._dead.add(id(et))  # its later chunks are answered by nobody
                et._drop_aliases(pairs)
                self._answered += 1
                yield [real for real, _given in pairs]
        finally:
            self.close()

    def close(self) -> None:
        """Let the sessions go. One with answers still to come (left early: an error in
        the caller) would hand them to its next command: it is started afresh instead."""
        for et, seq, pairs in self._sent[self._answered :]:
            et._drop_aliases(pairs)
            if seq is not None and id(et) not in self._dead:
                self._dead.add(id(et))
                et._kill()
        self._answered = len(self._sent)
        self._groups = {}
        for et in self.sessions:
            if et._alias_dir is not None:
                for name in os.listdir(et._alias_dir):
                    if name.endswith(".json"):
                        with contextlib.suppress(OSError):
                            os.unlink(os.path.join(et._alias_dir, name))
        if self._held is not None:
            self._held.close()
            self._held = None
