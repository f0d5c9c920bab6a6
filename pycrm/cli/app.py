"""The root Typer app: global ``--db``, ``--version``, no-argument → the full-screen app.

Command groups live one per module in ``pycrm.cli`` and are registered from ``COMMAND_MODULES``;
each module exposes either ``app`` (a Typer group) or ``register(root_app)`` for top-level commands.
Modules import services lazily inside commands so ``pycrm --help`` and quick commands stay fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from pycrm import __version__

# name → module. A module with ``app`` becomes ``pycrm NAME …``; one with ``register`` adds its own.
COMMAND_MODULES: dict[str, str] = {
    "db": "pycrm.cli.db",
    "setup": "pycrm.cli.setup",
    "contact": "pycrm.cli.contact",
    "company": "pycrm.cli.company",
    "deal": "pycrm.cli.deal",
    "followup": "pycrm.cli.followup",
    "meeting": "pycrm.cli.meeting",
    "everyday": "pycrm.cli.everyday",
    "import": "pycrm.cli.importing",
    "export": "pycrm.cli.exporting",
    "report": "pycrm.cli.report",
}


class PycrmGroup(TyperGroup):
    """Turns domain and database errors into one line on stderr and the documented exit code."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(self.commands)  # keep registration order in --help

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)  # type: ignore[arg-type]
        except Exception as exc:
            code = error_exit_code(exc)
            if code is None:
                raise
            from pycrm.cli.output import error

            error(str(exc))
            for line in getattr(exc, "details", lambda: [])():
                error(line, prefix="  ")
            raise typer.Exit(code) from exc


def error_exit_code(exc: BaseException) -> int | None:
    """The exit code for an expected error, or None for a bug (which should show a traceback)."""
    from pycrm.services.errors import ServiceError

    if isinstance(exc, ServiceError):
        return exc.exit_code
    if "pycrm.db" in sys.modules:
        from pycrm.db import DatabaseError

        if isinstance(exc, DatabaseError):
            return 1
    if "sqlalchemy" in sys.modules:
        import sqlalchemy.exc

        if isinstance(exc, sqlalchemy.exc.OperationalError):
            return 1
    if isinstance(exc, PermissionError | FileNotFoundError | IsADirectoryError):
        return 2
    return None


app = typer.Typer(
    cls=PycrmGroup,
    name="pycrm",
    help="pycrm: a keyboard-first CRM in your terminal. Run with no command to open the app.",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pycrm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: str = typer.Option(
        None,
        "--db",
        envvar="PYCRM_DB",
        help="Database file path or SQLAlchemy URL.",
        show_default=False,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Open the full-screen app when no command is given."""
    from pycrm.cli.context import CliContext

    ctx.obj = CliContext(db_arg=db)
    if ctx.invoked_subcommand is None:
        from pycrm.cli.context import open_tui

        open_tui(ctx.obj)


def _register_all() -> None:
    for name, module_name in COMMAND_MODULES.items():
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        if hasattr(module, "register"):
            module.register(app)
        elif hasattr(module, "app"):
            app.add_typer(module.app, name=name)


_register_all()


def main() -> None:
    """Console-script entry point."""
    app()
