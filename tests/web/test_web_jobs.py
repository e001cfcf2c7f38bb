"""Jobs: the list, one job's progress and failures (the JSON contract), cancel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from mediafix.store import jobs as jobrows
from mediafix.store.models import Job
from tests.helpers.web import SCRIPT, Web, web_app

CONTRACT = {"id", "type", "status", "progress_current", "progress_total", "message", "error"}


@pytest.fixture
def web(settings_env: Path) -> Iterator[Web]:
    with web_app() as w:
        yield w


def make_job(web: Web, status: str = "running", current: int = 40, total: int = 100) -> int:
    with web.session() as s:
        job = jobrows.create_job(s, "import", {"paths": ["/photos"]}, total=total)
        job.status = status
        job.progress_current = current
        job.started_at = jobrows.utcnow() - timedelta(seconds=20)
        job.message = f"probed {current} of {total} files"
        return job.id


def test_job_json_contract(web: Web) -> None:
    job_id = make_job(web)
    data = web.get_json(f"/jobs/{job_id}").json
    assert set(data) >= CONTRACT
    assert data["id"] == job_id and data["type"] == "import" and data["status"] == "running"
    assert (data["progress_current"], data["progress_total"]) == (40, 100)
    assert data["rate"] == pytest.approx(2.0, rel=0.2)
    assert data["eta_seconds"] == pytest.approx(30, rel=0.2)


def test_job_failures_are_listed_with_their_messages(web: Web) -> None:
    job_id = make_job(web, "completed", 3, 3)
    web.add_file(job_id=job_id)
    web.add_file(
        "broken.jpg", job_id=job_id, status="error", error="image data is truncated", sha256=None
    )
    data = web.get_json(f"/jobs/{job_id}").json
    assert data["files"] == {"ready": 1, "error": 1}
    assert data["failure_count"] == 1
    assert data["failures"][0]["path"].endswith("broken.jpg")
    assert data["failures"][0]["error"] == "image data is truncated"
    html = web.client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "image data is truncated" in html and "1 file could not be read" in html


def test_job_page_shows_live_progress(web: Web) -> None:
    job_id = make_job(web)
    html = web.client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f'data-job-url="/jobs/{job_id}"' in html
    assert 'data-status="running"' in html
    assert "Cancel" in html and "40 %" in html


def test_unknown_job_is_404(web: Web) -> None:
    assert web.get_json("/jobs/999").status_code == 404
    assert web.get_json("/jobs/999").json == {"error": "no job 999"}
    assert web.client.post("/jobs/999/cancel", headers=SCRIPT).status_code == 404


def test_cancel(web: Web) -> None:
    pending = make_job(web, "pending", 0, 0)
    running = make_job(web)
    done = web.client.post(f"/jobs/{pending}/cancel", headers=SCRIPT)
    assert done.status_code == 200 and done.json["status"] == "cancelled"
    asked = web.client.post(f"/jobs/{running}/cancel", headers=SCRIPT).json
    assert asked["status"] == "running" and asked["cancel_requested"] is True
    with web.session() as s:
        job = s.get(Job, running)
        assert job is not None and job.cancel_requested


def test_cancel_from_the_page_redirects_back(web: Web) -> None:
    job_id = make_job(web)
    response = web.client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": web.csrf()})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/jobs/{job_id}"


def test_jobs_list_newest_first_and_paged(web: Web) -> None:
    ids = [make_job(web, "completed", 1, 1) for _ in range(3)]
    data = web.get_json("/jobs?limit=2").json
    assert [j["id"] for j in data["jobs"]] == [ids[2], ids[1]]
    assert data["next_before"] == ids[1]
    older = web.get_json(f"/jobs?limit=2&before={ids[1]}").json
    assert [j["id"] for j in older["jobs"]] == [ids[0]]
    assert web.get_json("/jobs?limit=abc").status_code == 400


def test_jobs_table_refreshes_itself_while_a_job_runs(web: Web) -> None:
    make_job(web)
    html = web.client.get("/jobs").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in html
    partial = web.client.get("/jobs", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="jobs-table"')
