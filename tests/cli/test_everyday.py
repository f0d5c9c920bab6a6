"""The everyday commands as a user runs them: exit codes, plain output when piped, JSON shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Result

Run = Callable[..., Result]


@pytest.fixture
def ana(cli: Run) -> str:
    res = cli("contact", "add", "Ana Gonçalves", "--email", "ana@acme.com", "--company", "Acme", "--tag", "vip",
              "--phone", "+1 212 555 0100")  # fmt: skip
    assert res.code == 0, res.err
    return res.out.strip()


def test_contact_add_list_show_json(cli: Run, ana: str) -> None:
    assert ana == "1"
    listed = cli("contact", "list", "--json").json()
    assert listed[0]["name"] == "Ana Gonçalves"
    assert listed[0]["company"] == "Acme"
    assert listed[0]["emails"] == [{"email": "ana@acme.com", "label": None}]
    assert listed[0]["phones"][0]["number"] == "+12125550100"
    assert {"id", "uuid", "created_at"} <= set(listed[0])
    plain = cli("contact", "list")
    assert plain.out.splitlines()[0].split("\t")[:3] == ["id", "name", "company"]
    assert "\x1b[" not in plain.out  # no colour codes when piped
    shown = cli("contact", "show", "ana@acme.com", "--json").json()
    assert shown["name"] == "Ana Gonçalves" and shown["deals"] == []


def test_contact_add_names_who_already_has_the_address(cli: Run, ana: str) -> None:
    """Adding someone with a known e-mail or phone still adds them (shared addresses exist) but
    says who else has it and how to merge; stdout keeps only the new id."""
    res = cli("contact", "add", "Ana G.", "--email", "ANA@acme.com", "--phone", "+1 (212) 555-0100")
    assert res.code == 0
    assert res.out.strip() == "2"
    assert res.err.splitlines() == [
        "note: +12125550100 also belongs to Ana Gonçalves (#1); if they are one person: "
        "pycrm contact merge 1 2",
        "note: ana@acme.com also belongs to Ana Gonçalves (#1); if they are one person: "
        "pycrm contact merge 1 2",
    ]
    assert len(cli("contact", "list", "--json").json()) == 2
    alone = cli("contact", "add", "Bruno", "--email", "bruno@example.com")
    assert alone.code == 0 and alone.err == ""


def test_ref_resolution_exit_codes(cli: Run, ana: str) -> None:
    cli("contact", "add", "Ana Costa")
    ambiguous = cli("contact", "show", "ana")
    assert ambiguous.code == 2
    assert "Ana Costa" in ambiguous.err and "ana@acme.com" in ambiguous.err
    assert cli("contact", "show", "nobody-here").code == 3
    assert cli("contact", "show", "999").code == 3
    assert cli("contact", "show", "costa").code == 0


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["contact", "add", ""], "name"),
        (["contact", "add", "X", "--email", "not-an-email"], "email"),
        (["followup", "add", "1", "call", "--due", "someday"], "due"),
        (["deal", "add", "D", "--contact", "1", "--value", "12,34,5"], "value"),
        (["deal", "add", "D", "--contact", "1", "--value", "10", "--currency", "XXX"], "currency"),
        (["log", "1", "hi", "--type", "fax"], "type"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(
    cli: Run, ana: str, args: list[str], field: str
) -> None:
    before = cli("contact", "list", "--json").out
    res = cli(*args)
    assert res.code == 2
    assert res.err.count("\n") == 1 and field in res.err
    assert "Traceback" not in res.err
    assert cli("contact", "list", "--json").out == before


def test_log_followup_deal_today_undo_history(cli: Run, ana: str) -> None:
    assert cli("log", "ana@acme.com", "--type", "call", "Talked about the renewal").code == 0
    assert cli("followup", "add", "ana@acme.com", "Send quote", "--due", "+0d 23:59").code == 0
    deal = cli(
        "deal",
        "add",
        "Renewal",
        "--contact",
        "ana@acme.com",
        "--value",
        "1.234,56",
        "--currency",
        "EUR",
        "--close",
        "+3d",
    )
    assert deal.code == 0
    assert cli("deal", "move", deal.out.strip(), "proposal").code == 0
    deals = cli("deal", "list", "--json").json()
    assert deals[0]["stage"] == "Proposal"
    assert deals[0]["value"] == {"amount": "1234.56", "currency": "EUR"}
    assert deals[0]["weighted"] == {"amount": "617.28", "currency": "EUR"}
    assert deals[0]["contact"] == "Ana Gonçalves" and deals[0]["company"] == "Acme"
    today = cli("today", "--json").json()
    assert [f["what"] for f in today["due_today"]] == ["Send quote"]
    assert [d["title"] for d in today["closing_soon"]] == ["Renewal"]
    undo = cli("undo", "--yes")
    assert undo.code == 0 and "deal move" in undo.err
    assert cli("deal", "list", "--json").json()[0]["stage"] == "Lead"
    history = cli("history", "ana@acme.com")
    assert "contact add Ana Gonçalves" in history.out


def test_followup_recurrence_and_meeting_expansion(cli: Run, ana: str) -> None:
    fid = cli(
        "followup", "add", "1", "Weekly check-in", "--due", "2026-01-05 10:00", "--repeat", "weekly"
    ).out.strip()
    done = cli("followup", "done", fid)
    assert done.code == 0 and "next one" in done.err
    items = cli("followup", "list", "--all", "--json").json()
    assert [i["due"][:10] for i in items if i["what"] == "Weekly check-in"] != []
    cli(
        "meeting",
        "add",
        "Standup",
        "--with",
        "1",
        "--at",
        "2026-01-05 09:00",
        "--repeat",
        "daily",
        "--duration",
        "15m",
    )
    occ = cli("meeting", "list", "--from", "2026-01-05", "--to", "2026-01-07", "--json").json()
    assert [o["start"][:10] for o in occ] == ["2026-01-05", "2026-01-06", "2026-01-07"]


def test_destructive_commands_refuse_without_yes_when_not_a_terminal(cli: Run, ana: str) -> None:
    cli("contact", "add", "Dup Ana", "--email", "dup@acme.com")
    for args in (
        ["contact", "rm", "1"],
        ["contact", "merge", "1", "2"],
        ["contact", "forget", "1"],
    ):
        res = cli(*args)
        assert res.code == 2 and "--yes" in res.err
    assert len(cli("contact", "list", "--json").json()) == 2
    assert cli("contact", "merge", "1", "2", "--yes").code == 0
    [merged] = cli("contact", "list", "--json").json()
    assert [e["email"] for e in merged["emails"]] == ["ana@acme.com", "dup@acme.com"]
    assert cli("contact", "forget", "1", "--yes").code == 0
    assert cli("find", "gonçalves", "--json").json() == []


def test_untrusted_text_is_printed_as_typed(cli: Run) -> None:
    cli(
        "contact",
        "add",
        "[bold]Mallory[/bold]\x1b[31m\x07",
        "--note",
        "[link=http://x]click[/link]",
    )
    out = cli("contact", "list").out
    assert "[bold]Mallory[/bold]" in out and "\x1b" not in out and "\x07" not in out
    shown = cli("contact", "show", "1").out
    assert "[link=http://x]click[/link]" in shown


def test_find_json_kinds_and_hostile_queries(cli: Run, ana: str) -> None:
    hits = cli("find", "acme", "--json").json()
    assert {h["kind"] for h in hits} == {"contact", "company"}
    for query in ['"', "NEAR(", "a OR", "-x", "(", "*", "%", "\\"]:
        res = cli("find", "--json", "--", query)
        assert res.code == 0 and isinstance(json.loads(res.out), list)


def test_subprocess_plain_output_and_no_color(sh: Run, db_path: Path) -> None:
    assert sh("contact", "add", "Zoë", "--email", "zoe@x.org").code == 0
    res = sh("contact", "list", env={"NO_COLOR": "1"})
    assert res.code == 0 and "Zoë" in res.out and "\x1b[" not in res.out
    assert sh("contact", "show", "nobody").code == 3
    bad = sh("contact", "list", "--sort", "age")
    assert bad.code == 2 and "Traceback" not in bad.err
    unknown = sh("contact", "list", "--frobnicate")
    assert unknown.code == 2


def test_history_names_tags_and_skips_empty_fields(cli: Run, ana: str) -> None:
    assert cli("contact", "edit", ana, "--tag", "partner").code == 0
    shown = cli("history", "ana@acme.com").out
    assert "tags: vip" in shown  # the tag's name, not its id
    assert "tags: vip → " in shown and "partner" in shown.split("tags: vip → ", 1)[1]
    assert "    notes: \n" not in shown  # empty fields of a new record are left out


def _on_a_terminal(db_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the CLI with stdout on a pseudo-terminal (as a person at a shell sees it)."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pycrm", "--db", str(db_path), *args],
        stdout=follower, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "120", **(env or {})},
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command finished
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    return b"".join(chunks).decode()


def test_terminal_tables_show_markup_as_typed_and_honour_no_color(cli: Run, db_path: Path) -> None:
    assert cli("contact", "add", "[bold]Bob[/] Mark", "--note", "x\x07y").code == 0
    styled = _on_a_terminal(db_path, "find", "bob")
    assert "[bold]Bob[/] Mark" in styled and "┃" in styled  # a rich table, markup as typed
    assert "\x1b[" in styled  # a bold header on a plain terminal
    plain = _on_a_terminal(db_path, "find", "bob", env={"NO_COLOR": "1"})
    assert "[bold]Bob[/] Mark" in plain and "\x1b[" not in plain


def test_undo_with_nothing_left_says_how_to_take_an_undo_back(cli: Run, ana: str) -> None:
    first = cli("undo", "--yes")
    assert first.code == 0 and "contact add" in first.err
    again = cli("undo", "--yes")  # the only change left is that undo
    assert again.code == 3
    assert "nothing to undo" in again.err and "pycrm undo --list" in again.err
    [undo_batch] = [b["id"] for b in cli("undo", "--list", "--json").json() if b["undoes"]]
    redo = cli("undo", undo_batch[:8], "--yes")
    assert redo.code == 0
    assert [c["name"] for c in cli("contact", "list", "--json").json()] == ["Ana Gonçalves"]
