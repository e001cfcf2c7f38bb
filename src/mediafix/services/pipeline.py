"""The pipeline: discover -> probe -> date -> group -> review -> plan -> apply.

``STAGES`` below lists the seven stages in order, each with the function that runs it and
what it adds to a file. The first three run per file, in parallel: ``BATCH_STAGES`` is the
per-file work a worker process does on a batch; the CLI (``mediafix scan`` / ``inspect``)
and the import jobs both call ``run_parallel`` or ``analyse_batch``, so there is one way
files become facts. The later ones run over the whole library (group, plan, apply) or are a
person's (review).

Each worker process owns one exiftool; batches keep that process busy and let progress
move and cancellation be prompt. Memory is bounded: discovery is a generator and only a
few batches are in flight at once.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from mediafix.media.analysis import Analysed
from mediafix.media.dates import DateOptions, date_evidence
from mediafix.media.discover import NONE_OWN, Found, OwnFolders, discover
from mediafix.media.exiftool import ExifTool, ExifToolError
from mediafix.media.probe import Probe, probe_batch

if TYPE_CHECKING:  # the database and pydantic: loaded only by what uses them (not `inspect`)
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from mediafix.config import Settings

__all__ = [
    "BATCH_STAGES",
    "LOCAL_CAMERAS_KEY",
    "STAGES",
    "AnalyseOptions",
    "Stage",
    "analyse_batch",
    "analyse_options",
    "balanced_batches",
    "batched",
    "iter_found",
    "largest_first",
    "review_confidence_of",
    "run_parallel",
]

BATCH_SIZE = 32
T = TypeVar("T")


@dataclass(frozen=True)
class AnalyseOptions:
    """What a worker needs to know to analyse files (picklable: crosses process lines)."""

    timezone: str = "UTC"
    quicktime_local_models: tuple[str, ...] = ()
    # (model, evidence) of cameras the library showed to write local time into QuickTime
    detected_local_cameras: tuple[tuple[str, str], ...] = ()

    def date_options(self) -> DateOptions:
        return DateOptions(
            home_zone=ZoneInfo(self.timezone),
            quicktime_local_models=frozenset(self.quicktime_local_models),
            detected_local_cameras=dict(self.detected_local_cameras),
        )


# The settings-table key under which the library keeps the cameras it found to write local
# time into QuickTime ({model: evidence in words}); re-dating and every scan read it.
LOCAL_CAMERAS_KEY = "quicktime_local_detected"


def analyse_options(settings: Settings, session: Session | None = None) -> AnalyseOptions:
    from mediafix.config import effective  # pydantic: not on `inspect`'s path

    stored: dict[str, Any] = {}
    if session is not None:
        from mediafix.store.settings import stored_settings

        stored = stored_settings(session)
    now = effective(settings, stored)
    models = now.stored.get("quicktime_local_models") or ()
    detected = now.stored.get(LOCAL_CAMERAS_KEY) or {}
    return AnalyseOptions(
        timezone=now.timezone,
        quicktime_local_models=tuple(models),
        detected_local_cameras=tuple(sorted((str(k), str(v)) for k, v in detected.items()))
        if isinstance(detected, dict)
        else (),
    )


def review_confidence_of(settings: Settings, session: Session) -> float:
    """The review threshold now (the page's value, else the environment's)."""
    from mediafix.store.settings import effective_settings

    return effective_settings(settings, session).review_confidence


# -- the per-file stages -----------------------------------------------------------------


def stage_probe(items: list[Analysed], et: ExifTool, options: AnalyseOptions) -> None:
    """Fill each item's probe (one exiftool round trip for the batch)."""
    todo = [i for i in items if i.found.error is None]
    for item, probe in zip(todo, probe_batch([i.found.path for i in todo], et), strict=True):
        item.probe = probe
    for item in items:
        if item.found.error is not None:
            item.probe.error = item.found.error


def stage_date(items: list[Analysed], et: ExifTool, options: AnalyseOptions) -> None:
    """Date every media file from its metadata, name, folders, sidecars and mtime."""
    date_options = options.date_options()
    for item in items:
        if item.probe.kind not in ("image", "video"):
            continue
        item.evidence, item.verdict = date_evidence(
            item.found.path,
            item.probe.metadata,
            item.probe.mtime,
            root=item.found.root,
            sidecars=item.found.sidecars,
            options=date_options,
        )


BatchStage = Callable[[list[Analysed], ExifTool, AnalyseOptions], None]
# The per-file stages a worker runs on each batch, in order (``analyse_batch``).
BATCH_STAGES: tuple[BatchStage, ...] = (stage_probe, stage_date)


# -- workers -----------------------------------------------------------------------------

_exiftool: ExifTool | None = None


def _worker_exiftool() -> ExifTool:
    global _exiftool
    if _exiftool is None:
        # Started by its first command: a worker given plain JPEGs only (their EXIF is read
        # in process) never starts perl at all.
        _exiftool = ExifTool()
        atexit.register(_exiftool.close)
    return _exiftool


