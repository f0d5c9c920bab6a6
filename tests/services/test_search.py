"""Search: accent/case-insensitive prefix matching, ranking, typo fallback, and hostile input."""

from __future__ import annotations

import pytest

from pycrm.db import Database
from pycrm.dbfile import open_sqlite_reader
from pycrm.services import contacts, deals
from pycrm.services.search import search


@pytest.fixture
def people(database: Database) -> Database:
    with database.write("people") as s:
        contacts.create_contact(
            s, "José Gonçalves", emails=["jose@acme.com"], company_name="Acme Ltda", tags=["vip"]
        )
        contacts.create_contact(
            s, "Josefina Alves", emails=["jo@beta.org"], phones=["+55 11 98765-4321"], region="BR"
        )
        contacts.create_contact(s, "Mary O'Neil", notes="met at [bold]fair[/bold]")
        ana = contacts.create_contact(s, "Ana Costa")
        deals.create_deal(s, "Acme renewal", contact_id=ana.id, amount=100000, currency="EUR")
    return database


def labels(database: Database, query: str, **kw: object) -> list[str]:
    with database.read() as s:
        hits = search(s, query, **kw)  # type: ignore[arg-type]
    if database.path is not None:
        # `pycrm find` searches a SQLite file through plain sqlite3: the very same hits.
        reader = open_sqlite_reader(str(database.path))
        assert reader is not None
        try:
            assert search(reader, query, **kw) == hits  # type: ignore[arg-type]
        finally:
            reader.close()
    return [h.label for h in hits]


def test_accent_and_case_insensitive_prefix(people: Database) -> None:
    assert labels(people, "jose") == ["José Gonçalves", "Josefina Alves"]
    assert labels(people, "GONCAL") == ["José Gonçalves"]
    assert labels(people, "o'neil") == ["Mary O'Neil"]


def test_exact_beats_prefix_and_other_fields(people: Database) -> None:
    assert labels(people, "josefina alves")[0] == "Josefina Alves"
    assert labels(people, "jose@acme.com")[0] == "José Gonçalves"


def test_whole_words_rank_before_word_prefixes_before_other_fields(people: Database) -> None:
    with people.write("more") as s:
        contacts.create_contact(s, "Anabela Reis")
        contacts.create_contact(s, "Rita Lopes", notes="Ana's neighbour")
    assert labels(people, "ana") == ["Ana Costa", "Anabela Reis", "Rita Lopes"]
    assert labels(people, "ana", limit=1) == ["Ana Costa"]
    assert labels(people, "ana c") == ["Ana Costa"]


def test_words_start_after_punctuation_too(people: Database) -> None:
    with people.write("more") as s:
        contacts.create_contact(s, "Jean-Pierre Lefèvre")
    assert labels(people, "pierre") == ["Jean-Pierre Lefèvre"]
    assert labels(people, "lef") == ["Jean-Pierre Lefèvre"]


def test_finds_companies_deals_emails_phones_tags(people: Database) -> None:
    with people.read() as s:
        kinds = {(h.kind, h.label) for h in search(s, "acme")}
    assert ("company", "Acme Ltda") in kinds and ("deal", "Acme renewal") in kinds
    assert labels(people, "98765") == ["Josefina Alves"]
    assert labels(people, "vip", kinds=("contact",)) == ["José Gonçalves"]


def test_typo_falls_back_to_fuzzy(people: Database) -> None:
    assert labels(people, "gonsalves") == ["José Gonçalves"]
    assert labels(people, "gonçalevs") == ["José Gonçalves"]  # swapped letters
    assert labels(people, "acme renewl") == ["Acme renewal"]  # a deal: people had none
    # Near spellings are looked for among words with the same first letter, then among all.
    assert labels(people, "kosta") == ["Ana Costa"]


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "*",
        "NEAR(",
        "a OR",
        "-x",
        "(",
        ")",
        "AND",
        "NOT",
        "^",
        "%",
        "_",
        "\\",
        "''",
        "jo*",
        "x" * 10_000,
        "🙂",
        "שלום",
        "مرحبا",
        '"jose" OR 1=1 --',
        "col:val",
        "{a b}",
        "a + b",
    ],
)
def test_hostile_queries_never_error(people: Database, query: str) -> None:
    labels(people, query)  # must not raise; result may be empty


def test_percent_and_underscore_are_not_wildcards(people: Database) -> None:
    assert labels(people, "%") == []
    assert labels(people, "_") == []


def test_postgres_search_expressions_are_the_indexed_ones() -> None:
    """PostgreSQL only uses an expression index for the very same expression text."""
    import importlib

    from pycrm.services import search as search_module

    migration = importlib.import_module("pycrm.migrations.versions.0003_quick_read_indexes")
    indexed = set(migration.TRIGRAM_INDEXES.values())
    assert ("contact", search_module.PG_PERSON_TEXT) in indexed
    for kind in ("company", "deal"):
        assert search_module.PG_DOCUMENTS[kind] in indexed
    for kind in ("contact", "company", "deal"):
        assert search_module.PG_NAMES[kind] in indexed
    words = importlib.import_module("pycrm.migrations.versions.0004_search_name_words")
    for kind in ("contact", "company", "deal"):
        assert search_module.PG_WORDS[kind] in set(words.WORD_INDEXES.values())


def test_people_named_like_a_busy_company_still_come_first(database: Database) -> None:
    """bm25 prefers short documents: a cap shared by all kinds once filled up with deals titled
    "Renewal for Silva Ltda" and left out the people named Silva. Each kind has its own."""
    from pycrm.services import companies

    with database.write("setup") as s:
        people = {
            contacts.create_contact(
                s,
                f"{first} Silva",
                emails=[f"{first.lower()}@silva-mail.example"],
                notes="met at a fair",
            ).id
            for first in ("Ana", "Bruno", "Carla", "Davi", "Elisa")
        }
        firm = companies.create_company(s, "Silva Ltda").id
        for i in range(80):
            deals.create_deal(s, f"Renewal {i} for Silva Ltda", company_id=firm, amount=100)
    with database.read() as s:
        hits = search(s, "silva", limit=10)
    assert {h.id for h in hits[:5] if h.kind == "contact"} == people
    assert [h.kind for h in hits[5:7]] == ["company", "deal"]
