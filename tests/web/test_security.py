"""Attacks on the web app and the command line, one test each, named for the attack (issue 15).

Promise: *the server serves only the library and writes only the archive*. Every test goes
through a real door - the Flask test client on the real app (``create_app`` on a temp data
folder), or the ``mediafix`` command - on files a real scan recorded where a file's identity
matters. ``ATTACKS`` lists them with what the attack did before issue 15 and what it does
now; ``docs/reliability.md`` renders that list (``tests/unit/test_reliability_doc.py`` keeps the
two in step), and ``test_every_attack_has_its_test`` keeps the list and the tests in step.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.services import library
from mediafix.store import settings as settingsrows
from mediafix.store.db import dispose_engines
from mediafix.store.models import File
from mediafix.web import create_app
from tests.helpers.media import make_jpeg
from tests.helpers.web import JSON, SCRIPT, Web, web_app

PASSWORD = "correct horse battery"
SECRET = b"TOP-SECRET: the server's own file, never to be served"


@dataclass(frozen=True)
class Attack:
    """One attack: its test, what was tried, what happened before issue 15, what happens now."""

    test: str
    attack: str
    before: str
    now: str
    worked: bool = True  # False: the server already held, or the door did not exist


ATTACKS: tuple[Attack, ...] = (
    # -- 1. library files ----------------------------------------------------------------
    Attack(
        "test_symlink_out_of_the_import_root_is_not_served",
        "`ln -s /etc/shadow root/x.jpg`, import, `GET /files/<id>/original`",
        "200: the link's target was served (the row was an error row)",
        "403: error rows and non-media rows are never served",
    ),
    Attack(
        "test_library_file_swapped_for_a_symlink_is_not_served",
        "after the import: `mv a.jpg b; ln -s /etc/passwd a.jpg`",
        "200: the target was served",
        "403: the real path leads outside the folder it was imported from",
    ),
    Attack(
        "test_library_folder_swapped_for_a_symlink_is_not_followed",
        "after the import: the photo's folder replaced by a link to a folder outside",
        "200: the file outside was served",
        "403: the real path leads outside the folder it was imported from",
    ),
    Attack(
        "test_library_file_replaced_after_the_scan_is_409",
        "after the import: other bytes written under the scanned name",
        "200: the new bytes were served",
        "409 \u201cthe file changed since it was scanned\u201d (size or mtime not the row's)",
    ),
    Attack(
        "test_fifo_in_place_of_a_library_file_does_not_hang",
        "after the import: the photo replaced by a FIFO",
        "404 (held)",
        "403 \u201cnot a regular file\u201d, opened without blocking",
        worked=False,
    ),
    Attack(
        "test_non_media_file_in_an_import_root_is_not_served",
        "a key file (`id_rsa`) inside an import root, imported, then fetched by id",
        "200: served",
        "403: only photos and videos are served",
    ),
    Attack(
        "test_html_polyglot_is_served_as_its_real_type_in_a_sandbox",
        "a JPEG named `x.html` (an HTML/JPEG polyglot), opened as the original",
        "200 `text/html` from the app's own origin",
        "200 with the type of its content (`image/jpeg`) and `Content-Security-Policy: sandbox`",
    ),
    Attack(
        "test_thumbnail_of_a_swapped_file_is_not_made",
        "after the import: the photo swapped for a link to a private photo outside; thumbnails",
        "the private photo's thumbnail was made and served",
        "no thumbnail (the same opening rule as the original); the placeholder is served",
    ),
    # -- 2. the output folder ------------------------------------------------------------
    Attack(
        "test_output_dir_slash_is_refused_and_the_system_stays_unread",
        '`POST /settings {"output_dir": "/"}`, then `/output/file?path=etc/passwd`',
        "200 twice: the setting was saved and `/etc/passwd` served",
        "400 naming the field; `/etc/passwd` is not served",
    ),
    Attack(
        "test_output_dir_system_folders_are_refused",
        "`output_dir` `/etc`, `/usr/share`, `/var/lib/x`, `/proc`, `/boot`",
        "200: saved",
        "400 \u201ca system folder\u201d",
    ),
    Attack(
        "test_output_dir_holding_the_home_folder_is_refused",
        "`output_dir` the server user's home folder (SSH keys, shell history)",
        "200: saved, and browsable",
        "400",
    ),
    Attack(
        "test_output_dir_in_or_around_an_import_root_is_refused",
        "`output_dir` inside / containing `MEDIAFIX_IMPORT_ROOTS` or a scanned library folder",
        "200: saved; the archive would be written among the sources",
        "400 naming the source folder",
    ),
    Attack(
        "test_output_dir_around_the_data_folder_is_refused",
        "`output_dir` a folder that contains `DATA_DIR` (database, uploads, secret key)",
        "200: saved",
        "400 \u201cmediafix's data folder\u201d (inside it was already refused)",
    ),
    Attack(
        "test_output_dir_that_cannot_be_created_is_refused",
        "`output_dir` below a regular file",
        "200: saved; the apply failed later",
        "400 \u201ccannot be created\u201d",
    ),
    Attack(
        "test_output_dir_outside_output_roots_is_refused",
        "with `MEDIAFIX_OUTPUT_ROOTS` set, `output_dir` elsewhere",
        "(no such setting)",
        "400 naming the allowed folders",
        worked=False,
    ),
    Attack(
        "test_output_dir_error_is_shown_next_to_the_field",
        "the Settings form posted with `/`",
        "302: saved",
        "400: the Settings page with the message beside the field",
    ),
    Attack(
        "test_stored_bad_output_dir_does_not_open_the_system",
        "`output_dir` `/` stored by an older version, then browse, file and apply",
        "200: the system browsed and served; apply queued",
        "409 \u201cchoose another in Settings\u201d for browse, file and apply",
    ),
    Attack(
        "test_output_file_hidden_and_non_media_files_are_not_served",
        "`/output/file?path=.ssh/id_rsa`, `notes.txt`, a `.json` beside a photo",
        "200: served",
        "404: only photos and videos outside hidden folders are served",
    ),
    Attack(
        "test_output_file_symlink_out_of_the_output_is_refused",
        "a link in the output folder to a file outside",
        "403 (held)",
        "403",
        worked=False,
    ),
    Attack(
        "test_env_output_dir_slash_is_refused_at_startup",
        "`MEDIAFIX_OUTPUT_DIR=/ mediafix plan`",
        "0: planned into `/`",
        "exit 2, one line naming `MEDIAFIX_OUTPUT_DIR`",
    ),
    Attack(
        "test_cli_apply_into_an_import_root_is_refused",
        "`mediafix apply PHOTOS/archive` after `mediafix scan PHOTOS`",
        "0: the archive was written inside the source folder",
        "exit 2, one line; nothing written",
    ),
    Attack(
        "test_cli_plan_into_a_system_folder_is_refused",
        "`mediafix plan /etc`",
        "0",
        "exit 2, one line",
    ),
    # -- 3. DNS rebinding ----------------------------------------------------------------
    Attack(
        "test_dns_rebinding_host_is_refused_before_any_view",
        "`Host: evil.example` (a page whose name resolves to 127.0.0.1) changing a setting",
        "200: the setting was changed",
        "400 plain page naming `MEDIAFIX_ALLOWED_HOSTS`; nothing changed",
    ),
    Attack(
        "test_allowed_hosts_and_the_bound_name_are_accepted",
        "the names a server is really reached by: localhost, IP addresses, `--host`, "
        "`MEDIAFIX_ALLOWED_HOSTS`",
        "200 (no check)",
        "200",
        worked=False,
    ),
    # -- 4. logout -----------------------------------------------------------------------
    Attack(
        "test_cookie_replayed_after_logout_is_refused",
        "a session cookie copied before `POST /logout`, replayed after it",
        "200 for 30 days",
        "401: the session is revoked on the server",
    ),
    Attack(
        "test_log_out_everywhere_revokes_every_session",
        "a second browser's session after \u201clog out everywhere\u201d in Settings",
        "(no such button)",
        "401",
        worked=False,
    ),
    # -- 5. lockout ----------------------------------------------------------------------
    Attack(
        "test_lockout_never_denies_the_owner_for_long",
        "wrong passwords from the owner's address, then the right one",
        "429 for ten minutes after ten wrong ones, even for the right password",
        "a growing delay (at most a minute) after the fifth; the right password is "
        "accepted once it has passed",
    ),
    Attack(
        "test_429_says_when_to_try_again",
        "a login during the delay (form, JSON and HTTP Basic)",
        "429 \u201cwait ten minutes\u201d, no `Retry-After`",
        "429 with `Retry-After` and the seconds in the message",
    ),
    # -- 6. the data folder --------------------------------------------------------------
    Attack(
        "test_unwritable_data_dir_cli_is_one_line_exit_2",
        "`MEDIAFIX_DATA_DIR` that cannot be written, `mediafix scan`",
        "a Python traceback",
        "exit 2, one line naming the folder and what to do",
    ),
    Attack(
        "test_unwritable_data_dir_web_is_a_503_page",
        "the web app (WSGI) started on a data folder that cannot be written",
        "a traceback; no app",
        "503 on every page, naming the folder",
    ),
    # -- also reviewed -------------------------------------------------------------------
    Attack(
        "test_import_of_the_data_folder_is_refused",
        "`POST /imports` of `DATA_DIR` (or `DATA_DIR/uploads`) when an import root holds it",
        "202: mediafix's own files imported",
        "403",
    ),
    Attack(
        "test_import_roots_slash_is_refused_at_startup",
        "`MEDIAFIX_IMPORT_ROOTS=/` (the web page could import `/etc`)",
        "accepted",
        "exit 2, one line naming `MEDIAFIX_IMPORT_ROOTS`",
    ),
    Attack(
        "test_upload_names_cannot_leave_the_upload_folder",
        "an upload named `../../../../x/evil.jpg`",
        "held: stored inside the upload as `x/evil.jpg`",
        "held",
        worked=False,
    ),
    Attack(
        "test_sidecar_swapped_for_a_symlink_is_not_copied_into_the_archive",
        "after the scan: a photo's `IMG_1.jpg.json` replaced by `ln -s /etc/shadow`, or by a "
        "FIFO; `mediafix apply`, also `--move`",
        "the link's target was copied into the archive beside the photo (a FIFO hung apply)",
        "the photo is written, the sidecar left out with a note saying why; nothing of the "
        "target is written or moved",
    ),
    Attack(
        "test_output_job_checks_the_output_folder_again_when_it_runs",
        "queue an output job, then point the output folder at the photos' own folder "
        "(stored, as an older version allowed) before a worker runs it",
        "the archive was written among the sources",
        "the job fails with one line “the output folder cannot be used”; nothing written",
    ),
    Attack(
        "test_undo_after_the_output_folder_changed_touches_only_the_old_archive",
        "apply to A, change the output folder to B (holding copies), `POST /output/undo`",
        "held: only A's journaled files removed",
        "held",
        worked=False,
    ),
)


# -- fixtures and helpers --------------------------------------------------------------


@pytest.fixture(autouse=True)
def _reset_engines() -> Iterator[None]:
    yield
    dispose_engines()


@pytest.fixture
def web(settings_env: Path) -> Iterator[Web]:
    with web_app() as w:
        yield w


@pytest.fixture
def locked(settings_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Web]:
    monkeypatch.setenv("MEDIAFIX_PASSWORD", PASSWORD)
    with web_app() as w:
        yield w


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside every folder mediafix was given."""
    path = tmp_path / "elsewhere" / "secret.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(SECRET)
    return path


