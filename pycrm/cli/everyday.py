"""Top-level everyday commands: find, log, today, undo, history."""

from __future__ import annotations

import typer

from pycrm.cli.common import confirm_or_exit, local_text, when, without_cycle_collector
from pycrm.cli.context import get_context
from pycrm.cli.output import line, note, print_json, safe, table


def register(app: typer.Typer) -> None:
    """Add the top-level everyday commands."""
    app.command("find")(find)
    app.command("log")(log)
    app.command("today")(today)
    app.command("undo")(undo)
    app.command("history")(history)


@without_cycle_collector
def find(
    ctx: typer.Context,
    query: str = typer.Argument(
        ..., help="Words to look for: names, e-mails, phones, tags, notes."
    ),
    limit: int = typer.Option(20, "--limit", help="At most N results.", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search contacts, companies and deals at once (accents and case ignored, prefixes match).

    Example: pycrm find gonçalves --json
    """
    from pycrm.cli.quick import find as run

    run(get_context(ctx), query, limit=limit, as_json=as_json)


def log(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The person (id, e-mail or name)."),
    summary: str = typer.Argument(..., help="What happened, in a line."),
    type_: str = typer.Option(..., "--type", help="call, email, meeting, note, message or visit."),
    when_: str = typer.Option(None, "--when", help="When it happened (WHEN; default now)."),
    deal: str = typer.Option(None, "--deal", help="The deal it was about (REF)."),
    direction: str = typer.Option(None, "--direction", help="in or out."),
    body: str = typer.Option(None, "--body", help="Longer notes."),
) -> None:
    """Record an interaction in a person's history; prints its id.

    Example: pycrm log ana --type call "Discussed the renewal; wants a quote by Friday"
    """
    from pycrm.services import interactions, refs

    context = get_context(ctx)
    occurred = when(context, when_, field="when") if when_ else None
    database = context.database()
    with database.write(f"log {type_} {ref}") as session:
        contact_id = refs.resolve_contact(session, ref)
        deal_id = refs.resolve_deal(session, deal) if deal else None
        item = interactions.log_interaction(
            session, type=type_, summary=summary, contact_id=contact_id, deal_id=deal_id,
            occurred_at=occurred, direction=direction, body=body,
        )  # fmt: skip
        new_id = item.id
    line(str(new_id))


@without_cycle_collector
def today(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The day's agenda: meetings, due and overdue follow-ups, deals closing soon, stale deals,
    birthdays, people due a touch.

    Example: pycrm today
    """
    from pycrm.cli.quick import today as run

    run(get_context(ctx), as_json=as_json)


def undo(
    ctx: typer.Context,
    batch: str = typer.Argument(
        None, help="A batch id (or prefix) from --list; default: the last command."
    ),
    list_: bool = typer.Option(False, "--list", help="Show recent batches instead."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="With --list: print JSON."),
) -> None:
    """Revert the last command's writes (or a named batch from --list).

    Example: pycrm undo --list; pycrm undo 3f2a9c1e
    """
    from pycrm.services import changelog
    from pycrm.services.errors import NothingToUndo

    database = get_context(ctx).database()
    if list_:
        with database.read() as session:
            batches = [b for b in changelog.list_batches(session, limit=30) if b.source != "system"]
        if as_json:
            print_json([
                {"id": b.id, "at": b.at, "label": b.label, "source": b.source, "changes": b.changes,
                 "undone_at": b.reverted_at, "undoes": b.reverts}
                for b in batches
            ])  # fmt: skip
            return
        if not batches:
            note("nothing to undo yet")
            return
        table(
            ["batch", "when", "what", "changes", ""],
            [
                (b.id[:8], local_text(b.at), b.label, b.changes,
                 "undone" if b.reverted_at else ("undo of " + b.reverts[:8]) if b.reverts else "")
                for b in batches
            ],
        )  # fmt: skip
        return
    with database.read() as session:
        target = changelog.get_batch(session, batch) if batch else changelog.last_batch(session)
        if target is None:
            # Undos are never "the last command" (undo does not redo): name the way to one.
            raise NothingToUndo()
        problems = changelog.batch_conflicts(session, target.id)
    if problems:
        from pycrm.services.errors import Conflict

        raise Conflict(f"cannot undo '{target.label}': " + "; ".join(problems[:3]))
    confirm_or_exit(
        f"Undo '{safe(target.label)}' ({target.changes} changes, {local_text(target.at)})?", yes
    )
    with database.write(f"undo {target.label}") as session:
        count = changelog.revert_batch(session, target.id)
    note(f"undone: {target.label} ({count} changes)")


def history(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="A contact, company or deal (id, e-mail or name)."),
    kind: str = typer.Option("contact", "--kind", help="contact, company or deal."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every change to a record: when, what, before → after.

    Example: pycrm history ana
    """
    import sqlalchemy as sa

    from pycrm.services import changelog, refs
    from pycrm.services.errors import ValidationError

    if kind not in ("contact", "company", "deal"):
        raise ValidationError("--kind", "must be contact, company or deal")
    database = get_context(ctx).database()
    with database.read() as session:
        record_id = refs.resolve(session, kind, ref)
        uuid = session.execute(
            sa.text(f"SELECT uuid FROM {kind} WHERE id = :i"), {"i": record_id}
        ).scalar_one()
        entries = changelog.history(session, uuid)
        tag_names = {
            int(i): str(n) for i, n in session.execute(sa.text("SELECT id, name FROM tag"))
        }
    if as_json:
        print_json([
            {"at": e.at, "action": e.action, "batch": e.batch_id, "label": e.batch_label,
             "changes": {k: {"before": b, "after": a} for k, (b, a) in e.changes.items()}}
            for e in entries
        ])  # fmt: skip
        return
    for e in entries:
        line(f"{local_text(e.at)}  {e.action:<7} {e.batch_label}")
        for field, (before, after) in sorted(e.changes.items()):
            names = tag_names if field == "tags" else None
            if e.action == "create":
                if after not in (None, "", [], {}):
                    line(f"    {field}: {_short(after, names)}")
            else:
                line(f"    {field}: {_short(before, names)} → {_short(after, names)}")


def _short(value: object, tag_names: dict[int, str] | None = None) -> str:
    names = tag_names or {}

    def one(v: object) -> str:
        if isinstance(v, dict):
            if v.get("tag_id") is not None:
                return names.get(int(v["tag_id"]), f"tag {v['tag_id']}")
            return str(v.get("email") or v.get("number") or v)
        if isinstance(v, int) and names:  # a tag id
            return names.get(v, str(v))
        return str(v)

    if isinstance(value, list):  # owned child rows: show what a person recognises
        parts = [one(v) for v in value]
        value = ", ".join(parts)
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "…"
