"""CSV import on files as real programs write them, plus the hostile ones."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pycrm.db import Database, open_database
from pycrm.io.csv_export import neutralise, write_contacts_csv
from pycrm.io.csv_import import ImportError_, apply_import, plan_import
from pycrm.services import contacts

GOOGLE = (
    "First Name,Middle Name,Last Name,Phonetic First Name,Nickname,Birthday,Notes,Labels,"
    "E-mail 1 - Label,E-mail 1 - Value,E-mail 2 - Label,E-mail 2 - Value,Phone 1 - Label,Phone 1 - Value,"
    "Organization Name,Organization Title\r\n"
    'Ana,,Gonçalves,,,1990-03-07,"Met at the fair,\nlikes tea",vip ::: * myContacts,* Work,ana@acme.com,'
    "Home,ana@gmail.com,Mobile,+1 212 555 0100,Acme Ltda,CFO\r\n"
    "Bruno,,Costa,,,--11-24,,* myContacts,,bruno@beta.org,,,,,Beta,\r\n"
)
OUTLOOK = (
    "First Name,Last Name,Company,Job Title,E-mail Address,Mobile Phone,Business Phone,Categories,Notes\r\n"
    "Chloé,Martin,ACME LTDA,Buyer,chloe@acme.com,+33 6 12 34 56 78,,Clients;Paris,\r\n"
)
PT_BR = "Nome;E-mail;Telefone;Empresa;Cargo;Observações\r\nConceição Araújo;conceicao@ex.com.br;(11) 98765-4321;Padaria São João;Gerente;Cliente desde 2019\r\n"


def run(database: Database, path: Path, **kw: object) -> tuple[object, dict[str, int]]:
    with database.read() as s:
        plan = plan_import(s, path, **kw)  # type: ignore[arg-type]
    with database.write("import", source="import") as s:
        counts = apply_import(s, plan)
    return plan, counts


def test_google_export_with_labels_multiline_notes_and_birthdays(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "google.csv"
    path.write_text(GOOGLE, encoding="utf-8")
    _plan, counts = run(database, path)
    assert counts["created"] == 2
    with database.read() as s:
        people = {p.contact.display_name: p for p in contacts.list_contacts(s)}
    ana = people["Ana Gonçalves"]
    assert [e for e, _ in ana.emails] == ["ana@acme.com", "ana@gmail.com"]
    assert ana.phones == [("+12125550100", None)]
    assert ana.tags == ["vip"]  # "* myContacts" dropped
    assert ana.contact.notes == "Met at the fair,\nlikes tea"
    assert (ana.contact.birth_year, ana.contact.birth_month, ana.contact.birth_day) == (1990, 3, 7)
    assert ana.company_name == "Acme Ltda" and ana.contact.title == "CFO"
    assert (
        people["Bruno Costa"].contact.birth_year is None
        and people["Bruno Costa"].contact.birth_day == 24
    )


def test_one_tag_spelt_two_ways_in_one_file_is_one_tag(database: Database, tmp_path: Path) -> None:
    """It crashed the import on PostgreSQL (the tag look-up merged the spellings)."""
    path = tmp_path / "tags.csv"
    path.write_text("Name,Labels\nAna,VIP\nBia,vip\nCid,VIP ::: vip\n", encoding="utf-8")
    _plan, counts = run(database, path)
    assert counts["created"] == 3
    with database.read() as s:
        assert {p.contact.display_name: p.tags for p in contacts.list_contacts(s)} == {
            "Ana": ["VIP"], "Bia": ["VIP"], "Cid": ["VIP"],
        }  # fmt: skip


@pytest.mark.parametrize(("policy", "created"), [("skip", 1), ("update", 1), ("create", 2)])
def test_two_rows_with_one_uuid_are_one_person_unless_copies_are_asked_for(
    database: Database, tmp_path: Path, policy: str, created: int
) -> None:
    """Two rows of a pycrm export sharing a uuid (a row copied and edited) gave a traceback."""
    path = tmp_path / "copied.csv"
    uuid = "f6e0d2e1-f3cd-4950-9a1e-cbf628c52fb1"
    path.write_text(
        f"uuid,name,emails\n{uuid},Ana Lima,ana@x.com\n{uuid},Ana Souza,ana2@x.com\n",
        encoding="utf-8",
    )
    _plan, counts = run(database, path, on_duplicate=policy)
    assert counts["created"] == created
    with database.read() as s:
        people = contacts.list_contacts(s)
    assert [p.contact.display_name for p in people][:1] == ["Ana Lima"]
    assert people[0].contact.uuid == uuid
    assert len({p.contact.uuid for p in people}) == created


def test_reimport_creates_nothing_and_companies_match_once(
    database: Database, tmp_path: Path
) -> None:
    (tmp_path / "g.csv").write_text(GOOGLE, encoding="utf-8")
    (tmp_path / "o.csv").write_text(OUTLOOK, encoding="utf-8")
    run(database, tmp_path / "g.csv")
    _, again = run(database, tmp_path / "g.csv")
    assert again == {"created": 0, "updated": 0, "skipped": 2, "rejected": 0}
    run(database, tmp_path / "o.csv", preset="outlook")
    with database.read() as s:
        chloe = next(
            p for p in contacts.list_contacts(s) if p.contact.display_name == "Chloé Martin"
        )
        assert chloe.company_name == "Acme Ltda"  # "ACME LTDA" matched case-insensitively
        assert chloe.tags == ["Clients", "Paris"]


def test_cp1252_semicolon_portuguese_headers(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "pt.csv"
    path.write_bytes(PT_BR.encode("cp1252"))
    plan, _counts = run(database, path, region="BR")
    assert plan.encoding == "cp1252" and plan.delimiter == ";"  # type: ignore[attr-defined]
    with database.read() as s:
        [p] = contacts.list_contacts(s)
    assert p.contact.display_name == "Conceição Araújo"
    assert p.phones == [("+5511987654321", None)] and p.company_name == "Padaria São João"
    assert p.contact.title == "Gerente" and p.contact.notes == "Cliente desde 2019"


def test_the_older_google_export_and_its_system_groups(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "old-google.csv"
    path.write_text(
        "Name,Given Name,Family Name,Group Membership,E-mail 1 - Type,E-mail 1 - Value\r\n"
        "Bruno Lima,Bruno,Lima,* My Contacts ::: Fornecedores ::: * Starred,Home,b@ex.com\r\n",
        encoding="utf-8",
    )
    run(database, path, preset="google")
    with database.read() as s:
        [p] = contacts.list_contacts(s)
    assert p.contact.display_name == "Bruno Lima" and p.tags == ["Fornecedores"]


def test_portuguese_nome_beside_sobrenome_is_the_given_name(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "pt2.csv"
    path.write_bytes("Nome;Sobrenome;E-mail\r\nConceição;Araújo;c@ex.com.br\r\n".encode("cp1252"))
    plan, _counts = run(database, path, region="BR")
    assert plan.mapping["Nome"] == "given_name"  # type: ignore[attr-defined]
    with database.read() as s:
        [p] = contacts.list_contacts(s)
    assert (p.contact.display_name, p.contact.given_name, p.contact.family_name) == (
        "Conceição Araújo", "Conceição", "Araújo"
    )  # fmt: skip


def test_strict_by_default_and_update_policy(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "Name,Email,Phone\nGood,good@x.org,\nBad,not-an-email,\n,,\nNoName,,\n", encoding="utf-8"
    )
    with database.read() as s:
        plan = plan_import(s, path)
    assert [(p.line, p.column) for p in plan.rejected] == [(3, "Email")]
    path.write_text("Name,Email,Title\nGood,good@x.org,CEO\n", encoding="utf-8")
    run(database, path)
    path.write_text("Name,Email,Title\nGood,GOOD@x.org,CTO\n", encoding="utf-8")
    _, counts = run(database, path, on_duplicate="update")
    assert counts["updated"] == 1
    with database.read() as s:
        [p] = contacts.list_contacts(s)
    assert p.contact.title == "CTO"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"Name,Email\n", "only a header"),
        (b"\x00\x01\x02\xff\xfe binary \x00 garbage" * 50, "NUL"),
        (b'Name,Email\n"Ana,ana@x.org\n', "never closed"),
        (b"Name,Notes\nAna," + b"x" * 2_000_000 + b"\n", "longer than"),
        (b"Name,Email\nAna\x00,a@x.org\n", "NUL"),
    ],
)
def test_hostile_files_give_one_clear_error(
    sqlite_db: Database, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    with pytest.raises(ImportError_, match=message) as info, sqlite_db.read() as s:
        plan_import(s, path)
    assert str(info.value).startswith(str(path))


def test_undecodable_bytes_with_forced_encoding(sqlite_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("Name\nJosé\n".encode("cp1252"))
    with pytest.raises(ImportError_, match="not valid text"), sqlite_db.read() as s:
        plan_import(s, path, encoding="utf-8")


def test_missing_file_and_directory(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.read() as s:
        with pytest.raises(ImportError_, match="no such file"):
            plan_import(s, tmp_path / "nope.csv")
        with pytest.raises(ImportError_, match="directory"):
            plan_import(s, tmp_path)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+55 11 98765-4321", "+55 11 98765-4321"),
        ("+5511987654321;+12125550100", "+5511987654321;+12125550100"),
        ("+55 11 98765-4321;=cmd", "'+55 11 98765-4321;=cmd"),
        ("+1;-2+cmd|x", "'+1;-2+cmd|x"),
        ("-12.5", "-12.5"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
    ],
)
def test_formula_cells_are_neutralised(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


names = st.text(
    alphabet=st.characters(
        whitelist_categories=("Lu", "Ll", "Nd", "Zs"), whitelist_characters="çãéô'-"
    ),
    min_size=1,
    max_size=30,
).filter(lambda t: t.strip() and not t.strip().startswith(("-", "+")))


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(names, min_size=1, max_size=6, unique_by=lambda n: " ".join(n.split()).casefold()))
def test_export_then_import_round_trip(
    tmp_path_factory: pytest.TempPathFactory, people: list[str]
) -> None:
    folder = tmp_path_factory.mktemp("csv")
    source = open_database(str(folder / "a.db"))
    with source.write("add") as s:
        for i, name in enumerate(people):
            contacts.create_contact(s, name, emails=[f"p{i}@example.org"], notes=f"note {name}")
    buffer = io.StringIO()
    with source.read() as s:
        write_contacts_csv(s, buffer)
    path = folder / "out.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    target = open_database(str(folder / "b.db"))
    run(target, path, preset="pycrm")
    with source.read() as s1, target.read() as s2:
        a = sorted(
            (p.contact.uuid, p.contact.display_name, p.emails, p.contact.notes)
            for p in contacts.list_contacts(s1)
        )
        b = sorted(
            (p.contact.uuid, p.contact.display_name, p.emails, p.contact.notes)
            for p in contacts.list_contacts(s2)
        )
    assert a == b
    assert next(iter(csv.reader(io.StringIO(buffer.getvalue()))))[0] == "uuid"


def test_export_neutralises_formulas_and_reimports_unchanged(sqlite_db: Database) -> None:
    import io

    from pycrm.io.csv_export import neutralise, write_contacts_csv

    assert neutralise("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("+55 11 98765-4321") == "+55 11 98765-4321"
    assert neutralise("-12.5") == "-12.5"
    assert neutralise("-2+3a") == "'-2+3a"
    assert neutralise("\tx") == "'\tx"
    with sqlite_db.write("seed") as session:
        from pycrm.services.contacts import create_contact

        create_contact(session, "=cmd|' /C calc'!A0", emails=["x@example.com"], notes="@evil")
    out = io.StringIO()
    with sqlite_db.read() as session:
        assert write_contacts_csv(session, out) == 1
    text = out.getvalue()
    assert "'=cmd" in text and "'@evil" in text
