"""Output: the library's decisions -> a plan -> files in OUTPUT, journaled; and undo.

The plan and the apply are pure domain code (``media/plan/``, ``media/apply.py``); this
module turns rows into their inputs and records what was written back into the rows.
The CLI (``mediafix plan/apply/undo/purge``), the ``output`` and ``undo`` jobs and the web
page call it; queueing the jobs is the callers' (``jobs.enqueue``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mediafix.config import FolderError, Settings
from mediafix.media.apply import ApplyResult, ItemOutcome, UndoResult, apply_plan, undo
from mediafix.media.bundles import CopyInput, GroupVote, choose_written
from mediafix.media.exiftool import ExifTool
from mediafix.media.holding import HeldRun, PurgeResult, held_runs, purge
from mediafix.media.journal import iter_journal
from mediafix.media.outputlock import OutputBusy, output_lock
from mediafix.media.plan import Action, DiskReads, Plan, PlanInput, make_plan, plan_items
from mediafix.store.db import session_scope
from mediafix.store.library import library_roots
from mediafix.store.models import DuplicateGroup, DuplicateMember, File
from mediafix.store.records import PLAN_COLUMNS, PlanRow, plan_input
from mediafix.store.settings import effective_settings

__all__ = [
    "OutputBusy",
    "held_originals",
    "journal_dir",
    "last_journal",
    "output_dir_for",
    "output_refused",
    "plan_inputs",
    "preview",
    "purge_originals",
    "run_apply",
    "undo_journal",
]


def output_dir_for(
    settings: Settings,
    session: Session | None = None,
    override: str | os.PathLike[str] | None = None,
) -> str:
    if override:
        return os.path.abspath(os.fspath(override))
    if session is not None:
        return str(effective_settings(settings, session).output_dir)
    return str(settings.output_dir)


def journal_dir(settings: Settings) -> str:
    path = settings.data_dir / "journals"
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def uploads_dir(settings: Settings) -> str:
    """Where the web page puts uploads: each one's first folder is the folder dropped."""
    return str(settings.data_dir / "uploads")


def plan_inputs(session: Session, uploads: str | None = None) -> list[PlanInput]:
    """One ``PlanInput`` per media file, with the duplicate decisions applied.

    Every picture the duplicate groups keep is written once, a bundle (Live Photo, RAW +
    JPEG) as a whole where it can be (``bundles.choose_written``); every other file names
    the file written in its place. ``uploads``: see ``_inputs``.
    """
    return _inputs(*_library_rows(session), uploads=uploads, let_go=True)


_Rows = list[PlanRow]
_Groups = list[tuple[Any, ...]]


def _library_rows(session: Session) -> tuple[_Rows, _Groups]:
    """Everything a plan reads from the library: the media files (``PLAN_COLUMNS``) and
    the duplicate group members, as plain tuples (so two reads compare with ``==``)."""
    # Core rows through the session's connection: no ORM loading machinery per row.
    connection = session.connection()
    rows = connection.execute(
        select(*PLAN_COLUMNS).where(File.kind.in_(("image", "video"))).order_by(File.id)
    )
    groups = connection.execute(
        select(
            DuplicateMember.file_id,
            DuplicateMember.keep,
            DuplicateGroup.id,
            DuplicateGroup.type,
            DuplicateGroup.keeper_id,
        )
        .join(DuplicateGroup, DuplicateGroup.id == DuplicateMember.group_id)
        # A file discarded by two groups is told of the last: in group order, as SQLite
        # has always read this join (and the rows must compare equal from read to read).
        .order_by(DuplicateMember.group_id, DuplicateMember.file_id)
    )
    # Columns most files share a value of (root, kind, status, the date's source and
    # reason...) hold one string per value, not one per file (100,000 rows: ~40 MB less);
    # so do the numbers of a few (one dict per column: 0 == 0.0 == False across them).
    shared: dict[Any, Any] = {}
    share = shared.setdefault
    numbers: dict[int, dict[Any, Any]] = {n: {} for n in _SHARED_NUMBERS}
    plan_rows = [
        PlanRow._make(
            [
                share(v, v)
                if n in _SHARED_COLUMNS
                else numbers[n].setdefault(v, v)
                if n in numbers
                else v
                for n, v in enumerate(r)
            ]
        )
        for r in rows
    ]
    return plan_rows, [tuple(g) for g in groups.all()]


