"""Every page, in each state a person meets it in, at 1280x800 and on a 390x844 phone.

Each case opens its page and asserts what a person sees there (the counts, the next step
linked); then ``look`` checks that nothing scrolls sideways, saves a screenshot in
``test-artifacts/screenshots/<case>-<size>.png`` and runs axe-core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Story, new_page
from tests.browser.helpers import SIZES, get_json, look

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Case = Callable[[Story, Any, str], None]
CASES: list[tuple[str, str, Case]] = []


def case(name: str, state: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        CASES.append((name, state, fn))
        return fn

    return register


def nav_link(page: Any, label: str) -> Any:
    """A main-menu entry as a person reaches it: on a phone, through the menu button."""
    menu = page.locator("#nav-toggle")
    if menu.is_visible():
        menu.click()
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name=label)
    assert link.first.is_visible(), f"{label} is not reachable from the menu"
    return link.first


# ---- an empty library ------------------------------------------------------------------------
@case("home-empty", "empty")
def home_empty(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Let's bring order")
    start = page.get_by_role("link", name="Import photos").first
    assert start.get_attribute("href") == "/import"


@case("import", "empty")
def import_page(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/import")
    page.wait_for_selector("#browse-list button")
    assert page.locator("#browse-list").inner_text().strip().endswith("My photos")


# ---- after an import ----------------------------------------------------------------------
@case("job-import", "imported")
def job_import(story: Story, page: Any, size: str) -> None:
    page.goto(f"{story.url}/jobs/{story.jobs['import']}")
    job = get_json(f"{story.url}/jobs/{story.jobs['import']}")
    steps = page.locator(".next-steps")
    assert steps.is_visible()
    assert steps.get_by_role("link", name="Review duplicates").is_visible()
    assert steps.get_by_role("link", name="Review dates").is_visible()
    unreadable = steps.locator("dt:has-text('Unreadable') + dd").inner_text()
    assert int(unreadable) == job["failure_count"] == 1


@case("home", "imported")
def home_imported(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/")
    assert "photos" in page.locator(".lead").first.inner_text()
    for label in ("Library", "Archive", "Jobs", "Settings"):
        nav_link(page, label)
        page.goto(story.url + "/")
    if size == "phone":  # the menu open: labelled entries, the counts beside them
        nav_link(page, "Duplicates")
        assert page.locator("#nav-toggle").get_attribute("aria-expanded") == "true"
        look(page, "menu-open-phone")
        page.keyboard.press("Escape")
        assert page.locator("#mainnav").is_hidden()


@case("library", "imported")
def library(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/library")
    files = get_json(story.url + "/library?per_page=500")
    assert page.locator(".tile").count() == len(files) > 0
    # A timeline: a header per month, newest first, and each tile says its name.
    months = page.locator(".grid-month").all_inner_texts()
    assert len(months) == len(set(months)) >= 4 and "September 2019" in months
    names = page.locator(".tile-name").all_inner_texts()
    assert sorted(names) == sorted(f["path"].rsplit("/", 1)[1] for f in files)
    drawer = page.locator("details.facets-drawer")
    # On a phone the filters wait in a drawer: the photos come first.
    assert drawer.evaluate("d => d.open") == (size == "desktop")
    look(page, f"library-{size}")
    page.looked = True
    search = page.get_by_role("searchbox", name="Search by name, date, camera or tag")
    search.fill("2019-09")
    search.press("Enter")
    page.wait_for_url("**q=2019-09*")
    assert page.locator(".grid-month").all_inner_texts() == ["September 2019"]
    page.goto(story.url + "/library?q=1300D")
    assert page.locator(".tile-name").all_inner_texts() == ["IMG_0003.jpg"]


@case("file", "imported")
def file_page(story: Story, page: Any, size: str) -> None:
    rows = get_json(story.url + "/library?q=IMG_0003")
    page.goto(f"{story.url}/files/{rows[0]['id']}")
    assert page.get_by_role("heading", level=1).inner_text().startswith("IMG_0003")


@case("duplicates", "imported")
def duplicates(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/review/duplicates")
    groups = get_json(story.url + "/review/duplicates")["groups"]
    assert len(groups) >= 2
    assert page.get_by_role("link", name="Review one by one").is_visible()


@case("duplicate-group", "imported")
def duplicate_group(story: Story, page: Any, size: str) -> None:
    groups = get_json(story.url + "/review/duplicates")["groups"]
    near = next(g for g in groups if g["type"] != "exact")
    page.goto(f"{story.url}/review/duplicates/{near['id']}")
    assert page.locator(".member").count() == len(near["members"])


@case("dates", "imported")
def dates(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/review/timestamps")
    rows = get_json(story.url + "/review/timestamps")
    assert page.locator(".date-row").count() == len(rows) >= 1
    badge = page.locator('.mainnav [data-badge="dates"]')
    assert badge.text_content() == str(len(rows))
    look(page, f"dates-{size}")
    page.looked = True
    if size == "phone":
        # One typed date for a selection: the picker and the offset beside it.
        page.locator("#select-all-dates").check()
        bar = page.locator("#date-selection")
        assert bar.is_visible()
        zone_offset = bar.locator("input[name=utc_offset]").get_attribute("placeholder")
        assert zone_offset in ("+01:00", "+02:00")  # Berlin's, not a fixed "+01:00"
        bar.locator("input[type=datetime-local]").fill("1998-07-14T16:30")
        bar.get_by_role("button", name="Set date").click()
        page.wait_for_selector(".flash-success")
        assert f"Updated {len(rows)} files" in page.locator(".flash-success").inner_text()
        fixed = get_json(f"{story.url}/files/{rows[0]['id']}")
        assert fixed["taken_at"] == "1998-07-14T16:30:00" and fixed["utc_offset"] == "+02:00"
        assert page.locator('.mainnav [data-badge="dates"]').is_hidden()
        return
    # Confirming a guess updates the row and the menu's count, without a reload.
    first = page.locator(".date-row").first
    first.get_by_role("button", name="Confirm guess").click()
    page.wait_for_selector(f"#file-{rows[0]['id']}.confirmed")
    page.wait_for_function(
        f"() => document.querySelector('.mainnav [data-badge=\\'dates\\']').textContent"
        f" === '{len(rows) - 1}'"
    )
    assert badge.is_hidden() == (len(rows) == 1)


@case("settings", "imported")
def settings(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/settings")
    zone = page.get_by_label("Home time zone")
    assert zone.input_value() == "Europe/Berlin"
    assert zone.get_attribute("list") == "zones"  # typed letters find the zone
    assert page.locator("#zones option[value='America/Argentina/Buenos_Aires']").count() == 1
    # A wrong zone is said beside its field, on the Settings page itself.
    zone.fill("Europe/Berlim")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_load_state()
    error = page.locator("#timezone-error")
    assert error.count() == 1, page.locator("main").inner_text()[:1500]
    assert "unknown time zone 'Europe/Berlim'" in error.inner_text()
    assert page.get_by_role("heading", name="Settings", level=1).is_visible()
    assert zone.get_attribute("aria-describedby") == "timezone-error"
    page.js_errors.clear()  # the browser logs the 400 the page came with


@case("output-preview", "imported")
def output_preview(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/output")
    plan = get_json(story.url + "/output")
    to_write = page.locator(".stat-card:has-text('To write') dd").inner_text()
    assert int(to_write) == plan["counts"]["copy"] > 0


@case("jobs", "imported")
def jobs(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/jobs")
    assert page.get_by_role("link", name=f"#{story.jobs['import']}").first.is_visible()


@case("job-running", "imported")
def job_running(story: Story, page: Any, size: str) -> None:
    job_id = story.running_job()
    try:
        page.goto(f"{story.url}/jobs/{job_id}")
        assert page.locator('[data-field="current"]').inner_text() == "40"
        assert page.get_by_role("button", name="Cancel").is_visible()
        assert page.locator('[data-field="started"]').inner_text() != "–"
        assert page.locator('[data-field="eta"]').inner_text() == "estimating…"
        look(page, f"job-running-{size}")
        page.looked = True  # before the row is finished below
    finally:
        story.end_job(job_id)


# ---- the archive written ------------------------------------------------------------------
@case("job-output", "applied")
def job_output(story: Story, page: Any, size: str) -> None:
    page.goto(f"{story.url}/jobs/{story.jobs['output']}")
    assert page.locator('[data-field="status-pill"]').inner_text() == "completed"
    job = get_json(f"{story.url}/jobs/{story.jobs['output']}")
    assert page.locator('[data-field="started"]').inner_text() != "–"
    assert page.locator('[data-field="current"]').inner_text() == str(job["progress_current"])
    steps = page.locator(".next-steps")
    browse = steps.get_by_role("link", name="Browse the archive")
    assert browse.get_attribute("href") == "/output/browse"
    assert steps.get_by_role("button", name="Undo this apply").is_visible()


@case("output-applied", "applied")
def output_applied(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/output")
    plan = get_json(story.url + "/output")
    lead = page.locator(".pagehead .lead").inner_text()
    assert plan["counts"]["skip"] > 0
    assert "Nothing has been written yet" not in lead
    assert f"{plan['counts']['skip']} are in the archive" in lead or "Everything is" in lead
    last = page.get_by_role("link", name=f"apply #{story.jobs['output']}")
    assert last.get_attribute("href") == f"/jobs/{story.jobs['output']}"
    assert page.get_by_role("link", name="Browse the output folder").is_visible()
    assert page.get_by_role("button", name="Undo the last apply").is_enabled()


@case("output-browse", "applied")
def output_browse(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/output/browse")
    listing = get_json(story.url + "/output/browse")
    for folder in listing["folders"]:
        card = page.get_by_role("link", name=folder["name"])
        n = folder["entries"]
        assert card.inner_text().endswith(f"{n} item" + ("" if n == 1 else "s"))  # "1 item"


# ---- undone -------------------------------------------------------------------------------
@case("job-undo", "undone")
def job_undo(story: Story, page: Any, size: str) -> None:
    page.goto(f"{story.url}/jobs/{story.jobs['undo']}")
    assert page.locator('[data-field="status-pill"]').inner_text() == "completed"
    job = get_json(f"{story.url}/jobs/{story.jobs['undo']}")
    # The bar is full: so are the count and the percentage beside it.
    assert job["progress_total"] > 0
    assert job["progress_current"] == job["progress_total"]
    assert page.locator('[data-field="current"]').inner_text() == str(job["progress_total"])
    assert page.locator('[data-field="percent"]').inner_text() == "100 %"
    link = page.locator(".next-steps").get_by_role("link", name="Preview the archive")
    assert link.get_attribute("href") == "/output"


@case("error", "undone")
def error_page(story: Story, page: Any, size: str) -> None:
    page.goto(story.url + "/files/987654")
    assert "no file 987654" in page.locator("main").inner_text()
    page.js_errors.clear()  # the browser logs the 404 itself


def test_login(chromium: Any, locked_app: Any) -> None:
    for size, (width, height) in SIZES.items():
        page = new_page(chromium, width, height)
        page.goto(locked_app.url + "/library")
        assert "/login" in page.url
        assert page.get_by_label("Password").is_visible()
        look(page, f"login-{size}")
        assert not page.js_errors, page.js_errors
        page.context.close()


@pytest.mark.parametrize(
    ("name", "state", "size"),
    [(name, state, size) for name, state, _ in CASES for size in SIZES],
    ids=[f"{name}-{size}" for name, _, _ in CASES for size in SIZES],
)
def test_page(chromium: Any, story: Story, name: str, state: str, size: str) -> None:
    check = next(fn for n, _, fn in CASES if n == name)
    story.at(state)
    width, height = SIZES[size]
    page = new_page(chromium, width, height)
    try:
        check(story, page, size)
        if not getattr(page, "looked", False):
            look(page, f"{name}-{size}")
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()
