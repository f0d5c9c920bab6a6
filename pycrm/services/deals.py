"""Deals: the pipeline, with stage history, won/lost and money as integer minor units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.money import MoneyError, check_currency
from pycrm.services import stages as stage_service
from pycrm.services.changelog import Tracker, delete_record, log_created
from pycrm.services.errors import NotFound, ValidationError
from pycrm.services.text import clean
from pycrm.services.validation import require_text
from pycrm.services.views import DealFigures

DEAL_FIELDS = ("source", "next_step", "next_step_date", "notes", "probability", "expected_close")


def _currency(code: str) -> str:
    try:
        return check_currency(code)
    except MoneyError as exc:
        raise ValidationError("currency", str(exc)) from exc


def _apply_fields(deal: m.Deal, fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if key not in DEAL_FIELDS:
            raise ValidationError(key, "is not a deal field")
        if key in ("source", "next_step", "notes"):
            value = clean(value)
        if key == "probability" and value is not None and not 0 <= int(value) <= 100:
            raise ValidationError("probability", "must be between 0 and 100")
        setattr(deal, key, value)


def _enter_stage(
    session: Session, deal: m.Deal, stage: m.Stage, at: datetime | None = None
) -> None:
    when = at or m.utcnow()
    deal.stage_id = stage.id  # type: ignore[assignment]
    deal.stage_entered_at = when
    deal.closed_at = when if stage.kind in (m.StageKind.WON, m.StageKind.LOST) else None
    if stage.kind != m.StageKind.LOST:
        deal.lost_reason = None
    session.flush()
    session.add(m.DealStageHistory(deal_id=deal.id, stage_id=stage.id, entered_at=when))  # type: ignore[arg-type]
    session.flush()


def create_deal(
    session: Session,
    title: str,
    *,
    contact_id: int | None = None,
    company_id: int | None = None,
    amount: int = 0,
    currency: str = "EUR",
    stage: str | int | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> m.Deal:
    """Open a deal (amount in minor units). Without a company, the contact's company is used."""
    if amount < 0:
        raise ValidationError("value", "must not be negative")
    if contact_id is not None:
        contact = session.get(m.Contact, contact_id)
        if contact is None:
            raise NotFound("contact", contact_id)
        if company_id is None:
            company_id = contact.company_id
    if company_id is not None and session.get(m.Company, company_id) is None:
        raise NotFound("company", company_id)
    chosen = (
        stage_service.get_stage(session, stage)
        if stage is not None
        else stage_service.list_stages(session)[0]
    )
    deal = m.Deal(
        title=require_text("title", title),
        contact_id=contact_id,
        company_id=company_id,
        amount=int(amount),
        currency=_currency(currency),
        stage_id=chosen.id,  # type: ignore[arg-type]
    )
    if at is not None:
        deal.created_at = at
        deal.updated_at = at
    _apply_fields(deal, fields)
    deal.original_close = deal.expected_close
    session.add(deal)
    session.flush()
    _enter_stage(session, deal, chosen, at)
    assert deal.id is not None
    log_created(session, "deal", deal.id)
    return deal


def get_deal(session: Session, deal_id: int) -> m.Deal:
    """A deal by id, or NotFound."""
    deal = session.get(m.Deal, deal_id)
    if deal is None:
        raise NotFound("deal", deal_id)
    return deal


def update_deal(
    session: Session,
    deal_id: int,
    *,
    title: str | None = None,
    amount: int | None = None,
    currency: str | None = None,
    contact_id: int | None = None,
    company_id: int | None = None,
    **fields: Any,
) -> m.Deal:
    """Change a deal's title, value, links or other fields (logged)."""
    deal = get_deal(session, deal_id)
    with Tracker(session, "deal", deal_id):
        if title is not None:
            deal.title = require_text("title", title)
        if amount is not None:
            if amount < 0:
                raise ValidationError("value", "must not be negative")
            deal.amount = amount
        if currency is not None:
            deal.currency = _currency(currency)
        if contact_id is not None:
            deal.contact_id = contact_id
        if company_id is not None:
            deal.company_id = company_id
        _apply_fields(deal, fields)
        deal.updated_at = m.utcnow()
    return deal


def move_deal(
    session: Session,
    deal_id: int,
    stage: str | int,
    *,
    at: datetime | None = None,
    lost_reason: str | None = None,
) -> m.Deal:
    """Move a deal to a stage, recording the stage history; Won/Lost stamp the close time."""
    deal = get_deal(session, deal_id)
    target = stage_service.get_stage(session, stage)
    if target.kind == m.StageKind.LOST and not clean(lost_reason):
        raise ValidationError("reason", "a lost deal needs a reason")
    with Tracker(session, "deal", deal_id):
        if target.id != deal.stage_id:
            _enter_stage(session, deal, target, at)
        if target.kind == m.StageKind.LOST:
            deal.lost_reason = clean(lost_reason)
        deal.updated_at = at or m.utcnow()
    return deal


