"""The root Typer app: global ``--db``, ``--version``, no-argument → the full-screen app.

Command groups live one per module in ``pycrm.cli`` and are listed in ``pycrm.cli.app.COMMANDS``
(command name → module); each module exposes either ``app`` (a Typer group) or
``register(root_app)`` for top-level commands. Nothing is imported until a command is invoked:
``pycrm today`` loads only ``pycrm.cli.everyday`` and builds only its own click command, which
keeps commands quick (building every command's parameters for every call cost ~60 ms). ``--help``
loads them all. Modules import services lazily inside commands for the same reason. The quickest
reads do not come here at all when their arguments are plain (``pycrm.cli.quick``).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

from pycrm import __version__
from pycrm.cli.app import COMMANDS, report_error


class PycrmGroup(TyperGroup):
    """Turns domain and database errors into one line on stderr and the documented exit code."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        extra = [name for name in self.commands if name not in COMMANDS]
        return [*COMMANDS, *extra]  # keep the documented order in --help

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in COMMANDS:
            command = _load_command(cmd_name)
            self.commands[cmd_name] = command
        return command

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)  # type: ignore[arg-type]
        except Exception as exc:
            code = report_error(exc)
            if code is None:
                raise
            raise typer.Exit(code) from exc
        finally:
            from pycrm.cli.context import CliContext

            if isinstance(ctx.obj, CliContext):
                ctx.obj.close()  # here, not at exit: see main()


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


def _load_command(name: str) -> Any:
    """Import the module behind ``name`` and build just that click command (or group)."""
    module = importlib.import_module(COMMANDS[name])
    if hasattr(module, "register"):
        holder = typer.Typer(rich_markup_mode=None)
        module.register(holder)
        return typer.main.get_group(holder).commands[name]
    module.app.rich_markup_mode = None  # as the root: plain help, names never read as markup
    group = typer.main.get_group(module.app)
    group.name = name
    return group
