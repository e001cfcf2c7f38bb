"""`mediafix plan`, `apply` and `undo` on a scanned library, through the command line."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.media.exiftool import ExifTool
from mediafix.media.plan import Plan
from mediafix.services import output
from mediafix.store.db import get_engine
from tests.helpers.media import make_jpeg


@pytest.fixture(autouse=True)
def _reset_engines() -> Iterator[None]:
    yield
    from mediafix.store.db import dispose_engines

    dispose_engines()


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def scanned(settings_env: Path, tmp_path: Path) -> Path:
    src = tmp_path / "photos"
    make_jpeg(
        src / "Trip to Rome" / "IMG_0001 {beach,family}.JPG",
        1,
        DateTimeOriginal="2019:09:19 05:38:57",
        OffsetTimeOriginal="+02:00",
        Make="Apple",
        Model="iPhone 8",
    )
    make_jpeg(src / "misc" / "wrong.jpg", 2, DateTimeOriginal="2020:01:02 03:04:05")
    (src / "misc" / "wrong.jpg").rename(src / "misc" / "wrong.png")  # a JPEG named .png
    make_jpeg(src / "misc" / "nodate.jpg", 3)
    os.utime(src / "misc" / "nodate.jpg", (1_500_000_000, 1_500_000_000))
    (src / "misc" / "readme.txt").write_text("hello")
    _run("scan", "-w", "1", str(src))
    return src


def test_plan_prints_one_line_per_file_as_the_json_says(scanned: Path, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    hostile = scanned / "misc" / "two\nlines \x1b[31mred.jpg"
    make_jpeg(hostile, 4, DateTimeOriginal="2018:03:04 05:06:07")
    _run("scan", "-w", "1", str(scanned))
    plan = json.loads(_run("plan", str(out), "--json"))
    lines = _run("plan", str(out)).splitlines()
    assert lines[0] == f"plan for {out}"
    rows = [line for line in lines if line.startswith(("  copy  ", "  skip  "))]
    assert len(rows) == len(plan["items"]) == 3
    for item in plan["items"]:
        target = os.path.relpath(item["target"], out)
        assert any(f" -> {target}: " in row for row in rows), (target, rows)
    (odd,) = [row for row in rows if "red.jpg" in row]  # one line, the escape disarmed
    assert "two\\nlines \\x1b[31mred.jpg -> 2018/20180304_050607.jpg" in odd
    assert "\x1b" not in "\n".join(lines)
    assert any(line.startswith("  held back: ") and "nodate.jpg" in line for line in lines)
    assert any(line.startswith("  ignored: ") and "readme.txt" in line for line in lines)
    counts = ", ".join(f"{k}: {v}" for k, v in plan["counts"].items())
    assert lines[-1] == counts


def test_undo_gives_each_row_back_its_status(scanned: Path, tmp_path: Path) -> None:
    out = tmp_path / "archive"

    def rows() -> dict[str, tuple[str, str | None]]:
        with sqlite3.connect(get_settings().data_dir / "mediafix.db") as db:
            found = db.execute("select path, status, output_path from files where kind='image'")
            return {Path(path).name: (status, output) for path, status, output in found}

    damaged = make_jpeg(scanned / "misc" / "damaged.jpg", 5, DateTimeOriginal="2017:01:02 03:04:05")
    damaged.write_bytes(damaged.read_bytes()[:-400])  # truncated: written as it is
    _run("scan", "-w", "1", str(scanned))
    before = rows()
    assert before["nodate.jpg"][0] == "review" and before["wrong.png"][0] == "ready"
    assert before["damaged.jpg"][0] == "error"
    _run("apply", str(out), "--include-review")
    written = rows()
    assert {status for status, _ in written.values()} == {"written"}
    assert all(output and Path(output).is_file() for _, output in written.values())
    _run("undo")
    assert rows() == before  # ready, review and no output, as before the apply


def test_plan_apply_twice_undo(scanned: Path, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    before = _hashes(scanned)
    text = _run("plan", str(out), "--json")
    plan = json.loads(text)
    # written list element by list element, byte for byte what one json.dumps prints
    assert text == json.dumps(plan, indent=2, ensure_ascii=True) + "\n"
    targets = {Path(i["source"]).name: i["target"] for i in plan["items"]}
    assert targets["IMG_0001 {beach,family}.JPG"] == str(out / "2019" / "20190919_053857.jpg")
    assert targets["wrong.png"] == str(out / "2020" / "20200102_030405.jpg")  # real type wins
    assert {Path(h["path"]).name for h in plan["held"]} == {"nodate.jpg"}  # awaits review
    assert {Path(i["path"]).name for i in plan["ignored"]} == {"readme.txt"}
    assert not out.exists()  # a plan writes nothing

    _run("apply", str(out))
    written = out / "2019" / "20190919_053857.jpg"
    assert written.is_file() and (out / "2020" / "20200102_030405.jpg").is_file()
    with ExifTool() as et:
        (meta,) = et.read_metadata([written])
    assert meta["ExifIFD:DateTimeOriginal"] == "2019:09:19 05:38:57"
    assert meta["ExifIFD:OffsetTimeOriginal"] == "+02:00"
    assert set(meta["XMP-dc:Subject"]) == {"Trip to Rome", "beach", "family"}
    assert os.stat(written).st_mtime == pytest.approx(1568864337, abs=1)  # 03:38:57Z
    assert _hashes(scanned) == before  # copy mode never touches a source

    outputs = _hashes(out)
    second = _run("apply", str(out))
    assert _hashes(out) == outputs  # idempotent: nothing new
    assert "already there" in second

    _run("undo")
    assert not [p for p in out.rglob("*") if p.is_file()]
    assert _hashes(scanned) == before
    again = CliRunner().invoke(main, ["undo"])
    assert again.exit_code != 0
    assert "every apply in the data folder" in again.output  # not "no journal" (issue 21)
    assert "is undone already" in again.output


def test_include_review_sends_undated_files_to_undated(scanned: Path, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    _run("apply", str(out), "--include-review")
    assert (out / "undated" / "nodate.jpg").is_file()


def test_undo_refuses_a_changed_output(scanned: Path, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    _run("apply", str(out))
    edited = out / "2019" / "20190919_053857.jpg"
    edited.write_bytes(edited.read_bytes() + b"edited")
    result = CliRunner().invoke(main, ["undo"])
    assert result.exit_code != 0
    assert edited.is_file()  # a file the user changed is never deleted
    assert "changed" in result.output


def _backdate(root: Path) -> None:
    """Make every folder and file under ``root`` an hour old: a preview only keeps a plan
    whose folders have settled (a change within an mtime's resolution could go unseen)."""
    old = time.time() - 3600
    for p in [*sorted(root.rglob("*"), reverse=True), root]:
        os.utime(p, (old, old))


def _targets(plan: Plan) -> dict[str, str]:
    return {Path(i.source).name: i.target for i in plan.items}


@pytest.mark.parametrize("change_counter", [True, False], ids=["data_version", "rows"])
def test_preview_is_kept_only_while_nothing_it_read_changed(
    scanned: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change_counter: bool
) -> None:
    if not change_counter:  # as on PostgreSQL: the rows are read again and compared
        monkeypatch.setattr(output, "_change_counter", lambda engine: None)
    settings = get_settings()
    engine = get_engine(settings.database_url)
    out = settings.output_dir
    first = output.preview(engine, settings)
    assert output.preview(engine, settings) is first  # nothing changed: the same plan
    assert output.preview(engine, settings, include_review=True) is not first

    # A date confirmed by another connection (a worker, the CLI) is seen at once.
    with sqlite3.connect(settings.data_dir / "mediafix.db") as db:
        db.execute(
            "UPDATE files SET taken_at = '2019-09-19 06:00:00.000000' WHERE name LIKE 'IMG_0001%'"
        )
    second = output.preview(engine, settings)
    assert _targets(second)["IMG_0001 {beach,family}.JPG"] == str(
        out / "2019" / "20190919_060000.jpg"
    )

    # Someone else's file appears at the target: the next preview steps around it ...
    (out / "2019").mkdir(parents=True)
    (out / "2019" / "20190919_060000.jpg").write_bytes(b"not ours")
    _backdate(out)
    third = output.preview(engine, settings)
    assert _targets(third)["IMG_0001 {beach,family}.JPG"] == str(
        out / "2019" / "20190919_060000_1.jpg"
    )
    assert output.preview(engine, settings) is third  # settled folders: kept
    # ... and when that name is taken too (a name added to a folder it looked in) ...
    (out / "2019" / "20190919_060000_1.jpg").write_bytes(b"not ours either")
    fourth = output.preview(engine, settings)
    assert _targets(fourth)["IMG_0001 {beach,family}.JPG"] == str(
        out / "2019" / "20190919_060000_2.jpg"
    )
    # ... or when a file it compared changes in place (same name, now our bytes).
    _backdate(out)
    settled = output.preview(engine, settings)
    assert settled is not fourth and settled == fourth  # an mtime moved: planned again
    assert output.preview(engine, settings) is settled
    source = scanned / "Trip to Rome" / "IMG_0001 {beach,family}.JPG"
    folder = os.stat(out / "2019")
    (out / "2019" / "20190919_060000.jpg").write_bytes(source.read_bytes())
    os.utime(out / "2019", ns=(folder.st_atime_ns, folder.st_mtime_ns))  # names unchanged
    fifth = output.preview(engine, settings)
    (item,) = [i for i in fifth.items if Path(i.source) == source]
    assert item.target == str(out / "2019" / "20190919_060000.jpg")
    assert item.action.value == "skip" and "identical" in (item.skip_reason or "")

    # An apply writes a journal: what it wrote is then "already written".
    _run("apply")
    after = output.preview(engine, settings)
    assert all(i.action.value == "skip" for i in after.items)


def test_apply_into_a_second_folder_writes_there(scanned: Path, tmp_path: Path) -> None:
    """An apply into another folder is not "already there": the journals of the first
    output do not count for the second."""
    first, second = tmp_path / "archive", tmp_path / "second"
    _run("apply", str(first))
    outputs = _hashes(first)
    plan = json.loads(_run("plan", str(second), "--json"))
    assert plan["counts"]["copy"] == 2 and plan["counts"]["skip"] == 0
    _run("apply", str(second))
    assert (second / "2019" / "20190919_053857.jpg").is_file()
    assert (second / "2020" / "20200102_030405.jpg").is_file()
    assert _hashes(first) == outputs
    again = json.loads(_run("plan", str(first), "--json"))["counts"]
    assert again["copy"] == 0 and again["skip"] == 2  # the first output is still complete


def test_a_file_moved_into_another_output_is_held_with_where_it_is(
    scanned: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "archive", tmp_path / "second"
    _run("apply", str(first), "--move")
    plan = json.loads(_run("plan", str(second), "--json"))
    held = {Path(h["path"]).name: h["reason"] for h in plan["held"]}
    target = first / "2019" / "20190919_053857.jpg"
    assert held["IMG_0001 {beach,family}.JPG"].startswith(f"already moved into {target}")
    assert not plan["items"]


def test_tags_say_where_they_come_from_and_copies_only_when_asked(
    settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "photos"
    photo = make_jpeg(
        src / "Best of" / "IMG_1 {Anna}.JPG", 1, DateTimeOriginal="2019:09:19 05:38:57"
    )
    for folder in ("Italy 2019/jpg", "Backup 2019"):
        (src / folder).mkdir(parents=True)
        (src / folder / photo.name).write_bytes(photo.read_bytes())
    make_jpeg(
        src / "phockup" / "sub_folder" / "sidecar" / "x.jpg",
        2,
        DateTimeOriginal="2019:09:19 05:38:58",
    )
    _run("scan", "-w", "1", str(src))
    out = tmp_path / "archive"
    items = {
        Path(i["source"]).parent.name: i
        for i in json.loads(_run("plan", str(out), "--json"))["items"]
    }
    assert set(items) == {"Best of", "sidecar"}
    assert items["Best of"]["tags"] == ["Best of", "Anna"]
    assert items["Best of"]["tag_sources"] == [
        {"tag": "Best of", "source": "folder", "from": "Best of"},
        {"tag": "Anna", "source": "name", "from": "IMG_1 {Anna}.JPG"},
    ]
    assert items["sidecar"]["tags"] == ["phockup"]  # no "sub_folder", no "sidecar"

    monkeypatch.setenv("MEDIAFIX_TAGS_FROM_COPIES", "true")
    get_settings.cache_clear()
    item = next(
        i for i in json.loads(_run("plan", str(out), "--json"))["items"] if "Best of" in i["source"]
    )
    assert item["tags"] == ["Best of", "Anna", "Italy 2019"]  # not "jpg", not "Backup 2019"
    assert item["tag_sources"][2] == {
        "tag": "Italy 2019",
        "source": "copy",
        "from": "Italy 2019/jpg/IMG_1 {Anna}.JPG",
    }


def test_a_dropped_folders_own_name_is_no_tag(settings_env: Path, tmp_path: Path) -> None:
    """A web upload lands in DATA_DIR/uploads/<job>/<the folder dropped>/...: that folder is
    what was imported, like the folder named to `mediafix scan`."""
    upload = settings_env / "uploads" / "7"
    make_jpeg(
        upload / "lychee-samples" / "Rome" / "IMG_1.JPG", 1, DateTimeOriginal="2019:09:19 05:38:57"
    )
    make_jpeg(upload / "lychee-samples" / "IMG_2.JPG", 2, DateTimeOriginal="2019:09:19 05:38:58")
    _run("scan", "-w", "1", str(upload))
    items = json.loads(_run("plan", str(tmp_path / "archive"), "--json"))["items"]
    assert {Path(i["source"]).name: i["tags"] for i in items} == {
        "IMG_1.JPG": ["Rome"],
        "IMG_2.JPG": [],
    }


def _library_to_move(tmp_path: Path) -> Path:
    """A scanned library with what a move touches: dated and undated photos, a sidecar, a
    discarded exact copy in a backup folder, a file that is not media."""
    src = tmp_path / "photos"
    original = make_jpeg(src / "Trip" / "IMG_0001.JPG", 1, DateTimeOriginal="2019:09:19 05:38:57")
    make_jpeg(src / "Trip" / "IMG_0002.JPG", 2, DateTimeOriginal="2019:09:20 10:00:00")
    make_jpeg(src / "misc" / "nodate.jpg", 3)
    (src / "misc" / "nodate.AAE").write_text("<plist>edits</plist>")  # travels with its file
    (src / "misc" / "readme.txt").write_text("hello")
    (src / "Backup 2019").mkdir()
    (src / "Backup 2019" / "copy.JPG").write_bytes(original.read_bytes())
    _run("scan", "-w", "1", str(src))
    return src


def test_move_then_undo_gives_every_source_back_byte_for_byte(
    settings_env: Path, tmp_path: Path
) -> None:
    """Issue 16: after `apply --move` then `undo`, sources came back with mediafix's
    metadata written into them (the original bytes existed nowhere)."""
    src, out = _library_to_move(tmp_path), tmp_path / "archive"
    before = _hashes(src)
    _run("apply", str(out), "--move", "--include-review")
    left = _hashes(src)
    assert set(left) == {str(src / "misc" / "readme.txt")}  # not media: never moved
    # every moved source's original bytes are kept in OUTPUT until purged (the discarded
    # copy in the trash folder, as before)
    held = _hashes(out / ".originals")
    assert sorted(held.values()) == sorted(
        d for p, d in before.items() if p not in left and "Backup 2019" not in p
    )
    _run("undo")
    assert _hashes(src) == before
    assert not [p for p in out.rglob("*") if p.is_file()]


def test_purge_empties_the_originals_after_showing_what_and_how_much(
    settings_env: Path, tmp_path: Path
) -> None:
    src, out = _library_to_move(tmp_path), tmp_path / "archive"
    before = _hashes(src)
    applied = _run("apply", str(out), "--move", "--include-review")
    assert "originals kept until `mediafix purge`" in applied
    held = _hashes(out / ".originals")
    size = sum(p.stat().st_size for p in (out / ".originals").rglob("*") if p.is_file())
    assert _run("purge", str(out), "--older-than", "1").startswith("nothing to purge")
    refused = CliRunner().invoke(main, ["purge", str(out)], input="")  # not a terminal
    assert refused.exit_code == 1 and "add --yes" in refused.output
    assert _hashes(out / ".originals") == held  # nothing removed without a yes
    shown = _run("purge", str(out), "--yes")
    assert f"{len(held)} files" in shown and f"purged {len(held)} originals" in shown
    assert f"{size / 1000:.1f} KB freed" in shown
    assert not (out / ".originals").exists()
    records = [
        json.loads(line)
        for journal in (settings_env / "journals").glob("*.jsonl")
        for line in journal.read_text().splitlines()
    ]
    assert [r["files"] for r in records if r["type"] == "purged"] == [len(held)]
    # undo still gives every photo back: from the archive, and says so
    undone = _run("undo")
    assert f"{len(held)} of them came back from the archive" in undone
    assert set(_hashes(src)) == set(before)
