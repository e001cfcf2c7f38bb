"""Uploads are sources like any folder, but mediafix's own copies: they go once written.

An upload folder (``DATA_DIR/uploads/<job>``) is removed when every file in it is in the
output and ``MEDIAFIX_UPLOAD_RETENTION_DAYS`` have passed since that was first seen.
"""

from __future__ import annotations

import logging
import os
import shutil
import time

from sqlalchemy import select
from sqlalchemy.engine import Engine

from mediafix.config import Settings
from mediafix.services.output import plan_inputs
from mediafix.store.db import session_scope
from mediafix.store.models import File

__all__ = ["DONE_MARKER", "cleanup_uploads"]

log = logging.getLogger("mediafix.jobs")

DONE_MARKER = ".mediafix-written"


def cleanup_uploads(engine: Engine, settings: Settings, now: float | None = None) -> list[str]:
    """Remove uploads whose files are all in the output, once the retention period passed.

    The first time an upload folder is seen complete, a marker with that time is left in
    it; the folder goes ``MEDIAFIX_UPLOAD_RETENTION_DAYS`` later. A folder that gets new
    work (a rescan, an undo that restores files) loses its marker and waits again.
    """
    uploads = settings.data_dir / "uploads"
    if not uploads.is_dir():
        return []
    now = time.time() if now is None else now
    removed = []
    with session_scope(engine) as s:
        pending = {
            os.path.abspath(p.path) for p in plan_inputs(s) if p.keep and p.status != "written"
        }
        scanned = {os.path.abspath(p) for p in s.scalars(select(File.path))}
    for folder in sorted(p for p in uploads.iterdir() if p.is_dir()):
        prefix = str(folder) + os.sep
        marker = folder / DONE_MARKER
        mine = [p for p in scanned if p.startswith(prefix)]
        if not mine or any(p.startswith(prefix) for p in pending):
            marker.unlink(missing_ok=True)  # not scanned yet, or still to be written
            continue
        if not marker.exists():
            marker.write_text(f"{now}\n")
            continue
        try:
            since = float(marker.read_text().strip() or now)
        except (OSError, ValueError):
            since = now
        if now - since >= settings.upload_retention_days * 86400:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(str(folder))
            log.info("removed upload %s (written to the output)", folder)
    return removed
