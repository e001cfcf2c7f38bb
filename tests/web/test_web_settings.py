"""Settings: stored in the settings table, validated, used by the next job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mediafix.store import settings as settingsrows
from tests.helpers.web import SCRIPT, Web, web_app


@pytest.fixture
def web(settings_env: Path) -> Iterator[Web]:
    with web_app() as w:
        yield w


def save(web: Web, **values: Any) -> Any:
    return web.client.post("/settings", json=values, headers=SCRIPT)


def stored(web: Web) -> dict[str, Any]:
    with web.session() as s:
        return settingsrows.stored_settings(s)


def test_defaults_come_from_the_environment(web: Web) -> None:
    data = web.get_json("/settings").json
    assert data["settings"]["timezone"] == "Europe/Berlin"
    assert data["settings"]["output_dir"] == str(web.settings.output_dir)
    assert data["settings"]["move"] is False
    assert set(data["sources"].values()) == {"environment"}


def test_save_every_setting(web: Web, tmp_path: Path) -> None:
    response = save(
        web,
        duplicate_threshold=12,
        review_confidence=0.75,
        output_dir=str(tmp_path / "archive"),
        timezone="America/New_York",
        move=True,
    )
    assert response.status_code == 200
    assert response.json["settings"]["duplicate_threshold"] == 12
    assert response.json["sources"]["timezone"] == "page"
    assert stored(web) == {
        "duplicate_threshold": 12,
        "review_confidence": 0.75,
        "output_dir": str(tmp_path / "archive"),
        "timezone": "America/New_York",
        "move": True,
    }


def test_a_new_threshold_regroups(web: Web) -> None:
    assert save(web, duplicate_threshold=14).json["regrouping"] is True
    assert ("mediafix.group_duplicates", ()) in web.pending()
    assert save(web, duplicate_threshold=14).json["regrouping"] is False
    assert len(web.pending()) == 1


def test_the_new_zone_reads_typed_dates(web: Web) -> None:
    save(web, timezone="Asia/Tokyo")
    file_id = web.add_file(status="review")
    record = web.client.post(
        f"/review/timestamps/{file_id}", json={"taken_at": "2020-01-01 10:00"}, headers=SCRIPT
    ).json
    assert record["utc_offset"] == "+09:00"


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"duplicate_threshold": 99}, "between 0 and 32"),
        ({"duplicate_threshold": "many"}, "whole number"),
        ({"review_confidence": 1.5}, "between 0 and 1"),
        ({"review_confidence": "high"}, "number from 0 to 1"),
        ({"output_dir": "relative/folder"}, "absolute"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"timezone": "../../etc/passwd"}, "unknown time zone"),
        ({"move": "sometimes"}, "move must be"),
        ({"colour": "blue"}, "unknown setting"),
    ],
)
def test_bad_values_are_400_and_change_nothing(
    web: Web, values: dict[str, Any], words: str
) -> None:
    response = save(web, **values)
    assert response.status_code == 400
    assert words in response.json["error"]
    assert stored(web) == {}


def test_output_dir_must_not_be_a_file_or_the_data_folder(web: Web, tmp_path: Path) -> None:
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert save(web, output_dir=str(afile)).status_code == 400
    inside = save(web, output_dir=str(web.settings.data_dir / "out"))
    assert inside.status_code == 400 and "data folder" in inside.json["error"]


def test_page_form_saves_and_says_so(web: Web) -> None:
    response = web.client.post(
        "/settings",
        data={"timezone": "Europe/Paris", "move": "false", "csrf_token": web.csrf()},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Settings saved." in html and 'value="Europe/Paris"' in html
    assert stored(web)["timezone"] == "Europe/Paris"
    assert 'list="zones"' in html and "Pacific/Auckland" in html


def test_the_whole_form_with_a_bad_zone_says_so_beside_the_field(web: Web) -> None:
    """The page posts every field as text: a wrong zone was a 500 (the threshold came back
    as the string "8"), now the form again with the message at the zone (issue 21)."""
    form = {
        "duplicate_threshold": "9",
        "review_confidence": "0.55",
        "output_dir": str(web.settings.output_dir),
        "timezone": "Europe/Berlim",
        "move": "false",
        "csrf_token": web.csrf(),
    }
    response = web.client.post("/settings", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="timezone-error"' in html and "unknown time zone &#39;Europe/Berlim&#39;" in html
    assert 'value="Europe/Berlim"' in html and 'value="9"' in html and "55 %" in html
    response = web.client.post("/settings", data={**form, "duplicate_threshold": "many"})
    assert response.status_code == 400 and 'id="duplicate_threshold-error"' in response.text
    assert "10 is a good start" not in html and "the default, 8," in html


def test_malformed_json_is_400(web: Web) -> None:
    response = web.client.post(
        "/settings", data="{'a': 1}", content_type="application/json", headers=SCRIPT
    )
    assert response.status_code == 400
    not_object = web.client.post("/settings", json=[1, 2], headers=SCRIPT)
    assert not_object.status_code == 400 and "object" in not_object.json["error"]


def test_hostile_values_are_400_not_500(web: Web, tmp_path: Path) -> None:
    """Found probing the API (issue #8): ZoneInfo raises OSError for a folder ("Europe") or
    a name too long, and Path.exists() raises for a path too long."""
    for zone in ("Europe", "a" * 300):
        response = save(web, timezone=zone)
        assert response.status_code == 400 and "unknown time zone" in response.json["error"]
    too_long = save(web, output_dir=str(tmp_path / ("a" * 300)))
    assert too_long.status_code == 400 and "too long" in too_long.json["error"]
    assert stored(web) == {}


@pytest.fixture
def unset_zone(settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No MEDIAFIX_TIMEZONE, no TZ, and a machine whose files say what the test writes."""
    from mediafix import homezone

    monkeypatch.setenv("MEDIAFIX_TIMEZONE", "")  # what compose passes when it is unset
    monkeypatch.delenv("TZ", raising=False)
    zone_file = tmp_path / "timezone"
    monkeypatch.setattr(homezone, "TIMEZONE_FILE", str(zone_file))
    monkeypatch.setattr(homezone, "LOCALTIME_LINK", str(tmp_path / "no-localtime"))
    return zone_file


def test_a_servers_utc_is_never_silent_the_pages_ask(unset_zone: Path) -> None:
    unset_zone.write_text("Etc/UTC\n")  # a container, a fresh server
    with web_app() as web:
        assert web.settings.timezone == "Etc/UTC" and not web.settings.timezone_known
        data = web.get_json("/settings").json
        assert data["timezone"] == {
            "zone": "Etc/UTC",
            "confirmed": False,
            "origin": "/etc/timezone",
        }
        home = web.client.get("/").get_data(as_text=True)
        assert "Which time zone do you live in?" in home and "data-browser-zone" in home
        assert web.get_json("/").json["timezone"]["confirmed"] is False
        # The browser's zone, confirmed by a click: saved like the form, dates re-computed.
        response = web.client.post(
            "/settings",
            data={"timezone": "Europe/Lisbon", "csrf_token": web.csrf()},
            follow_redirects=True,
        )
        assert "Dates are being re-computed" in response.get_data(as_text=True)
        assert any(name == "mediafix.redate" for name, _ in web.pending())
        assert web.get_json("/settings").json["timezone"] == {
            "zone": "Europe/Lisbon",
            "confirmed": True,
            "origin": "page",
        }
        assert "Which time zone do you live in?" not in web.client.get("/").get_data(as_text=True)


def test_a_machine_set_to_a_real_zone_is_not_asked(unset_zone: Path) -> None:
    unset_zone.write_text("Europe/Vienna\n")
    with web_app() as web:
        assert web.settings.timezone == "Europe/Vienna" and web.settings.timezone_known
        assert web.get_json("/settings").json["timezone"]["confirmed"] is True
        assert "Which time zone" not in web.client.get("/").get_data(as_text=True)


def test_a_review_change_redates_a_threshold_left_alone_does_not(web: Web) -> None:
    assert save(web, review_confidence=0.7).json["redating"]
    assert save(web, review_confidence=0.7).json["redating"] is None
    assert save(web, duplicate_threshold=3).json["redating"] is None
