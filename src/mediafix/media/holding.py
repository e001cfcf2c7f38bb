"""The holding folder: the originals a move keeps in OUTPUT until the user empties it.

``apply --move`` moves each source, bytes untouched, to
``OUTPUT/.originals/<run>/<the source's absolute path>`` (see :mod:`mediafix.media.apply`),
so that ``undo`` can put it back byte for byte. That costs space until the user decides
the archive is right: :func:`held_runs` says how much, per move run, and :func:`purge`
removes whole runs (optionally only those older than some days). An undo after a purge
still restores every photo, from the archive's copy (with mediafix's metadata).

The run's name is its journal's (``apply-<UTC start>-<random>``), so the journal of each
held file is known, and a purge notes in it what it removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mediafix.media.journal import append_to_journal

__all__ = [
    "HOLD_DIR",
    "HeldRun",
    "PurgeResult",
    "held_path",
    "held_runs",
    "holding_dir",
    "holding_root",
    "purge",
]

# Where move mode keeps each source's original bytes until the user purges them.
HOLD_DIR = ".originals"


@dataclass(frozen=True)
class HeldRun:
    """The originals one move run keeps."""

    name: str  # the run's journal name, without ``.jsonl``
    path: str
    started: datetime  # UTC
    files: int
    bytes: int


@dataclass
class PurgeResult:
    """What :func:`purge` removed, and what it could not."""

    runs: list[HeldRun] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    @property
    def files(self) -> int:
        return sum(r.files for r in self.runs)

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.runs)


def holding_dir(output_dir: str) -> str:
    return os.path.join(os.path.abspath(output_dir), HOLD_DIR)


def held_path(output_dir: str, run: str, source: str) -> str:
    """Where move mode keeps ``source``'s original: the run's holding folder, then the
    source's own absolute path (one place per source, and a person sees where it was)."""
    return os.path.join(output_dir, HOLD_DIR, run, os.path.abspath(source).lstrip(os.sep))


def holding_root(held: str) -> str:
    """The holding folder a held original lies in (``OUTPUT/.originals``)."""
    marker = os.sep + HOLD_DIR + os.sep
    return held[: held.rindex(marker) + len(marker) - 1]


def _started(name: str, path: str) -> datetime:
    """The run's start from its name (``apply-20261206T143102.866256Z-3f9a1c``), else the
    folder's modification time."""
    stamp = name.removeprefix("apply-").rsplit("-", 1)[0]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(os.lstat(path).st_mtime, UTC)


def _measure(path: str) -> tuple[int, int]:
    files = size = 0
    for folder, _dirs, names in os.walk(path):
        for name in names:
            try:
                size += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
            files += 1
    return files, size


def held_runs(output_dir: str) -> list[HeldRun]:
    """The move runs whose originals ``output_dir`` keeps, oldest first."""
    root = holding_dir(output_dir)
    try:
        entries = [e for e in os.scandir(root) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    runs = []
    for entry in entries:
        files, size = _measure(entry.path)
        runs.append(HeldRun(entry.name, entry.path, _started(entry.name, entry.path), files, size))
    return sorted(runs, key=lambda r: (r.started, r.name))


def purge(
    output_dir: str,
    journal_dir: str | None = None,
    *,
    older_than_days: float | None = None,
    now: datetime | None = None,
) -> PurgeResult:
    """Remove the originals kept by move runs (those started more than ``older_than_days``
    ago, or all), for good. The caller holds the output lock and has asked the user."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=older_than_days) if older_than_days else None
    result = PurgeResult()
    for run in held_runs(output_dir):
        if cutoff is not None and run.started > cutoff:
            continue
        failed: list[tuple[str, str]] = []

        def note(
            _func: object, path: str, exc: object, failed: list[tuple[str, str]] = failed
        ) -> None:
            error = exc[1] if isinstance(exc, tuple) else exc
            failed.append((path, getattr(error, "strerror", None) or str(error)))

        shutil.rmtree(run.path, onerror=note)
        result.errors.extend(failed)
        left_files, left_bytes = _measure(run.path) if os.path.lexists(run.path) else (0, 0)
        removed = HeldRun(
            run.name, run.path, run.started, run.files - left_files, run.bytes - left_bytes
        )
        result.runs.append(removed)
        journal = os.path.join(journal_dir, run.name + ".jsonl") if journal_dir else None
        if journal and os.path.isfile(journal):
            append_to_journal(
                journal,
                {
                    "type": "purged",
                    "held": run.path,
                    "files": removed.files,
                    "bytes": removed.bytes,
                },
            )
    with contextlib.suppress(OSError):
        os.rmdir(holding_dir(output_dir))  # only when empty
    return result
