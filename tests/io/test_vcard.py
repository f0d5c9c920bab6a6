"""vCard import/export on files shaped like Android (2.1), Apple (3.0) and vCard 4.0 exports."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import vobject
from sqlalchemy.orm import Session

from pycrm.db import Database
from pycrm.io.vcard import VCardError, import_cards, read_cards, write_vcards
from pycrm.services import contacts

FIXTURES = Path(__file__).parent / "fixtures"


def load(database: Database, *paths: Path) -> dict[str, int]:
    cards = [c for p in paths for c in read_cards(p)]
    with database.write("import vcard", source="import") as session:
        return import_cards(session, cards, region="BR")


def test_android_21_quoted_printable_soft_breaks_and_charset() -> None:
    cards = read_cards(FIXTURES / "android-2.1.vcf")
    assert cards[0].name == "João Conceição"
    assert cards[0].fields["given_name"] == "João"
    assert cards[0].fields["notes"] == "line one\r\nline two"
    assert [p for p, _ in cards[0].phones] == ["+55 11 98765-4321", "+55 11 3333-4444"]
    assert cards[1].fields["family_name"] == "Lefèvre" and cards[1].name == "René Lefèvre"
    assert cards[0].extra[0][0] == "X-ANDROID-CUSTOM"


def test_apple_groups_labels_v4_uri_and_org(sqlite_db: Database) -> None:
    counts = load(sqlite_db, FIXTURES / "apple-and-v4.vcf")
    assert counts == {"created": 2, "updated": 0, "unchanged": 0, "companies": 1}
    with sqlite_db.read() as session:
        found = contacts.find_by_email(session, "conceicao@example.com.br")
        c = contacts.get_contact(session, found[0])
        assert c.uuid == "5a1d6a2c-7f4b-4f3e-9c0e-2b1a3c4d5e6f"
        assert c.notes == "Prefers calls\nafter 10am; never Mondays"
        assert c.address_street == "Rua das Flores, 12" and c.birth_year == 1980
        labels = dict((n, lab) for n, lab in contacts.contact_phones(session, c.id or 0))
        assert labels["+551133334444"] == "loja"
        chloe = contacts.get_contact(session, contacts.find_by_email(session, "chloe@acme.fr")[0])
        assert [n for n, _ in contacts.contact_phones(session, chloe.id or 0)] == ["+33612345678"]


def test_cards_without_uid_are_found_again_by_email_phone_or_name(
    sqlite_db: Database, tmp_path: Path
) -> None:
    # René's Android card has only a phone; these have only a name, with and without company.
    names = tmp_path / "names.vcf"
    names.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zé Ninguém\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zé Ninguém\r\nORG:Padaria\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    files = (FIXTURES / "android-2.1.vcf", names)
    assert load(sqlite_db, *files) == {"created": 4, "updated": 0, "unchanged": 0, "companies": 0}
    again = load(sqlite_db, *files)
    assert again == {"created": 0, "updated": 0, "unchanged": 4, "companies": 0}
    with sqlite_db.read() as session:
        assert contacts.count_contacts(session) == 4


@pytest.mark.parametrize("version", [3, 4])
def test_export_reimport_loses_nothing_and_updates(
    sqlite_db: Database, tmp_path: Path, version: int
) -> None:
    load(sqlite_db, FIXTURES / "apple-and-v4.vcf", FIXTURES / "android-2.1.vcf")
    out = io.StringIO()
    with sqlite_db.read() as session:
        assert write_vcards(session, out, version=version) == 4
    text = out.getvalue()
    parsed = list(vobject.readComponents(text))
    assert len(parsed) == 4
    assert "X-SOCIALPROFILE" in text and "IMPP" in text and "RELATED" in text
    # A label vCard has no TYPE for goes out as Apple's itemN. group with an X-ABLabel.
    loja = next(line for line in text.splitlines() if "3333" in line and "TEL" in line)
    group = loja.split(".", 1)[0]
    assert f"{group}.X-ABLABEL:loja" in text.splitlines()
    path = tmp_path / "out.vcf"
    path.write_text(text, encoding="utf-8")
    with sqlite_db.read() as session:
        before = contacts_and_history(session)
    again = load(sqlite_db, path)
    # Our own export read back changes nothing: no update, no history, the typed phones kept.
    assert again == {"created": 0, "updated": 0, "unchanged": 4, "companies": 0}
    with sqlite_db.read() as session:
        assert contacts.count_contacts(session) == 4
        assert contacts_and_history(session) == before
        found = contacts.find_by_email(session, "conceicao@example.com.br")
        labels = dict((n, lab) for n, lab in contacts.contact_phones(session, found[0]))
        assert labels["+551133334444"] == "loja"


def contacts_and_history(session: Session) -> tuple[list[Any], int]:
    """Every contact row and phone row (raw text included), and the size of the history."""
    from pycrm import models as m

    people = session.execute(sa.select(m.Contact.__table__).order_by(m.Contact.id)).all()
    phones = session.execute(sa.select(m.ContactPhone.__table__).order_by(m.ContactPhone.id)).all()
    logged = session.execute(sa.select(sa.func.count()).select_from(m.ChangeLog)).scalar_one()
    return [*people, *phones], logged


def test_a_changed_card_updates_once(sqlite_db: Database, tmp_path: Path) -> None:
    load(sqlite_db, FIXTURES / "apple-and-v4.vcf")
    text = (FIXTURES / "apple-and-v4.vcf").read_text(encoding="utf-8")
    assert "Prefers calls" in text
    path = tmp_path / "edited.vcf"
    path.write_text(text.replace("Prefers calls", "Prefers e-mail"), encoding="utf-8")
    assert load(sqlite_db, path) == {"created": 0, "updated": 1, "unchanged": 1, "companies": 0}
    assert load(sqlite_db, path) == {"created": 0, "updated": 0, "unchanged": 2, "companies": 0}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"hello world\n", "not a vCard"),
        (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Half", "truncated"),
        (b"BEGIN:VCARD\x00\x01\x02", "NUL"),
    ],
)
def test_bad_files_are_one_line(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.vcf"
    path.write_bytes(content)
    with pytest.raises(VCardError, match=problem) as info:
        read_cards(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
