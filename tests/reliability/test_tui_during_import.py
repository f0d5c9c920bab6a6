"""The app stays usable on a file another process is importing into, and shows the rows after `r`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from textual.widgets import Static

from pycrm.db import open_database
from pycrm.tui.app import create_app
from tests.reliability.test_faults import ROWS, WRITER
from tests.tui.tui_helpers import settle, shown


def test_app_keeps_working_during_an_import_and_refreshes(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    database = open_database(str(db))
    from pycrm.services import contacts

    with database.write("seed") as session:
        contacts.create_contact(session, "Already Here")
    ready = tmp_path / "ready"

    async def scenario() -> None:
        app = create_app(database)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2")
            await settle(pilot)
            status = app.screen.query_one("#contacts-status", Static)
            assert "of 1" in shown(status)
            writer = subprocess.Popen(
                [sys.executable, str(WRITER), str(db), str(ROWS), "--ready", str(ready)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            # While the other process imports, the app keeps answering keys and reading.
            while writer.poll() is None:
                await pilot.press("r")
                await settle(pilot)
                assert app.screen.query_one("#contacts-status", Static) is status
                await pilot.pause(0.2)
            assert writer.returncode == 0
            await pilot.press("r")
            await settle(pilot)
            assert f"of {ROWS + 1:,}" in shown(app.screen.query_one("#contacts-status", Static))

    asyncio.run(scenario())
    database.close()
