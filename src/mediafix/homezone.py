"""The home time zone: the machine's, or ``MEDIAFIX_TIMEZONE``, read without pydantic.

:class:`mediafix.config.Settings` takes its default zone from here, and ``mediafix inspect``
reads the zone (and the worker count) with :func:`light_inspect_settings` so that one
file is dated without loading pydantic and pydantic-settings (~0.15-0.3 CPU-s, more than
the work; issue #20). Whatever it cannot tell exactly as ``Settings`` would, it leaves to
``Settings`` (None), which then gives its own one-line error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "LOCALTIME_LINK",
    "SERVER_DEFAULT_ZONES",
    "TIMEZONE_FILE",
    "light_inspect_settings",
    "system_timezone",
    "system_timezone_origin",
    "valid_zone",
]


def system_timezone() -> str:
    """The machine's IANA zone name, or ``UTC`` when it cannot be told (see
    ``system_timezone_origin``: a guess the web page asks a person to confirm)."""
    return system_timezone_origin()[0]


TIMEZONE_FILE = "/etc/timezone"  # Debian's name of the machine's zone
LOCALTIME_LINK = "/etc/localtime"  # a link into the zoneinfo tree

# Zones a server (or a container) is set to by default: the machine says nothing about
# where its owner lives, so the zone still needs a person's word.
SERVER_DEFAULT_ZONES = frozenset(
    {
        "UTC",
        "Etc/UTC",
        "Etc/UCT",
        "UCT",
        "Etc/GMT",
        "GMT",
        "Etc/Universal",
        "Universal",
        "Etc/Zulu",
        "Zulu",
    }
)


def system_timezone_origin() -> tuple[str, str]:
    """(zone, where it came from): ``TZ``, ``/etc/timezone``, ``/etc/localtime``, or ``""``
    when the machine does not say (then the zone is ``UTC``, a placeholder)."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and valid_zone(tz):
        return tz, "TZ"
    try:
        name = Path(TIMEZONE_FILE).read_text().strip()
        if valid_zone(name):
            return name, "/etc/timezone"
    except OSError:
        pass
    try:
        link = os.readlink(LOCALTIME_LINK)
        if "zoneinfo/" in link:
            name = link.split("zoneinfo/", 1)[1]
            if valid_zone(name):
                return name, "/etc/localtime"
    except OSError:
        pass
    return "UTC", ""


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def light_inspect_settings(
    environ: Mapping[str, str] | None = None, cpus: int | None = None
) -> tuple[str, int] | None:
    """(home zone, workers) as ``Settings`` would read them, or None when only ``Settings``
    can tell: a ``MEDIAFIX_*`` name in another case (pydantic-settings reads those too), a
    value with spaces around it, a zone or worker count it would refuse."""
    env = os.environ if environ is None else environ
    if any(k.upper().startswith("MEDIAFIX_") and k != k.upper() for k in env):
        return None
    zone = env.get("MEDIAFIX_TIMEZONE")
    if zone is None or not zone.strip():
        zone = system_timezone()
    elif zone != zone.strip() or not valid_zone(zone):
        return None
    raw = env.get("MEDIAFIX_WORKERS")
    if raw is None:
        workers = cpus if cpus is not None else (os.cpu_count() or 1)
    elif re.fullmatch(r"[0-9]{1,2}", raw) and 1 <= int(raw) <= 64:
        workers = int(raw)
    else:
        return None
    if not 1 <= workers <= 64:
        return None
    return zone, workers
