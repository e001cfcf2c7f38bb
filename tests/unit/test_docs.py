"""The documentation matches the code: every setting and every command is documented."""

from __future__ import annotations

import click

from mediafix.cli import main
from mediafix.config import SETTINGS, Settings
from tests.helpers.paths import DOCS, REPO

README = REPO / "README.md"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    for setting in SETTINGS:
        assert f"`MEDIAFIX_{setting.name}`" in text, f"MEDIAFIX_{setting.name} is not documented"


def test_settings_table_matches_the_settings_class() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert fields == {s.name for s in SETTINGS}


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            names.extend(_commands(cmd, full + " "))
        else:
            names.append(full)
    return names


def test_every_command_is_in_the_readme() -> None:
    text = README.read_text()
    for name in _commands(main):
        assert f"mediafix {name}" in text, f"`mediafix {name}` is not in the README"
