"""vCard export written by hand: escaping, folding, what vobject and khard read back, companies."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from pycrm.db import Database
from pycrm.io.csv_export import ExportContact
from pycrm.io.vcard import (
    contact_card,
    escape,
    fold,
    import_cards,
    read_cards,
    write_vcards,
)
from pycrm.services import companies, contacts

FIXTURES = Path(__file__).parent / "fixtures"
NASTY = 'Ana; "Bê", C\\D\nline two\r\nthree — ç ü 日本 👍'


def person(**fields: Any) -> ExportContact:
    base: dict[str, Any] = dict(
        uuid="0d7e5a6c-2b7c-4b1e-9a0e-1a2b3c4d5e6f", display_name="Ana", given_name=None,
        family_name=None, title=None, notes=None, birth_year=None, birth_month=None,
        birth_day=None, address_street=None, address_city=None, address_region=None,
        address_postcode=None, address_country=None, extra=None,
    )  # fmt: skip
    base.update(fields)
    return ExportContact(SimpleNamespace(**base), None, [], [], [])


def nl(text: str) -> str:
    """What a vCard reader gives back for a value's line breaks: always LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def physical_lines(text: str) -> list[bytes]:
    assert text.endswith("\r\n")
    return text.encode("utf-8").split(b"\r\n")[:-1]


def test_escape_covers_backslash_semicolon_comma_and_newlines() -> None:
    assert escape("a\\b;c,d\ne\r\nf\rg") == "a\\\\b\\;c\\,d\\ne\\nf\\ng"


@pytest.mark.parametrize("char", ["a", "ç", "日", "👍", "\\", ";"])
def test_folding_is_75_octets_and_never_splits_a_character(char: str) -> None:
    line = "NOTE:" + escape(char * 300)
    folded = fold(line)
    lines = physical_lines(folded)
    assert len(lines) > 1
    assert all(len(x) <= 75 for x in lines)
    assert all(x.startswith(b" ") for x in lines[1:])
    for x in lines:
        x.decode("utf-8")  # every physical line is valid UTF-8 on its own
    assert folded.replace("\r\n ", "") == line + "\r\n"
    unfolded, cut = line.encode("utf-8"), 0
    for x in lines[:-1]:  # a backslash escape is never cut in two
        cut += len(x) - (1 if cut else 0)
        before = unfolded[:cut]
        assert (len(before) - len(before.rstrip(b"\\"))) % 2 == 0


def test_short_lines_are_not_folded() -> None:
    assert fold("FN:" + "x" * 72) == "FN:" + "x" * 72 + "\r\n"
    assert fold("FN:" + "x" * 73) == "FN:" + "x" * 72 + "\r\n x\r\n"


text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
    | st.sampled_from([",", ";", "\\", "\n", ":", '"', "ç", "👍"]),
    min_size=1,
    max_size=120,
).filter(lambda s: s.strip() != "")


@settings(max_examples=150, deadline=None)
@given(
    name=text, given_name=text, family=text, title=text, note=text, company=text,
    tags=st.lists(text, max_size=3), street=text, version=st.sampled_from([3, 4]),
)  # fmt: skip
def test_vobject_reads_back_every_value(
    name: str, given_name: str, family: str, title: str, note: str, company: str,
    tags: list[str], street: str, version: int,
) -> None:  # fmt: skip
    item = person(
        display_name=name, given_name=given_name, family_name=family, title=title, notes=note,
        address_street=street, address_city="São Paulo", birth_month=5, birth_day=17,
        extra={"vcard": [["X-CUSTOM", {"TYPE": ["a,b", 'q"x']}, note, None],
                         ["IMPP", {"X-SERVICE-TYPE": ["Skype"]}, "skype:x", "Chat; work"]]},
    )  # fmt: skip
    item.company_name = company
    item.tags = tags
    item.emails = [("ana@example.com", "work")]
    item.phones = [("+5511987654321", "cell"), ("(11) 3333-4444", None)]
    card_text = contact_card(item, version)
    assert all(len(x) <= 75 for x in physical_lines(card_text))
    card = vobject.readOne(card_text)
    norm = nl(note)
    assert card.version.value == ("4.0" if version == 4 else "3.0")
    assert card.fn.value == nl(name)
    assert card.n.value.family == nl(family)
    assert card.n.value.given == nl(given_name)
    assert card.title.value == nl(title)
    assert card.note.value == norm
    assert card.org.value == [nl(company)]
    assert card.adr.value.street == nl(street)
    if tags:
        assert card.categories.value == [nl(t) for t in tags]
    assert card.x_custom.params["TYPE"] == ["a,b", "q'x"]
    impp = card.impp
    assert impp.value == "skype:x" and impp.group
    labels = [c for c in card.getChildren() if c.name == "X-ABLABEL"]
    assert labels[0].group == impp.group and labels[0].value == "Chat; work"


