"""`contact list`, `contact show` and `today` on a SQLite file answer through a plain sqlite3
connection: no models, no ORM, not even SQLAlchemy (issue 8, figure 3).

Importing pycrm.models (SQLModel, pydantic) and the ORM cost these commands most of a second, and
SQLAlchemy alone ~0.4 s of their 0.5 s budget, so this guards what they import, as a real
subprocess. Their output must not change: the JSON is
compared with what the ORM services give (the tables print the same fields, by unchanged code;
tests/services/test_views.py compares every view with its ORM counterpart in depth).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pycrm.db import Database, open_database
from tests.cli.conftest import Result

Run = Callable[..., Result]

PROBE = """
import json, sys
from pycrm.cli.app import main
sys.argv = ["pycrm", "--db", sys.argv[1], *sys.argv[2:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = ("pycrm.models", "sqlmodel", "pydantic", "sqlalchemy", "sqlalchemy.orm")
print(json.dumps({"code": code, "heavy": [m for m in heavy if m in sys.modules]}), file=sys.stderr)
"""


@pytest.fixture
def demo_path(db_path: Path) -> Path:
    """A small demo database around the real clock (so today has meetings and promises)."""
    from pycrm.demo import seed_demo

    database = open_database(str(db_path))
    seed_demo(database, contacts=80, seed=3)
    database.close()
    return db_path


def run_probe(db: Path, *args: str) -> tuple[str, dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(db), *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return proc.stdout, json.loads(proc.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ("contact", "list", "--limit", "50"),
        ("contact", "list", "--sort", "recent", "--tag", "vip", "--json"),
        ("contact", "list", "--sort", "value", "--company", "1"),
        ("contact", "show", "1"),
        ("contact", "show", "2", "--json"),
        ("today",),
        ("today", "--json"),
    ],
    ids=" ".join,
)
def test_quick_reads_import_neither_models_nor_orm(demo_path: Path, args: tuple[str, ...]) -> None:
    out, probe = run_probe(demo_path, *args)
    assert probe == {"code": 0, "heavy": []}
    assert out.strip()


def test_contact_show_not_found_and_ambiguous_keep_their_exit_codes(demo_path: Path) -> None:
    _, probe = run_probe(demo_path, "contact", "show", "999999")
    assert probe == {"code": 3, "heavy": []}
    _, probe = run_probe(demo_path, "contact", "show", "a")  # a prefix of many names
    assert probe == {"code": 2, "heavy": []}


@pytest.fixture
def book(sqlite_db: Database, db_path: Path) -> Database:
    from pycrm.demo import seed_demo

    seed_demo(sqlite_db, contacts=120, seed=11)
    return sqlite_db


def test_json_is_what_the_orm_services_give(book: Database, cli: Run) -> None:
    from pycrm.cli.serialize import contact_json, deal_json, interaction_json
    from pycrm.services import contacts, deals, interactions

    for sort in ("name", "recent", "value"):
        with book.read() as session:
            expected = [contact_json(p) for p in contacts.list_contacts(session, sort=sort)]
        got = cli("contact", "list", "--sort", sort, "--json")
        assert got.code == 0
        assert got.json() == _as_json(expected)
    with book.read() as session:
        busiest = max(
            (p for p in contacts.list_contacts(session)), key=lambda p: len(p.lifetime_value)
        ).contact
        assert busiest.id is not None
        [person] = contacts.summarize(session, [busiest])
        expected_show = contact_json(person)
        expected_show["deals"] = [
            deal_json(d) for d in deals.list_deals(session, contact_id=busiest.id)
        ]
        expected_show["interactions"] = [
            interaction_json(i, busiest.display_name)
            for i in interactions.list_interactions(session, contact_id=busiest.id, limit=10)
        ]
    shown = cli("contact", "show", str(busiest.id), "--json").json()
    for key in (*expected_show, "followups", "next_meetings"):
        assert key in shown
    assert {k: shown[k] for k in expected_show} == _as_json(expected_show)


def test_today_json_is_the_orm_agenda(
    book: Database, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pycrm import dates
    from pycrm.cli.serialize import agenda_json
    from tests.services.test_views import _orm_agenda

    now = (datetime.now().astimezone() + timedelta(hours=1)).replace(microsecond=0)
    monkeypatch.setattr(dates, "local_now", lambda: now)
    with book.read() as session:
        expected = agenda_json(_orm_agenda(session, now, 50))
    got = cli("today", "--json")
    assert got.code == 0
    assert got.json() == _as_json(expected)
    assert got.json()["meetings"] or got.json()["overdue"]


def _as_json(data: object) -> object:
    """What the CLI would print for ``data``, read back."""
    from pycrm.cli.output import json_default

    return json.loads(json.dumps(data, default=json_default, ensure_ascii=False))


def test_the_cycle_collector_is_restored_after_a_quick_read(book: Database, cli: Run) -> None:
    import gc

    for args in (("contact", "list", "--limit", "3"), ("contact", "show", "1"), ("today",)):
        assert cli(*args).code == 0
        assert gc.isenabled()
