"""`pycrm export vcard --what …` through Typer's CliRunner, as CLI.md lists them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import vobject

from tests.cli.conftest import Result, seed_two_people_and_acme

FIXTURES = Path(__file__).parent.parent / "io" / "fixtures"
Run = Callable[..., Result]


def cards(text: str) -> list[vobject.base.Component]:
    return list(vobject.readComponents(text))


def test_export_vcard_what_contacts_companies_or_both(cli: Run, tmp_path: Path) -> None:
    seed_two_people_and_acme(cli)
    default = cli("export", "vcard")
    assert default.code == 0
    assert sorted(c.fn.value for c in cards(default.out)) == ["Ana Souza", "Bruno Lima"]
    assert cli("export", "vcard", "--what", "contacts").out == default.out

    orgs = cli("export", "vcard", "--what", "companies")
    assert orgs.code == 0
    [org] = cards(orgs.out)
    assert org.fn.value == "Acme, Inc." and org.x_abshowas.value == "COMPANY"
    v4 = cli("export", "vcard", "--what", "companies", "--vcard-version", "4")
    assert cards(v4.out)[0].kind.value == "org"

    out = tmp_path / "all.vcf"
    both = cli("export", "vcard", "--what", "companies", "--what", "contacts", "-o", str(out))
    assert both.code == 0 and "wrote 3 cards" in both.err
    names = [c.fn.value for c in cards(out.read_text(encoding="utf-8"))]
    assert names == ["Acme, Inc.", "Ana Souza", "Bruno Lima"]  # organisations first

    again = cli("import", "vcard", str(out))  # the round trip creates nothing
    assert again.code == 0 and "created 0" in again.err and "companies 0" in again.err


def test_export_vcard_refuses_what_it_cannot_write(cli: Run) -> None:
    seed_two_people_and_acme(cli)
    result = cli("export", "vcard", "--what", "deals")
    assert result.code == 2 and "contacts and companies" in result.err and result.out == ""
    assert cli("export", "vcard", "--vcard-version", "5").code == 2
