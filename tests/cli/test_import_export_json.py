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
