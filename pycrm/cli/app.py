"""The command line's entry point, ``main()``, and what the two ways of running a command share.

A command runs in one of two ways. The quickest reads (``find``, ``contact list``, ``contact
show``) given plain arguments run straight from ``pycrm.cli.quick``, without importing Typer or
Click or building any command (~0.1 s of their start-up). Everything else, including those
commands with ``--help`` or an argument the quick path does not recognise, goes to the Typer app
in ``pycrm.cli.root``; ``app`` here is that app, imported on first use.

Command groups live one per module in ``pycrm.cli`` and are listed in ``COMMANDS`` (command name →
module); each module exposes either ``app`` (a Typer group) or ``register(root_app)`` for top-level
commands. See ``pycrm.cli.root``.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

# Command name → module, in --help order. A module with ``app`` becomes ``pycrm NAME …``; one with
# ``register(app)`` adds top-level commands (each of its names is listed here).
COMMANDS: dict[str, str] = {
    "init": "pycrm.cli.setup",
    "demo": "pycrm.cli.setup",
    "find": "pycrm.cli.everyday",
    "log": "pycrm.cli.everyday",
    "today": "pycrm.cli.everyday",
    "undo": "pycrm.cli.everyday",
    "history": "pycrm.cli.everyday",
    "db": "pycrm.cli.db",
    "contact": "pycrm.cli.contact",
    "company": "pycrm.cli.company",
    "deal": "pycrm.cli.deal",
    "followup": "pycrm.cli.followup",
    "meeting": "pycrm.cli.meeting",
    "import": "pycrm.cli.importing",
    "export": "pycrm.cli.exporting",
    "report": "pycrm.cli.report",
}


def error_exit_code(exc: BaseException) -> int | None:
    """The exit code for an expected error, or None for a bug (which should show a traceback)."""
    from pycrm.services.errors import ServiceError

    if isinstance(exc, ServiceError):
        return exc.exit_code
    if "pycrm.dbfile" in sys.modules:
        from pycrm.dbfile import DatabaseError

        if isinstance(exc, DatabaseError):
            return 1
    if "sqlalchemy" in sys.modules:
        import sqlalchemy.exc

        if isinstance(exc, sqlalchemy.exc.OperationalError):
            return 1
    if "sqlite3" in sys.modules:
        import sqlite3

        if isinstance(exc, sqlite3.OperationalError):  # `find` reads a file through sqlite3
            return 1
    if isinstance(exc, PermissionError | FileNotFoundError | IsADirectoryError):
        return 2
    return None


def report_error(exc: BaseException) -> int | None:
    """For an expected error: say what went wrong on stderr (a line, then any details) and give
    the exit code. None for a bug, which the caller lets through as a traceback."""
    code = error_exit_code(exc)
    if code is None:
        return None
    from pycrm.cli.output import error

    error(str(exc))
    for line in getattr(exc, "details", lambda: [])():
        error(line, prefix="  ")
    return code


def main() -> None:
    """Console-script entry point (the process ends when it returns)."""
    try:
        from pycrm.cli.quick import run_quick

        code = run_quick(sys.argv[1:])
        if code is not None:
            sys.exit(code)
        from pycrm.cli.root import app

        app()
    finally:
        # The process is about to exit: move everything still alive (SQLAlchemy's thousands of
        # classes and functions, mostly in reference cycles) out of the cycle collector's reach,
        # so the interpreter's exit-time collections skip them. The OS frees the memory anyway;
        # the database was closed when the command ended. ~0.15 s of a quick command's 0.8 s.
        gc.freeze()


def __getattr__(name: str) -> Any:
    """``app`` (and ``PycrmGroup``) live in ``pycrm.cli.root``, imported only when asked for."""
    if name in ("app", "PycrmGroup"):
        from pycrm.cli import root

        return getattr(root, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
