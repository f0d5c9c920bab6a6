"""Fuzzing the CSV importer: thousands of generated files, only the import error type escapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pycrm.db import Database, open_database
from pycrm.io.csv_import import ImportError_, plan_import
from pycrm.services.errors import ValidationError

_db: dict[str, Database] = {}


def database(folder: Path) -> Database:
    if "db" not in _db:
        _db["db"] = open_database(str(folder / "fuzz.db"))
    return _db["db"]


cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
headers = st.lists(
    st.sampled_from(["Name", "E-mail", "Telefone", "Empresa", "Birthday", "Labels", "Notes", "x"]),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.binary(max_size=400))
def test_random_bytes(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    folder = tmp_path_factory.getbasetemp()
    path = folder / "fuzz-bytes.csv"
    path.write_bytes(content)
    with database(folder).read() as session:
        try:
            plan = plan_import(session, path)
        except (ImportError_, ValidationError):
            return
    # every row is accounted for: created, updated, skipped or rejected
    assert plan.rows == len(plan.create) + len(plan.update) + len(plan.skipped) + len(plan.rejected)


@settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    headers,
    st.lists(st.lists(cells, max_size=7), max_size=5),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["utf-8", "cp1252", "utf-16"]),
)
def test_csv_shaped_text(
    tmp_path_factory: pytest.TempPathFactory,
    head: list[str],
    rows: list[list[str]],
    sep: str,
    encoding: str,
) -> None:
    folder = tmp_path_factory.getbasetemp()
    path = folder / "fuzz-text.csv"
    lines = [sep.join(head)] + [
        sep.join(f'"{c}"' if '"' not in c else c for c in row) for row in rows
    ]
    try:
        path.write_bytes("\r\n".join(lines).encode(encoding))
    except UnicodeEncodeError:
        return
    with database(folder).read() as session:
        try:
            plan = plan_import(session, path)
        except (ImportError_, ValidationError):
            return
    assert plan.rows == len(plan.create) + len(plan.update) + len(plan.skipped) + len(plan.rejected)
