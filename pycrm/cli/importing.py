"""`pycrm import …`: bring data in, all or nothing."""

from __future__ import annotations

from pathlib import Path

import typer

from pycrm.cli.context import get_context
from pycrm.cli.output import error, note, print_json

app = typer.Typer(
    help="Import from JSON backups (and other formats); undo an import.", no_args_is_help=True
)


def read_text_file(path: Path) -> str:
    """The file's text, or one clear line and exit 2."""
    import sys

    if str(path) == "-":
        return sys.stdin.read()
    if not path.exists():
        error(f"{path}: no such file")
        raise typer.Exit(2)
    if path.is_dir():
        error(f"{path}: is a directory, expected a file")
        raise typer.Exit(2)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        error(f"{path}: byte {exc.start}: not UTF-8 text")
        raise typer.Exit(2) from exc
    except OSError as exc:
        error(f"{path}: {exc.strerror}")
        raise typer.Exit(2) from exc


@app.command("json")
def import_json(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A file written by `pycrm export json` (- for stdin)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Restore a full JSON backup: records match by UUID, so importing twice changes nothing.

    Example: pycrm --db new.db import json ~/crm-backup.json
    """
    from pycrm.io.json_backup import BackupError, read_backup, restore_backup

    text = read_text_file(file)
    try:
        data = read_backup(text, str(file))
    except BackupError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    database = get_context(ctx).database()
    try:
        with database.write(f"import json {file.name}", source="import") as session:
            summary = restore_backup(session, data, str(file))
            batch = session.info["batch_id"]
    except BackupError as exc:
        error(f"{exc}; nothing was imported")
        raise typer.Exit(2) from exc
    totals = {k: sum(s[k] for s in summary.values()) for k in ("created", "updated", "unchanged")}
    if as_json:
        print_json({"batch": batch, **totals, "by_kind": summary})
        return
    if not totals["created"] and not totals["updated"]:
        note(f"imported {file}: nothing new ({totals['unchanged']} records already up to date)")
        return
    note(
        f"imported {file}: {totals['created']} created, {totals['updated']} updated, "
        f"{totals['unchanged']} unchanged (batch {batch[:8]}; `pycrm import revert {batch[:8]}` undoes it)"
    )


@app.command("revert")
def revert(
    ctx: typer.Context,
    batch: str = typer.Argument(..., help="The import's batch id (or a unique prefix)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Undo one whole import; refuses, explaining why, when later edits touched its records.

    Example: pycrm import revert 3f2a9c1e
    """
    from pycrm.cli.common import confirm_or_exit
    from pycrm.services import changelog
    from pycrm.services.errors import Conflict

    database = get_context(ctx).database()
    with database.read() as session:
        target = changelog.get_batch(session, batch)
        problems = changelog.batch_conflicts(session, target.id)
    if problems:
        raise Conflict(f"cannot revert '{target.label}': " + "; ".join(problems[:3]))
    confirm_or_exit(f"Revert '{target.label}' ({target.changes} changes)?", yes)
    with database.write(f"revert {target.label}", source="import") as session:
        count = changelog.revert_batch(session, target.id)
    note(f"reverted {target.label} ({count} changes)")
