"""Read-only views on plain SQLAlchemy Core: the look-ups behind `contact list`, `contact show`
and `today`.

Importing ``pycrm.models`` (SQLModel and pydantic), configuring the ORM mappers and running ORM
queries cost a quick command most of a second at 100k contacts (issue 8, figure 3). These
functions read the same rows through the Core tables of :mod:`pycrm.tables`, on a Core
``Connection`` (``Database.connect()``) or an ORM ``Session`` alike, and return views with the
attributes of the ORM services' summaries (``ContactSummary``, ``DealSummary``,
``FollowUpSummary``, ``Occurrence``), so the CLI's serialisers and tables print them unchanged.
The record inside each view is a Core ``Row``: its attributes are the table's column names (a
joined row also carries the linked names, labelled so they never shadow a column).

Each query mirrors its ORM counterpart in :mod:`pycrm.services.contacts`, ``deals``,
``followups``, ``meetings`` and ``interactions`` (same filters, same order, ties broken the same
way); tests compare the two on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.services import recurrence
from pycrm.services.errors import NotFound, ValidationError
from pycrm.services.text import fold

if TYPE_CHECKING:  # the ORM costs ~0.1 s to import; the quick commands do not need it
    from sqlalchemy.orm import Session

    Queryable = Session | sa.Connection

Record = sa.Row[Any]  # one table row; its attributes are the column names

CHUNK = 900  # ids per IN (…) list: under SQLite's old 999-parameter limit


def dialect_name(db: Queryable) -> str:
    """``sqlite`` or ``postgresql``, for a Core connection or an ORM session."""
    if isinstance(db, sa.Connection):
        return db.dialect.name
    return db.get_bind().dialect.name


# --- contacts -------------------------------------------------------------------------------


@dataclass
class ContactView:
    """A contact with the names of what it links to (the attributes of ``ContactSummary``)."""

    contact: Any  # a Core row here; an ORM Contact when contacts.summarize asks
    company_name: str | None = None
    emails: list[tuple[str, str | None]] = field(default_factory=list)
    phones: list[tuple[str, str | None]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    last_interaction_at: datetime | None = None
    lifetime_value: dict[str, int] = field(default_factory=dict)


def contact_record(db: Queryable, contact_id: int) -> Record:
    """A contact's row by id, or NotFound."""
    row = db.execute(sa.select(t.contact).where(t.contact.c.id == contact_id)).first()
    if row is None:
        raise NotFound("contact", contact_id)
    return row


def contact_view(db: Queryable, contact_id: int) -> ContactView:
    """One contact with company name, e-mails, phones, tags, last touch and won value."""
    return summarize_contacts(db, [contact_record(db, contact_id)])[0]


def summarize_contacts(db: Queryable, contacts: Sequence[Any]) -> list[ContactView]:
    """Attach company names, e-mails, phones, tags, last touch and won value, in a few queries.

    ``contacts`` are rows or ORM contacts alike (only ``id`` and ``company_id`` are read);
    ``contacts.summarize`` wraps this for the ORM."""
    if dialect_name(db) == "postgresql":
        return _summarize_contacts_pg(db, contacts)
    return _summarize_contacts_by_table(db, contacts)


