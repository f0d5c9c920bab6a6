"""A Footer that rebuilds its keys only when the keys it shows change.

Textual's ``Footer`` removes and mounts all of its key widgets whenever the screen's bindings
*may* have changed: on every focus change and screen switch (moving between pipeline columns,
leaving the search box…). Mounting ten styled widgets costs tens of milliseconds each time. This
one compares what it would show with what it shows and skips the rebuild when they are the same,
and creates its keys already in the state their mount would restyle them into.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class QuietFooter(Footer):
    """``Footer`` without the rebuilds that change nothing."""

    _shown: Any = None

    def _signature(self) -> Any:
        """Everything ``Footer.compose`` reads to decide what to show."""
        active = self.screen.active_bindings
        keys = tuple(
            (
                binding.key,
                binding.action,
                binding.description,
                binding.show,
                binding.tooltip,
                id(binding.group) if binding.group is not None else None,
                enabled,
                tooltip,
                self.app.get_key_display(binding),
            )
            for (_, binding, enabled, tooltip) in active.values()
            if binding.show  # the hidden ones are never drawn (a column's arrows, Enter…)
        )
        return (keys, self.show_command_palette, self.compact)

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._signature()
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                # Born with the compact flag and class they would get on mount (from the
                # footer, or their default), so mounting them restyles nothing a second time.
                if "-command-palette" not in widget.classes:
                    widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(widget.compact, "-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if (
            self._bindings_ready
            and self._shown is not None
            and self.is_attached
            and screen is self.screen
            and screen.app.app_focus
            and self._signature() == self._shown
        ):
            return
        super().bindings_changed(screen)
