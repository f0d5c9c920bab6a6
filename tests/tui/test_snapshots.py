"""SVG snapshots of each screen on the fixed demo data, at a fixed date and size."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input
from tui_helpers import FIXED_NOW, SIZE, settle

from pycrm.db import Database
from pycrm.tui.app import create_app


def _before(*keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        # Today draws a first look, then the full agenda: wait for the full one.
        while not getattr(pilot.app.screen, "complete", True):
            await pilot.pause()
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        for widget in pilot.app.screen.query(Input):
            widget.cursor_blink = False
        await pilot.pause()

    return run_before


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("today", ()),
        ("contacts", ("2",)),
        ("dossier", ("2", "down", "enter")),
        ("pipeline", ("3",)),
        ("followups", ("4",)),
        ("calendar", ("5",)),
        ("log_form", ("2", "enter", "l")),
    ],
)
def test_screen_snapshot(
    name: str, keys: tuple[str, ...], demo_db: Database, snap_compare: Any
) -> None:
    app = create_app(demo_db, now=FIXED_NOW)
    assert snap_compare(app, terminal_size=SIZE, run_before=_before(*keys))


def test_contacts_at_80x24(demo_db: Database, snap_compare: Any) -> None:
    app = create_app(demo_db, now=FIXED_NOW)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_before("2"))
