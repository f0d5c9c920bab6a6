"""The quickest reads, `find`, `contact list`, `contact show`, `company list`, `deal list` and
`today`: their bodies, and a path that runs them without Typer.

The bodies are plain functions of a :class:`CliContext`; the Typer commands in
``pycrm.cli.everyday``, ``pycrm.cli.contact``, ``pycrm.cli.company`` and ``pycrm.cli.deal``
(help, flags, types) call them. ``main()`` first
offers the arguments to :func:`run_quick`: when they are plainly one of these commands, with only
the flags below and well-formed values, it runs the body directly. Importing Typer and Click and
building the root and the command cost these commands ~0.1 s of their ~0.6 s. Anything else
(``--help``, ``--version``, an unknown or repeated flag, a malformed or missing value, ``--``,
shell completion) returns None, and the Typer app answers exactly as it always did; so does every
in-process caller (tests, CliRunner). Errors and exit codes are the Typer path's: the same
``report_error``, ``Aborted!`` on end of input, 130 on Ctrl-C, a quiet exit 1 on a closed pipe.

tests/cli/test_quick_path.py runs each accepted form both ways and compares stdout, stderr and
exit code, and checks these flags and defaults against the Typer commands'.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pycrm.cli.common import cycle_collector_paused, local_text
from pycrm.cli.context import CliContext
from pycrm.cli.output import line, note, print_json, safe, table


def find(context: CliContext, query: str, limit: int = 20, as_json: bool = False) -> None:
    """`pycrm find QUERY`: contacts, companies and deals at once."""
    from pycrm.services.search import search

    with context.reader() as connection:
        hits = search(connection, query, limit=limit)
    if as_json:
        print_json(
            [
                {"kind": h.kind, "id": h.id, "uuid": h.uuid, "name": h.label, "detail": h.detail}
                for h in hits
            ]
        )
        return
    if not hits:
        note(f"nothing matches {query!r}")
        return
    table(["kind", "id", "name", "detail"], [(h.kind, h.id, h.label, h.detail) for h in hits])


def contact_list(
    context: CliContext,
    tag: str | None = None,
    company: str | None = None,
    sort: str = "name",
    limit: int | None = None,
    as_json: bool = False,
) -> None:
    """`pycrm contact list`."""
    from pycrm.services import refs, views
    from pycrm.services.errors import ValidationError

    if sort not in ("name", "recent", "value"):
        raise ValidationError("--sort", f"{sort!r} is not one of: name, recent, value")
    with context.reader() as connection:
        company_id = refs.resolve_company(connection, company) if company else None
        people = views.list_contacts(
            connection, tag=tag, company_id=company_id, sort=sort, limit=limit
        )
    if as_json:
        from pycrm.cli.serialize import contact_json

        print_json([contact_json(p) for p in people])
        return
    if not people:
        note("no people yet — add one with `pycrm contact add NAME`")
        return
    table(
        ["id", "name", "company", "e-mail", "phone", "tags", "last touch"],
        [
            (
                p.contact.id, p.contact.display_name, p.company_name,
                p.emails[0][0] if p.emails else "", p.phones[0][0] if p.phones else "",
                ", ".join(p.tags), local_text(p.last_interaction_at)[:10],
            )
            for p in people
        ],
    )  # fmt: skip


def company_list(
    context: CliContext, tag: str | None = None, limit: int | None = None, as_json: bool = False
) -> None:
    """`pycrm company list`."""
    from pycrm.services import views

    with context.reader() as connection:
        rows = views.list_companies(connection, tag=tag, limit=limit)
    if as_json:
        from pycrm.cli.serialize import company_json

        print_json([company_json(r) for r in rows])
        return
    if not rows:
        note("no companies yet — add one with `pycrm company add NAME`")
        return
    table(
        ["id", "name", "domain", "industry", "people", "open deals", "tags"],
        [
            (r.company.id, r.company.name, r.company.domain, r.company.industry, r.contacts,
             r.open_deals, ", ".join(r.tags))
            for r in rows
        ],
    )  # fmt: skip


def deal_list(
    context: CliContext,
    stage: str | None = None,
    open_: bool = False,
    won: bool = False,
    lost: bool = False,
    limit: int | None = None,
    as_json: bool = False,
) -> None:
    """`pycrm deal list`."""
    from pycrm.money import format_money
    from pycrm.services import views
    from pycrm.services.errors import ValidationError

    if sum((open_, won, lost)) > 1:
        raise ValidationError("--open/--won/--lost", "give at most one")
    status = "open" if open_ else "won" if won else "lost" if lost else None
    with context.reader() as connection:
        stage_id = views.stage_id(connection, stage) if stage is not None else None
        rows = views.list_deals(connection, stage_id=stage_id, status=status, limit=limit)
    if as_json:
        from pycrm.cli.serialize import deal_json

        print_json([deal_json(d) for d in rows])
        return
    if not rows:
        note("no deals here — open one with `pycrm deal add TITLE --contact REF --value N`")
        return
    table(
        ["id", "title", "stage", "value", "contact", "company", "close"],
        [
            (
                d.deal.id, d.deal.title, d.stage_name, format_money(d.deal.amount, d.deal.currency),
                d.contact_name, d.company_name, d.deal.expected_close or "",
            )
            for d in rows
        ],
    )  # fmt: skip


def contact_show(context: CliContext, ref: str, as_json: bool = False) -> None:
    """`pycrm contact show REF`."""
    from pycrm.services import refs, views

    with context.reader() as connection:
        cid = refs.resolve_contact(connection, ref)
        person = views.contact_view(connection, cid)
        person_deals = views.list_deals(connection, contact_id=cid)
        promises = views.list_followups(connection, contact_id=cid)
        now = datetime.now(UTC)
        upcoming = views.meeting_occurrences(
            connection, now, now + timedelta(days=365), contact_id=cid
        )[:3]
        history = views.list_interactions(connection, contact_id=cid, limit=10)
    if as_json:
        from pycrm.cli.serialize import (
            contact_json,
            deal_json,
            followup_json,
            interaction_json,
            occurrence_json,
        )

        data = contact_json(person)
        data["deals"] = [deal_json(d) for d in person_deals]
        data["followups"] = [followup_json(f) for f in promises]
        data["next_meetings"] = [occurrence_json(o) for o in upcoming]
        data["interactions"] = [interaction_json(i, person.contact.display_name) for i in history]
        print_json(data)
        return
    c = person.contact
    line(f"{c.display_name}  (#{c.id})")
    facts = [
        ("title", c.title), ("company", person.company_name),
        ("e-mail", ", ".join(f"{e} ({lbl})" if lbl else e for e, lbl in person.emails)),
        ("phone", ", ".join(f"{n} ({lbl})" if lbl else n for n, lbl in person.phones)),
        ("tags", ", ".join(person.tags)), ("prefers", c.preferred_channel), ("best time", c.best_time),
        ("language", c.language), ("DO NOT CONTACT", "yes" if c.do_not_contact else None),
        ("cadence", f"every {c.cadence_days} days" if c.cadence_days else None),
        ("last touch", local_text(person.last_interaction_at)), ("source", c.source),
        ("notes", c.notes),
    ]  # fmt: skip
    for label, value in facts:
        if value:
            line(f"  {label:>14}: {safe(value)}")
    if person_deals:
        line("deals:")
        from pycrm.money import format_money

        for d in person_deals:
            line(
                f"  #{d.deal.id} {d.deal.title} — {d.stage_name}, {format_money(d.deal.amount, d.deal.currency)}"
            )
    if promises:
        line("open follow-ups:")
        for f in promises:
            line(f"  #{f.followup.id} {local_text(f.followup.due_at)} {f.followup.what}")
    if upcoming:
        line("next meetings:")
        for o in upcoming:
            line(f"  {local_text(o.starts_at)} {o.meeting.title}")
    if history:
        line("recent interactions:")
        for i in history:
            line(f"  {local_text(i.occurred_at)} {i.type:<7} {i.summary}")


def today(context: CliContext, as_json: bool = False) -> None:
    """`pycrm today`: the day's agenda."""
    from pycrm.dates import local_now
    from pycrm.money import format_money
    from pycrm.services import agenda

    with context.reader() as connection:
        day = agenda.today(connection, local_now())
    if as_json:
        from pycrm.cli.serialize import agenda_json

        print_json(agenda_json(day))
        return
    line(f"Today, {day.now:%A %d %B %Y}")
    if day.is_empty:
        line("  nothing scheduled, nothing due — a good day to call someone")
        return

    def section(title: str, rows: list[str], key: str = "") -> None:
        if rows:
            total = max(day.totals.get(key, len(rows)), len(rows))
            line("")
            line(f"{title} ({total})")
            for row in rows:
                line(f"  {row}")
            if total > len(rows):
                line(f"  … and {total - len(rows)} more")

    section("Meetings", [
        f"{local_text(o.starts_at, with_date=False)}–{local_text(o.ends_at, with_date=False)} {o.meeting.title}"
        + (f" — {', '.join(n for _, n in o.attendees)}" if o.attendees else "")
        for o in day.meetings
    ])  # fmt: skip
    section("Overdue follow-ups", [
        f"#{f.followup.id} {local_text(f.followup.due_at)[:10]} {f.followup.what} — {f.contact_name or ''}"
        for f in day.overdue
    ], "overdue")  # fmt: skip
    section("Due today", [
        f"#{f.followup.id} {local_text(f.followup.due_at, with_date=False)} {f.followup.what} — {f.contact_name or ''}"
        for f in day.due_today
    ], "due_today")  # fmt: skip
    section("Closing within 7 days", [
        f"#{d.deal.id} {d.deal.title} — {format_money(d.deal.amount, d.deal.currency)}, {d.deal.expected_close}"
        for d in day.closing_soon
    ])  # fmt: skip
    section("Stale deals", [
        f"#{d.deal.id} {d.deal.title} — {d.stage_name} since {local_text(d.deal.stage_entered_at)[:10]}"
        for d in day.stale_deals
    ], "stale_deals")  # fmt: skip
    section("Birthdays", [
        f"{b.day:%a %d %b} {b.name}" + (f" ({b.age})" if b.age else "") for b in day.birthdays
    ])  # fmt: skip
    section("Due a touch", [
        f"#{t.contact_id} {t.name} — "
        + (f"last touch {t.days_since} days ago" if t.days_since is not None else "never touched")
        + f", every {t.cadence_days} days"
        for t in day.due_touch
    ], "due_touch")  # fmt: skip


