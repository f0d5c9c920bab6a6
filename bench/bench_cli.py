"""Wall time of quick CLI commands on a 100,000-contact database, against bare Python in the same run.

Measures `pycrm find`, `pycrm contact list --limit 50`, `pycrm contact show 1` and `pycrm today`
(each a fresh process, output piped, median of several runs) and, as baselines measured in the
same run, `python -c pass` and `python -c "import sqlalchemy"`. Target: each command ≤ 500 ms.

    python bench/bench_cli.py [--db PATH] [--contacts 100000] [--runs 7]

The database is built once with the demo generator and cached under bench/out/. On
bench/out/demo-100000-history.db contact 1 has ~1,000 interactions (the busy-person case of
`contact show`). Besides the wall time, the CPU time (user + system) of each process is shown:
on a machine shared with other benchmarks it varies less than the wall time.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
TARGET_SECONDS = 0.5


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
    seed_demo(database, contacts=contacts, seed=7, now=datetime(2026, 11, 20, 13, tzinfo=UTC))
    database.close()
    partial.rename(path)
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)


def wall(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU time of ``argv`` as a fresh process (stdout piped), after one warm-up
    run."""
    env = {**os.environ, "NO_COLOR": "1"}
    times, cpus = [], []
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, env=env, stdin=subprocess.DEVNULL)
        took = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[:500]}")
        if i:  # the first run warms the page cache
            times.append(took)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(times), statistics.median(cpus)


def main() -> None:
    """Print each command's wall time and its ratios to the baselines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="a SQLite file or a PostgreSQL URL")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    url = args.db if args.db and "://" in args.db else None  # a server database: used as it is
    path = Path(args.db) if args.db and not url else OUT / f"cli-{args.contacts}.db"
    if not url and not path.exists():
        build(path, args.contacts)

    py = sys.executable
    # Byte-compile pycrm first: with PYTHONDONTWRITEBYTECODE set (as on the shared machines) every
    # run would otherwise compile our modules from source, which no installed copy does.
    spec = importlib.util.find_spec("pycrm")
    if spec is not None and spec.origin is not None:
        subprocess.run([py, "-m", "compileall", "-q", str(Path(spec.origin).parent)], check=True)
    pycrm = [py, "-m", "pycrm", "--db", url or str(path)]
    baselines = {
        "python -c pass": [py, "-c", "pass"],
        'python -c "import sqlalchemy"': [py, "-c", "import sqlalchemy"],
    }
    commands = {
        "pycrm find silva": [*pycrm, "find", "silva"],
        "pycrm find gonsalves (typo)": [*pycrm, "find", "gonsalves"],
        "pycrm contact list --limit 50": [*pycrm, "contact", "list", "--limit", "50"],
        "pycrm contact show 1": [*pycrm, "contact", "show", "1"],
        "pycrm contact show 1 --json": [*pycrm, "contact", "show", "1", "--json"],
        "pycrm today": [*pycrm, "today"],
        "pycrm today --json": [*pycrm, "today", "--json"],
    }
    where = url.split("@")[-1] if url else f"{path} ({path.stat().st_size / 1e6:.0f} MB)"
    print(f"database: {where}, median of {args.runs} runs")
    base = {name: wall(argv, args.runs) for name, argv in baselines.items()}
    print(f"  {'':<34} {'wall ms':>7}  {'cpu ms':>6}")
    for name, (took, cpu) in base.items():
        print(f"  {name:<34} {took * 1000:7.0f}  {cpu * 1000:6.0f}")
    bare, sqla = base["python -c pass"][0], base['python -c "import sqlalchemy"'][0]
    print(
        f"  {'command':<34} {'wall ms':>7}  {'cpu ms':>6}  {'× bare':>7}  {'× sqlalchemy':>12}"
        "  target"
    )
    worst = 0.0
    for name, argv in commands.items():
        took, cpu = wall(argv, args.runs)
        worst = max(worst, took)
        verdict = "ok" if took <= TARGET_SECONDS else "SLOW"
        print(
            f"  {name:<34} {took * 1000:7.0f}  {cpu * 1000:6.0f}  {took / bare:7.1f}"
            f"  {took / sqla:12.2f}  {verdict}"
        )
    print(f"slowest: {worst * 1000:.0f} ms (target ≤ {TARGET_SECONDS * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
