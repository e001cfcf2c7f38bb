"""Small value types shared by the date modules."""

from __future__ import annotations

from enum import StrEnum


class Labelled(StrEnum):
    """A string enum whose members carry their words for people: ``X = "value", "text"``.

    Forms, the CLI and reasons read ``member.text``; code and JSON use the value.
    """

    text: str

    def __new__(cls, value: str, text: str) -> Labelled:
        member = str.__new__(cls, value)
        member._value_ = value
        member.text = text
        return member


class Precision(StrEnum):
    """How much of a timestamp a source really knows (a folder named 2004 knows a year)."""

    SUBSECOND = "subsecond"
    SECOND = "second"
    MINUTE = "minute"
    DAY = "day"
    MONTH = "month"
    YEAR = "year"

    @property
    def rank(self) -> int:
        """0 for the finest precision; larger is coarser."""
        return _PRECISION_RANK[self]


# (looked up on every comparison of two dates: computed once)
_PRECISION_RANK = {p: i for i, p in enumerate(Precision)}


class TimeMeaning(StrEnum):
    """What clock a source's digits are read on."""

    LOCAL = "local"  # wall-clock time where the photo was taken; offset unknown
    UTC = "utc"  # the UTC instant
    EPOCH_MS = "epoch_ms"  # milliseconds since 1970 (an instant, usually a download time)
    OFFSET = "offset"  # the wall clock with its UTC offset written beside it (Z: an instant)
