"""Run one plan + apply in a separate process, so a test can SIGKILL it midway.

Usage: ``python tests/helpers/apply_child.py SPEC.json``. The spec holds the plan inputs (PlanInput
fields, datetimes as ISO text), the output and journal folders, and where to stop:

* ``"pause_at": "exiftool"`` - before a metadata write (its temporary copy exists);
* ``"pause_at": "place"`` - right after a file is linked into place, before its journal
  ``done`` record;
* ``"pause_at": "hold"`` (with ``"move": true``) - a source about to be moved into the
  holding folder, its ``hold`` record journaled;
* ``"pause_at": "unlink"`` - the original linked into the holding folder, its source name
  not yet dropped (both names exist);
* ``"pause_at": "held"`` - the source moved, ``source_removed`` not yet journaled.

At each such point the child prints ``at <n>``; at the ``stop_at``-th one it prints
``paused <n>`` and waits, so the test's SIGKILL lands exactly there, however slow the
machine. Nothing here is used by mediafix itself.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any

from mediafix.media import apply as apply_module
from mediafix.media import durable
from mediafix.media.exiftool import ExifTool
from mediafix.media.plan import PlanInput, make_plan

_count = 0
_stop_at = 0


def _pause() -> None:
    global _count
    _count += 1
    if _count == _stop_at:
        print(f"paused {_count}", flush=True)
        time.sleep(120)  # the test kills us here
    else:
        print(f"at {_count}", flush=True)


def _input(fields: dict[str, Any]) -> PlanInput:
    for key in ("taken_at", "taken_at_utc"):
        if fields.get(key):
            fields[key] = datetime.fromisoformat(fields[key])
    for key in ("sidecars", "tags"):
        fields[key] = tuple(fields.get(key, ()))
    return PlanInput(**fields)


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    global _stop_at
    _stop_at = int(spec.get("stop_at", 0))
    where = spec.get("pause_at", "exiftool")

    class SlowExifTool(ExifTool):
        def write_tags(self, *args: Any, **kwargs: Any) -> None:
            if where == "exiftool":
                _pause()
            super().write_tags(*args, **kwargs)

    if where == "place":
        place = durable.place

        def slow_place(tmp: str, target: str) -> None:
            place(tmp, target)
            if not target.endswith(".xmp"):
                _pause()

        durable.place = slow_place
    elif where in ("hold", "held"):
        move_original = durable.move_original

        def slow_move(*args: Any, **kwargs: Any) -> None:
            if where == "hold":
                _pause()
            move_original(*args, **kwargs)
            if where == "held":
                _pause()

        durable.move_original = slow_move
    elif where == "unlink":
        drop = durable.drop

        def slow_drop(path: str) -> None:
            _pause()
            drop(path)

        durable.drop = slow_drop

    inputs = [_input(dict(i)) for i in spec["inputs"]]
    plan = make_plan(inputs, spec["output"], journal_dir=spec["journal"])
    with SlowExifTool() as et:
        result = apply_module.apply_plan(plan, et, spec["journal"], move=spec.get("move", False))
    print(f"finished {result.summary()}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