def _summarize_contacts_by_table(db: Queryable, contacts: Sequence[Any]) -> list[ContactView]:
    """:func:`summarize_contacts` in one look-up per linked table (SQLite, where a query costs
    no round trip; the reference the PostgreSQL statement is tested against)."""
    ids = [c.id for c in contacts]
    companies: dict[int, str] = {}
    emails: dict[int, list[tuple[str, str | None]]] = {}
    phones: dict[int, list[tuple[str, str | None]]] = {}
    tags: dict[int, list[str]] = {}
    last: dict[int, datetime] = {}
    value: dict[int, dict[str, int]] = {}
    company_ids = sorted({c.company_id for c in contacts if c.company_id})
    e_t, p_t, i_t = t.contact_email, t.contact_phone, t.interaction
    tag_t, link, d_t, s_t = t.tag, t.contact_tag, t.deal, t.stage
    for start in range(0, max(len(ids), len(company_ids)), CHUNK):
        chunk = ids[start : start + CHUNK]
        cchunk = company_ids[start : start + CHUNK]
        if cchunk:
            companies.update(
                (cid, name)
                for cid, name in db.execute(
                    sa.select(t.company.c.id, t.company.c.name).where(t.company.c.id.in_(cchunk))
                )
            )
        if not chunk:
            continue
        for cid, email, label in db.execute(
            sa.select(e_t.c.contact_id, e_t.c.email, e_t.c.label)
            .where(e_t.c.contact_id.in_(chunk))
            .order_by(e_t.c.contact_id, e_t.c.position)
        ):
            emails.setdefault(cid, []).append((email, label))
        for cid, number, label in db.execute(
            sa.select(p_t.c.contact_id, p_t.c.number, p_t.c.label)
            .where(p_t.c.contact_id.in_(chunk))
            .order_by(p_t.c.contact_id, p_t.c.position)
        ):
            phones.setdefault(cid, []).append((number, label))
        for cid, name in db.execute(
            sa.select(link.c.contact_id, tag_t.c.name)
            .join(tag_t, tag_t.c.id == link.c.tag_id)
            .where(link.c.contact_id.in_(chunk))
            .order_by(tag_t.c.name)
        ):
            tags.setdefault(cid, []).append(name)
        for cid, at in db.execute(
            sa.select(i_t.c.contact_id, sa.func.max(i_t.c.occurred_at))
            .where(i_t.c.contact_id.in_(chunk))
            .group_by(i_t.c.contact_id)
        ):
            last[cid] = at
        for cid, currency, total in db.execute(
            sa.select(d_t.c.contact_id, d_t.c.currency, sa.func.sum(d_t.c.amount))
            .join(s_t, s_t.c.id == d_t.c.stage_id)
            .where(d_t.c.contact_id.in_(chunk), s_t.c.kind == t.WON)
            .group_by(d_t.c.contact_id, d_t.c.currency)
        ):
            value.setdefault(cid, {})[currency] = int(total or 0)
    return [
        ContactView(
            contact=c,
            company_name=companies.get(c.company_id) if c.company_id else None,
            emails=emails.get(c.id, []),
            phones=phones.get(c.id, []),
            tags=tags.get(c.id, []),
            last_interaction_at=last.get(c.id),
            lifetime_value=value.get(c.id, {}),
        )
        for c in contacts
    ]


# Everything summarize_contacts attaches, for a list of contacts, in one PostgreSQL statement:
# six look-ups were six round trips, each planned anew in a one-shot command (`contact list`
# spent ~40 ms of its start-up on them). Each list keeps the order of the look-up it replaces;
# e-mails and phones come as [text, label] pairs so one sort orders both.
_PG_SUMMARY = sa.text(
    """
SELECT x.id,
  (SELECT co.name::text FROM company co WHERE co.id = x.company_id) AS company_name,
  ARRAY(SELECT ARRAY[e.email::text, e.label::text] FROM contact_email e
        WHERE e.contact_id = x.id ORDER BY e.position) AS emails,
  ARRAY(SELECT ARRAY[p.number::text, p.label::text] FROM contact_phone p
        WHERE p.contact_id = x.id ORDER BY p.position) AS phones,
  ARRAY(SELECT g.name::text FROM contact_tag ct JOIN tag g ON g.id = ct.tag_id
        WHERE ct.contact_id = x.id ORDER BY g.name) AS tags,
  (SELECT max(i.occurred_at) FROM interaction i WHERE i.contact_id = x.id) AS last_at,
  (SELECT json_object_agg(v.currency, v.total ORDER BY v.currency) FROM (
     SELECT d.currency, sum(d.amount) AS total FROM deal d JOIN stage s ON s.id = d.stage_id
     WHERE d.contact_id = x.id AND s.kind = :won GROUP BY d.currency) AS v) AS won
FROM unnest(CAST(:ids AS integer[]), CAST(:company_ids AS integer[])) AS x(id, company_id)
"""
).columns(
    sa.column("id", sa.Integer),
    sa.column("company_name", sa.String),
    sa.column("emails"),
    sa.column("phones"),
    sa.column("tags"),
    # The type the interaction table's column has, so the time comes back as the look-up's did.
    sa.column("last_at", t.interaction.c.occurred_at.type),
    sa.column("won"),
)


def _summarize_contacts_pg(db: Queryable, contacts: Sequence[Any]) -> list[ContactView]:
    """:func:`summarize_contacts` on PostgreSQL: one statement per CHUNK contacts."""
    found: dict[int, Any] = {}
    for start in range(0, len(contacts), CHUNK):
        chunk = contacts[start : start + CHUNK]
        params = {
            "ids": [c.id for c in chunk],
            "company_ids": [c.company_id for c in chunk],
            "won": t.WON,
        }
        found.update((row.id, row) for row in db.execute(_PG_SUMMARY, params))
    views = []
    for c in contacts:
        row = found[c.id]
        views.append(
            ContactView(
                contact=c,
                company_name=row.company_name if c.company_id else None,
                emails=[(email, label) for email, label in row.emails],
                phones=[(number, label) for number, label in row.phones],
                tags=list(row.tags),
                last_interaction_at=row.last_at,
                lifetime_value={k: int(v or 0) for k, v in (row.won or {}).items()},
            )
        )
    return views