def scan(web: Web, root: Path) -> dict[str, int]:
    """A real scan of ``root`` into the app's library: file name -> row id."""
    library.scan([str(root)], web.settings, web.engine, workers=1)
    with web.session() as s:
        return {Path(f.path).name: f.id for f in s.scalars(select(File))}


def row(web: Web, file_id: int) -> File:
    with web.session() as s:
        found = s.get(File, file_id)
        assert found is not None
        return found


def original(web: Web, file_id: int) -> Any:
    return web.client.get(f"/files/{file_id}/original")


def save(web: Web, **values: Any) -> Any:
    return web.client.post("/settings", json=values, headers=SCRIPT)


def stored(web: Web) -> dict[str, Any]:
    with web.session() as s:
        return settingsrows.stored_settings(s)


def cli(*args: str) -> Any:
    get_settings.cache_clear()
    return CliRunner().invoke(main, list(args))


def one_line_error(result: Any) -> str:
    """The CLI's error: exit 2 and exactly one line, no traceback."""
    text = result.output.strip()
    assert result.exit_code == 2, (result.exit_code, text, result.exception)
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    return text


def login(web: Web, password: str = PASSWORD) -> Any:
    return web.client.post("/login", json={"password": password}, headers=SCRIPT)


# -- 1. library files ------------------------------------------------------------------


