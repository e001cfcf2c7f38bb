"""Benchmark: where a full regroup's memory goes, phase by phase (issue #20).

Run by hand (not a test), from the project folder, on a copy of a scanned data folder (the
regroup writes groups, pixel checks and its snapshot there):

    cp -a /tmp/base100k /tmp/phases && PYTHONPATH=src .venv/bin/python \\
        bench/regroup_phases.py /tmp/phases [--budget 300]

It runs ``regroup`` in this process and prints, on entering and leaving each step
(``_group_rows``, ``_bundles``, ``_candidates``, ``_verdicts``, ``keeper_ranks``,
``group_near``, ``_write``...), the CPU seconds so far, the resident memory (VmRSS, MiB) and,
on leaving, the step's peak (VmHWM, reset at every step's edge through
``/proc/self/clear_refs``: Linux only). Then a digest of the groups and of the remembered
pixel checks, the same for two codes that make the same groups. ``--budget`` sets the new
pixel checks a regroup makes (``copies.CHECK_BUDGET_BASE``, none per file): the real one
(~9,400 at 100,000 files) takes minutes of CPU.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEPS = {
    "duplicates": (
        "_plan",
        "_group_rows",
        "_bundles",
        "_regroup_all",
        "_exact_groups",
        "_near_groups",
        "hard_copy_pairs",
        "keeper_ranks",
        "group_near",
        "_group_videos",
        "_write",
        "_write_snapshot",
    ),
    "copies": ("_candidates", "_verdicts"),
}


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


class Phases:
    """Wraps steps so that each reports its resident memory and peak."""

    def __init__(self) -> None:
        self.open: list[list[Any]] = []  # [name, peak] of the steps under way
        self.began = time.process_time()

    def mark(self) -> None:
        """Give every step under way the peak so far, then start counting anew."""
        peak = _status("VmHWM")
        for step in self.open:
            step[1] = max(step[1], peak)
        Path("/proc/self/clear_refs").write_text("5")

    def say(self, text: str) -> None:
        cpu = time.process_time() - self.began
        indent = "  " * len(self.open)
        print(f"{cpu:8.1f} s CPU  RSS {_status('VmRSS'):7.1f}  {indent}{text}", flush=True)

    def wrap(self, module: Any, name: str) -> None:
        step: Callable[..., Any] = getattr(module, name)

        @functools.wraps(step)
        def measured(*args: Any, **kwargs: Any) -> Any:
            self.mark()
            self.say(f"> {name}")
            self.open.append([name, _status("VmRSS")])
            try:
                return step(*args, **kwargs)
            finally:
                self.mark()
                _, peak = self.open.pop()
                self.say(f"< {name}  peak {peak:.1f}")

        setattr(module, name, measured)


def digests(engine: Any) -> tuple[int, str, str]:
    from sqlalchemy import select

    from mediafix.store.db import session_scope
    from mediafix.store.models import CopyCheck
    from regroup_memory import group_lines  # (bench/ is the script's folder)

    with session_scope(engine) as s:
        groups = group_lines(s)
        checks = sorted(
            repr((c.sha256, c.other_sha256, c.version, c.verdict))
            for c in s.scalars(select(CopyCheck))
        )
    group_digest = hashlib.blake2b("\n".join(groups).encode(), digest_size=12).hexdigest()
    check_digest = hashlib.blake2b("\n".join(checks).encode(), digest_size=12).hexdigest()
    return len(groups), group_digest, check_digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="a scanned data folder (a copy: it is written)")
    parser.add_argument("--budget", type=int, help="new pixel checks (default: the real budget)")
    args = parser.parse_args()
    phases = Phases()
    Path("/proc/self/clear_refs").write_text("5")
    from mediafix.config import Settings
    from mediafix.services import copies, duplicates
    from mediafix.store.db import get_engine

    phases.say("imported")
    if args.budget is not None:
        copies.CHECK_BUDGET_BASE = args.budget
        copies.CHECK_BUDGET_PER_FILE = 0.0
    for module, names in (("duplicates", duplicates), ("copies", copies)):
        for name in STEPS[module]:
            if hasattr(names, name):
                phases.wrap(names, name)
    output = Path(os.environ.get("MEDIAFIX_OUTPUT_DIR", args.data.parent / "regroup-phases-out"))
    settings = Settings(data_dir=args.data, output_dir=output)
    engine = get_engine(settings.database_url)
    phases.open.append(["regroup", 0.0])
    before = resource.getrusage(resource.RUSAGE_SELF)
    summary = duplicates.regroup(engine, settings)
    after = resource.getrusage(resource.RUSAGE_SELF)
    phases.mark()
    _, peak = phases.open.pop()
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"regroup: peak {peak:.1f} MiB, {cpu:.1f} CPU s, {summary}")
    count, group_digest, check_digest = digests(engine)
    print(f"{count} groups, digest {group_digest}; pixel checks digest {check_digest}")


if __name__ == "__main__":
    main()
