"""`pycrm meeting …`: schedule meetings and see the agenda."""

from __future__ import annotations

from datetime import timedelta

import typer

from pycrm.cli.common import local_text, when
from pycrm.cli.context import get_context
from pycrm.cli.output import line, note, print_json, table

app = typer.Typer(help="Meetings: add and list (recurring ones expanded).", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    title: str = typer.Argument(..., help="What the meeting is."),
    with_: list[str] = typer.Option(
        [], "--with", "-w", help="A person attending (REF, repeatable)."
    ),
    at: str = typer.Option(..., "--at", help="Start (WHEN: 'tomorrow 10:00', 'fri 14:30')."),
    duration: str = typer.Option("30m", "--duration", help="Length: 45m, 1h, 1h30."),
    where: str = typer.Option(None, "--where", help="Place or video link."),
    repeat: str = typer.Option(
        None, "--repeat", help="weekly, monthly, 'every 2 weeks' or an RRULE."
    ),
    note_text: str = typer.Option(None, "--note", "-n", help="Notes."),
) -> None:
    """Schedule a meeting and print its id.

    Example: pycrm meeting add "Demo" --with ana --at "tue 15:00" --duration 45m --where "Video call"
    """
    from pycrm.dates import local_zone, parse_duration
    from pycrm.services import meetings, refs

    context = get_context(ctx)
    start = when(context, at, field="at")
    length = parse_duration(duration)
    database = context.database()
    with database.write(f"meeting add {title}") as session:
        people = [refs.resolve_contact(session, ref) for ref in with_]
        zone = getattr(local_zone(), "key", None)
        meeting = meetings.create_meeting(
            session, title, starts_at=start, duration=length, attendees=people, location=where,
            repeat=repeat, notes=note_text, timezone=zone,
        )  # fmt: skip
        new_id = meeting.id
    line(str(new_id))


@app.command("list")
def list_(
    ctx: typer.Context,
    today: bool = typer.Option(False, "--today", help="Today only."),
    week: bool = typer.Option(False, "--week", help="The next 7 days (default)."),
    from_: str = typer.Option(None, "--from", help="Start of the range (WHEN)."),
    to: str = typer.Option(None, "--to", help="End of the range (WHEN)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The agenda, recurring meetings expanded into their occurrences.

    Example: pycrm meeting list --from today --to +30d
    """
    from pycrm.dates import local_now
    from pycrm.services import meetings
    from pycrm.services.agenda import day_bounds

    context = get_context(ctx)
    start, end = day_bounds(local_now())
    if not today:
        end = start + timedelta(days=7)
    if from_:
        start = when(context, from_, field="from")
    if to:
        end = when(context, to, field="to")
        if end.time() == end.min.time():
            end += timedelta(days=1)
    database = context.database()
    with database.read() as session:
        occurrences = meetings.agenda(session, start, end)
    if as_json:
        from pycrm.cli.serialize import occurrence_json

        print_json([occurrence_json(o) for o in occurrences])
        return
    if not occurrences:
        note("no meetings in that range")
        return
    table(
        ["id", "when", "until", "title", "with", "where"],
        [
            (o.meeting.id, local_text(o.starts_at), local_text(o.ends_at, with_date=False), o.meeting.title,
             ", ".join(name for _, name in o.attendees), o.meeting.location)
            for o in occurrences
        ],
    )  # fmt: skip
