"""The archive's promises (issue #16), checked on generated libraries by hypothesis.

Each example builds a library (``strategies.libraries``), then runs the real stack:
``mediafix scan`` -> review decisions (``decisions.decide``) -> ``mediafix plan --json``
-> ``mediafix apply`` (copy or ``--move``; in some runs SIGKILLed at a drawn point and
resumed) -> a second apply -> ``mediafix undo`` until nothing is left, and checks the
invariants (``checks``) after every step. A failure prints the (shrunk) library's tree
and the steps taken.

Two profiles: the short one runs with the suite (a few derandomized examples per flow);
``pytest -m soak tests/invariants`` runs many more (``MEDIAFIX_HARNESS_EXAMPLES``, default
200 per flow). See docs/reliability.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from mediafix.media.exiftool import ExifTool
from tests.invariants import checks
from tests.invariants.decisions import decide
from tests.invariants.library import Library
from tests.invariants.strategies import libraries
from tests.invariants.world import World, world

SHORT = int(os.environ.get("MEDIAFIX_HARNESS_SHORT", "5"))
SOAK = int(os.environ.get("MEDIAFIX_HARNESS_EXAMPLES", "200"))
VERBOSE = bool(os.environ.get("MEDIAFIX_HARNESS_VERBOSE"))

# No "explain" phase: its tracing makes every step several times slower on Python < 3.12.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
if os.environ.get("MEDIAFIX_HARNESS_NO_SHRINK"):
    PHASES = PHASES[:-1]
_common = {
    "deadline": None,
    "phases": PHASES,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
short = settings(max_examples=SHORT, derandomize=True, database=None, **_common)
soak = settings(max_examples=SOAK, **_common)

# Where a killed apply stops (``tests/helpers/fault_worker.py``): before a metadata write, right
# after a file is placed (before its journal's ``done``), as a source goes into .originals.
KILL_POINTS = {"copy": ("exiftool", "place"), "move": ("exiftool", "place", "hold")}


@pytest.fixture(scope="module")
def et() -> Iterator[ExifTool]:
    with ExifTool() as tool:
        yield tool


def _flow(lib: Library, data: st.DataObject, mode: str, kill: bool, et: ExifTool) -> None:
    move = mode == "move"
    with world(lib) as w:
        note(f"{mode} apply{', killed and resumed' if kill else ''} of {lib!r}")
        try:
            _steps(w, data, move, kill, et)
        except AssertionError:
            note("after the failure:\n" + w.report())
            raise
        if VERBOSE:  # what the examples were (pytest -s): files, and the steps taken
            print(f"\n{len(w.files)} files, {len(lib.shots)} shots: " + " -> ".join(w.log))


def _steps(w: World, data: st.DataObject, move: bool, kill: bool, et: ExifTool) -> None:
    w.scan()
    if data.draw(st.booleans(), label="a photo or video deleted, then a rescan"):
        media = sorted(w.media_paths())
        if media:
            w.delete(data.draw(st.sampled_from(media), label="deleted"))
            w.scan()
            event("a photo or video deleted, then a rescan")
    decide(w, data)
    rows = w.rows()
    plan = w.plan()
    w.log.append(f"plan: {plan['counts']}")
    checks.check_plan(w, plan, rows)
    if kill and plan["items"]:
        point = data.draw(st.sampled_from(KILL_POINTS["move" if move else "copy"]), label="kill")
        n = data.draw(st.integers(1, max(1, len(plan["items"]))), label="at item")
        if w.killed_apply(f"{point}:{n}", move):
            checks.check_kill_leftovers(w, move)
    w.apply(move)
    checks.check_after_apply(w, plan, rows, move, et)
    again = w.plan()
    checks.check_plan(w, again, w.rows())
    copies = [i["source"] for i in again["items"] if i["action"] != "skip"]
    assert not copies, f"INVARIANT: a plan after a completed apply writes again: {copies}"
    before = checks.archive_files(w.out)
    summary = w.apply(move)
    assert checks.archive_files(w.out) == before, "INVARIANT: a second apply changed the archive"
    assert "written                            0" in summary or _written(summary) == 0, summary
    purged = None
    if move and data.draw(st.booleans(), label="purge the originals before undo"):
        w.cli("purge", str(w.out), "--yes")
        w.log.append("purge --yes")
        purged = {i["source"] for i in plan["items"]}
        purged |= {s["source"] for i in plan["items"] for s in i.get("sidecars", ())}
    w.undo_all()
    checks.check_undone(w, purged)


def _written(summary: str) -> int:
    for line in summary.splitlines():
        if line.strip().startswith("written"):
            return int(line.split()[-1])
    raise AssertionError(summary)


# -- the short profile (runs with the suite) ------------------------------------------------
# A failing example is shrunk for at most 5 minutes (hypothesis's own limit): time for it.
pytestmark = pytest.mark.timeout(600)


@short
@given(lib=libraries(), data=st.data())
def test_copy(lib: Library, data: st.DataObject, et: ExifTool) -> None:
    _flow(lib, data, "copy", kill=False, et=et)


@short
@given(lib=libraries(max_shots=3), data=st.data())
def test_copy_killed_and_resumed(lib: Library, data: st.DataObject, et: ExifTool) -> None:
    _flow(lib, data, "copy", kill=True, et=et)


@short
@given(lib=libraries(max_shots=3), data=st.data())
def test_move_killed_and_resumed(lib: Library, data: st.DataObject, et: ExifTool) -> None:
    _flow(lib, data, "move", kill=True, et=et)


# -- the soak profile (by hand: pytest -m soak tests/invariants) ----------------------------


@pytest.mark.soak
@pytest.mark.timeout(0)
@soak
@given(lib=libraries(max_shots=6), data=st.data(), mode=st.sampled_from(("copy", "move")))
def test_soak(lib: Library, data: st.DataObject, mode: str, et: ExifTool) -> None:
    _flow(lib, data, mode, kill=data.draw(st.booleans(), label="kill"), et=et)
