"""What every screen of the app shares: reload on resume, `r`, and typed access to the app."""

from __future__ import annotations

import time
from contextlib import suppress
from typing import TYPE_CHECKING

from textual._context import active_app
from textual.binding import Binding
from textual.screen import Screen

if TYPE_CHECKING:
    from pycrm.tui.app import PycrmApp


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

    def on_screen_resume(self) -> None:
        self.request_reload()

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
