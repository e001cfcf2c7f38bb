"""Re-dating: a trip abroad and local-time cameras on generated files, and a zone change that
re-dates the library from the stored evidence (CLI, service and the settings page's job)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.media.dates import Evidence, judge
from mediafix.services.library import scan
from mediafix.services.pipeline import LOCAL_CAMERAS_KEY, analyse_options
from mediafix.services.redate import redate
from mediafix.store import settings as settingsrows
from mediafix.store.db import get_engine, session_scope, upgrade
from mediafix.store.models import File, Job
from tests.helpers.media import make_jpeg, write_tags
from tests.helpers.videogen import make_video
from tests.helpers.web import SCRIPT, web_app


def video(path: Path, header: str, **tags: str) -> Path:
    """A tiny MP4 whose QuickTime movie/track headers say ``header`` (no offset)."""
    make_video(path, size=(64, 48), seconds=0.5)
    write_tags(
        path,
        **{
            "QuickTime:CreateDate": header,
            "QuickTime:TrackCreateDate": header,
            "QuickTime:MediaCreateDate": header,
            **tags,
        },
    )
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trip to New York (summer: -04:00) with a phone that records its offset and cameras
    that do not, and a day at home (Berlin) with nothing but guesses."""
    root = tmp_path_factory.mktemp("redate") / "photos"
    trip = root / "trip"
    phone = {"Make": "Apple", "Model": "iPhone 8"}
    make_jpeg(
        trip / "IMG_0001.JPG",
        1,
        (160, 120),
        DateTimeOriginal="2019:09:19 10:00:00",
        OffsetTimeOriginal="-04:00",
        **phone,
    )
    make_jpeg(
        trip / "IMG_0003.JPG",
        2,
        (160, 120),
        DateTimeOriginal="2019:09:19 11:00:00",
        OffsetTimeOriginal="-04:00",
        **phone,
    )
    # An Android clip copied off the phone under another name: its header is UTC (14:30 is
    # 10:30 in New York); only the neighbours can tell its zone.
    video(trip / "clip_a.mp4", "2019:09:19 14:30:00")
    # A camera without a zone setting, its clock set to local time on the trip.
    make_jpeg(
        trip / "DSC_0100.JPG",
        3,
        (160, 120),
        DateTimeOriginal="2019:09:19 10:15:00",
        Make="NIKON CORPORATION",
        Model="NIKON Z 30",
    )
    # A GoPro: the table knows it writes local time into QuickTime.
    video(
        trip / "GX010001.MP4",
        "2019:09:19 10:20:00",
        **{"UserData:Make": "GoPro", "UserData:Model": "HERO11 Black"},
    )
    # A camera the table does not know: its video's header is the local time of its own
    # photo 30 seconds before, so the library shows it writes local time.
    canon = {"Make": "Canon", "Model": "Canon PowerShot G7 X"}
    make_jpeg(trip / "IMG_5001.JPG", 4, (160, 120), DateTimeOriginal="2019:09:19 10:40:00", **canon)
    video(
        trip / "MVI_5002.MP4",
        "2019:09:19 10:40:30",
        **{"UserData:Make": "Canon", "UserData:Model": "Canon PowerShot G7 X"},
    )
    # A drone whose header equals the local time in its own name.
    video(
        trip / "DJI_20190919104500_0001_D.MP4",
        "2019:09:19 10:45:00",
        **{"UserData:Make": "DJI", "UserData:Model": "FC3411"},
    )
    # At home a week later: a camera photo and a phone clip, nothing recording an offset.
    home = root / "home"
    make_jpeg(
        home / "DSC_0200.JPG",
        5,
        (160, 120),
        DateTimeOriginal="2019:09:26 12:00:00",
        Make="NIKON CORPORATION",
        Model="NIKON Z 30",
    )
    video(home / "clip_b.mp4", "2019:09:26 10:00:00")
    make_jpeg(home / "scan_0001.jpg", 6, (160, 120))  # a person will date this one
    return root


