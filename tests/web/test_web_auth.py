"""Login with MEDIAFIX_PASSWORD, HTTP Basic for scripts, and CSRF on every state change."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import TestResponse

from tests.helpers.web import JSON, Web, web_app

PASSWORD = "correct horse"


@pytest.fixture
def web(settings_env: Path) -> Iterator[Web]:
    with web_app() as w:
        yield w


@pytest.fixture
def locked(settings_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Web]:
    monkeypatch.setenv("MEDIAFIX_PASSWORD", PASSWORD)
    with web_app() as w:
        yield w


def login_token(web: Web) -> str:
    html = web.client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def log_in(web: Web, password: str = PASSWORD, next_url: str = "/") -> TestResponse:
    token = login_token(web)
    return web.client.post(
        "/login", data={"password": password, "csrf_token": token, "next": next_url}
    )


def basic(password: str) -> dict[str, str]:
    raw = base64.b64encode(f"script:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


# -- login -----------------------------------------------------------------------------


def test_pages_redirect_to_login_and_apis_answer_401(locked: Web) -> None:
    page = locked.client.get("/library?year=2019")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login?next=/library")
    api = locked.get_json("/jobs")
    assert api.status_code == 401
    assert "login required" in api.json["error"]
    post = locked.client.post("/imports", json={"path": "/x"})
    assert post.status_code == 401


def test_open_endpoints_need_no_login(locked: Web) -> None:
    assert locked.client.get("/healthz").status_code == 200
    assert locked.client.get("/static/app.css").status_code == 200
    assert locked.client.get("/login").status_code == 200


def test_wrong_password_is_refused_with_a_message(locked: Web) -> None:
    response = log_in(locked, "wrong")
    assert response.status_code == 401
    assert "not the password" in response.get_data(as_text=True)
    assert locked.get_json("/jobs").status_code == 401


def test_login_opens_every_page_with_a_safe_cookie(locked: Web) -> None:
    response = log_in(locked, next_url="/library")
    assert response.status_code == 302
    assert response.headers["Location"] == "/library"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert locked.client.get("/library").status_code == 200
    assert locked.get_json("/jobs").status_code == 200


def test_login_never_redirects_to_another_site(locked: Web) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = log_in(locked, next_url=target)
        assert response.headers["Location"] == "/"


def test_json_login_returns_the_csrf_token(locked: Web) -> None:
    response = locked.client.post(
        "/login", json={"password": PASSWORD}, headers={"X-Requested-With": "script"}
    )
    assert response.status_code == 200
    token = response.json["csrf_token"]
    saved = locked.client.post(
        "/settings", json={"timezone": "Europe/Paris"}, headers={"X-CSRF-Token": token}
    )
    assert saved.status_code == 200


def test_http_basic_for_scripts(locked: Web) -> None:
    assert locked.get_json("/jobs").status_code == 401
    ok = locked.client.get("/jobs", headers={**JSON, **basic(PASSWORD)})
    assert ok.status_code == 200
    wrong = locked.client.get("/jobs", headers={**JSON, **basic("nope")})
    assert wrong.status_code == 401


def test_too_many_wrong_passwords_are_slowed_down(locked: Web) -> None:
    for _ in range(10):
        log_in(locked, "wrong")
    response = log_in(locked, PASSWORD)
    assert response.status_code == 429


def test_logout_ends_the_session(locked: Web) -> None:
    log_in(locked)
    token = login_token(locked)
    out = locked.client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302
    assert locked.get_json("/jobs").status_code == 401


def test_a_new_password_logs_everyone_out(locked: Web) -> None:
    log_in(locked)
    assert locked.get_json("/jobs").status_code == 200
    locked.app.config["MEDIAFIX_PASSWORD"] = "another one"
    assert locked.get_json("/jobs").status_code == 401


def test_login_page_without_a_password_goes_home(web: Web) -> None:
    response = web.client.get("/login?next=/library")
    assert response.status_code == 302
    assert response.headers["Location"] == "/library"


# -- CSRF ------------------------------------------------------------------------------


def test_a_form_without_token_is_refused(web: Web) -> None:
    response = web.client.post("/settings", data={"timezone": "Europe/Paris"})
    assert response.status_code == 403
    assert "CSRF" in response.get_data(as_text=True)
    api = web.client.post("/settings", data={"timezone": "Europe/Paris"}, headers=JSON)
    assert api.status_code == 403
    assert "missing CSRF token" in api.json["error"]


def test_a_wrong_token_is_refused_even_from_a_script(web: Web) -> None:
    web.csrf()
    for headers in (
        {"X-CSRF-Token": "forged"},
        {"X-CSRF-Token": "forged", "X-Requested-With": "script"},
    ):
        response = web.client.post("/settings", json={"move": True}, headers=headers)
        assert response.status_code == 403
        assert "invalid CSRF token" in response.json["error"]
    form = web.client.post("/settings", data={"move": "true", "csrf_token": "forged"})
    assert form.status_code == 403


def test_the_page_token_works_in_a_form_and_a_header(web: Web) -> None:
    token = web.csrf()
    form = web.client.post("/settings", data={"move": "true", "csrf_token": token})
    assert form.status_code == 302
    header = web.client.post("/settings", json={"move": False}, headers={"X-CSRF-Token": token})
    assert header.status_code == 200


def test_a_script_header_replaces_the_token(web: Web) -> None:
    response = web.client.post(
        "/settings", json={"move": True}, headers={"X-Requested-With": "curl"}
    )
    assert response.status_code == 200
    assert response.json["settings"]["move"] is True


def test_json_alone_is_not_enough(web: Web) -> None:
    response = web.client.post("/settings", json={"move": True})
    assert response.status_code == 403


def test_uploads_take_the_token_from_the_header_only(web: Web) -> None:
    from io import BytesIO

    token = web.csrf()
    body = {"csrf_token": token, "files": (BytesIO(b"x"), "a.jpg")}
    refused = web.client.post("/upload", data=body, content_type="multipart/form-data")
    assert refused.status_code == 403
    assert not list((web.settings.data_dir / "uploads").rglob("a.jpg"))
