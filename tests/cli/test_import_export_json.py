"""`pycrm export json` / `pycrm import json` as a user runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pycrm.db import open_database
from pycrm.demo import seed_demo


def test_export_import_json_through_the_cli(cli, db_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed_demo(open_database(str(db_path)), contacts=30)
    out = tmp_path / "backup.json"
    res = cli("export", "json", "-o", str(out))
    assert res.code == 0, res.err
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert cli("export", "json", "-o", str(out)).code == 2  # exists: needs --force
    assert cli("export", "json", "-o", str(out), "--force").code == 0
    only = json.loads(cli("export", "json", "--what", "contacts").out)
    assert len(only["contacts"]) == 30 and "deals" not in only
    assert cli("export", "json", "--what", "spaceships").code == 2
    other = tmp_path / "other.db"
    from typer.testing import CliRunner

    from pycrm.cli.app import app

    runner = CliRunner()
    first = runner.invoke(app, ["--db", str(other), "import", "json", str(out)])
    assert first.exit_code == 0, first.stderr
    second = runner.invoke(app, ["--db", str(other), "import", "json", str(out)])
    assert "nothing new" in second.stderr


def test_export_never_writes_through_a_symlink(cli, db_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.json"
    os.symlink(victim, link)
    res = cli("export", "json", "-o", str(link), "--force")
    assert res.code == 2 and "symbolic link" in res.err
    assert victim.read_text() == "keep me"


def test_import_json_bad_files(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = cli("import", "json", str(tmp_path / "nope.json"))
    assert missing.code == 2 and "no such file" in missing.err
    assert cli("import", "json", str(tmp_path)).code == 2
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xff\xfe binary")
    res = cli("import", "json", str(garbage))
    assert res.code == 2 and "Traceback" not in res.err and res.err.count("\n") == 1


def test_import_csv_through_the_cli(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "people.csv"
    src.write_text("Name,Email,Company\nAna,ana@x.org,Acme\nBad,nope,\n", encoding="utf-8")
    strict = cli("import", "csv", str(src))
    assert (
        strict.code == 2 and "people.csv:3: Email" in strict.err and "nothing written" in strict.err
    )
    assert cli("contact", "list", "--json").json() == []
    ok = cli(
        "import",
        "csv",
        str(src),
        "--skip-invalid",
        "--json",
        "--errors",
        str(tmp_path / "rejected.csv"),
    )
    summary = ok.json()
    assert (
        ok.code == 0 and summary["created"] == 1 and summary["rejected"] == 1 and summary["batch"]
    )
    assert "nope" in (tmp_path / "rejected.csv").read_text()
    again = cli("import", "csv", str(src), "--skip-invalid", "--json").json()
    assert again["created"] == 0 and again["skipped"] == 1
    assert cli("import", "revert", summary["batch"][:8], "--yes").code == 0
    assert cli("contact", "list", "--json").json() == []


def test_saved_mapping_for_nightly_imports(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "supplier.csv"
    src.write_text("Cliente,Correo,Fidelidade\nAna,ana@x.org,ouro\n", encoding="utf-8")
    res = cli(
        "import",
        "csv",
        str(src),
        "--map",
        "Cliente=name",
        "--map",
        "Correo=email",
        "--save-mapping",
        "supplier",
        "--dry-run",
    )
    assert res.code == 0 and "Cliente → name" in res.err
    assert cli("import", "csv", str(src), "--mapping", "supplier").code == 0
    [person] = cli("contact", "list", "--json").json()
    assert person["name"] == "Ana" and person["custom_fields"] == {"Fidelidade": "ouro"}


def test_csv_export_round_trip_and_formula_safety(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("contact", "add", "=cmd()", "--phone", "+1 212 555 0100", "--email", "x@y.org")
    out = cli("export", "csv").out
    assert "'=cmd()" in out and "+12125550100" in out
