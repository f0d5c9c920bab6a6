"""Domain errors every front end turns into one line and an exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ServiceError(Exception):
    """Base of every error a service raises on purpose."""

    exit_code = 1


class ValidationError(ServiceError):
    """A field value that breaks a rule; carries the field and the reason."""

    exit_code = 2

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(ServiceError):
    """No record matches the reference."""

    exit_code = 3

    def __init__(self, kind: str, ref: object) -> None:
        super().__init__(f"no {kind} matches {ref!r}")
        self.kind = kind
        self.ref = ref


class NothingToUndo(NotFound):
    """``pycrm undo`` with nothing left that is not already undone or an undo itself."""

    def __init__(self) -> None:
        ServiceError.__init__(
            self,
            "nothing to undo: the recent changes are undone or are undos themselves "
            "(`pycrm undo --list` shows them; `pycrm undo BATCH` takes one back)",
        )
        self.kind = "batch"
        self.ref = "last command"


@dataclass
class Candidate:
    """One of several records an ambiguous reference could mean."""

    id: int
    label: str
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Ambiguous(ServiceError):
    """A reference matches more than one record."""

    exit_code = 2

    def __init__(self, kind: str, ref: object, candidates: list[Candidate]) -> None:
        super().__init__(f"{ref!r} matches {len(candidates)} {kind}s; be more specific")
        self.kind = kind
        self.ref = ref
        self.candidates = candidates

    def details(self) -> list[str]:
        """One line per candidate: id, name and what tells them apart (e-mail, company)."""
        return [
            f"#{c.id}  {c.label}" + (f"  ({c.detail})" if c.detail else "") for c in self.candidates
        ]


class Conflict(ServiceError):
    """The change cannot be made safely (e.g. undo over later edits)."""

    exit_code = 1
