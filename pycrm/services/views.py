"""Read-only views in SQL text: the look-ups behind `contact list`, `contact show` and `today`.

Importing ``pycrm.models`` (SQLModel and pydantic) and SQLAlchemy itself costs a quick command
most of its 0.5 s budget at 100k contacts (issue 8, figure 3). So these functions are SQL text
run through :mod:`pycrm.services.sqltext`: on a plain ``sqlite3`` connection
(:func:`pycrm.dbfile.open_sqlite_reader`, the quick commands on a SQLite file), a Core
``Connection`` or an ORM ``Session`` alike. They return views with the attributes of the ORM
services' summaries (``ContactSummary``, ``DealSummary``, ``FollowUpSummary``, ``Occurrence``),
so the CLI's serialisers and tables print them unchanged. The record inside each view has the
table's column names as attributes (a joined row also carries the linked names, labelled so
they never shadow a column), typed as :mod:`pycrm.tables` types them.

Each query mirrors its ORM counterpart in :mod:`pycrm.services.contacts`, ``deals``,
``followups``, ``meetings`` and ``interactions`` (same filters, same order, ties broken the same
way); tests compare the two on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pycrm.services import recurrence
from pycrm.services.errors import NotFound, ValidationError
from pycrm.services.sqltext import (
    CHUNK,
    Record,
    bind_day,
    bind_time,
    dialect,
    false,
    in_list,
    records,
    rows,
    scalar,
)
from pycrm.services.text import fold

if TYPE_CHECKING:
    from pycrm.services.sqltext import Queryable

__all__ = ["CHUNK", "Record"]

# Stage kinds (pycrm.models.StageKind values).
OPEN, WON, LOST = "open", "won", "lost"

# The columns of the records these views return, as :mod:`pycrm.tables` lists them (a test
# checks): ``SELECT *`` would also bring what PostgreSQL's search indexes keep in the tables.
COLUMNS: dict[str, tuple[str, ...]] = {
    "contact": (
        "id", "uuid", "created_at", "updated_at", "display_name", "name_key", "given_name",
        "family_name", "title", "company_id", "address_street", "address_city",
        "address_region", "address_postcode", "address_country", "birth_year", "birth_month",
        "birth_day", "notes", "preferred_channel", "source", "campaign", "language",
        "best_time", "do_not_contact", "cadence_days", "custom_fields", "archived",
        "last_touch_at",
    ),
    "deal": (
        "id", "uuid", "created_at", "updated_at", "title", "contact_id", "company_id",
        "amount", "currency", "stage_id", "probability", "expected_close", "original_close",
        "stage_entered_at", "closed_at", "lost_reason", "source", "next_step",
        "next_step_date", "notes",
    ),
    "followup": (
        "id", "uuid", "created_at", "updated_at", "what", "due_at", "done_at",
        "snoozed_until", "priority", "contact_id", "deal_id", "rrule", "notes",
    ),
    "meeting": (
        "id", "uuid", "created_at", "updated_at", "title", "starts_at", "ends_at", "all_day",
        "timezone", "location", "notes", "rrule", "exdates", "deal_id",
    ),
    "interaction": (
        "id", "uuid", "created_at", "updated_at", "type", "direction", "occurred_at",
        "summary", "body", "contact_id", "company_id", "deal_id",
    ),
    "company": (
        "id", "uuid", "created_at", "updated_at", "name", "name_key", "domain", "industry",
        "size", "address", "phone", "website", "notes", "source",
    ),
}  # fmt: skip


def columns(table: str, alias: str | None = None) -> str:
    """``alias.id, alias.uuid, …`` for a record's columns."""
    prefix = alias or table
    return ", ".join(f"{prefix}.{name}" for name in COLUMNS[table])


def dialect_name(db: Queryable) -> str:
    """``sqlite`` or ``postgresql``, for any connection the views read through."""
    return dialect(db)


def _limit(kind: str, limit: int | None, offset: int, params: dict[str, Any]) -> str:
    """`` LIMIT … OFFSET …`` (SQLite needs a LIMIT before an OFFSET: -1 is none)."""
    if limit is None and not offset:
        return ""
    params["offset"] = offset
    if limit is None:
        return " LIMIT -1 OFFSET :offset" if kind == "sqlite" else " OFFSET :offset"
    params["limit"] = limit
    return " LIMIT :limit OFFSET :offset"


