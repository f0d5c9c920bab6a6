"""Small pieces every command group shares: confirmations, WHEN and money flags, display forms."""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any, TypeVar

from pycrm.cli.context import CliContext
from pycrm.cli.output import error

F = TypeVar("F", bound=Callable[..., Any])


def confirm_or_exit(question: str, yes: bool) -> None:
    """Ask on a terminal; without a terminal refuse unless --yes (exit 2)."""
    if yes:
        return
    import typer  # here, not at the top: the quick commands run without Typer

    if not sys.stdin.isatty():
        error("this changes or deletes data: add --yes to confirm (stdin is not a terminal)")
        raise typer.Exit(2)
    if not typer.confirm(question, default=False):
        error("cancelled; nothing was changed", prefix="")
        raise typer.Exit(1)


def when(
    context: CliContext, text: str, *, field: str = "when", default_time: time | None = None
) -> datetime:
    """Parse a WHEN flag with the configured date order (exit 2 with the accepted forms)."""
    from pycrm.dates import parse_when

    return parse_when(
        text, date_order=context.settings.date_order, default_time=default_time, field=field
    )


def day(context: CliContext, text: str, *, field: str = "date") -> date:
    """A calendar date from the WHEN forms."""
    return when(context, text, field=field).date()


def amount(context: CliContext, text: str, currency: str) -> int:
    """Money flag → minor units (exit 2 naming the field)."""
    from pycrm.money import MoneyError, parse_amount
    from pycrm.services.errors import ValidationError

    try:
        return parse_amount(text, currency, decimal_comma=context.settings.decimal_comma)
    except MoneyError as exc:
        raise ValidationError("value", str(exc)) from exc


def local_text(value: datetime | None, *, with_date: bool = True) -> str:
    """Local time for tables: ``2026-11-23 10:00`` (or just the time)."""
    if value is None:
        return ""
    local = value.astimezone()
    return local.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def birthday_arg(text: str | None) -> dict[str, int | None]:
    """``1990-11-24`` / ``24/11`` / ``--11-24`` → birth_year / month / day fields."""
    if text is None:
        return {}
    from pycrm.services.errors import ValidationError

    raw = text.strip()
    if raw.startswith("--") and len(raw) == 7:
        return {"birth_year": None, "birth_month": int(raw[2:4]), "birth_day": int(raw[5:7])}
    parts = raw.replace(".", "/").replace("-", "/").split("/")
    try:
        if len(parts) == 3 and len(parts[0]) == 4:
            return {
                "birth_year": int(parts[0]),
                "birth_month": int(parts[1]),
                "birth_day": int(parts[2]),
            }
        if len(parts) in (2, 3):
            day_, month = int(parts[0]), int(parts[1])
            year = int(parts[2]) if len(parts) == 3 else None
            return {"birth_year": year, "birth_month": month, "birth_day": day_}
    except ValueError:
        pass
    raise ValidationError("birthday", f"cannot read {text!r} (try 1990-11-24, 24/11 or --11-24)")


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector paused inside the block, restored afterwards (for in-process
    callers such as tests).

    A quick command is one short process that imports SQLAlchemy and builds thousands of rows,
    all freed by reference counting: the collector's passes find next to nothing and cost ~10%
    of `pycrm today`'s CPU and 40-100 ms of a report's at 100k contacts.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def without_cycle_collector(command: F) -> F:
    """Run a quick read-only command inside :func:`cycle_collector_paused`."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        with cycle_collector_paused():
            return command(*args, **kwargs)

    return run  # type: ignore[return-value]
