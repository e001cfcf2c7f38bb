"""The web's thin door to the output stage (``mediafix.output``), which may not exist yet.

``mediafix.output`` provides ``preview(engine, settings) -> dict`` (the plan as
``Plan.to_dict()``), ``enqueue_output(move: bool) -> job_id`` and ``undo_last() -> job_id``.
Until it does, every call raises :class:`OutputUnavailable` and the pages answer 503 with
"output is not available yet"; a bug inside the module is never mistaken for its absence.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from sqlalchemy.engine import Engine

from mediafix.config import Settings

__all__ = [
    "MODULE",
    "OutputUnavailable",
    "available",
    "enqueue_output",
    "held_originals",
    "preview",
    "purge_originals",
    "undo_last",
]

MODULE = "mediafix.output"


class OutputUnavailable(RuntimeError):
    """The output stage is not installed in this build."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("output is not available yet" + (f" ({detail})" if detail else ""))


def _module(name: str) -> Any:
    try:
        module: ModuleType = importlib.import_module(MODULE)
    except ModuleNotFoundError as exc:
        if exc.name in (MODULE, "mediafix"):
            raise OutputUnavailable() from exc
        raise
    function = getattr(module, name, None)
    if not callable(function):
        raise OutputUnavailable(f"{MODULE}.{name} is missing")
    return function


def available() -> bool:
    try:
        for name in ("preview", "enqueue_output", "undo_last"):
            _module(name)
    except OutputUnavailable:
        return False
    return True


def preview(engine: Engine, settings: Settings) -> dict[str, Any]:
    data = _module("preview")(engine, settings)
    if hasattr(data, "to_dict"):
        data = data.to_dict()
    return dict(data)


def enqueue_output(move: bool) -> int:
    return int(_module("enqueue_output")(move))


def undo_last() -> int:
    return int(_module("undo_last")())


def held_originals(engine: Engine, settings: Settings) -> tuple[str, list[Any]]:
    """(output folder, the move runs whose originals it keeps: ``HeldRun`` values)."""
    out, runs = _module("held_originals")(engine, settings)
    return str(out), list(runs)


def purge_originals(engine: Engine, settings: Settings, older_than_days: float | None) -> Any:
    """Empty the holding folder (raises ``mediafix.output.OutputBusy`` when it is held)."""
    return _module("purge_originals")(
        engine, settings, older_than_days=older_than_days, command="purge from the web page"
    )
