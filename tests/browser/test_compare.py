"""Looking closely, in a real Chromium: the compare view of a duplicate group and the lightbox.

At 1280x800 and on a 390x844 phone: the compare view shows every picture of a group at its
original's full width, zooms and pans them together, answers the group page's keys, and the
page's action bar never lies over a card's name or photo. Screenshots go to
``test-artifacts/screenshots/compare-*.png`` for a person to look at.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.browser.helpers import (
    SHOTS,
    Server,
    get_json,
    launched_chromium,
    post_json,
    thumbs_ready,
    wait_for,
    wait_job,
)
from tests.helpers.media import scene, write_tags

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
BIG = (3000, 2000)  # the original
SMALL = (1200, 800)  # its re-encoded copy


def make_library(folder: Path) -> None:
    """A photo, its byte-identical backup, a smaller re-encoded copy, and two other photos
    (one of them upright only by its EXIF orientation)."""
    camera = {"Make": "Canon", "Model": "EOS 80D"}
    original = folder / "Italy 2019" / "IMG_0100.jpg"
    original.parent.mkdir(parents=True)
    scene(21, BIG).save(original, "JPEG", quality=92)
    write_tags(original, DateTimeOriginal="2019:09:19 05:38:57", **camera)
    backup = folder / "backup" / "IMG_0100.jpg"
    backup.parent.mkdir(parents=True)
    shutil.copy2(original, backup)
    small = folder / "WhatsApp" / "IMG-20190919-WA0003.jpg"
    small.parent.mkdir(parents=True)
    with Image.open(original) as im:
        im.resize(SMALL, Image.Resampling.LANCZOS).save(small, "JPEG", quality=70)
    other = folder / "Italy 2019" / "IMG_0101.jpg"
    scene(22, (1600, 1200)).save(other, "JPEG", quality=90)
    write_tags(other, DateTimeOriginal="2019:09:19 06:00:00", **camera)
    turned = folder / "Italy 2019" / "IMG_0102.jpg"
    scene(23, (1600, 1200)).save(turned, "JPEG", quality=90)
    write_tags(turned, DateTimeOriginal="2019:09:19 07:00:00", **{"Orientation#": "6"})


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``mediafix serve`` with the library above imported and grouped."""
    server = Server(tmp_path_factory.mktemp("compare"))
    make_library(server.photos)
    try:
        url = server.start().url
        job = post_json(url + "/imports", {"path": str(server.photos)})
        assert wait_job(url, job["job_id"], timeout=90)["status"] == "completed"

        def grouped() -> list[dict[str, Any]]:
            groups = get_json(url + "/review/duplicates")["groups"]
            return groups if len(groups) == 2 else []

        groups = {g["type"]: g for g in wait_for(grouped, timeout=60)}
        ids = [m["file_id"] for g in groups.values() for m in g["members"]]
        wait_for(lambda: thumbs_ready(url, ids), timeout=60)
        yield {"url": url, "exact": groups["exact"], "near": groups["near"]}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


def new_page(chromium: Any, viewport: dict[str, int]) -> Any:
    phone = viewport["width"] < 600
    context = chromium.new_context(viewport=viewport, has_touch=phone, is_mobile=phone)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    return page


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    # Two frames: what was just decoded is painted (a phone's emulation paints later).
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=str(SHOTS / f"compare-{name}.png"))


def no_horizontal_overflow(page: Any) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth,"
        " Math.max(...Array.from(document.querySelectorAll('.review-scroll, .viewer-panes'))"
        ".map(e => e.scrollWidth - e.clientWidth), 0)]"
    )
    assert widths[0] <= widths[1] and widths[2] <= 0, widths


# What of an element a person can see (inside the window and every box that clips it) that
# lies under the action bar.
OVERLAPS = """(selectors) => {
  const bar = document.querySelector('#review-actions').getBoundingClientRect();
  const cut = (a, b) => ({left: Math.max(a.left, b.left), top: Math.max(a.top, b.top),
                          right: Math.min(a.right, b.right), bottom: Math.min(a.bottom, b.bottom)});
  const some = (r) => r.right - r.left > 1 && r.bottom - r.top > 1;
  const hits = [];
  for (const sel of selectors) {
    for (const el of document.querySelectorAll(sel)) {
      let seen = cut(el.getBoundingClientRect(),
                     {left: 0, top: 0, right: innerWidth, bottom: innerHeight});
      for (let up = el.parentElement; up; up = up.parentElement) {
        const clips = getComputedStyle(up).overflowY !== 'visible';
        if (clips) seen = cut(seen, up.getBoundingClientRect());
      }
      if (some(seen) && some(cut(seen, bar))) {
        hits.push(sel + ' ' + (el.textContent || el.alt || '').trim().slice(0, 40));
      }
    }
  }
  return hits;
}"""

SCROLL_TO = "(where) => { const el = document.querySelector('#review-scroll');"
SCROLL_TO += " el.scrollTop = where * (el.scrollHeight - el.clientHeight); }"