_SHARED_COLUMNS = frozenset(
    n
    for n, name in enumerate(PlanRow._fields)
    if name
    in (
        "root",
        "kind",
        "format",
        "ext",
        "date_precision",
        "status",
        "error",
        "sidecars",
        "tags",
        "date_source",
        "confidence_level",
        "date_reason",
    )
)
_SHARED_NUMBERS = frozenset(
    n for n, name in enumerate(PlanRow._fields) if name in ("confidence", "utc_offset")
)


def _inputs(
    rows: _Rows, groups: _Groups, uploads: str | None = None, *, let_go: bool = False
) -> list[PlanInput]:
    """Rows -> plan inputs. What is written comes from one bundle-level rule
    (``bundles.choose_written``); ``uploads`` is the upload folder, whose files' first
    folder is the folder a person dropped: the import's own name, not a tag. ``let_go``:
    ``rows`` is emptied, each row let go once its input is made (the rows and the inputs
    of a big library are never all held at once)."""
    decided = choose_written(
        [CopyInput(r.id, r.path, r.sha256, r.bundle) for r in rows],
        [
            GroupVote(file_id, bool(keep), group_id, kind, keeper_id)
            for file_id, keep, group_id, kind, keeper_id in groups
        ],
    )
    upload_prefix = os.path.join(os.path.abspath(uploads), "") if uploads else None

    def tag_path(root: str, rel_path: str) -> str:
        if upload_prefix and os.path.join(root, "").startswith(upload_prefix):
            rel = rel_path.replace("\\", "/")
            return rel.split("/", 1)[1] if "/" in rel else rel
        return rel_path

    copies: dict[int, list[str]] = defaultdict(list)  # written file -> its copies' tag paths
    for r in rows:
        verdict = decided[r.id]
        if not verdict.keep and verdict.copy_of is not None:
            copies[verdict.copy_of].append(tag_path(r.root, r.rel_path))
    inputs = []
    if let_go:
        rows.reverse()
    for r in _taken(rows) if let_go else rows:
        verdict = decided.pop(r.id) if let_go else decided[r.id]
        inputs.append(
            plan_input(
                r,
                keep=verdict.keep,
                discard_reason=verdict.reason,
                copy_of=verdict.copy_of,
                unit=verdict.unit,
                tag_path=tag_path(r.root, r.rel_path),
                copy_tag_paths=copies.get(r.id, ()),
            )
        )
    return inputs


def _taken(rows: _Rows) -> Iterator[PlanRow]:
    """The rows of a reversed list, in their order, each taken out of it as it is read."""
    while rows:
        yield rows.pop()


@dataclass(frozen=True)
class _Planned:
    """A plan and everything it was made from (the last preview of this process)."""

    key: tuple[Any, ...]  # database, output folders, include_review, journals, tag option
    version: tuple[Any, ...] | None  # the database's change counter when the rows were read
    out: str
    rows: _Rows | None  # without a change counter: the rows, to compare (tens of MB)
    groups: _Groups | None
    disk: tuple[Any, ...]
    plan: Plan


_last_preview: _Planned | None = None
# A folder or file changed this recently may change again within its mtime's resolution
# (or a clock apart): a plan that read it is not kept (git's "racy clean" rule).
_SETTLED_NS = 5 * 10**9


