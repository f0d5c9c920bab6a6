"""Today: meetings, overdue and due follow-ups, deals closing soon, people going cold."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from pycrm.tui import data
from pycrm.tui.screens.base import BaseScreen
from pycrm.tui.widgets.fast_options import FastOptionList
from pycrm.tui.widgets.footer import QuietFooter

# Parts of the agenda that arrive within this many seconds of each other are drawn once.
DRAW_COALESCE = 0.02
# Seconds after the full agenda is drawn before the models are imported in the background.
WARM_UP_AFTER = 0.25


class TodayScreen(BaseScreen):
    """The start screen: the day at a glance; Enter opens the line's record."""

    BINDINGS = [
        Binding("a", "add", "Add follow-up", id="today.add", tooltip="Add a follow-up"),
    ]

    complete = False
    drawn_parts = 0  # how many parts of the agenda the list shows (0: only the frame)

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.parts: dict[str, dict[str, Any]] = {}
        self._draw_pending = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Today", id="today-title", classes="screen-title")
        yield FastOptionList(id="today-list")
        yield QuietFooter()

    def reload(self) -> None:
        """Read every part of the agenda at once, each in its own worker; draw as they arrive."""
        self.generation += 1
        self.parts = {}
        self.complete = False
        # The first time, the app has been reading the agenda since it was created.
        prefetch = self.crm.claim_prefetch()
        now = prefetch.now if prefetch is not None else self.crm.now()
        for part in data.TODAY_PARTS:
            future = prefetch.futures[part] if prefetch is not None else None
            self.load_part(part, now, self.generation, future)
        if not self.query_one("#today-list", OptionList).option_count:
            # The first time: the day's frame (every heading, "loading…") in the first paint,
            # so the screen is whole at once and fills in as the parts arrive.
            self.show(data.today_from_parts({}), now)

    @work(thread=True, exit_on_error=False, group="today")
    def load_part(
        self, part: str, now: datetime, generation: int, future: Future[Any] | None = None
    ) -> None:
        """Read one part of the agenda in a thread (or wait for the prefetch reading it)."""
        try:
            if future is not None:
                values = future.result()
            else:
                values = data.today_part(self.crm.database, part, now)
        except Exception as exc:  # the other parts still show; say what failed
            self.app.call_from_thread(self.part_failed, part, exc, generation)
            return
        self.app.call_from_thread(self.part_loaded, part, values, generation)

    def part_loaded(self, part: str, values: dict[str, Any], generation: int) -> None:
        """Keep a part; draw soon (parts arriving together are drawn once)."""
        if generation != self.generation:
            return  # the answer to an older reload
        self.parts[part] = values
        if not self._draw_pending:
            self._draw_pending = True
            self.set_timer(DRAW_COALESCE, self._draw_parts)

    def _draw_parts(self) -> None:
        self._draw_pending = False
        if self.is_attached and self not in self.app.screen_stack:
            # Another screen is shown (the user moved on while the agenda loaded): drawing now
            # would only take time from it, and coming back reloads the agenda anyway.
            return
        self.show(data.today_from_parts(self.parts), self.crm.now())
        self.drawn_parts = len(self.parts)
        self.complete = len(self.parts) == len(data.TODAY_PARTS)
        if self.complete:
            # A moment after the whole agenda is painted: importing the ORM holds the
            # interpreter lock for ~0.4 s, which would slow the painting of an agenda that does
            # not need it (started with the last part still to come, it held the full agenda
            # back by ~0.5 s at 100k contacts). The user reads Today meanwhile, and the next
            # screen they open finds the models loaded.
            self.set_timer(WARM_UP_AFTER, self.crm.warm_up)

    def part_failed(self, part: str, error: Exception, generation: int) -> None:
        """A part could not be read: the rest of the agenda stays usable."""
        if generation != self.generation:
            return
        self.notify(f"Today: could not read {part}: {error}", severity="error", markup=False)
        self.part_loaded(part, {}, generation)

    def show(self, sections: list[data.TodaySection], now: object) -> None:
        """Draw the sections."""
        self.query_one("#today-title", Static).update(
            Text(f"Today — {data.today_date(self.crm.now()):%A %d %B %Y}")
        )
        options = self.query_one("#today-list", OptionList)
        highlighted = options.highlighted
        keep_id = None
        if highlighted is not None and highlighted < options.option_count:
            # The cursor follows its line as sections above fill in, unless it sits on the first
            # line (where it stays: the most urgent line first).
            first = next(
                (
                    i
                    for i in range(options.option_count)
                    if not options.get_option_at_index(i).disabled
                ),
                None,
            )
            if highlighted != first:
                keep_id = options.get_option_at_index(highlighted).id
        options.clear_options()
        items: list[Option] = []
        for n, section in enumerate(sections):
            items.append(Option(Text(section.title, style="bold"), id=f"h{n}", disabled=True))
            if not section.lines and not section.loading:
                items.append(Option(Text("  nothing", style="dim"), id=f"e{n}", disabled=True))
            for i, line in enumerate(section.lines):
                items.append(Option(Text("  " + line.text), id=f"{line.target}#{n}.{i}"))
        options.add_options(items)
        ids = [item.id for item in items]
        if keep_id is not None and keep_id in ids and not keep_id.startswith(("h", "e")):
            options.highlighted = ids.index(keep_id)  # the same line, wherever it moved to
        elif keep_id is not None and highlighted is not None and highlighted < len(items):
            options.highlighted = highlighted  # its line went: the one now in its place
        else:
            options.action_first()

    @on(OptionList.OptionSelected, "#today-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        target = (event.option.id or "").split("#")[0]
        self.crm.open_target(target)

    def action_add(self) -> None:
        """Add a follow-up."""
        self.crm.open_form("followup")
