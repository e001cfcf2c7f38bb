"""The regroup's rows held as columns read back exactly what was put in (issue #20).

A row's values feed the groups and the row's signature (the repr of its values): a value
that came back as another type or another repr would regroup everything, or worse, group
differently. So every kind of value a column may meet, plain or not, goes through."""

from __future__ import annotations

import gc
import math
import weakref
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediafix.services.grouprows import FIELDS, NAMES, GroupRow, RowTable

_ODD = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
_TIMES = st.one_of(
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes().map(lambda d: d.replace(fold=1)),
)
_HEX = st.one_of(
    st.binary(max_size=40).map(bytes.hex),
    st.text("0123456789abcdefABCDEF ", max_size=20),
)
_KEY = st.tuples(st.sampled_from("mclrudpnt:é "), _HEX).map(lambda k: f"{k[0]}:{k[1]}")
_KEYS = st.one_of(st.lists(_KEY, max_size=9).map(" ".join), st.text("mc: 0123456789abcdef"))
_PATHS = st.one_of(
    st.lists(st.sampled_from(["", "/", "photos", "IMG_0001.JPG", "\udcff", "é"])).map("".join),
    st.text(),
)
_BY_KIND = {
    "_Ints": st.one_of(st.integers(), st.integers(-(2**70), 2**70), _ODD),
    "_Floats": st.one_of(st.floats(allow_nan=True), st.just(-0.0), _ODD),
    "_Bools": st.one_of(st.booleans(), _ODD),
    "_Times": st.one_of(_TIMES, _ODD),
    "_Texts": st.one_of(st.text(), st.just("\udcff.jpg"), _ODD),
    "_Paths": st.one_of(_PATHS, _ODD),
    "_Hex": st.one_of(_HEX, _ODD),
    "_Keys": st.one_of(_KEYS, _ODD),
    "_Codes": st.one_of(st.sampled_from(["image", "video", "Canon", ""]), _ODD),
    "_Objects": st.one_of(st.text(max_size=64), _ODD),
}
_ROW = st.tuples(*(_BY_KIND[kind.__name__] for _, kind in FIELDS))


def _same(a: object, b: object) -> bool:
    """The same value of the same type, as a signature sees it (NaN is its own repr)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and repr(a) == repr(b) and a == b


@settings(max_examples=300, deadline=None)
@given(st.lists(_ROW, max_size=20))
def test_every_value_reads_back_as_it_came(rows: list[tuple[object, ...]]) -> None:
    table = RowTable(rows)
    assert len(table) == len(rows)
    for row, values in zip(table, rows, strict=True):
        for name, value in zip(NAMES, values, strict=True):
            assert _same(getattr(row, name), value), (name, value, getattr(row, name))


def _values(**changes: object) -> tuple[object, ...]:
    plain: dict[str, object] = {
        "id": 7,
        "path": "/photos/2019/IMG_0001.JPG",
        "root": "/photos",
        "mtime": 1.5e9,
        "kind": "image",
        "format": "jpeg",
        "content_id": None,
        "bundle": None,
        "sha256": "ab" * 32,
        "phash": "0123456789abcdef",
        "detail_hash": None,
        "copy_keys": "t:00 m:11",
        "width": 640,
        "height": 480,
        "size": 1234,
        "taken_at": datetime(2019, 5, 1, 12, 0, 0, 250),
        "taken_at_utc": datetime(2019, 5, 1, 10, 0, 0, 250),
        "make": "Canon",
        "model": None,
        "camera_metadata": True,
        "metadata_count": 12,
        "duration": 0.0,
    }
    plain.update(changes)
    return tuple(plain[name] for name in NAMES)


def test_a_row_is_one_view_found_by_identity_and_named_by_its_path() -> None:
    table = RowTable([_values(), _values(id=8, path="/photos/IMG_0002.JPG")])
    first = table[0]
    assert first is table[0] and first is next(iter(table))
    assert isinstance(first, GroupRow)
    assert table[1].name == "IMG_0002.JPG"
    assert "id=7" in repr(first) and "path='/photos/2019/IMG_0001.JPG'" in repr(first)


def test_only_the_bundle_is_set_and_only_on_its_row() -> None:
    table = RowTable([_values(), _values(id=8)])
    table[0].bundle = "live:IMG_0001"
    assert (table[0].bundle, table[1].bundle) == ("live:IMG_0001", None)
    with pytest.raises(AttributeError):
        table[0].path = "/elsewhere.jpg"  # type: ignore[misc]


def test_dates_keep_their_microseconds_far_from_1970() -> None:
    far = [datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)]
    far.append(datetime(1970, 1, 1) - timedelta(microseconds=1))
    table = RowTable([_values(taken_at=when) for when in far])
    assert [row.taken_at for row in table] == far


def test_hashes_keys_and_folders_are_held_in_fewer_bytes_than_their_text() -> None:
    keys = " ".join(f"{code}:{n:016x}" for n, code in enumerate("mclrudpn"))
    rows = [
        _values(
            id=n,
            path=f"/photos/2019/{n // 250:04d}/IMG_{n:06d}.JPG",
            phash=f"{n:016x}",
            detail_hash=f"{n:064x}",
            copy_keys=keys,
        )
        for n in range(1000)
    ]
    table = RowTable(rows)
    assert [row.copy_keys for row in table] == [keys] * 1000
    for name in ("path", "phash", "detail_hash", "copy_keys"):
        column = table.columns[NAMES.index(name)]
        text = sum(len(str(values[NAMES.index(name)])) for values in rows)
        assert len(column.blob) <= 0.6 * text, name


def test_rows_let_go_are_freed_at_once_not_by_the_cycle_collector() -> None:
    # a regroup lets its rows go while it searches the hard-copy candidates: a cycle
    # between the table and its views kept them until the next full collection
    gc.disable()
    try:
        table = RowTable([_values(id=n) for n in range(3)])
        first = table[0]
        table_ref = weakref.ref(table)
        del table
        assert table_ref() is None  # nothing points back at the table...
        assert (first.id, first.name) == (0, "IMG_0001.JPG")  # ...its view still reads
    finally:
        gc.enable()