# --- contacts -------------------------------------------------------------------------------


@dataclass
class ContactView:
    """A contact with the names of what it links to (the attributes of ``ContactSummary``)."""

    contact: Any  # a record here; an ORM Contact when contacts.summarize asks
    company_name: str | None = None
    emails: list[tuple[str, str | None]] = field(default_factory=list)
    phones: list[tuple[str, str | None]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    last_interaction_at: datetime | None = None
    lifetime_value: dict[str, int] = field(default_factory=dict)


def contact_record(db: Queryable, contact_id: int) -> Record:
    """A contact's row by id, or NotFound."""
    found = records(
        db, f"SELECT {columns('contact')} FROM contact WHERE contact.id = :id", {"id": contact_id}
    )
    if not found:
        raise NotFound("contact", contact_id)
    return found[0]


def contact_view(db: Queryable, contact_id: int) -> ContactView:
    """One contact with company name, e-mails, phones, tags, last touch and won value."""
    return summarize_contacts(db, [contact_record(db, contact_id)])[0]


def summarize_contacts(db: Queryable, contacts: Sequence[Any]) -> list[ContactView]:
    """Attach company names, e-mails, phones, tags, last touch and won value, in a few queries.

    ``contacts`` are rows or ORM contacts alike (only ``id`` and ``company_id`` are read);
    ``contacts.summarize`` wraps this for the ORM."""
    if dialect(db) == "postgresql":
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
    for start in range(0, max(len(ids), len(company_ids)), CHUNK):
        chunk = ids[start : start + CHUNK]
        cchunk = company_ids[start : start + CHUNK]
        if cchunk:
            params: dict[str, Any] = {}
            sql = f"SELECT id, name FROM company WHERE id IN ({in_list('c', cchunk, params)})"
            companies.update((cid, name) for cid, name in rows(db, sql, params))
        if not chunk:
            continue
        params = {"won": WON}
        listed = in_list("i", chunk, params)
        for cid, email, label in rows(
            db,
            "SELECT contact_id, email, label FROM contact_email"
            f" WHERE contact_id IN ({listed}) ORDER BY contact_id, position",
            params,
        ):
            emails.setdefault(cid, []).append((email, label))
        for cid, number, label in rows(
            db,
            "SELECT contact_id, number, label FROM contact_phone"
            f" WHERE contact_id IN ({listed}) ORDER BY contact_id, position",
            params,
        ):
            phones.setdefault(cid, []).append((number, label))
        for cid, name in rows(
            db,
            "SELECT contact_tag.contact_id, tag.name FROM contact_tag"
            " JOIN tag ON tag.id = contact_tag.tag_id"
            f" WHERE contact_tag.contact_id IN ({listed}) ORDER BY tag.name",
            params,
        ):
            tags.setdefault(cid, []).append(name)
        for row in records(
            db,
            "SELECT contact_id, max(occurred_at) AS occurred_at FROM interaction"
            f" WHERE contact_id IN ({listed}) GROUP BY contact_id",
            params,
        ):
            last[row.contact_id] = row.occurred_at
        for cid, currency, total in rows(
            db,
            "SELECT deal.contact_id, deal.currency, sum(deal.amount) FROM deal"
            " JOIN stage ON stage.id = deal.stage_id"
            f" WHERE deal.contact_id IN ({listed}) AND stage.kind = :won"
            " GROUP BY deal.contact_id, deal.currency",
            params,
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
# e-mails and phones come as [text, label] pairs so one sort orders both. The last touch is
# labelled ``occurred_at`` so it comes back as the interaction's time does (aware, UTC).
_PG_SUMMARY = """
SELECT x.id,
  (SELECT co.name::text FROM company co WHERE co.id = x.company_id) AS company_name,
  ARRAY(SELECT ARRAY[e.email::text, e.label::text] FROM contact_email e
        WHERE e.contact_id = x.id ORDER BY e.position) AS emails,
  ARRAY(SELECT ARRAY[p.number::text, p.label::text] FROM contact_phone p
        WHERE p.contact_id = x.id ORDER BY p.position) AS phones,
  ARRAY(SELECT g.name::text FROM contact_tag ct JOIN tag g ON g.id = ct.tag_id
        WHERE ct.contact_id = x.id ORDER BY g.name) AS tags,
  (SELECT max(i.occurred_at) FROM interaction i WHERE i.contact_id = x.id) AS occurred_at,
  (SELECT json_object_agg(v.currency, v.total ORDER BY v.currency) FROM (
     SELECT d.currency, sum(d.amount) AS total FROM deal d JOIN stage s ON s.id = d.stage_id
     WHERE d.contact_id = x.id AND s.kind = :won GROUP BY d.currency) AS v) AS won
FROM unnest(CAST(:ids AS integer[]), CAST(:company_ids AS integer[])) AS x(id, company_id)
"""


def _summarize_contacts_pg(db: Queryable, contacts: Sequence[Any]) -> list[ContactView]:
    """:func:`summarize_contacts` on PostgreSQL: one statement per CHUNK contacts."""
    found: dict[int, Any] = {}
    for start in range(0, len(contacts), CHUNK):
        chunk = contacts[start : start + CHUNK]
        params = {
            "ids": [c.id for c in chunk],
            "company_ids": [c.company_id for c in chunk],
            "won": WON,
        }
        found.update((row.id, row) for row in records(db, _PG_SUMMARY, params))
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
                last_interaction_at=row.occurred_at,
                lifetime_value={k: int(v or 0) for k, v in (row.won or {}).items()},
            )
        )
    return views


