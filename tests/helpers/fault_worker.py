"""A real `mediafix worker` that stops dead at one chosen point, so a test's SIGKILL lands
exactly there however slow the machine.

Usage: ``python tests/helpers/fault_worker.py POINT MARKER [worker options]``, or
``... POINT MARKER -- COMMAND ARGS`` to run another ``mediafix`` command the same way (an
``apply`` that stops dead while it holds the output folder). POINT is one of

* ``regroup`` - inside the duplicate regroup's transaction (the old groups deleted and the
  new ones flushed, nothing committed) once every file is probed;
* ``copycheck`` - at a regroup's first pixel check (``media.copycheck.compare``: the rows
  read, nothing written); unlike the others it goes on once ``MARKER.go`` exists;
* ``exiftool:N`` - before the N-th metadata write of an apply (its temporary copy exists);
* ``place:N`` - right after the N-th file of an apply is linked into place, before its
  journal ``done`` record;
* ``hold:N`` - the N-th source of a move about to go into the holding folder (its ``hold``
  record journaled, the file not yet moved);
* ``fsynced:N`` - the N-th batch of an apply written, read back and fsynced under temporary
  names, its ``write`` records not yet journaled;
* ``placing:N`` - just before the N-th file of an apply is linked into place (its batch's
  ``write`` records journaled; for the first file of a batch, none of the batch placed).

At that point the worker process writes its pid to MARKER and sleeps. The patches are made
before the consumer starts, so its forked worker processes inherit them (run it with
``-w 1``: the N counts per process). Nothing here is used by mediafix itself.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def _pause(marker: str) -> None:
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(600)  # the test kills us here


def _wait_for_go(marker: str) -> None:
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    deadline = time.monotonic() + 600
    while not os.path.exists(f"{marker}.go") and time.monotonic() < deadline:
        time.sleep(0.05)


def _nth(n: int, marker: str) -> Any:
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        if count == n:
            _pause(marker)

    return tick


def _import_done(s: Any) -> bool:
    """Every file of the library is probed (the regroup that follows an import)."""
    from sqlalchemy import func, select

    from mediafix.store.models import File

    files = s.scalar(select(func.count(File.id)))
    unfinished = s.scalar(select(func.count(File.id)).where(File.status.in_(("new", "probing"))))
    return bool(files) and not unfinished


def main(point: str, marker: str, worker_args: list[str]) -> None:
    kind, _, number = point.partition(":")
    if kind == "regroup":
        from mediafix.services import duplicates

        decisions = duplicates._apply_decisions

        def paused(s: Any, found: Any, *args: Any, **kwargs: Any) -> None:
            decisions(s, found, *args, **kwargs)
            s.flush()
            if _import_done(s):  # not a regroup run at start-up, before the files are in
                _pause(marker)

        duplicates._apply_decisions = paused
    elif kind == "copycheck":
        from mediafix.media import copycheck

        compare = copycheck.compare
        waited = False

        def paused_compare(*args: Any, **kwargs: Any) -> Any:
            nonlocal waited
            if not waited:
                waited = True
                _wait_for_go(marker)
            return compare(*args, **kwargs)

        copycheck.compare = paused_compare
    elif kind == "exiftool":
        from mediafix.media.exiftool import ExifTool

        tick = _nth(int(number), marker)
        write_tags = ExifTool.write_tags

        def slow_write(self: ExifTool, *args: Any, **kwargs: Any) -> None:
            tick()
            write_tags(self, *args, **kwargs)

        ExifTool.write_tags = slow_write  # type: ignore[method-assign]
    elif kind == "place":
        from mediafix.media import durable

        tick = _nth(int(number), marker)
        place = durable.place

        def slow_place(tmp: str, target: str) -> None:
            place(tmp, target)
            if not target.endswith(".xmp"):
                tick()

        durable.place = slow_place
    elif kind == "hold":
        from mediafix.media import durable

        tick = _nth(int(number), marker)
        move_original = durable.move_original

        def slow_move(*args: Any, **kwargs: Any) -> None:
            tick()
            move_original(*args, **kwargs)

        durable.move_original = slow_move
    elif kind == "fsynced":
        from mediafix.media import durable

        tick = _nth(int(number), marker)
        fsync_files = durable.fsync_files

        def slow_fsync_files(paths: Any) -> None:
            fsync_files(paths)
            tick()

        durable.fsync_files = slow_fsync_files
    elif kind == "placing":
        from mediafix.media import durable

        tick = _nth(int(number), marker)
        place_first = durable.place

        def placing(tmp: str, target: str) -> None:
            if not target.endswith(".xmp"):
                tick()
            place_first(tmp, target)

        durable.place = placing
    else:
        raise SystemExit(f"unknown point {point!r}")
    from mediafix.cli import main as cli

    if worker_args[:1] == ["--"]:
        sys.argv = ["mediafix", *worker_args[1:]]  # what the process says it runs
        cli(worker_args[1:])
    else:
        cli(["worker", *worker_args])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
