"""A real `mediafix worker` that stops dead at one chosen point, so a test's SIGKILL lands
exactly there however slow the machine.

Usage: ``python tests/helpers/fault_worker.py POINT MARKER [worker options]``, or
``... POINT MARKER -- COMMAND ARGS`` to run another ``mediafix`` command the same way (an
``apply`` that stops dead while it holds the output folder). POINT is one of

* ``regroup`` - inside the duplicate regroup's transaction (the old groups deleted and the
  new ones flushed, nothing committed) once every file is probed;
* ``copycheck`` - at a regroup's first pixel check (``media.copycheck.compare``: the rows
  read, nothing written); unlike the others it goes on once ``MARKER.go`` exists;
* ``probed:N`` - the N-th probe batch of an import probed (its ``probed files`` log line
  written), its results not yet saved: its files are still claimed (``probing``) by this
  process, the batches before it saved, the ones after it still queued;
* ``exiftool:N`` - before the N-th metadata write of an apply (its temporary copy exists);
* ``place:N`` - right after the N-th file of an apply is linked into place, before its
  journal ``done`` record;
* ``hold:N`` - the N-th source of a move about to go into the holding folder (its ``hold``
  record journaled, the file not yet moved);
* ``fsynced:N`` - the N-th batch of an apply written, read back and fsynced under temporary
  names, its ``write`` records not yet journaled;
* ``placing:N`` - just before the N-th file of an apply is linked into place (its batch's
  ``write`` records journaled; for the first file of a batch, none of the batch placed).

At that point the worker process writes its pid to MARKER and sleeps, unless MARKER exists
already: a process started later with the same patches (the consumer ``mediafix serve``
starts in place of a killed one, a worker process the consumer forks in place of a killed
one) goes on, so it can finish the job. The patches are made before the consumer starts,
so its forked worker processes inherit them (run it with ``-w 1``: the N counts per
process).

A process that cannot be started through this script (the consumer ``mediafix serve``
starts) gets the same patches from ``tests/helpers/faultsite/sitecustomize.py``: put that
folder first on ``PYTHONPATH`` and set ``FAULT_WORKER_POINT`` and ``FAULT_WORKER_MARKER``
(:func:`install_lazily`). Nothing here is used by mediafix itself.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

POINT_ENV = "FAULT_WORKER_POINT"
MARKER_ENV = "FAULT_WORKER_MARKER"

Patch = Callable[[ModuleType], None]


def _pause(marker: str) -> None:
    if os.path.exists(marker):  # paused once already: a later process goes on
        return
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(600)  # the test kills us here


def _wait_for_go(marker: str) -> None:
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    deadline = time.monotonic() + 600
    while not os.path.exists(f"{marker}.go") and time.monotonic() < deadline:
        time.sleep(0.05)


def _counted(real: Callable[..., Any], tick: Callable[[], None]) -> Callable[..., Any]:
    """``real`` (a function, or a method taken from its class), each call counted by
    ``tick`` before it runs."""

    def counted(*args: Any, **kwargs: Any) -> Any:
        tick()
        return real(*args, **kwargs)

    return counted


def _nth(n: int, marker: str) -> Callable[[], None]:
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


def patch_for(point: str, marker: str) -> tuple[str, Patch]:
    """The module POINT's patch goes into, and the patch (applied to that module)."""
    kind, _, number = point.partition(":")
    n = int(number) if number else 0

    def regroup(duplicates: ModuleType) -> None:
        decisions = duplicates._apply_decisions

        def paused(s: Any, found: Any, *args: Any, **kwargs: Any) -> None:
            decisions(s, found, *args, **kwargs)
            s.flush()
            if _import_done(s):  # not a regroup run at start-up, before the files are in
                _pause(marker)

        duplicates._apply_decisions = paused  # type: ignore[attr-defined]

    def copycheck(module: ModuleType) -> None:
        compare = module.compare
        waited = False

        def paused_compare(*args: Any, **kwargs: Any) -> Any:
            nonlocal waited
            if not waited:
                waited = True
                _wait_for_go(marker)
            return compare(*args, **kwargs)

        module.compare = paused_compare  # type: ignore[attr-defined]

    def probed(imports: ModuleType) -> None:
        # the batch probed, its results about to be saved
        imports.save_analysed = _counted(imports.save_analysed, _nth(n, marker))  # type: ignore[attr-defined]

    def exiftool(module: ModuleType) -> None:
        module.ExifTool.write_tags = _counted(module.ExifTool.write_tags, _nth(n, marker))

    def place(durable: ModuleType) -> None:
        tick = _nth(n, marker)
        real_place = durable.place

        def slow_place(tmp: str, target: str) -> None:
            real_place(tmp, target)
            if not target.endswith(".xmp"):
                tick()

        durable.place = slow_place  # type: ignore[attr-defined]

    def hold(durable: ModuleType) -> None:
        durable.move_original = _counted(durable.move_original, _nth(n, marker))  # type: ignore[attr-defined]

    def fsynced(durable: ModuleType) -> None:
        tick = _nth(n, marker)
        fsync_files = durable.fsync_files

        def slow_fsync_files(paths: Any) -> None:
            fsync_files(paths)
            tick()

        durable.fsync_files = slow_fsync_files  # type: ignore[attr-defined]

    def placing(durable: ModuleType) -> None:
        tick = _nth(n, marker)
        place_first = durable.place

        def placing_place(tmp: str, target: str) -> None:
            if not target.endswith(".xmp"):
                tick()
            place_first(tmp, target)

        durable.place = placing_place  # type: ignore[attr-defined]

    points: dict[str, tuple[str, Patch]] = {
        "regroup": ("mediafix.services.duplicates", regroup),
        "copycheck": ("mediafix.media.copycheck", copycheck),
        "probed": ("mediafix.services.imports", probed),
        "exiftool": ("mediafix.media.exiftool", exiftool),
        "place": ("mediafix.media.durable", place),
        "hold": ("mediafix.media.durable", hold),
        "fsynced": ("mediafix.media.durable", fsynced),
        "placing": ("mediafix.media.durable", placing),
    }
    if kind not in points:
        raise SystemExit(f"unknown point {point!r}")
    return points[kind]


def install(point: str, marker: str) -> None:
    """Patch POINT's module now (importing it)."""
    name, patch = patch_for(point, marker)
    patch(importlib.import_module(name))


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches one module right after it is executed, before anyone can take a name from
    it, in a process that imports it at all: the process is otherwise left as it is."""

    def __init__(self, name: str, patch: Patch) -> None:
        self.name, self.patch = name, patch

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once; and the other finders find it below
        for finder in sys.meta_path:
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        assert loader is not None and hasattr(loader, "exec_module")
        execute = loader.exec_module

        def exec_then_patch(module: ModuleType) -> None:
            execute(module)
            self.patch(module)

        loader.exec_module = exec_then_patch  # type: ignore[method-assign]
        return spec


def install_lazily(point: str, marker: str) -> None:
    """Patch POINT's module when this process imports it (``faultsite/sitecustomize.py``)."""
    name, patch = patch_for(point, marker)
    if name in sys.modules:
        patch(sys.modules[name])
    else:
        sys.meta_path.insert(0, _PatchOnImport(name, patch))


def main(point: str, marker: str, worker_args: list[str]) -> None:
    install(point, marker)
    from mediafix.cli import main as cli

    if worker_args[:1] == ["--"]:
        sys.argv = ["mediafix", *worker_args[1:]]  # what the process says it runs
        cli(worker_args[1:])
    else:
        cli(["worker", *worker_args])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