def tag_id(db: Queryable, name: str) -> int | None:
    """The id of a tag by name (ignoring case and accents), or None."""
    found = scalar(db, "SELECT id FROM tag WHERE name_key = :key", {"key": fold(name)})
    return None if found is None else int(found)


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
    if sort not in ("name", "recent", "value"):
        raise ValidationError("sort", f"{sort!r} is not one of: name, recent, value")
    tid = None
    if tag:
        tid = tag_id(db, tag)
        if tid is None:
            return []
    if sort == "value":
        ids = contact_ids_by_value(
            db, include_archived=include_archived, tag_id=tid, company_id=company_id,
            limit=limit, offset=offset,
        )  # fmt: skip
        found: dict[int, Any] = {}
        for start in range(0, len(ids), CHUNK):
            params: dict[str, Any] = {}
            listed = in_list("i", ids[start : start + CHUNK], params)
            sql = f"SELECT {columns('contact')} FROM contact WHERE contact.id IN ({listed})"
            found.update((row.id, row) for row in records(db, sql, params))
        return summarize_contacts(db, [found[i] for i in ids])
    kind = dialect(db)
    params = {}
    where = _contact_where(kind, include_archived, tid, company_id, params)
    if sort == "recent":
        order = "contact.last_touch_at DESC NULLS LAST, contact.display_name"
    else:
        order = "contact.name_key, contact.id"
    page = "" if limit is None else _limit(kind, limit, offset, params)
    sql = f"SELECT {columns('contact')} FROM contact{where} ORDER BY {order}{page}"
    return summarize_contacts(db, records(db, sql, params))


def _contact_where(
    kind: str,
    include_archived: bool,
    tag_id: int | None,
    company_id: int | None,
    params: dict[str, Any],
    *more: str,
) -> str:
    """`` WHERE …`` of a contact list: not archived, has the tag, works at the company."""
    terms: list[str] = []
    if not include_archived:
        terms.append(f"contact.archived = {false(kind)}")
    if tag_id is not None:
        params["tag_id"] = tag_id
        terms.append(
            "contact.id IN (SELECT contact_tag.contact_id FROM contact_tag"
            " WHERE contact_tag.tag_id = :tag_id)"
        )
    if company_id is not None:
        params["company_id"] = company_id
        terms.append("contact.company_id = :company_id")
    terms.extend(more)
    return " WHERE " + " AND ".join(terms) if terms else ""


