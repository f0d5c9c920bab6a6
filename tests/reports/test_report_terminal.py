"""`pycrm report` as a process: a terminal gets the first rows of a long section, piped output all."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pycrm.cli import report as report_cli
from pycrm.cli.app import app
from pycrm.db import open_database
from pycrm.demo import seed_demo


@pytest.fixture
def demo_file(db_path: Path) -> Path:
    database = open_database(str(db_path))
    seed_demo(database, contacts=80)
    database.close()
    return db_path


def _run(db_path: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--db", str(db_path), "report", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_terminal_shows_the_first_rows_and_counts_the_rest(
    demo_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    piped = _run(demo_file, "customers").splitlines()
    header = piped.index("id\tname\tcurrency\tlifetime value\tpurchases\taverage deal\t"
                         "first purchase\tlast purchase\tpreferred channel\tR\tF\tM\tsegment")  # fmt: skip
    customers = [row for row in piped[header + 1 :] if row][: piped[header + 1 :].index("")]
    assert len(customers) > 3 and not any("more rows" in row for row in piped)

    monkeypatch.setattr("pycrm.cli.output.stdout_is_tty", lambda: True)
    monkeypatch.setattr(report_cli, "TERMINAL_ROWS", 3)
    monkeypatch.setenv("COLUMNS", "300")  # no wrapped names
    shown = _run(demo_file, "customers")
    first_three = [row.split("\t")[1] for row in customers[:3]]
    assert all(name in shown for name in first_three)
    assert customers[3].split("\t")[1] not in shown.split("Segments")[0]
    more = len(customers) - 3
    assert f"… and {more:,} more rows: use --limit N, --format csv|json|md" in shown


def test_report_command_leaves_the_cycle_collector_as_it_found_it(demo_file: Path) -> None:
    """The command pauses gc while it runs; a host process (tests, the app) gets it back."""
    import gc

    assert gc.isenabled()
    _run(demo_file, "pipeline", "--format", "json")
    _run(demo_file, "customers", "--limit", "3")
    assert gc.isenabled()
