"""Plan: decisions -> one output item per kept file (changes nothing on disk).

The package: ``model`` (the plan's values), ``naming`` (the ``NAMING`` table and safe
names), ``metadata`` (what is written into each file), ``planner`` (``make_plan``).

``make_plan`` takes plain ``PlanInput`` values (what the scan, the date engine and the
review decided about each file) and returns a ``Plan``: for every kept file its source, its
target ``OUTPUT/YYYY/YYYYMMDD_HHMMSS.ext``, the metadata to write and, in words, why.

How names are chosen (all of it pure code here; ``apply`` only executes, STYLE habit 7):

* The extension comes from the content, lower-case (``kinds.sniff``): a JPEG named ``.png``
  becomes ``.jpg``; RAW files keep their own extension, lower-cased.
* Files of one bundle (Live Photo HEIC/JPG + MOV, RAW + JPEG) form one *unit* and share a
  base name; sidecars (.xmp/.aae/.json) travel with their file under the same base.
* Units wanting the same base name in a folder are numbered ``_1``, ``_2``... in the order of
  sub-seconds, then content hash (then path): never in input order. A name is also taken
  when a file that is not this unit's already has it on disk.
* What an earlier apply wrote into this output folder (the journals in ``journal_dir``) is
  found by content hash and kept where it is (``skip``), so planning again after an apply,
  or after a crash, never duplicates; a byte-identical file already at a target is skipped
  too. What was written into another output folder does not count here.
* Folder and base name come from one row of ``NAMING`` per date precision: a full time
  names the file ``YYYYMMDD_HHMMSS``; a day, month or year names it ``YYYYMMDD_``/
  ``YYYYMM_``/``YYYY_`` + its own name, because inventing a time of day in the name would
  be a lie (DESIGN: precision is stated); undated files go to ``OUTPUT/undated/`` under
  their own (sanitized) names. A coarse date is still written into the file, at 12:00:00
  on the first day of its period, with the precision in XMP ``photoshop:DateCreated``.
* Discarded duplicates are not written; they are listed (``Plan.discarded``) with the trash
  place ``apply`` moves them to when moving, so a "move" run never leaves a source behind
  and never deletes one.
* Files awaiting review are held back (``Plan.held``) unless ``include_review``.

Dates other programs would read instead (XMP ``CreateDate``/``DateTimeOriginal``/
``DateTimeDigitized``/``photoshop:DateCreated``, IPTC dates, ``Keys:CreationDate``) are
removed from the output or rewritten to the date written, in the file and in its copied XMP
sidecar (``PlanItem.sidecar_write``), so Immich or PhotoPrism file it under that date.

How metadata is written, per format (``WRITE_MODES``, measured against exiftool 12.57):
EXIF dates + offsets + sub-seconds for JPEG/MPO/PNG/WebP/HEIC/HEIF/AVIF/TIFF; QuickTime UTC
dates + Keys:CreationDate for MOV/MP4/3GP; XMP inside the file for GIF (exiftool writes only
XMP there); an XMP sidecar ``name.ext.xmp`` for everything exiftool cannot write (AVI, MTS,
BMP, MKV, WebM, WMV, MPEG, bare JXL codestreams) and, by policy, for RAW files, whose bytes are
then copied unchanged, as Lightroom and darktable treat RAW. Files whose probe failed are
copied as they are, with no metadata written.
"""

from mediafix.media.plan.model import (
    TRASH_DIR,
    WRITE_MODES,
    Action,
    DiskReads,
    Plan,
    PlanInput,
    PlanItem,
    WriteMode,
    write_mode,
)
from mediafix.media.plan.naming import NAMING, Naming, naming_for, sanitize_stem
from mediafix.media.plan.planner import make_plan

__all__ = [
    "NAMING",
    "TRASH_DIR",
    "WRITE_MODES",
    "Action",
    "DiskReads",
    "Naming",
    "Plan",
    "PlanInput",
    "PlanItem",
    "WriteMode",
    "make_plan",
    "naming_for",
    "sanitize_stem",
    "write_mode",
]