class _ChangeCounter:
    """SQLite's ``PRAGMA data_version`` on a read-only connection of its own: it changes
    whenever another connection (this process's pool, a worker, the CLI) commits a change,
    so while it stands still the library's rows are as they were (no need to read them).
    ``None`` when unknown (PostgreSQL, an in-memory database, any error)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._which: tuple[Any, ...] = ()  # process, file, its inode; a serial number
        self._serial = 0

    def __call__(self, engine: Engine) -> tuple[Any, ...] | None:
        url = engine.url
        path = url.database
        if (
            url.get_backend_name() != "sqlite"
            or not path
            or path == ":memory:"
            or (path.startswith("file:"))
        ):
            return None
        path = os.path.abspath(path)
        with self._lock:
            try:
                st = os.stat(path)
                which = (os.getpid(), path, st.st_dev, st.st_ino)
                if self._conn is None or self._which[:-1] != which:
                    if self._conn is not None and self._which[0] == os.getpid():
                        self._conn.close()
                    self._conn = None
                    self._serial += 1
                    self._conn = sqlite3.connect(
                        Path(path).as_uri() + "?mode=ro",
                        uri=True,
                        check_same_thread=False,
                        isolation_level=None,
                    )
                    self._which = (*which, self._serial)
                (version,) = self._conn.execute("PRAGMA data_version").fetchone()
            except (OSError, sqlite3.Error):
                self._conn = None
                return None
            return (*self._which, version)


_change_counter = _ChangeCounter()


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _disk_state(reads: DiskReads, journals: str) -> tuple[Any, ...]:
    """The state of what a plan read from disk: the journals (append-only), the folders it
    looked in (their mtime changes with every name added or removed), the files it hashed."""
    try:
        with os.scandir(journals) as entries:
            names = sorted(e.name for e in entries if e.name.endswith(".jsonl"))
    except OSError:
        names = []
    return (
        tuple((n, _stat(os.path.join(journals, n))) for n in names),
        tuple((f, _stat(f)) for f in sorted(reads.folders)),
        tuple((f, _stat(f)) for f in sorted(reads.files)),
    )


def _settled(disk: tuple[Any, ...], started_ns: int) -> bool:
    return all(
        state is None or state[1] < started_ns - _SETTLED_NS
        for part in disk
        for _path, state in part
    )


def preview(
    engine: Engine, settings: Settings, output: str | None = None, *, include_review: bool = False
) -> Plan:
    """The plan for the library as it stands (writes nothing).

    Planning a big library takes a while, so the last plan is kept and given again while
    the library, the journals and what the plan read from the output folder are unchanged:
    with SQLite while nothing was committed since (``_ChangeCounter``), otherwise while
    the rows read again compare equal; and while the journals' and the folders' mtimes are
    as they were. The plan returned may be that shared one: read it, never change it.
    """
    global _last_preview
    journals = journal_dir(settings)
    key = (
        str(engine.url),
        output,
        str(settings.output_dir),
        include_review,
        journals,
        settings.tags_from_copies,
    )
    version = _change_counter(engine)  # before the rows: a commit after it shows next time
    last = _last_preview if _last_preview is not None and _last_preview.key == key else None
    if (
        last is not None
        and version is not None
        and version == last.version
        and last.disk == _disk_state(last.plan.reads, journals)
    ):
        return last.plan
    with session_scope(engine) as s:
        out = output_dir_for(settings, s, output)
        rows, groups = _library_rows(s)
    if (
        last is not None
        and last.rows is not None
        and last.out == out
        and last.rows == rows
        and last.groups == groups
        and last.disk == _disk_state(last.plan.reads, journals)
    ):
        return last.plan
    started_ns = time.time_ns()
    inputs = _inputs(rows, groups, uploads_dir(settings))
    # The rows are kept to compare with the next read only where no change counter stands
    # for them; else they are let go before planning (100,000 rows are tens of MB).
    read = (rows, groups) if version is None else None
    del rows, groups
    plan = make_plan(
        inputs,
        out,
        include_review=include_review,
        journal_dir=journals,
        tags_from_copies=settings.tags_from_copies,
    )
    del inputs
    disk = _disk_state(plan.reads, journals)
    if not _settled(disk, started_ns):
        _last_preview = None
    elif read is None:
        _last_preview = _Planned(key, version, out, None, None, disk, plan)
    else:
        _last_preview = _Planned(key, None, out, *read, disk, plan)
    return plan


def _command() -> str:
    """What this process runs, for the one an output lock refuses."""
    args = [a for a in sys.argv[1:] if "\n" not in a][:8]
    return " ".join(["mediafix", *args]) if args else f"mediafix (pid {os.getpid()})"


def run_apply(
    engine: Engine,
    settings: Settings,
    output: str | None = None,
    *,
    move: bool = False,
    include_review: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    command: str | None = None,
) -> tuple[Plan, ApplyResult]:
    """Plan and apply; record each written file's output path in its row.

    The output folder is held (``output_lock``) from the plan to the last row written:
    another apply, undo or purge of it, from any process, raises :class:`OutputBusy`
    here, at once, before anything is planned.
    """
    with session_scope(engine) as s:
        out = output_dir_for(settings, s, output)
    with output_lock(out, command or _command()):
        return _apply_locked(engine, settings, out, move, include_review, on_progress, should_stop)


def _apply_locked(
    engine: Engine,
    settings: Settings,
    out: str,
    move: bool,
    include_review: bool,
    on_progress: Callable[[int, int], None] | None,
    should_stop: Callable[[], bool] | None,
) -> tuple[Plan, ApplyResult]:
    with session_scope(engine) as s:
        inputs = plan_inputs(s, uploads_dir(settings))
    # The items are made as apply reads them, and each let go once applied (issue #20:
    # 100,000 items with their metadata to write are never held at once).
    plan, items = plan_items(
        inputs,
        out,
        include_review=include_review,
        journal_dir=journal_dir(settings),
        tags_from_copies=settings.tags_from_copies,
    )
    del inputs  # the plan holds what it needs of them: their memory serves the writing
    rows = _WrittenRows(engine)
    # One exiftool per core (started when first used): plain JPEGs are written in batches
    # they share, while this process copies, checks, journals and places (issue #20).
    sessions = [ExifTool() for _ in range(max(1, min(settings.workers, os.cpu_count() or 1)))]
    try:
        result = apply_plan(
            plan,
            sessions,
            journal_dir(settings),
            items=items,
            move=move,
            on_progress=on_progress,
            should_stop=should_stop,
            on_outcome=rows.add,
        )
    finally:
        for et in sessions:
            et.close()
    rows.flush()
    return plan, result


class _WrittenRows:
    """Each written (or already written) file's output path recorded in its row, a few
    thousand rows per statement as apply goes (one statement for all rows would hold one
    dict per file; an ORM load and flush per row cost 2 ms each)."""

    BATCH = 2000

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pending: list[dict[str, Any]] = []

    def add(self, outcome: ItemOutcome) -> None:
        if outcome.status in ("written", "skipped") and outcome.target:
            self.pending.append({"b_id": outcome.file_id, "b_output": outcome.target})
            if len(self.pending) >= self.BATCH:
                self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        files = cast(Table, File.__table__)
        with session_scope(self.engine) as s:
            s.connection().execute(
                update(files)
                .where(files.c.id == bindparam("b_id"))
                .values(output_path=bindparam("b_output"), status="written"),
                self.pending,
            )
        self.pending = []


def last_journal(settings: Settings) -> str | None:
    """The newest journal that still has something to undo (a re-run that skipped
    everything, or an apply already undone, is passed over)."""
    folder = Path(journal_dir(settings))
    for path in sorted((p for p in folder.glob("*.jsonl") if p.is_file()), reverse=True):
        written: set[str] = set()
        undone: set[str] = set()
        for record in iter_journal(str(path)):
            if record.get("type") == "write" and record.get("target"):
                written.add(record["target"])
            elif record.get("type") == "undone" and record.get("target"):
                undone.add(record["target"])
        if written - undone:
            return str(path)
    return None


def _journal_outputs(path: str) -> list[str]:
    records = iter_journal(path)
    outputs = {r["output"] for r in records if r.get("type") == "run" and r.get("output")}
    return sorted(o for o in outputs if os.path.isdir(o))


@contextlib.contextmanager
def _locked(outputs: list[str], command: str) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for out in outputs:
            stack.enter_context(output_lock(out, command))
        yield


def undo_journal(
    engine: Engine | None,
    path: str,
    command: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> UndoResult:
    """Undo one apply; rows of removed outputs go back to their pre-apply status.

    Holds the apply's output folder meanwhile (:class:`OutputBusy` when another process
    does)."""
    with _locked(_journal_outputs(path), command or _command()):
        result = undo(path, on_progress)
        if engine is not None and result.removed:
            _unwritten(engine, result.removed)
    return result


def _unwritten(engine: Engine, removed: list[str]) -> None:
    """Rows whose output was removed go back to the status the scan gives them
    (``analysis.media_status``), a few hundred outputs at a time (loading every written row
    as an object took 250 MB at 16,000)."""
    from mediafix.config import get_settings
    from mediafix.media.analysis import media_status

    files = cast(Table, File.__table__)
    columns = (files.c.id, files.c.error, files.c.taken_at, files.c.confidence, files.c.date_source)
    with session_scope(engine) as s:
        review = effective_settings(get_settings(), s).review_confidence
        for start in range(0, len(removed), 500):
            rows = s.execute(
                select(*columns).where(files.c.output_path.in_(removed[start : start + 500]))
            ).all()
            if not rows:
                continue
            s.execute(
                update(files)
                .where(files.c.id == bindparam("b_id"))
                .values(output_path=None, status=bindparam("b_status")),
                [
                    {
                        "b_id": row_id,
                        "b_status": media_status(
                            error,
                            taken_at is not None,
                            confidence,
                            review,
                            by_person=source == "user",
                        ),
                    }
                    for row_id, error, taken_at, confidence, source in rows
                ],
            )


def held_originals(
    engine: Engine, settings: Settings, output: str | None = None
) -> tuple[str, list[HeldRun]]:
    """The output folder and the move runs whose originals it keeps (what purge removes)."""
    with session_scope(engine) as s:
        out = output_dir_for(settings, s, output)
    return out, held_runs(out)


def purge_originals(
    engine: Engine,
    settings: Settings,
    output: str | None = None,
    *,
    older_than_days: float | None = None,
    command: str | None = None,
) -> PurgeResult:
    """Empty the holding folder of the output (runs older than ``older_than_days``, or
    all), holding the output folder meanwhile (:class:`OutputBusy` when another process
    does). Undo of those runs then restores the archive's copies instead of originals."""
    with session_scope(engine) as s:
        out = output_dir_for(settings, s, output)
    if not held_runs(out):
        return PurgeResult()
    with output_lock(out, command or _command()):
        return purge(out, journal_dir(settings), older_than_days=older_than_days)


