"""The apply journal: what each run wrote, so a new plan, a rerun and ``undo`` know.

JSON Lines, one file per run (``apply-<UTC time>-<random>.jsonl``) in the journal folder,
each line fsynced (apply's batches: the batch's lines with one fsync, before any of its
files is placed or, for ``done``, after they all are). Records: ``run`` (header), ``write``
(target, source, both sha256, size, action copy|move|trash, sidecars, folders created),
``done``, ``hold`` (source, where its original went, its sha256), ``source_removed``;
``undo`` appends ``restored`` per source put back, ``undone`` per file and ``undo`` at the
end; ``purge`` appends ``purged``. A torn last line (a kill mid-write) is ignored.

The plan reads the index (what is already in the output, found by content hash) as much as
apply and undo do: it lives here, below both.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mediafix.media.durable import fsync_dir, sha256_file

__all__ = [
    "JOURNAL_SUFFIX",
    "HeldOriginal",
    "Journal",
    "JournalEntry",
    "JournalIndex",
    "append_to_journal",
    "iter_journal",
    "journal_holds",
    "journal_index",
    "new_journal_path",
    "output_is_live",
    "read_journal",
]

JOURNAL_SUFFIX = ".jsonl"


@dataclass(slots=True)  # one per written file: 100,000 in a big run
class JournalEntry:
    """What one ``write`` record (and the records after it) says about one output file."""

    target: str
    source: str
    source_sha256: str | None
    output_sha256: str
    size: int
    action: str  # copy | move | trash
    journal: str
    file_id: int | None = None
    # source, target, sha256 of each; tuples: most entries have none, and share ``()``
    sidecars: Sequence[dict[str, Any]] = ()
    created_dirs: Sequence[str] = ()
    done: bool = False
    source_removed: bool = False

    @classmethod
    def from_record(cls, record: Mapping[str, Any], journal: str) -> JournalEntry:
        return cls(
            target=record["target"],
            source=record["source"],
            source_sha256=record.get("source_sha256"),
            output_sha256=record["output_sha256"],
            size=int(record.get("size", 0)),
            action=sys.intern(record.get("action", "copy")),
            journal=journal,
            file_id=record.get("file_id"),
            sidecars=tuple(record.get("sidecars", ())),
            created_dirs=tuple(record.get("created_dirs", ())),
        )


@dataclass(frozen=True)
class HeldOriginal:
    """A ``hold`` record: where move mode put a source's original bytes, and their hash."""

    source: str
    held: str
    sha256: str | None
    journal: str


@dataclass
class JournalIndex:
    """The outputs all journals of a folder record as written and not undone, and every
    original a move put in a holding folder (by source path, oldest first)."""

    by_target: dict[str, JournalEntry] = field(default_factory=dict)
    by_sha: dict[str, list[JournalEntry]] = field(default_factory=dict)
    holds: dict[str, list[HeldOriginal]] = field(default_factory=dict)


def read_journal(path: str) -> list[dict[str, Any]]:
    """The records of one journal, in order; a torn or unreadable line is skipped."""
    return list(iter_journal(path))


def iter_journal(path: str) -> Iterator[dict[str, Any]]:
    """``read_journal`` one record at a time: a run of 100,000 files is read in the memory
    of one record (issue #20)."""
    with open(path, "rb") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "type" in record:
                yield record


def journal_holds(journal_dir: str) -> dict[str, list[HeldOriginal]]:
    """Every original a move put in a holding folder, by source path, oldest first (what
    ``journal_index(...).holds`` says, without indexing every output)."""
    holds: dict[str, list[HeldOriginal]] = {}
    for path in _journal_paths(journal_dir):
        try:
            for record in iter_journal(path):
                if (hold := _hold(record, path)) is not None:
                    holds.setdefault(hold.source, []).append(hold)
        except OSError:
            continue
    return holds


def _journal_paths(journal_dir: str) -> list[str]:
    """The journals of ``journal_dir``, oldest first (their names sort by time)."""
    try:
        names = sorted(n for n in os.listdir(journal_dir) if n.endswith(JOURNAL_SUFFIX))
    except OSError:
        return []
    return [os.path.join(journal_dir, name) for name in names]


def journal_index(journal_dir: str) -> JournalIndex:
    """Index every journal in ``journal_dir`` (oldest first, so later records win)."""
    index = JournalIndex()
    for path in _journal_paths(journal_dir):
        try:
            _index_records(index, iter_journal(path), path)
        except OSError:
            continue
    for entry in index.by_target.values():
        if entry.source_sha256:
            index.by_sha.setdefault(entry.source_sha256, []).append(entry)
    return index


def _index_records(index: JournalIndex, records: Iterator[dict[str, Any]], path: str) -> None:
    for record in records:
        kind, target = record["type"], record.get("target")
        if kind == "write" and target:
            try:
                index.by_target[target] = JournalEntry.from_record(record, path)
            except (KeyError, TypeError, ValueError):
                continue
        elif kind == "done" and target in index.by_target:
            index.by_target[target].done = True
        elif kind == "source_removed" and target in index.by_target:
            index.by_target[target].source_removed = True
        elif (hold := _hold(record, path)) is not None:
            index.holds.setdefault(hold.source, []).append(hold)
        elif (
            kind == "undone"
            and target in index.by_target
            and index.by_target[target].journal == path
        ):
            del index.by_target[target]


def _hold(record: Mapping[str, Any], path: str) -> HeldOriginal | None:
    """The original a ``hold`` record of the journal ``path`` put aside, else None."""
    if record["type"] != "hold" or not record.get("source") or not record.get("held"):
        return None
    return HeldOriginal(record["source"], record["held"], record.get("sha256"), path)


def output_is_live(entry: JournalEntry) -> bool:
    """The journaled output is on disk and was placed by that run.

    A finished entry (``done``) only needs the file to exist (the user may since have edited
    it: it is still that source's output); an unfinished one (killed between placing the
    file and journaling ``done``) is checked by its hash.
    """
    if not os.path.isfile(entry.target):
        return False
    if entry.done:
        return True
    try:
        return sha256_file(entry.target) == entry.output_sha256
    except OSError:
        return False


class Journal:
    """An append-only JSON Lines file, fsynced after every record."""

    def __init__(self, path: str) -> None:
        self.path = path
        exists = os.path.exists(path)
        self._f = open(path, "ab")  # noqa: SIM115 - held open for the whole run
        if exists and self._f.tell() > 0:
            with open(path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":  # a torn last line: start a fresh one
                    self._f.write(b"\n")
        if not exists:
            fsync_dir(os.path.dirname(path))

    def append(self, record: dict[str, Any], *, sync: bool = True) -> None:
        """Add one record; durable on return, or (``sync=False``, apply's batches) only
        once ``sync()`` returns: a batch's records cost one fsync, not one each."""
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **record}
        self._f.write(json.dumps(record, sort_keys=False).encode("ascii") + b"\n")
        if sync:
            self.sync()

    def sync(self) -> None:
        """Make every record appended so far durable."""
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def append_to_journal(path: str, record: dict[str, Any]) -> None:
    """Append one record (fsynced) to an existing journal (``purge`` notes what it removed)."""
    journal = Journal(path)
    try:
        journal.append(record)
    finally:
        journal.close()


def new_journal_path(journal_dir: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return os.path.join(journal_dir, f"apply-{stamp}-{secrets.token_hex(3)}.jsonl")


# -- verification ----------------------------------------------------------------------

_G1_GROUPS = {
    "EXIF": ("ExifIFD", "IFD0"),
    "IPTC": ("IPTC",),
    "Keys": ("Keys",),
}
