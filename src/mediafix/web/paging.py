"""Paging a list: the slice a page shows, the links around it, and the same for scripts
(``X-Total-Count`` and ``Link`` headers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for

__all__ = ["Pager", "list_headers", "url_with"]


@dataclass(frozen=True)
class Pager:
    """Offset paging of a list: which slice is shown and the links around it."""

    page: int
    per_page: int
    total: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_item(self) -> int:
        return 0 if self.total == 0 else self.offset + 1

    @property
    def last_item(self) -> int:
        return min(self.total, self.offset + self.per_page)

    def url(self, page: int) -> str:
        args: dict[str, Any] = {**(request.view_args or {}), **request.args.to_dict()}
        args["page"] = str(page)
        return url_for(request.endpoint or "pages.home", **args)

    def as_dict(self) -> dict[str, int]:
        return {
            "page": self.page,
            "per_page": self.per_page,
            "total": self.total,
            "pages": self.pages,
        }


def list_headers(pager: Pager) -> dict[str, str]:
    """The headers a JSON list carries: its total, and links to the next and previous page."""
    headers = {"X-Total-Count": str(pager.total)}
    links = []
    if pager.page < pager.pages:
        links.append(f'<{pager.url(pager.page + 1)}>; rel="next"')
    if pager.page > 1:
        links.append(f'<{pager.url(pager.page - 1)}>; rel="prev"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers


def url_with(**changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one; page resets)."""
    args: dict[str, Any] = request.args.to_dict()
    args.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = str(value)
    return url_for(request.endpoint or "pages.home", **{**(request.view_args or {}), **args})
