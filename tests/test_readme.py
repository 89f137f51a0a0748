"""The README stays true where it can be checked mechanically: every setting and every command."""

from pathlib import Path

from cli.main import build_parser
from config import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    table = README[README.index("## Configuration") : README.index("## Benchmarks")]
    missing = [name for name in Settings.model_fields if f"`HASHMATCH_{name.upper()}`" not in table]
    assert missing == []


def test_every_command_appears_in_the_readme() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert isinstance(commands, dict)
    missing = [name for name in commands if f"hashmatch {name}" not in README]
    assert missing == []
