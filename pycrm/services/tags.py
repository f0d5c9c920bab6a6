"""Tags on contacts and companies; names are unique ignoring case and accents."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services.changelog import log_created
from pycrm.services.contact_values import normalize_tags as normalize_tags
from pycrm.services.text import fold


def ensure_tags(session: Session, names: Iterable[str]) -> list[int]:
    """Ids of the named tags, creating the missing ones."""
    wanted = normalize_tags(names)
    if not wanted:
        return []
    keys = [fold(n) for n in wanted]
    tag = m.Tag.__table__
    existing = dict(
        session.execute(sa.select(tag.c.name_key, tag.c.id).where(tag.c.name_key.in_(keys))).all()
    )
    ids = []
    for name, key in zip(wanted, keys, strict=True):
        if key not in existing:
            obj = m.Tag(name=name, name_key=key)
            session.add(obj)
            session.flush()
            assert obj.id is not None
            log_created(session, "tag", obj.id)
            existing[key] = obj.id
        ids.append(existing[key])
    return ids


def list_tags(session: Session) -> list[tuple[str, int]]:
    """Every tag with how many contacts carry it, most used first."""
    tag, link = m.Tag.__table__, m.ContactTag.__table__
    rows = session.execute(
        sa.select(tag.c.name, sa.func.count(link.c.contact_id))
        .outerjoin(link, link.c.tag_id == tag.c.id)
        .group_by(tag.c.id, tag.c.name)
        .order_by(sa.func.count(link.c.contact_id).desc(), tag.c.name)
    )
    return [(name, count) for name, count in rows]


def tag_id(session: Session, name: str) -> int | None:
    """The id of a tag by name (ignoring case and accents), or None."""
    tag = m.Tag.__table__
    return session.execute(sa.select(tag.c.id).where(tag.c.name_key == fold(name))).scalar()
