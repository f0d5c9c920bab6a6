"""Dialogs: forms that validate as you type, a one-line prompt, and a delete confirmation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker

from pycrm.tui.screens.base import failure_text, report_failed_worker

if TYPE_CHECKING:
    from pycrm.tui.app import PycrmApp

Check = Callable[[str], str | None]


@dataclass
class FieldSpec:
    """One input of a form: key, label, starting value and a check returning an error or None."""

    key: str
    label: str
    value: str = ""
    placeholder: str = ""
    check: Check | None = None


class FormModal(ModalScreen[bool]):
    """A form: each field is checked as you type; ctrl+s saves through ``save`` in a worker."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="form.save", tooltip="Save the form"),
        Binding("escape", "cancel", "Cancel", id="form.cancel", tooltip="Close without saving"),
        # Priority: the app moves the focus as the key arrives, so the keys typed after it go to
        # the next field even when they arrive before the app has caught up (a fast typist, a
        # multiplexer sending a line at once). Keys before it are already the old field's.
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
    ]

    def __init__(
        self,
        title: str,
        fields: list[FieldSpec],
        save: Callable[[dict[str, str]], str],
    ) -> None:
        super().__init__()
        self.form_title = title
        self.fields = fields
        self.save_action = save
        self.initial = {f.key: f.value for f in fields}

    @property
    def app_(self) -> PycrmApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="form", classes="dialog"):
            yield Label(Text(self.form_title), classes="dialog-title")
            with VerticalScroll(id="form-fields"):
                for spec in self.fields:
                    with Horizontal(classes="field-row"):
                        yield Label(Text(spec.label), classes="field-label")
                        yield Input(
                            value=spec.value,
                            placeholder=spec.placeholder,
                            id=f"field-{spec.key}",
                            classes="field-input",
                            compact=True,
                        )
                    yield Static("", id=f"error-{spec.key}", classes="field-error", markup=False)
            yield Static("", id="form-error", classes="field-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(".field-input", Input).focus()

    def values(self) -> dict[str, str]:
        """What is typed in each field."""
        return {f.key: self.query_one(f"#field-{f.key}", Input).value for f in self.fields}

    @property
    def dirty(self) -> bool:
        """Whether anything was typed (q must not quit then)."""
        return self.values() != self.initial

    def _set_error(self, key: str, error: str | None) -> None:
        """Show (or clear) the message under one field."""
        label = self.query_one(f"#error-{key}", Static)
        label.update(Text(f"  ✗ {error}" if error else ""))
        label.display = bool(error)
        self.query_one(f"#field-{key}", Input).set_class(bool(error), "invalid")

    def _check(self, spec: FieldSpec, value: str) -> str | None:
        if spec.check is None:
            return None
        try:
            return spec.check(value)
        except Exception as exc:  # a check must never crash the form
            return str(exc)

    @on(Input.Changed, ".field-input")
    def _changed(self, event: Input.Changed) -> None:
        key = (event.input.id or "").removeprefix("field-")
        spec = next((f for f in self.fields if f.key == key), None)
        if spec is None:
            return
        error = self._check(spec, event.value)
        self._set_error(key, error)

    @on(Input.Submitted, ".field-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(False)

    def action_save(self) -> None:
        """Check every field, then save in a worker; errors stay on the form."""
        values = self.values()
        bad = False
        for spec in self.fields:
            error = self._check(spec, values[spec.key])
            self._set_error(spec.key, error)
            if error:
                bad = True
        if bad:
            self.query_one("#form-error", Static).update(Text("Fix the fields marked above."))
            return
        self._save(values)

    @work(thread=True, exclusive=True, exit_on_error=False, group="form-save")
    def _save(self, values: dict[str, str]) -> None:
        from pycrm.db import DatabaseError
        from pycrm.services.errors import ServiceError

        try:
            message = self.save_action(values)
        except (ServiceError, DatabaseError) as exc:
            self.app.call_from_thread(self._show_error, exc)
            return
        self.app.call_from_thread(self._saved, message)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # An unexpected failure of the save (a full disk, a bug): the form stays open with what
        # was typed, and says why nothing was saved.
        if report_failed_worker(self, event) and event.worker.error is not None:
            self.query_one("#form-error", Static).update(
                Text(f"Not saved: {failure_text(event.worker.error)}")
            )

    def _show_error(self, exc: Exception) -> None:
        field = getattr(exc, "field", None)
        if field and any(f.key == field for f in self.fields):
            self._set_error(field, getattr(exc, "reason", str(exc)))
        self.query_one("#form-error", Static).update(Text(str(exc)))

    def _saved(self, message: str) -> None:
        self.app.notify(message, markup=False)
        self.dismiss(True)


class PromptModal(ModalScreen[str | None]):
    """One line of input (a WHEN, a reason, a tag); Enter accepts, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(
        self, question: str, *, value: str = "", placeholder: str = "", check: Check | None = None
    ) -> None:
        super().__init__()
        self.question = question
        self.start_value = value
        self.placeholder = placeholder
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt"):
            yield Label(Text(self.question), classes="dialog-title")
            yield Input(
                value=self.start_value,
                placeholder=self.placeholder,
                id="prompt-input",
                compact=True,
            )
            yield Static("", id="prompt-error", classes="field-error", markup=False)

    @property
    def dirty(self) -> bool:
        """Whether anything was typed."""
        return self.query_one(Input).value != self.start_value

    def _error(self, value: str) -> str | None:
        if self.check is None:
            return None
        try:
            return self.check(value)
        except Exception as exc:
            return str(exc)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.query_one("#prompt-error", Static).update(Text(self._error(event.value) or ""))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        error = self._error(event.value)
        if error:
            self.query_one("#prompt-error", Static).update(Text(error))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """Ask before deleting: y / Enter confirms, n / Escape cancels."""

    BINDINGS = [
        Binding("y", "confirm", "Yes", id="confirm.yes"),
        Binding("n,escape", "cancel", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Static(Text(self.question), classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Delete (y)", id="yes", variant="error", compact=True)
                yield Button("Keep (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_confirm(self) -> None:
        """Yes, delete."""
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_cancel(self) -> None:
        """No, keep it."""
        self.dismiss(False)


def noop(_: Any) -> None:
    """A callback that ignores the result."""
