"""Quick commands stay quick: `pycrm find` loads neither the ORM, Typer nor the other commands.

Import cost is most of a quick command's time (issue 8, figure 2), so this guards what gets
imported rather than timing anything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from pycrm.cli.app import main
sys.argv = ["pycrm", "--db", sys.argv[1], *sys.argv[2:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {"pycrm", "sqlalchemy", "pydantic", "sqlmodel", "textual", "typer", "click"})), file=sys.stderr)
"""


def loaded_modules(db: Path, *args: str) -> tuple[str, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(db), *args],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return result.stdout, set(json.loads(result.stderr.strip().splitlines()[-1]))


def test_find_answers_without_loading_the_orm_or_other_commands(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    subprocess.run(
        [sys.executable, "-m", "pycrm", "--db", str(db), "contact", "add", "Conceição Gonçalves"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    out, modules = loaded_modules(db, "find", "goncalves")
    assert "Conceição Gonçalves" in out
    assert "sqlalchemy.orm" not in modules
    assert not {"pydantic", "sqlmodel", "textual", "pycrm.models"} & modules
    assert "pycrm.cli.contact" not in modules and "pycrm.cli.report" not in modules
    # Plain arguments take the quick path (pycrm.cli.quick): no Typer, no Click.
    assert not {"typer", "click", "pycrm.cli.root", "pycrm.cli.everyday"} & modules
    for args in (("contact", "list", "--limit", "5"), ("contact", "show", "1", "--json")):
        out, modules = loaded_modules(db, *args)
        assert "Gonçalves" in out
        assert not {"typer", "click", "pycrm.cli.root", "pycrm.cli.contact"} & modules


def test_find_with_help_still_goes_to_typer(tmp_path: Path) -> None:
    out, modules = loaded_modules(tmp_path / "none.db", "find", "--help")
    assert "--limit" in out and "typer" in modules


def test_help_still_lists_every_command(tmp_path: Path) -> None:
    out, _ = loaded_modules(tmp_path / "none.db", "--help")
    for name in ("find", "today", "contact", "deal", "import", "export", "report", "db"):
        assert f"  {name} " in out


def test_a_quick_command_closes_the_database_before_exiting(tmp_path: Path) -> None:
    # main() freezes the cycle collector's objects at exit, so connections are not closed by the
    # exit-time collection: the command closes the database itself, and SQLite removes its WAL.
    db = tmp_path / "crm.db"
    for args in (("contact", "add", "Ana Souza"), ("find", "ana"), ("contact", "show", "1")):
        subprocess.run(
            [sys.executable, "-m", "pycrm", "--db", str(db), *args],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.db"], args
