"""The rows a regroup reads of the library, held as columns (issue #20).

A regroup holds every groupable row from its first reading of the library to its last
pixel check. As objects of their own (22 fields, each value a Python object) they took
~1.2 kB a row, 113 MiB at 100,000 files: a third of the regroup's peak. Here each column is
one compact array (numbers as machine values, the few values that repeat as codes, text in
one blob) and a row is a small view onto them: about half the memory. Every value reads
back exactly as it was read (its type included: what is not a plain value of the column's
kind is kept aside as it came), so what grouping, and a row's signature, make of a row does
not change.
"""

from __future__ import annotations

import os
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

# A value's mark in a column: stored compactly, None, or kept aside as it came.
_PLAIN, _NONE, _ASIDE = 0, 1, 2
_FALSE, _TRUE = 3, 4  # a boolean column's values are their marks
_PACKED = 5  # a text column's value packed (``_Texts.pack``)
_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_INT64 = 2**63


class _Column:
    """Values of one kind in a compact array; None and anything else beside it."""

    __slots__ = ("aside", "marks")

    def __init__(self) -> None:
        self.marks = bytearray()
        self.aside: dict[int, Any] = {}

    def _mark(self, value: Any, plain: bool) -> bool:
        if plain:
            self.marks.append(_PLAIN)
        elif value is None:
            self.marks.append(_NONE)
        else:
            self.aside[len(self.marks)] = value
            self.marks.append(_ASIDE)
        return plain

    def _other(self, i: int) -> Any:
        return None if self.marks[i] == _NONE else self.aside[i]


class _Numbers(_Column):
    """Machine numbers in an array (``TYPECODE``), each as :meth:`encode` makes it of a
    value that :meth:`plain` accepts and :meth:`decode` turns back into that value."""

    __slots__ = ("values",)
    TYPECODE = "q"

    def __init__(self) -> None:
        super().__init__()
        self.values = array(self.TYPECODE)

    def append(self, value: Any) -> None:
        self.values.append(self.encode(value) if self._mark(value, self.plain(value)) else 0)

    def get(self, i: int) -> Any:
        return self.decode(self.values[i]) if self.marks[i] == _PLAIN else self._other(i)

    def plain(self, value: Any) -> bool:
        return type(value) is int and -_INT64 <= value < _INT64

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, number: Any) -> Any:
        return number


class _Ints(_Numbers):
    __slots__ = ()


class _Floats(_Numbers):
    __slots__ = ()
    TYPECODE = "d"

    def plain(self, value: Any) -> bool:
        return type(value) is float and value == value  # a NaN is kept aside, as it came


class _Bools(_Column):
    __slots__ = ()

    def append(self, value: Any) -> None:
        if type(value) is bool:
            self.marks.append(_FALSE + value)
        else:
            self._mark(value, False)

    def get(self, i: int) -> Any:
        mark = self.marks[i]
        return mark == _TRUE if mark >= _FALSE else self._other(i)


class _Times(_Numbers):
    """Naive datetimes as microseconds since 1970 (fold 0: a fold shows in a repr)."""

    __slots__ = ()

    def plain(self, value: Any) -> bool:
        return type(value) is datetime and value.tzinfo is None and value.fold == 0

    def encode(self, value: Any) -> Any:
        return (value - _EPOCH) // _MICROSECOND

    def decode(self, number: Any) -> Any:
        return _EPOCH + timedelta(microseconds=number)


class _Texts(_Column):
    """Strings one after another in one blob (UTF-8, lone surrogates passed through), or
    packed smaller where a column's kind of text allows it (:meth:`pack`)."""

    __slots__ = ("blob", "ends")

    def __init__(self) -> None:
        super().__init__()
        self.blob = bytearray()
        self.ends = array("q")

    def append(self, value: Any) -> None:
        if self._mark(value, type(value) is str):
            packed = self.pack(value)
            if packed is None:
                self.blob += value.encode("utf-8", "surrogatepass")
            else:
                self.blob += packed
                self.marks[-1] = _PACKED
        self.ends.append(len(self.blob))

    def get(self, i: int) -> Any:
        mark = self.marks[i]
        if mark != _PLAIN and mark != _PACKED:
            return self._other(i)
        start = self.ends[i - 1] if i else 0
        data = self.blob[start : self.ends[i]]
        return self.unpack(data) if mark == _PACKED else data.decode("utf-8", "surrogatepass")

    def pack(self, value: str) -> bytes | None:
        """``value`` in fewer bytes, that :meth:`unpack` turns back into it, or None."""
        return None

    def unpack(self, data: bytes | bytearray) -> str:
        raise NotImplementedError


def _hex_bytes(text: str) -> bytes | None:
    """The bytes whose lower-case hex is ``text`` exactly, or None."""
    try:
        data = bytes.fromhex(text)
    except ValueError:
        return None
    return data if data.hex() == text else None  # (fromhex skips spaces, reads upper case)


class _Hex(_Texts):
    """Hashes in lower-case hex: their bytes, half the size."""

    __slots__ = ()

    def pack(self, value: str) -> bytes | None:
        return _hex_bytes(value)

    def unpack(self, data: bytes | bytearray) -> str:
        return data.hex()


