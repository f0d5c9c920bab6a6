"""The full-screen app: screens on number keys, the command palette, undo, and database workers."""

from __future__ import annotations

import gc
import importlib
import importlib.util
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape as escape_markup
from textual.screen import ModalScreen, Screen

from pycrm.tui import data
from pycrm.tui.screens.base import BaseScreen, report_failed_worker
from pycrm.tui.screens.calendar import CalendarScreen
from pycrm.tui.screens.contacts import ContactsScreen
from pycrm.tui.screens.followups import FollowUpsScreen
from pycrm.tui.screens.pipeline import PipelineScreen
from pycrm.tui.screens.today import TodayScreen

if TYPE_CHECKING:
    from pycrm.config import Settings
    from pycrm.db import Database
    from pycrm.tui.screens.modals import FormModal

PREFETCH_FRESH = 10.0  # seconds: an agenda read longer ago than this is read again

SCREENS: list[tuple[str, str, str]] = [
    ("1", "today", "Today"),
    ("2", "contacts", "Contacts"),
    ("3", "pipeline", "Pipeline"),
    ("4", "followups", "Follow-ups"),
    ("5", "calendar", "Calendar"),
    ("6", "reports", "Reports"),
]


def _reports_screen() -> Screen[Any]:
    module = importlib.import_module("pycrm.tui.screens.reports")
    screen: Screen[Any] = module.ReportsScreen()
    return screen


class ContactCommands(Provider):
    """ "Go to contact…": recent people on open, the search service as you type (in a worker)."""

    async def startup(self) -> None:
        app: PycrmApp = self.app  # type: ignore[assignment]
        worker = app.run_worker(
            lambda: data.recent_contacts(app.database), thread=True, exit_on_error=False
        )
        try:
            self.recent = await worker.wait()
        except Exception:
            self.recent = []

    async def discover(self) -> Hits:
        app: PycrmApp = self.app  # type: ignore[assignment]
        for hit in getattr(self, "recent", [])[:10]:
            yield DiscoveryHit(
                Text(f"Go to contact: {hit.label}"),
                lambda cid=hit.id: app.open_contact(cid),
                text=f"Go to contact: {hit.label}",
                help="recently in touch",
            )

    async def search(self, query: str) -> Hits:
        app: PycrmApp = self.app  # type: ignore[assignment]
        text = query.strip()
        for prefix in ("go to contact", "go to", "contact"):
            if text.lower().startswith(prefix):
                text = text[len(prefix) :].strip(" :…")
                break
        if len(text) < 2:
            return
        worker = app.run_worker(
            lambda: data.search_any(app.database, text, kinds=("contact",), limit=10),
            thread=True,
            exit_on_error=False,
        )
        try:
            hits = await worker.wait()
        except Exception:
            return
        matcher = self.matcher(text)
        for hit in hits:
            label = f"Go to contact: {hit.label}"
            yield Hit(
                max(matcher.match(hit.label), 0.5),
                Text(label),  # a Text prompt is shown literally, never as markup
                lambda cid=hit.id: app.open_contact(cid),
                text=label,
                help=escape_markup(hit.detail),
            )


