"""REF resolution: id, UUID, e-mail, or a search matching exactly one record."""

from __future__ import annotations

from typing import Any

import pytest

from pycrm.db import Database
from pycrm.services import companies, contacts, deals
from pycrm.services.errors import Ambiguous, NotFound
from pycrm.services.refs import resolve_company, resolve_contact, resolve_deal


@pytest.fixture
def book(database: Database) -> dict[str, Any]:
    """Ids of a small book's records (and Ana's uuid)."""
    with database.write("book") as s:
        acme = companies.create_company(s, "Acme Ltda").id
        ana = contacts.create_contact(s, "Ana Souza", emails=["ana@acme.com"], company_id=acme)
        anabel = contacts.create_contact(s, "Anabel Souza", emails=["anabel@beta.org"])
        jose = contacts.create_contact(s, "José Gonçalves", emails=["JOSE@Acme.com"])
        deal = deals.create_deal(s, "Acme renewal", contact_id=ana.id, amount=100)
        return {
            "acme": acme, "ana": ana.id, "anabel": anabel.id, "jose": jose.id, "deal": deal.id,
            "ana_uuid": ana.uuid,
        }  # fmt: skip


def test_id_uuid_email_and_unique_search(database: Database, book: dict[str, int]) -> None:
    with database.read() as s:
        assert resolve_contact(s, str(book["ana"])) == book["ana"]
        assert resolve_contact(s, f"#{book['ana']}") == book["ana"]
        assert resolve_contact(s, str(book["ana_uuid"])) == book["ana"]
        assert resolve_contact(s, "jose@acme.com") == book["jose"]  # e-mails ignore case
        assert resolve_contact(s, "goncalves") == book["jose"]  # accents folded
        # An exact name wins over a longer name that shares its prefix.
        assert resolve_contact(s, "ana souza") == book["ana"]
        assert resolve_company(s, "acme") == book["acme"]
        assert resolve_deal(s, "renewal") == book["deal"]


def test_ambiguous_lists_candidates_with_email_and_company(
    database: Database, book: dict[str, int]
) -> None:
    with database.read() as s, pytest.raises(Ambiguous) as caught:
        resolve_contact(s, "souza")
    found = {c.id: c for c in caught.value.candidates}
    assert set(found) == {book["ana"], book["anabel"]}
    assert "ana@acme.com" in found[book["ana"]].detail
    assert "Acme Ltda" in found[book["ana"]].detail
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("ref", ["999999", "nobody@nowhere.org", "zzzzqqqq", "", '"*('])
def test_nothing_found_is_not_found(database: Database, book: dict[str, int], ref: str) -> None:
    with database.read() as s, pytest.raises(NotFound) as caught:
        resolve_contact(s, ref)
    assert caught.value.exit_code == 3


def test_a_name_without_words_is_found_by_the_name_itself(database: Database) -> None:
    """Search reads words: a name made only of emoji or punctuation has none, yet is a name."""
    with database.write("odd names") as s:
        rocket = contacts.create_contact(s, "🚀🚀").id
        twins = [contacts.create_contact(s, "???").id for _ in range(2)]
        shop = companies.create_company(s, "★★★").id
        deal = deals.create_deal(s, "💰", contact_id=rocket, amount=1).id
    with database.read() as s:
        assert resolve_contact(s, "🚀🚀") == rocket
        assert resolve_company(s, "★★★") == shop
        assert resolve_deal(s, "💰") == deal
        with pytest.raises(Ambiguous) as caught:
            resolve_contact(s, "???")
        assert {c.id for c in caught.value.candidates} == set(twins)
        with pytest.raises(NotFound):
            resolve_contact(s, "🚀")
