"""Date review: the inspect-shaped list, picking, typing, shifting, bulk, and Decision rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mediafix.store.models import Decision, File
from mediafix.web.forms import parse_date, parse_offset, parse_shift
from tests.helpers.web import SCRIPT, Web, web_app

INSPECT_KEYS = {
    "path", "kind", "error", "taken_at", "utc_offset", "taken_at_utc", "confidence",
    "confidence_level", "source", "reason", "candidates", "sha256", "phash", "width", "height",
}  # fmt: skip

CANDIDATES = [
    {
        "source": "filename",
        "value": "2019-07-01T12:00:00",
        "utc_offset": None,
        "precision": "second",
        "confidence": 0.5,
    },
    {
        "source": "file:mtime",
        "value": "2023-11-14T23:13:20.291",
        "utc_offset": "+01:00",
        "precision": "second",
        "confidence": 0.25,
    },
]


@pytest.fixture
def web(settings_env: Path) -> Iterator[Web]:
    with web_app() as w:
        yield w


def uncertain(web: Web, name: str | None = None, **fields: Any) -> int:
    values: dict[str, Any] = {
        "status": "review",
        "taken_at": datetime(2023, 11, 14, 23, 13, 20),
        "utc_offset": 60,
        "confidence": 0.25,
        "confidence_level": "low",
        "date_source": "file:mtime",
        "date_reason": "only the file's modification time",
        "candidates": CANDIDATES,
    }
    values.update(fields)
    return web.add_file(name, **values)


def confirm(web: Web, file_id: int, **body: Any) -> Any:
    return web.client.post(f"/review/timestamps/{file_id}", json=body, headers=SCRIPT)


def date_decisions(web: Web) -> list[dict[str, Any]]:
    with web.session() as s:
        return [d.payload for d in s.scalars(select(Decision).where(Decision.kind == "date"))]


def test_list_is_inspect_shaped(web: Web) -> None:
    file_id = uncertain(web)
    web.add_file()  # certain: not listed
    response = web.get_json("/review/timestamps")
    assert response.headers["X-Total-Count"] == "1"
    (record,) = response.json
    assert set(record) >= INSPECT_KEYS
    assert record["id"] == file_id
    assert record["taken_at"] == "2023-11-14T23:13:20"
    assert record["utc_offset"] == "+01:00"
    assert record["confidence_level"] == "low" and record["source"] == "file:mtime"
    assert record["candidates"] == CANDIDATES


def test_list_filters_and_pages(web: Web) -> None:
    for _ in range(3):
        uncertain(web, folder="/photos/scans")
    uncertain(web, folder="/photos/scans/sub")
    uncertain(web, folder="/photos/other", confidence_level="none")
    folder = web.get_json("/review/timestamps?folder=/photos/scans").json
    assert len(folder) == 3  # not the sub-folder
    assert len(web.get_json("/review/timestamps?level=none").json) == 1
    paged = web.get_json("/review/timestamps?per_page=2&page=2")
    assert len(paged.json) == 2 and 'rel="next"' in paged.headers["Link"]
    assert len(web.get_json("/review/timestamps?status=any").json) == 5
    assert web.get_json("/review/timestamps?status=weird").status_code == 400
    assert web.get_json("/review/timestamps?level=huge").status_code == 400


def test_page_shows_every_candidate(web: Web) -> None:
    uncertain(web)
    html = web.client.get("/review/timestamps").get_data(as_text=True)
    assert "filename" in html and "2019-07-01 12:00:00" in html
    assert "2023-11-14 23:13:20" in html and ".291" not in html
    assert "Europe/Berlin" in html


def test_pick_a_candidate(web: Web) -> None:
    file_id = uncertain(web)
    record = confirm(web, file_id, candidate=0).json
    assert record["taken_at"] == "2019-07-01T12:00:00"
    assert record["utc_offset"] == "+02:00"  # the home zone in summer
    assert record["taken_at_utc"] == "2019-07-01T10:00:00Z"
    assert record["confidence"] == 1.0 and record["confidence_level"] == "high"
    assert record["source"] == "user" and record["status"] == "ready"
    assert record["candidates"][0]["source"] == "user"
    (payload,) = date_decisions(web)
    assert payload["taken_at"] == "2019-07-01T12:00:00" and payload["how"] == "candidate"
    assert payload["source"] == "filename"
    assert payload["before"]["source"] == "file:mtime"


def test_pick_a_candidate_by_source(web: Web) -> None:
    file_id = uncertain(web)
    record = confirm(web, file_id, candidate="file:mtime").json
    assert record["taken_at"] == "2023-11-14T23:13:20" and record["utc_offset"] == "+01:00"


def test_type_a_date(web: Web) -> None:
    file_id = uncertain(web)
    record = confirm(web, file_id, taken_at="1998-07-14 16:30", utc_offset="-05:00").json
    assert record["taken_at"] == "1998-07-14T16:30:00"
    assert record["utc_offset"] == "-05:00" and record["offset_source"] == "user"
    assert record["taken_at_utc"] == "1998-07-14T21:30:00Z"
    winter = confirm(web, file_id, taken_at="1998:01:14 16:30:05").json
    assert winter["utc_offset"] == "+01:00" and winter["offset_source"] == "home-zone"
    assert winter["precision"] == "second"


def test_a_date_without_a_time_keeps_its_precision(web: Web) -> None:
    file_id = uncertain(web)
    assert confirm(web, file_id, taken_at="2004").json["precision"] == "year"
    assert confirm(web, file_id, taken_at="2004-05").json["precision"] == "month"
    assert confirm(web, file_id, taken_at="2004-05-06").json["precision"] == "day"


def test_shift_and_accept(web: Web) -> None:
    file_id = uncertain(web)
    shifted = confirm(web, file_id, shift="-1h30m").json
    assert shifted["taken_at"] == "2023-11-14T21:43:20"
    assert shifted["taken_at_utc"] == "2023-11-14T20:43:20Z"
    assert "shifted" in shifted["reason"]
    other = uncertain(web)
    accepted = confirm(web, other, accept=True).json
    assert accepted["taken_at"] == "2023-11-14T23:13:20" and accepted["source"] == "user"
    assert [p["how"] for p in date_decisions(web)] == ["shift", "accept"]


def test_bad_dates_are_400_with_a_message(web: Web) -> None:
    file_id = uncertain(web)
    undated = uncertain(web, taken_at=None, utc_offset=None, candidates=[])
    cases = [
        (file_id, {"taken_at": "yesterday"}, "not a date"),
        (file_id, {"taken_at": "2019-02-30"}, "not a real date"),
        (file_id, {"taken_at": "2999-01-01"}, "future"),
        (file_id, {"taken_at": "1700-01-01"}, "before photography"),
        (file_id, {"taken_at": "2019-01-01", "utc_offset": "+25:00"}, "offset"),
        (file_id, {"taken_at": "2019-01-01", "utc_offset": "two"}, "not a UTC offset"),
        (file_id, {"candidate": 7}, "no candidate 7"),
        (file_id, {"candidate": "exif:Nope"}, "no candidate from"),
        (file_id, {"shift": "soon"}, "not a shift"),
        (file_id, {}, "say what the date is"),
        (undated, {"accept": True}, "no date to confirm"),
        (undated, {"shift": "+1h"}, "no date to shift"),
    ]
    for target, body, words in cases:
        response = confirm(web, target, **body)
        assert response.status_code == 400, body
        assert words in response.json["error"], (body, response.json)
    assert date_decisions(web) == []
    assert confirm(web, 999, accept=True).status_code == 404
    malformed = web.client.post(
        f"/review/timestamps/{file_id}", data="{", content_type="application/json", headers=SCRIPT
    )
    assert malformed.status_code == 400


def test_bulk_shift_selected_files(web: Web) -> None:
    a = uncertain(web)
    b = uncertain(web, status="ready", confidence=0.9)
    undated = uncertain(web, taken_at=None)
    response = web.client.post(
        "/review/timestamps/bulk",
        json={"file_ids": [a, b, undated], "shift": "+2h"},
        headers=SCRIPT,
    )
    assert response.status_code == 200
    assert response.json["updated"] == 2
    assert [s["id"] for s in response.json["skipped"]] == [undated]
    with web.session() as s:
        rows = {f.id: f for f in s.scalars(select(File))}
    assert rows[a].taken_at == rows[b].taken_at == datetime(2023, 11, 15, 1, 13, 20)
    assert rows[a].status == "ready" and rows[a].date_source == "user"


def test_bulk_shift_a_whole_folder(web: Web) -> None:
    inside = [uncertain(web, folder="/photos/cam"), web.add_file(folder="/photos/cam")]
    below = uncertain(web, folder="/photos/cam/sub")
    response = web.client.post(
        "/review/timestamps/bulk", json={"folder": "/photos/cam", "shift": -60}, headers=SCRIPT
    )
    assert response.json["updated"] == 2
    with web.session() as s:
        changed = {f.id for f in s.scalars(select(File).where(File.date_source == "user"))}
    assert changed == set(inside) and below not in changed


def test_bulk_needs_files(web: Web) -> None:
    assert (
        web.client.post(
            "/review/timestamps/bulk", json={"shift": "+1h"}, headers=SCRIPT
        ).status_code
        == 400
    )
    nothing = web.client.post(
        "/review/timestamps/bulk", json={"folder": "/nowhere", "shift": "+1h"}, headers=SCRIPT
    )
    assert nothing.status_code == 404


def test_htmx_gets_the_confirmed_row(web: Web) -> None:
    file_id = uncertain(web)
    response = web.client.post(
        f"/review/timestamps/{file_id}",
        data={"candidate": "0", "csrf_token": web.csrf()},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="file-{file_id}"' in html and "confirmed" in html
    assert "chosen by a person from filename" in html


def test_htmx_errors_are_json_for_the_toast(web: Web) -> None:
    file_id = uncertain(web)
    response = web.client.post(
        f"/review/timestamps/{file_id}",
        data={"taken_at": "nonsense", "csrf_token": web.csrf()},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400 and "not a date" in response.json["error"]


def test_form_post_returns_to_the_list(web: Web) -> None:
    file_id = uncertain(web)
    response = web.client.post(
        f"/review/timestamps/{file_id}",
        data={"accept": "1", "next": "/review/timestamps?level=low", "csrf_token": web.csrf()},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/review/timestamps?level=low"
    evil = web.client.post(
        f"/review/timestamps/{file_id}",
        data={"accept": "1", "next": "https://evil.example/", "csrf_token": web.csrf()},
    )
    assert evil.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("90", 90), ("-2h", -120), ("+1h30m", 90), ("1d 2h", 1560), ("-01:30", -90), ("−45m", -45)],
)
def test_parse_shift(text: str, minutes: int) -> None:
    assert parse_shift(text) == minutes


def test_parsers() -> None:
    assert parse_offset("Z") == 0 and parse_offset("UTC+5:30") == 330 and parse_offset("") is None
    assert parse_offset("-0430") == -270
    assert parse_date("2019/09/19 5:38") == (datetime(2019, 9, 19, 5, 38), "minute")
    with pytest.raises(ValueError, match="zero"):
        parse_shift("0")


def test_huge_numbers_are_400_not_500(web: Web) -> None:
    """Found probing the API (issue #8): a numeric shift skipped parse_shift's bounds and
    overflowed timedelta; bulk file ids of thousands of digits broke int(), and ids beyond
    the database's INTEGER broke the query."""
    file_id = uncertain(web)
    for params in ({"shift_minutes": 10**20}, {"shift": -(10**9)}):
        response = web.client.post(f"/review/timestamps/{file_id}", json=params, headers=SCRIPT)
        assert response.status_code == 400 and "hundred years" in response.json["error"]
    for ids in (["9" * 5000], [10**20, 2**31]):
        response = web.client.post(
            "/review/timestamps/bulk", json={"file_ids": ids, "accept": True}, headers=SCRIPT
        )
        assert response.status_code == 400 and "which files" in response.json["error"]
    shifted = web.client.post(
        f"/review/timestamps/{file_id}", json={"shift_minutes": 120}, headers=SCRIPT
    )
    assert shifted.status_code == 200 and shifted.json["taken_at"] == "2023-11-15T01:13:20"
