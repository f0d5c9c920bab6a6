"""The enumerations services validate against (stored as short text), importable without
SQLAlchemy: a first CSV import validates its rows before anything loads the models."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Channel", "Direction", "InteractionType", "StageKind"]


class InteractionType(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    NOTE = "note"
    MESSAGE = "message"
    VISIT = "visit"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Channel(StrEnum):
    """How a person likes to be reached."""

    EMAIL = "email"
    CALL = "call"
    MESSAGE = "message"
    MEETING = "meeting"
    VISIT = "visit"


class StageKind(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"
