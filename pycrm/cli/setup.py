"""`pycrm init` and `pycrm demo`: create a database, optionally full of realistic sample data."""

from __future__ import annotations

import typer

from pycrm.cli.context import CliContext, get_context, open_tui
from pycrm.cli.output import line, note


def register(app: typer.Typer) -> None:
    """Add the top-level `init` and `demo` commands."""
    app.command("init")(init)
    app.command("demo")(demo)


def init(
    ctx: typer.Context,
    demo_contacts: int = typer.Option(
        0, "--demo", help="Also fill it with N sample contacts.", min=0
    ),
) -> None:
    """Create the database (optionally seeded with sample data) and print where it is.

    Example: pycrm init --demo 200
    """
    context = get_context(ctx)
    database = context.database()
    if demo_contacts:
        _seed(database, demo_contacts)
    line(database.where)


def demo(
    ctx: typer.Context,
    contacts: int = typer.Option(300, "--contacts", help="How many sample contacts.", min=1),
    seed: int = typer.Option(7, "--seed", help="Random seed, for repeatable data."),
    no_app: bool = typer.Option(
        False, "--no-app", help="Only create the database and print where it is."
    ),
) -> None:
    """Open the app on a throw-away database full of realistic sample data.

    Example: pycrm demo --contacts 1000
    """
    import tempfile
    from pathlib import Path

    context = get_context(ctx)
    if context.db_arg is None:
        folder = Path(tempfile.mkdtemp(prefix="pycrm-demo-"))
        context = CliContext(db_arg=str(folder / "demo.db"))
        ctx.find_root().obj = context
    database = context.database()
    summary = _seed(database, contacts, seed=seed)
    where = database.where
    note(f"demo database: {where}")
    note("holds: " + ", ".join(f"{n} {k}" for k, n in summary.items()))
    if no_app:
        line(where)
        return
    open_tui(context)


def _seed(database: object, contacts: int, *, seed: int = 7) -> dict[str, int]:
    import sys

    from pycrm.demo import seed_demo

    progress = None
    if sys.stderr.isatty():
        from rich.progress import Progress

        progress = Progress(transient=True)
    if progress is None:
        return seed_demo(database, contacts=contacts, seed=seed)  # type: ignore[arg-type]
    with progress:
        task = progress.add_task("creating sample data", total=100)
        return seed_demo(
            database,  # type: ignore[arg-type]
            contacts=contacts,
            seed=seed,
            on_progress=lambda frac: progress.update(task, completed=frac * 100),
        )
