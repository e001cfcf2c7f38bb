"""The library's tables (SQLAlchemy 2 typed models).

Every schema change is an Alembic migration in ``store/migrations/versions``; a test checks
that the models and the migrations agree.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_RAW_PREFIX = "\x01b64:"

# The values of ``File.status`` and ``DuplicateGroup.type``.
FILE_STATUSES = ("new", "probing", "ready", "review", "error", "skipped", "written")
GROUP_TYPES = ("exact", "near", "burst")


class FsPath(TypeDecorator[str]):
    """A file-system path stored as text, losslessly.

    Linux names are bytes; Python carries undecodable ones as surrogate escapes, which no
    database text column accepts. Those (rare) paths are stored base64-encoded behind a
    prefix no ordinary path starts with, and come back as the same ``str``.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        try:
            value.encode("utf-8")
            if not value.startswith("\x01") and "\x00" not in value:
                return value
        except UnicodeEncodeError:
            pass
        return _RAW_PREFIX + base64.b64encode(os.fsencode(value)).decode("ascii")

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and value.startswith(_RAW_PREFIX):
            return os.fsdecode(base64.b64decode(value[len(_RAW_PREFIX) :]))
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class File(Base):
    """One source file of the library: the work item the pipeline's ``STAGES``
    (``services.pipeline``) fill, in this order (``media.analysis.Analysed`` carries the
    first three in a worker; ``store.records`` is where values become these columns):

    1. **discover** (an import registers what it finds): ``root``, ``rel_path``, ``path``,
       ``name``, ``size``, ``mtime``, ``sidecars``; ``status`` ``new``, ``job_id`` (the
       import), ``scanned_at``; ``error`` when the entry cannot be used (a link out of its
       root). A worker that takes the file sets ``claim``, ``claimed_at`` and ``probing``.
    2. **probe**: ``kind``, ``format``, ``ext``, ``ext_mismatch``, ``sha256``, ``phash``,
       ``detail_hash``, ``copy_keys`` (hard copies), ``width``, ``height``,
       ``orientation``, ``make``, ``model``, ``content_id``, ``meta`` (the exiftool tags);
       ``error`` when it cannot be read.
    3. **date**: ``evidence`` (every date the file offers, before any zone), the verdict
       ``taken_at``, ``utc_offset``, ``offset_source``, ``taken_at_utc``, ``confidence``,
       ``confidence_level``, ``date_source``, ``date_reason``, ``date_precision``, and
       ``candidates``; then ``status``: ``ready``, ``review`` (not sure enough), ``error``
       (read only in part) or ``skipped`` (not a photo or video). Re-dating rewrites these.
    4. **group**: ``bundle`` (Live Photo, RAW+JPEG partners share it) and the
       ``duplicate_members`` rows of its groups.
    5. **review**: a person's ``decisions`` rows; a date they set (``taken_at`` with
       confidence 1.0) and ``tags``.
    6. **plan**: nothing here (a plan is computed, shown and written nowhere).
    7. **apply**: ``output_path`` and ``status`` ``written`` (undo clears the one and sets
       the other back).

    A file that cannot be read keeps ``status='error'`` and its one-line ``error``: it is
    never dropped.
    """

    __tablename__ = "files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root: Mapped[str] = mapped_column(FsPath)
    rel_path: Mapped[str] = mapped_column(FsPath)
    path: Mapped[str] = mapped_column(FsPath)
    name: Mapped[str] = mapped_column(FsPath)
    kind: Mapped[str] = mapped_column(String(16), default="other")
    format: Mapped[str | None] = mapped_column(String(16))
    ext: Mapped[str | None] = mapped_column(String(16))
    ext_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int | None] = mapped_column(BigInteger)
    mtime: Mapped[float | None] = mapped_column(Float)
    sha256: Mapped[str | None] = mapped_column(String(64))
    phash: Mapped[str | None] = mapped_column(String(64))
    detail_hash: Mapped[str | None] = mapped_column(String(64))  # confirms a near match
    # fingerprint.copy_keys as "t:<hex> m:<hex> c:<hex>…" (nine at most): finds screenshots,
    # crops, mirrored and straightened copies
    copy_keys: Mapped[str | None] = mapped_column(String(240))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    orientation: Mapped[int | None] = mapped_column(Integer)
    make: Mapped[str | None] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(128))
    content_id: Mapped[str | None] = mapped_column(String(128))  # Apple Live Photo pairing
    bundle: Mapped[str | None] = mapped_column(
        String(160)
    )  # Live Photo / RAW+JPEG members share it
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)  # local wall clock
    utc_offset: Mapped[int | None] = mapped_column(Integer)  # minutes east of UTC
    offset_source: Mapped[str | None] = mapped_column(String(64))
    taken_at_utc: Mapped[datetime | None] = mapped_column(DateTime)  # naive UTC
    confidence: Mapped[float | None] = mapped_column(Float)
    confidence_level: Mapped[str | None] = mapped_column(String(8))
    date_source: Mapped[str | None] = mapped_column(String(64))
    date_reason: Mapped[str | None] = mapped_column(Text)
    date_precision: Mapped[str | None] = mapped_column(String(16))
    candidates: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # media.dates.Evidence: the dates as read, before any zone (re-dating starts from it)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sidecars: Mapped[list[Any]] = mapped_column(JSON, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="new")
    error: Mapped[str | None] = mapped_column(Text)
    output_path: Mapped[str | None] = mapped_column(FsPath)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    # A worker's claim while it probes the file ("host:pid:token"); stale claims are released.
    claim: Mapped[str | None] = mapped_column(String(96))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    scanned_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    __table_args__ = (
        UniqueConstraint("path"),
        Index("ix_files_root_rel_path", "root", "rel_path"),
        Index("ix_files_status_confidence", "status", "confidence"),
        Index("ix_files_sha256", "sha256"),
        Index("ix_files_taken_at", "taken_at"),
        Index("ix_files_kind", "kind"),
        Index("ix_files_job_id_status", "job_id", "status"),
        Index("ix_files_claim", "claim"),
        Index("ix_files_bundle", "bundle"),
    )