def ignored_files(engine: Engine) -> list[tuple[str, str]]:
    """Files the scan found that are not photos or videos (listed, never written)."""
    with session_scope(engine) as s:
        rows = s.execute(
            select(File.path, File.error).where(File.kind == "other").order_by(File.path)
        ).all()
    return [(path, error or "not a photo or video") for path, error in rows]


def plan_json(
    plan: Plan, ignored: list[tuple[str, str]] | None = None, *, lazy: bool = False
) -> dict[str, Any]:
    """``mediafix plan --json``: the plan, plus the files it does not cover and why.

    ``lazy``: the items are an iterator of their dicts, each made as it is read (for a
    writer that lets each go once written: 100,000 item dicts at once took about 100 MB).
    """
    data = plan.to_dict(lazy=lazy)
    data.setdefault("counts", plan.counts())
    data["ignored"] = [{"path": p, "reason": r} for p, r in ignored or []]
    data["counts"]["ignored"] = len(data["ignored"])
    return data


def output_refused(engine: Engine, settings: Settings, output: str | None) -> str | None:
    """Why the output folder may not be written now, or None. Checked again when the job
    runs, as the web page and the CLI check it before (issue 15): the setting may have
    changed while the job waited, or been stored by an older version."""
    with session_scope(engine) as s:
        folder = output_dir_for(settings, s, output)
        roots = library_roots(s)
        stored = not output and effective_settings(settings, s).from_page("output_dir")
    try:
        settings.check_output(folder, roots, web=stored)
    except FolderError as exc:
        return f"the output folder cannot be used: {exc}; choose another in Settings"
    return None


