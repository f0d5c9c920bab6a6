"""Benchmark the full-screen app on a large database, against a bare Textual app in the same run.

Measures: start to Today's frame painted and to its first part of the agenda drawn; switch to
Contacts with rows shown; each search keystroke to the table updated; the Pipeline board opening.
Targets: Today ≤ 1.0 s, Contacts ≤ 1.5 s after start, keystroke ≤ 100 ms, pipeline ≤ 1.0 s.

    python bench/bench_tui.py [--db PATH] [--contacts 100000]

Wall times are what a person waits; the CPU column (all threads of the process) is steadier when
the machine is shared, so compare runs by it too. `uptime` tells how busy the machine was.

The database is created with the demo generator when PATH does not exist (takes a while once).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SIZE = (120, 40)


async def _until(pilot: Any, condition: Any, timeout: float = 30.0) -> None:
    """Pump the app until ``condition()`` holds (no fixed sleeps)."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.001)


async def bare_app_seconds() -> float:
    """Baseline: a bare Textual app with one Static, started until drawn."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("hello")

    start = time.perf_counter()
    async with Bare().run_test(size=SIZE) as pilot:
        await pilot.pause()
        took = time.perf_counter() - start
    return took


async def bare_keystroke_seconds() -> float:
    """Baseline for a keystroke: a bare app with an Input and a 50-row DataTable, one key press."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Input

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Input()
            yield DataTable()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            for c in range(8):
                table.add_column(f"c{c}", width=14)
            for r in range(50):
                table.add_row(*[f"cell {r} {c}" for c in range(8)])

    times = []
    async with Bare().run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(7):
            start = time.perf_counter()
            await pilot.press("a")
            times.append(time.perf_counter() - start)
    return statistics.median(times)


async def measure(db: str) -> dict[str, Any]:
    """Run the app through the measured steps."""
    from textual.widgets import DataTable, Input, OptionList

    from pycrm.db import open_database
    from pycrm.tui.app import create_app
    from pycrm.tui.screens.contacts import ContactsScreen
    from pycrm.tui.screens.pipeline import PipelineScreen, StageCards

    out: dict[str, Any] = {}
    cpu: dict[str, float] = {}
    out["cpu"] = cpu  # process CPU seconds (all threads) of each step: steadier on a busy box
    start = time.perf_counter()
    c0 = time.process_time()
    database = open_database(db)
    app = create_app(database)
    async with app.run_test(size=SIZE) as pilot:

        def today_framed() -> bool:
            lists = app.screen.query("#today-list")
            return bool(lists) and lists.first(OptionList).option_count > 0

        def today_drawn() -> bool:
            # The first part of the agenda on screen (not only the frame of headings).
            return today_framed() and getattr(app.screen, "drawn_parts", 1) > 0

        await _until(pilot, today_framed)
        out["today_frame"] = time.perf_counter() - start
        cpu["today_frame"] = time.process_time() - c0
        await _until(pilot, today_drawn)
        out["today"] = time.perf_counter() - start
        cpu["today"] = time.process_time() - c0
        today_screen = app.screen
        await _until(pilot, lambda: getattr(today_screen, "complete", False))
        await pilot.pause()
        out["today_complete"] = time.perf_counter() - start
        cpu["today_complete"] = time.process_time() - c0

        t0 = time.perf_counter()
        c0 = time.process_time()
        await pilot.press("2")

        def contacts_drawn() -> bool:
            screen = app.screen
            return isinstance(screen, ContactsScreen) and screen.query_one(DataTable).row_count > 0

        await _until(pilot, contacts_drawn)
        out["contacts_switch"] = time.perf_counter() - t0
        cpu["contacts_switch"] = time.process_time() - c0
        screen = app.screen
        assert isinstance(screen, ContactsScreen)
        out["contacts_total"] = screen.page_total
        out["rows_in_widget"] = screen.query_one(DataTable).row_count

        from pycrm.tui import data

        await pilot.press("slash")
        search = screen.query_one("#contact-search", Input)
        keystrokes = []
        c0 = time.process_time()
        for char in "maria s" if data.search_available() else "":
            t0 = time.perf_counter()
            before = screen.generation
            await pilot.press("space" if char == " " else char)
            target = before + 1
            await _until(
                pilot,
                lambda t=target: screen.generation == t and screen.shown_generation == t,
            )
            keystrokes.append(time.perf_counter() - t0)
        out["keystrokes"] = keystrokes
        cpu["keystroke"] = (time.process_time() - c0) / max(1, len(keystrokes))
        out["latencies"] = list(screen.search_latencies)
        out["search_rows"] = screen.query_one(DataTable).row_count
        out["search_text"] = search.value
        await pilot.press("escape")

        t0 = time.perf_counter()
        c0 = time.process_time()
        await pilot.press("3")

        def board_drawn() -> bool:
            s = app.screen
            return (
                isinstance(s, PipelineScreen) and s.board is not None and bool(s.query(StageCards))
            )

        await _until(pilot, board_drawn)
        await pilot.pause()
        out["pipeline"] = time.perf_counter() - t0
        cpu["pipeline"] = time.process_time() - c0
        board = app.screen.board  # type: ignore[attr-defined]
        out["deals"] = sum(c.count for c in board.columns)
        await pilot.press("q")
    database.close()

    # Second run: go to Contacts as soon as Today is first drawn (the agenda still loading).
    start = time.perf_counter()
    database = open_database(db)
    app = create_app(database)
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, today_drawn)
        await pilot.press("2")
        await _until(pilot, contacts_drawn)
        out["contacts_after_start"] = time.perf_counter() - start
        await pilot.press("q")
    database.close()
    return out


