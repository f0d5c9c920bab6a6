"""The ``--json`` shapes of CLI.md: ids and uuids, linked names, money objects, local ISO times."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pycrm.money import money_json

if TYPE_CHECKING:
    from pycrm.services import companies, contacts, deals, followups, meetings, views
    from pycrm.services.agenda import Agenda

    # The ORM services' summaries, or the Core views of the quick commands (same attributes).
    CompanySummary = companies.CompanySummary | views.CompanyView
    ContactSummary = contacts.ContactSummary | views.ContactView
    DealSummary = deals.DealSummary | views.DealView
    FollowUpSummary = followups.FollowUpSummary | views.FollowUpView
    Occurrence = meetings.Occurrence | views.OccurrenceView


def local_iso(value: datetime | None) -> str | None:
    """An aware datetime as ISO-8601 in local time with its offset."""
    return value.astimezone().isoformat() if value is not None else None


def day_iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def birthday_text(year: int | None, month: int | None, day: int | None) -> str | None:
    """``1990-11-24``, or ``--11-24`` when the year is unknown (vCard style)."""
    if month is None or day is None:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"


def contact_json(summary: ContactSummary) -> dict[str, Any]:
    """One contact with its company name, e-mails, phones and tags."""
    c = summary.contact
    return {
        "id": c.id,
        "uuid": c.uuid,
        "name": c.display_name,
        "given_name": c.given_name,
        "family_name": c.family_name,
        "title": c.title,
        "company": summary.company_name,
        "company_id": c.company_id,
        "emails": [{"email": e, "label": label} for e, label in summary.emails],
        "phones": [{"number": n, "label": label} for n, label in summary.phones],
        "tags": summary.tags,
        "address": {
            "street": c.address_street,
            "city": c.address_city,
            "region": c.address_region,
            "postcode": c.address_postcode,
            "country": c.address_country,
        },
        "birthday": birthday_text(c.birth_year, c.birth_month, c.birth_day),
        "notes": c.notes,
        "preferred_channel": c.preferred_channel,
        "best_time": c.best_time,
        "language": c.language,
        "do_not_contact": c.do_not_contact,
        "cadence_days": c.cadence_days,
        "source": c.source,
        "campaign": c.campaign,
        "custom_fields": c.custom_fields or {},
        "archived": c.archived,
        "last_interaction_at": local_iso(summary.last_interaction_at),
        "lifetime_value": [money_json(v, cur) for cur, v in sorted(summary.lifetime_value.items())],
        "created_at": local_iso(c.created_at),
        "updated_at": local_iso(c.updated_at),
    }


def company_json(summary: CompanySummary) -> dict[str, Any]:
    """One company with tags and how many people and open deals it has."""
    c = summary.company
    return {
        "id": c.id,
        "uuid": c.uuid,
        "name": c.name,
        "domain": c.domain,
        "industry": c.industry,
        "size": c.size,
        "address": c.address,
        "phone": c.phone,
        "website": c.website,
        "notes": c.notes,
        "tags": summary.tags,
        "contacts": summary.contacts,
        "open_deals": summary.open_deals,
        "created_at": local_iso(c.created_at),
        "updated_at": local_iso(c.updated_at),
    }


def deal_json(summary: DealSummary) -> dict[str, Any]:
    """One deal with stage, contact and company names, value and weighted value."""
    d = summary.deal
    return {
        "id": d.id,
        "uuid": d.uuid,
        "title": d.title,
        "contact": summary.contact_name,
        "contact_id": d.contact_id,
        "company": summary.company_name,
        "company_id": d.company_id,
        "value": money_json(d.amount, d.currency),
        "stage": summary.stage_name,
        "status": summary.stage_kind,
        "probability": summary.probability,
        "weighted": money_json(summary.weighted, d.currency),
        "expected_close": day_iso(d.expected_close),
        "next_step": d.next_step,
        "next_step_date": day_iso(d.next_step_date),
        "source": d.source,
        "lost_reason": d.lost_reason,
        "closed_at": local_iso(d.closed_at),
        "stage_entered_at": local_iso(d.stage_entered_at),
        "created_at": local_iso(d.created_at),
        "updated_at": local_iso(d.updated_at),
    }


def followup_json(summary: FollowUpSummary, now: datetime | None = None) -> dict[str, Any]:
    """One follow-up with the names of its person and deal."""
    f = summary.followup
    now = now or datetime.now().astimezone()
    return {
        "id": f.id,
        "uuid": f.uuid,
        "what": f.what,
        "due": local_iso(f.due_at),
        "overdue": f.done_at is None and f.due_at < now,
        "done_at": local_iso(f.done_at),
        "snoozed_until": local_iso(f.snoozed_until),
        "priority": f.priority,
        "contact": summary.contact_name,
        "contact_id": f.contact_id,
        "deal": summary.deal_title,
        "deal_id": f.deal_id,
        "repeat": f.rrule,
        "notes": f.notes,
    }


def occurrence_json(occ: Occurrence) -> dict[str, Any]:
    """One meeting occurrence (recurring meetings give one per date)."""
    mt = occ.meeting
    return {
        "id": mt.id,
        "uuid": mt.uuid,
        "title": mt.title,
        "start": local_iso(occ.starts_at),
        "end": local_iso(occ.ends_at),
        "all_day": mt.all_day,
        "location": mt.location,
        "attendees": [{"id": cid, "name": name} for cid, name in occ.attendees],
        "repeat": mt.rrule,
        "notes": mt.notes,
    }


def interaction_json(item: Any, contact_name: str | None = None) -> dict[str, Any]:
    """One interaction."""
    return {
        "id": item.id,
        "uuid": item.uuid,
        "type": item.type,
        "direction": item.direction,
        "occurred_at": local_iso(item.occurred_at),
        "summary": item.summary,
        "body": item.body,
        "contact_id": item.contact_id,
        "contact": contact_name,
        "company_id": item.company_id,
        "deal_id": item.deal_id,
    }


def agenda_json(day: Agenda) -> dict[str, Any]:
    """The whole of `pycrm today`."""
    return {
        "date": day.now.date().isoformat(),
        "totals": day.totals,
        "meetings": [occurrence_json(o) for o in day.meetings],
        "overdue": [followup_json(f, day.now) for f in day.overdue],
        "due_today": [followup_json(f, day.now) for f in day.due_today],
        "closing_soon": [deal_json(d) for d in day.closing_soon],
        "stale_deals": [deal_json(d) for d in day.stale_deals],
        "birthdays": [
            {"contact_id": b.contact_id, "name": b.name, "date": b.day.isoformat(), "age": b.age}
            for b in day.birthdays
        ],
        "due_touch": [
            {
                "contact_id": t.contact_id,
                "name": t.name,
                "cadence_days": t.cadence_days,
                "last_interaction_at": local_iso(t.last_interaction_at),
                "days_since": t.days_since,
                "overdue_days": t.overdue_days,
            }
            for t in day.due_touch
        ],
    }
