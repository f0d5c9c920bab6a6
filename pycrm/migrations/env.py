"""Alembic environment: pycrm passes an open connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from pycrm.models import metadata

config = context.config


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Keep the FTS5 search table and its shadow tables out of autogenerate."""
    if type_ == "table" and name is not None:
        return not name.startswith("search_")
    return True


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from sqlalchemy import create_engine

        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("set sqlalchemy.url or pass a connection")
        with create_engine(url).connect() as conn:
            _configure_and_run(conn)
            conn.commit()
        return
    _configure_and_run(connection)


def _configure_and_run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("pycrm migrations run online only")
run_migrations_online()
