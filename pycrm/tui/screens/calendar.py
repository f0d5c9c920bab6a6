"""Calendar: the coming weeks as an agenda with day headers, recurring meetings expanded."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from pycrm.tui import data
from pycrm.tui.screens.base import BaseScreen
from pycrm.tui.widgets.footer import QuietFooter

WEEKS = 4


class CalendarScreen(BaseScreen):
    """Meetings of the next weeks in local time; `a` adds one, Enter opens the first attendee."""

    BINDINGS = [
        Binding("a", "add", "Add meeting", id="calendar.add", tooltip="Schedule a meeting"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="calendar-status", classes="status")
        yield OptionList(id="calendar-list")
        yield QuietFooter()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self) -> None:
        """Read the agenda in a thread."""
        now = self.crm.now()
        lines = data.calendar(self.crm.database, now, days=WEEKS * 7)
        if get_current_worker().is_cancelled:  # a newer load is on its way
            return
        self.app.call_from_thread(self.show, lines, now)

    def show(self, lines: list[data.MeetingLine], now: datetime) -> None:
        """Draw day headers and meetings."""
        options = self.query_one("#calendar-list", OptionList)
        keep = options.highlighted
        options.clear_options()
        items: list[Option] = []
        day = None
        today = now.astimezone().date()
        for n, mt in enumerate(lines):
            start = mt.starts_at.astimezone()
            if start.date() != day:
                day = start.date()
                label = f"{day:%A %d %B}" + ("  (today)" if day == today else "")
                items.append(Option(Text(label, style="bold underline"), disabled=True))
            text = Text()
            text.append(f"  {start:%H:%M}–{mt.ends_at.astimezone():%H:%M}  ", style="bold")
            text.append(mt.title)
            if mt.recurring:
                text.append(" ↻")
            if mt.attendees:
                text.append("  with " + ", ".join(name for _, name in mt.attendees), style="italic")
            if mt.location:
                text.append(f"  @ {mt.location}", style="dim")
            target = f"contact:{mt.attendees[0][0]}" if mt.attendees else f"meeting:{mt.id}"
            items.append(Option(text, id=f"{target}#{n}"))
        if not lines:
            items.append(
                Option(Text("No meetings in the coming weeks.", style="dim"), disabled=True)
            )
        options.add_options(items)
        if keep is not None and keep < options.option_count:
            options.highlighted = keep
        else:
            options.action_first()
        options.focus()
        self.query_one("#calendar-status", Static).update(
            Text(f"{len(lines)} meeting(s) in the next {WEEKS} weeks · times in local time")
        )

    @on(OptionList.OptionSelected, "#calendar-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        self.crm.open_target((event.option.id or "").split("#")[0])

    def action_add(self) -> None:
        """Schedule a meeting."""
        self.crm.open_form("meeting")