def load(database: Database, *paths: Path) -> None:
    cards = [c for p in paths for c in read_cards(p)]
    with database.write("import vcard", source="import") as session:
        import_cards(session, cards, region="BR")


def export(database: Database, version: int, what: tuple[str, ...] = ("contacts",)) -> str:
    out = io.StringIO()
    with database.read() as session:
        write_vcards(session, out, version=version, what=what)
    return out.getvalue()


def test_nasty_values_survive_export_and_reimport(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.write("seed") as session:
        contacts.create_contact(
            session, "Zoë; Smith, Jr.", emails=["zoe@example.com"], notes=NASTY * 3,
            title="CEO, R&D; \\ lab", tags=["vip", "c;d"], company_name="Acme, Inc.; EU",
        )  # fmt: skip
    for version in (3, 4):
        path = tmp_path / f"v{version}.vcf"
        path.write_text(export(sqlite_db, version), encoding="utf-8", newline="")
        before = export(sqlite_db, version)
        load(sqlite_db, path)
        assert export(sqlite_db, version) == before  # re-import changes nothing
    with sqlite_db.read() as session:
        assert contacts.count_contacts(session) == 1
        [summary] = contacts.list_contacts(session)
        c = summary.contact
        assert c.display_name == "Zoë; Smith, Jr." and c.title == "CEO, R&D; \\ lab"
        assert c.notes is not None and "日本 👍" in c.notes and '"Bê", C\\D' in c.notes
        assert summary.company_name == "Acme, Inc.; EU"
        assert sorted(summary.tags) == ["c;d", "vip"]  # (tags never hold commas)


def test_companies_are_organisation_cards_and_reimport_adds_nothing(
    sqlite_db: Database, tmp_path: Path
) -> None:
    with sqlite_db.write("seed") as session:
        acme = companies.get_or_create_company(session, "Acme, Inc.")
        acme.website = "https://acme.example"
        acme.phone = "+33 1 23 45 67 89"
        contacts.create_contact(session, "Ana", company_name="Acme, Inc.")
    v3 = export(sqlite_db, 3, ("companies",))
    v4 = export(sqlite_db, 4, ("companies",))
    assert v3.count("BEGIN:VCARD") == 1 and "X-ABSHOWAS:COMPANY" in v3 and "FN:Acme\\, Inc." in v3
    assert "KIND:org" in v4 and "URL:https://acme.example" in v4
    both = export(sqlite_db, 3, ("companies", "contacts"))
    assert both.count("BEGIN:VCARD") == 2
    for version, text in ((3, v3), (4, v4)):
        path = tmp_path / f"org{version}.vcf"
        path.write_text(text, encoding="utf-8", newline="")
        [card] = read_cards(path)
        assert card.kind == "org" and card.company == "Acme, Inc."
        load(sqlite_db, path)
    with sqlite_db.read() as session:
        assert contacts.count_contacts(session) == 1
        assert len(companies.list_companies(session)) == 1


def split_into(directory: Path, text: str) -> int:
    directory.mkdir()
    cards = text.split("BEGIN:VCARD\r\n")[1:]
    for index, body in enumerate(cards):
        (directory / f"{index}.vcf").write_text(
            "BEGIN:VCARD\r\n" + body, encoding="utf-8", newline=""
        )
    return len(cards)


def khard_program() -> str | None:
    beside = Path(sys.executable).parent / "khard"  # the venv's, when it is not on PATH
    return shutil.which("khard") or (str(beside) if beside.exists() else None)


@pytest.mark.skipif(khard_program() is None, reason="khard is not installed")
@pytest.mark.parametrize("version", [3, 4])
def test_khard_lists_every_exported_card(sqlite_db: Database, tmp_path: Path, version: int) -> None:
    load(sqlite_db, FIXTURES / "apple-and-v4.vcf", FIXTURES / "android-2.1.vcf")
    with sqlite_db.write("seed") as session:
        contacts.create_contact(
            session, "Zoë Nasty", emails=["zoe@example.com"], phones=["+5511912345678"],
            notes=NASTY * 4, tags=["a,b"], company_name="Acme, Inc.", region="BR",
        )  # fmt: skip
    book = tmp_path / "book"
    assert split_into(book, export(sqlite_db, version)) == 5
    config = tmp_path / "khard.conf"
    config.write_text(f"[addressbooks]\n[[pycrm]]\npath = {book}\n", encoding="utf-8")
    proc = subprocess.run(
        [khard_program() or "khard", "-c", str(config), "list", "--parsable"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    names = {line.split("\t")[1] for line in proc.stdout.splitlines() if line.strip()}
    assert names == {
        "Conceição Araújo", "Chloé Martin", "João Conceição", "René Lefèvre", "Zoë Nasty",
    }  # fmt: skip
    assert "rror" not in proc.stderr and "unparsable" not in proc.stderr.lower()
