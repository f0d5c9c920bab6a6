"""The Core views of the quick commands read what the ORM services read, field for field.

`contact list`, `contact show` and `today` print :mod:`pycrm.services.views` (Core, no models);
their JSON and tables must stay what they were when they printed the ORM services' summaries, so
each view is compared here with its ORM counterpart through the very serialisers the CLI uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pycrm.cli.serialize import (
    agenda_json,
    contact_json,
    deal_json,
    followup_json,
    interaction_json,
    occurrence_json,
)
from pycrm.db import Database, open_database
from pycrm.services import (
    agenda,
    contacts,
    deals,
    followups,
    interactions,
    meetings,
    views,
)
from pycrm.services.errors import ValidationError
from pycrm.services.text import fold

NOW = datetime(2026, 11, 20, 13, tzinfo=UTC)


@pytest.fixture
def book(database: Database) -> Database:
    """The demo's year of CRM life plus the awkward cases: recurring meetings, JSON fields,
    several currencies, archived and do-not-contact people, a person with no company."""
    return _fill_book(database)


@pytest.fixture
def sqlite_book(db_path: Path) -> Iterator[Database]:
    """The same book on a SQLite file only, for SQLite's own query paths."""
    database = open_database(str(db_path))
    yield _fill_book(database)
    database.close()


def _fill_book(database: Database) -> Database:
    from pycrm.demo import seed_demo

    seed_demo(database, contacts=300, seed=5, now=NOW)
    with database.write("awkward cases") as s:
        zoe = contacts.create_contact(
            s, "Zoé Ærøskøbing", emails=[("zoe@example.org", "home"), "zoe@work.example"],
            tags=["vip", "Ünïcode"], custom_fields={"shoe size": 38, "nested": {"a": [1, 2]}},
            cadence_days=7, birth_month=11, birth_day=22, notes="line one\nline two",
        )  # fmt: skip
        assert zoe.id is not None
        contacts.create_contact(s, "Archie Archived", archived=True)
        for currency, amount in (("EUR", 1000), ("USD", 2500), ("EUR", 500)):
            deal = deals.create_deal(s, f"Zoé {currency}", contact_id=zoe.id, amount=amount,
                                     currency=currency, expected_close=NOW.date())  # fmt: skip
            assert deal.id is not None
            deals.mark_won(s, deal.id, at=NOW - timedelta(days=3))
        deals.create_deal(s, "Zoé open", contact_id=zoe.id, amount=10, probability=33)
        meetings.create_meeting(
            s, "Weekly sync", starts_at=NOW - timedelta(days=30), repeat="weekly",
            attendees=[zoe.id], location="Room ✓", exdates=[],
        )  # fmt: skip
        meetings.create_meeting(s, "One-off", starts_at=NOW + timedelta(hours=2),
                                attendees=[zoe.id, 1, 2])  # fmt: skip
        followups.create_followup(s, "Send the quote", due_at=NOW - timedelta(days=1),
                                  contact_id=zoe.id, priority=2)  # fmt: skip
        for i in range(12):
            interactions.log_interaction(
                s, type="call", summary=f"call {i}", contact_id=zoe.id,
                occurred_at=NOW - timedelta(days=i, minutes=i), direction="out",
            )  # fmt: skip
    return database


