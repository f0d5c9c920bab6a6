"""Per-invocation state shared by commands: the chosen database, opened once, lazily."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not imported at run time: the quick commands run without Typer
    import sqlite3

    import typer

    from pycrm.config import Settings
    from pycrm.db import Database
    from pycrm.services.sqltext import Queryable


@dataclass
class CliContext:
    """What the root callback resolved: ``--db`` and, once needed, the open database."""

    db_arg: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _database: Database | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from pycrm.config import load_settings

            self._settings = load_settings(self.db_arg)
        return self._settings

    def database(self, *, create: bool = True) -> Database:
        """Open the database (creating or upgrading it as needed) once per command."""
        if self._database is None:
            from pycrm import db as dbmodule
            from pycrm import dbfile
            from pycrm.cli.output import note

            dbmodule.lock_wait_notice = dbfile.open_wait_notice = note
            # An explicit --db (or PYCRM_DB) wins over the config file, which then need not be read.
            db = self.db_arg or self.settings.db
            self._database = dbmodule.open_database(db, create=create)
            if self._database.upgraded_from:
                from pycrm.cli.output import note

                backup = self._database.backup_path
                note(
                    f"upgraded the database schema from {self._database.upgraded_from}"
                    + (f"; backup at {backup}" if backup else "")
                )
        return self._database

    def sqlite_reader(self) -> sqlite3.Connection | None:
        """A plain read-only connection when the database is a SQLite file needing nothing done
        first (see :func:`pycrm.dbfile.open_sqlite_reader`), else None: then use
        :meth:`database`."""
        if self._database is not None:
            return None
        from pycrm import dbfile
        from pycrm.cli.output import note

        dbfile.open_wait_notice = note
        return dbfile.open_sqlite_reader(self.db_arg or self.settings.db)

    @contextmanager
    def reader(self) -> Iterator[Queryable]:
        """A connection for the read services (SQL text, :mod:`pycrm.services.sqltext`): a
        plain read-only ``sqlite3`` or psycopg one when the database is a SQLite file or a
        PostgreSQL database needing nothing done first, so SQLAlchemy (~0.4 s to import) is
        never loaded; else a Core connection."""
        plain = self.sqlite_reader()
        if plain is None and self._database is None:
            from pycrm.dbfile import open_postgres_reader

            plain = open_postgres_reader(self.db_arg or self.settings.db)
        if plain is not None:
            try:
                yield plain
            finally:
                plain.close()
            return
        with self.database().connect() as connection:
            yield connection

    def close(self) -> None:
        """Release the database's connections (SQLite then tidies its WAL files)."""
        if self._database is not None:
            self._database.close()
            self._database = None


def get_context(ctx: typer.Context) -> CliContext:
    """The CliContext of this invocation (also when a sub-command is invoked directly in tests)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext()
    return root.obj


def open_tui(context: CliContext, *, database_path: str | None = None) -> None:
    """Start the full-screen app on the context's database (imported lazily: Textual is heavy)."""
    import importlib.util

    if importlib.util.find_spec("pycrm.tui.app") is None:
        from pycrm.cli.output import note

        database = context.database()
        note(f"database: {database.where}")
        note("the full-screen app is not built yet; try `pycrm --help` for the commands")
        return
    from pycrm.tui.app import run_app

    run_app(context.database())
