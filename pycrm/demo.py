"""Realistic sample data (Faker, en_US / pt_BR / fr_FR mixed) so every screen has something to show.

Generation is deterministic for a seed and a reference time, and written through the bulk service
paths (validated first, then one short write transaction, every record in the ChangeLog).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from pycrm import models as m
from pycrm.db import Database
from pycrm.services import contacts as contact_service
from pycrm.services import stages as stage_service
from pycrm.services.changelog import bulk_insert
from pycrm.services.text import fold
from pycrm.services.validation import Phone, normalize_email, normalize_phone

LOCALES = [("en_US", "US", "en", "USD"), ("pt_BR", "BR", "pt", "BRL"), ("fr_FR", "FR", "fr", "EUR")]
TAGS = [
    "vip",
    "partner",
    "newsletter",
    "referral",
    "reseller",
    "event-2026",
    "inbound",
    "enterprise",
]
SOURCES = ["website", "referral", "event", "cold call", "linkedin", "partner", "inbound e-mail"]
CAMPAIGNS = ["spring-webinar", "trade-fair-2026", "newsletter-q3", "partner-push", None, None]
INDUSTRIES = ["Software", "Retail", "Logistics", "Healthcare", "Finance", "Manufacturing", "Education",
              "Agriculture", "Hospitality", "Energy"]  # fmt: skip
SIZES = ["1-10", "11-50", "51-200", "201-1000", "1000+"]
DEAL_WORDS = ["licences", "renewal", "pilot", "expansion", "consulting", "support plan", "integration",
              "training", "hardware", "subscription"]  # fmt: skip
LOST_REASONS = [
    "price",
    "chose a competitor",
    "no budget",
    "timing",
    "no decision",
    "missing feature",
]
INTERACTION_SUMMARIES = {
    "call": ["Discussed pricing", "Intro call", "Checked in on the rollout", "Follow-up on proposal",
             "Talked about next quarter"],
    "email": ["Sent the proposal", "Shared case study", "Answered questions about SLA",
              "Sent meeting notes", "Quoted new volume"],
    "meeting": ["Demo with the team", "Quarterly review", "Kick-off meeting", "Contract walkthrough"],
    "note": ["Prefers mornings", "Budget approved in March", "Decision maker is the CFO",
             "Mentioned expansion to Lisbon"],
    "message": ["WhatsApp: confirmed the date", "Quick question about invoice", "Sent the link"],
    "visit": ["Visited their office", "Lunch at their site", "Factory tour"],
}  # fmt: skip
FOLLOWUP_WHAT = ["Send proposal", "Call back about pricing", "Share the contract draft", "Check on invoice",
                 "Book the demo", "Send thank-you note", "Ask for referral", "Confirm delivery date"]  # fmt: skip
MEETING_TITLES = [
    "Demo",
    "Quarterly review",
    "Contract review",
    "Coffee",
    "Kick-off",
    "Negotiation call",
]


def _faker(seed: int) -> dict[str, Any]:
    from faker import Faker

    fakers = {}
    for i, (loc, *_rest) in enumerate(LOCALES):
        fake = Faker(loc)
        fake.seed_instance(seed + i)
        fakers[loc] = fake
    return fakers


def seed_demo(
    database: Database,
    *,
    contacts: int = 300,
    seed: int = 7,
    now: datetime | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> dict[str, int]:
    """Fill the database with a realistic year of CRM life; returns counts per kind."""
    rng = random.Random(seed)
    fakers = _faker(seed)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    progress = on_progress or (lambda _f: None)

    # --- Generate and validate everything before taking the write lock ------------------------
    n_companies = max(3, contacts // 8)
    company_rows: list[dict[str, Any]] = []
    seen_names: set[str] = set()
    for _ in range(n_companies):
        loc, region, _lang, _cur = rng.choice(LOCALES)
        fake = fakers[loc]
        name = fake.company()
        while fold(name) in seen_names:
            name = f"{fake.company()} {rng.randint(2, 99)}"
        seen_names.add(fold(name))
        domain = "".join(ch for ch in fold(name).split(" ")[0] if ch.isalnum()) + rng.choice(
            [".com", ".com.br", ".fr", ".io"]
        )
        company_rows.append({
            "name": name, "name_key": fold(name), "domain": domain, "industry": rng.choice(INDUSTRIES),
            "size": rng.choice(SIZES), "address": fake.address().replace("\n", ", "),
            "phone": fake.phone_number(), "website": f"https://www.{domain}",
            "source": rng.choice(SOURCES),
            "created_at": now - timedelta(days=rng.randint(200, 700)),
        })  # fmt: skip
    progress(0.05)

    new_contacts: list[contact_service.NewContact] = []
    company_index: list[int | None] = []
    contact_locale: list[tuple[str, str, str, str]] = []
    for i in range(contacts):
        loc_info = rng.choice(LOCALES)
        loc, region, lang, _cur = loc_info
        fake = fakers[loc]
        given, family = fake.first_name(), fake.last_name()
        comp = rng.randrange(n_companies) if rng.random() < 0.85 else None
        domain = (
            company_rows[comp]["domain"]
            if comp is not None
            else rng.choice(["gmail.com", "outlook.com", "uol.com.br", "orange.fr"])
        )
        user = "".join(
            ch for ch in fold(f"{given}.{family}").replace(" ", ".") if ch.isalnum() or ch == "."
        )
        emails: list[tuple[str, str | None]] = [(normalize_email(f"{user}{i}@{domain}"), "work")]
        if rng.random() < 0.2:
            emails.append(
                (normalize_email(f"{user}.{i}@{rng.choice(['gmail.com', 'yahoo.com'])}"), "home")
            )
        phones: list[tuple[Phone, str | None]] = [
            (normalize_phone(fake.phone_number(), region), rng.choice(["mobile", "work"]))
        ]
        birthday: dict[str, Any] = {}
        if rng.random() < 0.4:
            bday = (
                now.date() + timedelta(days=rng.randint(-3, 360))
                if rng.random() < 0.05
                else fake.date_of_birth(minimum_age=22, maximum_age=70)
            )
            birthday = {
                "birth_month": bday.month,
                "birth_day": bday.day,
                "birth_year": bday.year
                if rng.random() < 0.6 and bday.year < now.year - 18
                else None,
            }
        fields: dict[str, Any] = {
            "given_name": given, "family_name": family, "title": fake.job()[:80],
            "preferred_channel": rng.choice(["email", "call", "message", "meeting", None]),
            "source": rng.choice(SOURCES), "campaign": rng.choice(CAMPAIGNS), "language": lang,
            "best_time": rng.choice(["mornings", "after 14:00", "Tuesdays", None, None]),
            "do_not_contact": rng.random() < 0.02,
            "cadence_days": rng.choice([None, None, 14, 30, 60, 90]),
            "address_city": fake.city(), "address_country": region,
            "notes": rng.choice([None, None, "Met at the trade fair.", "Prefers WhatsApp.", "Decision maker."]),
            **birthday,
        }  # fmt: skip
        tags = rng.sample(TAGS, k=rng.choice([0, 0, 1, 1, 2]))
        new_contacts.append(
            contact_service.NewContact(
                display_name=f"{given} {family}",
                fields=fields,
                emails=emails,
                phones=phones,
                tags=tags,
            )
        )
        company_index.append(comp)
        contact_locale.append(loc_info)
    progress(0.4)

    with database.write("demo data", source="system") as session:
        stage_service.ensure_default_stages(session)
        stages = stage_service.list_stages(session)
        open_stages = [s for s in stages if s.kind == m.StageKind.OPEN]
        won = next(s for s in stages if s.kind == m.StageKind.WON)
        lost = next(s for s in stages if s.kind == m.StageKind.LOST)
        company_ids = bulk_insert(session, "company", company_rows)
        for nc, comp in zip(new_contacts, company_index, strict=True):
            nc.company_id = company_ids[comp] if comp is not None else None
        contact_ids = contact_service.bulk_create_contacts(session, new_contacts)
        progress(0.6)

        # Deals over all stages with a year of stage history.
        deal_rows: list[dict[str, Any]] = []
        histories: list[list[dict[str, Any]]] = []
        n_deals = max(6, contacts // 5)
        for d in range(n_deals):
            ci = rng.randrange(contacts)
            _loc, _region, _lang, currency = contact_locale[ci]
            created = now - timedelta(days=rng.randint(5, 365), hours=rng.randint(0, 23))
            roll = rng.random() if d >= 6 else d / 6
            path_len = rng.randint(1, len(open_stages))
            path = open_stages[:path_len]
            final = won if roll < 0.2 else lost if roll < 0.35 else path[-1]
            if final in (won, lost):
                path = [*path, final]
            history, at = [], created
            for stage in path:
                history.append({"stage_id": stage.id, "entered_at": at})
                at = min(now - timedelta(hours=1), at + timedelta(days=rng.randint(2, 30)))
            entered = history[-1]["entered_at"]
            close = (now + timedelta(days=rng.randint(-20, 150))).date()
            if final in (won, lost):
                close = entered.date()
            amount = rng.choice([1500, 2500, 4800, 9900, 12000, 25000, 48000, 90000]) * 100
            deal_rows.append({
                "title": f"{rng.choice(DEAL_WORDS).capitalize()} for {company_rows[company_index[ci]]['name'] if company_index[ci] is not None else new_contacts[ci].display_name}",
                "contact_id": contact_ids[ci], "company_id": new_contacts[ci].company_id,
                "amount": amount, "currency": currency, "stage_id": final.id,
                "expected_close": close, "original_close": close - timedelta(days=rng.choice([0, 0, 0, 14, 30])),
                "stage_entered_at": entered, "closed_at": entered if final in (won, lost) else None,
                "lost_reason": rng.choice(LOST_REASONS) if final is lost else None,
                "source": new_contacts[ci].fields.get("source"),
                "next_step": rng.choice([None, "Send revised quote", "Book demo", "Legal review"]) if final not in (won, lost) else None,
                "created_at": created, "updated_at": entered,
            })  # fmt: skip
            histories.append(history)
        deal_ids = bulk_insert(session, "deal", deal_rows, {"stage_history": histories})
        progress(0.7)

        # A year of interactions, about two per person, some tied to deals.
        deal_of_contact: dict[int, int] = {}
        for did, row in zip(deal_ids, deal_rows, strict=True):
            deal_of_contact.setdefault(row["contact_id"], did)
        interaction_rows = []
        for ci, cid in enumerate(contact_ids):
            for _ in range(rng.choice([0, 1, 2, 2, 3, 4])):
                kind = rng.choice(["call", "email", "email", "meeting", "note", "message", "visit"])
                interaction_rows.append({
                    "type": kind, "direction": None if kind == "note" else rng.choice(["in", "out", "out"]),
                    "occurred_at": now - timedelta(days=rng.randint(0, 365), minutes=rng.randint(0, 600)),
                    "summary": rng.choice(INTERACTION_SUMMARIES[kind]),
                    "contact_id": cid, "company_id": new_contacts[ci].company_id,
                    "deal_id": deal_of_contact.get(cid) if rng.random() < 0.5 else None,
                })  # fmt: skip
        bulk_insert(session, "interaction", interaction_rows)
        progress(0.85)

        # Follow-ups: some overdue, some today, most upcoming.
        local_today = now.astimezone().date()
        followup_rows = []
        for k in range(max(8, contacts // 5)):
            ci = rng.randrange(contacts)
            if k % 5 == 0:
                due = now - timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 5))
            elif k % 5 == 1:
                due = datetime.combine(
                    local_today, time(rng.randint(9, 17), rng.choice([0, 30]))
                ).astimezone()
            else:
                due = now + timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 8))
            followup_rows.append({
                "what": rng.choice(FOLLOWUP_WHAT), "due_at": due.astimezone(UTC), "contact_id": contact_ids[ci],
                "deal_id": deal_of_contact.get(contact_ids[ci]), "priority": rng.choice([0, 0, 1, 2]),
                "done_at": now - timedelta(days=1) if rng.random() < 0.1 else None,
            })  # fmt: skip
        bulk_insert(session, "followup", followup_rows)

        # Meetings in the coming weeks (a few recurring).
        meeting_rows, attendees = [], []
        for k in range(max(5, contacts // 20)):
            ci = rng.randrange(contacts)
            day = local_today + timedelta(days=0 if k < 2 else rng.randint(1, 28))
            start = datetime.combine(
                day, time(rng.randint(8, 17), rng.choice([0, 30]))
            ).astimezone()
            meeting_rows.append({
                "title": f"{rng.choice(MEETING_TITLES)} with {new_contacts[ci].display_name}",
                "starts_at": start.astimezone(UTC), "ends_at": (start + timedelta(minutes=rng.choice([30, 45, 60]))).astimezone(UTC),
                "location": rng.choice(["Video call", "Their office", "Café Central", None]),
                "rrule": "FREQ=WEEKLY" if k % 15 == 3 else None,
                "deal_id": deal_of_contact.get(contact_ids[ci]),
            })  # fmt: skip
            attendees.append([{"contact_id": contact_ids[ci]}])
        bulk_insert(session, "meeting", meeting_rows, {"attendees": attendees})
        progress(1.0)
    return {
        "companies": len(company_rows),
        "contacts": len(contact_ids),
        "deals": len(deal_rows),
        "interactions": len(interaction_rows),
        "follow-ups": len(followup_rows),
        "meetings": len(meeting_rows),
    }


def count_rows(database: Database) -> dict[str, int]:
    """Rows per main table (for tests and `demo` output)."""
    with database.engine.connect() as conn:
        return {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("company", "contact", "deal", "interaction", "followup", "meeting")
        }