def mark_won(session: Session, deal_id: int, *, at: datetime | None = None) -> m.Deal:
    """Close a deal as won."""
    return move_deal(
        session, deal_id, stage_service.stage_by_kind(session, m.StageKind.WON).id or 0, at=at
    )


def mark_lost(session: Session, deal_id: int, reason: str, *, at: datetime | None = None) -> m.Deal:
    """Close a deal as lost, with the reason (for the win-rate report)."""
    lost = stage_service.stage_by_kind(session, m.StageKind.LOST)
    return move_deal(session, deal_id, lost.id or 0, at=at, lost_reason=reason)


def delete_deal(session: Session, deal_id: int) -> None:
    """Delete a deal and its follow-ups; interactions and meetings stay, unlinked (logged)."""
    get_deal(session, deal_id)
    for fid in list(session.scalars(sa.select(m.FollowUp.id).where(m.FollowUp.deal_id == deal_id))):
        delete_record(session, "followup", fid)
    for iid in list(
        session.scalars(sa.select(m.Interaction.id).where(m.Interaction.deal_id == deal_id))
    ):
        obj = session.get(m.Interaction, iid)
        assert obj is not None
        with Tracker(session, "interaction", iid):
            obj.deal_id = None
    for mid in list(session.scalars(sa.select(m.Meeting.id).where(m.Meeting.deal_id == deal_id))):
        meeting = session.get(m.Meeting, mid)
        assert meeting is not None
        with Tracker(session, "meeting", mid):
            meeting.deal_id = None
    delete_record(session, "deal", deal_id)


@dataclass
class DealSummary(DealFigures):
    """A deal with its stage and the names of its contact and company (``probability`` and
    ``weighted`` come from :class:`pycrm.services.views.DealFigures`)."""

    deal: m.Deal
    stage_name: str
    stage_kind: str
    stage_probability: int
    contact_name: str | None
    company_name: str | None


def list_deals(
    session: Session,
    *,
    stage: str | None = None,
    status: str | None = None,
    contact_id: int | None = None,
    company_id: int | None = None,
    closing_before: date | None = None,
    closing_after: date | None = None,
    deal_id: int | None = None,
    deal_ids: list[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[DealSummary]:
    """Deals filtered by stage, status (open / won / lost), contact or company; pipeline order."""
    query = (
        sa.select(
            m.Deal,
            m.Stage.name,
            m.Stage.kind,
            m.Stage.probability,
            m.Contact.display_name,
            m.Company.name,
        )
        .join(m.Stage, m.Stage.id == m.Deal.stage_id)
        .outerjoin(m.Contact, m.Contact.id == m.Deal.contact_id)
        .outerjoin(m.Company, m.Company.id == m.Deal.company_id)
    )
    if stage is not None:
        query = query.where(m.Deal.stage_id == stage_service.get_stage(session, stage).id)
    if status is not None:
        if status not in ("open", "won", "lost"):
            raise ValidationError("status", "must be open, won or lost")
        query = query.where(m.Stage.kind == status)
    if contact_id is not None:
        query = query.where(m.Deal.contact_id == contact_id)
    if company_id is not None:
        query = query.where(m.Deal.company_id == company_id)
    if deal_id is not None:
        query = query.where(m.Deal.id == deal_id)
    if closing_before is not None:
        query = query.where(m.Deal.expected_close <= closing_before)  # type: ignore[operator]
    if closing_after is not None:
        query = query.where(m.Deal.expected_close >= closing_after)  # type: ignore[operator]
    if deal_ids is not None:
        query = query.where(m.Deal.id.in_(deal_ids))
    query = query.order_by(
        m.Stage.position, m.Deal.expected_close.is_(None), m.Deal.expected_close, m.Deal.id
    )  # type: ignore[union-attr]
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [
        DealSummary(deal, sname, skind, sprob, cname, coname)
        for deal, sname, skind, sprob, cname, coname in session.execute(query)
    ]


def stage_history(session: Session, deal_id: int) -> list[tuple[str, datetime]]:
    """(stage name, entered at) for a deal, oldest first."""
    h = m.DealStageHistory
    return [
        (name, at)
        for name, at in session.execute(
            sa.select(m.Stage.name, h.entered_at)
            .join(m.Stage, m.Stage.id == h.stage_id)
            .where(h.deal_id == deal_id)
            .order_by(h.entered_at, h.id)  # type: ignore[arg-type]
        )
    ]


def stage_totals(session: Session) -> dict[int, tuple[int, dict[str, int]]]:
    """Per stage id: how many deals and their total amount per currency (one GROUP BY)."""
    out: dict[int, tuple[int, dict[str, int]]] = {}
    query = sa.select(
        m.Deal.stage_id, m.Deal.currency, sa.func.count(), sa.func.sum(m.Deal.amount)
    ).group_by(m.Deal.stage_id, m.Deal.currency)
    for stage_id, currency, count, total in session.execute(query):
        seen, by_currency = out.get(stage_id, (0, {}))
        by_currency[currency] = int(total or 0)
        out[stage_id] = (seen + int(count), by_currency)
    return out