def plan_json_stream(
    engine: Engine,
    settings: Settings,
    output: str | None,
    ignored: list[tuple[str, str]],
    *,
    include_review: bool = False,
) -> dict[str, Any]:
    """``plan_json`` of a fresh plan, for a writer that takes an iterator as a list and a
    callable as its value (``cli._write_json``): the items are made one unit at a time as
    they are written, and ``discarded`` and ``counts`` once they all were. The plan is
    never held whole (issue #20: 100,000 items with their metadata to write took 150 MB);
    the output is the same, byte for byte."""
    with session_scope(engine) as s:
        out = output_dir_for(settings, s, output)
        rows, groups = _library_rows(s)
    inputs = _inputs(rows, groups, uploads_dir(settings), let_go=True)
    del rows, groups
    plan, items = plan_items(
        inputs,
        out,
        include_review=include_review,
        journal_dir=journal_dir(settings),
        tags_from_copies=settings.tags_from_copies,
    )
    del inputs
    undated = os.path.join(plan.output_dir, plan.undated_dir) + os.sep
    counts = {"copy": 0, "skip": 0, "undated": 0, "sidecars": 0}

    def item_dicts() -> Iterator[dict[str, Any]]:
        for item in items:
            counts["copy"] += item.action is Action.COPY
            counts["skip"] += item.action is Action.SKIP
            counts["undated"] += item.target.startswith(undated)
            counts["sidecars"] += len(item.sidecars) + bool(item.metadata_sidecar)
            yield item.to_dict()

    def discarded() -> list[dict[str, Any]]:
        return [{"path": d.source, "reason": d.reason, "trash": d.target} for d in plan.discarded]

    def all_counts() -> dict[str, int]:  # in the order of ``Plan.counts``
        return {
            "copy": counts["copy"],
            "skip": counts["skip"],
            "held": len(plan.held),
            "discarded": len(plan.discarded),
            "undated": counts["undated"],
            "sidecars": counts["sidecars"],
            "ignored": len(ignored),
        }

    return {
        "output": plan.output_dir,
        "items": item_dicts(),
        "held": [{"path": p, "reason": r} for p, r in plan.held],
        "discarded": discarded,
        "counts": all_counts,
        "ignored": [{"path": p, "reason": r} for p, r in ignored],
    }
