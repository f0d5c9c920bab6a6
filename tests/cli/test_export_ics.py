"""`pycrm export ics --what …` through Typer's CliRunner, as CLI.md lists them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import icalendar

from tests.cli.conftest import Result, seed_two_people_and_acme

FIXTURES = Path(__file__).parent.parent / "io" / "fixtures"
Run = Callable[..., Result]


def test_export_ics_what_meetings_followups_or_both(cli: Run) -> None:
    seed_two_people_and_acme(cli)
    assert cli("import", "ics", str(FIXTURES / "google-calendar.ics")).code == 0
    assert cli("followup", "add", "Ana", "Send the proposal", "--due", "2026-12-01 10:00").code == 0

    def parsed(*args: str) -> icalendar.Calendar:
        result = cli("export", "ics", *args)
        assert result.code == 0, result.err
        return icalendar.Calendar.from_ical(result.out)

    both = parsed()
    assert len(both.walk("VEVENT")) == 4 and len(both.walk("VTODO")) == 1
    assert [tz["TZID"] for tz in both.walk("VTIMEZONE")] == ["America/Sao_Paulo"]
    meetings = parsed("--what", "meetings")
    assert len(meetings.walk("VEVENT")) == 4 and meetings.walk("VTODO") == []
    assert meetings.walk("VTIMEZONE")
    todos = parsed("--what", "followups")
    assert todos.walk("VEVENT") == [] and len(todos.walk("VTODO")) == 1
    assert str(todos.walk("VTODO")[0]["STATUS"]) == "NEEDS-ACTION"
    assert len(parsed("--what", "meetings", "--what", "followups").walk()) == len(both.walk())

    bad = cli("export", "ics", "--what", "contacts")
    assert bad.code == 2 and "meetings and followups" in bad.err


def test_ics_uids_are_stable_across_exports_and_edits(cli: Run) -> None:
    seed_two_people_and_acme(cli)
    assert cli("import", "ics", str(FIXTURES / "google-calendar.ics")).code == 0
    assert cli("followup", "add", "Ana", "Call back", "--due", "2026-12-01 10:00").code == 0

    def uids() -> dict[str, str]:
        cal = icalendar.Calendar.from_ical(cli("export", "ics").out)
        return {
            str(c["SUMMARY"]): str(c["UID"]) for c in cal.walk() if c.name in ("VEVENT", "VTODO")
        }

    first = uids()
    assert first == uids()
    assert first["Weekly pipeline review, Acme"] == "7kukuqrfedlm2f9t0vr7hn5v3c@google.com"
    listed = cli("followup", "list", "--all", "--json").json()
    assert cli("followup", "snooze", str(listed[0]["id"]), "--until", "2026-12-05 09:00").code == 0
    assert cli("import", "ics", str(FIXTURES / "google-calendar.ics")).code == 0  # updates
    assert uids() == first
