"""`pycrm export …`: your data out, to stdout or a private file."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import typer

from pycrm.cli.context import get_context
from pycrm.cli.output import error, note

app = typer.Typer(help="Export to JSON (a full backup) and other formats.", no_args_is_help=True)


@contextmanager
def output_stream(
    path: Path | None, force: bool, *, newline: str | None = None
) -> Iterator[IO[str]]:
    """stdout, or a new 0600 file (an existing one only with --force; never through a symlink)."""
    if path is None or str(path) == "-":
        yield sys.stdout
        return
    from pycrm.io.files import OutputFileError, open_private_output

    try:
        handle = open_private_output(path, force=force, newline=newline)
    except OutputFileError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    with handle:
        yield handle


@app.command("json")
def export_json(
    ctx: typer.Context,
    what: list[str] = typer.Option(
        [],
        "--what",
        help="contacts, companies, deals, interactions, followups, meetings (repeatable; default all).",
    ),
    output: Path = typer.Option(
        None, "-o", "--output", help="Write to this file instead of stdout."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Everything, losslessly, as one JSON document (`pycrm import json` reads it back).

    Example: pycrm export json -o ~/crm-backup.json
    """
    from pycrm.io.json_backup import WHAT, write_backup
    from pycrm.services.errors import ValidationError

    unknown = [w for w in what if w not in WHAT]
    if unknown:
        raise ValidationError("--what", f"{unknown[0]!r} is not one of: {', '.join(WHAT)}")
    database = get_context(ctx).database()
    with database.read() as session, output_stream(output, force) as out:
        counts = write_backup(session, out, what=list(what) or None)
    if output is not None:
        note(f"wrote {output}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))


@app.command("csv")
def export_csv(
    ctx: typer.Context,
    what: str = typer.Option(
        "contacts", "--what", help="contacts (the pycrm header set, re-importable)."
    ),
    output: Path = typer.Option(
        None, "-o", "--output", help="Write to this file instead of stdout."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    excel: bool = typer.Option(
        False, "--excel", help="Add a BOM and use the locale's delimiter (; for pt/fr)."
    ),
) -> None:
    """Contacts as CSV in pycrm's header set; formula-looking cells are neutralised.

    Example: pycrm export csv -o contacts.csv --excel
    """
    from pycrm.io.csv_export import write_contacts_csv
    from pycrm.services.errors import ValidationError

    if what != "contacts":
        raise ValidationError(
            "--what", "CSV export covers contacts; use `export json --what` for the rest"
        )
    context = get_context(ctx)
    delimiter = ";" if excel and context.settings.decimal_comma else ","
    database = context.database()
    with database.read() as session, output_stream(output, force, newline="") as out:
        if excel:
            out.write("\ufeff")
        count = write_contacts_csv(session, out, delimiter=delimiter)
    if output is not None:
        note(f"wrote {count} contacts to {output}")


@app.command("vcard")
def export_vcard(
    ctx: typer.Context,
    what: list[str] = typer.Option(
        [],
        "--what",
        help="contacts and/or companies (organisation cards; repeatable; default contacts).",
    ),
    output: Path = typer.Option(
        None, "-o", "--output", help="Write to this file instead of stdout."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    version: int = typer.Option(3, "--vcard-version", help="3 (default, khard's) or 4."),
) -> None:
    """Contacts as vCards (3.0, or 4.0), with the properties pycrm keeps but has no field for.

    `--what companies` writes organisations as cards of their own (KIND:org).

    Example: pycrm export vcard -o contacts.vcf
    """
    from pycrm.io.vcard import WHAT_VCARD, write_vcards
    from pycrm.services.errors import ValidationError

    bad = [w for w in what if w not in WHAT_VCARD]
    if bad:
        raise ValidationError("--what", f"{bad[0]!r}: vCard export covers contacts and companies")
    if version not in (3, 4):
        raise ValidationError("--vcard-version", "must be 3 or 4")
    wanted = tuple(w for w in WHAT_VCARD if w in what) or ("contacts",)
    database = get_context(ctx).database()
    with database.read() as session, output_stream(output, force, newline="") as out:
        count = write_vcards(session, out, version=version, what=wanted)
    if output is not None:
        note(f"wrote {count} cards ({' and '.join(wanted)}) to {output}")


@app.command("ics")
def export_ics(
    ctx: typer.Context,
    what: list[str] = typer.Option([], "--what", help="meetings and/or followups (default both)."),
    output: Path = typer.Option(
        None, "-o", "--output", help="Write to this file instead of stdout."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Meetings (VEVENT) and follow-ups (VTODO) as iCalendar, with stable UIDs.

    Example: pycrm export ics -o crm.ics
    """
    from pycrm.io.ical import write_ics
    from pycrm.services.errors import ValidationError

    bad = [w for w in what if w not in ("meetings", "followups")]
    if bad:
        raise ValidationError(
            "--what", f"{bad[0]!r}: iCalendar export covers meetings and followups"
        )
    wanted = set(what) or {"meetings", "followups"}
    database = get_context(ctx).database()
    with database.read() as session, output_stream(output, force, newline="") as out:
        count = write_ics(
            session, out, meetings="meetings" in wanted, followups="followups" in wanted
        )
    if output is not None:
        note(f"wrote {count} events and to-dos to {output}")