# What the quick path accepts, per command: (function, number of arguments, flag → (parameter,
# kind)). A kind is "flag" (no value), "text" (any value not starting with "-") or "count" (a
# whole number ≥ 1). Names and defaults must match the Typer commands (a test checks).
Flags = dict[str, tuple[str, str]]
QUICK_COMMANDS: dict[tuple[str, ...], tuple[Callable[..., None], tuple[str, ...], Flags]] = {
    ("find",): (find, ("query",), {"--limit": ("limit", "count"), "--json": ("as_json", "flag")}),
    ("contact", "list"): (
        contact_list,
        (),
        {
            "--tag": ("tag", "text"),
            "--company": ("company", "text"),
            "--sort": ("sort", "text"),
            "--limit": ("limit", "count"),
            "--json": ("as_json", "flag"),
        },
    ),
    ("contact", "show"): (contact_show, ("ref",), {"--json": ("as_json", "flag")}),
    ("company", "list"): (
        company_list,
        (),
        {"--tag": ("tag", "text"), "--limit": ("limit", "count"), "--json": ("as_json", "flag")},
    ),
    ("deal", "list"): (
        deal_list,
        (),
        {
            "--stage": ("stage", "text"),
            "--open": ("open_", "flag"),
            "--won": ("won", "flag"),
            "--lost": ("lost", "flag"),
            "--limit": ("limit", "count"),
            "--json": ("as_json", "flag"),
        },
    ),
    ("today",): (today, (), {"--json": ("as_json", "flag")}),
}


