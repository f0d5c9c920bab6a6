"""Pipeline stages as data: default Lead → Qualified → Proposal → Negotiation → Won / Lost."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services.changelog import Tracker, log_created
from pycrm.services.errors import NotFound, ValidationError


def ensure_default_stages(session: Session) -> None:
    """Create the default stages when there are none."""
    if session.scalar(select(m.Stage.id).limit(1)) is not None:
        return
    for position, (name, probability, kind, idle) in enumerate(m.DEFAULT_STAGES):
        stage = m.Stage(
            name=name, position=position, probability=probability, kind=kind, idle_days=idle
        )
        session.add(stage)
        session.flush()
        assert stage.id is not None
        log_created(session, "stage", stage.id)


def list_stages(session: Session) -> list[m.Stage]:
    """All stages in pipeline order."""
    return list(session.scalars(select(m.Stage).order_by(m.Stage.position, m.Stage.id)))


def get_stage(session: Session, ref: str | int) -> m.Stage:
    """A stage by id, exact name, or unique name prefix (ignoring case and accents)."""
    from pycrm.services.views import pick_stage

    stages = {stage.id: stage for stage in list_stages(session)}
    return stages[pick_stage([(sid or 0, s.name) for sid, s in stages.items()], ref)]


def stage_by_kind(session: Session, kind: m.StageKind) -> m.Stage:
    """The first stage of a kind (the Won or Lost stage)."""
    for stage in list_stages(session):
        if stage.kind == kind:
            return stage
    raise NotFound("stage", kind.value)


def update_stage(
    session: Session,
    stage_id: int,
    *,
    name: str | None = None,
    probability: int | None = None,
    idle_days: int | None = None,
    position: int | None = None,
) -> m.Stage:
    """Edit a stage's name, probability, stale threshold or position."""
    stage = session.get(m.Stage, stage_id)
    if stage is None:
        raise NotFound("stage", stage_id)
    with Tracker(session, "stage", stage_id):
        if name is not None:
            stage.name = name.strip()
        if probability is not None:
            if not 0 <= probability <= 100:
                raise ValidationError("probability", "must be between 0 and 100")
            stage.probability = probability
        if idle_days is not None:
            stage.idle_days = idle_days
        if position is not None:
            stage.position = position
        stage.updated_at = m.utcnow()
    return stage
