"""The Reports screen (key 6): a report with its chart, and the report selector."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Select, Static

from pycrm.db import open_database
from pycrm.demo import seed_demo
from pycrm.tui.app import create_app


def text_of(widget: Static) -> str:
    """What a Static shows, as plain text."""
    from rich.console import Console

    console = Console(width=120, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


def test_key_6_shows_reports_and_switches_report(tmp_path: Path) -> None:
    database = open_database(str(tmp_path / "crm.db"))
    seed_demo(database, contacts=60)

    async def scenario() -> None:
        app = create_app(database)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("6")
            await app.workers.wait_for_complete()
            await pilot.pause()
            status = text_of(app.screen.query_one("#reports-status", Static))
            assert "Pipeline" in status
            tables = text_of(app.screen.query_one("#reports-tables", Static))
            assert "Deals by stage" in tables
            app.screen.query_one("#report-choice", Select).value = "winrate"
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "Winrate" in text_of(app.screen.query_one("#reports-status", Static))
            assert "Loss reasons" in text_of(app.screen.query_one("#reports-tables", Static))
            # The period selector: all time, then the last 30 days (a dated period).
            app.screen.query_one("#period-choice", Select).value = 0
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "all time" in text_of(app.screen.query_one("#reports-status", Static))
            app.screen.query_one("#period-choice", Select).value = 30
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            status = text_of(app.screen.query_one("#reports-status", Static))
            assert "Winrate" in status and "→ now" in status

    asyncio.run(scenario())
