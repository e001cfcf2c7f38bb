"""The house as documented: the stages in one list, the work item's lifecycle in its
docstring, and each extension point one row of one table that ``docs/architecture.md``
shows how to add to."""

from __future__ import annotations

import re
from pathlib import Path

from mediafix.media.dates.filenames import PATTERNS
from mediafix.media.keeper import DEFAULT_ORDER, Criterion
from mediafix.media.plan import NAMING
from mediafix.media.values import Precision
from mediafix.services.pipeline import BATCH_STAGES, STAGES
from mediafix.store.jobs import JobType
from mediafix.store.models import File
from tests.helpers.paths import DOCS, REPO

ARCHITECTURE = DOCS / "architecture.md"
ORDER = ["discover", "probe", "date", "group", "review", "plan", "apply"]


def test_stages_are_the_seven_in_order() -> None:
    assert [s.name for s in STAGES] == ORDER
    # review is a person's; every other stage names the function that runs it
    assert [s.name for s in STAGES if s.run is None] == ["review"]
    runs = [s.run for s in STAGES]
    assert list(BATCH_STAGES) == [r for r in runs if r in BATCH_STAGES]
    assert all(s.fills for s in STAGES)


def test_the_file_docstring_says_which_stage_fills_which_column() -> None:
    doc = File.__doc__ or ""
    places = [doc.find(f"**{name}**") for name in ORDER]
    assert -1 not in places and places == sorted(places), "the seven stages, in order"
    unnamed = [c.name for c in File.__table__.columns if c.name != "id"]
    unnamed = [c for c in unnamed if f"``{c}``" not in doc]
    assert unnamed == []


def test_every_job_type_has_its_task_and_excludes_only_job_types(settings_env: Path) -> None:
    from mediafix.jobs import tasks  # (builds the queue: in the temporary data folder)

    assert set(tasks.TASKS) == set(JobType)
    for job_type in JobType:
        assert job_type.text
        assert set(job_type.exclusive) <= {t.value for t in JobType}


def test_every_keeper_criterion_is_a_whole_row() -> None:
    assert tuple(Criterion) == DEFAULT_ORDER
    for criterion in Criterion:
        assert criterion.text and callable(criterion.score) and callable(criterion.phrase)


def test_naming_has_one_row_per_precision() -> None:
    assert [row.precision for row in NAMING] == [p.value for p in Precision] + ["none"]


def test_architecture_doc_shows_each_extension_point_and_readme_links_it() -> None:
    text = ARCHITECTURE.read_text()
    for table in ("PATTERNS", "Criterion", "NAMING", "JobType", "STAGES", "records.py"):
        assert table in text, table
    for layer in ("media/", "store/", "services/", "jobs/", "web/", "cli.py", "config.py"):
        assert layer in text, layer
    # the examples in the doc are rows of the real tables' shape
    assert re.search(r"Pattern\(\"\w+\"", text) and "Naming(" in text
    assert "@job_task(JobType." in text
    assert len(PATTERNS) > 20
    assert "(docs/architecture.md)" in (REPO / "README.md").read_text()
