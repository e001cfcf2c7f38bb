"""Date: every timestamp a file offers -> one verdict (local time, offset, confidence, why).

How a verdict is reached, in order:

1. **Candidates.** Each source gives at most one ``DateCandidate``: EXIF, XMP and IPTC
   tags, QuickTime/RIFF/H.264 video dates, GPS time, the file name and its folders
   (``filenames``, ``folders``), a Google Takeout JSON and an XMP sidecar, the file's mtime.
   Sentinels (zero dates, 1904/1970 epochs, a camera's factory clock, the future, before
   1826) are dropped and named in the reason.
2. **Clocks.** Sources read on a local wall clock keep it; sources that hold an instant
   (QuickTime dates are UTC, Takeout, Pixel names, GPS, mtime) get their local time from
   the best offset known: a tag's own offset, another source describing the same moment,
   the zone at the GPS position, and only then the home zone, saying which.
3. **Winner.** The most trusted candidate wins (``TRUST_TABLE``), never the earliest.
4. **Confidence.** Independent sources that agree (the same second, or whole quarter-hours
   apart when only the zone differs) raise it; a disagreeing one lowers it, and the reason
   says so. Coarse precision (a day, a month) caps it.

The package, in the order a date is made: ``trust`` (the tables: sources, factory clocks),
``parsing`` (exiftool values), ``filenames`` and ``folders`` (the ``PATTERNS`` table),
``candidates`` (each source -> a candidate; ``collect`` -> ``Evidence``), ``zones``
(offsets: stated, derived, GPS, neighbours, home), ``cameras`` (QuickTime local-time
cameras), ``verdict`` (``judge``) and ``sequences`` (undated files in a camera's counter
sequence). ``model`` holds the values they pass.
"""

from mediafix.media.dates.cameras import (
    QUICKTIME_LOCAL_CAMERAS,
    Clip,
    LocalTimeCamera,
    Shot,
    detect_local_cameras,
)
from mediafix.media.dates.candidates import collect
from mediafix.media.dates.evidence import EVIDENCE_VERSION, Evidence
from mediafix.media.dates.model import (
    DateCandidate,
    DateOptions,
    DateVerdict,
    ZoneHint,
    level_for,
    person_verdict,
)
from mediafix.media.dates.parsing import parse_datetime
from mediafix.media.dates.sequences import SequenceItem, infer_sequences, undated
from mediafix.media.dates.trust import FACTORY_CLOCKS, TRUST_TABLE, FactoryClock, SourceTrust
from mediafix.media.dates.verdict import date_evidence, date_file, judge
from mediafix.media.dates.zones import NEIGHBOURS, ZoneAnchor, ZoneAnchors, ZoneQuestion

__all__ = [
    "EVIDENCE_VERSION",
    "FACTORY_CLOCKS",
    "NEIGHBOURS",
    "QUICKTIME_LOCAL_CAMERAS",
    "TRUST_TABLE",
    "Clip",
    "DateCandidate",
    "DateOptions",
    "DateVerdict",
    "Evidence",
    "FactoryClock",
    "LocalTimeCamera",
    "SequenceItem",
    "Shot",
    "SourceTrust",
    "ZoneAnchor",
    "ZoneAnchors",
    "ZoneHint",
    "ZoneQuestion",
    "collect",
    "date_evidence",
    "date_file",
    "detect_local_cameras",
    "infer_sequences",
    "judge",
    "level_for",
    "parse_datetime",
    "person_verdict",
    "undated",
]
