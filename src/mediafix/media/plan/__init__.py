"""Plan: decisions -> one output item per kept file (changes nothing on disk).

``make_plan`` takes plain ``PlanInput`` values (what the scan, the date engine and the
review decided about each file) and returns a ``Plan``: for every kept file its source, its
target ``OUTPUT/YYYY/YYYYMMDD_HHMMSS.ext``, the metadata to write and, in words, why. All
of the choosing is pure code here; ``apply`` only executes (STYLE habit 7).

Each module's docstring says the rules it keeps, once:

* ``model``: the plan's values, and how metadata is written per format (``WRITE_MODES``);
* ``naming``: the ``NAMING`` table (folder and base name per date precision), canonical
  extensions and names that are safe on every file system;
* ``metadata``: the date written and the other dates removed, the tags;
* ``planner``: bundles as units, numbering ``_1``, ``_2`` in a stable order, what an earlier
  apply wrote, discarded duplicates and files held for review.
"""

from mediafix.media.plan.model import (
    TRASH_DIR,
    WRITE_MODES,
    Action,
    DiskReads,
    Outline,
    Plan,
    PlanInput,
    PlanItem,
    WriteMode,
    write_mode,
)
from mediafix.media.plan.naming import NAMING, Naming, naming_for, sanitize_stem
from mediafix.media.plan.planner import make_plan, plan_items

__all__ = [
    "NAMING",
    "TRASH_DIR",
    "WRITE_MODES",
    "Action",
    "DiskReads",
    "Naming",
    "Outline",
    "Plan",
    "PlanInput",
    "PlanItem",
    "WriteMode",
    "make_plan",
    "naming_for",
    "plan_items",
    "sanitize_stem",
    "write_mode",
]
