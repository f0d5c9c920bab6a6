"""Small text helpers shared by services: matching keys and display-safe text."""

from __future__ import annotations

import functools
import re
import unicodedata

_SPACES = re.compile(r"\s+")
# C0/C1 control characters (but keep tab and newline), DEL, and bidi overrides/isolates.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case- and accent-insensitive key: ``"  José  da Silva "`` → ``"jose da silva"``.

    Memoised: search ranks the same names again and again (a pure function of its argument)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def clean(text: str | None) -> str | None:
    """Trim and drop control characters from user or imported text; empty becomes None."""
    if text is None:
        return None
    cleaned = _CONTROL.sub("", str(text)).strip()
    return cleaned or None


def strip_control(text: str) -> str:
    """Remove terminal control characters (ESC, BEL, bidi overrides…) for display."""
    return _CONTROL.sub("", text)