def test_symlink_out_of_the_import_root_is_not_served(web: Web, tmp_path: Path, secret: Path):
    root = tmp_path / "photos"
    make_jpeg(root / "a.jpg", 1)
    (root / "x.jpg").symlink_to(secret)
    (root / "shadow.jpg").symlink_to("/etc/passwd")
    ids = scan(web, root)
    assert row(web, ids["x.jpg"]).status == "error"  # the import saw it
    for name in ("x.jpg", "shadow.jpg"):
        response = original(web, ids[name])
        assert response.status_code == 403, name
        assert SECRET not in response.data and b"root:" not in response.data
    assert original(web, ids["a.jpg"]).status_code == 200


def test_library_file_swapped_for_a_symlink_is_not_served(web: Web, tmp_path: Path, secret):
    root = tmp_path / "photos"
    photo = make_jpeg(root / "trip" / "a.jpg", 1)
    ids = scan(web, root)
    assert original(web, ids["a.jpg"]).data == photo.read_bytes()
    photo.rename(root / "trip" / "b")
    photo.symlink_to(secret)
    response = original(web, ids["a.jpg"])
    assert response.status_code == 403
    assert SECRET not in response.data
    assert "outside the folder it was imported from" in response.get_data(as_text=True)
    photo.unlink()
    photo.symlink_to("/etc/passwd")
    assert b"root:" not in original(web, ids["a.jpg"]).data


