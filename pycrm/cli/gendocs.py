"""Generate docs/cli.md from the real Typer app: `python -m pycrm.cli.gendocs > docs/cli.md`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import typer

HEADER = """# pycrm command reference

Generated from the program itself (`python -m pycrm.cli.gendocs > docs/cli.md`); a test fails when a
command or flag is missing here. Exit codes: 0 success · 1 failure while working · 2 usage or input
error (bad flag, bad file, ambiguous REF) · 3 not found. `--json` prints exactly one JSON document.

REF is an id, an e-mail, or a search string matching exactly one record. WHEN accepts ISO dates,
local dates in the configured order (`25/11/2026`), times (`14:00`, `2pm`) and relative forms
(`today`, `tomorrow 10:00`, `+3d`, `-2w`, `next monday`, `in 2 weeks`).
"""


def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    """Every command in the tree with its full path."""
    yield path, command
    if not hasattr(command, "list_commands"):
        return
    context = click_context(command)
    for name in sorted(command.list_commands(context)):
        yield from walk(command.get_command(context, name), [*path, name])


def click_context(command: Any) -> Any:
    """A throw-away context, enough for a group to list and load its sub-commands."""
    return command.context_class(command)


def render() -> str:
    """The whole reference as Markdown."""
    from pycrm.cli.app import app

    root = typer.main.get_command(app)
    out = [HEADER]
    for path, command in walk(root, ["pycrm"]):
        if getattr(command, "hidden", False):
            continue
        title = " ".join(path)
        out.append(f"\n## `{title}`\n")
        help_text = (command.help or "").strip()
        if help_text:
            out.append(help_text.replace("\b", "").strip() + "\n")
        rows = []
        for param in command.params:
            if param.param_type_name == "argument":
                rows.append(
                    ((param.name or "").upper(), "argument", getattr(param, "help", "") or "")
                )
            elif not param.hidden:
                flags = ", ".join([*param.opts, *param.secondary_opts])
                rows.append((flags, "option", param.help or ""))
        if rows:
            out.append("\n| parameter | kind | meaning |\n|---|---|---|")
            out.extend(
                f"| `{name}` | {kind} | {text.replace('|', '/')} |" for name, kind, text in rows
            )
            out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