class PycrmApp(App[None]):
    """pycrm in full screen: the salesperson's whole day on the keyboard."""

    CSS_PATH = "app.tcss"
    TITLE = "pycrm"
    COMMANDS = App.COMMANDS | {ContactCommands}
    MODES: ClassVar[dict[str, Any]] = {
        "today": TodayScreen,
        "contacts": ContactsScreen,
        "pipeline": PipelineScreen,
        "followups": FollowUpsScreen,
        "calendar": CalendarScreen,
    }
    BINDINGS = [
        *[
            Binding(key, f"screen('{mode}')", title, id=f"app.screen.{mode}", show=False)
            for key, mode, title in SCREENS
        ],
        Binding("u", "undo", "Undo", id="app.undo", tooltip="Undo the last change"),
        Binding("question_mark", "help", "Keys", id="app.help", tooltip="Show the keys"),
        Binding("q", "quit_safely", "Quit", id="app.quit", tooltip="Quit pycrm"),
        Binding("ctrl+c", "quit", "Quit", id="app.force_quit", show=False, priority=True),
    ]

    def __init__(self, database: Database, *, now: datetime | None = None) -> None:
        super().__init__()
        self.database = database
        self.fixed_now = now
        # Start reading today's agenda now, while Textual sets up the terminal (on Core: the
        # models are imported only once it is drawn); the Today screen claims it when it loads.
        self._prefetch: data.TodayPrefetch | None = data.TodayPrefetch(database, self.now())
        self._created = time.monotonic()
        # Imported on first use: its chart library alone takes ~0.3 s to import.
        self.add_mode("reports", _reports_screen)

    # ------------------------------------------------------------------------------ basics

    _warming = False

    def warm_up(self) -> None:
        """Import the models and ORM services in a thread, once (see ``data.warm_up``)."""
        if self._warming:
            return
        self._warming = True
        threading.Thread(target=self._warm_up, name="pycrm-warm-up", daemon=True).start()

    @staticmethod
    def _warm_up() -> None:
        data.warm_up()
        # Everything loaded so far (Textual, SQLAlchemy, the models: ~150k objects) lives as
        # long as the app: moved out of the garbage collector's reach, a full collection no
        # longer walks it. Each one cost ~200 ms in the middle of whatever the user was doing
        # (a search keystroke every ten or so); what is left costs a few ms. Once per process
        # (tests run many apps in one).
        if not gc.get_freeze_count():
            gc.freeze()

    def claim_prefetch(self) -> data.TodayPrefetch | None:
        """The agenda read since start-up, once, and only while it is fresh."""
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is None or time.monotonic() - self._created > PREFETCH_FRESH:
            return None
        return prefetch

    def now(self) -> datetime:
        """The app's clock: fixed in tests and snapshots, else the real time."""
        return self.fixed_now or datetime.now(UTC)

    @cached_property
    def settings(self) -> Settings:
        """Currency, date order, phone region (flag > env > config file)."""
        from pycrm.config import load_settings

        return load_settings(str(self.database.path or self.database.url))

    def parse_when(self, text: str) -> datetime:
        """A WHEN typed by the user (``tomorrow 10:00``, ``+3d``, ``25/11``), aware."""
        # The shared parser reads times in the zone of ``now``: give it local time.
        return data.parse_when(text, self.now().astimezone(), self.settings.date_order)

    def on_mount(self) -> None:
        self.sub_title = self.database.path.name if self.database.path else "PostgreSQL"
        self.switch_mode("today")

    def on_app_focus(self) -> None:
        if isinstance(self.screen, BaseScreen):
            self.screen.request_reload()

    def refresh_screen(self) -> None:
        """Reload the current screen from the database."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, BaseScreen):
                screen.reload()
                return

    # ------------------------------------------------------------------------------ navigation

    def _blocked(self) -> bool:
        return isinstance(self.screen, ModalScreen)

    def action_screen(self, mode: str) -> None:
        """Show one of the main screens."""
        if self._blocked():
            return
        if mode == self.current_mode:
            while len(self.screen_stack) > 1:
                self.pop_screen()
            self.refresh_screen()
            return
        self.switch_mode(mode)

    def open_contact(self, contact_id: int) -> None:
        """Show a person's dossier."""
        from pycrm.tui.screens.contact import ContactScreen

        self.push_screen(ContactScreen(contact_id))

    def open_deal(self, deal_id: int) -> None:
        """Show a deal."""
        from pycrm.tui.screens.deal import DealScreen

        self.push_screen(DealScreen(deal_id))

    def open_target(self, target: str) -> None:
        """Open ``contact:12`` / ``deal:3`` / ``meeting:4`` style targets."""
        kind, _, ref = target.partition(":")
        if kind == "screen" and ref in self._modes:
            self.action_screen(ref)
            return
        if not ref.isdigit():
            return
        if kind == "contact":
            self.open_contact(int(ref))
        elif kind == "deal":
            self.open_deal(int(ref))
        elif kind == "meeting":
            self.action_screen("calendar")

    def push_form(self, form: FormModal) -> None:
        """Show a form; reload the screen when it saved."""

        def done(saved: bool | None) -> None:
            if saved:
                self.refresh_screen()

        self.push_screen(form, done)

    def open_form(self, kind: str) -> None:
        """Add a record of a kind: contact, followup, meeting, deal."""
        from pycrm.tui import forms

        builders: dict[str, Callable[[PycrmApp], FormModal]] = {
            "contact": forms.contact_form,
            "followup": forms.followup_form,
            "meeting": forms.meeting_form,
            "deal": forms.deal_form,
        }
        self.push_form(builders[kind](self))

    # ------------------------------------------------------------------------------ writes

    @work(thread=True, exit_on_error=False, group="write")
    def run_write(self, label: str, write: Callable[[Any], str | None]) -> None:
        """Run one write transaction (one undoable batch) off the UI thread, then reload."""
        from pycrm.db import DatabaseError
        from pycrm.services.errors import ServiceError

        try:
            with self.database.write(label, source="tui") as session:
                message = write(session)
        except (ServiceError, DatabaseError) as exc:
            self.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            self.call_from_thread(self.refresh_screen)
            return
        if message:
            self.call_from_thread(self.notify, message, markup=False)
        self.call_from_thread(self.refresh_screen)

    def on_worker_state_changed(self, event: Any) -> None:
        report_failed_worker(self, event)

    def action_undo(self) -> None:
        """Undo the last change (the same batch `pycrm undo` would revert)."""
        if self._blocked():
            return
        self.undo()

    @work(thread=True, exclusive=True, exit_on_error=False, group="undo")
    def undo(self) -> None:
        """Revert the most recent batch in a worker and say what was undone."""
        from pycrm.db import DatabaseError
        from pycrm.services import changelog
        from pycrm.services.errors import ServiceError

        try:
            with self.database.write("undo", source="tui") as session:
                batch = changelog.last_batch(session)
                if batch is None:
                    message = "Nothing to undo"
                else:
                    session.info["batch_label"] = f"undo {batch.label}"
                    changes = changelog.revert_batch(session, batch.id)
                    message = f"Undone: {data.safe(batch.label)} ({changes} change(s))"
        except (ServiceError, DatabaseError) as exc:
            self.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        self.call_from_thread(self.notify, message, markup=False)
        self.call_from_thread(self.refresh_screen)

    # ------------------------------------------------------------------------------ help, quit

    keys_panel_open = False  # the keys panel follows the user from screen to screen

    def action_help(self) -> None:
        """Show or hide the keys that work here."""
        if self.screen.query("HelpPanel"):
            self.keys_panel_open = False
            self.action_hide_help_panel()
        else:
            self.keys_panel_open = True
            self.action_show_help_panel()

    def action_quit_safely(self) -> None:
        """Quit, unless a form holds unsaved input."""
        if getattr(self.screen, "dirty", False):
            self.notify("Unsaved input: press Escape to discard it first", severity="warning")
            return
        self.exit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Palette commands: every screen and action, plus Textual's own (theme, keys, quit)."""
        yield from super().get_system_commands(screen)
        for key, mode, title in SCREENS:
            yield SystemCommand(
                f"Go to {title}", f"Show the {title} screen (key {key})",
                lambda m=mode: self.action_screen(m),
            )  # fmt: skip
        yield SystemCommand(
            "Undo last change", "Revert the most recent change (u)", self.action_undo
        )
        yield SystemCommand(
            "Refresh", "Reload this screen from the database (r)", self.refresh_screen
        )
        yield SystemCommand("Add contact", "Create a person", lambda: self.open_form("contact"))
        yield SystemCommand(
            "Add follow-up", "Promise something by a date", lambda: self.open_form("followup")
        )
        yield SystemCommand("Add meeting", "Schedule a meeting", lambda: self.open_form("meeting"))
        yield SystemCommand("Add deal", "Open a deal", lambda: self.open_form("deal"))
        for binding in screen._bindings.key_to_bindings.values():
            for b in binding:
                if b.description and b.action not in ("reload",) and isinstance(screen, BaseScreen):
                    yield SystemCommand(
                        f"{b.description} ({b.key})",
                        b.tooltip or b.description,
                        lambda a=b.action, s=screen: s.run_action(a),  # type: ignore[misc]
                    )


def create_app(database: Database, *, now: datetime | None = None) -> PycrmApp:
    """The one app factory the CLI and the tests share."""
    return PycrmApp(database, now=now)


def run_app(database: Database) -> None:
    """Run the app on an open database until the user quits."""
    create_app(database).run()