def test_library_folder_swapped_for_a_symlink_is_not_followed(web: Web, tmp_path: Path):
    root = tmp_path / "photos"
    photo = make_jpeg(root / "trip" / "a.jpg", 1)
    ids = scan(web, root)
    outside = tmp_path / "private"
    outside.mkdir()
    shutil.copy2(photo, outside / "a.jpg")  # the very same size and mtime
    private = photo.read_bytes()[:-16] + b"PRIVATE-MARKER!\xd9"  # unlike any page's bytes
    (outside / "a.jpg").write_bytes(private)
    os.utime(outside / "a.jpg", ns=(photo.stat().st_atime_ns, photo.stat().st_mtime_ns))
    (root / "trip").rename(root / "trip-moved")
    (root / "trip").symlink_to(outside)
    response = original(web, ids["a.jpg"])
    assert response.status_code == 403
    assert b"PRIVATE-MARKER!" not in response.data


def test_library_file_replaced_after_the_scan_is_409(web: Web, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    photo = make_jpeg(root / "a.jpg", 1)
    ids = scan(web, root)
    make_jpeg(tmp_path / "other.jpg", 2).replace(photo)
    response = web.get_json(f"/files/{ids['a.jpg']}/original")
    assert response.status_code == 409
    assert "the file changed since it was scanned" in response.json["error"]


def test_fifo_in_place_of_a_library_file_does_not_hang(web: Web, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    photo = make_jpeg(root / "a.jpg", 1)
    ids = scan(web, root)
    photo.unlink()
    os.mkfifo(photo)
    started = time.monotonic()
    response = web.get_json(f"/files/{ids['a.jpg']}/original")
    assert time.monotonic() - started < 5
    assert response.status_code in (403, 404)
    assert response.status_code == 403 and "not a regular file" in response.json["error"]


def test_non_media_file_in_an_import_root_is_not_served(web: Web, tmp_path: Path) -> None:
    root = tmp_path / "home"
    make_jpeg(root / "Pictures" / "a.jpg", 1)
    (root / ".ssh").mkdir()
    (root / ".ssh" / "id_rsa").write_bytes(SECRET)
    (root / "notes.txt").write_bytes(SECRET)
    ids = scan(web, root)
    for name in ("id_rsa", "notes.txt"):
        response = web.get_json(f"/files/{ids[name]}/original")
        assert response.status_code == 403, name
        assert SECRET not in response.data
        assert "only photos and videos" in response.json["error"]


def test_html_polyglot_is_served_as_its_real_type_in_a_sandbox(web: Web, tmp_path: Path):
    root = tmp_path / "photos"
    make_jpeg(root / "x.jpg", 1).rename(root / "x.html")
    ids = scan(web, root)
    assert row(web, ids["x.html"]).kind == "image"
    response = original(web, ids["x.html"])
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_thumbnail_of_a_swapped_file_is_not_made(web: Web, tmp_path: Path) -> None:
    from mediafix.services.thumbnails import build_missing, thumb_path

    root = tmp_path / "photos"
    photo = make_jpeg(root / "a.jpg", 1)
    ids = scan(web, root)
    private = make_jpeg(tmp_path / "private" / "secret-face.jpg", 7)
    photo.unlink()
    photo.symlink_to(private)
    build_missing(web.engine, web.settings)
    sha = row(web, ids["a.jpg"]).sha256
    assert sha is not None
    assert not thumb_path(web.settings, sha).exists()
    response = web.client.get(f"/thumbs/{ids['a.jpg']}")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    photo.unlink()
    photo.symlink_to("trip-moved-back.jpg")  # a dangling link: still nothing, no crash
    build_missing(web.engine, web.settings)


# -- 2. the output folder --------------------------------------------------------------


def test_output_dir_slash_is_refused_and_the_system_stays_unread(web: Web) -> None:
    response = save(web, output_dir="/")
    assert response.status_code == 400
    assert response.json["field"] == "output_dir"
    assert "output_dir" in response.json["error"]
    assert stored(web) == {}
    served = web.get_json("/output/file?path=etc/passwd")
    assert served.status_code == 404 and b"root:" not in served.data
    assert web.get_json("/output/browse?path=etc").status_code == 404


@pytest.mark.parametrize("folder", ["/etc", "/usr/share/x", "/var/lib/x", "/proc", "/boot"])
def test_output_dir_system_folders_are_refused(web: Web, folder: str) -> None:
    response = save(web, output_dir=folder)
    assert response.status_code == 400
    assert "system folder" in response.json["error"]
    assert stored(web) == {}


def test_output_dir_holding_the_home_folder_is_refused(
    web: Web, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home" / "anna"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    for folder in (home, home.parent):
        response = save(web, output_dir=str(folder))
        assert response.status_code == 400, folder
        assert "home folder" in response.json["error"]
    assert save(web, output_dir=str(home / "Pictures" / "archive")).status_code == 200


def test_output_dir_in_or_around_an_import_root_is_refused(
    settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = tmp_path / "photos"
    configured.mkdir()
    monkeypatch.setenv("MEDIAFIX_IMPORT_ROOTS", str(configured))
    with web_app() as web:
        scanned = tmp_path / "disks" / "old-phone"
        make_jpeg(scanned / "DCIM" / "a.jpg", 1)
        scan(web, scanned)
        before = stored(web)  # what the library keeps there itself (it may owe a regroup)
        assert "output_dir" not in before
        for folder in (configured / "archive", scanned.parent, scanned / "DCIM" / "out", scanned):
            response = save(web, output_dir=str(folder))
            assert response.status_code == 400, folder
            assert "source" in response.json["error"], response.json
        assert stored(web) == before  # a refused folder stores nothing
        assert save(web, output_dir=str(tmp_path / "archive")).status_code == 200


def test_output_dir_around_the_data_folder_is_refused(web: Web) -> None:
    response = save(web, output_dir=str(web.settings.data_dir.parent))
    assert response.status_code == 400
    assert "mediafix's data folder" in response.json["error"]
    inside = save(web, output_dir=str(web.settings.data_dir / "uploads" / "x"))
    assert inside.status_code == 400


def test_output_dir_that_cannot_be_created_is_refused(web: Web, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    response = save(web, output_dir=str(tmp_path / "a-file" / "archive"))
    assert response.status_code == 400
    assert "cannot be created" in response.json["error"]
    assert stored(web) == {}


def test_output_dir_outside_output_roots_is_refused(
    settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = tmp_path / "archives"
    monkeypatch.setenv("MEDIAFIX_OUTPUT_ROOTS", str(allowed))
    with web_app() as web:
        response = save(web, output_dir=str(tmp_path / "elsewhere"))
        assert response.status_code == 400
        assert "MEDIAFIX_OUTPUT_ROOTS" in response.json["error"]
        assert str(allowed) in response.json["error"]
        assert save(web, output_dir=str(allowed / "family")).status_code == 200


def test_output_dir_error_is_shown_next_to_the_field(web: Web) -> None:
    response = web.client.post(
        "/settings", data={"output_dir": "/", "timezone": "Europe/Paris", "csrf_token": web.csrf()}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    field = html.index('id="output_dir"')
    message = html.index('id="output_dir-error"')
    assert 0 < message - field < 600, "the message is not beside the field"
    assert 'aria-describedby="output_dir-error"' in html
    assert 'value="/"' in html  # what was typed stays, to be corrected
    assert stored(web) == {}


def test_stored_bad_output_dir_does_not_open_the_system(web: Web) -> None:
    with web.session() as s:
        settingsrows.set_setting(s, "output_dir", "/")  # as an older version let it be saved
    for url in ("/output/browse?path=etc", "/output/file?path=etc/passwd", "/output/browse"):
        response = web.get_json(url)
        assert response.status_code == 409, url
        assert "choose another in Settings" in response.json["error"]
        assert b"root:" not in response.data
    applied = web.client.post("/output/apply", json={}, headers=SCRIPT)
    assert applied.status_code == 409
    assert web.pending() == []


def test_output_file_hidden_and_non_media_files_are_not_served(web: Web) -> None:
    out = web.settings.output_dir
    (out / ".ssh").mkdir(parents=True)
    (out / ".ssh" / "id_rsa").write_bytes(SECRET)
    (out / "notes.txt").write_bytes(SECRET)
    (out / "2019").mkdir()
    make_jpeg(out / "2019" / "20190101_000000.jpg", 1)
    (out / "2019" / "20190101_000000.jpg.json").write_bytes(SECRET)
    for rel in (".ssh/id_rsa", "notes.txt", "2019/20190101_000000.jpg.json", "2019/../notes.txt"):
        response = web.get_json(f"/output/file?path={rel}")
        assert response.status_code == 404, rel
        assert SECRET not in response.data
    assert web.get_json("/output/browse?path=.ssh").status_code == 404
    photo = web.client.get("/output/file?path=2019/20190101_000000.jpg")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert "sandbox" in photo.headers["Content-Security-Policy"]


def test_output_file_symlink_out_of_the_output_is_refused(web: Web, secret: Path) -> None:
    out = web.settings.output_dir
    (out / "2019").mkdir(parents=True)
    (out / "2019" / "20190101_000000.jpg").symlink_to(secret)
    (out / "2020").symlink_to(secret.parent)
    for rel in ("2019/20190101_000000.jpg", "2020/secret.txt"):
        response = web.get_json(f"/output/file?path={rel}")
        assert response.status_code in (403, 404), rel
        assert SECRET not in response.data


def test_env_output_dir_slash_is_refused_at_startup(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAFIX_OUTPUT_DIR", "/")
    text = one_line_error(cli("plan"))
    assert "MEDIAFIX_OUTPUT_DIR" in text


def test_cli_apply_into_an_import_root_is_refused(settings_env: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_jpeg(photos / "a.jpg", 1, DateTimeOriginal="2019:09:19 05:38:57")
    assert cli("scan", "-w", "1", str(photos)).exit_code == 0
    before = sorted(p.name for p in photos.rglob("*"))
    text = one_line_error(cli("apply", str(photos / "archive")))
    assert str(photos) in text
    assert sorted(p.name for p in photos.rglob("*")) == before
    plan = one_line_error(cli("plan", str(photos)))
    assert "source" in plan


def test_cli_plan_into_a_system_folder_is_refused(settings_env: Path) -> None:
    assert "system folder" in one_line_error(cli("plan", "/etc"))
    assert "system folder" in one_line_error(cli("apply", "/usr/lib/x"))


# -- 3. DNS rebinding ------------------------------------------------------------------


def test_dns_rebinding_host_is_refused_before_any_view(web: Web) -> None:
    evil = {"Host": "evil.example:8000", "X-Requested-With": "rebinding"}
    response = web.client.post("/settings", json={"move": True}, headers=evil)
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert "MEDIAFIX_ALLOWED_HOSTS" in response.get_data(as_text=True)
    assert stored(web) == {}
    for url in ("/", "/settings", "/login", "/static/app.css", "/output/browse", "/nowhere"):
        assert web.client.get(url, headers={"Host": "evil.example"}).status_code == 400, url


def test_allowed_hosts_and_the_bound_name_are_accepted(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAFIX_ALLOWED_HOSTS", "photos.example.org, .family.example")
    with web_app(MEDIAFIX_BOUND_HOST="nas.lan") as web:
        for host in (
            "localhost",
            "localhost:8000",
            "127.0.0.1:8000",
            "[::1]:8000",
            "192.168.1.20:8000",
            "nas.lan:8000",
            "photos.example.org",
            "PHOTOS.EXAMPLE.ORG.",
            "pics.family.example",
        ):
            assert web.client.get("/healthz", headers={"Host": host}).status_code == 200, host
        for host in ("evil.example", "photos.example.org.evil.example", "nas.lan.evil", ""):
            assert web.client.get("/healthz", headers={"Host": host}).status_code == 400, host


# -- 4. logout -------------------------------------------------------------------------


def test_cookie_replayed_after_logout_is_refused(locked: Web) -> None:
    assert login(locked).status_code == 200
    cookie = locked.client.get_cookie("mediafix_session")
    assert cookie is not None
    assert locked.get_json("/jobs").status_code == 200
    assert locked.client.post("/logout", headers=SCRIPT).status_code == 200
    thief = locked.app.test_client()
    thief.set_cookie("mediafix_session", cookie.value)
    replay = thief.get("/jobs", headers=JSON)
    assert replay.status_code == 401
    assert thief.get("/library").status_code == 302  # to the login page


def test_log_out_everywhere_revokes_every_session(locked: Web) -> None:
    phone = locked.app.test_client()
    assert phone.post("/login", json={"password": PASSWORD}, headers=SCRIPT).status_code == 200
    assert login(locked).status_code == 200
    page = locked.client.get("/settings").get_data(as_text=True)
    assert "Log out everywhere" in page
    out = locked.client.post("/logout", json={"everywhere": True}, headers=SCRIPT)
    assert out.status_code == 200
    assert phone.get("/jobs", headers=JSON).status_code == 401
    assert locked.get_json("/jobs").status_code == 401
    assert login(locked).status_code == 200  # logging in again works
    assert locked.get_json("/jobs").status_code == 200


# -- 5. lockout ------------------------------------------------------------------------


def slowed_down(web: Web) -> Any:
    """Wrong passwords until the server makes this address wait; its 429."""
    for _ in range(30):
        response = login(web, "wrong")
        if response.status_code == 429:
            return response
        assert response.status_code == 401
    raise AssertionError("thirty wrong passwords and no delay")


def test_lockout_never_denies_the_owner_for_long(locked: Web) -> None:
    slowed = slowed_down(locked)
    wait = int(slowed.headers["Retry-After"])
    assert 1 <= wait <= 60
    early = login(locked)
    assert early.status_code == 429  # the delay holds for every password...
    time.sleep(int(early.headers["Retry-After"]) + 0.1)
    assert login(locked).status_code == 200  # ...and then the right one is let in
    assert login(locked, "wrong").status_code == 401  # a success starts the count afresh

    # However long a guesser keeps at it, the owner waits at most MAX_DELAY seconds.
    from mediafix.web.security import MAX_DELAY, LoginThrottle

    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(500):
        now[0] += throttle.wait("10.0.0.9")
        throttle.failed("10.0.0.9")
        assert 0 <= throttle.wait("10.0.0.9") <= MAX_DELAY
    assert throttle.wait("10.0.0.9") == MAX_DELAY
    assert throttle.wait("10.0.0.10") == 0  # other addresses are not slowed


def test_429_says_when_to_try_again(locked: Web) -> None:
    slowed_down(locked)
    as_json = login(locked)
    assert as_json.status_code == 429
    seconds = int(as_json.headers["Retry-After"])
    assert re.search(rf"try again in {seconds} seconds?", as_json.json["error"])
    page = locked.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    form = locked.client.post("/login", data={"password": PASSWORD, "csrf_token": token[1]})
    assert form.status_code == 429 and "Retry-After" in form.headers
    assert "try again in" in form.get_data(as_text=True)
    raw = base64.b64encode(f"script:{PASSWORD}".encode()).decode()
    basic = locked.app.test_client().get("/jobs", headers={**JSON, "Authorization": f"Basic {raw}"})
    assert basic.status_code == 429 and "Retry-After" in basic.headers


# -- 6. the data folder ----------------------------------------------------------------


def test_unwritable_data_dir_cli_is_one_line_exit_2(
    settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("x")
    data = tmp_path / "a-file" / "data"
    monkeypatch.setenv("MEDIAFIX_DATA_DIR", str(data))
    photo = make_jpeg(tmp_path / "photos" / "a.jpg", 1)
    for args in (("scan", str(photo)), ("jobs",), ("db", "upgrade")):
        text = one_line_error(cli(*args))
        assert str(data) in text and "MEDIAFIX_DATA_DIR" in text, text


def test_unwritable_data_dir_web_is_a_503_page(
    settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("x")
    data = tmp_path / "a-file" / "data"
    monkeypatch.setenv("MEDIAFIX_DATA_DIR", str(data))
    get_settings.cache_clear()
    client = create_app({"TESTING": True}).test_client()  # what a WSGI server would load
    page = client.get("/library")
    assert page.status_code == 503
    assert str(data) in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    api = client.get("/healthz", headers=JSON)
    assert api.status_code == 503 and "MEDIAFIX_DATA_DIR" in api.json["error"]


# -- also reviewed ---------------------------------------------------------------------


def test_import_of_the_data_folder_is_refused(
    settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MEDIAFIX_DATA_DIR", str(home / ".local" / "mediafix"))
    monkeypatch.setenv("MEDIAFIX_IMPORT_ROOTS", str(home))
    with web_app() as web:
        for folder in (web.settings.data_dir, web.settings.data_dir / "uploads"):
            folder.mkdir(parents=True, exist_ok=True)
            response = web.client.post("/imports", json={"path": str(folder)}, headers=SCRIPT)
            assert response.status_code == 403, folder
            assert "data folder" in response.json["error"]
        assert web.pending() == []


def test_import_roots_slash_is_refused_at_startup(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for roots in ("/", f"/photos{os.pathsep}/etc"):
        monkeypatch.setenv("MEDIAFIX_IMPORT_ROOTS", roots)
        assert "MEDIAFIX_IMPORT_ROOTS" in one_line_error(cli("jobs"))


def test_upload_names_cannot_leave_the_upload_folder(web: Web, tmp_path: Path) -> None:
    body = {"files": [(BytesIO(b"\xff\xd8\xff"), "../../../../x/evil.jpg")]}
    response = web.client.post(
        "/upload", data=body, content_type="multipart/form-data", headers=SCRIPT
    )
    assert response.status_code == 202
    uploads = (web.settings.data_dir / "uploads").resolve()
    stored_at = [p.resolve() for p in tmp_path.rglob("evil.jpg")]
    assert stored_at and all(p.is_relative_to(uploads) for p in stored_at)


def test_undo_after_the_output_folder_changed_touches_only_the_old_archive(
    web: Web, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photo = make_jpeg(photos / "a.jpg", 1, DateTimeOriginal="2019:09:19 05:38:57")
    source_bytes = photo.read_bytes()
    old, new = tmp_path / "archive-a", tmp_path / "archive-b"
    assert cli("scan", "-w", "1", str(photos)).exit_code == 0
    assert cli("apply", str(old)).exit_code == 0
    written = old / "2019" / "20190919_053857.jpg"
    assert written.is_file()
    assert save(web, output_dir=str(new)).status_code == 200
    (new / "2019").mkdir(parents=True)
    shutil.copy2(written, new / "2019" / written.name)  # the same name and bytes in B
    with web.immediate():
        assert web.client.post("/output/undo", headers=SCRIPT).status_code == 202
    assert not written.exists()
    assert (new / "2019" / written.name).is_file()
    assert photo.read_bytes() == source_bytes


@pytest.mark.parametrize("move", [False, True], ids=["copy", "move"])
def test_sidecar_swapped_for_a_symlink_is_not_copied_into_the_archive(
    move: bool, settings_env: Path, tmp_path: Path, secret: Path
) -> None:
    photos, out = tmp_path / "photos", tmp_path / "archive"
    make_jpeg(photos / "IMG_1.jpg", 1, DateTimeOriginal="2019:09:19 05:38:57")
    make_jpeg(photos / "IMG_2.jpg", 2, DateTimeOriginal="2019:09:20 05:38:57")
    for name in ("IMG_1.jpg.json", "IMG_2.jpg.json"):
        (photos / name).write_text('{"title": "a sidecar"}')
    assert cli("scan", "-w", "1", str(photos)).exit_code == 0
    (photos / "IMG_1.jpg.json").unlink()
    (photos / "IMG_1.jpg.json").symlink_to(secret)  # swapped after the scan
    (photos / "IMG_2.jpg.json").unlink()
    os.mkfifo(photos / "IMG_2.jpg.json")  # would block a plain open() for ever
    result = cli("apply", str(out), *(["--move"] if move else []))
    assert result.exit_code == 0, result.output
    written = [p for p in out.rglob("*") if p.is_file()]
    assert sorted(p.name for p in written if p.parent.name == "2019") == [
        "20190919_053857.jpg",
        "20190920_053857.jpg",
    ]  # the photos, without the sidecars
    assert not any(SECRET in p.read_bytes() for p in written)
    assert "IMG_1.jpg.json is a symbolic link now: not copied" in result.output
    assert "IMG_2.jpg.json is not a regular file: not copied" in result.output
    assert (photos / "IMG_1.jpg.json").is_symlink() and secret.read_bytes() == SECRET


def test_output_job_checks_the_output_folder_again_when_it_runs(web: Web, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_jpeg(photos / "a.jpg", 1, DateTimeOriginal="2019:09:19 05:38:57")
    scan(web, photos)
    before = sorted(p.name for p in photos.rglob("*"))
    response = web.client.post("/output/apply", json={}, headers=SCRIPT)
    assert response.status_code == 202
    job_id = response.json["job_id"]
    with web.session() as s:  # changed before a worker takes the job
        settingsrows.set_setting(s, "output_dir", str(photos / "archive"))
    from mediafix.jobs import huey

    for task in huey.pending():  # what a worker does, in this process
        huey.dequeue()
        huey.execute(task)
    job = web.get_json(f"/jobs/{job_id}").json
    assert job["status"] == "failed", job
    assert job["error"].startswith("the output folder cannot be used: "), job
    assert "\n" not in job["error"]
    assert sorted(p.name for p in photos.rglob("*")) == before  # nothing written there


def test_every_attack_has_its_test() -> None:
    tests = sorted(
        name
        for name, value in globals().items()
        if name.startswith("test_") and callable(value) and name != "test_every_attack_has_its_test"
    )
    assert sorted(a.test for a in ATTACKS) == tests
