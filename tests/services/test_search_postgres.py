"""PostgreSQL search describes the candidates of its first pass in the statement that finds them
(and the best of later passes afterwards): the hits, their details, scores and order are those
of finding first and describing the best afterwards in every case."""

from __future__ import annotations

import random
from typing import Any

import pytest
import sqlalchemy as sa

from pycrm.db import Database
from pycrm.services import companies, contacts, deals
from pycrm.services import search as search_module
from pycrm.services.search import KINDS, SearchHit, search
from tests.conftest import PG_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="PYCRM_TEST_DATABASE_URL is not set"),
]

# The candidate rows the two-statement search ranked: (kind code, id, name, domain).
_RANKED = {
    "contact": "SELECT 0, c.id, c.display_name::text, NULL::text "
    "FROM ({ids}) AS m JOIN contact c ON c.id = m.id",
    "company": "SELECT 1, co.id, co.name::text, co.domain::text "
    "FROM ({ids}) AS m JOIN company co ON co.id = m.id",
    "deal": "SELECT 2, d.id, d.title::text, NULL::text FROM ({ids}) AS m JOIN deal d ON d.id = m.id",
}


def _two_statement_hits(
    session: Any, tokens: list[str], kinds: list[str], limit: int
) -> list[SearchHit]:
    """The search as it was: each pass finds ranked candidates, one more statement describes
    the ``limit`` best."""
    s = search_module
    params: dict[str, object] = {
        "words": " & ".join(s._lexeme(t) for t in tokens),
        "prefixes": " & ".join(s._lexeme(t) + ":*" for t in tokens),
    }
    for i, token in enumerate(tokens):
        params[f"t{i}"] = s._like(token)
        params[f"r{i}"] = "(^| )" + s.re.escape(token)
    scores: dict[tuple[str, int], tuple[float, str]] = {}
    for pass_, outranks in (("words", 2500.0), ("prefixes", 2000.0), ("anywhere", 0.0)):
        sql = " UNION ALL ".join(
            _RANKED[k].format(ids=s._pg_pass_ids(pass_, k, tokens, limit)) for k in kinds
        )
        for code, record_id, label, domain in session.execute(sa.text(sql), params).all():
            key = (KINDS[code], record_id)
            if key not in scores:
                tier = s._tier(label, [domain or ""] if domain else [], tokens)
                scores[key] = (tier * 1000.0 + (2 - code) * 100.0, label)
        if sum(v >= outranks for v, _ in scores.values()) >= limit:
            break
    return s._pg_describe_best(session, scores, limit)


def _reference(session: Any, query: str, limit: int, kinds: tuple[str, ...]) -> list[SearchHit]:
    """:func:`search` with the two-statement passes."""
    tokens = search_module.tokenize(query)
    wanted = [k for k in kinds if k in search_module._KIND_CODE]
    if not tokens or not wanted or limit <= 0:
        return []
    hits = _two_statement_hits(session, tokens, wanted, limit)
    if not hits:
        hits = search_module._fuzzy(session, " ".join(tokens), wanted, limit)
    return sorted(hits, key=lambda h: (-h.score, h.label.casefold(), h.id))[:limit]


FIRST = ["José", "Jo", "Joana", "Ana", "Anabela", "Maria", "Marianne", "Łukasz", "Zoë", "Le"]
LAST = ["Silva", "Silveira", "Gonçalves", "Costa", "Da Silva", "Lemos", "Smith", "Pereira"]


def test_one_statement_search_is_the_two_statement_search(pg: Database) -> None:
    rng = random.Random(4)
    with pg.write("random book") as s:
        firms = []
        for name in ("Silva", "Silva Ltda", "Acme", "Costa & Costa", "Lemos SA", "Gonçalves"):
            firm = companies.create_company(
                s, name, domain=f"{name.split()[0].lower()}.example", industry="Retail"
            )
            firms.append(firm)
        for i in range(160):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            person = contacts.create_contact(
                s,
                name,
                emails=[f"{name.split()[0].lower()}{i}@{rng.choice(['gmail', 'acme'])}.com"]
                if rng.random() < 0.8
                else [],
                company_name=rng.choice([None, "Acme", "Silva Ltda"]),
                notes=rng.choice([None, "met Silva at the fair", "lemonade"]),
            )
            if rng.random() < 0.3:
                deals.create_deal(
                    s,
                    f"Renewal for {rng.choice(LAST)}",
                    contact_id=person.id,
                    company_id=rng.choice(firms).id,
                    amount=rng.randrange(100, 10**6),
                    currency=rng.choice(["EUR", "BRL"]),
                )
    queries = [
        "silva", "sil", "silv", "jose", "josé", "jo", "ana", "maria silva", "le", "lemos",
        "acme", "gmail", "renewal", "costa", "goncalves", "gonsalves", "smtih", "pereria",
        "lukasz", "zoe", "da silva", "renewal silva", "fair", "ana costa", "xyzzy", "silva ltda",
    ]  # fmt: skip
    compared = 0
    with pg.connect() as connection:
        for query in queries:
            for limit in (3, 20):
                for kinds in (("contact", "company", "deal"), ("company", "deal")):
                    got = search(connection, query, limit=limit, kinds=kinds)
                    assert got == _reference(connection, query, limit, kinds), (query, limit)
                    compared += len(got)
    assert compared > 500


@pytest.fixture
def pg() -> Database:
    from tests.conftest import _fresh_pg

    return _fresh_pg()
