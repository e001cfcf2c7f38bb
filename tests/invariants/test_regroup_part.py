"""A regroup by parts makes exactly the groups a full regroup makes (issue #20).

Two libraries in two real SQLite databases get the same random rows and then the same
random changes, as rescans make them: copies and near copies added, files changed in place,
moved, re-dated, gone. After each change one library regroups by parts (the groups of what
the change touches), the other regroups everything; their groups must be the same, with the
same type, keeper, members, keep flags, distances, reasons and status. The rows carry
perceptual hashes drawn in clusters (so near groups chain and compete), copy keys with
remembered hard-copy verdicts, "not duplicates" pairs and keep/discard choices.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from mediafix.config import Settings
from mediafix.media import copycheck
from mediafix.media.copycheck import Verdict
from mediafix.services.duplicates import regroup
from mediafix.store.db import get_engine, session_scope, upgrade
from mediafix.store.models import CopyCheck, Decision, DuplicateGroup, DuplicateMember, File

BASE = datetime(2021, 6, 1, 12, 0, 0)


class Library:
    """One data folder and database, and the rows written to it."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        self.settings = Settings(data_dir=folder / "data", output_dir=folder / "out")
        self.settings.ensure_dirs()
        upgrade(self.settings.database_url)
        self.engine: Engine = get_engine(self.settings.database_url)

    def regroup(self, *, full: bool) -> bool:
        return regroup(self.engine, self.settings, by_parts=not full).incremental

    def groups(self) -> list[tuple[Any, ...]]:
        """Every group as plain values, in an order that does not depend on ids."""
        with session_scope(self.engine) as s:
            members: dict[int, list[tuple[int, bool, int]]] = {}
            for m in s.scalars(select(DuplicateMember)):
                members.setdefault(m.group_id, []).append((m.file_id, bool(m.keep), m.distance))
            out = [
                (
                    g.type,
                    g.keeper_id,
                    tuple(sorted(members.get(g.id, []))),
                    tuple(g.reasons),
                    g.status,
                )
                for g in s.scalars(select(DuplicateGroup))
            ]
        return sorted(out, key=repr)


def _hex(value: int, digits: int) -> str:
    return f"{value:0{digits}x}"


