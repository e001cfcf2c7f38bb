"""Duplicate review: list and group JSON (the dupes contract), decisions, bulk, regroup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mediafix.services.duplicates import regroup
from mediafix.store.models import Decision, DuplicateGroup, DuplicateMember
from tests.helpers.web import SCRIPT, Web, web_app


@pytest.fixture
def web(settings_env: Path) -> Iterator[Web]:
    with web_app() as w:
        yield w


def pair(web: Web, type_: str = "near") -> tuple[int, int, int]:
    """An original and its smaller copy elsewhere; the first pair is IMG_1.jpg."""
    n = web._n // 2 + 1
    when = {"taken_at": datetime(2019, 9, 19, 5, 38, 57)}
    a = web.add_file(f"IMG_{n}.jpg", size=3_000_000, width=4032, height=3024, make="Apple", **when)
    b = web.add_file(
        f"IMG_{n} small.jpg", folder="/photos/whatsapp", size=200_000, width=1600, **when
    )
    return web.add_group(type_, [a, b], keeper=a), a, b


def decisions(web: Web) -> list[tuple[str, int | None, str | None, str | None]]:
    with web.session() as s:
        rows = s.scalars(select(Decision).order_by(Decision.id)).all()
        return [(d.kind, d.file_id, d.sha256, d.other_sha256) for d in rows]


def test_list_has_the_dupes_json_shape(web: Web) -> None:
    group, a, b = pair(web)
    data = web.get_json("/review/duplicates").json
    assert data["total"] == 1 and data["page"] == 1
    g = data["groups"][0]
    assert {"id", "type", "keeper", "reasons", "members"} <= set(g)
    assert g["id"] == group and g["type"] == "near"
    assert g["keeper"] == "/photos/trip/IMG_1.jpg"
    assert [(m["path"], m["keep"], m["distance"], m["file_id"]) for m in g["members"]] == [
        ("/photos/trip/IMG_1.jpg", True, 4, a),
        ("/photos/whatsapp/IMG_1 small.jpg", False, 4, b),
    ]


def test_list_filters_and_pages(web: Web) -> None:
    pair(web, "near")
    pair(web, "exact")
    pair(web, "burst")
    assert [g["type"] for g in web.get_json("/review/duplicates?type=exact").json["groups"]] == [
        "exact"
    ]
    two = web.get_json("/review/duplicates?type=near,burst").json
    assert sorted(g["type"] for g in two["groups"]) == ["burst", "near"]
    paged = web.get_json("/review/duplicates?per_page=2&page=2").json
    assert paged["pages"] == 2 and len(paged["groups"]) == 1
    assert web.get_json("/review/duplicates?type=twins").status_code == 400
    assert web.get_json("/review/duplicates?status=maybe").status_code == 400
    assert web.get_json("/review/duplicates?page=0").status_code == 400


def test_group_shows_only_what_differs(web: Web) -> None:
    group, _a, _b = pair(web)
    data = web.get_json(f"/review/duplicates/{group}").json
    assert data["differ"] == ["size", "resolution", "camera", "name", "folder"]
    assert data["same"]["format"] == "JPEG"
    first = data["members"][0]["facts"]
    assert first["resolution"] == "4032×3024" and first["camera"] == "Apple"
    assert data["members"][1]["facts"]["folder"] == "photos/whatsapp"
    html = web.client.get(f"/review/duplicates/{group}").get_data(as_text=True)
    assert "keep only that one" in html and "not duplicates" in html.lower()
    assert f'name="keep" value="{_a}"' in html


def test_unknown_group_is_404(web: Web) -> None:
    assert web.get_json("/review/duplicates/42").status_code == 404
    response = web.client.post(
        "/review/duplicates/42", json={"action": "suggestion"}, headers=SCRIPT
    )
    assert response.status_code == 404 and "no duplicate group 42" in response.json["error"]


def test_keep_a_choice(web: Web) -> None:
    group, a, b = pair(web)
    response = web.client.post(
        f"/review/duplicates/{group}", json={"action": "keep", "keep": [b]}, headers=SCRIPT
    )
    assert response.status_code == 200
    assert response.json["group"]["status"] == "resolved"
    assert [m["keep"] for m in response.json["group"]["members"]] == [False, True]
    assert response.json["next_id"] is None
    with web.session() as s:
        sha = {m.file_id: m for m in s.scalars(select(DuplicateMember))}
        assert sha[a].keep is False and sha[b].keep is True
    assert decisions(web) == [
        ("discard", a, f"{a:064x}", None),
        ("keep", b, f"{b:064x}", None),
    ]


def test_bad_decisions_are_400(web: Web) -> None:
    group, _a, _b = pair(web)
    other = web.add_file()
    cases = [
        ({"action": "keep", "keep": []}, "keep at least one"),
        ({"keep": [other]}, "is not in duplicate group"),
        ({"keep": ["x"]}, "whole numbers"),
        ({"action": "delete"}, "action must be"),
    ]
    for body, words in cases:
        response = web.client.post(f"/review/duplicates/{group}", json=body, headers=SCRIPT)
        assert response.status_code == 400, body
        assert words in response.json["error"]
    malformed = web.client.post(
        f"/review/duplicates/{group}", data="[1,", content_type="application/json", headers=SCRIPT
    )
    assert malformed.status_code == 400
    assert decisions(web) == []


def test_keep_the_suggestion(web: Web) -> None:
    group, a, _b = pair(web)
    response = web.client.post(
        f"/review/duplicates/{group}", json={"action": "suggestion"}, headers=SCRIPT
    )
    kept = [m["file_id"] for m in response.json["group"]["members"] if m["keep"]]
    assert kept == [a]


def test_not_duplicates_remembers_every_pair(web: Web) -> None:
    a = web.add_file()
    b = web.add_file()
    c = web.add_file()
    group = web.add_group("near", [a, b, c])
    response = web.client.post(
        f"/review/duplicates/{group}", json={"action": "not_duplicates"}, headers=SCRIPT
    )
    assert response.status_code == 200
    assert all(m["keep"] for m in response.json["group"]["members"])
    pairs = {(d[2], d[3]) for d in decisions(web) if d[0] == "not_duplicate"}
    shas = sorted(f"{i:064x}" for i in (a, b, c))
    assert pairs == {(shas[0], shas[1]), (shas[0], shas[2]), (shas[1], shas[2])}


def test_exact_copies_cannot_be_not_duplicates(web: Web) -> None:
    group, _a, _b = pair(web, "exact")
    response = web.client.post(
        f"/review/duplicates/{group}", json={"action": "not_duplicates"}, headers=SCRIPT
    )
    assert response.status_code == 400 and "byte-identical" in response.json["error"]


def test_the_page_form_goes_to_the_next_group(web: Web) -> None:
    first, a, _b = pair(web)
    second, _c, _d = pair(web)
    token = web.csrf()
    response = web.client.post(
        f"/review/duplicates/{first}",
        data={"action": "keep", "keep": [str(a)], "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/review/duplicates/{second}"
    last = web.client.post(
        f"/review/duplicates/{second}", data={"action": "suggestion", "csrf_token": token}
    )
    assert last.headers["Location"] == "/review/duplicates"
    assert "Every duplicate group is resolved" in web.client.get("/review/duplicates").get_data(
        as_text=True
    )


def test_accept_all_suggestions_behind_a_count(web: Web) -> None:
    pair(web, "exact")
    pair(web, "exact")
    pair(web, "near")
    preview = web.get_json("/review/duplicates/accept?type=exact").json
    assert preview == {"types": ["exact"], "groups": 2, "kept": 2, "discarded": 2}
    stale = web.client.post(
        "/review/duplicates/accept", json={"types": ["exact"], "expect_groups": 5}, headers=SCRIPT
    )
    assert stale.status_code == 409 and "changed" in stale.json["error"]
    done = web.client.post(
        "/review/duplicates/accept", json={"types": ["exact"], "expect_groups": 2}, headers=SCRIPT
    )
    assert done.status_code == 200
    assert done.json == {"types": ["exact"], "groups": 2, "kept": 2, "discarded": 2}
    with web.session() as s:
        statuses = {g.type: g.status for g in s.scalars(select(DuplicateGroup))}
    assert statuses == {"exact": "resolved", "near": "pending"}
    assert sum(1 for d in decisions(web) if d[0] in ("keep", "discard")) == 4
    html = web.client.get("/review/duplicates").get_data(as_text=True)
    assert "Near duplicates" in html and "1 group" in html


def test_accept_rejects_unknown_types(web: Web) -> None:
    response = web.client.post(
        "/review/duplicates/accept", json={"types": ["weird"]}, headers=SCRIPT
    )
    assert response.status_code == 400


def test_decisions_survive_a_regroup(web: Web) -> None:
    """The regroup (which renumbers every group) reads the decisions back by file and sha256."""
    original = web.add_file("IMG_5.jpg", sha256="ab" * 32, size=5000)
    copy = web.add_file("IMG_5.jpg", folder="/photos/backup", sha256="ab" * 32, size=5000)
    regroup(web.engine, web.settings)
    groups = web.get_json("/review/duplicates").json["groups"]
    assert len(groups) == 1 and groups[0]["type"] == "exact"
    web.client.post(f"/review/duplicates/{groups[0]['id']}", json={"keep": [copy]}, headers=SCRIPT)
    with web.session() as s:  # the groups are rebuilt from scratch: only Decision rows remain
        s.execute(DuplicateMember.__table__.delete())
        s.execute(DuplicateGroup.__table__.delete())
    regroup(web.engine, web.settings)
    again = web.get_json("/review/duplicates?status=all").json["groups"]
    assert len(again) == 1
    assert again[0]["status"] == "resolved"
    keep = {m["file_id"]: m["keep"] for m in again[0]["members"]}
    assert keep == {original: False, copy: True}


def test_a_group_rebuilt_meanwhile_is_never_decided_blindly(web: Web) -> None:
    group, a, b = pair(web)
    other = web.add_file()
    stale = web.client.post(
        f"/review/duplicates/{group}",
        json={"action": "suggestion", "members": [a, other]},
        headers=SCRIPT,
    )
    assert stale.status_code == 409 and "changed" in stale.json["error"]
    fresh = web.client.post(
        f"/review/duplicates/{group}",
        json={"action": "suggestion", "members": [a, b]},
        headers=SCRIPT,
    )
    assert fresh.status_code == 200
    gone = web.client.post(
        "/review/duplicates/77", data={"action": "suggestion", "csrf_token": web.csrf()}
    )
    assert gone.status_code == 302 and gone.headers["Location"] == "/review/duplicates"
    page = web.client.get("/review/duplicates/77", follow_redirects=True).get_data(as_text=True)
    assert "rebuilt meanwhile" in page


def copies_in_a_near_group(web: Web) -> tuple[int, int, tuple[int, int, int]]:
    """A photo, its byte-identical backup and a smaller WhatsApp copy, grouped as a regroup
    groups them: an exact group of the two copies, a near group of all three."""
    when = {"taken_at": datetime(2019, 9, 19, 5, 38, 57)}
    same = {"sha256": "ab" * 32, "size": 3_000_000, "width": 4032, "height": 3024, **when}
    a = web.add_file("IMG_7.jpg", **same)
    a2 = web.add_file("IMG_7.jpg", folder="/photos/backup", **same)
    b = web.add_file("IMG_7 small.jpg", folder="/photos/whatsapp", size=200_000, **when)
    exact = web.add_group("exact", [a, a2], keeper=a)
    near = web.add_group("near", [a, a2, b], keeper=a)
    return exact, near, (a, a2, b)


def test_identical_copies_are_one_card_in_their_near_group(web: Web) -> None:
    exact, near, (a, a2, b) = copies_in_a_near_group(web)
    data = web.get_json(f"/review/duplicates/{near}").json
    assert len(data["members"]) == 3  # the contract's members are all there
    cards = data["cards"]
    assert [c["file_ids"] for c in cards] == [[a, a2], [b]]
    assert cards[0]["copies"] == 2 and cards[0]["keep_ids"] == [a]  # the exact group's keeper
    assert cards[0]["exact_group"] == {"id": exact, "status": "pending"}
    html = web.client.get(f"/review/duplicates/{near}").get_data(as_text=True)
    assert html.count('class="member-check"') == 2
    assert "2 identical copies" in html and "2 pictures" in html

    # The backup is kept in the exact group: the card now stands for it.
    web.client.post(f"/review/duplicates/{exact}", json={"keep": [a2]}, headers=SCRIPT)
    card = web.get_json(f"/review/duplicates/{near}").json["cards"][0]
    assert card["keep_ids"] == [a2] and card["keep"] is True
    assert card["exact_group"]["status"] == "resolved"
    html = web.client.get(f"/review/duplicates/{near}").get_data(as_text=True)
    assert f'name="keep" value="{a2}" checked' in html

    # Keeping the card and the small copy keeps what the exact group chose, not the other.
    token = web.csrf()
    response = web.client.post(
        f"/review/duplicates/{near}",
        data={"action": "keep", "keep": [str(a2), str(b)], "csrf_token": token},
    )
    assert response.status_code == 302
    keep = {
        m["file_id"]: m["keep"] for m in web.get_json(f"/review/duplicates/{near}").json["members"]
    }
    assert keep == {a: False, a2: True, b: True}


def test_deciding_the_near_group_decides_its_exact_copies_once(web: Web) -> None:
    exact, near, (a, a2, _b) = copies_in_a_near_group(web)
    token = web.csrf()
    web.client.post(
        f"/review/duplicates/{near}",
        data={"action": "keep", "keep": [f"{a}"], "csrf_token": token},
    )
    pending = [g["id"] for g in web.get_json("/review/duplicates").json["groups"]]
    assert pending == []  # the exact group is not asked again
    decided = web.get_json(f"/review/duplicates/{exact}").json
    assert decided["status"] == "resolved"
    assert {m["file_id"]: m["keep"] for m in decided["members"]} == {a: True, a2: False}
    # A card standing for two kept copies sends both ids at once.
    response = web.client.post(
        f"/review/duplicates/{near}", data={"keep": [f"{a},{a2}"], "csrf_token": token}
    )
    assert response.status_code == 302
    again = web.get_json(f"/review/duplicates/{exact}").json
    assert all(m["keep"] for m in again["members"])
    assert web.get_json(f"/review/duplicates/{near}").json["cards"][0]["keep_ids"] == [a, a2]


def test_accepting_exact_copies_leaves_their_near_group_to_decide(web: Web) -> None:
    """Two pairs of copies of two versions of a picture: accepting the pairs in bulk decides
    every file of the near group, but not which version to keep."""
    a, a2 = (web.add_file(f"A{i}.jpg", sha256="aa" * 32) for i in range(2))
    b, b2 = (web.add_file(f"B{i}.jpg", sha256="bb" * 32) for i in range(2))
    web.add_group("exact", [a, a2])
    web.add_group("exact", [b, b2])
    near = web.add_group("near", [a, a2, b, b2])
    done = web.client.post("/review/duplicates/accept", json={"types": ["exact"]}, headers=SCRIPT)
    assert done.status_code == 200 and done.json["groups"] == 2
    assert [g["id"] for g in web.get_json("/review/duplicates").json["groups"]] == [near]
    cards = web.get_json(f"/review/duplicates/{near}").json["cards"]
    assert [c["keep_ids"] for c in cards] == [[a], [b]]
