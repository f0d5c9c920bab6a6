"""Loaders run inside workers: they call services and return plain objects for widgets.

Nothing here touches a widget; every function opens its own session so it can run in a thread.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pycrm.db import Database

CONTACT_PAGE = 50
CARDS_PER_COLUMN = 20
TODAY_LINES = 12


def safe(value: object) -> str:
    """Text for display: control characters stripped (markup is disabled by the caller)."""
    from pycrm.services.text import strip_control

    if value is None:
        return ""
    return strip_control(str(value))


def local(dt: datetime | None) -> datetime | None:
    """An aware datetime in the local zone."""
    return dt.astimezone() if dt is not None else None


def short_date(dt: datetime | None, now: datetime | None = None) -> str:
    """``2026-11-20`` style local date, or an empty string."""
    loc = local(dt)
    return loc.strftime("%Y-%m-%d") if loc else ""


def money(minor: int, currency: str) -> str:
    """Formatted money."""
    from pycrm.money import format_money

    return format_money(minor, currency)


def money_totals(totals: dict[str, int]) -> str:
    """``€1,200 · $300`` for totals per currency."""
    return " · ".join(money(v, c) for c, v in sorted(totals.items())) or "—"


# --------------------------------------------------------------------------------- contacts


@dataclass(frozen=True)
class ContactRow:
    """One line of the contacts table."""

    id: int
    name: str
    company: str
    email: str
    phone: str
    tags: str
    last_touch: str
    value: str = ""


@dataclass(frozen=True)
class ContactPage:
    """A window of contacts plus where it sits in the whole list."""

    rows: list[ContactRow]
    offset: int
    total: int
    query: str = ""
    generation: int = 0


def _rows(summaries: list[Any]) -> list[ContactRow]:
    out = []
    for s in summaries:
        c = s.contact
        out.append(
            ContactRow(
                id=c.id,
                name=safe(c.display_name),
                company=safe(s.company_name),
                email=safe(s.emails[0][0]) if s.emails else "",
                phone=safe(s.phones[0][0]) if s.phones else "",
                tags=safe(", ".join(s.tags)),
                last_touch=short_date(s.last_interaction_at),
                value=money_totals(s.lifetime_value) if s.lifetime_value else "",
            )
        )
    return out


def contact_page(
    database: Database,
    *,
    offset: int = 0,
    sort: str = "name",
    tag: str | None = None,
    company_id: int | None = None,
    limit: int | None = None,
) -> ContactPage:
    """One page of people (LIMIT/OFFSET), never the whole table.

    Read on a Core connection through the views ``contact list`` prints (the same filters,
    order and summaries as the ORM's ``contacts.list_contacts``, without building ORM objects).
    """
    import sqlalchemy as sa

    from pycrm import tables
    from pycrm.services import views

    limit = limit or CONTACT_PAGE

    with database.connect() as connection:
        unfiltered = tag is None and company_id is None
        total = -1
        if unfiltered:
            c = tables.contact.c
            count = sa.select(sa.func.count()).select_from(tables.contact)
            total = int(connection.scalar(count.where(c.archived == sa.false())) or 0)
        summaries = views.list_contacts(
            connection, tag=tag, company_id=company_id, sort=sort, limit=limit, offset=offset
        )
        rows = _rows(summaries)
    if total < 0:
        total = offset + len(rows) + (1 if len(rows) == limit else 0)
    return ContactPage(rows=rows, offset=offset, total=total)


def search_available() -> bool:
    """Whether the search service has landed."""
    return importlib.util.find_spec("pycrm.services.search") is not None


def search_contacts(database: Database, query: str, *, limit: int = CONTACT_PAGE) -> ContactPage:
    """People matching ``query`` through the same search service as ``pycrm find``.

    On a Core connection, as ``pycrm find`` searches: the rows are the summaries ``contact
    list`` prints (building ORM objects for them cost ~5 ms of each search keystroke)."""
    import sqlalchemy as sa

    from pycrm import tables
    from pycrm.services import search as search_service
    from pycrm.services import views

    with database.connect() as connection:
        hits = search_service.search(connection, query, limit=limit, kinds=("contact",))
        ids = [h.id for h in hits]
        c = tables.contact.c
        found = {
            row.id: row
            for row in connection.execute(
                sa.select(c.id, c.company_id, c.display_name).where(c.id.in_(ids))
            )
        }
        ordered = [found[i] for i in ids if i in found]
        rows = _rows(views.summarize_contacts(connection, ordered))
    return ContactPage(rows=rows, offset=0, total=len(rows), query=query)


@dataclass(frozen=True)
class Hit:
    """A search hit as plain data."""

    kind: str
    id: int
    label: str
    detail: str


def search_any(
    database: Database, query: str, *, kinds: tuple[str, ...] = ("contact",), limit: int = 20
) -> list[Hit]:
    """Search hits for the command palette."""
    if not search_available() or not query.strip():
        return []
    from pycrm.services import search as search_service

    with database.read() as session:
        hits = search_service.search(session, query, limit=limit, kinds=kinds)
        return [Hit(h.kind, h.id, safe(h.label), safe(h.detail)) for h in hits]


def recent_contacts(database: Database, limit: int = 30) -> list[Hit]:
    """People touched most recently (palette suggestions before typing)."""
    from pycrm.services import contacts

    with database.read() as session:
        out = []
        for s in contacts.list_contacts(session, sort="recent", limit=limit):
            out.append(Hit("contact", s.contact.id or 0, safe(s.contact.display_name), ""))
        return out


def resolve_company(database: Database, name: str) -> tuple[int, str] | None:
    """A company's id and name by exact (folded) name."""
    from pycrm.services import companies

    with database.read() as session:
        company = companies.find_company_by_name(session, name)
        if company is None or company.id is None:
            return None
        return company.id, safe(company.name)


def resolve_contact(database: Database, text: str) -> tuple[int, str]:
    """The one person ``text`` names (``#12`` or a search); raises NotFound / Ambiguous."""
    from pycrm.services import contacts
    from pycrm.services.errors import Ambiguous, Candidate, NotFound

    text = text.strip()
    with database.read() as session:
        if text.lstrip("#").isdigit():
            c = contacts.get_contact(session, int(text.lstrip("#")))
            return c.id or 0, safe(c.display_name)
    hits = search_any(database, text, kinds=("contact",), limit=5)
    if not hits:
        raise NotFound("contact", text)
    exact = [h for h in hits if h.label.casefold() == text.casefold()]
    if len(exact) == 1 or len(hits) == 1:
        h = (exact or hits)[0]
        return h.id, h.label
    raise Ambiguous("contact", text, [Candidate(h.id, h.label) for h in hits])


# --------------------------------------------------------------------------------- dossier


@dataclass(frozen=True)
class DealLine:
    """A deal as one line: title, stage, value."""

    id: int
    title: str
    stage: str
    stage_kind: str
    value: str
    expected_close: str
    contact: str = ""
    company: str = ""


@dataclass(frozen=True)
class FollowUpLine:
    """An open promise."""

    id: int
    what: str
    due_at: datetime
    contact_id: int | None
    contact: str
    deal_id: int | None
    deal: str
    done: bool = False


@dataclass(frozen=True)
class MeetingLine:
    """One meeting occurrence."""

    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    location: str
    attendees: list[tuple[int, str]]
    recurring: bool


@dataclass(frozen=True)
class InteractionLine:
    """One entry of the timeline."""

    id: int
    type: str
    direction: str
    occurred_at: datetime
    summary: str
    body: str


@dataclass(frozen=True)
class Dossier:
    """Everything about one person, for the pre-call screen."""

    id: int
    name: str
    title: str
    company_id: int | None
    company: str
    emails: list[str]
    phones: list[str]
    tags: list[str]
    preferred_channel: str
    best_time: str
    language: str
    do_not_contact: bool
    cadence_days: int | None
    last_touch: datetime | None
    address: str
    notes: str
    birthday: str
    deals: list[DealLine]
    followups: list[FollowUpLine]
    meetings: list[MeetingLine]
    timeline: list[InteractionLine]
    values: dict[str, Any] = field(default_factory=dict)


def _deal_line(s: Any) -> DealLine:
    d = s.deal
    return DealLine(
        id=d.id,
        title=safe(d.title),
        stage=safe(s.stage_name),
        stage_kind=s.stage_kind,
        value=money(d.amount, d.currency),
        expected_close=d.expected_close.isoformat() if d.expected_close else "",
        contact=safe(s.contact_name),
        company=safe(s.company_name),
    )


def _followup_line(s: Any) -> FollowUpLine:
    f = s.followup
    return FollowUpLine(
        id=f.id,
        what=safe(f.what),
        due_at=f.due_at,
        contact_id=f.contact_id,
        contact=safe(s.contact_name),
        deal_id=f.deal_id,
        deal=safe(s.deal_title),
        done=f.done_at is not None,
    )


def _meeting_line(o: Any) -> MeetingLine:
    mt = o.meeting
    return MeetingLine(
        id=mt.id,
        title=safe(mt.title),
        starts_at=o.starts_at,
        ends_at=o.ends_at,
        location=safe(mt.location),
        attendees=[(cid, safe(name)) for cid, name in o.attendees],
        recurring=bool(mt.rrule),
    )


def dossier(database: Database, contact_id: int, now: datetime) -> Dossier:
    """The pre-call dossier of one person."""
    from pycrm.services import contacts, deals, followups, interactions, meetings

    with database.read() as session:
        c = contacts.get_contact(session, contact_id)
        summary = contacts.summarize(session, [c])[0]
        deal_lines = [_deal_line(s) for s in deals.list_deals(session, contact_id=contact_id)]
        fups = [_followup_line(s) for s in followups.list_followups(session, contact_id=contact_id)]
        occ = meetings.agenda(session, now, now + timedelta(days=60), contact_id=contact_id)
        timeline = [
            InteractionLine(
                id=i.id or 0,
                type=i.type,
                direction=i.direction or "",
                occurred_at=i.occurred_at,
                summary=safe(i.summary),
                body=safe(i.body),
            )
            for i in interactions.list_interactions(session, contact_id=contact_id, limit=100)
        ]
        address = ", ".join(
            safe(x)
            for x in (
                c.address_street,
                c.address_postcode,
                c.address_city,
                c.address_region,
                c.address_country,
            )
            if x
        )
        birthday = ""
        if c.birth_month and c.birth_day:
            birthday = f"{c.birth_day:02d}/{c.birth_month:02d}" + (
                f"/{c.birth_year}" if c.birth_year else ""
            )
        values = {
            "display_name": c.display_name,
            "title": c.title or "",
            "company": summary.company_name or "",
            "email": summary.emails[0][0] if summary.emails else "",
            "phone": summary.phones[0][0] if summary.phones else "",
            "tags": ", ".join(summary.tags),
            "preferred_channel": c.preferred_channel or "",
            "best_time": c.best_time or "",
            "language": c.language or "",
            "cadence_days": str(c.cadence_days or ""),
            "notes": c.notes or "",
            "do_not_contact": "yes" if c.do_not_contact else "no",
        }
        return Dossier(
            id=c.id or 0,
            name=safe(c.display_name),
            title=safe(c.title),
            company_id=c.company_id,
            company=safe(summary.company_name),
            emails=[safe(e) + (f" ({safe(lbl)})" if lbl else "") for e, lbl in summary.emails],
            phones=[safe(p) + (f" ({safe(lbl)})" if lbl else "") for p, lbl in summary.phones],
            tags=[safe(t) for t in summary.tags],
            preferred_channel=safe(c.preferred_channel),
            best_time=safe(c.best_time),
            language=safe(c.language),
            do_not_contact=bool(c.do_not_contact),
            cadence_days=c.cadence_days,
            last_touch=summary.last_interaction_at,
            address=address,
            notes=safe(c.notes),
            birthday=birthday,
            deals=deal_lines,
            followups=fups,
            meetings=[_meeting_line(o) for o in occ[:10]],
            timeline=timeline,
            values=values,
        )


# --------------------------------------------------------------------------------- deals


@dataclass(frozen=True)
class StageColumn:
    """One pipeline column: the stage, its count and totals, and a window of cards."""

    id: int
    name: str
    kind: str
    count: int
    totals: dict[str, int]
    cards: list[DealLine]
    offset: int


@dataclass(frozen=True)
class Board:
    """The whole pipeline board."""

    columns: list[StageColumn]


def stage_list(database: Database) -> list[tuple[int, str, str]]:
    """(id, name, kind) of every stage in order."""
    from pycrm.services import stages

    with database.read() as session:
        return [(s.id or 0, safe(s.name), s.kind) for s in stages.list_stages(session)]


def board(
    database: Database, offsets: dict[int, int] | None = None, per_column: int = CARDS_PER_COLUMN
) -> Board:
    """Every stage with count, totals per currency and one window of cards."""
    from pycrm.services import deals, stages

    offsets = offsets or {}
    with database.read() as session:
        totals = _stage_totals(session)
        columns = []
        for st in stages.list_stages(session):
            sid = st.id or 0
            offset = offsets.get(sid, 0)
            count, money_by = totals.get(sid, (0, {}))
            offset = max(0, min(offset, max(0, count - 1)))
            cards = [
                _deal_line(s)
                for s in deals.list_deals(session, stage=str(sid), limit=per_column, offset=offset)
            ]
            columns.append(StageColumn(sid, safe(st.name), st.kind, count, money_by, cards, offset))
    return Board(columns)


def _stage_totals(session: Any) -> dict[int, tuple[int, dict[str, int]]]:
    """Count and value per currency of each stage (the pipeline report when it exists)."""
    from pycrm.services import deals

    return deals.stage_totals(session)


@dataclass(frozen=True)
class DealView:
    """One deal with its history, for the deal screen."""

    line: DealLine
    contact_id: int | None
    company: str
    probability: int
    next_step: str
    notes: str
    lost_reason: str
    history: list[tuple[str, datetime]]
    followups: list[FollowUpLine]
    timeline: list[InteractionLine]


def deal_view(database: Database, deal_id: int) -> DealView:
    """A deal with its stage history, follow-ups and interactions."""
    from pycrm import models as m
    from pycrm.services import deals, followups, interactions, stages

    with database.read() as session:
        d = deals.get_deal(session, deal_id)
        stage = stages.get_stage(session, d.stage_id)
        contact = session.get(m.Contact, d.contact_id) if d.contact_id else None
        company = session.get(m.Company, d.company_id) if d.company_id else None
        summary = deals.DealSummary(
            d,
            stage.name,
            stage.kind,
            stage.probability,
            contact.display_name if contact else None,
            company.name if company else None,
        )
        return DealView(
            line=_deal_line(summary),
            contact_id=d.contact_id,
            company=safe(summary.company_name),
            probability=summary.probability,
            next_step=safe(d.next_step),
            notes=safe(d.notes),
            lost_reason=safe(d.lost_reason),
            history=[(safe(n), at) for n, at in deals.stage_history(session, deal_id)],
            followups=[
                _followup_line(s) for s in followups.list_followups(session, deal_id=deal_id)
            ],
            timeline=[
                InteractionLine(
                    id=i.id or 0,
                    type=i.type,
                    direction=i.direction or "",
                    occurred_at=i.occurred_at,
                    summary=safe(i.summary),
                    body=safe(i.body),
                )
                for i in interactions.list_interactions(session, deal_id=deal_id, limit=50)
            ],
        )


# --------------------------------------------------------------------------------- follow-ups


@dataclass(frozen=True)
class FollowUpGroups:
    """Open follow-ups split the way a person plans a day."""

    overdue: list[FollowUpLine]
    today: list[FollowUpLine]
    upcoming: list[FollowUpLine]


def followup_groups(database: Database, now: datetime, limit: int = 500) -> FollowUpGroups:
    """Overdue, due today (local day) and upcoming open follow-ups."""
    from pycrm.services import followups

    local_now = now.astimezone()
    start_today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    end_today = start_today + timedelta(days=1)
    with database.read() as session:
        lines = [_followup_line(s) for s in followups.list_followups(session, limit=limit)]
    overdue = [f for f in lines if f.due_at < start_today]
    today = [f for f in lines if start_today <= f.due_at < end_today]
    upcoming = [f for f in lines if f.due_at >= end_today]
    return FollowUpGroups(overdue, today, upcoming)


# --------------------------------------------------------------------------------- calendar


def calendar(database: Database, now: datetime, days: int = 28) -> list[MeetingLine]:
    """Meeting occurrences from the start of today for ``days`` days, recurrences expanded."""
    from pycrm.services import meetings

    start = now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    with database.read() as session:
        return [
            _meeting_line(o)
            for o in meetings.agenda(
                session, start.astimezone(UTC), (start + timedelta(days=days)).astimezone(UTC)
            )
        ]


# --------------------------------------------------------------------------------- today


@dataclass(frozen=True)
class TodayLine:
    """One line of the Today screen: what it says and what Enter opens."""

    text: str
    target: str  # "contact:12", "deal:3", "followup:5" (opens its person or deal)
    style: str = ""


@dataclass(frozen=True)
class TodaySection:
    """A heading and its lines."""

    title: str
    lines: list[TodayLine]
    loading: bool = False


def today(database: Database, now: datetime) -> list[TodaySection]:
    """The day at a glance, from the agenda service (the whole of it)."""
    from pycrm.services import agenda

    with database.connect() as connection:
        day = agenda.today(connection, now=now.astimezone(), limit=TODAY_LINES)
        return _today_sections(day)


def _today_sections(day: Any) -> list[TodaySection]:
    """Turn the agenda service's Agenda into plain lines; sections not read yet (None) say they
    are loading."""
    sections: list[TodaySection] = []
    totals: dict[str, int] = getattr(day, "totals", None) or {}

    def add(key: str, title: str, render: Any, more: str = "today") -> None:
        items = getattr(day, key, None)
        if items is None:
            sections.append(TodaySection(f"{title} (loading…)", [], loading=True))
            return
        items = list(items)
        total = max(totals.get(key, len(items)), len(items))
        lines = [render(x) for x in items[:TODAY_LINES]]
        if total > TODAY_LINES:
            lines.append(TodayLine(f"… and {total - len(lines):,} more", f"screen:{more}", "dim"))
        sections.append(TodaySection(f"{title} ({total:,})", lines))

    def meeting(o: Any) -> TodayLine:
        mt = o.meeting
        people = o.attendees or []
        who = ", ".join(safe(n) for _, n in people)
        target = f"contact:{people[0][0]}" if people else f"meeting:{mt.id}"
        return TodayLine(f"{local(o.starts_at):%H:%M}  {safe(mt.title)}  {who}", target)

    def followup(s: Any) -> TodayLine:
        f = s.followup
        extra = " · ".join(x for x in (safe(s.contact_name), safe(s.deal_title)) if x)
        target = f"contact:{f.contact_id}" if f.contact_id else f"deal:{f.deal_id}"
        return TodayLine(f"{local(f.due_at):%d %b %H:%M}  {safe(f.what)}  {extra}", target)

    def deal(s: Any) -> TodayLine:
        d = s.deal
        close = d.expected_close.isoformat() if d.expected_close else ""
        return TodayLine(
            f"{safe(d.title)}  {money(d.amount, d.currency)}  {close}  {safe(s.stage_name)}",
            f"deal:{d.id}",
        )

    def birthday(b: Any) -> TodayLine:
        age = f"  turns {b.age}" if getattr(b, "age", None) else ""
        return TodayLine(f"{b.day:%d %b}  {safe(b.name)}{age}", f"contact:{b.contact_id}")

    def touch(t: Any) -> TodayLine:
        since = (
            f"{t.days_since} days since last touch"
            if t.days_since is not None
            else "never in touch"
        )
        return TodayLine(
            f"{safe(t.name)}  {since}, cadence {t.cadence_days} days", f"contact:{t.contact_id}"
        )

    add("meetings", "Meetings today", meeting, "calendar")
    add("overdue", "Overdue follow-ups", followup, "followups")
    add("due_today", "Due today", followup, "followups")
    add("closing_soon", "Deals closing within 7 days", deal, "pipeline")
    add("stale_deals", "Stale deals", deal, "pipeline")
    add("birthdays", "Birthdays", birthday, "contacts")
    add("due_touch", "Going cold (due a touch)", touch, "contacts")
    return sections


# The agenda in parts, each read in its own worker so the screen fills in as they arrive and
# the slow SQL of one part (people due a touch) runs while the others are read and drawn.
# The parts call the same service functions with the same arguments as agenda.today().
TODAY_PARTS = ("due_touch", "followups", "deals", "birthdays")


def today_part(database: Database, part: str, now: datetime) -> dict[str, Any]:
    """One part of the agenda as attributes of agenda.Agenda (plus ``totals``).

    Read on a Core connection through the agenda service and its Core views, so the start-up
    path imports neither the models nor the ORM (~0.4 s of CPU that held the interpreter lock
    while the first screen was being drawn).
    """
    from pycrm.services import agenda, views

    local_now = now.astimezone()
    start, end = agenda.day_bounds(local_now)
    limit = TODAY_LINES
    with database.connect() as connection:
        if part == "followups":
            return {
                "meetings": views.meeting_occurrences(connection, start, end),
                "overdue": views.list_followups(connection, until=start, limit=limit),
                "due_today": views.list_followups(connection, since=start, until=end, limit=limit),
                "totals": {
                    "overdue": views.count_open_followups(connection, until=start),
                    "due_today": views.count_open_followups(connection, since=start, until=end),
                },
            }
        if part == "deals":
            closing = views.list_deals(
                connection,
                status="open",
                closing_after=local_now.date(),
                closing_before=local_now.date() + timedelta(days=agenda.CLOSING_WITHIN_DAYS),
                limit=limit,
            )
            stale_ids, stale_total = agenda.first_stale_deal_ids(connection, local_now, limit)
            stale = views.list_deals(connection, deal_ids=stale_ids) if stale_ids else []
            return {
                "closing_soon": closing,
                "stale_deals": stale,
                "totals": {"stale_deals": stale_total},
            }
        if part == "birthdays":
            return {"birthdays": agenda.birthdays(connection, local_now.date())}
        if part == "due_touch":
            due, total = agenda.due_touch(connection, local_now, limit=limit)
            return {"due_touch": due, "totals": {"due_touch": total}}
    raise ValueError(f"unknown part of the agenda: {part}")


def warm_up() -> None:
    """Import the models and the ORM services the other screens read through (~0.4 s), so the
    first switch to Contacts or the Pipeline does not pay for it; run in a thread once Today
    has been painted."""
    from sqlalchemy.orm import configure_mappers

    from pycrm import models  # noqa: F401
    from pycrm.services import contacts, deals, stages  # noqa: F401

    configure_mappers()


class TodayPrefetch:
    """The agenda's parts read in background threads from the moment the app is created, so
    the database work overlaps Textual's start-up; the Today screen claims them once."""

    def __init__(self, database: Database, now: datetime) -> None:
        from concurrent.futures import Future

        self.now = now
        self.database = database
        self.futures: dict[str, Future[dict[str, Any]]] = {p: Future() for p in TODAY_PARTS}
        for part in TODAY_PARTS:
            thread = threading.Thread(
                target=self._read, args=(part,), name=f"pycrm-today-{part}", daemon=True
            )
            thread.start()

    def _read(self, part: str) -> None:
        future = self.futures[part]
        try:
            future.set_result(today_part(self.database, part, self.now))
        except BaseException as exc:  # handed to whoever waits for it
            future.set_exception(exc)


def today_from_parts(parts: dict[str, dict[str, Any]]) -> list[TodaySection]:
    """The sections for the parts read so far (the others say they are loading)."""
    from types import SimpleNamespace

    day = SimpleNamespace(
        meetings=None,
        overdue=None,
        due_today=None,
        closing_soon=None,
        stale_deals=None,
        birthdays=None,
        due_touch=None,
        totals={},
    )
    for values in parts.values():
        for key, value in values.items():
            if key == "totals":
                day.totals.update(value)
            else:
                setattr(day, key, value)
    return _today_sections(day)


def parse_when(text: str, now: datetime, date_order: str = "dmy") -> datetime:
    """A WHEN typed by the user, through the shared date parser."""
    from pycrm.dates import parse_when as shared_parse_when

    return shared_parse_when(text, now=now, date_order=date_order)


def today_date(now: datetime) -> date:
    """The local calendar day of ``now``."""
    return now.astimezone().date()
