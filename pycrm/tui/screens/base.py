"""What every screen of the app shares: reload on resume, `r`, and typed access to the app."""

from __future__ import annotations

import time
from contextlib import suppress
from typing import TYPE_CHECKING

from textual._context import active_app
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from pycrm.tui.app import PycrmApp


def failure_text(error: BaseException) -> str:
    """One line for an error nobody expected: the database driver's own words when SQLAlchemy
    wraps them (its message adds the SQL and a link), control characters stripped."""
    from pycrm.tui.data import safe

    cause = getattr(error, "orig", None)
    if not isinstance(cause, BaseException):
        cause = error
    lines = str(cause).strip().splitlines()
    return safe(lines[0] if lines else type(cause).__name__)


def report_failed_worker(node: DOMNode, event: Worker.StateChanged) -> bool:
    """Say so when one of ``node``'s workers failed unexpectedly (expected errors are caught
    and shown where they happen). Without this a failed save or load did nothing at all: the
    workers do not stop the app on an error. True when it was reported."""
    error = event.worker.error
    if event.state != WorkerState.ERROR or error is None:
        return False
    node.app.notify(
        f"Something went wrong: {failure_text(error)}",
        title="Error",
        severity="error",
        timeout=15,
        markup=False,
    )
    return True


class BaseScreen(Screen[None]):
    """A screen that reloads from the database whenever it is shown (so CLI changes appear)."""

    BINDINGS = [
        Binding(
            "r",
            "reload",
            "Refresh",
            id="screen.refresh",
            tooltip="Reload from the database",
            show=False,
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        # Textual re-parses the whole stylesheet and restyles every widget (twice) the first time
        # a mode's screen is shown, because a new screen starts "behind" the app's CSS. Its
        # widgets are styled from the current stylesheet when they mount, so it is not behind:
        # say so, and opening a screen for the first time costs ~40-100 ms less.
        with suppress(LookupError):  # LookupError: built outside a running app
            self._css_update_count = active_app.get()._css_update_count

    @property
    def crm(self) -> PycrmApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    _resumed_at = -1.0

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_failed_worker(self, event)

    def on_screen_resume(self) -> None:
        if self.crm.keys_panel_open and not self.query("HelpPanel"):
            self.crm.action_show_help_panel()
        self.request_reload()

    def on_screen_suspend(self) -> None:
        # The keys panel lives on the screen in view only (it follows you to the next one).
        # A panel left on a screen out of view was drawn again while the app shut down, after
        # the current screen had gone, and Textual's panel then failed: a traceback on quit.
        for panel in self.query("HelpPanel"):
            panel.remove()

    def request_reload(self) -> None:
        """Reload unless a reload was just asked for (switching posts ScreenResume twice)."""
        now = time.monotonic()
        if now - self._resumed_at > 0.25:
            self.reload()
        self._resumed_at = now

    def action_reload(self) -> None:
        """Reload what the screen shows."""
        self.reload()

    def reload(self) -> None:
        """Start loading the screen's data (in a worker)."""
