"""`pycrm followup …`: promises with due dates — add, list, done, snooze."""

from __future__ import annotations

from datetime import time, timedelta

import typer

from pycrm.cli.common import local_text, when
from pycrm.cli.context import get_context
from pycrm.cli.output import line, note, print_json, table

app = typer.Typer(help="Follow-ups: add, list, done, snooze.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The person (id, e-mail or name)."),
    what: str = typer.Argument(..., help="What you promised."),
    due: str = typer.Option(..., "--due", help="When (WHEN: 'fri 10:00', '+3d', '25/11')."),
    deal: str = typer.Option(None, "--deal", help="The deal it belongs to (REF)."),
    repeat: str = typer.Option(
        None, "--repeat", help="daily, weekly, monthly, 'every 2 weeks' or an RRULE."
    ),
    priority: int = typer.Option(0, "--priority", help="0 normal, 1 high, 2 urgent."),
) -> None:
    """Promise something to someone by a time; prints the follow-up id.

    Example: pycrm followup add ana "Send the quote" --due "tomorrow 10:00"
    """
    from pycrm.services import followups, refs

    context = get_context(ctx)
    due_at = when(context, due, field="due", default_time=time(9, 0))
    database = context.database()
    with database.write(f"followup add {what}") as session:
        contact_id = refs.resolve_contact(session, ref)
        deal_id = refs.resolve_deal(session, deal) if deal else None
        item = followups.create_followup(
            session,
            what,
            due_at=due_at,
            contact_id=contact_id,
            deal_id=deal_id,
            repeat=repeat,
            priority=priority,
        )
        new_id = item.id
    line(str(new_id))


@app.command("list")
def list_(
    ctx: typer.Context,
    overdue: bool = typer.Option(False, "--overdue", help="Only overdue ones."),
    today: bool = typer.Option(False, "--today", help="Overdue and due today."),
    week: bool = typer.Option(False, "--week", help="Overdue and the next 7 days (default)."),
    all_: bool = typer.Option(False, "--all", help="Every open follow-up."),
    done: bool = typer.Option(False, "--done", help="Include completed ones."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Work the list of promises.

    Example: pycrm followup list --today
    """
    from pycrm.dates import local_now
    from pycrm.services import followups
    from pycrm.services.agenda import day_bounds
    from pycrm.services.errors import ValidationError

    if sum((overdue, today, week, all_)) > 1:
        raise ValidationError("--overdue/--today/--week/--all", "give at most one")
    now = local_now()
    start, end = day_bounds(now)
    until = now if overdue else end if today else None if all_ else start + timedelta(days=8)
    database = get_context(ctx).database()
    with database.read() as session:
        rows = followups.list_followups(session, until=until, include_done=done)
    if as_json:
        from pycrm.cli.serialize import followup_json

        print_json([followup_json(r, now) for r in rows])
        return
    if not rows:
        note("nothing due — well done")
        return
    table(
        ["id", "due", "what", "person", "deal", ""],
        [
            (
                r.followup.id, local_text(r.followup.due_at), r.followup.what, r.contact_name, r.deal_title,
                "done" if r.followup.done_at else "OVERDUE" if r.followup.due_at < now else "",
            )
            for r in rows
        ],
    )  # fmt: skip


@app.command("done")
def done(
    ctx: typer.Context,
    followup_id: int = typer.Argument(..., help="Follow-up id (from `followup list`)."),
) -> None:
    """Mark a follow-up done; a recurring one schedules its next occurrence.

    Example: pycrm followup done 31
    """
    from pycrm.services import followups

    database = get_context(ctx).database()
    with database.write(f"followup done {followup_id}") as session:
        nxt = followups.complete_followup(session, followup_id)
        nxt_info = (nxt.id, nxt.due_at) if nxt is not None else None
    note(
        f"done #{followup_id}"
        + (f"; next one #{nxt_info[0]} due {local_text(nxt_info[1])}" if nxt_info else "")
    )


@app.command("snooze")
def snooze(
    ctx: typer.Context,
    followup_id: int = typer.Argument(..., help="Follow-up id."),
    until: str = typer.Option(..., "--until", help="New due time (WHEN)."),
) -> None:
    """Push a follow-up to a later time.

    Example: pycrm followup snooze 31 --until "next monday 9:00"
    """
    from pycrm.services import followups

    context = get_context(ctx)
    until_at = when(context, until, field="until", default_time=time(9, 0))
    database = context.database()
    with database.write(f"followup snooze {followup_id}") as session:
        followups.snooze_followup(session, followup_id, until_at)
    note(f"snoozed #{followup_id} until {local_text(until_at)}")
