"""docs/cli.md documents every command and flag of the real app, and every command has help."""

from __future__ import annotations

from pathlib import Path

import typer

from pycrm.cli.app import app
from pycrm.cli.gendocs import walk

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_every_command_and_flag_is_in_docs_cli_md() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for path, command in walk(typer.main.get_command(app), ["pycrm"]):
        title = " ".join(path)
        if f"## `{title}`" not in text:
            missing.append(title)
            continue
        section = text.split(f"## `{title}`", 1)[1].split("\n## `", 1)[0]
        for param in command.params:
            for flag in getattr(param, "opts", []):
                if (
                    flag.startswith("-")
                    and f"`{flag}" not in section
                    and f", {flag}" not in section
                ):
                    missing.append(f"{title} {flag}")
    assert missing == [], (
        f"missing from docs/cli.md (run python -m pycrm.cli.gendocs > docs/cli.md): {missing}"
    )


def test_every_leaf_command_has_help_with_an_example() -> None:
    lacking = []
    for path, command in walk(typer.main.get_command(app), ["pycrm"]):
        if getattr(command, "commands", None) or len(path) == 1:
            continue
        if "Example:" not in (command.help or ""):
            lacking.append(" ".join(path))
    assert lacking == []
