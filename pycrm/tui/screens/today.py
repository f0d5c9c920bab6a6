"""Today: meetings, overdue and due follow-ups, deals closing soon, people going cold."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from pycrm.tui import data
from pycrm.tui.screens.base import BaseScreen


class TodayScreen(BaseScreen):
    """The start screen: the day at a glance; Enter opens the line's record."""

    BINDINGS = [
        Binding("a", "add", "Add follow-up", id="today.add", tooltip="Add a follow-up"),
    ]

    complete = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Today", id="today-title", classes="screen-title")
        yield OptionList(id="today-list")
        yield Footer()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self) -> None:
        """Read the agenda in a thread."""
        # A quick first look (cut lists) is drawn at once; the full agenda replaces it.
        now = self.crm.now()
        worker = get_current_worker()
        if not self.complete:
            quick = data.today_quick(self.crm.database, now)
            if worker.is_cancelled:
                return
            self.app.call_from_thread(self.show, quick, now)
        sections = data.today(self.crm.database, now)
        if worker.is_cancelled:
            return
        self.complete = True
        self.app.call_from_thread(self.show, sections, now)

    def show(self, sections: list[data.TodaySection], now: object) -> None:
        """Draw the sections."""
        self.query_one("#today-title", Static).update(
            Text(f"Today — {data.today_date(self.crm.now()):%A %d %B %Y}")
        )
        options = self.query_one("#today-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        items: list[Option] = []
        for n, section in enumerate(sections):
            items.append(Option(Text(section.title, style="bold"), id=f"h{n}", disabled=True))
            if not section.lines:
                items.append(Option(Text("  nothing", style="dim"), id=f"e{n}", disabled=True))
            for i, line in enumerate(section.lines):
                items.append(Option(Text("  " + line.text), id=f"{line.target}#{n}.{i}"))
        options.add_options(items)
        if highlighted is not None and highlighted < options.option_count:
            options.highlighted = highlighted
        else:
            options.action_first()

    @on(OptionList.OptionSelected, "#today-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        target = (event.option.id or "").split("#")[0]
        self.crm.open_target(target)

    def action_add(self) -> None:
        """Add a follow-up."""
        self.crm.open_form("followup")
