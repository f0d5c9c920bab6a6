"""The pre-call dossier: everything about one person on one screen."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from pycrm.tui import data
from pycrm.tui.screens.base import BaseScreen
from pycrm.tui.screens.modals import ConfirmModal
from pycrm.tui.widgets.footer import QuietFooter


def _when(dt: datetime) -> str:
    return f"{dt.astimezone():%a %d %b %Y %H:%M}"


def render_dossier(d: data.Dossier, now: datetime) -> tuple[Text, Text, Text]:
    """Header, left (who and how) and right (deals, promises, meetings, timeline) as literal text."""
    head = Text()
    head.append(d.name, style="bold")
    if d.title or d.company:
        head.append("  " + " @ ".join(x for x in (d.title, d.company) if x), style="italic")
    if d.do_not_contact:
        head.append("   ⛔ DO NOT CONTACT", style="bold reverse")
    head.append("\n")
    head.append(f"Prefers: {d.preferred_channel or '—'}", style="bold")
    head.append(f"   Best time: {d.best_time or '—'}", style="bold")
    head.append(f"   Language: {d.language or '—'}", style="bold")
    head.append("\n")
    if d.last_touch is not None:
        days = (now - d.last_touch).days
        touch = f"Last touch {days} day(s) ago"
        if d.cadence_days:
            late = days > d.cadence_days
            touch += f" (cadence {d.cadence_days} days{': OVERDUE' if late else ''})"
            head.append(touch, style="bold" if late else "")
        else:
            head.append(touch)
    else:
        head.append(
            "Never in touch" + (f" (cadence {d.cadence_days} days)" if d.cadence_days else "")
        )

    left = Text()
    left.append("Details\n", style="bold underline")
    for label, values in (("E-mail", d.emails), ("Phone", d.phones)):
        for v in values or ["—"]:
            left.append(f"{label}: ", style="bold")
            left.append(v + "\n")
    for label, value in (
        ("Tags", ", ".join(d.tags)),
        ("Address", d.address),
        ("Birthday", d.birthday),
        ("Notes", d.notes),
    ):
        if value:
            left.append(f"{label}: ", style="bold")
            left.append(value + "\n")
    left.append("\nDeals\n", style="bold underline")
    for deal in d.deals or []:
        left.append(f"• {deal.title}", style="bold")
        left.append(f"  {deal.stage} · {deal.value}")
        if deal.expected_close:
            left.append(f" · close {deal.expected_close}")
        left.append("\n")
    if not d.deals:
        left.append("none\n", style="dim")
    left.append("\nOpen follow-ups\n", style="bold underline")
    for f in d.followups or []:
        late = f.due_at < now
        left.append(f"• {f.due_at.astimezone():%d %b %H:%M} ", style="bold" if late else "")
        left.append(f.what + ("  (overdue)" if late else "") + "\n")
    if not d.followups:
        left.append("none\n", style="dim")
    left.append("\nNext meetings\n", style="bold underline")
    for mt in d.meetings or []:
        left.append(f"• {_when(mt.starts_at)}  {mt.title}")
        if mt.location:
            left.append(f" @ {mt.location}")
        left.append("\n")
    if not d.meetings:
        left.append("none\n", style="dim")

    right = Text()
    right.append("Timeline (newest first)\n", style="bold underline")
    for i in d.timeline:
        right.append(f"{i.occurred_at.astimezone():%Y-%m-%d %H:%M} ", style="bold")
        right.append(f"{i.type}{' ' + i.direction if i.direction else ''}: ")
        right.append(i.summary + "\n")
        if i.body:
            right.append("    " + i.body.replace("\n", "\n    ") + "\n", style="dim")
    if not d.timeline:
        right.append("no interactions yet\n", style="dim")
    return head, left, right


class ContactScreen(BaseScreen):
    """One person's dossier; l/f/m/n/e act on them, Escape goes back."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="contact.back", tooltip="Back to the list"),
        Binding("l", "log", "Log", id="contact.log", tooltip="Log an interaction"),
        Binding("f", "followup", "Follow-up", id="contact.followup", tooltip="Add a follow-up"),
        Binding("m", "meeting", "Meeting", id="contact.meeting", tooltip="Schedule a meeting"),
        Binding("n", "deal", "New deal", id="contact.deal", tooltip="Open a deal"),
        Binding("e", "edit", "Edit", id="contact.edit", tooltip="Edit this person"),
        Binding("a", "log", "Add", id="contact.add", show=False),
        Binding(
            "delete",
            "delete",
            "Delete",
            id="contact.delete",
            tooltip="Delete this person",
            show=False,
        ),
    ]

    def __init__(self, contact_id: int) -> None:
        super().__init__()
        self.contact_id = contact_id
        self.dossier: data.Dossier | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading…", id="dossier-head", classes="dossier-head")
        with VerticalScroll(id="dossier-body"):
            yield Static("", id="dossier-left", classes="dossier-col")
            yield Static("", id="dossier-right", classes="dossier-col")
        yield QuietFooter()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self) -> None:
        """Read the dossier in a thread."""
        from pycrm.services.errors import NotFound

        now = self.crm.now()
        try:
            d = data.dossier(self.crm.database, self.contact_id, now)
        except NotFound:
            self.app.call_from_thread(self._gone)
            return
        if get_current_worker().is_cancelled:  # a newer load is on its way
            return
        self.app.call_from_thread(self.show, d, now)

    def _gone(self) -> None:
        self.notify("this person no longer exists", severity="warning")
        self.dismiss_screen()

    def dismiss_screen(self) -> None:
        """Leave the dossier."""
        if len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.app.pop_screen()

    def show(self, d: data.Dossier, now: datetime) -> None:
        """Draw the dossier."""
        self.dossier = d
        self.sub_title = d.name
        head, left, right = render_dossier(d, now)
        self.query_one("#dossier-head", Static).update(head)
        self.query_one("#dossier-left", Static).update(left)
        self.query_one("#dossier-right", Static).update(right)

    def action_back(self) -> None:
        """Back to where we came from."""
        self.dismiss_screen()

    @property
    def name_(self) -> str:
        return self.dossier.name if self.dossier else f"#{self.contact_id}"

    def action_log(self) -> None:
        """Log an interaction in a modal."""
        from pycrm.tui import forms

        self.crm.push_form(forms.interaction_form(self.crm, self.contact_id, self.name_))

    def action_followup(self) -> None:
        """Promise something by a date."""
        from pycrm.tui import forms

        self.crm.push_form(forms.followup_form(self.crm, self.contact_id, self.name_))

    def action_meeting(self) -> None:
        """Schedule a meeting with this person."""
        from pycrm.tui import forms

        self.crm.push_form(forms.meeting_form(self.crm, self.contact_id, self.name_))

    def action_deal(self) -> None:
        """Open a deal for this person."""
        from pycrm.tui import forms

        self.crm.push_form(forms.deal_form(self.crm, self.contact_id, self.name_))

    def action_edit(self) -> None:
        """Edit this person."""
        from pycrm.tui import forms

        values = self.dossier.values if self.dossier else None
        self.crm.push_form(forms.contact_form(self.crm, self.contact_id, values))

    def action_delete(self) -> None:
        """Delete this person (asks first)."""
        cid = self.contact_id

        def done(yes: bool | None) -> None:
            if not yes:
                return

            def write(session: object) -> str:
                from pycrm.services import contacts

                contacts.delete_contact(session, cid)  # type: ignore[arg-type]
                return f"Deleted {self.name_}"

            self.crm.run_write(f"delete contact {self.name_}", write)
            self.dismiss_screen()

        self.app.push_screen(ConfirmModal(f"Delete {self.name_} and their history?"), done)