@pytest.fixture
def photos(generated: Path, tmp_path: Path, settings_env: Path) -> Path:
    """A fresh copy of the generated library (tests change and delete files)."""
    return Path(shutil.copytree(generated, tmp_path / "photos"))


@pytest.fixture
def engine(settings_env: Path) -> Iterator[Any]:
    settings = get_settings()
    settings.ensure_dirs()
    upgrade(settings.database_url)
    yield get_engine(settings.database_url)


def rows(engine: Any) -> dict[str, File]:
    with session_scope(engine) as s:
        found = {f.name: f for f in s.scalars(select(File))}
        s.expunge_all()
    return found


def when(f: File) -> tuple[datetime | None, int | None]:
    return f.taken_at, f.utc_offset


def test_trip_abroad_and_local_time_cameras(photos: Path, engine: Any) -> None:
    scan([photos], get_settings(), engine, workers=1)
    r = rows(engine)
    assert when(r["IMG_0001.JPG"]) == (datetime(2019, 9, 19, 10, 0), -240)
    # The phone clip: its instant, shown in the zone the phone recorded around it.
    clip = r["clip_a.mp4"]
    assert when(clip) == (datetime(2019, 9, 19, 10, 30), -240)
    assert clip.taken_at_utc == datetime(2019, 9, 19, 14, 30)
    assert clip.offset_source == "neighbours" and clip.confidence_level == "medium"
    assert "zone of its neighbours (-04:00" in (clip.date_reason or "")
    # The camera photo keeps its wall clock and gets the trip's offset (not Berlin's).
    dsc = r["DSC_0100.JPG"]
    assert when(dsc) == (datetime(2019, 9, 19, 10, 15), -240)
    assert dsc.taken_at_utc == datetime(2019, 9, 19, 14, 15)
    assert dsc.offset_source == "neighbours" and dsc.confidence_level == "high"
    # Local-time cameras: the table, the library's evidence, the file's own name.
    gopro = r["GX010001.MP4"]
    assert when(gopro) == (datetime(2019, 9, 19, 10, 20), -240)
    assert "GoPro cameras write local time into QuickTime" in (gopro.date_reason or "")
    canon = r["MVI_5002.MP4"]
    assert when(canon) == (datetime(2019, 9, 19, 10, 40, 30), -240)
    assert (
        "MVI_5002.MP4's QuickTime time 10:40:30 is the local time of IMG_5001.JPG, "
        "taken 30 s before"
    ) in (canon.date_reason or "")
    with session_scope(engine) as s:
        detected = settingsrows.stored_settings(s)[LOCAL_CAMERAS_KEY]
    assert set(detected) == {"canon powershot g7 x"}
    dji = r["DJI_20190919104500_0001_D.MP4"]
    assert when(dji) == (datetime(2019, 9, 19, 10, 45), -240)
    assert "equals the local time in the file name" in (dji.date_reason or "")
    # At home nothing records an offset: the home zone, said so.
    assert when(r["DSC_0200.JPG"]) == (datetime(2019, 9, 26, 12, 0), 120)
    assert r["DSC_0200.JPG"].offset_source == "home-zone"
    assert when(r["clip_b.mp4"]) == (datetime(2019, 9, 26, 12, 0), 120)


