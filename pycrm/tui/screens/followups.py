"""Follow-ups: overdue, today and upcoming promises; done, snooze, open."""

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
from pycrm.tui.screens.modals import ConfirmModal, PromptModal
from pycrm.tui.widgets.footer import QuietFooter


class FollowUpsScreen(BaseScreen):
    """Promises by urgency: space/d done, s snooze, v select, Enter opens the person or deal."""

    BINDINGS = [
        Binding("space,d", "done", "Done", id="followups.done", tooltip="Mark done"),
        Binding("s", "snooze", "Snooze", id="followups.snooze", tooltip="Snooze to a WHEN"),
        Binding(
            "v", "toggle_select", "Select", id="followups.toggle", tooltip="Select this follow-up"
        ),
        Binding(
            "ctrl+a",
            "select_all",
            "All",
            id="followups.select_all",
            tooltip="Select all",
            show=False,
        ),
        Binding("a", "add", "Add", id="followups.add", tooltip="Add a follow-up", show=False),
        Binding("delete", "delete", "Delete", id="followups.delete", tooltip="Delete", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, data.FollowUpLine] = {}
        self.selected: set[int] = set()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="followups-status", classes="status")
        yield OptionList(id="followups-list")
        yield QuietFooter()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self) -> None:
        """Read the follow-ups in a thread."""
        now = self.crm.now()
        groups = data.followup_groups(self.crm.database, now)
        if get_current_worker().is_cancelled:  # a newer load is on its way
            return
        self.app.call_from_thread(self.show, groups, now)

    def _line(self, f: data.FollowUpLine, now: datetime) -> Text:
        text = Text()
        text.append("✓ " if f.id in self.selected else "  ", style="bold")
        text.append(
            f"{f.due_at.astimezone():%a %d %b %H:%M}  ", style="bold" if f.due_at < now else ""
        )
        text.append(f.what)
        who = " · ".join(x for x in (f.contact, f.deal) if x)
        if who:
            text.append(f"  — {who}", style="italic")
        return text

    def show(self, groups: data.FollowUpGroups, now: datetime) -> None:
        """Draw the three groups."""
        self.now = now
        options = self.query_one("#followups-list", OptionList)
        keep = options.highlighted
        options.clear_options()
        self.lines = {}
        items: list[Option] = []
        for title, lines in (
            ("Overdue", groups.overdue),
            ("Today", groups.today),
            ("Upcoming", groups.upcoming),
        ):
            items.append(Option(Text(f"{title} ({len(lines)})", style="bold"), disabled=True))
            for f in lines:
                self.lines[f.id] = f
                items.append(Option(self._line(f, now), id=f"fu-{f.id}"))
            if not lines:
                items.append(Option(Text("  nothing", style="dim"), disabled=True))
        options.add_options(items)
        self.selected &= set(self.lines)
        if keep is not None and keep < options.option_count:
            options.highlighted = keep
            if options.get_option_at_index(keep).disabled:
                options.action_cursor_down()
        else:
            options.action_first()
        options.focus()
        self.update_status()

    def update_status(self) -> None:
        """The line above the list."""
        n = len(self.selected)
        msg = f"{len(self.lines)} open"
        if n:
            msg += f" · {n} selected (d marks them done)"
        self.query_one("#followups-status", Static).update(Text(msg))

    def current(self) -> int | None:
        """The follow-up under the cursor."""
        options = self.query_one("#followups-list", OptionList)
        if options.highlighted is None:
            return None
        oid = options.get_option_at_index(options.highlighted).id or ""
        return int(oid.removeprefix("fu-")) if oid.startswith("fu-") else None

    def targets(self) -> list[int]:
        """The selection, or the line under the cursor."""
        if self.selected:
            return sorted(self.selected)
        cur = self.current()
        return [cur] if cur is not None else []

    @on(OptionList.OptionSelected, "#followups-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        oid = event.option.id or ""
        f = self.lines.get(int(oid.removeprefix("fu-"))) if oid.startswith("fu-") else None
        if f is None:
            return
        if f.contact_id:
            self.crm.open_contact(f.contact_id)
        elif f.deal_id:
            self.crm.open_deal(f.deal_id)

    def action_toggle_select(self) -> None:
        """Select or unselect the follow-up under the cursor."""
        cur = self.current()
        if cur is None:
            return
        self.selected.symmetric_difference_update({cur})
        options = self.query_one("#followups-list", OptionList)
        options.replace_option_prompt(f"fu-{cur}", self._line(self.lines[cur], self.now))
        options.action_cursor_down()
        self.update_status()

    def action_select_all(self) -> None:
        """Select every follow-up shown."""
        ids = set(self.lines)
        self.selected = set() if ids <= self.selected else ids
        options = self.query_one("#followups-list", OptionList)
        for fid, line in self.lines.items():
            options.replace_option_prompt(f"fu-{fid}", self._line(line, self.now))
        self.update_status()

    def action_done(self) -> None:
        """Mark the follow-up(s) done (recurring ones schedule their next)."""
        ids = self.targets()
        if not ids:
            return
        whats = [self.lines[i].what for i in ids if i in self.lines]

        def write(session: object) -> str:
            from pycrm.services import followups

            for fid in ids:
                followups.complete_followup(session, fid, at=self.crm.now())  # type: ignore[arg-type]
            return f"Done: {whats[0]}" if len(ids) == 1 else f"Marked {len(ids)} follow-ups done"

        self.selected.clear()
        label = f"done: {whats[0]}" if len(ids) == 1 and whats else f"done {len(ids)} follow-ups"
        self.crm.run_write(label, write)

    def action_snooze(self) -> None:
        """Snooze the follow-up(s) to a WHEN typed in a prompt."""
        ids = self.targets()
        if not ids:
            return
        from pycrm.tui.forms import when_check

        def done(when: str | None) -> None:
            if not when:
                return
            until = self.crm.parse_when(when)

            def write(session: object) -> str:
                from pycrm.services import followups

                for fid in ids:
                    followups.snooze_followup(session, fid, until)  # type: ignore[arg-type]
                return f"Snoozed {len(ids)} follow-up(s) to {until.astimezone():%a %d %b %H:%M}"

            self.selected.clear()
            self.crm.run_write(f"snooze {len(ids)} follow-up(s) to {when.strip()}", write)

        self.app.push_screen(
            PromptModal(
                "Snooze until (e.g. tomorrow 09:00, +3d, next mon)",
                value="tomorrow 09:00",
                check=when_check(self.crm),
            ),
            done,
        )

    def action_add(self) -> None:
        """Add a follow-up."""
        self.crm.open_form("followup")

    def action_delete(self) -> None:
        """Delete the follow-up(s) (asks first)."""
        ids = self.targets()
        if not ids:
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return

            def write(session: object) -> str:
                from pycrm.services import followups

                for fid in ids:
                    followups.delete_followup(session, fid)  # type: ignore[arg-type]
                return f"Deleted {len(ids)} follow-up(s)"

            self.selected -= set(ids)
            self.crm.run_write(f"delete {len(ids)} follow-up(s)", write)

        self.app.push_screen(ConfirmModal(f"Delete {len(ids)} follow-up(s)?"), done)
