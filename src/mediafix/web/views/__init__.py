"""The pages, one blueprint each, in the order the app registers them."""

from __future__ import annotations

from flask import Blueprint

from mediafix.web.views import (
    auth,
    duplicates,
    home,
    imports,
    jobs,
    library,
    output,
    renditions,
    settings,
    thumbs,
    timestamps,
)

__all__ = ["BLUEPRINTS"]

BLUEPRINTS: tuple[Blueprint, ...] = (
    home.bp,
    auth.bp,
    imports.bp,
    jobs.bp,
    duplicates.bp,
    timestamps.bp,
    library.bp,
    output.bp,
    settings.bp,
    thumbs.bp,
    renditions.bp,
)
