"""Time of each report on the 100,000-contact demo database, against a raw sqlite3 GROUP BY.

Runs every report function (pycrm.reports) in-process on a Core connection, as the CLI does
(median of several runs, after one warm-up), and as a baseline in the same run a bare
``sqlite3`` GROUP BY over deals and over interactions. Then the figure that counts: the wall
time of ``pycrm --db DB report NAME --format json`` (a fresh process: imports, opening the
file, a cold cache, the output), beside ``python -c "import sqlalchemy, typer"`` measured in the
same run, the floor any command pays. Target: each report ≤ 1 s.

    python bench/bench_reports.py [--db PATH] [--contacts 100000] [--runs 5] [--cli-runs 3]

The database is built once with the demo generator (~80 s at 100k) and cached under bench/out/.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
TARGET_SECONDS = 1.0
NOW = datetime(2026, 11, 20, 13, tzinfo=UTC)


def build(path: Path, contacts: int) -> None:
    """Create the demo database at ``path`` (once; takes a while at 100k)."""
    from pycrm.db import open_database
    from pycrm.demo import seed_demo

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    print(f"creating {path} with {contacts:,} contacts (once)…", flush=True)
    started = time.perf_counter()
    database = open_database(str(partial))
    seed_demo(database, contacts=contacts, seed=7, now=NOW)
    database.close()
    partial.rename(path)
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)


def timed(fn: Callable[[], object], runs: int) -> float:
    """Median seconds of ``fn()`` after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cli-runs", type=int, default=3, help="0 skips the CLI wall times")
    args = parser.parse_args()
    path = args.db or OUT / f"demo-{args.contacts}.db"
    if not path.exists():
        build(path, args.contacts)

    from pycrm.db import open_database
    from pycrm.reports import Period, run_report

    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    counts = {
        t: raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("contact", "deal", "interaction")
    }
    print(f"database: {path} ({path.stat().st_size / 1e6:.0f} MB) {counts}")
    baselines = {
        "sqlite3 deals GROUP BY stage, currency": (
            "SELECT stage_id, currency, count(*), sum(amount) FROM deal GROUP BY stage_id, currency"
        ),
        "sqlite3 interactions GROUP BY week, type": (
            "SELECT date(occurred_at, 'weekday 0', '-6 days') AS w, type, count(*)"
            " FROM interaction GROUP BY w, type"
        ),
    }
    base = {}
    for name, sql in baselines.items():

        def query(sql: str = sql) -> object:
            return raw.execute(sql).fetchall()

        base[name] = timed(query, args.runs)
        print(f"  {name:<42} {base[name] * 1000:7.0f} ms")
    raw.close()
    floor = max(base.values())

    database = open_database(str(path))
    year = Period(datetime(2025, 11, 20, tzinfo=UTC), NOW)
    cases: dict[str, tuple[str, Period, dict[str, object]]] = {
        "pipeline": ("pipeline", Period(), {"now": NOW}),
        "forecast": ("forecast", Period(), {"now": NOW}),
        "winrate (all time)": ("winrate", Period(), {}),
        "activity (last 12 months)": ("activity", year, {"now": NOW}),
        "activity (all time)": ("activity", Period(), {"now": NOW}),
        "customers --by contact": ("customers", Period(), {"now": NOW}),
        "customers --by company": ("customers", Period(), {"now": NOW, "by": "company"}),
        "sources": ("sources", Period(), {}),
    }
    print(f"  {'report':<42} {'ms':>7}  {'× baseline':>10}  target")
    worst = 0.0
    for label, (name, period, options) in cases.items():

        def once(name: str = name, period: Period = period, options: dict = options) -> None:  # type: ignore[type-arg]
            with database.connect() as connection:
                connection.exec_driver_sql("PRAGMA mmap_size=1073741824")  # as the CLI reads
                run_report(connection, name, period, **options)

        took = timed(once, args.runs)
        worst = max(worst, took)
        verdict = "ok" if took <= TARGET_SECONDS else "SLOW"
        print(f"  {label:<42} {took * 1000:7.0f}  {took / floor:10.1f}  {verdict}")
    database.close()
    print(f"slowest in-process: {worst * 1000:.0f} ms (target ≤ {TARGET_SECONDS * 1000:.0f} ms)")
    if args.cli_runs:
        cli_walls(path, args.cli_runs)


def wall(command: list[str], runs: int) -> float:
    """Median wall seconds of a fresh process running ``command`` (output discarded)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cli_walls(path: Path, runs: int) -> None:
    """``pycrm report NAME`` as a person runs it, against the cost of importing its libraries."""
    bare = wall([sys.executable, "-c", "import sqlalchemy"], runs)
    label = 'python -c "import sqlalchemy"'
    print(f"  {label:<42} {bare * 1000:7.0f} ms")
    floor = wall([sys.executable, "-c", "import sqlalchemy, typer"], runs)
    label = 'python -c "import sqlalchemy, typer"'
    print(f"  {label:<42} {floor * 1000:7.0f} ms  (floor)")
    print(f"  {'pycrm report NAME --format json':<42} {'ms':>7}  {'− floor':>8}  target")
    for name in ("pipeline", "forecast", "winrate", "activity", "customers", "sources"):
        command = [sys.executable, "-m", "pycrm", "--db", str(path), "report", name]
        took = wall([*command, "--format", "json"], runs)
        verdict = "ok" if took <= TARGET_SECONDS else "SLOW"
        print(f"  {name:<42} {took * 1000:7.0f}  {(took - floor) * 1000:8.0f}  {verdict}")


if __name__ == "__main__":
    main()
