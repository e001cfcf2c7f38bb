"""Start-up: what `mediafix --version` and `inspect` of one file load (issue #20).

Their time is measured in bench/scale.py; here, the modules they must not import, checked
in a fresh interpreter running the real command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers.media import make_jpeg

HEAVY = ("sqlalchemy", "alembic", "flask", "huey", "numpy")


def _run_cli(args: list[str], cwd: Path) -> tuple[str, set[str]]:
    """Run ``mediafix ARGS`` in a new interpreter; its stdout and the modules it imported."""
    code = (
        "import sys\n"
        "from mediafix.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:], prog_name='mediafix')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('\\n@modules@', ' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, check=True
    )
    text, _, modules = done.stdout.rpartition("\n@modules@ ")
    return text, set(modules.split())


def test_version_loads_no_database_settings_or_web(tmp_path: Path) -> None:
    text, modules = _run_cli(["--version"], tmp_path)
    assert "mediafix, version" in text
    assert modules.isdisjoint({*HEAVY, "pydantic", "pydantic_settings", "rich"}), modules


def test_inspect_of_one_file_loads_no_database_or_web(settings_env: Path, tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "IMG_0001.jpg", DateTimeOriginal="2021:06:12 10:11:12")
    text, modules = _run_cli(["inspect", "--json", str(photo)], tmp_path)
    record = json.loads(text)[0]
    assert record["taken_at"].startswith("2021-06-12T10:11:12")
    assert modules.isdisjoint({"sqlalchemy", "alembic", "flask", "huey"}), modules
