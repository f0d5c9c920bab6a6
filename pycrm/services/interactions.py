"""Interactions: the history of every conversation, newest first."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services.changelog import Tracker, delete_record, log_created
from pycrm.services.errors import NotFound, ValidationError
from pycrm.services.text import clean
from pycrm.services.validation import choice


def log_interaction(
    session: Session,
    *,
    type: str,
    summary: str,
    contact_id: int | None = None,
    company_id: int | None = None,
    deal_id: int | None = None,
    occurred_at: datetime | None = None,
    direction: str | None = None,
    body: str | None = None,
) -> m.Interaction:
    """Record a call, e-mail, meeting, note, message or visit in a person's history."""
    kind = choice("type", type, m.InteractionType)
    if kind is None:
        raise ValidationError("type", "is required (call, email, meeting, note, message, visit)")
    if contact_id is None and company_id is None and deal_id is None:
        raise ValidationError("contact", "an interaction needs a contact, company or deal")
    if not clean(summary) and not clean(body):
        raise ValidationError("summary", "must not be empty")
    if contact_id is not None:
        contact = session.get(m.Contact, contact_id)
        if contact is None:
            raise NotFound("contact", contact_id)
        if company_id is None:
            company_id = contact.company_id
    if deal_id is not None and session.get(m.Deal, deal_id) is None:
        raise NotFound("deal", deal_id)
    interaction = m.Interaction(
        type=kind,
        direction=choice("direction", direction, m.Direction),
        occurred_at=occurred_at or m.utcnow(),
        summary=clean(summary) or "",
        body=clean(body),
        contact_id=contact_id,
        company_id=company_id,
        deal_id=deal_id,
    )
    session.add(interaction)
    session.flush()
    assert interaction.id is not None
    log_created(session, "interaction", interaction.id)
    return interaction


def list_interactions(
    session: Session,
    *,
    contact_id: int | None = None,
    company_id: int | None = None,
    deal_id: int | None = None,
    limit: int | None = 50,
) -> list[m.Interaction]:
    """Interactions, newest first, for a contact, company or deal."""
    query = sa.select(m.Interaction)
    if contact_id is not None:
        query = query.where(m.Interaction.contact_id == contact_id)
    if company_id is not None:
        query = query.where(m.Interaction.company_id == company_id)
    if deal_id is not None:
        query = query.where(m.Interaction.deal_id == deal_id)
    query = query.order_by(m.Interaction.occurred_at.desc(), m.Interaction.id.desc())  # type: ignore[attr-defined,union-attr]
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def last_interaction_at(session: Session, contact_id: int) -> datetime | None:
    """When the person was last in touch (any interaction)."""
    return session.scalar(
        sa.select(sa.func.max(m.Interaction.occurred_at)).where(
            m.Interaction.contact_id == contact_id
        )
    )


def update_interaction(session: Session, interaction_id: int, **changes: object) -> m.Interaction:
    """Edit an interaction's summary, body, type, direction or time."""
    obj = session.get(m.Interaction, interaction_id)
    if obj is None:
        raise NotFound("interaction", interaction_id)
    with Tracker(session, "interaction", interaction_id):
        for key, value in changes.items():
            if key == "type":
                value = choice("type", str(value), m.InteractionType)
            elif key == "direction":
                value = choice("direction", value, m.Direction)  # type: ignore[arg-type]
            elif key in ("summary", "body"):
                value = clean(value)  # type: ignore[arg-type]
            elif key != "occurred_at":
                raise ValidationError(key, "is not an interaction field")
            setattr(obj, key, value)
        obj.updated_at = m.utcnow()
    return obj


def delete_interaction(session: Session, interaction_id: int) -> None:
    """Remove one interaction (logged)."""
    delete_record(session, "interaction", interaction_id)
