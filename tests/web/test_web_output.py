"""Output: preview, apply and undo, the holding folder, browsing the archive."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mediafix.store.models import Job
from tests.helpers.web import SCRIPT, Web, web_app


@pytest.fixture
def web(settings_env: Path) -> Iterator[Web]:
    with web_app() as w:
        yield w


def test_output_is_always_available(web: Web) -> None:
    """The output stage is part of every build (the adapter that answered 503 while it was
    missing is gone); the home page's ``output_available`` key stays for the API."""
    assert web.get_json("/").json["output_available"] is True
    assert web.get_json("/output").status_code == 200
    assert web.client.get("/output/browse").status_code == 200


def test_preview_shows_the_plan(web: Web) -> None:
    web.add_file("IMG_1.jpg", tags=["Anna"])
    web.add_file("scan.jpg", status="review", date_reason="only a file date")
    plan = web.get_json("/output").json
    assert {"output", "items", "held", "counts"} <= set(plan)
    assert plan["output"] == str(web.settings.output_dir)
    (item,) = plan["items"]
    assert item["source"] == "/photos/trip/IMG_1.jpg"
    assert item["target"] == str(web.settings.output_dir / "2019" / "20190919_053801.jpg")
    assert [h["path"] for h in plan["held"]] == ["/photos/trip/scan.jpg"]
    assert item["tag_sources"] == [
        {"tag": "trip", "source": "folder", "from": "trip"},
        {"tag": "Anna", "source": "user", "from": "the library"},
    ]
    html = web.client.get("/output").get_data(as_text=True)
    assert "2019/20190919_053801.jpg" in html and "Held back" in html
    assert "Write the archive" in html
    assert 'title="user: the library">Anna <small class="muted">user</small>' in html


def test_apply_enqueues_an_output_job(web: Web) -> None:
    web.add_file()
    response = web.client.post("/output/apply", json={"move": False}, headers=SCRIPT)
    assert response.status_code == 202
    job_id = response.json["job_id"]
    assert response.json["move"] is False
    with web.session() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.type == "output" and job.params["move"] is False
    assert [name for name, _ in web.pending()] == ["mediafix.write_output"]


def test_apply_uses_the_move_setting_and_checks_the_flag(web: Web) -> None:
    web.client.post("/settings", json={"move": True}, headers=SCRIPT)
    response = web.client.post("/output/apply", json={}, headers=SCRIPT)
    assert response.json["move"] is True
    bad = web.client.post("/output/apply", json={"move": "perhaps"}, headers=SCRIPT)
    assert bad.status_code == 400 and "move must be" in bad.json["error"]


def test_apply_from_the_page_goes_to_the_job(web: Web) -> None:
    response = web.client.post("/output/apply", data={"move": "false", "csrf_token": web.csrf()})
    assert response.status_code == 302 and response.headers["Location"].startswith("/jobs/")


def test_undo_enqueues_an_undo_job(web: Web) -> None:
    response = web.client.post("/output/undo", headers=SCRIPT)
    assert response.status_code == 202
    with web.session() as s:
        job = s.scalars(select(Job)).one()
        assert job.id == response.json["job_id"] and job.type == "undo"


def test_undo_one_apply_by_its_job(web: Web) -> None:
    """The finished apply's page undoes that apply: its journal comes from the job's row."""
    with web.session() as s:
        done = Job(type="output", status="completed", params={"journal": "/data/j/1.jsonl"})
        empty = Job(type="output", status="completed", params={})
        other = Job(type="import", status="completed", params={"journal": "/etc/passwd"})
        s.add_all([done, empty, other])
        s.commit()
        ids = done.id, empty.id, other.id
    response = web.client.post("/output/undo", json={"job_id": ids[0]}, headers=SCRIPT)
    assert response.status_code == 202
    with web.session() as s:
        job = s.get(Job, response.json["job_id"])
        assert job is not None and job.type == "undo"
        assert job.params["journal"] == "/data/j/1.jsonl"
    nothing = web.client.post("/output/undo", json={"job_id": ids[1]}, headers=SCRIPT)
    assert nothing.status_code == 409 and "wrote nothing" in nothing.json["error"]
    for wrong in (ids[2], 10**30, "x"):
        refused = web.client.post("/output/undo", json={"job_id": wrong}, headers=SCRIPT)
        assert refused.status_code == 404, wrong


def test_browse_the_output_by_year(web: Web) -> None:
    out = web.settings.output_dir
    (out / "2019").mkdir(parents=True)
    (out / "2019" / "20190919_053801.jpg").write_bytes(b"jpeg")
    (out / "2019" / ".hidden").write_bytes(b"x")
    file_id = web.add_file(output_path=str(out / "2019" / "20190919_053801.jpg"))
    top = web.get_json("/output/browse").json
    assert top["folders"] == [{"name": "2019", "path": "2019", "entries": 1}]
    year = web.get_json("/output/browse?path=2019").json
    assert year["files"] == [
        {"name": "20190919_053801.jpg", "path": "2019/20190919_053801.jpg", "size": 4,
         "file_id": file_id},
    ]  # fmt: skip
    html = web.client.get("/output/browse?path=2019").get_data(as_text=True)
    assert f"/thumbs/{file_id}" in html
    served = web.client.get("/output/file?path=2019/20190919_053801.jpg")
    assert served.status_code == 200 and served.data == b"jpeg"


