"""PostgreSQL's one-statement contact summary attaches what the per-table look-ups attach."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from pycrm.db import Database
from pycrm.services import contacts, deals, interactions, views
from tests.conftest import PG_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="PYCRM_TEST_DATABASE_URL is not set"),
]

NOW = datetime(2026, 11, 20, 13, tzinfo=UTC)


@pytest.fixture
def pg() -> Database:
    from tests.conftest import _fresh_pg

    return _fresh_pg()


def test_summary_statement_is_the_per_table_summary(pg: Database) -> None:
    rng = random.Random(8)
    tags = ["vip", "Ünïcode", "beta", "Zeta", "alpha"]
    with pg.write("random people") as s:
        for i in range(50):
            emails: list[str | tuple[str, str]] = [
                (f"p{i}.{j}@example.org", rng.choice(["home", "work"]))
                if rng.random() < 0.5
                else f"p{i}.{j}@example.org"
                for j in range(rng.randrange(4))
            ]
            person = contacts.create_contact(
                s,
                f"{rng.choice(['Zoé', 'Ana', 'Łukasz', 'Bo'])} {i}",
                emails=emails,
                phones=[f"+55 11 9{i:04d}-{j:04d}" for j in range(rng.randrange(3))],
                tags=rng.sample(tags, rng.randrange(len(tags) + 1)),
                company_name=rng.choice([None, "Acme", "Beta Ltda", "Çedilla SA"]),
            )
            assert person.id is not None
            for _ in range(rng.randrange(3)):
                interactions.log_interaction(
                    s,
                    type="call",
                    summary="call",
                    contact_id=person.id,
                    occurred_at=NOW - timedelta(days=rng.randrange(400), minutes=i),
                )
            for _ in range(rng.randrange(4)):
                deal = deals.create_deal(
                    s,
                    f"deal {i}",
                    contact_id=person.id,
                    amount=rng.randrange(1, 10**7),
                    currency=rng.choice(["EUR", "USD", "BRL"]),
                )
                assert deal.id is not None
                if rng.random() < 0.6:
                    deals.mark_won(s, deal.id, at=NOW)
    with pg.connect() as connection:
        people = views.list_contacts(connection, include_archived=True)
        rows = [p.contact for p in people]
        expected = views._summarize_contacts_by_table(connection, rows)
        assert views.summarize_contacts(connection, rows) == expected
        # Out of order, repeated, and in chunks: each contact gets its own summary.
        mixed = rows[::-1] + rows[:5]
        old_chunk = views.CHUNK
        views.CHUNK = 7
        try:
            got = views.summarize_contacts(connection, mixed)
        finally:
            views.CHUNK = old_chunk
        assert got == views._summarize_contacts_by_table(connection, mixed)
        # A page of people without a company (an array of NULLs only), and an empty page.
        loners = [r for r in rows if r.company_id is None][:5]
        assert len(loners) == 5
        assert views.summarize_contacts(connection, loners) == (
            views._summarize_contacts_by_table(connection, loners)
        )
        assert views.summarize_contacts(connection, []) == []
    assert sum(1 for v in expected if len(v.lifetime_value) > 1) > 3
    assert sum(1 for v in expected if len(v.emails) > 1 and len(v.tags) > 1) > 3
    assert any(v.last_interaction_at for v in expected)
    assert any(v.company_name is None for v in expected)
