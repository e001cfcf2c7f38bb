"""The ``mediafix`` command."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from mediafix import __version__

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from mediafix.config import Settings

# Start-up is part of every command: `mediafix --version` and `inspect` of one file must not
# pay for SQLAlchemy, pydantic or rich before they are used (checked by
# tests/integration/test_startup.py). So only click is imported at the top; the rest where
# it is needed.


class _LazyConsole:
    """A rich ``Console`` made on first use (rich costs ~50 ms to import)."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._kwargs)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


console = _LazyConsole(stderr=True, highlight=False)
out = _LazyConsole(highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line for a person and exit non-zero."""
    # soft_wrap: one line however long (paths are), also in a log or a pipe
    console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    raise SystemExit(code)


def _loaded(module: str, name: str) -> type | None:
    """The class ``module.name`` if that module was imported (an exception of it can only
    have been raised if so), without importing it."""
    mod = sys.modules.get(module)
    return getattr(mod, name, None) if mod is not None else None


class MediafixGroup(click.Group):
    """Turns the errors a user can meet into one line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:
            _fail_for(exc)
            raise


def _fail_for(exc: Exception) -> None:
    """``fail`` with one line for the errors a user can meet; return for any other."""
    validation = _loaded("pydantic_core._pydantic_core", "ValidationError")
    if validation is not None and isinstance(exc, validation):
        first = exc.errors()[0]  # type: ignore[attr-defined]
        field = str(first["loc"][0]).upper() if first.get("loc") else "setting"
        fail(f"MEDIAFIX_{field}: {first['msg'].removeprefix('Value error, ')}", 2)
    data_dir = _loaded("mediafix.datadir", "DataDirError")
    if data_dir is not None and isinstance(exc, data_dir):
        fail(str(exc), 2)
    for module, name in (
        ("mediafix.media.exiftool", "ExifToolError"),
        ("mediafix.media.outputlock", "OutputBusy"),
    ):
        cls = _loaded(module, name)
        if cls is not None and isinstance(exc, cls):
            fail(str(exc))
    operational = _loaded("sqlalchemy.exc", "OperationalError")
    if operational is not None and isinstance(exc, operational):
        from mediafix.media.values import first_line

        orig = exc.orig  # type: ignore[attr-defined]
        fail(f"database error: {first_line(orig) if orig else exc}")


def _settings() -> Settings:
    from mediafix.config import get_settings

    return get_settings()


def _prepare(settings: Settings) -> Any:
    """Create the data folder and bring the database schema up to date."""
    from mediafix.store.db import get_engine, upgrade

    settings.ensure_dirs()
    upgrade(settings.database_url)
    return get_engine(settings.database_url)


@click.group(cls=MediafixGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mediafix")
def main() -> None:
    """mediafix: turn folders of family photos and videos into a clean, dated archive."""


def _existing_paths(paths: Sequence[str]) -> list[str]:
    result = []
    for p in paths:
        if not os.path.lexists(p):
            fail(f"no such file or folder: {p}")
        result.append(os.path.abspath(p))
    return result


def _write_json_list(key: str, items: Any) -> None:
    """Print ``{key: [items...]}`` exactly as ``json.dumps(..., indent=2)`` would, one item at
    a time: a list of any length is written in the memory of one item."""
    _write_json({key: iter(items)})


def _write_json(data: dict[str, Any]) -> None:
    """Print ``data`` exactly as ``json.dumps(data, indent=2)`` would, its lists one element
    at a time, each element let go once written: a plan of 100,000 files never becomes one
    string of a hundred megabytes. A value that is an iterator is written as the list of
    its elements, each made only when it is written; a callable is called when its key is
    reached."""
    import textwrap

    write = sys.stdout.write
    if not data:
        write("{}\n")
        return
    for n, (key, value) in enumerate(data.items()):
        write(("{\n  " if n == 0 else ",\n  ") + json.dumps(key) + ": ")
        if callable(value):  # known only once what comes before it was written
            value = value()
        if isinstance(value, list):
            value = _let_go(value)
        if isinstance(value, Iterator):  # made (or let go) one element at a time
            first = True
            for element in value:
                write("[\n" if first else ",\n")
                write(textwrap.indent(json.dumps(element, indent=2, ensure_ascii=True), "    "))
                first = False
            write("[]" if first else "\n  ]")
        else:
            write(textwrap.indent(json.dumps(value, indent=2, ensure_ascii=True), "  ")[2:])
    write("\n}\n")


def _let_go(elements: list[Any]) -> Iterator[Any]:
    """The elements of ``elements``, each dropped from the list once handed out."""
    for i, element in enumerate(elements):
        elements[i] = None
        yield element


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console.get(),
        transient=False,
        disable=not console.is_terminal,
    )


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("-w", "--workers", type=click.IntRange(1, 64), help="Processes (default: cores).")
@click.option(
    "--force",
    is_flag=True,
    help="Probe every file again, even unchanged ones (a newer mediafix reads more).",
)
def scan(paths: tuple[str, ...], workers: int | None, force: bool) -> None:
    """Probe and date every photo and video under PATHS into the library."""
    from mediafix.services.library import ScanSummary, own_folders
    from mediafix.services.library import scan as run_scan
    from mediafix.services.pipeline import iter_found
    from mediafix.store.counts import group_counts
    from mediafix.store.db import session_scope
    from mediafix.store.settings import groups_stale

    settings = _settings()
    roots = _existing_paths(paths)
    engine = _prepare(settings)
    with session_scope(engine) as s:
        own = own_folders(settings, s)
    # The bar's total costs a walk of its own: only for a person watching it.
    total = sum(1 for _ in iter_found(roots, own)) if console.is_terminal else None
    with _progress() as bar:
        task = bar.add_task("scanning", total=total, rate="")

        def progress(summary: ScanSummary, _total: int | None) -> None:
            bar.update(
                task,
                completed=summary.probed + summary.unchanged,
                rate=f"{summary.rate:.1f} files/s",
            )

        summary = run_scan(
            roots, settings, engine, workers=workers, on_progress=progress, force=force
        )
        bar.update(task, completed=summary.seen)
    with session_scope(engine) as s:
        stale = groups_stale(s)
    if summary.probed or stale:
        from mediafix.services.duplicates import regroup

        groups = regroup(engine, settings, by_parts=True)
        counts = {"exact": groups.exact, "near": groups.near, "burst": groups.burst}
        how = " (regrouped by parts)" if groups.incremental else " (all regrouped)"
    else:  # nothing changed: the groups stand as they are
        with session_scope(engine) as s:
            counts = group_counts(s)
        how = ""
    from rich.table import Table

    table = Table(title="scan summary", show_header=False, box=None)
    table.add_row("files seen", str(summary.seen))
    table.add_row("probed", str(summary.probed))
    table.add_row("unchanged (skipped)", str(summary.unchanged))
    table.add_row("gone since the last scan (forgotten)", str(summary.gone))
    for kind, n in sorted(summary.by_kind.items()):
        table.add_row(f"  {kind}", str(n))
    table.add_row("errors", str(summary.errors))
    table.add_row("to review (uncertain date)", str(summary.review))
    table.add_row("exact duplicates in library", str(summary.exact_duplicates))
    table.add_row(
        "duplicate groups (exact/near/burst)",
        f"{counts['exact']}/{counts['near']}/{counts['burst']}{how}",
    )
    table.add_row("time", f"{summary.seconds:.1f} s ({summary.rate:.1f} files/s)")
    out.print(table)
    for path, error in summary.error_samples[:10]:
        out.print(f"  [red]![/] {path}: {error}", markup=True)
    for folder in summary.found_empty:
        out.print(
            f"  [yellow]![/] {folder} holds no file now: the library keeps its files as they "
            "were (a disk not mounted?)",
            markup=True,
        )


@main.command()
@click.option(
    "--timezone",
    "zone",
    metavar="ZONE",
    help="First make ZONE (an IANA name like Europe/Berlin) the home time zone, "
    "as the settings page does.",
)
def redate(zone: str | None) -> None:
    """Re-date the library from what each file offered when it was scanned.

    After the home time zone or the review confidence changed: every verdict is computed
    again without reading the files (dates a person confirmed are kept). To read the files
    again, use `mediafix scan --force PATH`.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from mediafix.services.redate import redate as run_redate
    from mediafix.services.redate import redate_message
    from mediafix.store.db import session_scope
    from mediafix.store.settings import set_setting

    settings = _settings()
    engine = _prepare(settings)
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            fail(f"unknown time zone {zone!r} (use an IANA name like Europe/Berlin)")
        with session_scope(engine) as s:
            set_setting(s, "timezone", zone)
    with _progress() as bar:
        task = bar.add_task("re-dating", total=None, rate="")

        def progress(done: int, total: int, words: str) -> None:
            bar.update(task, completed=done, total=total, rate=words)

        summary = run_redate(engine, settings, on_progress=progress)
    if summary.changed:
        from mediafix.services.duplicates import regroup  # bursts are frames seconds apart

        regroup(engine, settings)
    out.print(redate_message(summary) + f" in {summary.seconds:.1f} s")
    for camera, why in summary.cameras.items():
        out.print(f"  {camera}: {why}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (a stable contract).")
@click.option("-w", "--workers", type=click.IntRange(1, 64), help="Processes (default: cores).")
def inspect(paths: tuple[str, ...], as_json: bool, workers: int | None) -> None:
    """Probe and date files without a database, and print what was found."""
    from mediafix.homezone import light_inspect_settings
    from mediafix.media.analysis import inspect_record
    from mediafix.services.pipeline import AnalyseOptions, batched, iter_found, run_parallel

    # No library here: the home zone and the worker count are all it reads of the settings.
    light = light_inspect_settings()
    if light is None:
        settings = _settings()
        light = settings.timezone, settings.workers
    zone, most_workers = light
    roots = _existing_paths(paths)
    options = AnalyseOptions(timezone=zone)
    founds = list(iter_found(roots))
    n_workers = workers or min(most_workers, max(1, len(founds) // 8))
    records: list[dict[str, Any]] = []
    for items in run_parallel(batched(founds), options, n_workers):
        records.extend(inspect_record(i) for i in items)
    order = {f.path: n for n, f in enumerate(founds)}
    records.sort(key=lambda r: order.get(r["path"], 0))
    if as_json:
        sys.stdout.write(json.dumps(records, indent=2, ensure_ascii=True) + "\n")
        return
    from rich.table import Table

    table = Table(show_lines=False)
    for col in ("file", "kind", "taken at", "offset", "confidence", "source", "note"):
        table.add_column(col, overflow="fold")
    for r in records:
        conf = "" if r["confidence"] is None else f"{r['confidence']:.2f} {r['confidence_level']}"
        table.add_row(
            os.path.relpath(r["path"]) if len(r["path"]) > 60 else r["path"],
            r["kind"],
            r["taken_at"] or "-",
            r["utc_offset"] or "",
            conf,
            r["source"] or "",
            r["error"] or r["reason"] or "",
        )
    out.print(table)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a stable contract).")
@click.option(
    "--threshold",
    type=click.IntRange(0, 32),
    help="Regroup with this near-duplicate distance and remember it.",
)
@click.option(
    "--type",
    "kinds",
    multiple=True,
    type=click.Choice(["exact", "near", "burst"]),
    help="Only groups of this type (repeatable).",
)
def dupes(as_json: bool, threshold: int | None, kinds: tuple[str, ...]) -> None:
    """List the duplicate groups in the library (after `mediafix scan`)."""
    from mediafix.store.db import session_scope
    from mediafix.store.duplicates import groups_json, iter_group_dicts
    from mediafix.store.settings import set_setting

    settings = _settings()
    engine = _prepare(settings)
    if threshold is not None:
        with session_scope(engine) as s:
            set_setting(s, "duplicate_threshold", threshold)
        from mediafix.services.duplicates import regroup  # numpy, PyAV: only when regrouping

        regroup(engine, settings)
    if as_json:
        with session_scope(engine) as s:
            _write_json_list("groups", iter_group_dicts(s, kinds or None))
        return
    with session_scope(engine) as s:
        data = groups_json(s, kinds or None)
    if not data["groups"]:
        out.print("no duplicate groups (run `mediafix scan PATH` first)")
        return
    for g in data["groups"]:
        out.print(f"[bold]#{g['id']} {g['type']}[/] - {'; '.join(g['reasons'][:3])}", markup=True)
        for m in g["members"]:
            mark = "[green]keep[/]   " if m["keep"] else "[red]discard[/]"
            size = f"{m['width']}x{m['height']}" if m["width"] else ""
            out.print(f"   {mark} {m['path']}  {size} d={m['distance']}", markup=True)
    counts: dict[str, int] = {}
    for g in data["groups"]:
        counts[g["type"]] = counts.get(g["type"], 0) + 1
    out.print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + " groups")
    from mediafix.services.duplicates import checks_waiting, threshold_for

    with session_scope(engine) as s:
        waiting, more = checks_waiting(settings, s)
        now = threshold_for(settings, s)
    if waiting or more:
        out.print(
            f"{waiting:,}{' or more' if more else ''} pairs of look-alike pictures wait for a "
            "pixel check (they may be hard copies: crops, screenshots, mirrored); each scan "
            f"that finds changes checks a share, `mediafix dupes --threshold {now}` a full round"
        )


@main.command()
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes (default: MEDIAFIX_WORKERS, the number of cores).",
)
def worker(workers: int | None) -> None:
    """Run the job consumer: the processes that do imports, grouping and output."""
    from mediafix.jobs import queue_label
    from mediafix.jobs.consumer import run_consumer

    settings = _settings()
    _prepare(settings)
    n = workers or settings.workers
    console.print(f"mediafix worker: {n} process(es) on queue {queue_label(settings)}")
    run_consumer(n)


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--wait", is_flag=True, help="Follow the job with a progress bar until it ends.")
def import_(paths: tuple[str, ...], wait: bool) -> None:
    """Enqueue an import of PATHS for the workers (what the web page's import does)."""
    from mediafix.jobs import enqueue

    settings = _settings()
    roots = _existing_paths(paths)
    engine = _prepare(settings)
    job_id = enqueue.import_paths(roots)
    if not wait:
        out.print(f"import job {job_id} queued (follow it with: mediafix jobs)")
        return
    _follow(engine, job_id)


def _follow(engine: Any, job_id: int) -> None:
    import time

    from mediafix.store.jobs import wait_for

    with _progress() as bar:
        task = bar.add_task(f"job {job_id}", total=None, rate="")
        while True:
            data = wait_for(engine, job_id, timeout=0)
            total = data.get("progress_total") or None
            rate = f"{data['rate']:.1f} files/s" if data.get("rate") else data.get("message") or ""
            bar.update(task, completed=data.get("progress_current", 0), total=total, rate=rate)
            if data.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.5)
    status = data.get("status")
    line = f"job {job_id} {status}: {data.get('message') or ''}"
    if status == "completed":
        out.print(line)
    else:
        fail(data.get("error") or line)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("-n", "--limit", default=20, show_default=True, help="How many recent jobs.")
def jobs(as_json: bool, limit: int) -> None:
    """List recent jobs with their progress."""
    from mediafix.store.db import session_scope
    from mediafix.store.jobs import job_dict, recent_jobs

    settings = _settings()
    engine = _prepare(settings)
    with session_scope(engine) as s:
        rows = [job_dict(j) for j in recent_jobs(s, limit)]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table()
    for col in ("id", "type", "status", "progress", "message"):
        table.add_column(col)
    for j in rows:
        progress = f"{j['progress_current']}/{j['progress_total']}" if j["progress_total"] else ""
        table.add_row(
            str(j["id"]), j["type"], j["status"], progress, j["error"] or j["message"] or ""
        )
    out.print(table)


def _checked_output(settings: Settings, engine: Any, output: str | None) -> None:
    """Stop (one line, exit 2) when the archive may not go where it would: ``/``, a system
    folder, a source folder of the library, the data folder, a folder that cannot be
    written (``Settings.check_output``)."""
    from mediafix.config import FolderError
    from mediafix.services.output import output_dir_for
    from mediafix.store.db import session_scope
    from mediafix.store.library import library_roots

    with session_scope(engine) as s:
        folder = output_dir_for(settings, s, output)
        roots = library_roots(s)
    try:
        settings.check_output(folder, roots)
    except FolderError as exc:
        where = "OUTPUT" if output else "the output folder (Settings page or MEDIAFIX_OUTPUT_DIR)"
        fail(f"{where}: {exc}", 2)


@main.command()
@click.argument("output", required=False, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--include-review", is_flag=True, help="Also plan files whose date awaits review.")
def plan(output: str | None, as_json: bool, include_review: bool) -> None:
    """Show where every kept file would go in OUTPUT (a dry run: nothing is written)."""
    from mediafix.services.output import ignored_files, plan_json_stream

    settings = _settings()
    engine = _prepare(settings)
    _checked_output(settings, engine, output)
    if as_json:  # made as it is written: a big plan is never held whole
        ignored = ignored_files(engine)
        _write_json(
            plan_json_stream(engine, settings, output, ignored, include_review=include_review)
        )
        return
    # One line per file, written as the plan is made: a table would hold (and measure)
    # every row first, 470 MB for 100,000 files (issue #20).
    ignored = ignored_files(engine)
    data = plan_json_stream(engine, settings, output, ignored, include_review=include_review)
    root = data["output"]
    write = sys.stdout.write
    write(f"plan for {_one_line(root)}\n")
    for item in data["items"]:
        skip = item["action"] == "skip"
        target = _one_line(os.path.relpath(item["target"], root))
        why = _one_line((item.get("skip_reason") if skip else item["reason"]) or "")
        write(f"  {'skip' if skip else 'copy'}  {_one_line(item['source'])} -> {target}: {why}\n")
    for held in data["held"]:
        write(f"  held back: {_one_line(held['path'])}: {_one_line(held['reason'])}\n")
    for d in data["discarded"]():
        write(f"  not written: {_one_line(d['path'])}: {_one_line(d['reason'])}\n")
    for path, reason in ignored:
        write(f"  ignored: {_one_line(path)}: {_one_line(reason)}\n")
    write(", ".join(f"{k}: {v}" for k, v in data["counts"]().items()) + "\n")


def _one_line(text: str) -> str:
    """``text`` with its control characters escaped: a file named with a newline or a
    terminal escape prints as one plain line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@main.command()
@click.argument("output", required=False, type=click.Path(file_okay=False))
@click.option(
    "--move", is_flag=True, help="Remove each source after its output is verified (default: copy)."
)
@click.option("--include-review", is_flag=True, help="Also write files whose date awaits review.")
def apply(output: str | None, move: bool, include_review: bool) -> None:
    """Write the kept files into OUTPUT/YYYY/YYYYMMDD_HHMMSS.ext, journaled for undo."""
    from mediafix.services.output import run_apply

    settings = _settings()
    engine = _prepare(settings)
    _checked_output(settings, engine, output)
    with _progress() as bar:
        task = bar.add_task("writing", total=None, rate="")

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        the_plan, result = run_apply(
            engine, settings, output, move=move, include_review=include_review, on_progress=progress
        )
    from rich.table import Table

    table = Table(title="apply summary", show_header=False, box=None)
    table.add_row("written", str(result.written))
    table.add_row("already there (skipped)", str(result.skipped))
    # As the plan counts them; XMP sidecars made for files whose own metadata could not
    # take the dates are a row of their own (the plan cannot foresee them).
    table.add_row("sidecars", str(result.sidecars - result.sidecars_made))
    if result.sidecars_made:
        table.add_row("XMP sidecars made (metadata not writable)", str(result.sidecars_made))
    if move:
        from mediafix.media.values import human_size

        table.add_row("sources moved after verification", str(result.moved))
        if result.holding:
            table.add_row(
                "originals kept until `mediafix purge`",
                f"{result.held} files, {human_size(result.held_bytes)} in {result.holding}",
            )
    table.add_row("held back (review)", str(len(the_plan.held)))
    table.add_row("not written (discarded duplicates)", str(len(the_plan.discarded)))
    table.add_row("failed", str(len(result.failed)))
    table.add_row("journal (for undo)", result.journal)
    out.print(table)
    notes = [(o.source, o.message) for o in result.outcomes if o.status == "written" and o.message]
    for source, note in notes[:20]:  # written, but not quite as planned (and why)
        out.print(f"  [yellow]note[/] {source}: {note}", markup=True)
    for source, error in result.failed[:20]:
        out.print(f"  [red]![/] {source}: {error}", markup=True)
    if result.failed:
        raise SystemExit(1)


@main.command()
@click.argument("journal", required=False, type=click.Path(dir_okay=False))
def undo(journal: str | None) -> None:
    """Undo the apply recorded in JOURNAL (default: the last apply)."""
    from mediafix.services.output import journal_dir, last_journal, undo_journal

    settings = _settings()
    engine = _prepare(settings)
    path = journal or last_journal(settings)
    if not path:
        kept = sum(1 for name in os.listdir(journal_dir(settings)) if name.endswith(".jsonl"))
        if kept:
            journals = f"{kept} journal{'s' if kept != 1 else ''}"
            fail(f"no apply to undo: every apply in the data folder ({journals}) is undone already")
        fail("no apply to undo (no journal in the data folder)")
    if not os.path.isfile(path):
        fail(f"no such journal: {path}")
    result = undo_journal(engine, path)
    out.print(
        f"removed {len(result.removed)} files, restored {len(result.restored)} sources, "
        f"{result.already_undone} already undone"
    )
    if result.from_output:
        out.print(
            f"  {len(result.from_output)} of them came back from the archive, with mediafix's "
            "metadata: their originals had been purged"
        )
    for p, why in result.refused:
        out.print(f"  [yellow]kept[/] {p}: {why}", markup=True)
    if result.refused:
        fail(f"{len(result.refused)} output files changed since the apply and were kept")


@main.command()
@click.argument("output", required=False, type=click.Path(file_okay=False))
@click.option(
    "--older-than",
    "days",
    type=click.FloatRange(0),
    help="Only originals kept by moves more than DAYS days ago.",
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(output: str | None, days: float | None, yes: bool) -> None:
    """Delete the originals `apply --move` keeps in OUTPUT/.originals (for good)."""
    from datetime import UTC, datetime, timedelta

    from mediafix.media.values import human_size
    from mediafix.services.output import held_originals, purge_originals

    settings = _settings()
    engine = _prepare(settings)
    folder, runs = held_originals(engine, settings, output)
    if days:
        cutoff = datetime.now(UTC) - timedelta(days=days)
        runs = [r for r in runs if r.started <= cutoff]
    if not runs:
        older = f" from moves older than {days:g} days" if days else ""
        out.print(f"nothing to purge: no originals kept{older} in {folder}/.originals")
        return
    files, size = sum(r.files for r in runs), sum(r.bytes for r in runs)
    out.print(f"{folder}/.originals keeps the originals of {len(runs)} move(s):")
    for r in runs:
        out.print(
            f"  {r.started:%Y-%m-%d %H:%M} UTC  {r.files} files, {human_size(r.bytes)}  ({r.name})"
        )
    if not yes:
        if not sys.stdin.isatty():
            fail("purge deletes files for good: add --yes to confirm")
        click.confirm(
            f"Delete these {files} files ({human_size(size)}) for good? An undo of these moves "
            "then restores the archive's copies instead of the originals",
            abort=True,
            err=True,
        )
    result = purge_originals(engine, settings, output, older_than_days=days)
    out.print(f"purged {result.files} originals, {human_size(result.bytes)} freed")
    for path, why in result.errors[:20]:
        out.print(f"  [red]![/] {path}: {why}", markup=True)
    if result.errors:
        fail(f"{len(result.errors)} files could not be removed")


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (127.0.0.1: this machine only).",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--worker/--no-worker",
    default=True,
    show_default=True,
    help="Also run the job consumer (off when workers run elsewhere).",
)
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes of the embedded consumer (default: cores).",
)
def serve(host: str, port: int, worker: bool, workers: int | None) -> None:
    """Run the web app (with an embedded worker unless --no-worker)."""
    from mediafix.web.serve import run

    settings = _settings()
    _prepare(settings)
    run(host=host, port=port, embedded_worker=worker, workers=workers)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the library database to the current schema."""
    # The first command `make run` and the Docker entrypoint run: a new SQLite library is
    # created from the stored schema with the standard library alone (no pydantic, no
    # SQLAlchemy: issue #20); anything else takes the full way below.
    from mediafix.datadir import ensure_data_dir, library_location
    from mediafix.store.fresh import ensure_sqlite, sqlite_path

    where = library_location()
    if where is not None:
        ensure_data_dir(where.data_dir)
        revision = ensure_sqlite(where.database_url)
        path = sqlite_path(where.database_url)
        if revision is not None and path is not None:
            click.echo(f"database {path} is at revision {revision}")
            return
    from mediafix.store.db import current_revision, database_label

    settings = _settings()
    _prepare(settings)
    out.print(
        f"database {database_label(settings.database_url)} is at revision "
        f"{current_revision(settings.database_url)}"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