class Job(Base):
    """A unit of background work (import, group, thumbnails, output) and its progress."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    progress_current: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Which worker runs it ("host:pid") and when it last said so: a dead worker's job resumes.
    worker: Mapped[str | None] = mapped_column(String(96))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    # How many times the job was resumed after its worker died (shown as "resumed").
    resumed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (Index("ix_jobs_status_type", "status", "type"),)


class DuplicateGroup(Base):
    """Files that are copies of one another (exact, near) or frames of one burst."""

    __tablename__ = "duplicate_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(8))  # exact | near | burst
    keeper_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | resolved
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    members: Mapped[list[DuplicateMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="DuplicateMember.id"
    )

    __table_args__ = (Index("ix_duplicate_groups_type_status", "type", "status"),)


class DuplicateMember(Base):
    __tablename__ = "duplicate_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("duplicate_groups.id", ondelete="CASCADE"))
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"))
    distance: Mapped[int] = mapped_column(Integer, default=0)
    keep: Mapped[bool] = mapped_column(Boolean, default=False)  # the suggestion or the decision

    group: Mapped[DuplicateGroup] = relationship(back_populates="members")

    __table_args__ = (
        UniqueConstraint("group_id", "file_id"),
        Index("ix_duplicate_members_file_id", "file_id"),
    )


class Decision(Base):
    """A person's decision, kept as a row so it survives rescans and can be replayed.

    ``kind`` is keep | discard | not_duplicate | date | tags. Decisions name files by
    sha256 as well as id, so a rescan that re-creates rows still finds them.
    """

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    sha256: Mapped[str | None] = mapped_column(String(64))
    other_sha256: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    __table_args__ = (
        Index("ix_decisions_kind_sha256", "kind", "sha256"),
        Index("ix_decisions_file_id", "file_id"),
    )


class CopyCheck(Base):
    """What ``media.copycheck`` said of two contents (``sha256`` < ``other_sha256``).

    A hard-copy candidate is checked on its pixels once; a regroup reads the verdict back.
    ``version`` is ``copycheck.CHECK_VERSION`` at the time: an older verdict is made again.
    """

    __tablename__ = "copy_checks"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    other_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON)


class Setting(Base):
    """A setting changed in the web page; overrides the environment for the next job."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, onupdate=func.now())