def contact_ids_by_value(
    db: Queryable,
    *,
    include_archived: bool = False,
    tag_id: int | None = None,
    company_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[int]:
    """Ids of the people a contact list selects, by won value (highest first) then name.

    Few people have won anything: they are ranked in full (a few thousand at 100k contacts),
    and everyone else, worth 0, follows in name order straight from the name index. One sort of
    everyone by a per-person sum took 0.6 s on SQLite and 2.3 s on PostgreSQL at 100k.
    """
    kind = dialect(db)
    params: dict[str, Any] = {"won": WON}
    won = (
        "SELECT deal.contact_id AS id, sum(deal.amount) AS total FROM deal"
        " JOIN stage ON stage.id = deal.stage_id"
        " WHERE stage.kind = :won AND deal.contact_id IS NOT NULL"
        " GROUP BY deal.contact_id HAVING sum(deal.amount) > 0"
    )
    where = _contact_where(kind, include_archived, tag_id, company_id, params)
    valued = [
        int(cid)
        for (cid,) in rows(
            db,
            f"SELECT contact.id FROM contact JOIN ({won}) AS won ON won.id = contact.id{where}"
            " ORDER BY won.total DESC, contact.name_key, contact.id",
            params,
        )
    ]
    end = None if limit is None else offset + limit
    page = valued[offset:end]
    if limit is not None and len(page) >= limit:
        return page
    rest_limit = None if limit is None else limit - len(page)
    skip = max(0, offset - len(valued))
    not_won = f"contact.id NOT IN (SELECT won.id FROM ({won}) AS won)"
    where = _contact_where(kind, include_archived, tag_id, company_id, params, not_won)
    sql = f"SELECT contact.id FROM contact{where} ORDER BY contact.name_key, contact.id" + _limit(
        kind, rest_limit, skip, params
    )
    return page + [int(cid) for (cid,) in rows(db, sql, params)]


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


@dataclass
class CompanyView:
    """A company with its tag names and how many people and open deals it has (as
    ``companies.CompanySummary``)."""

    company: Record
    tags: list[str] = field(default_factory=list)
    contacts: int = 0
    open_deals: int = 0


def list_companies(
    db: Queryable, *, tag: str | None = None, limit: int | None = None, offset: int = 0
) -> list[CompanyView]:
    """Companies by name, with tag names and people / open-deal counts (as
    ``companies.list_companies``)."""
    kind = dialect(db)
    params: dict[str, Any] = {}
    where = ""
    if tag:
        tid = tag_id(db, tag)
        if tid is None:
            return []
        params["tag_id"] = tid
        where = " WHERE company.id IN (SELECT company_id FROM company_tag WHERE tag_id = :tag_id)"
    page = "" if limit is None else _limit(kind, limit, offset, params)
    found = records(
        db,
        f"SELECT {columns('company')} FROM company{where} "
        f"ORDER BY company.name_key, company.id{page}",
        params,
    )
    views = {row.id: CompanyView(row) for row in found}
    ids = list(views)
    for start in range(0, len(ids), CHUNK):
        chunk: dict[str, Any] = {}
        listed = in_list("c", ids[start : start + CHUNK], chunk)
        for cid, name in rows(
            db,
            "SELECT company_tag.company_id, tag.name FROM company_tag JOIN tag "
            f"ON tag.id = company_tag.tag_id WHERE company_tag.company_id IN ({listed}) "
            "ORDER BY tag.name",
            chunk,
        ):
            views[cid].tags.append(name)
        for cid, count in rows(
            db,
            f"SELECT company_id, count(*) FROM contact WHERE company_id IN ({listed}) "
            "GROUP BY company_id",
            chunk,
        ):
            views[cid].contacts = int(count)
        for cid, count in rows(
            db,
            "SELECT deal.company_id, count(*) FROM deal JOIN stage ON stage.id = deal.stage_id "
            f"WHERE deal.company_id IN ({listed}) AND stage.kind = 'open' GROUP BY deal.company_id",
            chunk,
        ):
            views[cid].open_deals = int(count)
    return list(views.values())


def stage_id(db: Queryable, ref: str) -> int:
    """A stage's id by id, exact name, or unique name prefix, ignoring case and accents (as
    ``stages.get_stage``, with its errors)."""
    stages = [(int(i), str(n)) for i, n in rows(db, "SELECT id, name FROM stage "
                                                  "ORDER BY position, id", {})]  # fmt: skip
    return pick_stage(stages, ref)


def pick_stage(stages: Sequence[tuple[int, str]], ref: str | int) -> int:
    """The id of the stage ``ref`` names among ``stages`` ((id, name) in pipeline order): by id,
    exact name, or unique name prefix, ignoring case and accents; else a ValidationError."""
    if isinstance(ref, int) or ref.isdigit():
        for sid, _name in stages:
            if sid == int(ref):
                return sid
    key = fold(str(ref))
    exact = [sid for sid, name in stages if fold(name) == key]
    if exact:
        return exact[0]
    prefix = [(sid, name) for sid, name in stages if fold(name).startswith(key)] if key else []
    if len(prefix) == 1:
        return prefix[0][0]
    if not prefix:
        names = ", ".join(name for _, name in stages)
        raise ValidationError("stage", f"{ref!r} is not a stage (stages: {names})")
    raise ValidationError("stage", f"{ref!r} could be {', '.join(n for _, n in prefix)}")


def list_deals(
    db: Queryable,
    *,
    stage_id: int | None = None,
    status: str | None = None,
    contact_id: int | None = None,
    closing_before: date | None = None,
    closing_after: date | None = None,
    deal_ids: list[int] | None = None,
    limit: int | None = None,
) -> list[DealView]:
    """Deals filtered by stage, status (open / won / lost), contact, expected close or ids, in
    pipeline order (as ``deals.list_deals``)."""
    kind = dialect(db)
    params: dict[str, Any] = {}
    terms: list[str] = []
    if stage_id is not None:
        params["stage_id"] = stage_id
        terms.append("deal.stage_id = :stage_id")
    if status is not None:
        if status not in (OPEN, WON, LOST):
            raise ValidationError("status", "must be open, won or lost")
        params["status"] = status
        terms.append("stage.kind = :status")
    if contact_id is not None:
        params["contact_id"] = contact_id
        terms.append("deal.contact_id = :contact_id")
    if closing_before is not None:
        params["before"] = bind_day(kind, closing_before)
        terms.append("deal.expected_close <= :before")
    if closing_after is not None:
        params["after"] = bind_day(kind, closing_after)
        terms.append("deal.expected_close >= :after")
    if deal_ids is not None:
        terms.append(f"deal.id IN ({in_list('d', deal_ids, params)})")
    sql = (
        f"SELECT {columns('deal')}, stage.name AS stage_name, stage.kind AS stage_kind,"
        " stage.probability AS stage_probability, contact.display_name AS contact_name,"
        " company.name AS company_name"
        " FROM deal JOIN stage ON stage.id = deal.stage_id"
        " LEFT OUTER JOIN contact ON contact.id = deal.contact_id"
        " LEFT OUTER JOIN company ON company.id = deal.company_id"
        + (" WHERE " + " AND ".join(terms) if terms else "")
        + " ORDER BY stage.position, deal.expected_close IS NULL, deal.expected_close, deal.id"
        + ("" if limit is None else _limit(kind, limit, 0, params))
    )
    return [
        DealView(row, row.stage_name, row.stage_kind, row.stage_probability, row.contact_name,
                 row.company_name)
        for row in records(db, sql, params)
    ]  # fmt: skip


@dataclass
class FollowUpView:
    """A follow-up with the names of its person and deal (as ``FollowUpSummary``)."""

    followup: Record
    contact_name: str | None
    deal_title: str | None


_DUE_ORDER = "due_at, priority DESC, id"


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
    kind = dialect(db)
    params: dict[str, Any] = {}
    if contact_id is None and limit is not None and kind == "sqlite":
        # The first ``limit`` in order straight from ix_followup_open_due (~10 ms → ~0.3 ms at
        # 100k contacts; see _open_by_due).
        params["limit"] = limit
        first = _open_by_due("id", kind, until, since, params)
        chosen = (
            f"SELECT {columns('followup')} FROM followup"
            f" WHERE followup.id IN ({first} ORDER BY {_DUE_ORDER} LIMIT :limit)"
        )
    else:
        terms = ["followup.done_at IS NULL"]
        if until is not None:
            params["until"] = bind_time(kind, until)
            terms.append("followup.due_at < :until")
        if since is not None:
            params["since"] = bind_time(kind, since)
            terms.append("followup.due_at >= :since")
        if contact_id is not None:
            params["contact_id"] = contact_id
            terms.append("followup.contact_id = :contact_id")
        chosen = f"SELECT {columns('followup')} FROM followup WHERE " + " AND ".join(terms)
        if limit is not None:
            params["limit"] = limit
            chosen += " ORDER BY followup.due_at, followup.priority DESC, followup.id LIMIT :limit"
    sql = (
        f"SELECT {columns('followup', 'f')}, contact.display_name AS contact_name,"
        f" deal.title AS deal_title FROM ({chosen}) AS f"
        " LEFT OUTER JOIN contact ON contact.id = f.contact_id"
        " LEFT OUTER JOIN deal ON deal.id = f.deal_id"
        " ORDER BY f.due_at, f.priority DESC, f.id"
    )
    return [FollowUpView(row, row.contact_name, row.deal_title) for row in records(db, sql, params)]


def _open_by_due(
    what: str, kind: str, until: datetime | None, since: datetime | None, params: dict[str, Any]
) -> str:
    """SQLite: ``SELECT what`` of the open follow-ups due in [since, until), read through the
    partial index ix_followup_open_due (migration 0006).

    Named, because with no statistics SQLite's planner picks ix_followup_done_at for
    ``done_at IS NULL`` and reads every open follow-up's row (18k at 100k contacts: ~10 ms per
    count or list).
    """
    sql = f"SELECT {what} FROM followup INDEXED BY ix_followup_open_due WHERE done_at IS NULL"
    if until is not None:
        params["until"] = bind_time(kind, until)
        sql += " AND due_at < :until"
    if since is not None:
        params["since"] = bind_time(kind, since)
        sql += " AND due_at >= :since"
    return sql


def count_open_followups(
    db: Queryable, *, until: datetime | None = None, since: datetime | None = None
) -> int:
    """How many open follow-ups are due in [since, until)."""
    kind = dialect(db)
    params: dict[str, Any] = {}
    if kind == "sqlite":
        sql = _open_by_due("count(*)", kind, until, since, params)
    else:
        sql = "SELECT count(*) FROM followup WHERE done_at IS NULL"
        if until is not None:
            params["until"] = bind_time(kind, until)
            sql += " AND due_at < :until"
        if since is not None:
            params["since"] = bind_time(kind, since)
            sql += " AND due_at >= :since"
    return int(scalar(db, sql, params) or 0)


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
    kind = dialect(db)
    params: dict[str, Any] = {"start": bind_time(kind, start), "end": bind_time(kind, end)}
    sql = (
        f"SELECT {columns('meeting')} FROM meeting"
        " WHERE (meeting.starts_at < :end AND meeting.ends_at >= :start"
        " OR meeting.rrule IS NOT NULL) AND meeting.starts_at < :end"
    )
    if contact_id is not None:
        params["contact_id"] = contact_id
        sql += (
            " AND meeting.id IN (SELECT meeting_attendee.meeting_id FROM meeting_attendee"
            " WHERE meeting_attendee.contact_id = :contact_id)"
        )
    meetings = records(db, sql, params)
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
    out: dict[int, list[tuple[int, str]]] = {}
    for start in range(0, len(meeting_ids), CHUNK):
        params: dict[str, Any] = {}
        listed = in_list("m", meeting_ids[start : start + CHUNK], params)
        for mid, cid, name in rows(
            db,
            "SELECT meeting_attendee.meeting_id, contact.id, contact.display_name"
            " FROM meeting_attendee JOIN contact ON contact.id = meeting_attendee.contact_id"
            f" WHERE meeting_attendee.meeting_id IN ({listed}) ORDER BY contact.display_name",
            params,
        ):
            out.setdefault(mid, []).append((cid, name))
    return out


def list_interactions(db: Queryable, *, contact_id: int, limit: int | None = 50) -> list[Record]:
    """A person's interactions, newest first (as ``interactions.list_interactions``)."""
    params: dict[str, Any] = {"contact_id": contact_id}
    sql = (
        f"SELECT {columns('interaction')} FROM interaction"
        " WHERE interaction.contact_id = :contact_id"
        " ORDER BY interaction.occurred_at DESC, interaction.id DESC"
    )
    if limit is not None:
        sql += _limit(dialect(db), limit, 0, params)
    return records(db, sql, params)
