"""Fuzzing the vCard importer: generated files, only the import error types escape."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pycrm.db import Database, open_database
from pycrm.io.vcard import VCardError, import_cards, read_cards
from pycrm.services.errors import ServiceError

_db: dict[str, Database] = {}


class _Rollback(Exception):
    """Raised to undo a fuzzed import so the database stays small."""


def database(folder: Path) -> Database:
    if "db" not in _db:
        _db["db"] = open_database(str(folder / "fuzz-vcard.db"))
    return _db["db"]


values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=25)
props = st.sampled_from(
    [
        "FN",
        "N",
        "EMAIL",
        "TEL",
        "ORG",
        "BDAY",
        "NOTE",
        "UID",
        "ADR",
        "TITLE",
        "CATEGORIES",
        "KIND",
        "X-FOO",
        "item1.EMAIL",
        "TEL;TYPE=CELL",
        "NOTE;ENCODING=QUOTED-PRINTABLE",
        "FN;CHARSET=UTF-8",
        "EMAIL;TYPE=INTERNET,PREF",
    ]
)
lines = st.lists(st.tuples(props, values), max_size=8)
_SETTINGS = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(folder: Path, path: Path) -> None:
    try:
        cards = read_cards(path)
    except VCardError:
        return
    try:
        with database(folder).write("fuzz vcard", source="test") as session:
            import_cards(session, cards)
            raise _Rollback
    except (_Rollback, VCardError, ServiceError):
        return


@_SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_vcard(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    folder = tmp_path_factory.getbasetemp()
    path = folder / "fuzz-bytes.vcf"
    path.write_bytes(b"BEGIN:VCARD\r\n" + content)
    _check(folder, path)


@_SETTINGS
@given(
    st.lists(lines, min_size=1, max_size=3),
    st.sampled_from(["2.1", "3.0", "4.0", ""]),
    st.booleans(),
)
def test_vcard_shaped_text(
    tmp_path_factory: pytest.TempPathFactory,
    cards: list[list[tuple[str, str]]],
    version: str,
    truncate: bool,
) -> None:
    folder = tmp_path_factory.getbasetemp()
    path = folder / "fuzz-text.vcf"
    out: list[str] = []
    for card in cards:
        out.append("BEGIN:VCARD")
        if version:
            out.append(f"VERSION:{version}")
        out.extend(f"{name}:{value}" for name, value in card)
        out.append("END:VCARD")
    if truncate:
        out = out[:-1]
    path.write_text("\r\n".join(out), encoding="utf-8", errors="surrogatepass")
    _check(folder, path)