class _Keys(_Texts):
    """Copy keys, ``"m:<16 hex> c:<16 hex> ..."``: their letters, then their 8 bytes each."""

    __slots__ = ()
    _FORM = re.compile(r"[!-~]:[0-9a-f]{16}(?: [!-~]:[0-9a-f]{16})*")

    def pack(self, value: str) -> bytes | None:
        if not self._FORM.fullmatch(value):
            return None
        starts = range(0, len(value), 19)
        letters = value[::19].encode()
        return letters + bytes.fromhex("".join([value[k + 2 : k + 18] for k in starts]))

    def unpack(self, data: bytes | bytearray) -> str:
        count = len(data) // 9
        letters, digits = data[:count].decode(), data[count:].hex()
        return " ".join([f"{letters[k]}:{digits[16 * k : 16 * k + 16]}" for k in range(count)])


class _Codes:
    """A column whose few distinct values repeat over the library: one code per row."""

    __slots__ = ("codes", "known", "values")

    def __init__(self) -> None:
        self.codes = array("I")
        self.values: list[Any] = []
        self.known: dict[tuple[type, Any], int] = {}  # by type too: 1 and True stay apart

    def append(self, value: Any) -> None:
        self.codes.append(self.code(value))

    def code(self, value: Any) -> int:
        """``value``'s code, a new one the first time it comes."""
        key = (type(value), value)
        code = self.known.get(key)
        if code is None:
            code = self.known[key] = len(self.values)
            self.values.append(value)
        return code

    def get(self, i: int) -> Any:
        return self.values[self.codes[i]]


class _Paths(_Texts):
    """Paths: the folder (the files of one folder come together) as a 4-byte code, then
    the name."""

    __slots__ = ("folders",)

    def __init__(self) -> None:
        super().__init__()
        self.folders = _Codes()

    def pack(self, value: str) -> bytes | None:
        cut = value.rfind("/") + 1
        code = self.folders.code(value[:cut]).to_bytes(4, "little")
        return code + value[cut:].encode("utf-8", "surrogatepass")

    def unpack(self, data: bytes | bytearray) -> str:
        folder = self.folders.values[int.from_bytes(data[:4], "little")]
        return folder + data[4:].decode("utf-8", "surrogatepass")


class _Objects:
    """A column kept as Python objects: the content hashes (the groups are keyed by them,
    so each is one string for both) and the bundle keys (a regroup sets them)."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: list[Any] = []

    def append(self, value: Any) -> None:
        self.values.append(value)

    def get(self, i: int) -> Any:
        return self.values[i]


# The columns a regroup reads, in the order of their values (``duplicates._group_values``):
# the files table's columns of the same names, then three made from ``meta``.
FIELDS: tuple[tuple[str, type], ...] = (
    ("id", _Ints),
    ("path", _Paths),
    ("root", _Codes),
    ("mtime", _Floats),
    ("kind", _Codes),
    ("format", _Codes),
    ("content_id", _Texts),
    ("bundle", _Objects),
    ("sha256", _Objects),
    ("phash", _Hex),
    ("detail_hash", _Hex),
    ("copy_keys", _Keys),
    ("width", _Ints),
    ("height", _Ints),
    ("size", _Ints),
    ("taken_at", _Times),
    ("taken_at_utc", _Times),
    ("make", _Codes),
    ("model", _Codes),
    ("camera_metadata", _Bools),
    ("metadata_count", _Ints),
    ("duration", _Floats),
)
NAMES = tuple(name for name, _ in FIELDS)
_BUNDLE = NAMES.index("bundle")


class RowTable(Sequence["GroupRow"]):
    """Rows held as columns; ``table[i]`` is the i-th row's view (the same object each
    time, so rows compare and are found by identity as before).

    A view holds the columns, not the table: no reference cycle, so the rows' memory goes
    back as soon as the table and its views are let go, not at the next full collection
    (a regroup lets the rows go during its candidate search: they stayed, ~60 MB)."""

    def __init__(self, values: Iterable[Sequence[Any]] = ()) -> None:
        self.columns: list[Any] = [kind() for _, kind in FIELDS]
        self.rows: list[GroupRow] = []
        for row in values:
            self.append(row)

    def append(self, values: Sequence[Any]) -> GroupRow:
        """Add a row from its values in the order of :data:`FIELDS`."""
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)
        row = GroupRow(self.columns, len(self.rows))
        self.rows.append(row)
        return row

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: Any) -> Any:
        return self.rows[i]

    def __iter__(self) -> Iterator[GroupRow]:
        return iter(self.rows)


class GroupRow:
    """What grouping reads of a file: its columns without ``meta`` (the big JSON), of which
    only what the keeper choice and video matching use is kept (``camera_metadata``,
    ``metadata_count``, ``duration``). A view onto its :class:`RowTable`; only ``bundle``
    is set (a regroup gives each row its bundle)."""

    __slots__ = ("columns", "index")

    id: int
    path: str
    root: str
    mtime: float | None
    kind: str
    format: str | None
    content_id: str | None
    sha256: str | None
    phash: str | None
    detail_hash: str | None
    copy_keys: str | None
    width: int | None
    height: int | None
    size: int | None
    taken_at: datetime | None
    taken_at_utc: datetime | None
    make: str | None
    model: str | None
    camera_metadata: bool
    metadata_count: int
    duration: float

    def __init__(self, columns: list[Any], index: int) -> None:
        self.columns = columns
        self.index = index

    @property
    def bundle(self) -> str | None:
        return self.columns[_BUNDLE].values[self.index]

    @bundle.setter
    def bundle(self, key: str | None) -> None:
        self.columns[_BUNDLE].values[self.index] = key

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in NAMES)
        return f"GroupRow({values})"


def _field(k: int, name: str) -> property:
    def get(row: GroupRow) -> Any:
        return row.columns[k].get(row.index)

    get.__name__ = name
    return property(get)


for _k, _name in enumerate(NAMES):
    if _name != "bundle":
        setattr(GroupRow, _name, _field(_k, _name))