def tag_id(db: Queryable, name: str) -> int | None:
    """The id of a tag by name (ignoring case and accents), or None."""
    return db.execute(sa.select(t.tag.c.id).where(t.tag.c.name_key == fold(name))).scalar()


def list_contacts(
    db: Queryable,
    *,
    tag: str | None = None,
    company_id: int | None = None,
    sort: str = "name",
    limit: int | None = None,
    offset: int = 0,
    include_archived: bool = False,
) -> list[ContactView]:
    """People filtered by tag / company, sorted by ``name``, ``recent`` (last touch) or ``value``
    (as ``contacts.list_contacts``)."""
    c = t.contact
    tid = None
    if tag:
        tid = tag_id(db, tag)
        if tid is None:
            return []
    where = contact_filters(include_archived=include_archived, tag_id=tid, company_id=company_id)
    if sort == "value":
        ids = contact_ids_by_value(db, where, limit=limit, offset=offset)
        found: dict[int, Any] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            found.update((row.id, row) for row in db.execute(sa.select(c).where(c.c.id.in_(chunk))))
        return summarize_contacts(db, [found[i] for i in ids])
    query = sa.select(c).where(*where)
    if sort == "recent":
        query = query.order_by(c.c.last_touch_at.desc().nulls_last(), c.c.display_name)
    elif sort == "name":
        query = query.order_by(c.c.name_key, c.c.id)
    else:
        raise ValidationError("sort", f"{sort!r} is not one of: name, recent, value")
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return summarize_contacts(db, db.execute(query).all())


def contact_filters(
    *, include_archived: bool, tag_id: int | None, company_id: int | None
) -> list[sa.ColumnElement[bool]]:
    """The WHERE terms of a contact list: not archived, has the tag, works at the company."""
    c, link = t.contact, t.contact_tag
    where: list[sa.ColumnElement[bool]] = []
    if not include_archived:
        where.append(c.c.archived == sa.false())
    if tag_id is not None:
        where.append(c.c.id.in_(sa.select(link.c.contact_id).where(link.c.tag_id == tag_id)))
    if company_id is not None:
        where.append(c.c.company_id == company_id)
    return where


