"""`pycrm db …`: where the database is, backups, checks, upgrades and statistics."""

from __future__ import annotations

from pathlib import Path

import typer

from pycrm.cli.context import get_context
from pycrm.cli.output import error, line, note, print_json, table

app = typer.Typer(
    help="Database care: path, backup, restore, check, upgrade, stats.", no_args_is_help=True
)


@app.command("path")
def db_path(ctx: typer.Context) -> None:
    """Print where the database is.

    Example: pycrm db path
    """
    from pycrm.db import is_url, resolve_url

    settings = get_context(ctx).settings
    line(
        settings.db if is_url(settings.db) else resolve_url(settings.db).removeprefix("sqlite:///")
    )


@app.command("backup")
def db_backup(
    ctx: typer.Context,
    path: Path = typer.Argument(None, help="Where to write the copy (a file or a directory)."),
) -> None:
    """Copy the database consistently, even while others write (SQLite online backup), mode 0600.

    Example: pycrm db backup ~/backups/
    """
    from pycrm.db import default_backup_name

    database = get_context(ctx).database()
    if database.path is None:
        error("backup works on SQLite files; use pg_dump for PostgreSQL")
        raise typer.Exit(2)
    target = path or database.path.with_name(default_backup_name(database.path))
    written = database.backup(target)
    line(str(written))


@app.command("restore")
def db_restore(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="A backup made by `pycrm db backup`."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Replace the database with a backup (the current file is kept beside it first).

    Example: pycrm db restore ~/backups/pycrm.backup-20261122T101500Z.db
    """
    import sys

    from pycrm.db import is_url, resolve_url, restore_backup

    settings = get_context(ctx).settings
    if is_url(settings.db):
        error("restore works on SQLite files")
        raise typer.Exit(2)
    if not path.is_file():
        error(f"{path}: no such backup file")
        raise typer.Exit(2)
    target = Path(resolve_url(settings.db).removeprefix("sqlite:///"))
    if not yes:
        if not sys.stdin.isatty():
            error("restoring replaces the database; add --yes to confirm when not on a terminal")
            raise typer.Exit(2)
        if not typer.confirm(f"Replace {target} with {path}?", default=False):
            raise typer.Exit(1)
    kept = restore_backup(target, path)
    note(f"restored {path} → {target}; the previous database was kept at {kept}")


@app.command("check")
def db_check(ctx: typer.Context) -> None:
    """Run integrity and foreign-key checks; exit 1 when a problem is found.

    Example: pycrm db check
    """
    from pycrm.db import integrity_problems

    database = get_context(ctx).database(create=False)
    problems = integrity_problems(database)
    for problem in problems:
        error(problem)
    if problems:
        raise typer.Exit(1)
    line("ok")


@app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Bring the schema up to date (a timestamped backup is made first).

    Example: pycrm db upgrade
    """
    from pycrm.db import current_revision

    database = get_context(ctx).database()
    line(f"schema {current_revision(database)} (up to date)")


@app.command("stats")
def db_stats(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Row counts per table and the file size.

    Example: pycrm db stats --json
    """
    from pycrm.db import table_counts

    database = get_context(ctx).database(create=False)
    counts = table_counts(database)
    size = None
    if database.path is not None:
        size = sum(
            p.stat().st_size for p in (database.path, Path(f"{database.path}-wal")) if p.exists()
        )
    if as_json:
        print_json({"database": database.where, "bytes": size, "tables": counts})
        return
    table(["table", "rows"], sorted(counts.items()))
    if size is not None:
        note(f"{database.path}: {size / 1_048_576:.1f} MiB")
