"""Uploads (streamed, sanitized, batched) and imports of server folders (inside the roots)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from sqlalchemy import select

from mediafix.store.models import Job
from mediafix.web.uploads import place_file, safe_relpath
from tests.helpers.web import SCRIPT, Web, web_app


@pytest.fixture
def web(settings_env: Path) -> Iterator[Web]:
    with web_app() as w:
        yield w


@pytest.fixture
def rooted(settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Web]:
    """Import roots: ``tmp_path/photos``; ``tmp_path/private`` lies outside them."""
    (tmp_path / "photos" / "2019" / "trip").mkdir(parents=True)
    (tmp_path / "photos" / "2019" / "trip" / "a.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "private").mkdir()
    monkeypatch.setenv("MEDIAFIX_IMPORT_ROOTS", str(tmp_path / "photos"))
    with web_app() as w:
        yield w


def upload(web: Web, files: list[tuple[str, bytes]], query: str = "", **fields: Any) -> Any:
    data: dict[str, Any] = {"files": [(BytesIO(content), name) for name, content in files]}
    data.update(fields)
    return web.client.post(
        "/upload" + query, data=data, content_type="multipart/form-data", headers=SCRIPT
    )


def uploads(web: Web) -> Path:
    return web.settings.data_dir / "uploads"


# -- names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("Italy 2019/IMG_1.JPG", "Italy 2019/IMG_1.JPG"),
        ("../../etc/passwd", "etc/passwd"),
        ("/etc/cron.d/job", "etc/cron.d/job"),
        ("C:\\Users\\Anna\\IMG_2.jpg", "Users/Anna/IMG_2.jpg"),
        ("a/./b/../c.jpg", "a/b/c.jpg"),
        ("bad\x00name\x1f.jpg", "badname.jpg"),
        ("trailing dots.../x.jpg", "trailing dots/x.jpg"),
    ],
)
def test_safe_relpath(sent: str, kept: str) -> None:
    assert safe_relpath(sent) == PurePosixPath(kept)


def test_safe_relpath_gives_up_on_nothing() -> None:
    assert safe_relpath("") is None
    assert safe_relpath("../..//./") is None


def test_long_names_are_cut_keeping_the_extension() -> None:
    rel = safe_relpath("é" * 300 + ".jpeg")
    assert rel is not None
    assert rel.name.endswith(".jpeg")
    assert len(rel.name.encode()) <= 200


def test_place_file_never_overwrites(tmp_path: Path) -> None:
    folder = tmp_path / "up"
    folder.mkdir()
    targets = []
    for n in range(3):
        tmp = tmp_path / f"part{n}"
        tmp.write_bytes(str(n).encode())
        targets.append(place_file(tmp, folder, PurePosixPath("a/IMG.jpg")))
    assert [t.name for t in targets] == ["IMG.jpg", "IMG (2).jpg", "IMG (3).jpg"]
    assert [t.read_bytes() for t in targets] == [b"0", b"1", b"2"]


# -- POST /upload ------------------------------------------------------------------------


def test_upload_keeps_folders_and_enqueues_an_import(web: Web) -> None:
    response = upload(
        web,
        [("Italy 2019/IMG_1.JPG", b"one"), ("Italy 2019/day 2/IMG_2.JPG", b"two"), ("x.png", b"3")],
    )
    assert response.status_code == 202
    job_id = response.json["job_id"]
    folder = uploads(web) / str(job_id)
    assert response.json["folder"] == str(folder)
    assert response.json["files"] == 3
    assert (folder / "Italy 2019" / "IMG_1.JPG").read_bytes() == b"one"
    assert (folder / "Italy 2019" / "day 2" / "IMG_2.JPG").read_bytes() == b"two"
    with web.session() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.type == "import" and job.status == "pending"
        assert job.params["paths"] == [str(folder)]
    assert ("mediafix.import_files", (job_id,)) in web.pending()
    assert not any((uploads(web) / ".staging").iterdir())


def test_upload_sanitizes_hostile_names(web: Web, tmp_path: Path) -> None:
    response = upload(
        web,
        [
            ("../../../escape.jpg", b"1"),
            ("/etc/passwd", b"2"),
            ("..\\..\\win.jpg", b"3"),
            ("same.jpg", b"4"),
            ("same.jpg", b"5"),
        ],
    )
    assert response.status_code == 202
    folder = Path(response.json["folder"])
    stored = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    # (werkzeug's test client sends "..\\..\\win.jpg" as "....win.jpg": harmless either way)
    win = [name for name in stored if name.endswith("win.jpg")]
    assert len(win) == 1 and "/" not in win[0]
    assert sorted(set(stored) - set(win)) == [
        "escape.jpg",
        "etc/passwd",
        "same (2).jpg",
        "same.jpg",
    ]
    assert not (tmp_path / "escape.jpg").exists()
    assert not (web.settings.data_dir / "escape.jpg").exists()
    renamed = {r["sent"]: r["stored"] for r in response.json["renamed"]}
    assert renamed["../../../escape.jpg"] == "escape.jpg"


def test_upload_in_batches(web: Web) -> None:
    first = upload(web, [("a/1.jpg", b"1")], "?done=0")
    assert first.status_code == 200
    upload_id = first.json["upload_id"]
    assert "job_id" not in first.json
    second = upload(web, [("a/2.jpg", b"2")], f"?upload_id={upload_id}&done=0")
    assert second.json["upload_id"] == upload_id
    assert web.pending() == []
    last = upload(web, [("b/3.jpg", b"3")], f"?upload_id={upload_id}&done=1")
    assert last.status_code == 202
    folder = Path(last.json["folder"])
    assert sorted(p.name for p in folder.rglob("*.jpg")) == ["1.jpg", "2.jpg", "3.jpg"]
    assert last.json["files"] == 3


def test_upload_keeps_the_browsers_modification_time(web: Web) -> None:
    response = upload(web, [("a.jpg", b"1")], mtime="1700000000000")
    folder = Path(response.json["folder"])
    assert (folder / "a.jpg").stat().st_mtime == 1_700_000_000


def test_upload_errors_are_4xx_with_a_message(web: Web) -> None:
    bad_id = upload(web, [("a.jpg", b"1")], "?upload_id=../../x")
    assert bad_id.status_code == 400 and "upload_id" in bad_id.json["error"]
    unknown = upload(web, [("a.jpg", b"1")], "?upload_id=" + "0" * 32)
    assert unknown.status_code == 404
    empty = web.client.post("/upload", headers=SCRIPT)
    assert empty.status_code == 400 and empty.json["error"] == "no files were uploaded"


def test_a_file_over_the_limit_is_413_and_leaves_nothing(settings_env: Path) -> None:
    with web_app(MEDIAFIX_MAX_FILE_SIZE=1000) as web:
        response = upload(web, [("small.jpg", b"1" * 10), ("big.jpg", b"2" * 5000)])
        assert response.status_code == 413
        assert "limit per file" in response.json["error"]
        assert not any((uploads(web) / ".staging").rglob("part-*"))
        assert web.pending() == []


def test_a_request_over_the_total_limit_is_413(settings_env: Path) -> None:
    with web_app(MAX_CONTENT_LENGTH=2000) as web:
        response = upload(web, [("big.jpg", b"2" * 5000)])
        assert response.status_code == 413
        assert "error" in response.json


def test_upload_page_has_the_drop_zone(web: Web) -> None:
    html = web.client.get("/import").get_data(as_text=True)
    assert 'id="dropzone"' in html and "webkitdirectory" in html
    assert "MEDIAFIX_IMPORT_ROOTS" in html  # server folders are off: it says how to turn them on


# -- POST /imports -----------------------------------------------------------------------


def test_import_a_server_folder(rooted: Web, tmp_path: Path) -> None:
    folder = tmp_path / "photos" / "2019"
    response = rooted.client.post("/imports", json={"path": str(folder)}, headers=SCRIPT)
    assert response.status_code == 202
    job_id = response.json["job_id"]
    assert ("mediafix.import_files", (job_id,)) in rooted.pending()
    with rooted.session() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.params["paths"] == [str(folder)]


def test_import_form_redirects_to_the_job(rooted: Web, tmp_path: Path) -> None:
    token = rooted.csrf()
    response = rooted.client.post(
        "/imports", data={"path": str(tmp_path / "photos"), "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/jobs/")


def test_imports_are_off_without_roots(web: Web, tmp_path: Path) -> None:
    response = web.client.post("/imports", json={"path": str(tmp_path)}, headers=SCRIPT)
    assert response.status_code == 403
    assert "MEDIAFIX_IMPORT_ROOTS" in response.json["error"]


def test_import_outside_the_roots_is_403(rooted: Web, tmp_path: Path) -> None:
    for path in (str(tmp_path / "private"), str(tmp_path / "photos" / ".." / "private"), "/"):
        response = rooted.client.post("/imports", json={"path": path}, headers=SCRIPT)
        assert response.status_code == 403, path
        assert "outside" in response.json["error"]
    with rooted.session() as s:
        assert s.scalars(select(Job)).all() == []


def test_a_symlink_out_of_the_root_is_403(rooted: Web, tmp_path: Path) -> None:
    link = tmp_path / "photos" / "sneaky"
    os.symlink(tmp_path / "private", link)
    response = rooted.client.post("/imports", json={"path": str(link)}, headers=SCRIPT)
    assert response.status_code == 403


def test_import_bad_requests(rooted: Web, tmp_path: Path) -> None:
    cases = [
        ({"path": "photos/2019"}, 400, "absolute"),
        ({}, 400, "path"),
        ({"path": 7}, 400, "path"),
        ({"path": str(tmp_path / "photos" / "nope")}, 404, "no such"),
    ]
    for body, status, words in cases:
        response = rooted.client.post("/imports", json=body, headers=SCRIPT)
        assert response.status_code == status, body
        assert words in response.json["error"]
    malformed = rooted.client.post(
        "/imports", data="{not json", content_type="application/json", headers=SCRIPT
    )
    assert malformed.status_code == 400
    assert malformed.json == {"error": "malformed JSON in the request body"}


def test_browse_the_roots(rooted: Web, tmp_path: Path) -> None:
    top = rooted.get_json("/imports/browse").json
    assert top["folders"] == [{"name": str(tmp_path / "photos"), "path": str(tmp_path / "photos")}]
    inside = rooted.get_json(f"/imports/browse?path={tmp_path / 'photos'}").json
    assert [f["name"] for f in inside["folders"]] == ["2019"]
    assert inside["parent"] is None
    deeper = rooted.get_json(f"/imports/browse?path={tmp_path / 'photos' / '2019' / 'trip'}").json
    assert deeper["files"] == 1 and deeper["parent"] == str(tmp_path / "photos" / "2019")
    outside = rooted.get_json(f"/imports/browse?path={tmp_path}")
    assert outside.status_code == 403


def test_a_full_disk_is_507_and_leaves_no_parts(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("mediafix.web.views.imports.place_file", full)
    response = upload(web, [("a.jpg", b"1")])
    assert response.status_code == 507
    assert response.json == {"error": "could not store the upload: No space left on device"}
    assert not any((uploads(web) / ".staging").rglob("part-*"))


def test_a_path_too_long_is_400(rooted: Web, tmp_path: Path) -> None:
    """Found probing the API (issue #8): Path.exists() raises for a name longer than the
    file system allows instead of answering False (a 500)."""
    long = tmp_path / "photos" / ("a" * 300)
    created = rooted.client.post("/imports", json={"path": str(long)}, headers=SCRIPT)
    assert created.status_code == 400 and "too long" in created.json["error"]
    browsed = rooted.get_json(f"/imports/browse?path={long}")
    assert browsed.status_code == 400 and "too long" in browsed.json["error"]


def test_a_one_file_import_says_one_file(rooted: Web, tmp_path: Path) -> None:
    """The finished import's message counts in words a person reads: "1 file probed", and
    its unreadable files are the home page's (issue 21)."""
    folder = tmp_path / "photos" / "2019"
    with rooted.immediate():
        response = rooted.client.post("/imports", json={"path": str(folder)}, headers=SCRIPT)
    job_id = response.json["job_id"]
    job = rooted.get_json(f"/jobs/{job_id}").json
    assert job["status"] == "completed", job
    assert job["message"].startswith("1 file probed, "), job["message"]
    home = rooted.get_json("/").json
    assert job["failure_count"] == home["errors"] == 1  # a.jpg is 3 bytes: unreadable