def test_a_rescan_settles_zones_near_what_it_probed_only(photos: Path, engine: Any) -> None:
    from sqlalchemy import update

    scan([photos], get_settings(), engine, workers=1)
    assert rows(engine)["DSC_0100.JPG"].offset_source == "neighbours"

    def forget() -> None:  # the camera photo back to the home zone's guess, by hand
        with session_scope(engine) as s:
            s.execute(
                update(File)
                .where(File.name == "DSC_0100.JPG")
                .values(
                    utc_offset=120,
                    offset_source="home-zone",
                    taken_at_utc=datetime(2019, 9, 19, 8, 15),
                )
            )

    forget()
    # A photo of another year: nothing near the trip changed, its files are not judged.
    make_jpeg(
        photos / "later" / "IMG_9000.JPG", 7, (160, 120), DateTimeOriginal="2021:01:01 12:00:00"
    )
    scan([photos], get_settings(), engine, workers=1)
    assert rows(engine)["DSC_0100.JPG"].offset_source == "home-zone"
    # A photo on the trip's day: the files around it are settled again.
    make_jpeg(
        photos / "later" / "IMG_9001.JPG", 8, (160, 120), DateTimeOriginal="2019:09:19 18:00:00"
    )
    scan([photos], get_settings(), engine, workers=1)
    dsc = rows(engine)["DSC_0100.JPG"]
    assert (dsc.offset_source, when(dsc)) == ("neighbours", (datetime(2019, 9, 19, 10, 15), -240))


def test_a_recorded_offset_is_never_replaced_by_the_neighbours(photos: Path, engine: Any) -> None:
    # A phone photo recording +02:00 in the middle of the trip stays +02:00 (a wrong phone
    # clock is still what the file says); the neighbours' guess only fills guesses.
    make_jpeg(
        photos / "trip" / "IMG_0002.JPG",
        9,
        (160, 120),
        DateTimeOriginal="2019:09:19 10:30:00",
        OffsetTimeOriginal="+02:00",
        Make="Apple",
        Model="iPhone 8",
    )
    scan([photos], get_settings(), engine, workers=1)
    r = rows(engine)
    assert (r["IMG_0002.JPG"].utc_offset, r["IMG_0002.JPG"].offset_source) == (
        120,
        "exif:OffsetTimeOriginal",
    )
    # Its disagreement makes the neighbours unsure: no zone is guessed for the camera.
    assert r["DSC_0100.JPG"].offset_source == "home-zone"


def test_stored_evidence_judges_like_the_file(photos: Path, engine: Any) -> None:
    scan([photos], get_settings(), engine, workers=1)
    options = analyse_options(get_settings()).date_options()
    with session_scope(engine) as s:
        for f in s.scalars(select(File).where(File.name == "DSC_0200.JPG")):
            assert f.evidence is not None
            again = judge(Evidence.from_json(f.evidence), options)
            assert (again.taken_at, again.utc_offset, again.source, again.reason) == (
                f.taken_at,
                f.utc_offset,
                f.date_source,
                f.date_reason,
            )


