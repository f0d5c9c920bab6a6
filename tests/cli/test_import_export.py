"""`pycrm import …` / `pycrm export …` as a user runs them."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Result

FIXTURES = Path(__file__).parent.parent / "io" / "fixtures"
Run = Callable[..., Result]

SUPPLIER = (
    "Nome;E-mail;Telefone;Empresa;Código Cliente\r\n"
    "Conceição Araújo;conceicao@example.com.br;+55 11 98765-4321;Padaria São João;C-001\r\n"
    "Renée Lefèvre;renee@example.fr;;PADARIA SAO JOAO;C-002\r\n"
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_import_reimport_and_revert(cli: Run, tmp_path: Path) -> None:
    path = write(tmp_path, "supplier.csv", SUPPLIER, "cp1252")
    first = cli("import", "csv", str(path), "--json")
    assert first.code == 0, first.err
    summary = first.json()
    assert (summary["created"], summary["new_companies"], summary["encoding"]) == (2, 1, "cp1252")
    assert summary["mapping"]["Código Cliente"] == "custom:Código Cliente"
    again = cli("import", "csv", str(path))
    assert again.code == 0 and "created 0" in again.err and "skipped 2" in again.err
    listed = cli("contact", "list")
    assert "Conceição Araújo" in listed.out and "Renée Lefèvre" in listed.out
    reverted = cli("import", "revert", summary["batch"][:8], "--yes")
    assert reverted.code == 0, reverted.err
    assert "Conceição" not in cli("contact", "list").out


def test_strict_rejects_everything_and_lists_lines(cli: Run, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.csv",
        "name,email,birthday\nAna,ana@example.com,\nBob,bob@@x,\n,,\n,x@y.com,\nCy,,31/02/2020\n",
    )
    result = cli("import", "csv", str(path))
    assert result.code == 2
    assert f"{path}:3: email:" in result.err
    assert f"{path}:5: name:" in result.err
    assert f"{path}:6: birthday:" in result.err
    assert "Ana" not in cli("contact", "list").out
    errors = tmp_path / "rejected.csv"
    partial = cli("import", "csv", str(path), "--skip-invalid", "--errors", str(errors))
    assert partial.code == 0 and "created 1" in partial.err
    assert errors.read_text().count("\n") == 4  # header + 3 rejected rows
    assert stat.S_IMODE(errors.stat().st_mode) == 0o600


def test_saved_mapping_for_a_nightly_cron(cli: Run, tmp_path: Path) -> None:
    path = write(tmp_path, "feed.csv", "Who|Mail|Org\nAna Lima|ana@example.com|Acme\n")
    dry = cli("import", "csv", str(path), "--map", "Who=name", "--map", "Mail=email", "--map", "Org=company",
              "--save-mapping", "supplier", "--dry-run")  # fmt: skip
    assert dry.code == 0 and "would create 1" in dry.err and "Who → name" in dry.err
    assert "Ana Lima" not in cli("contact", "list").out
    real = cli("import", "csv", str(path), "--mapping", "supplier")
    assert real.code == 0 and "created 1" in real.err
    assert "Acme" in cli("contact", "list").out


def test_dry_run_names_the_fields_an_update_would_change(cli: Run, tmp_path: Path) -> None:
    first = write(tmp_path, "a.csv", "Name,Email,Title\nAna Lima,ana@example.com,CEO\n")
    assert cli("import", "csv", str(first)).code == 0
    again = write(tmp_path, "b.csv", "Name,Email,Title\nAna L.,ana@example.com,Chair\n")
    dry = cli("import", "csv", str(again), "--on-duplicate", "update", "--dry-run")
    assert dry.code == 0 and "would create 0, update 1" in dry.err
    assert "line 2: would update #1 (title, name)" in dry.err and "name_key" not in dry.err


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"name,email\n", "only a header"),
        (b'name,notes\nAna,"never closed\n', "never closed"),
        (b"PK\x03\x04\x00\x00binary", "NUL"),
        (b"name,notes\nAna," + b"x" * 20_000_000 + b"\n", "longer than"),
    ],
    ids=["empty", "header-only", "unterminated-quote", "binary", "20MB-field"],
)
def test_bad_csv_is_one_line_exit_2(sh: Run, tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    result = sh("import", "csv", str(path))
    assert result.code == 2
    assert problem in result.err and str(path) in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1


def test_missing_file_and_directory(sh: Run, tmp_path: Path) -> None:
    for target in (tmp_path / "nope.csv", tmp_path):
        result = sh("import", "csv", str(target))
        assert result.code == 2 and "Traceback" not in result.err


def test_export_csv_is_private_refuses_overwrite_and_symlinks(cli: Run, tmp_path: Path) -> None:
    cli("contact", "add", '=HYPERLINK("http://x")', "--email", "x@example.com")
    out = tmp_path / "contacts.csv"
    assert cli("export", "csv", "-o", str(out)).code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "'=HYPERLINK" in out.read_text()
    assert cli("export", "csv", "-o", str(out)).code == 2
    assert cli("export", "csv", "-o", str(out), "--force").code == 0
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    link = tmp_path / "link.csv"
    os.symlink(target, link)
    assert cli("export", "csv", "-o", str(link), "--force").code == 2
    assert target.read_text() == "keep"


def test_export_csv_excel_pt_uses_bom_and_semicolon(sh: Run) -> None:
    sh("contact", "add", "João", "--email", "joao@example.com")
    result = sh("export", "csv", "--excel", env={"PYCRM_DECIMAL_COMMA": "1"})
    assert result.code == 0
    assert result.out.startswith("\ufeffuuid;name;")


def test_csv_export_reimports_into_empty_db(cli: Run, tmp_path: Path, sh: Run) -> None:
    path = write(tmp_path, "supplier.csv", SUPPLIER)
    cli("import", "csv", str(path))
    out = tmp_path / "out.csv"
    cli("export", "csv", "-o", str(out))
    other = tmp_path / "other.db"
    from typer.testing import CliRunner

    from pycrm.cli.app import app

    res = CliRunner().invoke(
        app, ["--db", str(other), "import", "csv", str(out), "--preset", "pycrm"]
    )
    assert res.exit_code == 0 and "created 2" in res.stderr
    res2 = CliRunner().invoke(app, ["--db", str(other), "export", "csv"])
    assert res2.stdout == cli("export", "csv").out


def test_vcard_and_ics_round_trip_through_the_cli(sh: Run, tmp_path: Path) -> None:
    imported = sh(
        "import", "vcard", str(FIXTURES / "apple-and-v4.vcf"), str(FIXTURES / "android-2.1.vcf")
    )
    assert imported.code == 0 and "created 4" in imported.err
    vcf = tmp_path / "all.vcf"
    assert sh("export", "vcard", "-o", str(vcf), "--vcard-version", "4").code == 0
    assert vcf.read_text().count("BEGIN:VCARD") == 4
    again = sh("import", "vcard", str(tmp_path))
    assert again.code == 0 and "created 0" in again.err
    assert sh("import", "ics", str(FIXTURES / "google-calendar.ics")).code == 0
    ics = sh("export", "ics")
    assert ics.code == 0 and "UID:7kukuqrfedlm2f9t0vr7hn5v3c@google.com" in ics.out
    bad = tmp_path / "x.ics"
    bad.write_text("hello")
    result = sh("import", "ics", str(bad))
    assert result.code == 2 and "Traceback" not in result.err
