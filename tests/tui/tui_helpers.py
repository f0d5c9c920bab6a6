"""Helpers shared by the app's Pilot and snapshot tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from textual.widgets import OptionList, Static

FIXED_NOW = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
SIZE = (100, 30)


async def settle(pilot: Any) -> None:
    """Let workers finish and their results reach the widgets (no sleeping)."""
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def shown(widget: Any) -> str:
    """The plain text a widget shows."""
    if isinstance(widget, OptionList) or hasattr(widget, "get_option_at_index"):
        return "\n".join(
            str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count)
        )
    if isinstance(widget, Static):
        visual = widget.visual
        return str(getattr(visual, "plain", visual))
    raise TypeError(widget)


def drive(
    app: Any, scenario: Callable[[Any], Awaitable[None]], size: tuple[int, int] = SIZE
) -> None:
    """Run the app headless at ``size`` and play ``scenario`` with a Pilot."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await scenario(pilot)

    asyncio.run(main())
