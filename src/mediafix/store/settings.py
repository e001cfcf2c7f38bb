"""The settings table: what the web page stored (and what the library keeps there itself).

Read it with :func:`stored_settings` and merge it with the environment's settings with
:func:`mediafix.config.effective`, the one place the two meet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediafix.config import Effective, Settings, effective
from mediafix.store.models import Setting

__all__ = [
    "GROUPS_STALE_KEY",
    "effective_settings",
    "groups_stale",
    "set_setting",
    "stored_settings",
]

# True from the moment a scan or import saved rows until a regroup started after it: a
# rescan that found nothing new skips the regroup unless this says one is owed (a scan
# interrupted between its last batch and its regroup).
GROUPS_STALE_KEY = "groups_stale"


def stored_settings(session: Session) -> dict[str, Any]:
    """Every stored key with its value (the page's settings override the environment's)."""
    return {s.key: s.value for s in session.scalars(select(Setting))}


def effective_settings(settings: Settings, session: Session) -> Effective:
    """The settings in force: ``config.effective`` of ``settings`` and the stored ones."""
    return effective(settings, stored_settings(session))


def groups_stale(session: Session) -> bool:
    """Whether rows changed since the last regroup began (see ``GROUPS_STALE_KEY``)."""
    row = session.get(Setting, GROUPS_STALE_KEY)
    return bool(row.value) if row is not None else False


def set_setting(session: Session, key: str, value: Any) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