class World:
    """The same rows and changes, written to both libraries."""

    def __init__(self, rng: random.Random, folder: Path) -> None:
        self.rng = rng
        self.parts = Library(folder / "parts")
        self.whole = Library(folder / "whole")
        # a few clusters of alike pictures, so near matches chain and compete
        self.centres = [rng.getrandbits(64) for _ in range(rng.randint(1, 4))]
        self.contents: list[dict[str, Any]] = []  # sha -> facts shared by its copies
        self.files: list[int] = []
        self.decided: set[int] = set()  # files a decision names (their removal changes it)
        self.counter = 0

    # -- writing --------------------------------------------------------------------------

    def _both(self, fn: Any) -> None:
        for library in (self.parts, self.whole):
            with session_scope(library.engine) as s:
                fn(s)

    def new_content(self, near: dict[str, Any] | None = None) -> dict[str, Any]:
        rng = self.rng
        if near is None:
            centre = rng.choice(self.centres)
            phash = centre ^ _flips(rng, rng.randint(0, 14))
        else:
            phash = near["phash"] ^ _flips(rng, rng.randint(0, 8))
        detail = None if rng.random() < 0.2 else rng.getrandbits(256)
        if near is not None and near["detail"] is not None and detail is not None:
            # mostly agreeing detail hashes: a near copy; sometimes a look-alike
            detail = near["detail"] ^ _flips(rng, rng.choice((0, 3, 20, 90)), 256)
        keys = []
        if rng.random() < 0.5:  # a copy key close to another content's first hash
            target = rng.choice(self.contents)["phash"] if self.contents else phash
            name = rng.choice(("t", "m", "c"))
            keys.append(f"{name}:{_hex(target ^ _flips(rng, rng.randint(0, 12)), 16)}")
        self.counter += 1
        content = {
            "sha": _hex(rng.getrandbits(256), 64),
            "phash": phash,
            "detail": detail,
            "keys": " ".join(keys),
            "width": rng.choice((640, 1024, 4032)),
            "format": rng.choice(("JPEG", "JPEG", "HEIC", "PNG")),
            "size": rng.randint(1000, 90000),
        }
        self.contents.append(content)
        return content

    def add_file(self, content: dict[str, Any], folder: str | None = None) -> None:
        rng = self.rng
        self.counter += 1
        folder = folder or rng.choice(("dcim", "backup", "shared", "phone/copy"))
        name = f"IMG_{self.counter:04d}.{'jpg' if content['format'] == 'JPEG' else 'heic'}"
        taken = BASE + timedelta(seconds=rng.choice((0, 2, 5, 40, 3600)) * rng.randint(0, 3))
        values = {
            "root": "/lib",
            "rel_path": f"{folder}/{name}",
            "path": f"/lib/{folder}/{name}",
            "name": name,
            "kind": "image",
            "format": content["format"],
            "size": content["size"],
            "mtime": 1_600_000_000.0 + self.counter,
            "sha256": content["sha"],
            "phash": _hex(content["phash"], 16),
            "detail_hash": None if content["detail"] is None else _hex(content["detail"], 64),
            "copy_keys": content["keys"],
            "width": content["width"],
            "height": content["width"] * 3 // 4,
            "make": rng.choice((None, "Canon")),
            "model": rng.choice((None, "EOS R6")),
            "taken_at": taken if rng.random() < 0.9 else None,
            "status": "ready",
            "meta": {"EXIF:Make": "Canon"} if rng.random() < 0.5 else {},
        }
        ids = []
        for library in (self.parts, self.whole):
            with session_scope(library.engine) as s:
                row = File(**values)
                s.add(row)
                s.flush()
                ids.append(row.id)
        assert ids[0] == ids[1]
        self.files.append(ids[0])

    def verdicts(self) -> None:
        """Remembered pixel checks for some pairs of contents (the rest are not readable)."""
        rng = self.rng
        pairs = set()
        for _ in range(len(self.contents)):
            a, b = rng.sample(self.contents, 2) if len(self.contents) > 1 else (None, None)
            if a is None or b is None:
                break
            low, high = sorted((a["sha"], b["sha"]))
            pairs.add((low, high))
        rows = []
        for low, high in sorted(pairs):
            same = rng.random() < 0.7
            verdict = Verdict(same, edited=rng.choice((None, "a", "b")) if same else None)
            if same and verdict.edited:
                verdict.kinds = [rng.choice(("cropped", "screenshot"))]
            rows.append((low, high, verdict))

        def write(s: Any) -> None:
            for low, high, verdict in rows:
                s.add(
                    CopyCheck(
                        sha256=low,
                        other_sha256=high,
                        version=copycheck.CHECK_VERSION,
                        verdict=verdict.to_json(),
                    )
                )

        self._both(write)

    def decisions(self) -> None:
        rng = self.rng
        picked = []
        for _ in range(rng.randint(0, 3)):
            a, b = rng.choice(self.contents), rng.choice(self.contents)
            picked.append(("not_duplicate", None, a["sha"], b["sha"]))
        for _ in range(rng.randint(0, 3)):
            file_id = rng.choice(self.files)
            self.decided.add(file_id)
            picked.append((rng.choice(("keep", "discard")), file_id, None, None))

        def write(s: Any) -> None:
            for kind, file_id, sha, other in picked:
                if file_id is not None:
                    sha = s.get(File, file_id).sha256
                s.add(Decision(kind=kind, file_id=file_id, sha256=sha, other_sha256=other))

        self._both(write)

    # -- a rescan's changes ----------------------------------------------------------------

    def change(self, what: str) -> None:
        rng = self.rng
        if what == "copy":  # a byte-for-byte copy somewhere else
            self.add_file(rng.choice(self.contents))
        elif what == "near":  # a resized or re-encoded copy
            self.add_file(self.new_content(near=rng.choice(self.contents)))
        elif what == "new":
            self.add_file(self.new_content())
        elif what == "gone" and len(self.files) > len(self.decided) + 2:
            # (a decision naming the file would lose it: then every group is rebuilt)
            file_id = rng.choice([f for f in self.files if f not in self.decided])
            self.files.remove(file_id)
            self._both(lambda s: s.execute(delete(File).where(File.id == file_id)))
        elif what == "edit":  # changed in place: another content, same row
            file_id = rng.choice(self.files)
            c = self.new_content(near=rng.choice(self.contents) if rng.random() < 0.5 else None)
            values = {
                "sha256": c["sha"],
                "phash": _hex(c["phash"], 16),
                "detail_hash": None if c["detail"] is None else _hex(c["detail"], 64),
                "copy_keys": c["keys"],
                "size": c["size"],
            }
            self._both(lambda s: s.execute(update(File).where(File.id == file_id).values(values)))
        elif what == "redate":  # settling dates moved one (bursts, the earliest keeper)
            file_id = rng.choice(self.files)
            when = BASE + timedelta(seconds=rng.choice((1, 3, 30, 7200)))
            self._both(
                lambda s: s.execute(update(File).where(File.id == file_id).values(taken_at=when))
            )
        elif what == "move":  # another folder: a copy folder's file ranks lower
            file_id = rng.choice(self.files)
            folder = rng.choice(("dcim", "backup", "copy of photos"))

            def move(s: Any) -> None:
                row = s.get(File, file_id)
                row.rel_path = f"{folder}/{row.name}"
                row.path = f"/lib/{folder}/{row.name}"

            self._both(move)


def _flips(rng: random.Random, count: int, bits: int = 64) -> int:
    value = 0
    for position in rng.sample(range(bits), count):
        value |= 1 << position
    return value


CHANGES = st.sampled_from(("copy", "near", "new", "gone", "edit", "redate", "move"))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(3, 30),
    steps=st.lists(st.lists(CHANGES, min_size=1, max_size=4), min_size=1, max_size=4),
)
def test_regroup_by_parts_equals_a_full_regroup(
    tmp_path_factory: Any, seed: int, size: int, steps: list[list[str]]
) -> None:
    rng = random.Random(seed)
    world = World(rng, tmp_path_factory.mktemp("regroup"))
    for _ in range(size):
        roll = rng.random()
        if world.contents and roll < 0.25:
            world.add_file(rng.choice(world.contents))
        elif world.contents and roll < 0.5:
            world.add_file(world.new_content(near=rng.choice(world.contents)))
        else:
            world.add_file(world.new_content())
    world.verdicts()
    world.decisions()
    assert not world.parts.regroup(full=False)  # no snapshot yet: a full one
    world.whole.regroup(full=True)
    assert world.parts.groups() == world.whole.groups()
    for changes in steps:
        for what in changes:
            world.change(what)
        assert world.parts.regroup(full=False), "expected a regroup by parts"
        world.whole.regroup(full=True)
        assert world.parts.groups() == world.whole.groups(), (seed, size, steps)