def test_zone_change_redates_from_the_evidence_and_keeps_a_persons_date(
    photos: Path, engine: Any
) -> None:
    settings = get_settings()
    scan([photos], settings, engine, workers=1)
    with session_scope(engine) as s:
        scanned = s.scalars(select(File).where(File.name == "scan_0001.jpg")).one()
        scanned.taken_at, scanned.utc_offset = datetime(1987, 7, 1, 15, 0), 120
        scanned.date_source, scanned.confidence, scanned.status = "user", 1.0, "ready"
        settingsrows.set_setting(s, "timezone", "America/New_York")
    # The files are gone: re-dating must not need them.
    for path in sorted(photos.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    summary = redate(engine, settings)
    r = rows(engine)
    assert when(r["DSC_0200.JPG"]) == (datetime(2019, 9, 26, 12, 0), -240)
    assert r["DSC_0200.JPG"].taken_at_utc == datetime(2019, 9, 26, 16, 0)
    assert when(r["clip_b.mp4"]) == (datetime(2019, 9, 26, 6, 0), -240)
    assert "America/New_York" in (r["clip_b.mp4"].date_reason or "")
    assert when(r["scan_0001.jpg"]) == (datetime(1987, 7, 1, 15, 0), 120)
    assert r["scan_0001.jpg"].date_source == "user"
    # On the trip nothing moves: the neighbours' zone is now the home zone's as well.
    assert when(r["clip_a.mp4"]) == (datetime(2019, 9, 19, 10, 30), -240)
    assert r["clip_a.mp4"].offset_source == "home-zone"
    assert summary.kept_user == 1 and summary.changed >= 3 and summary.regathered == 0
    again = redate(engine, settings)  # nothing left to change
    assert again.changed == 0


def test_a_review_threshold_change_moves_files_in_and_out_of_review(
    photos: Path, engine: Any
) -> None:
    settings = get_settings()
    scan([photos], settings, engine, workers=1)
    assert rows(engine)["clip_a.mp4"].status == "ready"  # medium, above 0.6
    with session_scope(engine) as s:
        settingsrows.set_setting(s, "review_confidence", 0.8)
    redate(engine, settings)
    r = rows(engine)
    assert r["clip_a.mp4"].status == "review" and r["DSC_0100.JPG"].status == "ready"


def test_cli_redate_with_a_zone_and_scan_force(photos: Path, engine: Any) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["scan", "-w", "1", str(photos)])
    assert result.exit_code == 0, result.output
    assert when(rows(engine)["DSC_0200.JPG"]) == (datetime(2019, 9, 26, 12, 0), 120)
    again = runner.invoke(main, ["scan", "-w", "1", str(photos)])
    assert "unchanged (skipped)" in again.output and when(rows(engine)["clip_b.mp4"])[1] == 120
    result = runner.invoke(main, ["redate", "--timezone", "Asia/Tokyo"])
    assert result.exit_code == 0, result.output
    assert "re-dated" in result.output and "kept" in result.output
    assert when(rows(engine)["clip_b.mp4"]) == (datetime(2019, 9, 26, 19, 0), 540)
    bad = runner.invoke(main, ["redate", "--timezone", "Mars/Olympus"])
    assert bad.exit_code != 0 and "unknown time zone" in bad.output
    # --force reads every file again, unchanged or not.
    forced = runner.invoke(main, ["scan", "-w", "1", "--force", str(photos)])
    assert forced.exit_code == 0, forced.output
    table = {
        line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1]
        for line in forced.output.splitlines()
        if line.strip() and line.split()[-1].isdigit()
    }
    assert table["unchanged (skipped)"] == "0" and int(table["probed"]) == len(rows(engine))
    assert when(rows(engine)["clip_b.mp4"]) == (datetime(2019, 9, 26, 19, 0), 540)


def test_the_settings_page_redates_in_a_background_job_with_progress(
    photos: Path, engine: Any
) -> None:
    scan([photos], get_settings(), engine, workers=1)
    with web_app() as web:
        response = web.client.post(
            "/settings", json={"timezone": "America/New_York"}, headers=SCRIPT
        )
        job_id = response.json["redating"]
        assert job_id and ("mediafix.redate", (job_id,)) in web.pending()
        assert (
            web.client.post("/settings", json={"move": True}, headers=SCRIPT).json["redating"]
            is None
        )
        with web.immediate():
            from mediafix.jobs import tasks

            tasks.redate_library(job_id)
        with web.session() as s:
            job = s.get(Job, job_id)
            assert job is not None and job.type == "redate" and job.status == "completed"
            assert job.progress_total > 0 and job.progress_current == job.progress_total
            assert "re-dated" in (job.message or "")
    assert when(rows(engine)["clip_b.mp4"]) == (datetime(2019, 9, 26, 6, 0), -240)


@pytest.mark.postgres
def test_redate_on_postgresql(photos: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIAFIX_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    settings = get_settings()
    upgrade(settings.database_url)
    engine = get_engine(settings.database_url)
    scan([photos], settings, engine, workers=1)
    assert when(rows(engine)["clip_a.mp4"]) == (datetime(2019, 9, 19, 10, 30), -240)
    with session_scope(engine) as s:
        settingsrows.set_setting(s, "timezone", "Asia/Tokyo")
    summary = redate(engine, settings)
    assert summary.changed > 0
    assert when(rows(engine)["clip_b.mp4"]) == (datetime(2019, 9, 26, 19, 0), 540)
    get_settings.cache_clear()
