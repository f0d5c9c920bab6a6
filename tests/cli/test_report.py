"""`pycrm report …` as a user runs it: formats, exit codes, charts."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from pycrm.db import open_database
from pycrm.demo import seed_demo


def test_every_report_in_every_format(cli, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed_demo(open_database(str(db_path)), contacts=80)
    for name in ("pipeline", "forecast", "winrate", "activity", "customers", "sources"):
        table = cli("report", name)
        assert table.code == 0, table.err
        data = cli("report", name, "--format", "json").json()
        assert data["report"] == name and isinstance(data["sections"], list)
        rows = list(csv.reader(io.StringIO(cli("report", name, "--format", "csv").out)))
        assert rows[0][0] == "section"
        md = cli("report", name, "--format", "md").out
        assert md.startswith(f"# {name.capitalize()} report")
    chart = cli("report", "pipeline", "--chart")
    assert chart.code == 0 and "Deals by stage" in chart.out and "\x1b[" not in chart.out
    money = json.loads(cli("report", "pipeline", "--format", "json").out)["sections"][1]["rows"]
    assert all("." in row["total"] for row in money)  # exact decimal strings


def test_bad_arguments_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    unknown = cli("report", "nonsense")
    assert unknown.code == 2 and len(unknown.err.strip().splitlines()) == 1
    assert "nonsense" in unknown.err
    assert cli("report", "pipeline", "--format", "xml").code == 2
    assert cli("report", "winrate", "--from", "someday").code == 2
    assert cli("report", "customers", "--segment", "Royalty").code == 2


def test_empty_database_is_a_clear_empty_report(cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("report", "winrate")
    assert res.code == 0 and "nothing to report" in res.err


def test_unknown_currency_exits_2_and_currency_filters(cli, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli("report", "pipeline", "--currency", "XYZ")
    assert res.code == 2 and "XYZ" in res.err and len(res.err.strip().splitlines()) == 1
    seed_demo(open_database(str(db_path)), contacts=80)
    data = cli("report", "pipeline", "--format", "json", "--currency", "eur").json()
    totals = data["sections"][1]["rows"]
    assert totals and {row["currency"] for row in totals} == {"EUR"}
    assert set(data["summary"]["open_value"]) == {"EUR"}


def test_period_with_no_data_is_empty_exit_0(cli, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed_demo(open_database(str(db_path)), contacts=40)
    res = cli("report", "winrate", "--from", "1990-01-01", "--to", "1990-02-01")
    assert res.code == 0 and "nothing to report" in res.err
    data = cli(
        "report", "winrate", "--from", "1990-01-01", "--to", "1990-02-01", "--format", "json"
    )
    assert data.json()["summary"]["won"] == 0
