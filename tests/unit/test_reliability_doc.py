"""``docs/reliability.md`` tells the truth: its tables are rendered from the very lists the
hostile-file, fault and attack suites run (``tests/helpers/hostile.py:CASES``,
``tests/integration/test_faults.py:FAULTS``, ``tests/web/test_security.py:ATTACKS``), so a
case added, removed or changed there fails this test until the doc is regenerated with
``python -m tests.unit.test_reliability_doc``. The expectations in the tables are the ones those
tests assert; a fault that fails today is an xfail(strict) test, and says so here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

from tests.helpers.hostile import CASES, Case
from tests.helpers.paths import DOCS
from tests.integration import test_faults, test_hostile
from tests.integration.test_faults import FAULTS, Fault
from tests.web import test_openapi_fuzz as fuzz
from tests.web import test_security

DOC = DOCS / "reliability.md"
_SECTION = re.compile(r"(<!-- generated:(\w+) -->\n)(.*?)(<!-- /generated:\2 -->)", re.S)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _door(case: Case) -> str:
    if case.expect == "ok":
        return "probed; its own camera date read back" if case.dated else "probed"
    return f"one-line error containing \u201c{case.says}\u201d"


_APPLY = {
    "written": "written with the date embedded, verified; undo removes it",
    "as-is": "copied byte for byte (a damaged photo is still a photo); undo removes it",
    "sidecar": "copied unchanged + XMP sidecar holding the date; undo removes both",
    "ignored": "not written; listed as ignored by `mediafix plan`",
}


def _node_ids(func: Callable[..., Any]) -> list[str]:
    """The node ids pytest makes of a test function (one parametrize mark at most)."""
    marks = [m for m in getattr(func, "pytestmark", []) if m.name == "parametrize"]
    if not marks:
        return [func.__name__]
    ids = marks[0].kwargs.get("ids")
    labels = list(ids) if ids is not None else [str(v) for v in marks[0].args[1]]
    return [f"{func.__name__}[{label}]" for label in labels]


def _is_xfail(test: str) -> bool:
    func = getattr(test_faults, test.split("[", 1)[0])
    return any(m.name == "xfail" for m in getattr(func, "pytestmark", []))


def render_summary() -> str:
    names = sum(1 for c in CASES if c.id.startswith("name-"))
    errors = sum(1 for c in CASES if c.expect == "error")
    passing = sum(1 for f in FAULTS if not f.expected_failure)
    operations = len(list(fuzz.SCHEMA.get_all_operations()))
    lines = [
        "| suite | door | cases | result |",
        "|---|---|---|---|",
        f"| hostile files | `mediafix scan` | {len(CASES)} | {len(CASES) - errors} probed, "
        f"{errors} one-line errors; no file dropped, none changed |",
        f"| hostile files | import job in a real `mediafix worker` | {len(CASES)} | the same; "
        "the job and its follow-ups (grouping, thumbnails) finish, the worker lives, "
        "no traceback |",
        f"| hostile files | `mediafix apply --include-review` + `undo` | {len(CASES)} | "
        f"{sum(c.apply != 'ignored' for c in CASES)} written and verified, the rest ignored; "
        "undo leaves the start state byte for byte |",
        f"| hostile files | `mediafix apply --move --include-review` + `undo` | {len(CASES)} | "
        f"{sum(c.apply != 'ignored' for c in CASES)} sources moved, each kept byte for byte in "
        "`OUTPUT/.originals`; undo puts every one back: the start state byte for byte |",
        f"| exiftool argument audit | scan + apply in-process, every command recorded | "
        f"{names} | only absolute paths and mediafix's own options reach exiftool |",
        f"| faults | SIGKILL, two applies at once, PostgreSQL stop, full disk | {len(FAULTS)} | "
        f"{passing} hold; "
        f"{len(FAULTS) - passing} expected failures (fixes described below) |",
        f"| hostile requests | schemathesis on `docs/openapi.yaml`, through WSGI | "
        f"{operations} operations x (examples + coverage + {fuzz.MAX_EXAMPLES} generated) | "
        "no 5xx; every status, content type, body and header as documented |",
        f"| hostile requests | the same with a password set and no credentials | "
        f"{operations} operations x {fuzz.LOCKED_EXAMPLES} | 401 with a JSON error, except "
        f"{' and '.join(f'`{op}`' for op in sorted(fuzz.OPEN))} |",
        f"| attacks on the server | the app through its test client, `mediafix` commands | "
        f"{len(test_security.ATTACKS)} | every one refused as listed below "
        f"({sum(a.worked for a in test_security.ATTACKS)} worked before issue 15) |",
    ]
    return "\n".join(lines) + "\n"


def render_cases() -> str:
    lines = ["| # | case | what | scan and import job | apply + undo |", "|---|---|---|---|---|"]
    for n, case in enumerate(CASES, 1):
        cells = [str(n), f"`{case.id}`", case.what, _door(case), _APPLY[case.apply]]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _today(fault: Fault) -> str:
    if fault.expected_failure:
        return f"**expected failure** (xfail strict): {fault.expected_failure}"
    return "holds"


def render_faults() -> str:
    lines = ["| # | test | what was done | what must happen | today |", "|---|---|---|---|---|"]
    for n, fault in enumerate(FAULTS, 1):
        cells = [str(n), f"`{fault.test}`", fault.what, fault.outcome, _today(fault)]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def render_attacks() -> str:
    lines = ["| # | test | attack | before issue 15 | now |", "|---|---|---|---|---|"]
    for n, attack in enumerate(test_security.ATTACKS, 1):
        cells = [str(n), f"`{attack.test}`", attack.attack, attack.before, attack.now]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


RENDER = {
    "summary": render_summary,
    "cases": render_cases,
    "faults": render_faults,
    "attacks": render_attacks,
}


def regenerate(text: str) -> str:
    return _SECTION.sub(lambda m: m.group(1) + RENDER[m.group(2)]() + m.group(4), text)


def test_doc_tables_match_the_suites() -> None:
    text = DOC.read_text()
    assert {m.group(2) for m in _SECTION.finditer(text)} == set(RENDER)
    assert text == regenerate(text), "run: python -m tests.unit.test_reliability_doc"


def test_every_fault_test_is_in_the_table_and_its_xfail_mark_agrees() -> None:
    tests = [
        node
        for name in dir(test_faults)
        if name.startswith("test_") and callable(getattr(test_faults, name))
        for node in _node_ids(getattr(test_faults, name))
    ]
    assert sorted(f.test for f in FAULTS) == sorted(tests)
    for fault in FAULTS:
        assert _is_xfail(fault.test) == bool(fault.expected_failure), fault.test


def test_every_case_runs_through_every_door() -> None:
    for name in ("test_scan_handles", "test_import_job_handles", "test_apply_and_undo_handle"):
        assert _node_ids(getattr(test_hostile, name)) == [f"{name}[{c.id}]" for c in CASES]


if __name__ == "__main__":
    DOC.write_text(regenerate(DOC.read_text()))
    sys.exit(0)
