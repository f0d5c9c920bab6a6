"""A CSV row skipped as a duplicate writes nothing, not even its company (found by the CLI
state machine in tests/reliability/test_cli_state_machine.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Result


def test_a_skipped_duplicate_row_creates_no_company(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    assert cli("contact", "add", "Ana", "--email", "ana@example.com").code == 0
    csv = tmp_path / "again.csv"
    csv.write_text("name,emails,company\nAna again,ana@example.com,Globex\n", encoding="utf-8")
    res = cli("import", "csv", str(csv))
    assert res.code == 0
    assert "created 0, updated 0, skipped 1" in res.err
    assert cli("company", "list", "--json").json() == []
    assert [b["label"] for b in cli("undo", "--list", "--json").json()] == ["contact add Ana"]
