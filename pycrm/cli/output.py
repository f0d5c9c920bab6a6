"""Rendering shared by all commands: rich tables on a terminal, plain text when piped, JSON.

Untrusted text (names, notes, imported fields) is never parsed as Rich markup: tables are built
from ``rich.text.Text`` objects and control characters are stripped before display.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pycrm.services.text import strip_control


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    no_color = "NO_COLOR" in os.environ or not (sys.stderr if stderr else sys.stdout).isatty()
    return Console(
        stderr=stderr,
        markup=False,
        highlight=False,
        emoji=False,
        no_color=no_color,
        soft_wrap=not (sys.stderr if stderr else sys.stdout).isatty(),
    )


def safe(value: object) -> str:
    """Display text for an untrusted value: None → "", control characters removed."""
    if value is None:
        return ""
    return strip_control(str(value))


def error(message: str, *, prefix: str = "error: ") -> None:
    """One line on stderr."""
    sys.stderr.write(f"{prefix}{safe(message)}\n")
    sys.stderr.flush()


def note(message: str) -> None:
    """An informational line on stderr (keeps stdout clean for data)."""
    sys.stderr.write(f"{safe(message)}\n")
    sys.stderr.flush()


def line(message: str = "") -> None:
    """A plain line on stdout (no markup interpretation)."""
    sys.stdout.write(f"{safe(message)}\n")


def table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None
) -> None:
    """A rich table on a terminal; tab-separated plain text with a header when piped."""
    rows = list(rows)
    if not stdout_is_tty():
        sys.stdout.write("\t".join(columns) + "\n")
        for row in rows:
            sys.stdout.write(
                "\t".join(safe(v).replace("\t", " ").replace("\n", " ") for v in row) + "\n"
            )
        return
    from rich.table import Table
    from rich.text import Text

    plain = "NO_COLOR" in os.environ  # no escape sequences at all, not even bold
    tbl = Table(
        title=Text(title) if title else None,
        show_lines=False,
        header_style="" if plain else "bold",
        title_style="" if plain else "table.title",
    )
    for col in columns:
        tbl.add_column(Text(col))
    for row in rows:
        tbl.add_row(*(Text(safe(v)) for v in row))
    _console().print(tbl)


def json_default(value: Any) -> Any:
    """JSON encoding for datetimes (local time with offset), dates and decimals."""
    if isinstance(value, datetime):
        return value.astimezone().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def print_json(data: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, default=json_default, ensure_ascii=False, indent=2) + "\n")