def bar_covers_nothing(page: Any, selectors: list[str]) -> None:
    """At the top, in the middle and at the end of the cards: the bar is over none of them."""
    for where in (0, 0.5, 1):
        page.evaluate(SCROLL_TO, where)
        assert page.evaluate(OVERLAPS, selectors) == [], where
    page.evaluate(SCROLL_TO, 0)


def panes(page: Any) -> list[dict[str, float]]:
    """Each pane's picture: its natural width, and which point of it is at the pane's centre."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.viewer-pane')).map(p => {
          const img = p.querySelector('.viewer-img');
          const stage = p.querySelector('.viewer-stage').getBoundingClientRect();
          const box = img.getBoundingClientRect();
          return {natural: img.naturalWidth, level: p.dataset.level || '',
                  scale: box.width / parseFloat(img.style.width),
                  u: (stage.left + stage.width / 2 - box.left) / box.width,
                  v: (stage.top + stage.height / 2 - box.top) / box.height};
        })"""
    )


def wait_full(page: Any, count: int) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('.viewer-pane[data-level=full]').length === {count}"
        " && Array.from(document.querySelectorAll('.viewer-img')).every(i => i.complete)",
        timeout=20_000,
    )


def test_compare_a_near_group_at_1280x800(app: dict[str, Any], chromium: Any) -> None:
    url, near = app["url"], app["near"]
    assert len(near["members"]) == 3  # the original, its backup and the small copy
    page = new_page(chromium, DESKTOP)
    page.goto(f"{url}/review/duplicates/{near['id']}")
    cards = page.locator(".member")
    assert cards.count() == 2  # the two identical copies are one card
    assert "2 identical copies" in cards.nth(0).inner_text()
    shot(page, "group-1280")
    no_horizontal_overflow(page)
    bar_covers_nothing(page, [".member-name", ".facts", ".copies-note"])

    # Space opens the compare view: both pictures at their original's full width.
    page.keyboard.press("Space")
    page.wait_for_selector(".viewer:not([hidden])")
    wait_full(page, 2)
    shown = panes(page)
    expected = [int(cards.nth(i).get_attribute("data-width")) for i in range(2)]
    assert sorted(expected) == [SMALL[0], BIG[0]]
    assert [p["natural"] for p in shown] == expected
    shot(page, "compare-1280")
    no_horizontal_overflow(page)

    # Zoom and pan are shared: each pane shows the same point of its own picture.
    page.keyboard.press("+")
    page.keyboard.press("+")
    zoomed = panes(page)
    assert zoomed[0]["scale"] > shown[0]["scale"] * 2
    assert zoomed[1]["scale"] / zoomed[0]["scale"] == pytest.approx(
        shown[1]["scale"] / shown[0]["scale"], rel=1e-3
    )
    stage = page.locator(".viewer-stage").nth(0).bounding_box()
    cx, cy = stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 120, cy + 60, steps=4)
    page.mouse.up()
    panned = panes(page)
    assert panned[0]["u"] < zoomed[0]["u"] - 0.02 and panned[0]["v"] < zoomed[0]["v"] - 0.01
    for key in ("u", "v"):
        assert panned[1][key] == pytest.approx(panned[0][key], abs=0.01)
    page.mouse.wheel(0, -300)  # the wheel zooms both
    wheeled = panes(page)
    assert wheeled[1]["scale"] > panned[1]["scale"] * 1.2
    page.keyboard.press("z")  # 1:1: the largest picture at its actual pixels
    assert page.locator(".viewer-percent").inner_text() == "100 %"
    big = max(range(2), key=lambda i: expected[i])
    assert panes(page)[big]["scale"] == pytest.approx(1.0, rel=1e-3)
    shot(page, "compare-1280-1to1")
    page.keyboard.press("0")
    assert page.locator(".viewer-percent").inner_text() == "Fit"

    # ← and → go to the neighbour group, which opens in the compare view too.
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"**/review/duplicates/{app['exact']['id']}#compare")
    page.wait_for_selector(".viewer:not([hidden])")
    assert page.locator(".viewer-pane").count() == 2
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/review/duplicates/{near['id']}#compare")
    page.wait_for_selector(".viewer:not([hidden])")
    wait_full(page, 2)

    # The group page's keys: "2" keeps only the small copy, on the pane as on its card.
    small = expected.index(SMALL[0])
    page.keyboard.press(str(small + 1))
    states = page.locator(".viewer-pane")
    assert "keep" in states.nth(small).get_attribute("class")
    assert "discard" in states.nth(1 - small).get_attribute("class")
    assert "discard" in cards.nth(1 - small).get_attribute("class")
    page.locator(".viewer-state").nth(1 - small).click()  # and a click toggles one
    assert "keep" in states.nth(1 - small).get_attribute("class")
    page.keyboard.press(str(small + 1))
    page.keyboard.press("Escape")
    assert page.locator(".viewer").is_hidden()
    page.locator(".member-zoom").nth(0).click()  # a click on a photo opens it too
    page.wait_for_selector(".viewer:not([hidden])")
    page.keyboard.press("Enter")  # save & next, as on the page
    page.wait_for_url("**/review/duplicates*")
    decided = get_json(f"{url}/review/duplicates/{near['id']}")
    assert decided["status"] == "resolved"
    kept = {m["file_id"] for m in decided["members"] if m["keep"]}
    small_id = next(m["file_id"] for m in near["members"] if m["width"] == SMALL[0])
    assert kept == {small_id}
    # The exact copies were decided with it: their group is not asked again.
    assert get_json(f"{url}/review/duplicates/{app['exact']['id']}")["status"] == "resolved"
    assert not page.js_errors, page.js_errors


