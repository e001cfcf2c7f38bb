"""`mediafix dupes`: exact, near and burst groups from a real scan, decisions that stick."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.services.duplicates import regroup
from mediafix.store.db import get_engine, session_scope
from mediafix.store.models import Decision, File
from tests.helpers.media import make_jpeg, scene, text_page, write_tags


@pytest.fixture(autouse=True)
def _reset_engines() -> Iterator[None]:
    yield
    from mediafix.store.db import dispose_engines

    dispose_engines()


@pytest.fixture
def dupes_library(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    original = make_jpeg(
        root / "camera" / "IMG_1000.JPG",
        11,
        (1600, 1200),
        DateTimeOriginal="2020:07:04 12:00:00",
        Make="Canon",
        Model="EOS R",
    )
    # WhatsApp-like copy: smaller, recompressed, metadata stripped.
    wa = Image.open(original).resize((800, 600), Image.Resampling.LANCZOS)
    (root / "whatsapp").mkdir(parents=True)
    wa.save(root / "whatsapp" / "IMG-20200704-WA0001.jpg", "JPEG", quality=70)
    # A byte-identical backup copy.
    (root / "backup").mkdir()
    shutil.copy2(original, root / "backup" / "IMG_1000.JPG")
    # A different photo.
    make_jpeg(
        root / "camera" / "IMG_1001.JPG",
        99,
        (1600, 1200),
        DateTimeOriginal="2020:07:04 13:00:00",
        Make="Canon",
        Model="EOS R",
    )
    # A burst: two frames of one scene, one camera, half a second apart, slightly different.
    base = scene(55, (1600, 1200))
    for n, (shift, subsec) in enumerate(((0, "10"), (6, "60"))):
        frame = base.copy()
        ImageDraw.Draw(frame).ellipse((700 + shift * 10, 500, 800 + shift * 10, 600), fill="white")
        path = root / "burst" / f"IMG_20{n}.JPG"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.save(path, "JPEG", quality=92)
        write_tags(
            path,
            DateTimeOriginal="2020:07:05 09:30:00",
            SubSecTimeOriginal=subsec,
            Make="Apple",
            Model="iPhone 12",
        )
    return root


def _dupes(*args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["dupes", "--json", *args])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # written group by group, byte for byte what one json.dumps of the whole prints
    assert result.stdout == json.dumps(data, indent=2, ensure_ascii=True) + "\n"
    return data  # type: ignore[no-any-return]


def test_dupes_json_is_the_same_read_in_chunks(
    settings_env: Path, dupes_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mediafix.store import duplicates

    _scan(dupes_library)
    whole = _dupes()
    assert len(whole["groups"]) >= 2
    monkeypatch.setattr(duplicates, "GROUPS_CHUNK", 1)
    assert _dupes() == whole
    assert _dupes("--type", "exact")["groups"] == [
        g for g in whole["groups"] if g["type"] == "exact"
    ]


def test_dupes_json_of_a_library_without_groups(settings_env: Path) -> None:
    assert _dupes() == {"groups": []}


def _scan(root: Path) -> None:
    result = CliRunner().invoke(main, ["scan", "-w", "1", str(root)])
    assert result.exit_code == 0, result.output


def test_groups_and_keepers(settings_env: Path, dupes_library: Path) -> None:
    _scan(dupes_library)
    data = _dupes()
    by_type: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for g in data["groups"]:
        assert set(g) >= {"id", "type", "keeper", "reasons", "members"}
        for m in g["members"]:
            assert set(m) >= {"path", "keep", "distance"}
        by_type.setdefault(g["type"], []).append(g)

    (exact,) = by_type["exact"]
    assert {Path(m["path"]).parent.name for m in exact["members"]} == {"camera", "backup"}
    assert sum(m["keep"] for m in exact["members"]) == 1

    (near,) = by_type["near"]
    # Every copy of the picture: the original, its byte-identical backup and the WhatsApp copy.
    names = sorted(str(Path(m["path"]).relative_to(dupes_library)) for m in near["members"])
    assert names == [
        "backup/IMG_1000.JPG",
        "camera/IMG_1000.JPG",
        "whatsapp/IMG-20200704-WA0001.jpg",
    ]
    assert Path(near["keeper"]).name == "IMG_1000.JPG"  # the original, not the WhatsApp copy
    assert any("1600x1200" in r for r in near["reasons"])
    assert any("1 byte-identical copy" in r for r in near["reasons"])
    kept = [m["path"] for m in near["members"] if m["keep"]]
    assert kept == [near["keeper"]]
    # The exact group keeps the same copy: one decision, whichever group shows it.
    assert [m["path"] for m in exact["members"] if m["keep"]] == kept

    (burst,) = by_type["burst"]
    assert all(m["keep"] for m in burst["members"])  # never suggested for discarding
    assert not any("IMG_1001" in m["path"] for g in data["groups"] for m in g["members"])
    summary = regroup(get_engine(get_settings().database_url), get_settings())
    assert (summary.exact, summary.near, summary.burst) == (1, 1, 1)
    assert summary.files_in_groups == 5  # camera + backup + WhatsApp + two frames, once each


def test_pages_in_one_layout_are_not_grouped_but_their_copies_are(
    settings_env: Path, tmp_path: Path
) -> None:
    # Letters in one layout: several pairs come within the 64-bit threshold (see
    # test_fingerprint); the detail hash must keep them apart and still join the copies.
    root = tmp_path / "scans"
    root.mkdir()
    for seed in range(12):
        text_page(seed).save(root / f"letter_{seed:02d}.png")
    for seed in (0, 5):
        copy = text_page(seed).resize((496, 702), Image.Resampling.LANCZOS)
        copy.save(root / f"letter_{seed:02d}_whatsapp.jpg", "JPEG", quality=70)
    _scan(root)
    groups = [sorted(Path(m["path"]).name for m in g["members"]) for g in _dupes()["groups"]]
    assert sorted(groups) == [
        ["letter_00.png", "letter_00_whatsapp.jpg"],
        ["letter_05.png", "letter_05_whatsapp.jpg"],
    ]


def test_images_scanned_before_detail_hashes_get_one_at_the_next_scan(
    settings_env: Path, dupes_library: Path
) -> None:
    _scan(dupes_library)
    engine = get_engine(get_settings().database_url)
    with session_scope(engine) as s:
        rows = s.scalars(select(File).where(File.kind == "image")).all()
        assert rows and all(r.detail_hash and len(r.detail_hash) == 64 for r in rows)
        old = rows[0]
        old.detail_hash = None  # as an older mediafix left it
        old_path, total = old.path, s.scalar(select(func.count()).select_from(File))
    result = CliRunner().invoke(main, ["scan", "-w", "1", str(dupes_library)])
    assert result.exit_code == 0, result.output
    # Only that file was probed again: the others were unchanged.
    lines = {
        " ".join(line.split()[:-1]): line.split()[-1]
        for line in result.output.splitlines()
        if line.strip()
    }
    assert (lines["probed"], lines["unchanged (skipped)"]) == ("1", str(total - 1))
    with session_scope(engine) as s:
        assert s.scalars(select(File.detail_hash).where(File.path == old_path)).one()


def test_a_choice_about_content_keeps_one_byte_identical_copy(
    settings_env: Path, dupes_library: Path
) -> None:
    # A choice whose file row is gone (the file moved) is applied by content: in the near
    # group, which holds both byte-identical copies, only one of them is kept.
    _scan(dupes_library)
    engine = get_engine(get_settings().database_url)
    with session_scope(engine) as s:
        original = s.scalars(select(File).where(File.path.like("%camera%IMG_1000.JPG"))).one()
        whatsapp = s.scalars(select(File).where(File.path.like("%WA0001.jpg"))).one()
        s.add(Decision(kind="keep", file_id=None, sha256=original.sha256, payload={}))
        s.add(Decision(kind="keep", file_id=None, sha256=whatsapp.sha256, payload={}))
    regroup(engine, get_settings())
    groups = _dupes()["groups"]
    near = next(g for g in groups if g["type"] == "near")
    exact = next(g for g in groups if g["type"] == "exact")
    kept = sorted(m["path"] for m in near["members"] if m["keep"])
    assert kept == sorted(
        [exact["keeper"], str(dupes_library / "whatsapp/IMG-20200704-WA0001.jpg")]
    )
    assert near["status"] == "resolved"


def test_not_duplicates_survives_a_rescan(settings_env: Path, dupes_library: Path) -> None:
    _scan(dupes_library)
    near = next(g for g in _dupes()["groups"] if g["type"] == "near")
    engine = get_engine(get_settings().database_url)
    with session_scope(engine) as s:
        files = [
            s.scalars(select(File).where(File.path == m["path"])).one() for m in near["members"]
        ]
        a, b = {f.sha256: f for f in files}.values()  # the two different contents
        s.add(
            Decision(
                kind="not_duplicate",
                file_id=a.id,
                sha256=a.sha256,
                other_sha256=b.sha256,
                payload={},
            )
        )
    regroup(engine, get_settings())
    assert not [g for g in _dupes()["groups"] if g["type"] == "near"]
    # A rescan (touching a file so it is probed again) keeps the decision.
    wa = next(dupes_library.rglob("IMG-20200704-WA0001.jpg"))
    wa.touch()
    _scan(dupes_library)
    assert not [g for g in _dupes()["groups"] if g["type"] == "near"]


def test_threshold_change_regroups_without_reprobing(
    settings_env: Path, dupes_library: Path
) -> None:
    _scan(dupes_library)
    engine = get_engine(get_settings().database_url)
    with session_scope(engine) as s:
        before = {f.path: f.scanned_at for f in s.scalars(select(File))}
    tight = _dupes("--threshold", "0")
    assert not [
        g
        for g in tight["groups"]
        if g["type"] == "near" and any(m["distance"] > 0 for m in g["members"])
    ]
    loose = _dupes("--threshold", "12")
    assert [g for g in loose["groups"] if g["type"] == "near"]
    with session_scope(engine) as s:
        after = {f.path: f.scanned_at for f in s.scalars(select(File))}
    assert before == after  # nothing was probed again


def test_reencoded_video_is_a_near_copy(settings_env: Path, tmp_path: Path) -> None:
    pytest.importorskip("av")
    from tests.helpers.videogen import make_video

    root = tmp_path / "videos"
    make_video(root / "VID_20200101_120000.mp4", seed=7)
    make_video(root / "sent" / "VID-20200101-WA0003.mp4", seed=7, scale=0.5)  # re-encoded
    make_video(root / "other.mp4", seed=8)
    _scan(root)
    groups = [g for g in _dupes()["groups"] if g["type"] == "near"]
    assert len(groups) == 1
    names = {Path(m["path"]).name for m in groups[0]["members"]}
    assert names == {"VID_20200101_120000.mp4", "VID-20200101-WA0003.mp4"}
    assert Path(groups[0]["keeper"]).name == "VID_20200101_120000.mp4"  # the larger original
    assert "video" in groups[0]["reasons"][0]


_LARGE_BLOCKS = """
import sys
import numpy as np
from mediafix.config import get_settings
from mediafix.services.duplicates import regroup
from mediafix.store.db import get_engine, upgrade


def mapping_of(address):
    for line in open("/proc/self/maps"):
        fields = line.split()
        low, high = (int(x, 16) for x in fields[0].split("-"))
        if low <= address < high:
            return fields[5] if len(fields) > 5 else ""


settings = get_settings()
upgrade(settings.database_url)
freed = np.ones(16 << 20, dtype=np.uint8)  # glibc's threshold grows to a mapped block freed
del freed
if sys.argv[1] == "regroup":
    regroup(get_engine(settings.database_url), settings)
block = np.ones(4 << 20, dtype=np.uint8)
print(mapping_of(block.ctypes.data))
"""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps")
def test_after_a_regroup_big_arrays_get_mappings_given_back_when_freed(
    settings_env: Path,
) -> None:
    # A regroup's big arrays (millions of candidate pairs) must not come from the heap,
    # where the holes they leave stay resident for the rest of the process (issue #20).
    def where(step: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", _LARGE_BLOCKS, step],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert where("none") == "[heap]"  # glibc's own way: the check can tell them apart
    assert where("regroup") != "[heap]"