def ensure_database(path: Path, contacts: int) -> None:
    """Create the big demo database once."""
    if path.exists():
        return
    from pycrm.db import open_database
    from pycrm.demo import seed_demo

    print(f"creating {path} with {contacts:,} contacts (once)…", flush=True)
    database = open_database(str(path))
    seed_demo(database, contacts=contacts, seed=7, now=datetime(2026, 11, 20, 13, tzinfo=UTC))
    database.close()


def main() -> None:
    """Print each figure and its ratio to the bare-app baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="/tmp/pycrm-bench-100k.db")
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    ensure_database(Path(args.db), args.contacts)

    baseline = asyncio.run(bare_app_seconds())
    key_baseline = asyncio.run(bare_keystroke_seconds())
    r = asyncio.run(measure(args.db))
    keys = r["keystrokes"] or [float("nan")]

    cpu = r["cpu"]

    def row(label: str, seconds: float, target: float, step: str = "") -> None:
        verdict = "ok" if seconds <= target else "OVER TARGET"
        used = f"  CPU {cpu[step] * 1000:5.0f} ms" if step in cpu else ""
        print(
            f"{label:<44} {seconds * 1000:6.0f} ms  {seconds / baseline:6.1f}x baseline"
            f"  (target {target * 1000:.0f} ms: {verdict}){used}"
        )

    print(f"database: {args.db}: {r['contacts_total']:,} contacts, {r['deals']:,} deals")
    print(f"{'baseline: bare Textual app drawn':<44} {baseline * 1000:6.0f} ms")
    row("start → Today frame (headings, loading…)", r["today_frame"], 1.0, "today_frame")
    row("start → Today drawn (first part shown)", r["today"], 1.0, "today")
    row("start → Today complete (full agenda)", r["today_complete"], 1.0, "today_complete")
    row("switch to Contacts, rows shown", r["contacts_switch"], 1.5, "contacts_switch")
    row("start → Contacts rows (2 pressed at once)", r["contacts_after_start"], 1.5)
    latencies = r["latencies"] or [float("nan")]
    for label, values in (
        ("keystroke → rows painted, in-app (median)", latencies),
        ("keystroke incl. Pilot round trip (median)", keys),
    ):
        median = statistics.median(values)
        print(
            f"{label:<44} {median * 1000:6.0f} ms  worst {max(values) * 1000:4.0f} ms  "
            f"{median / key_baseline:4.1f}x a bare key press ({key_baseline * 1000:.0f} ms)"
        )
    print(f"{'':<44} (target 100 ms for the in-app figure)")
    if "keystroke" in cpu:
        print(f"{'CPU per keystroke (all threads)':<44} {cpu['keystroke'] * 1000:6.0f} ms")
    row("Pipeline board opened", r["pipeline"], 1.0, "pipeline")
    print(f"rows in the table widget: {r['rows_in_widget']} (paged, never all)")
    print(f"search {r['search_text']!r}: {r['search_rows']} rows")


if __name__ == "__main__":
    main()
