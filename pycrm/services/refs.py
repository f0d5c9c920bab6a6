"""Turning what a person types (an id, an e-mail, a name) into exactly one record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pycrm.services.errors import Ambiguous, Candidate, NotFound
from pycrm.services.search import search
from pycrm.services.sqltext import rows
from pycrm.services.text import fold

if TYPE_CHECKING:  # quick commands resolve REFs on a plain sqlite3 or Core connection
    from pycrm.services.sqltext import Queryable

_TABLE = {"contact": "contact", "company": "company", "deal": "deal"}


def _by_id(session: Queryable, kind: str, ref: str) -> int | None:
    text = ref.strip().lstrip("#")
    if not text.isdigit():
        return None
    found = rows(session, f"SELECT id FROM {_TABLE[kind]} WHERE id = :i", {"i": int(text)})
    if not found:
        raise NotFound(kind, ref)
    return int(found[0][0])


def _by_uuid(session: Queryable, kind: str, ref: str) -> int | None:
    text = ref.strip().lower()
    if len(text) != 36 or text.count("-") != 4:
        return None
    found = rows(session, f"SELECT id FROM {_TABLE[kind]} WHERE uuid = :u", {"u": text})
    return int(found[0][0]) if found else None


def resolve(session: Queryable, kind: str, ref: str) -> int:
    """The id of the one ``kind`` record ``ref`` names: an id, a UUID, an e-mail, or a search.

    Raises NotFound when nothing matches and Ambiguous (with candidates) when several do.
    """
    if kind not in _TABLE:
        raise ValueError(kind)
    ref = (ref or "").strip()
    if not ref:
        raise NotFound(kind, ref)
    found = _by_id(session, kind, ref)
    if found is not None:
        return found
    found = _by_uuid(session, kind, ref)
    if found is not None:
        return found
    if kind == "contact" and "@" in ref:
        ids = [
            int(r[0])
            for r in rows(
                session,
                "SELECT DISTINCT contact_id FROM contact_email WHERE email_key = :e",
                {"e": ref.lower().removeprefix("mailto:")},
            )
        ]
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            raise Ambiguous(kind, ref, _candidates(session, kind, ids))
    hits = search(session, ref, kinds=(kind,), limit=50)
    if not hits:
        # Search reads words; a name with none ("🚀🚀", "???") is still that record's name.
        ids = _by_exact_name(session, kind, ref)
        if len(ids) == 1:
            return ids[0]
        if ids:
            raise Ambiguous(kind, ref, _candidates(session, kind, ids[:20]))
        raise NotFound(kind, ref)
    key = fold(ref)
    exact = [h for h in hits if fold(h.label) == key]
    if len(exact) == 1:
        return exact[0].id
    if len(hits) == 1:
        return hits[0].id
    chosen = exact or hits
    raise Ambiguous(kind, ref, [Candidate(h.id, h.label, h.detail) for h in chosen[:20]])


_EXACT_NAME = {
    "contact": "SELECT id FROM contact WHERE name_key = :key ORDER BY id",
    "company": "SELECT id FROM company WHERE name_key = :key ORDER BY id",
    "deal": "SELECT id FROM deal WHERE title = :name ORDER BY id",
}


def _by_exact_name(session: Queryable, kind: str, ref: str) -> list[int]:
    """Ids of the ``kind`` records whose name is exactly ``ref`` (ignoring case and accents
    where a folded key is kept)."""
    params = {"name": ref} if kind == "deal" else {"key": fold(ref)}
    found = rows(session, _EXACT_NAME[kind], params)
    return [int(r[0]) for r in found]


def _candidates(session: Queryable, kind: str, ids: list[int]) -> list[Candidate]:
    from pycrm.services.search import _labels

    return [
        Candidate(i, label, detail)
        for i, _uuid, label, detail, _extra in _labels(session, kind, ids)
    ]


def resolve_contact(session: Queryable, ref: str) -> int:
    """The contact ``ref`` names (id, e-mail or search)."""
    return resolve(session, "contact", ref)


def resolve_company(session: Queryable, ref: str) -> int:
    """The company ``ref`` names (id or search)."""
    return resolve(session, "company", ref)


def resolve_deal(session: Queryable, ref: str) -> int:
    """The deal ``ref`` names (id or search)."""
    return resolve(session, "deal", ref)