def contact_ids_by_value(
    db: Queryable,
    where: Sequence[sa.ColumnElement[bool]],
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[int]:
    """Ids of the people ``where`` selects, by won value (highest first) then name.

    Few people have won anything: they are ranked in full (a few thousand at 100k contacts),
    and everyone else, worth 0, follows in name order straight from the name index. One sort of
    everyone by a per-person sum took 0.6 s on SQLite and 2.3 s on PostgreSQL at 100k.
    """
    c, d_t, s_t = t.contact, t.deal, t.stage
    won = (
        sa.select(d_t.c.contact_id.label("id"), sa.func.sum(d_t.c.amount).label("total"))
        .join(s_t, s_t.c.id == d_t.c.stage_id)
        .where(s_t.c.kind == t.WON, d_t.c.contact_id.is_not(None))
        .group_by(d_t.c.contact_id)
        .having(sa.func.sum(d_t.c.amount) > 0)
        .subquery("won")
    )
    valued = list(
        db.scalars(
            sa.select(c.c.id)
            .join(won, won.c.id == c.c.id)
            .where(*where)
            .order_by(won.c.total.desc(), c.c.name_key, c.c.id)
        )
    )
    end = None if limit is None else offset + limit
    page = valued[offset:end]
    if limit is not None and len(page) >= limit:
        return page
    rest = (
        sa.select(c.c.id)
        .where(*where, c.c.id.not_in(sa.select(won.c.id)))
        .order_by(c.c.name_key, c.c.id)
        .offset(max(0, offset - len(valued)))
    )
    if limit is not None:
        rest = rest.limit(limit - len(page))
    return page + list(db.scalars(rest))


# --- deals, follow-ups, meetings, interactions ----------------------------------------------


class DealFigures:
    """Probability and weighted value, shared by ``DealView`` and the ORM's ``DealSummary``."""

    deal: Any
    stage_probability: int

    @property
    def probability(self) -> int:
        """The deal's own probability, else its stage's."""
        own = self.deal.probability
        return int(own) if own is not None else self.stage_probability

    @property
    def weighted(self) -> int:
        """Amount × probability, in minor units (rounded half up)."""
        return int((self.deal.amount * self.probability + 50) // 100)


@dataclass
class DealView(DealFigures):
    """A deal with its stage and the names of its contact and company (as ``DealSummary``)."""

    deal: Record
    stage_name: str
    stage_kind: str
    stage_probability: int
    contact_name: str | None
    company_name: str | None


def list_deals(
    db: Queryable,
    *,
    status: str | None = None,
    contact_id: int | None = None,
    closing_before: date | None = None,
    closing_after: date | None = None,
    deal_ids: list[int] | None = None,
    limit: int | None = None,
) -> list[DealView]:
    """Deals filtered by status (open / won / lost), contact, expected close or ids, in pipeline
    order (as ``deals.list_deals``)."""
    d_t, s_t, c_t, co_t = t.deal, t.stage, t.contact, t.company
    query = (
        sa.select(
            d_t,
            s_t.c.name.label("stage_name"),
            s_t.c.kind.label("stage_kind"),
            s_t.c.probability.label("stage_probability"),
            c_t.c.display_name.label("contact_name"),
            co_t.c.name.label("company_name"),
        )
        .join(s_t, s_t.c.id == d_t.c.stage_id)
        .outerjoin(c_t, c_t.c.id == d_t.c.contact_id)
        .outerjoin(co_t, co_t.c.id == d_t.c.company_id)
    )
    if status is not None:
        if status not in (t.OPEN, t.WON, t.LOST):
            raise ValidationError("status", "must be open, won or lost")
        query = query.where(s_t.c.kind == status)
    if contact_id is not None:
        query = query.where(d_t.c.contact_id == contact_id)
    if closing_before is not None:
        query = query.where(d_t.c.expected_close <= closing_before)
    if closing_after is not None:
        query = query.where(d_t.c.expected_close >= closing_after)
    if deal_ids is not None:
        query = query.where(d_t.c.id.in_(deal_ids))
    query = query.order_by(
        s_t.c.position, d_t.c.expected_close.is_(None), d_t.c.expected_close, d_t.c.id
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        DealView(row, row.stage_name, row.stage_kind, row.stage_probability, row.contact_name,
                 row.company_name)
        for row in db.execute(query)
    ]  # fmt: skip


@dataclass
class FollowUpView:
    """A follow-up with the names of its person and deal (as ``FollowUpSummary``)."""

    followup: Record
    contact_name: str | None
    deal_title: str | None


def list_followups(
    db: Queryable,
    *,
    until: datetime | None = None,
    since: datetime | None = None,
    contact_id: int | None = None,
    limit: int | None = None,
) -> list[FollowUpView]:
    """Open follow-ups due in a window, soonest first (as ``followups.list_followups``).

    The follow-ups are chosen (filtered, ordered, cut to ``limit``) before the names of their
    person and deal are joined: joining first looked up names for every open follow-up (18k at
    100k contacts) to keep 50 of them.
    """
    f_t, c_t, d_t = t.followup, t.contact, t.deal
    chosen = sa.select(f_t)
    if contact_id is None and limit is not None and dialect_name(db) == "sqlite":
        # The first ``limit`` in order straight from ix_followup_open_due (~10 ms → ~0.3 ms at
        # 100k contacts; see open_followups_by_due).
        ids = open_followups_by_due(sa.literal_column("id"), until=until, since=since)
        chosen = chosen.where(f_t.c.id.in_(ids.order_by(*_DUE_ORDER).limit(limit)))
    else:
        chosen = chosen.where(f_t.c.done_at.is_(None))
        if until is not None:
            chosen = chosen.where(f_t.c.due_at < until)
        if since is not None:
            chosen = chosen.where(f_t.c.due_at >= since)
        if contact_id is not None:
            chosen = chosen.where(f_t.c.contact_id == contact_id)
        if limit is not None:
            chosen = chosen.order_by(f_t.c.due_at, f_t.c.priority.desc(), f_t.c.id).limit(limit)
    f = chosen.subquery("f")
    query = (
        sa.select(f, c_t.c.display_name.label("contact_name"), d_t.c.title.label("deal_title"))
        .outerjoin(c_t, c_t.c.id == f.c.contact_id)
        .outerjoin(d_t, d_t.c.id == f.c.deal_id)
        .order_by(f.c.due_at, f.c.priority.desc(), f.c.id)
    )
    return [FollowUpView(row, row.contact_name, row.deal_title) for row in db.execute(query)]


_DUE_ORDER: tuple[Any, ...] = (
    sa.literal_column("due_at"),
    sa.literal_column("priority").desc(),
    sa.literal_column("id"),
)
_OPEN_BY_DUE = sa.text("followup INDEXED BY ix_followup_open_due")


def open_followups_by_due(
    *columns: Any, until: datetime | None = None, since: datetime | None = None
) -> sa.Select[Any]:
    """SQLite: ``columns`` of the open follow-ups due in [since, until), read through the
    partial index ix_followup_open_due (migration 0006), in its order when asked
    (``_DUE_ORDER``).

    Named, because with no statistics SQLite's planner picks ix_followup_done_at for
    ``done_at IS NULL`` and reads every open follow-up's row (18k at 100k contacts: ~10 ms per
    count or list); the columns are unqualified (``literal_column``) so the table is not added
    to the FROM a second time.
    """
    due = sa.literal_column("due_at", t.followup.c.due_at.type)  # binds dates as the column does
    query = (
        sa.select(*columns).select_from(_OPEN_BY_DUE).where(sa.literal_column("done_at").is_(None))
    )
    if until is not None:
        query = query.where(due < until)
    if since is not None:
        query = query.where(due >= since)
    return query


def count_open_followups(
    db: Queryable, *, until: datetime | None = None, since: datetime | None = None
) -> int:
    """How many open follow-ups are due in [since, until)."""
    if dialect_name(db) == "sqlite":
        query = open_followups_by_due(sa.func.count(), until=until, since=since)
    else:
        f_t = t.followup
        query = sa.select(sa.func.count()).where(f_t.c.done_at.is_(None))
        if until is not None:
            query = query.where(f_t.c.due_at < until)
        if since is not None:
            query = query.where(f_t.c.due_at >= since)
    return int(db.scalar(query) or 0)


@dataclass
class OccurrenceView:
    """One occurrence of a meeting in a window (as ``meetings.Occurrence``)."""

    meeting: Record
    starts_at: datetime
    ends_at: datetime
    attendees: list[tuple[int, str]] = field(default_factory=list)


def meeting_occurrences(
    db: Queryable, start: datetime, end: datetime, *, contact_id: int | None = None
) -> list[OccurrenceView]:
    """Meeting occurrences overlapping [start, end), recurring ones expanded, soonest first
    (as ``meetings.agenda``)."""
    mt = t.meeting
    query = (
        sa.select(mt)
        .where(
            sa.or_(
                sa.and_(mt.c.starts_at < end, mt.c.ends_at >= start),
                mt.c.rrule.is_not(None),
            )
        )
        .where(mt.c.starts_at < end)
    )
    if contact_id is not None:
        a_t = t.meeting_attendee
        query = query.where(
            mt.c.id.in_(sa.select(a_t.c.meeting_id).where(a_t.c.contact_id == contact_id))
        )
    meetings = db.execute(query).all()
    people = _attendees(db, [row.id for row in meetings])
    out: list[OccurrenceView] = []
    for meeting in meetings:
        length = meeting.ends_at - meeting.starts_at
        for occ in recurrence.expand(
            meeting.rrule,
            meeting.starts_at,
            start,
            end,
            exdates=meeting.exdates,
            tz=meeting.timezone,
            duration=length,
        ):
            out.append(OccurrenceView(meeting, occ, occ + length, people.get(meeting.id, [])))
    out.sort(key=lambda o: (o.starts_at, o.meeting.id))
    return out


def _attendees(db: Queryable, meeting_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    a_t, c_t = t.meeting_attendee, t.contact
    out: dict[int, list[tuple[int, str]]] = {}
    for start in range(0, len(meeting_ids), CHUNK):
        chunk = meeting_ids[start : start + CHUNK]
        for mid, cid, name in db.execute(
            sa.select(a_t.c.meeting_id, c_t.c.id, c_t.c.display_name)
            .join(c_t, c_t.c.id == a_t.c.contact_id)
            .where(a_t.c.meeting_id.in_(chunk))
            .order_by(c_t.c.display_name)
        ):
            out.setdefault(mid, []).append((cid, name))
    return out


def list_interactions(db: Queryable, *, contact_id: int, limit: int | None = 50) -> list[Record]:
    """A person's interactions, newest first (as ``interactions.list_interactions``)."""
    i_t = t.interaction
    query = (
        sa.select(i_t)
        .where(i_t.c.contact_id == contact_id)
        .order_by(i_t.c.occurred_at.desc(), i_t.c.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.execute(query).all())
