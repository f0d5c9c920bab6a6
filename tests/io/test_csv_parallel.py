"""Validation in forked worker processes gives exactly what the in-process path gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from pycrm.db import Database
from pycrm.io import csv_import
from pycrm.io.csv_import import ImportError_, apply_import, plan_import
from pycrm.services import changelog, contacts

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def write_csv(path: Path, rows: int, *, bad: set[int] = frozenset(), tail: str = "") -> Path:  # type: ignore[assignment]
    lines = ["Name,E-mail,Phone,Company,Labels,Shoe"]
    for i in range(rows):
        email = "not-an-email" if i + 2 in bad else f"p{i % 37}@ex.org"  # repeats: in-file dupes
        lines.append(f"Person {i},{email},+55 11 9{i:04d}-{i % 9999:04d},Company {i % 7},vip,{i}")
        if i == 5:
            lines.append("")  # a blank line: not a row
    path.write_text("\n".join(lines) + "\n" + tail, encoding="utf-8")
    return path


def summary(plan: csv_import.Plan) -> tuple[object, ...]:
    return (
        plan.rows, plan.create, plan.skipped, plan.new_companies,
        [(p.line, p.column, p.reason, p.row) for p in plan.rejected],
    )  # fmt: skip


@pytest.mark.parametrize("chunk", [3, 7, 1000])
def test_parallel_plan_equals_the_in_process_plan(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", chunk)
    path = write_csv(tmp_path / "people.csv", 60, bad={9, 40})
    with sqlite_db.read() as s:
        serial = plan_import(s, path)
    monkeypatch.setattr(csv_import, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    with sqlite_db.read() as s:
        parallel = plan_import(s, path)
    assert summary(parallel) == summary(serial)
    assert [p.line for p in parallel.rejected] == [10, 41]  # line numbers count the blank line
    serial.close()
    with sqlite_db.write("import", source="import") as s:
        counts = apply_import(s, parallel)
        batch = s.info["batch_id"]
    assert counts["created"] == 37
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 37
        shoe = s.execute(sa.text("SELECT custom_fields FROM contact ORDER BY id LIMIT 1")).scalar()
        assert shoe == '{"Shoe": "0"}'
    with sqlite_db.write("revert") as s:
        changelog.revert_batch(s, batch)
    with sqlite_db.read() as s:
        assert contacts.count_contacts(s) == 0


def test_a_broken_file_in_a_worker_is_one_line_and_nothing_is_left_running(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 4)
    monkeypatch.setattr(csv_import, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    path = write_csv(tmp_path / "broken.csv", 30, tail='Late,"never closed\n')
    with sqlite_db.read() as s, pytest.raises(ImportError_) as caught:
        plan_import(s, path)
    assert "a quoted field is never closed" in str(caught.value)
    assert str(caught.value).startswith(f"{path}:")
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every worker was reaped