def test_compare_on_a_phone(app: dict[str, Any], chromium: Any) -> None:
    url, near = app["url"], app["near"]
    page = new_page(chromium, PHONE)
    page.goto(f"{url}/review/duplicates/{near['id']}")
    page.wait_for_selector(".member")
    shot(page, "group-390")
    no_horizontal_overflow(page)
    bar_covers_nothing(page, [".member-zoom img", ".member-name", ".facts"])
    page.locator(".member-zoom").nth(0).tap()
    page.wait_for_selector(".viewer:not([hidden])")
    wait_full(page, 2)
    before = panes(page)
    assert sorted(p["natural"] for p in before) == [SMALL[0], BIG[0]]
    shot(page, "compare-390")
    no_horizontal_overflow(page)
    page.locator("[data-zoom=in]").tap()
    page.locator("[data-zoom=in]").tap()
    zoomed = panes(page)
    assert zoomed[0]["scale"] > before[0]["scale"] * 2
    assert zoomed[1]["u"] == pytest.approx(zoomed[0]["u"], abs=0.01)
    shot(page, "compare-390-zoomed")
    page.locator(".viewer-close").tap()
    assert page.locator(".viewer").is_hidden()
    assert not page.js_errors, page.js_errors


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_lightbox_in_the_library(app: dict[str, Any], chromium: Any, viewport: Any) -> None:
    url = app["url"]
    page = new_page(chromium, viewport)
    page.goto(url + "/library")
    tiles = page.locator(".tile")
    assert tiles.count() == 5
    tiles.nth(0).locator("a.tile-link").click()
    page.wait_for_selector(".viewer:not([hidden]) .viewer-pane[data-level]")
    page.wait_for_function("() => document.querySelector('.viewer-img').complete")
    first = page.locator(".viewer-name").inner_text()
    info = page.evaluate(
        "() => { const i = document.querySelector('.viewer-img');"
        " return [i.naturalWidth, i.naturalHeight, parseFloat(i.style.width)]; }"
    )
    assert info[0] == min(2048, int(info[2])) or info[0] == int(info[2])
    name = viewport["width"]
    shot(page, f"lightbox-{name}")
    no_horizontal_overflow(page)
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"() => document.querySelector('.viewer-name') &&"
        f" document.querySelector('.viewer-name').textContent !== {json.dumps(first)}"
    )
    assert "2 of 5" in page.locator(".viewer-counter").inner_text()
    # A swipe to the right (a mouse drag here) goes back to the first.
    stage = page.locator(".viewer-stage").bounding_box()
    y = stage["y"] + stage["height"] / 2
    page.mouse.move(stage["x"] + 40, y)
    page.mouse.down()
    page.mouse.move(stage["x"] + 240, y + 10, steps=5)
    page.mouse.up()
    page.wait_for_function(
        "() => /1 of 5/.test(document.querySelector('.viewer-counter').textContent)"
    )
    assert page.locator(".viewer-name").inner_text() == first
    page.keyboard.press("Escape")
    assert page.locator(".viewer").is_hidden()
    # The photo upright only by its EXIF orientation (6) is shown portrait, as it was held.
    page.locator(".tile a.tile-link[title='IMG_0102.jpg']").click()
    page.wait_for_function(
        "() => document.querySelector('.viewer:not([hidden]) .viewer-pane[data-level]')"
        " && document.querySelector('.viewer-img').complete"
    )
    assert page.locator(".viewer-name").inner_text() == "IMG_0102.jpg"
    size = page.evaluate(
        "() => { const i = document.querySelector('.viewer-img');"
        " return [i.naturalWidth, i.naturalHeight]; }"
    )
    assert size == [1200, 1600], size
    shot(page, f"lightbox-{name}-portrait")
    page.keyboard.press("Escape")
    # A file page: its preview opens the same way.
    file_id = page.locator(".tile", has=page.locator("a[title='IMG_0102.jpg']")).get_attribute(
        "data-id"
    )
    page.goto(f"{url}/files/{file_id}")
    page.locator("img.preview-img").click()
    page.wait_for_selector(".viewer:not([hidden]) .viewer-pane[data-level]")
    assert page.locator(".viewer-name").inner_text() == "IMG_0102.jpg"
    page.keyboard.press("Escape")
    assert page.locator(".viewer").is_hidden()
    assert not page.js_errors, page.js_errors
