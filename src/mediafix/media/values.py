"""Small values shared across the domain: enums that carry their words, and the few
formatting rules (offsets, ISO times, one-line errors) every layer must spell alike."""

from __future__ import annotations

from datetime import datetime
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


def format_offset(minutes: int | None) -> str | None:
    """A UTC offset in minutes as JSON and people read it: 120 -> "+02:00", -270 ->
    "-04:30", None -> None."""
    if minutes is None:
        return None
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def iso(value: datetime | None, *, utc: bool = False, seconds: bool = True) -> str | None:
    """A naive time as ISO 8601 text (None stays None): whole seconds unless ``seconds`` is
    False, and with ``utc`` a trailing "Z" (the value is a UTC instant)."""
    if value is None:
        return None
    if seconds:
        value = value.replace(microsecond=0)
    return value.isoformat() + ("Z" if utc else "")


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line of at most ``limit`` characters, for a person to read."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_line(error: BaseException | str) -> str:
    """The first line of an error's text (an exception without text: its type's name), for
    a job row, a log line or a one-line CLI error; ``one_line`` keeps every line instead."""
    lines = str(error).splitlines()
    if lines:
        return lines[0]
    return type(error).__name__ if isinstance(error, BaseException) else ""


def camera_name(make: str | None, model: str | None) -> str | None:
    """ "Make Model" as a person reads it; None when neither is known.

    Most makers repeat their name in the model ("Canon" / "Canon EOS 1300D", "NIKON
    CORPORATION" / "NIKON D3500"): the model alone then, never "Canon Canon EOS 1300D".
    """
    make, model = (make or "").strip(), (model or "").strip()
    brand = make.split()[0].casefold() if make else ""
    if brand and model.casefold().startswith(brand):
        return model
    return " ".join(x for x in (make, model) if x) or None


def counted(n: int, word: str, many: str | None = None) -> str:
    """ "1 file", "3 files": a count with its noun in the right number."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def human_size(n: int | None) -> str:
    """A byte count as a person reads it: "512 bytes", "3.4 MB" ("?" when unknown)."""
    if n is None:
        return "?"
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