def close_worker_exiftool() -> None:
    global _exiftool
    if _exiftool is not None:
        _exiftool.close()
        _exiftool = None


def analyse_batch(
    founds: Sequence[Found], options: AnalyseOptions, exiftool: ExifTool | None = None
) -> list[Analysed]:
    """Run every stage on one batch. Never raises for a bad file."""
    et = exiftool or _worker_exiftool()
    items = [Analysed(found=f, probe=Probe(path=f.path)) for f in founds]
    for stage in BATCH_STAGES:
        stage(items, et, options)
    return items


def _worker_init() -> None:
    # Workers ignore Ctrl-C: the parent decides when to stop and closes the pool.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Find exiftool now; if it is missing, the first batch that needs it says so for each
    # of its files.
    with contextlib.suppress(ExifToolError):
        _worker_exiftool()


def batched(items: Iterable[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def balanced_batches(
    found: Iterable[Found], workers: int, size: int = BATCH_SIZE
) -> Iterator[list[Found]]:
    """``found`` in batches for ``workers`` processes, largest files first.

    Full batches while there is plenty left, then small ones, so that at the end no
    worker sits idle while another works through a whole batch.
    """
    ordered = largest_first(found)
    done, total = 0, len(ordered)
    while total - done > workers * size:
        yield ordered[done : done + size]
        done += size
    small = max(1, -(-(total - done) // (workers * 4)))
    while done < total:
        yield ordered[done : done + small]
        done += small


def largest_first(found: Iterable[Found]) -> list[Found]:
    """``found`` ordered for probing: biggest files first, equal sizes side by side.

    Big files go out while every worker is busy, so the last batches are quick ones and no
    worker idles at the end; byte-for-byte copies (same size) land in one batch, where the
    probe reuses the first one's decode.
    """
    return sorted(found, key=lambda f: -(f.size or 0))


def iter_found(
    paths: Iterable[str | os.PathLike[str]], own: OwnFolders = NONE_OWN
) -> Iterator[Found]:
    """Discover every file under each path (a path may be a single file); mediafix's
    ``own`` folders (``library.own_folders``) are not entered."""
    for p in paths:
        yield from discover(p, own)


def run_parallel(
    batches: Iterable[list[Found]],
    options: AnalyseOptions,
    workers: int,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[list[Analysed]]:
    """Analyse batches across ``workers`` processes, yielding results as they complete.

    At most ``2 * workers`` batches are in flight, so memory does not grow with the
    library. With ``workers == 1`` the work runs in this process (no pool to start).
    """
    if workers <= 1:
        et = ExifTool()
        try:
            for batch in batches:
                if should_stop():
                    return
                yield analyse_batch(batch, options, et)
        finally:
            et.close()
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init) as pool:
        pending: set[Future[list[Analysed]]] = set()
        source = iter(batches)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < workers * 2 and not should_stop():
                    try:
                        batch = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.add(pool.submit(analyse_batch, batch, options))
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
                if should_stop():
                    exhausted = True
        finally:
            for fut in pending:
                fut.cancel()


# -- the library-wide stages (their modules load only when they run) ----------------------


def group(engine: Engine, settings: Settings) -> Any:
    """Bundles and duplicate groups: ``services.duplicates.regroup``."""
    from mediafix.services.duplicates import regroup  # numpy, PyAV: only when grouping

    return regroup(engine, settings)


def plan(engine: Engine, settings: Settings) -> Any:
    """The output plan, written nowhere: ``services.output.preview``."""
    from mediafix.services.output import preview

    return preview(engine, settings)


def apply(engine: Engine, settings: Settings, *, move: bool = False) -> Any:
    """The archive written: ``services.output.run_apply``."""
    from mediafix.services.output import run_apply

    return run_apply(engine, settings, move=move)


@dataclass(frozen=True)
class Stage:
    """One stage: its name, the function that runs it (None: a person does, in the web page
    or with the CLI) and what it adds to a file (see ``media.analysis.Analysed`` and
    ``store.models.File`` for the fields)."""

    name: str
    run: Callable[..., Any] | None
    fills: str


STAGES: tuple[Stage, ...] = (
    Stage("discover", iter_found, "where a file is, its size and mtime, its sidecars"),
    Stage("probe", stage_probe, "kind, format, sha256, perceptual hashes, pixels, camera, tags"),
    Stage("date", stage_date, "the evidence, and the verdict: capture time, offset, confidence"),
    Stage("group", group, "its bundle and duplicate groups, with a suggested keeper"),
    Stage("review", None, "a person's decisions: keep or discard, not duplicates, dates, tags"),
    Stage("plan", plan, "its target name, the metadata to write, or why it is held back"),
    Stage("apply", apply, "its output file, written, verified and journaled"),
)