def test_browse_stays_inside_the_output(web: Web, tmp_path: Path) -> None:
    web.settings.output_dir.mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("no")
    for url in (
        "/output/browse?path=../",
        "/output/browse?path=/etc",
        "/output/file?path=../secret.txt",
    ):
        response = web.get_json(url)
        assert response.status_code in (403, 404), url
    assert web.get_json("/output/browse?path=../").status_code == 403
    assert web.get_json("/output/browse?path=2030").status_code == 404
    assert web.get_json("/output/file?path=nothing.jpg").status_code == 404


def test_a_path_too_long_is_400(web: Web) -> None:
    """Found by tests/web/test_openapi_fuzz.py: Path.exists() raises for a name longer than
    the file system allows instead of answering False (a 500)."""
    web.settings.output_dir.mkdir(parents=True)
    for url in ("/output/browse?path=" + "0" * 300, "/output/file?path=" + "a/" * 3000):
        response = web.get_json(url)
        assert response.status_code == 400, url
        assert "too long" in response.json["error"]


def test_a_folder_the_server_cannot_read_is_said_not_a_500(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NAS share with a sub-folder this process may not list. Root reads any folder
    whatever its mode, so the refusal is injected where the listing happens."""
    out = web.settings.output_dir
    for year in ("2019", "2020"):
        (out / year).mkdir(parents=True)
        (out / year / f"{year}0101_000000.jpg").write_bytes(b"jpeg")
    locked = str(out / "2020")
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    top = web.get_json("/output/browse")
    assert top.status_code == 200
    assert top.json["folders"] == [
        {"name": "2019", "path": "2019", "entries": 1},
        {"name": "2020", "path": "2020", "entries": None},
    ]
    assert "cannot be read" in web.client.get("/output/browse").get_data(as_text=True)
    inside = web.get_json("/output/browse?path=2020")
    assert inside.status_code == 403
    assert inside.json == {"error": "cannot read '2020': Permission denied"}
    page = web.client.get("/output/browse?path=2020")
    assert page.status_code == 403 and "Permission denied" in page.get_data(as_text=True)


def test_the_originals_a_move_keeps_are_shown_then_purged_after_a_confirmation(
    web: Web, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from mediafix.cli import main
    from mediafix.media.outputlock import output_lock
    from tests.helpers.media import make_jpeg

    photos = tmp_path / "photos"
    paths = [
        make_jpeg(photos / f"IMG_{i}.JPG", i, DateTimeOriginal=f"2019:0{i + 1}:01 10:00:00")
        for i in range(2)
    ]
    size = sum(p.stat().st_size for p in paths)
    out = web.settings.output_dir
    for args in (["scan", "-w", "1", str(photos)], ["apply", "--move"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    kept = web.get_json("/output/originals").json
    assert (kept["files"], kept["bytes"], len(kept["runs"])) == (2, size, 1)
    assert kept["holding"] == str(out / ".originals")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", kept["runs"][0]["started"])
    assert "Originals kept by move" in web.client.get("/output").get_data(as_text=True)
    page = web.client.get("/output/originals").get_data(as_text=True)
    # the confirmation says what and how much before anything is deleted
    assert 'data-confirm-title="Delete 2 originals (' in page and "Delete 2 originals" in page
    assert f"{size / 1000:.1f} KB" in page

    bad = web.client.post("/output/purge", json={"older_than_days": "soon"}, headers=SCRIPT)
    assert bad.status_code == 400 and "older_than_days" in bad.json["error"]
    young = web.client.post("/output/purge", json={"older_than_days": 1}, headers=SCRIPT)
    assert young.status_code == 200 and young.json["purged_files"] == 0
    with output_lock(str(out), "mediafix apply (a test)"):
        busy = web.client.post("/output/purge", json={}, headers=SCRIPT)
    assert busy.status_code == 409 and "is in use by mediafix apply (a test)" in busy.json["error"]
    assert web.get_json("/output/originals").json["files"] == 2  # nothing deleted so far

    done = web.client.post("/output/purge", data={"csrf_token": web.csrf()})
    assert done.status_code == 302 and done.headers["Location"] == "/output/originals"
    after = web.client.get("/output/originals").get_data(as_text=True)
    assert f"Deleted 2 originals ({size / 1000:.1f} KB freed)" in after
    assert not (out / ".originals").exists()
    assert "Originals kept by move" not in web.client.get("/output").get_data(as_text=True)


def test_originals_and_purge_refuse_an_output_folder_that_may_not_be_used(web: Web) -> None:
    from mediafix.store import settings as settingsrows

    with web.session() as s:
        settingsrows.set_setting(s, "output_dir", "/")  # as an older version let it be saved
    for response in (
        web.get_json("/output/originals"),
        web.client.post("/output/purge", json={}, headers=SCRIPT),
    ):
        assert response.status_code == 409
        assert "choose another in Settings" in response.json["error"]
