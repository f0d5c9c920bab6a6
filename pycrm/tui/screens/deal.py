"""One deal: stage history, follow-ups and interactions."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from pycrm.tui import data
from pycrm.tui.screens.base import BaseScreen
from pycrm.tui.widgets.footer import QuietFooter


def render_deal(v: data.DealView) -> Text:
    """The deal as literal text."""
    d = v.line
    text = Text()
    text.append(d.title + "\n", style="bold")
    text.append(f"{d.stage} · {d.value} · probability {v.probability}%")
    if d.expected_close:
        text.append(f" · close {d.expected_close}")
    text.append("\n")
    if d.contact:
        text.append(f"Contact: {d.contact}\n")
    if v.company:
        text.append(f"Company: {v.company}\n")
    if v.next_step:
        text.append(f"Next step: {v.next_step}\n")
    if v.lost_reason:
        text.append(f"Lost because: {v.lost_reason}\n")
    if v.notes:
        text.append(f"Notes: {v.notes}\n")
    text.append("\nStage history\n", style="bold underline")
    for name, at in v.history:
        text.append(f"{at.astimezone():%Y-%m-%d %H:%M}  {name}\n")
    text.append("\nOpen follow-ups\n", style="bold underline")
    for f in v.followups:
        text.append(f"{f.due_at.astimezone():%d %b %H:%M}  {f.what}\n")
    if not v.followups:
        text.append("none\n", style="dim")
    text.append("\nInteractions\n", style="bold underline")
    for i in v.timeline:
        text.append(f"{i.occurred_at.astimezone():%Y-%m-%d} {i.type}: {i.summary}\n")
    if not v.timeline:
        text.append("none\n", style="dim")
    return text


class DealScreen(BaseScreen):
    """A deal's page; Enter or c opens its person, Escape goes back."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="deal.back"),
        Binding("c,enter", "contact", "Open contact", id="deal.contact"),
        Binding("f", "followup", "Follow-up", id="deal.followup", tooltip="Add a follow-up"),
    ]

    def __init__(self, deal_id: int) -> None:
        super().__init__()
        self.deal_id = deal_id
        self.view: data.DealView | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static("Loading…", id="deal-body")
        yield QuietFooter()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self) -> None:
        """Read the deal in a thread."""
        from pycrm.services.errors import NotFound

        try:
            view = data.deal_view(self.crm.database, self.deal_id)
        except NotFound:
            self.app.call_from_thread(self.notify, "this deal no longer exists", severity="warning")
            self.app.call_from_thread(self.action_back)
            return
        if get_current_worker().is_cancelled:  # a newer load is on its way
            return
        self.app.call_from_thread(self.show, view)

    def show(self, view: data.DealView) -> None:
        """Draw the deal."""
        self.view = view
        self.sub_title = view.line.title
        self.query_one("#deal-body", Static).update(render_deal(view))

    def action_back(self) -> None:
        """Back."""
        if len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.app.pop_screen()

    def action_contact(self) -> None:
        """Open the deal's person."""
        if self.view and self.view.contact_id:
            self.crm.open_contact(self.view.contact_id)

    def action_followup(self) -> None:
        """Add a follow-up on this deal."""
        from pycrm.tui import forms

        title = self.view.line.title if self.view else ""
        self.crm.push_form(forms.followup_form(self.crm, None, title, deal_id=self.deal_id))
