"""The quick path (pycrm.cli.quick) answers exactly as the Typer app does, or leaves it the call.

`find`, `contact list`, `contact show`, `company list`, `deal list` and `today` with plain
arguments run without Typer; everything else goes to the Typer app. Each accepted form is run both ways, as real processes, and stdout,
stderr and the exit code must be identical.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from pycrm.cli.gendocs import click_context
from pycrm.cli.quick import QUICK_COMMANDS, parse
from pycrm.db import open_database

TYPER_ONLY = """
import sys
from pycrm.cli.root import app
sys.argv = ["pycrm", *sys.argv[1:]]
app()
"""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pycrm.demo import seed_demo

    path = tmp_path_factory.mktemp("quick") / "crm.db"
    database = open_database(str(path))
    seed_demo(database, contacts=60, seed=5)
    database.close()
    return path


def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


FORMS = [
    ("find", "ana"),
    ("find", "ana", "--json"),
    ("find", "--limit", "3", "a"),
    ("find", "a", "--limit=2", "--json"),
    ("find", "zzqqxx"),
    ("find", ""),
    ("contact", "list", "--limit", "5"),
    ("contact", "list", "--sort", "recent", "--limit", "7", "--json"),
    ("contact", "list", "--sort", "value", "--company", "1"),
    ("contact", "list", "--tag=vip", "--json"),
    ("contact", "list", "--sort", "bogus"),
    ("contact", "list", "--company", "no such company"),
    ("contact", "show", "1"),
    ("contact", "show", "2", "--json"),
    ("contact", "show", "999999"),
    ("contact", "show", "a"),
    ("today",),
    ("today", "--json"),
    ("company", "list"),
    ("company", "list", "--limit", "4", "--json"),
    ("company", "list", "--tag", "no such tag"),
    ("deal", "list"),
    ("deal", "list", "--open", "--json"),
    ("deal", "list", "--won", "--limit", "3"),
    ("deal", "list", "--stage", "prop", "--json"),
    ("deal", "list", "--stage=1"),
    ("deal", "list", "--stage", "nope"),
    ("deal", "list", "--stage", "o"),
    ("deal", "list", "--won", "--lost"),
]


@pytest.mark.parametrize("form", FORMS, ids=" ".join)
def test_the_quick_path_answers_as_the_typer_app(book: Path, form: tuple[str, ...]) -> None:
    assert parse(["--db", str(book), *form], environ={}) is not None
    quick = _run([sys.executable, "-m", "pycrm", "--db", str(book), *form])
    typer_only = _run([sys.executable, "-c", TYPER_ONLY, "--db", str(book), *form])
    assert quick == typer_only
    assert quick[1] or quick[2]


def test_db_from_the_environment_or_with_equals(book: Path) -> None:
    expected = _run([sys.executable, "-c", TYPER_ONLY, "--db", str(book), "contact", "show", "3"])
    assert expected[0] == 0
    by_env = _run([sys.executable, "-m", "pycrm", "contact", "show", "3"], {"PYCRM_DB": str(book)})
    with_equals = _run([sys.executable, "-m", "pycrm", f"--db={book}", "contact", "show", "3"])
    assert by_env == expected
    assert with_equals == expected


def test_a_missing_database_folder_is_the_same_error(tmp_path: Path) -> None:
    where = str(tmp_path / "file" / "crm.db")
    (tmp_path / "file").write_text("not a folder")
    quick = _run([sys.executable, "-m", "pycrm", "--db", where, "find", "x"])
    typer_only = _run([sys.executable, "-c", TYPER_ONLY, "--db", where, "find", "x"])
    assert quick == typer_only
    assert quick[0] != 0


@pytest.mark.parametrize(
    "argv",
    [
        ["find"],
        ["find", "a", "b"],
        ["find", "--help"],
        ["find", "-h", "x"],
        ["find", "x", "--limit", "0"],
        ["find", "x", "--limit", "-1"],
        ["find", "x", "--limit", "2.5"],
        ["find", "x", "--limit"],
        ["find", "x", "--limit", "3", "--limit", "4"],
        ["find", "x", "--json=yes"],
        ["find", "--", "-x"],
        ["find", "-x"],
        ["find", "x", "--nope"],
        ["contact", "list", "--tag"],
        ["contact", "list", "--tag", "--json"],
        ["contact", "list", "extra"],
        ["contact", "show"],
        ["contact", "show", "1", "--limit", "3"],
        ["contact", "add", "Ana"],
        ["contact"],
        ["today", "extra"],
        ["today", "--json=yes"],
        ["today", "--limit", "3"],
        ["today", "--help"],
        ["--version"],
        ["--db"],
        ["--db", "", "find", "x"],
        ["--db=", "find", "x"],
        ["--dbx", "y", "find", "x"],
        ["--help"],
        [],
    ],
    ids=lambda argv: " ".join(argv) or "(nothing)",
)
def test_anything_else_goes_to_the_typer_app(argv: list[str]) -> None:
    assert parse(argv, environ={}) is None
    if argv[:1] != ["--db"] and argv[:1] != ["--dbx"]:
        assert parse(["--db", "crm.db", *argv], environ={}) is None


def test_shell_completion_goes_to_the_typer_app() -> None:
    assert parse(["find", "x"], environ={}) is not None
    assert parse(["find", "x"], environ={"_PYCRM_COMPLETE": "bash_complete"}) is None


def test_what_the_quick_path_accepts_matches_the_typer_commands() -> None:
    from pycrm.cli.root import app

    root = typer.main.get_command(app)
    [db] = [p for p in root.params if "--db" in p.opts]
    assert (db.opts, db.envvar, db.default) == (["--db"], "PYCRM_DB", None)
    for path, (function, wanted, flags) in QUICK_COMMANDS.items():
        command: Any = root
        for name in path:
            command = command.get_command(click_context(command), name)
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        options = [p for p in command.params if p.param_type_name == "option"]
        assert tuple(p.name for p in arguments) == wanted, path
        assert all(p.required for p in arguments), path
        assert {o for p in options for o in p.opts if o.startswith("--")} == set(flags), path
        defaults = inspect.signature(function).parameters
        for option in options:
            [flag] = [o for o in option.opts if o.startswith("--")]
            name, kind = flags[flag]
            assert option.name == name, (path, flag)
            assert option.default == defaults[name].default, (path, flag)
            assert not option.multiple and not option.envvar, (path, flag)
            if kind == "flag":
                assert option.is_flag and not option.secondary_opts, (path, flag)
            elif kind == "count":
                kind_of = (type(option.type).__name__, option.type.min, option.type.min_open)
                assert kind_of == ("IntRange", 1, False), (path, flag)
            else:
                assert type(option.type).__name__ == "StringParamType", (path, flag)
        assert not any(o for p in options for o in p.opts if not o.startswith("--")), path
