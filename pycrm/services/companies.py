"""Companies: the organisations people work for."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services import tags as tag_service
from pycrm.services.changelog import Tracker, delete_record, log_created
from pycrm.services.errors import NotFound, ValidationError
from pycrm.services.text import clean, fold
from pycrm.services.validation import require_text

COMPANY_FIELDS = (
    "domain",
    "industry",
    "size",
    "address",
    "phone",
    "website",
    "notes",
    "source",
    "extra",
)


def _apply_fields(company: m.Company, fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if key not in COMPANY_FIELDS:
            raise ValidationError(key, "is not a company field")
        setattr(company, key, value if key == "extra" else clean(value))
    if company.domain:
        company.domain = company.domain.lower().removeprefix("www.")


def _set_tags(session: Session, company_id: int, names: Iterable[str]) -> None:
    link = m.CompanyTag.__table__
    session.execute(sa.delete(link).where(link.c.company_id == company_id))
    ids = tag_service.ensure_tags(session, names)
    if ids:
        session.execute(sa.insert(link), [{"company_id": company_id, "tag_id": t} for t in ids])


def create_company(
    session: Session, name: str, *, tags: Iterable[str] = (), **fields: Any
) -> m.Company:
    """Add a company (logged); ``fields`` are any of COMPANY_FIELDS."""
    company = m.Company(name=require_text("name", name), name_key="")
    company.name_key = fold(company.name)
    _apply_fields(company, fields)
    session.add(company)
    session.flush()
    assert company.id is not None
    if tags:
        _set_tags(session, company.id, tags)
    log_created(session, "company", company.id)
    return company


def get_company(session: Session, company_id: int) -> m.Company:
    """A company by id, or NotFound."""
    company = session.get(m.Company, company_id)
    if company is None:
        raise NotFound("company", company_id)
    return company


def find_company_by_name(session: Session, name: str) -> m.Company | None:
    """The company whose name matches ignoring case and accents."""
    return session.scalars(
        sa.select(m.Company).where(m.Company.name_key == fold(name)).order_by(m.Company.id).limit(1)
    ).first()


def get_or_create_company(session: Session, name: str) -> m.Company:
    """Match a company by name (case- and accent-insensitive), creating it once if missing."""
    existing = find_company_by_name(session, name)
    return existing if existing is not None else create_company(session, name)


def update_company(
    session: Session,
    company_id: int,
    *,
    name: str | None = None,
    tags: Iterable[str] | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    **fields: Any,
) -> m.Company:
    """Change a company's fields and tags (logged as one update)."""
    company = get_company(session, company_id)
    with Tracker(session, "company", company_id, stamp=company):
        if name is not None:
            company.name = require_text("name", name)
            company.name_key = fold(company.name)
        _apply_fields(company, fields)
        if tags is not None or add_tags or remove_tags:
            current = [] if tags is not None else company_tags(session, company_id)
            drop = {fold(t) for t in remove_tags}
            wanted = [t for t in [*current, *(tags or []), *add_tags] if fold(t) not in drop]
            _set_tags(session, company_id, wanted)
    return company


def delete_company(session: Session, company_id: int) -> None:
    """Delete a company; its people and deals stay, unlinked (each change logged)."""
    get_company(session, company_id)
    for contact_id in session.scalars(
        sa.select(m.Contact.id).where(m.Contact.company_id == company_id)
    ):
        contact = session.get(m.Contact, contact_id)
        assert contact is not None
        with Tracker(session, "contact", contact_id):
            contact.company_id = None
    for deal_id in session.scalars(sa.select(m.Deal.id).where(m.Deal.company_id == company_id)):
        deal = session.get(m.Deal, deal_id)
        assert deal is not None
        with Tracker(session, "deal", deal_id):
            deal.company_id = None
    for interaction_id in session.scalars(
        sa.select(m.Interaction.id).where(m.Interaction.company_id == company_id)
    ):
        interaction = session.get(m.Interaction, interaction_id)
        assert interaction is not None
        with Tracker(session, "interaction", interaction_id):
            interaction.company_id = None
    delete_record(session, "company", company_id)


def company_tags(session: Session, company_id: int) -> list[str]:
    """The company's tag names."""
    tag, link = m.Tag.__table__, m.CompanyTag.__table__
    return list(
        session.scalars(
            sa.select(tag.c.name)
            .join(link, link.c.tag_id == tag.c.id)
            .where(link.c.company_id == company_id)
            .order_by(tag.c.name)
        )
    )


@dataclass
class CompanySummary:
    """A company with what it links to, ready for display or JSON."""

    company: m.Company
    tags: list[str] = field(default_factory=list)
    contacts: int = 0
    open_deals: int = 0


def list_companies(
    session: Session, *, tag: str | None = None, limit: int | None = None, offset: int = 0
) -> list[CompanySummary]:
    """Companies by name, with tag names and people / open-deal counts."""
    query = sa.select(m.Company).order_by(m.Company.name_key, m.Company.id)
    if tag:
        tid = tag_service.tag_id(session, tag)
        link = m.CompanyTag.__table__
        query = query.where(
            m.Company.id.in_(sa.select(link.c.company_id).where(link.c.tag_id == tid))
        )  # type: ignore[union-attr]
    if limit is not None:
        query = query.limit(limit).offset(offset)
    companies = list(session.scalars(query))
    return summarize_companies(session, companies)


def summarize_companies(session: Session, companies: list[m.Company]) -> list[CompanySummary]:
    """Attach tags and counts to companies in three queries, whatever their number."""
    ids = [c.id for c in companies]
    tag, link = m.Tag.__table__, m.CompanyTag.__table__
    tags: dict[int, list[str]] = {}
    people: dict[int, int] = {}
    open_deals: dict[int, int] = {}
    for chunk_start in range(0, len(ids), 900):
        chunk = ids[chunk_start : chunk_start + 900]
        for cid, name in session.execute(
            sa.select(link.c.company_id, tag.c.name)
            .join(tag, tag.c.id == link.c.tag_id)
            .where(link.c.company_id.in_(chunk))
            .order_by(tag.c.name)
        ):
            tags.setdefault(cid, []).append(name)
        people.update(
            session.execute(
                sa.select(m.Contact.company_id, sa.func.count())
                .where(m.Contact.company_id.in_(chunk))  # type: ignore[union-attr]
                .group_by(m.Contact.company_id)
            ).all()
        )
        open_deals.update(
            session.execute(
                sa.select(m.Deal.company_id, sa.func.count())
                .join(m.Stage, m.Stage.id == m.Deal.stage_id)
                .where(m.Deal.company_id.in_(chunk), m.Stage.kind == m.StageKind.OPEN.value)  # type: ignore[union-attr]
                .group_by(m.Deal.company_id)
            ).all()
        )
    return [
        CompanySummary(
            c, tags.get(c.id or 0, []), people.get(c.id or 0, 0), open_deals.get(c.id or 0, 0)
        )
        for c in companies
    ]