def _contact_ids(database: Database) -> list[int]:
    """People worth comparing: the awkward ones and a spread of demo people."""
    with database.connect() as connection:
        ids = [p.contact.id for p in views.list_contacts(connection, include_archived=True)]
    return ids[:: max(1, len(ids) // 25)] + ids[-3:]


@pytest.mark.parametrize(
    "options",
    [
        {"sort": "name"},
        {"sort": "recent", "limit": 40},
        {"sort": "value", "limit": 40},
        {"sort": "name", "limit": 7, "offset": 5},
        {"tag": "VIP"},
        {"tag": "unicode"},
        {"tag": "no such tag"},
        {"company_id": 1},
        {"include_archived": True, "sort": "recent"},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)
def test_contact_list_is_the_orm_list(book: Database, options: dict[str, Any]) -> None:
    with book.read() as session:
        expected = [contact_json(p) for p in contacts.list_contacts(session, **options)]
    with book.connect() as connection:
        got = [contact_json(p) for p in views.list_contacts(connection, **options)]
    assert got == expected
    if "no such tag" not in options.values():
        assert got, options


@pytest.mark.parametrize(
    "options",
    [{}, {"limit": 9, "offset": 4}, {"tag": "VIP"}, {"tag": "no such tag"}],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "all",
)
def test_company_list_is_the_orm_list(book: Database, options: dict[str, Any]) -> None:
    from pycrm.cli.serialize import company_json
    from pycrm.services import companies

    with book.write("tags on companies") as s:
        for summary in companies.list_companies(s, limit=6):
            assert summary.company.id is not None
            companies.update_company(s, summary.company.id, add_tags=["vip", "Ünïcode"])
    with book.read() as session:
        expected = [company_json(c) for c in companies.list_companies(session, **options)]
    with book.connect() as connection:
        got = [company_json(c) for c in views.list_companies(connection, **options)]
    assert got == expected
    if options.get("tag") != "no such tag":
        assert got and any(c["contacts"] for c in got), options
    if not options:
        assert any(c["open_deals"] for c in got) and any(c["tags"] for c in got)


@pytest.mark.parametrize(
    "options",
    [{}, {"status": "open"}, {"status": "won", "limit": 5}, {"status": "lost"},
     {"stage": "Proposal"}, {"stage": "prop", "status": "open"}, {"stage": "1", "limit": 3},
     {"stage": "négotiation"}],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "all",
)  # fmt: skip
def test_deal_list_is_the_orm_list(book: Database, options: dict[str, Any]) -> None:
    from pycrm.services import stages

    with book.read() as session:
        orm = dict(options)
        expected = [deal_json(d) for d in deals.list_deals(session, **orm)]
    with book.connect() as connection:
        core = dict(options)
        if "stage" in core:
            core["stage_id"] = views.stage_id(connection, core.pop("stage"))
        got = [deal_json(d) for d in views.list_deals(connection, **core)]
    assert got == expected
    assert got, options
    with book.read() as session, book.connect() as connection:
        for ref in ("o", "zzz", "", "999"):  # ambiguous, unknown, empty, no such id
            with pytest.raises(ValidationError) as orm_error:
                stages.get_stage(session, ref)
            with pytest.raises(ValidationError) as core_error:
                views.stage_id(connection, ref)
            assert str(core_error.value) == str(orm_error.value)


def test_contact_show_parts_are_the_orm_parts(book: Database) -> None:
    now = NOW - timedelta(days=10)
    compared = 0
    for cid in _contact_ids(book):
        with book.read() as session:
            [person] = contacts.summarize(session, [contacts.get_contact(session, cid)])
            name = person.contact.display_name
            expected = {
                "contact": contact_json(person),
                "deals": [deal_json(d) for d in deals.list_deals(session, contact_id=cid)],
                "followups": [
                    followup_json(f, NOW) for f in followups.list_followups(session, contact_id=cid)
                ],
                "meetings": [
                    occurrence_json(o)
                    for o in meetings.agenda(
                        session, now, now + timedelta(days=365), contact_id=cid
                    )
                ],
                "interactions": [
                    interaction_json(i, name)
                    for i in interactions.list_interactions(session, contact_id=cid, limit=10)
                ],
            }
        with book.connect() as connection:
            got = {
                "contact": contact_json(views.contact_view(connection, cid)),
                "deals": [deal_json(d) for d in views.list_deals(connection, contact_id=cid)],
                "followups": [
                    followup_json(f, NOW) for f in views.list_followups(connection, contact_id=cid)
                ],
                "meetings": [
                    occurrence_json(o)
                    for o in views.meeting_occurrences(
                        connection, now, now + timedelta(days=365), contact_id=cid
                    )
                ],
                "interactions": [
                    interaction_json(i, name)
                    for i in views.list_interactions(connection, contact_id=cid, limit=10)
                ],
            }
        assert got == expected, cid
        compared += sum(1 for part in got.values() if part)
    assert compared > 40  # the comparison saw deals, follow-ups, meetings and interactions


def _orm_agenda(session: Any, now: datetime, limit: int) -> agenda.Agenda:
    """The agenda as `today` built it from the ORM services before it moved to Core."""
    start, end = agenda.day_bounds(now)
    day = agenda.Agenda(now=now)
    day.meetings = meetings.agenda(session, start, end)  # type: ignore[assignment]
    every = followups.list_followups(session, until=start)
    today = followups.list_followups(session, since=start, until=end)
    day.totals["overdue"], day.totals["due_today"] = len(every), len(today)
    day.overdue, day.due_today = every[:limit], today[:limit]  # type: ignore[assignment]
    day.closing_soon = deals.list_deals(  # type: ignore[assignment]
        session, status="open", closing_after=now.date(),
        closing_before=now.date() + timedelta(days=agenda.CLOSING_WITHIN_DAYS), limit=limit,
    )  # fmt: skip
    stale = agenda.stale_deal_ids(session, now)
    day.totals["stale_deals"] = len(stale)
    day.stale_deals = deals.list_deals(session, deal_ids=stale[:limit]) if stale else []  # type: ignore[assignment]
    day.birthdays = agenda.birthdays(session, now.date())
    day.due_touch, day.totals["due_touch"] = agenda.due_touch(session, now, limit=limit)
    return day


@pytest.mark.parametrize("limit", [50, 3])
@pytest.mark.parametrize("offset_days", [0, -2, 5])
def test_today_is_the_orm_today(book: Database, limit: int, offset_days: int) -> None:
    now = (NOW + timedelta(days=offset_days)).astimezone()
    with book.read() as session:
        expected = agenda_json(_orm_agenda(session, now, limit))
        on_session = agenda_json(agenda.today(session, now, limit=limit))
    with book.connect() as connection:
        got = agenda_json(agenda.today(connection, now, limit=limit))
    assert got == expected
    assert on_session == expected  # the Today screen passes an ORM session
    assert sum(len(v) for v in got.values() if isinstance(v, list)) > 5


@pytest.mark.parametrize("limit", [50, 2])
def test_due_touch_ranks_and_counts_as_the_interactions_say(book: Database, limit: int) -> None:
    """The stored last touch (kept by triggers) gives the people, order, figures and total that
    the interactions themselves give, computed here in Python from the raw rows."""
    import sqlalchemy as sa

    from pycrm import tables as t

    now = (NOW + timedelta(days=200)).astimezone()  # most people are due by then
    with book.connect() as connection:
        got = agenda.due_touch(connection, now, limit=limit)
        last: dict[int, datetime] = {}
        for cid, at in connection.execute(
            sa.select(t.interaction.c.contact_id, t.interaction.c.occurred_at)
        ):
            if cid is not None and (cid not in last or at > last[cid]):
                last[cid] = at
        open_people = set(
            connection.scalars(
                sa.select(t.deal.c.contact_id)
                .join(t.stage, t.stage.c.id == t.deal.c.stage_id)
                .where(t.stage.c.kind == t.OPEN)
            )
        )
        vip_people = set(
            connection.scalars(
                sa.select(t.contact_tag.c.contact_id)
                .join(t.tag, t.tag.c.id == t.contact_tag.c.tag_id)
                .where(t.tag.c.name_key == "vip")
            )
        )
        people = connection.execute(
            sa.select(t.contact).where(~t.contact.c.archived, ~t.contact.c.do_not_contact)
        ).all()
    due = []
    for p in people:
        if p.cadence_days is None and p.id not in open_people and p.id not in vip_people:
            continue
        cadence = p.cadence_days or agenda.DEFAULT_CADENCE_DAYS
        elapsed = (now - last.get(p.id, p.created_at)).total_seconds() / 86400
        if elapsed > cadence:
            due.append((-(elapsed - cadence), p.display_name, p.id, last.get(p.id)))
    due.sort()
    assert got[1] == len(due) > limit
    assert [(d.contact_id, d.last_interaction_at) for d in got[0]] == [
        (cid, at) for _, _, cid, at in due[:limit]
    ]


def test_birthdays_this_week_across_new_year_and_29_february(database: Database) -> None:
    from datetime import date

    with database.write("birthdays") as s:
        for name, month, day, year in [
            ("Leap", 2, 29, 2000), ("March", 3, 1, None), ("Late Feb", 2, 27, 1990),
            ("New Year", 1, 2, 1980), ("Eve", 12, 31, None), ("Too late", 3, 4, None),
            ("Archived", 3, 1, None),
        ]:  # fmt: skip
            contacts.create_contact(s, name, birth_month=month, birth_day=day, birth_year=year,
                                    archived=name == "Archived")  # fmt: skip
    with database.connect() as connection:
        common = agenda.birthdays(connection, date(2027, 2, 25))
        leap = agenda.birthdays(connection, date(2028, 2, 25))
        year_end = agenda.birthdays(connection, date(2026, 12, 28))
    assert [(b.name, b.day, b.age) for b in common] == [
        ("Late Feb", date(2027, 2, 27), 37), ("Leap", date(2027, 3, 1), 27),
        ("March", date(2027, 3, 1), None),
    ]  # fmt: skip
    assert [(b.name, b.day) for b in leap] == [
        ("Late Feb", date(2028, 2, 27)), ("Leap", date(2028, 2, 29)), ("March", date(2028, 3, 1)),
    ]  # fmt: skip
    assert [(b.name, b.day, b.age) for b in year_end] == [
        ("Eve", date(2026, 12, 31), None), ("New Year", date(2027, 1, 2), 47),
    ]  # fmt: skip


@pytest.mark.parametrize("tag", [None, "vip"])
def test_value_order_is_won_value_then_name_across_every_page(
    book: Database, tag: str | None
) -> None:
    """People who won something first, by value, then everyone else by name; pages that straddle
    the two parts join up, and the ORM list agrees (oracle: the raw deals summed in Python)."""
    import sqlalchemy as sa

    from pycrm import tables as t

    with book.connect() as connection:
        won: dict[int, int] = {}
        for cid, amount in connection.execute(
            sa.select(t.deal.c.contact_id, t.deal.c.amount)
            .join(t.stage, t.stage.c.id == t.deal.c.stage_id)
            .where(t.stage.c.kind == t.WON, t.deal.c.contact_id.is_not(None))
        ):
            won[cid] = won.get(cid, 0) + amount
        tagged = None
        if tag:
            tagged = set(
                connection.scalars(
                    sa.select(t.contact_tag.c.contact_id)
                    .join(t.tag, t.tag.c.id == t.contact_tag.c.tag_id)
                    .where(t.tag.c.name_key == tag)
                )
            )
        people = [
            (p.id, fold(p.display_name))  # people sort by their folded name
            for p in connection.execute(sa.select(t.contact).where(~t.contact.c.archived))
            if tagged is None or p.id in tagged
        ]
    valued = sorted(
        (p for p in people if won.get(p[0], 0) > 0), key=lambda p: (-won[p[0]], p[1], p[0])
    )
    rest = sorted((p for p in people if won.get(p[0], 0) <= 0), key=lambda p: (p[1], p[0]))
    expected = [pid for pid, _ in valued + rest]
    assert valued and len(valued) < len(expected) - 10
    with book.connect() as connection:
        everyone = [v.contact.id for v in views.list_contacts(connection, sort="value", tag=tag)]
        pages = {
            offset: [
                v.contact.id
                for v in views.list_contacts(
                    connection, sort="value", tag=tag, limit=7, offset=offset
                )
            ]
            for offset in (0, max(0, len(valued) - 3), len(valued) + 2)
        }
    with book.read() as session:
        orm = [s.contact.id for s in contacts.list_contacts(session, sort="value", tag=tag)]
    assert everyone == orm == expected
    for offset, page in pages.items():
        assert page == expected[offset : offset + 7]