def parse(
    argv: Sequence[str], environ: Mapping[str, str] = os.environ
) -> tuple[Callable[..., None], str | None, dict[str, Any]] | None:
    """(command body, --db, keyword arguments) when ``argv`` is plainly a quick command, else
    None (the Typer app then takes it)."""
    if any(name.startswith("_") and name.endswith("_COMPLETE") for name in environ):
        return None  # shell completion is Click's business
    args = list(argv)
    db: str | None = environ.get("PYCRM_DB") or None  # Click ignores an empty variable too
    if args and args[0].startswith("--db"):
        if args[0] == "--db" and len(args) >= 2:
            db, args = args[1], args[2:]
        elif args[0].startswith("--db="):
            db, args = args[0].removeprefix("--db="), args[1:]
        else:
            return None
        if not db or db.startswith("-"):
            return None
    path = tuple(args[:2]) if tuple(args[:2]) in QUICK_COMMANDS else tuple(args[:1])
    if path not in QUICK_COMMANDS:
        return None
    command, wanted, flags = QUICK_COMMANDS[path]
    positional: list[str] = []
    kwargs: dict[str, Any] = {}
    rest = iter(args[len(path) :])
    for token in rest:
        if not token.startswith("-"):
            positional.append(token)
            continue
        flag, has_value, value = token.partition("=")
        if flag not in flags:
            return None  # --help, --, unknown flags, negative numbers…: Click decides
        name, kind = flags[flag]
        if name in kwargs:
            return None  # repeated
        if kind == "flag":
            if has_value:
                return None
            kwargs[name] = True
            continue
        if not has_value:
            value = next(rest, "-")
        if value.startswith("-"):
            return None
        if kind == "count":
            if not (value.isascii() and value.isdigit()) or int(value) < 1:
                return None
            kwargs[name] = int(value)
        else:
            kwargs[name] = value
    if len(positional) != len(wanted):
        return None
    kwargs.update(zip(wanted, positional, strict=True))
    return command, db, kwargs


def run_quick(argv: Sequence[str]) -> int | None:
    """Run a quick command and give its exit code, or None when ``argv`` is not one."""
    parsed = parse(argv)
    if parsed is None:
        return None
    command, db, kwargs = parsed
    from pycrm.cli.app import report_error

    context = CliContext(db_arg=db)
    try:
        with cycle_collector_paused():
            try:
                command(context, **kwargs)
            except Exception as exc:
                code = report_error(exc)
                if code is None:
                    raise
                return code
            finally:
                context.close()
    except EOFError:
        sys.stderr.write("\nAborted!\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        # As Click does: the reader went away (`pycrm find x | head -1`); exit 1 quietly, and
        # keep the interpreter's final flush from complaining about the closed pipe.
        sys.stdout = _QuietFlush(sys.stdout)
        sys.stderr = _QuietFlush(sys.stderr)
        return 1
    return 0


class _QuietFlush:
    """A stream whose flush ignores a closed pipe (Click's PacifyFlushWrapper)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)
