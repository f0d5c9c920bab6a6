"""`pycrm import …`: bring data in, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from pycrm.cli.context import CliContext, get_context
from pycrm.cli.output import error, note, print_json

if TYPE_CHECKING:
    from pycrm.io.csv_import import Plan

app = typer.Typer(
    help="Import from JSON backups (and other formats); undo an import.", no_args_is_help=True
)


def read_text_file(path: Path) -> str:
    """The file's text, or one clear line and exit 2."""
    import sys

    if str(path) == "-":
        return sys.stdin.read()
    if not path.exists():
        error(f"{path}: no such file")
        raise typer.Exit(2)
    if path.is_dir():
        error(f"{path}: is a directory, expected a file")
        raise typer.Exit(2)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        error(f"{path}: byte {exc.start}: not UTF-8 text")
        raise typer.Exit(2) from exc
    except OSError as exc:
        error(f"{path}: {exc.strerror}")
        raise typer.Exit(2) from exc


@app.command("json")
def import_json(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A file written by `pycrm export json` (- for stdin)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Restore a full JSON backup: records match by UUID, so importing twice changes nothing.

    Example: pycrm --db new.db import json ~/crm-backup.json
    """
    from pycrm.io.json_backup import BackupError, read_backup, restore_backup

    text = read_text_file(file)
    try:
        data = read_backup(text, str(file))
    except BackupError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    database = get_context(ctx).database()
    try:
        with database.write(f"import json {file.name}", source="import") as session:
            summary = restore_backup(session, data, str(file))
            batch = session.info["batch_id"]
    except BackupError as exc:
        error(f"{exc}; nothing was imported")
        raise typer.Exit(2) from exc
    totals = {k: sum(s[k] for s in summary.values()) for k in ("created", "updated", "unchanged")}
    if as_json:
        print_json({"batch": batch, **totals, "by_kind": summary})
        return
    if not totals["created"] and not totals["updated"]:
        note(f"imported {file}: nothing new ({totals['unchanged']} records already up to date)")
        return
    note(
        f"imported {file}: {totals['created']} created, {totals['updated']} updated, "
        f"{totals['unchanged']} unchanged (batch {batch[:8]}; `pycrm import revert {batch[:8]}` undoes it)"
    )


@app.command("revert")
def revert(
    ctx: typer.Context,
    batch: str = typer.Argument(..., help="The import's batch id (or a unique prefix)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Undo one whole import; refuses, explaining why, when later edits touched its records.

    Example: pycrm import revert 3f2a9c1e
    """
    from pycrm.cli.common import confirm_or_exit
    from pycrm.services import changelog
    from pycrm.services.errors import Conflict

    database = get_context(ctx).database()
    with database.read() as session:
        target = changelog.get_batch(session, batch)
        problems = changelog.batch_conflicts(session, target.id)
    if problems:
        raise Conflict(f"cannot revert '{target.label}': " + "; ".join(problems[:3]))
    confirm_or_exit(f"Revert '{target.label}' ({target.changes} changes)?", yes)
    with database.write(f"revert {target.label}", source="import") as session:
        count = changelog.revert_batch(session, target.id)
    note(f"reverted {target.label} ({count} changes)")


MAPPING_KEY = "csv_mapping:"


@app.command("csv")
def import_csv(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The CSV file (- reads stdin)."),
    preset: str = typer.Option("auto", "--preset", help="auto, google, outlook or pycrm."),
    map_: list[str] = typer.Option(
        [], "--map", help="HEADER=FIELD to override the mapping (repeatable)."
    ),
    encoding: str = typer.Option(
        None, "--encoding", help="Force an encoding (default: BOM, UTF-8, else cp1252)."
    ),
    delimiter: str = typer.Option(None, "--delimiter", help="Force the delimiter: , ; tab |"),
    on_duplicate: str = typer.Option("skip", "--on-duplicate", help="skip, update or create."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the valid rows, report the rest."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show the mapping and what would happen; write nothing."
    ),
    errors_file: Path = typer.Option(
        None, "--errors", help="Write rejected rows with a reason column here."
    ),
    mapping: str = typer.Option(
        None, "--mapping", help="Reuse a mapping saved with --save-mapping."
    ),
    save_mapping: str = typer.Option(
        None, "--save-mapping", help="Remember this file's mapping under NAME."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import contacts (and their companies) from any CSV, all or nothing.

    Example: pycrm import csv google-contacts.csv --dry-run
    """
    from pycrm.io import csv_write_ahead

    context = get_context(ctx)
    if not dry_run and not save_mapping and str(file) != "-":
        # A first import of a larger file writes in a second process: start it now, so that it
        # loads on the other core while this one loads the rest (taken by plan_import, or ended).
        csv_write_ahead.prestart(context.db_arg or context.settings.db, file)
    try:
        _import_csv(
            context, file, preset, map_, encoding, delimiter, on_duplicate, skip_invalid,
            dry_run, errors_file, mapping, save_mapping, as_json,
        )  # fmt: skip
    finally:
        csv_write_ahead.discard_early()


def _import_csv(
    context: CliContext, file: Path, preset: str, map_: list[str], encoding: str | None,
    delimiter: str | None, on_duplicate: str, skip_invalid: bool, dry_run: bool,
    errors_file: Path | None, mapping: str | None, save_mapping: str | None, as_json: bool,
) -> None:  # fmt: skip
    import sys
    import tempfile

    from pycrm.io import csv_write_ahead
    from pycrm.io.csv_import import (
        ImportError_,
        apply_import,
        commit_written,
        parse_map_options,
        plan_import,
        stdin_to_file,
        write_errors,
    )

    settings = context.settings
    path = file
    spooled = None
    if str(file) == "-":
        spooled = stdin_to_file(sys.stdin.buffer, Path(tempfile.gettempdir()))
        path = spooled
    progress = None
    if sys.stderr.isatty() and path.stat().st_size > 2_000_000:
        total = path.stat().st_size

        def progress(rows: int) -> None:
            # A rough bar: rows read against the file's size (~110 bytes a row).
            share = min(1.0, rows * 110 / total)
            bar = "#" * int(share * 30)
            sys.stderr.write(f"\rchecking {bar:<30} {rows:,} rows")
            sys.stderr.flush()

    def plan_with(
        session: Any, first: csv_write_ahead.FirstImport | None = None, ahead: bool = True
    ) -> Plan:
        saved = None
        if mapping:
            from pycrm.services.errors import NotFound

            saved = _saved_mapping(session, mapping)
            if saved is None:
                raise NotFound("saved mapping", mapping)
        return plan_import(
            session, path, source="stdin" if spooled else str(file), preset=preset,
            overrides=parse_map_options(map_), saved_mapping=saved, encoding=encoding,
            delimiter=delimiter, on_duplicate=on_duplicate, region=settings.region,
            date_order=settings.date_order, progress=progress,
            # New contacts are written by a second process while the file is still read
            # (SQLite, an empty contact book, 0.2–25 MB); not for a dry run, nor when the
            # mapping is saved first (that write would wait for the import's lock).
            write_ahead=ahead and not dry_run and not save_mapping, skip_invalid=skip_invalid,
            first=first,
        )  # fmt: skip

    # A first import into an empty (or new) contact book, its writing process already started:
    # planned from a plain look at the file, so this process never loads SQLAlchemy.
    first = None
    if csv_write_ahead.prestarted() and not mapping:
        first = csv_write_ahead.FirstImport.read(context.db_arg or settings.db)
    try:
        if first is not None:
            plan = plan_with(None, first)
        else:
            with context.database().read() as session:
                plan = plan_with(session)
        if plan.stale and (skip_invalid or not plan.rejected):
            # Not written ahead after all (another program took the lock, or added contacts
            # since the look): planned again against the book as it is now, and applied here.
            plan.close()
            with context.database().read() as session:
                plan = plan_with(session, ahead=False)
        if progress is not None:
            sys.stderr.write("\n")
    except ImportError_ as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    finally:
        if spooled is not None:
            spooled.unlink(missing_ok=True)
    for problem in plan.rejected[:50]:
        error(problem.text(plan.source), prefix="rejected: ")
    if len(plan.rejected) > 50:
        error(f"… and {len(plan.rejected) - 50} more rejected rows", prefix="")
    if errors_file is not None and plan.rejected:
        from pycrm.cli.exporting import output_stream

        with output_stream(errors_file, True, newline="") as out:
            write_errors(plan, out)
    summary = {
        "file": plan.source, "encoding": plan.encoding, "delimiter": plan.delimiter,
        "mapping": plan.mapping, "rows": plan.rows, "created": len(plan.create),
        "updated": len(plan.update), "skipped": len(plan.skipped), "rejected": len(plan.rejected),
        "new_companies": len(plan.new_companies), "batch": None, "dry_run": dry_run,
    }  # fmt: skip
    if save_mapping:
        with context.database().write(f"save mapping {save_mapping}", source="import") as session:
            import json as _json

            import sqlalchemy as sa

            session.execute(
                sa.text("DELETE FROM setting WHERE key = :k"), {"k": MAPPING_KEY + save_mapping}
            )
            session.execute(
                sa.text("INSERT INTO setting (key, value) VALUES (:k, :v)"),
                {"k": MAPPING_KEY + save_mapping, "v": _json.dumps(plan.mapping)},
            )
    strict_failure = bool(plan.rejected) and not skip_invalid
    if dry_run or strict_failure:
        if not as_json:
            note("mapping: " + ", ".join(f"{h} → {t}" for h, t in plan.mapping.items()))
            for existing, contact, extra in plan.update_preview:
                # name_key is the name folded: the file sets the name.
                changed = ", ".join(
                    "name" if k == "name_key" else k
                    for k, v in contact.fields.items()
                    if v is not None and not k.startswith("_")
                )
                note(
                    f"line {extra['line']}: would update #{existing} ({changed or 'e-mails/phones/tags'})"
                )
        verb = "would" if dry_run else "nothing written;"
        line_ = (f"{plan.source}: {verb} create {len(plan.create)}, update {len(plan.update)}, "
                 f"skip {len(plan.skipped)}, reject {len(plan.rejected)}")  # fmt: skip
        if strict_failure and not dry_run:
            line_ += " (fix the rows above or add --skip-invalid)"
        if as_json:
            print_json(summary)
        else:
            note(line_)
        if strict_failure:
            raise typer.Exit(2)
        return
    label = f"import csv {Path(plan.source).name}"
    if plan.written and first is not None:
        counts, batch_id = commit_written(plan, label=label, region=settings.region)
    else:
        with context.database().write(label, source="import") as session:
            counts = apply_import(session, plan, region=settings.region)
            batch_id = session.info["batch_id"]
    batch = batch_id if (counts["created"] or counts["updated"]) else None
    summary["batch"] = batch
    if as_json:
        print_json(summary)
        return
    note(
        f"{plan.source}: created {counts['created']}, updated {counts['updated']}, skipped "
        f"{counts['skipped']}, rejected {counts['rejected']}"
        + (f" — batch {batch[:8]} (`pycrm import revert {batch[:8]}` undoes it)" if batch else "")
    )


def _saved_mapping(session: object, name: str) -> dict[str, str] | None:
    """A mapping stored with --save-mapping (Setting table), or None."""
    import json

    import sqlalchemy as sa

    row = session.execute(  # type: ignore[attr-defined]
        sa.text("SELECT value FROM setting WHERE key = :k"), {"k": MAPPING_KEY + name}
    ).first()
    if row is None:
        return None
    value = row[0]
    return value if isinstance(value, dict) else json.loads(value)


@app.command("vcard")
def import_vcard(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="vCard files and/or directories of .vcf files."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import vCard 2.1 / 3.0 / 4.0 cards; re-importing the same cards updates (by UID).

    Example: pycrm import vcard ~/.local/share/khard/contacts/
    """
    from pycrm.io.vcard import VCardError, import_cards, iter_files, read_cards

    context = get_context(ctx)
    try:
        cards = [card for path in iter_files(list(paths)) for card in read_cards(path)]
    except VCardError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    database = context.database()
    label = f"import vcard {paths[0].name}" + (f" +{len(paths) - 1}" if len(paths) > 1 else "")
    with database.write(label, source="import") as session:
        counts = import_cards(session, cards, region=context.settings.region)
        wrote = counts["created"] or counts["updated"] or counts["companies"]
        batch = session.info.get("batch_id") if wrote else None
    if as_json:
        print_json({"cards": len(cards), **counts, "batch": batch})
        return
    note(
        f"{len(cards)} cards: created {counts['created']}, updated {counts['updated']}, "
        f"unchanged {counts['unchanged']}, companies {counts['companies']}"
        + (f" — batch {batch[:8]}" if batch else "")
    )


@app.command("ics")
def import_ics(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="An iCalendar (.ics) file."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import events as meetings (time zones, all-day, RRULE/EXDATE kept); re-import updates by UID.

    Example: pycrm import ics ~/Downloads/calendar.ics
    """
    from pycrm.io.ical import ICalError, import_events, read_events
    from pycrm.services.errors import ValidationError

    try:
        events = read_events(file)
    except ICalError as exc:
        error(str(exc))
        raise typer.Exit(2) from exc
    database = get_context(ctx).database()
    try:
        with database.write(f"import ics {file.name}", source="import") as session:
            counts = import_events(session, events)
            batch = session.info.get("batch_id") if counts["created"] or counts["updated"] else None
    except ValidationError as exc:
        error(f"{file}: {exc.field}: {exc.reason}; nothing was imported")
        raise typer.Exit(2) from exc
    if as_json:
        print_json({"events": len(events), **counts, "batch": batch})
        return
    note(
        f"{file}: {len(events)} events: created {counts['created']}, updated {counts['updated']}, "
        f"unchanged {counts['unchanged']}, {counts['attendees']} attendees linked"
        + (
            f", {counts['unknown_attendees']} not in your contacts"
            if counts["unknown_attendees"]
            else ""
        )
        + (f" — batch {batch[:8]}" if batch else "")
    )
