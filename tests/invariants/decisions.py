"""Random review decisions, made through the store functions the web pages and the API
call (``decide_group``, ``not_duplicates``, ``apply_date``), as a person would make them:
accept a group's suggestion, keep another copy, keep several, say "not duplicates";
type a date at some precision, confirm a guessed one."""

from __future__ import annotations

import os
from datetime import datetime

from hypothesis import strategies as st
from sqlalchemy import select

from mediafix.store.dates import DateChange, apply_date
from mediafix.store.db import session_scope
from mediafix.store.duplicates import decide_group, not_duplicates
from mediafix.store.models import DuplicateGroup, File
from tests.invariants.world import World

__all__ = ["decide"]

# What a person types on the dates page, and the precision the page's parser gives it.
TYPED = (
    (datetime(2012, 6, 1, 8, 30, 0), "second"),
    (datetime(2019, 9, 19, 5, 38, 57), "second"),  # a time other pictures have
    (datetime(2007, 11, 19), "day"),
    (datetime(2015, 7, 1), "month"),
    (datetime(1999, 1, 1), "year"),
)


def decide(w: World, data: st.DataObject) -> None:
    with session_scope(w.engine()) as s:
        groups = list(s.scalars(select(DuplicateGroup).order_by(DuplicateGroup.id)))
        for g in groups:
            ids = sorted(m.file_id for m in g.members)
            what = data.draw(
                st.sampled_from(("leave", "suggestion", "keep one", "keep some", "not dupes")),
                label=f"group #{g.id} ({g.type})",
            )
            if what == "suggestion":
                chosen = [m.file_id for m in g.members if m.keep] or [g.keeper_id]
                decide_group(s, g.id, chosen)
            elif what == "keep one":
                chosen = [data.draw(st.sampled_from(ids), label="keep")]
                decide_group(s, g.id, chosen)
            elif what == "keep some":
                chosen = data.draw(
                    st.lists(st.sampled_from(ids), min_size=1, unique=True), label="keep"
                )
                decide_group(s, g.id, chosen)
            elif what == "not dupes" and g.type != "exact":
                not_duplicates(s, g.id)
            else:
                what = "leave"
            if what != "leave":
                names = {
                    f.id: _short(f.path) for f in s.scalars(select(File).where(File.id.in_(ids)))
                }
                kept = sorted(names[m.file_id] for m in g.members if m.keep)
                w.log.append(f"group #{g.id} {g.type}: {what} -> keeps {kept}")
            s.flush()
        files = list(
            s.scalars(select(File).where(File.kind.in_(("image", "video"))).order_by(File.path))
        )
        for f in files:
            what = data.draw(
                st.sampled_from(("leave", "leave", "type", "accept")), label=f"date of {f.id}"
            )
            if what == "type":
                value, precision = data.draw(st.sampled_from(TYPED), label="typed")
                # No offset typed: the page takes the home zone's (UTC here).
                change = DateChange(value, 0, "home-zone", precision, "typed")
            elif what == "accept" and f.taken_at is not None:
                change = DateChange(
                    f.taken_at,
                    f.utc_offset,
                    f.offset_source,
                    f.date_precision or "second",
                    "accept",
                    {"source": f.date_source},
                )
            else:
                continue
            apply_date(s, f, change)
            w.log.append(
                f"date of {_short(f.path)!r}: {what} {change.taken_at} ({change.precision})"
            )


def _short(path: str) -> str:
    return os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))
