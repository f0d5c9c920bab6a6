"""Pilot tests: real keys on a real SQLite demo database, asserting on the screen and the store."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from textual.widgets import DataTable, OptionList, Static
from tui_helpers import FIXED_NOW, drive, settle, shown

from pycrm import models as m
from pycrm.db import Database
from pycrm.tui.app import PycrmApp, create_app
from pycrm.tui.screens.contact import ContactScreen
from pycrm.tui.screens.contacts import ContactsScreen
from pycrm.tui.screens.deal import DealScreen
from pycrm.tui.screens.followups import FollowUpsScreen
from pycrm.tui.screens.pipeline import PipelineScreen, StageCards
from pycrm.tui.screens.today import TodayScreen


def app_for(database: Database) -> PycrmApp:
    return create_app(database, now=FIXED_NOW)


def test_starts_on_today_and_enter_opens_the_record(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        assert isinstance(app.screen, TodayScreen)
        text = shown(app.screen.query_one("#today-list", OptionList))
        assert "Overdue follow-ups" in text and "Deals closing within 7 days" in text
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen | DealScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, TodayScreen)

    drive(app, scenario)


def test_contacts_show_one_page_and_enter_opens_the_dossier(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ContactsScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 50
        assert "1–50 of 60" in shown(screen.query_one("#contacts-status", Static))
        first_name = str(table.get_row_at(0)[1])
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        assert first_name in shown(app.screen.query_one("#dossier-head", Static))
        assert "Timeline (newest first)" in shown(app.screen.query_one("#dossier-right", Static))

    drive(app, scenario)


def test_contacts_page_with_limit_offset(demo_db: Database, monkeypatch: Any) -> None:
    from pycrm.tui import data

    monkeypatch.setattr(data, "CONTACT_PAGE", 25)
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        table = screen.query_one(DataTable)
        assert table.row_count == 25
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert "26–50 of 60" in shown(screen.query_one("#contacts-status", Static))
        await pilot.press("up")  # past the top: back to the previous page, cursor on its end
        await settle(pilot)
        assert "1–25 of 60" in shown(screen.query_one("#contacts-status", Static))
        assert table.cursor_row == 24

    drive(app, scenario)


def _open_first_contact(pilot: Any) -> Any:
    async def go() -> None:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    return go()


def test_log_an_interaction_from_the_dossier(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await _open_first_contact(pilot)
        screen = app.screen
        assert isinstance(screen, ContactScreen)
        await pilot.press("l")
        await pilot.pause()
        form = app.screen
        form.query_one("#field-type").value = "visit"
        form.query_one("#field-when").value = "2026-11-19 15:30"
        form.query_one("#field-summary").focus()
        await pilot.press(*"[red]x[/red] demo")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "visit: [red]x[/red] demo" in shown(screen.query_one("#dossier-right", Static))
        with demo_db.read() as session:
            stored = session.scalars(
                sa.select(m.Interaction)
                .where(m.Interaction.contact_id == screen.contact_id)
                .order_by(m.Interaction.id.desc())  # type: ignore[union-attr]
            ).first()
        assert stored is not None and stored.summary == "[red]x[/red] demo"
        assert stored.type == "visit"

    drive(app, scenario)


def test_form_shows_bad_input_inline_and_does_not_save(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        await pilot.press(*"Zoe Test")
        form.query_one("#field-email").focus()
        await pilot.press(*"not-an-email")
        await pilot.pause()
        assert "not a valid e-mail" in shown(form.query_one("#error-email", Static))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        await pilot.press("q")  # typed into the field, not a quit
        assert app.is_running
        await pilot.press("escape")
        assert isinstance(app.screen, ContactsScreen)
        with demo_db.read() as session:
            assert (
                session.scalar(
                    sa.select(sa.func.count()).where(m.Contact.display_name == "Zoe Test")
                )
                == 0
            )

    drive(app, scenario)


def test_keys_typed_in_one_burst_across_tab_land_in_their_fields(demo_db: Database) -> None:
    """A fast typist, or a multiplexer sending a line at once: the text typed after a Tab
    goes to the next field even when the keys arrive before the app has caught up."""
    from textual import events
    from textual.widgets import Input

    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        keys = [*"Zoe", "tab", *"z@x.io", "tab", *"+55", "shift+tab", "tab", "tab", *"Acme"]
        for key in keys:
            character = key if len(key) == 1 else ("\t" if key == "tab" else None)
            app.post_message(events.Key(key, character))  # queued together, no pause between
        await settle(pilot)
        assert form.query_one("#field-display_name", Input).value == "Zoe"
        assert form.query_one("#field-email", Input).value == "z@x.io"
        assert form.query_one("#field-phone", Input).value == "+55"
        assert form.query_one("#field-company", Input).value == "Acme"

    drive(app, scenario)


def test_add_a_follow_up_then_undo_it(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await _open_first_contact(pilot)
        screen = app.screen
        await pilot.press("f")
        await pilot.pause()
        form = app.screen
        await pilot.press(*"Send the brochure")
        form.query_one("#field-when").value = "2026-11-27 09:00"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Send the brochure" in shown(screen.query_one("#dossier-left", Static))
        with demo_db.read() as session:
            assert (
                session.scalar(
                    sa.select(sa.func.count()).where(m.FollowUp.what == "Send the brochure")
                )
                == 1
            )
        await pilot.press("u")
        await settle(pilot)
        notes = [n.message for n in app._notifications]
        assert any("Undone: add follow-up" in n for n in notes)
        assert "Send the brochure" not in shown(screen.query_one("#dossier-left", Static))
        with demo_db.read() as session:
            assert (
                session.scalar(
                    sa.select(sa.func.count()).where(m.FollowUp.what == "Send the brochure")
                )
                == 0
            )

    drive(app, scenario)


def test_pipeline_moves_a_deal_and_records_history(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PipelineScreen)
        assert screen.query(StageCards).first().has_focus
        await pilot.press("right")
        cards = list(screen.query(StageCards))[1]
        assert cards.has_focus
        deal_id = screen.current_deal()
        assert deal_id is not None
        assert cards.head_text.startswith("Qualified  2")
        await pilot.press("greater_than_sign")
        await settle(pilot)
        with demo_db.read() as session:
            deal = session.get(m.Deal, deal_id)
            stage = session.get(m.Stage, deal.stage_id)
            history = session.scalars(
                sa.select(m.DealStageHistory.stage_id).where(m.DealStageHistory.deal_id == deal_id)
            ).all()
        assert stage.name == "Proposal"
        assert stage.id in history
        second = list(screen.query(StageCards))[2]
        assert f"deal-{deal_id}" in [
            second.get_option_at_index(i).id for i in range(second.option_count)
        ]

    drive(app, scenario)


def test_pipeline_lost_needs_a_reason(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("3")
        await settle(pilot)
        screen = app.screen
        await pilot.press("right")
        deal_id = screen.current_deal()
        assert deal_id is not None
        await pilot.press("x")
        await pilot.pause()
        await pilot.press(*"too expensive", "enter")
        await settle(pilot)
        with demo_db.read() as session:
            deal = session.get(m.Deal, deal_id)
            assert deal.lost_reason == "too expensive"
            assert session.get(m.Stage, deal.stage_id).kind == "lost"

    drive(app, scenario)


def test_follow_ups_mark_done_and_open(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FollowUpsScreen)
        text = shown(screen.query_one(OptionList))
        assert "Overdue (" in text and "Today (" in text and "Upcoming (" in text
        fid = screen.current()
        assert fid is not None
        await pilot.press("d")
        await settle(pilot)
        with demo_db.read() as session:
            assert session.get(m.FollowUp, fid).done_at is not None
        assert fid not in screen.lines
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen | DealScreen)

    drive(app, scenario)


def test_bulk_done_with_selection(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        await pilot.press("v", "v")
        chosen = set(screen.selected)
        assert len(chosen) == 2
        await pilot.press("d")
        await settle(pilot)
        with demo_db.read() as session:
            for fid in chosen:
                assert session.get(m.FollowUp, fid).done_at is not None

    drive(app, scenario)


def test_delete_asks_first(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        name = str(table.get_row_at(0)[1])
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("n")
        await settle(pilot)
        with demo_db.read() as session:
            assert session.scalar(sa.select(sa.func.count()).where(m.Contact.display_name == name))
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        with demo_db.read() as session:
            assert not session.scalar(
                sa.select(sa.func.count()).where(m.Contact.display_name == name)
            )

    drive(app, scenario)


def test_markup_in_names_is_shown_literally(demo_db: Database) -> None:
    from pycrm.services import contacts

    with demo_db.write("add", source="cli") as session:
        cid = contacts.create_contact(session, "[bold red]Evil[/] \x1b[31mName", emails=[]).id
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        app.open_contact(cid)
        await settle(pilot)
        head = shown(app.screen.query_one("#dossier-head", Static))
        assert "[bold red]Evil[/] " in head
        assert "\x1b" not in head

    drive(app, scenario)


def test_cli_changes_appear_on_refresh(demo_db: Database) -> None:
    from pycrm.services import contacts

    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        with demo_db.write("add", source="cli") as session:
            contacts.create_contact(session, "Aaron Aardvark")
        await pilot.press("r")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert str(table.get_row_at(0)[1]) == "Aaron Aardvark"

    drive(app, scenario)


def test_q_quits(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running

    drive(app, scenario)


def test_works_at_80x24(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        for key in "12345":
            await pilot.press(key)
            await settle(pilot)
        assert app.current_mode == "calendar"
        assert "meeting(s) in the next 4 weeks" in shown(app.screen.query_one("#calendar-status"))

    drive(app, scenario, size=(80, 24))


def test_the_keys_panel_lists_the_six_screens_in_order(demo_db: Database) -> None:
    """Key 6 (Reports) sits after 5 (Calendar) in the keys panel, not after the palette."""
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await settle(pilot)
        keys = list(app.screen.active_bindings)
        assert [keys.index(key) for key in "123456"] == list(
            range(keys.index("1"), keys.index("1") + 6)
        )
        await pilot.press("6")
        await settle(pilot)
        assert type(app.screen).__name__ == "ReportsScreen"

    drive(app, scenario)


def test_bulk_tag_contacts_and_bulk_move_deals(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        await pilot.press("space", "space")
        chosen = set(screen.selected)
        assert len(chosen) == 2
        await pilot.press("g")
        await pilot.pause()
        await pilot.press(*"hot-lead", "enter")
        await settle(pilot)
        with demo_db.read() as session:
            tagged = set(
                session.scalars(
                    sa.select(m.ContactTag.contact_id)
                    .join(m.Tag, m.Tag.id == m.ContactTag.tag_id)
                    .where(m.Tag.name == "hot-lead")
                )
            )
        assert tagged == chosen
        assert "hot-lead" in str(screen.query_one(DataTable).get_row_at(0)[5])

        await pilot.press("3")
        await settle(pilot)
        board = app.screen
        await pilot.press("right", "space", "space")
        deals = set(board.selected)
        assert len(deals) == 2
        await pilot.press("shift+right")
        await settle(pilot)
        with demo_db.read() as session:
            names = {session.get(m.Stage, session.get(m.Deal, d).stage_id).name for d in deals}
        assert names == {"Proposal"}
        await pilot.press("u")
        await settle(pilot)
        with demo_db.read() as session:
            names = {session.get(m.Stage, session.get(m.Deal, d).stage_id).name for d in deals}
        assert names == {"Qualified"}

    drive(app, scenario)


def test_command_palette_switches_screens_and_goes_to_a_contact(demo_db: Database) -> None:
    from textual.command import CommandPalette

    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Go to Follow-ups")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "followups"

        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press("down")  # the discovery list: Textual's and our commands
        await settle(pilot)
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        options = palette.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        contact_rows = [i for i, p in enumerate(prompts) if p.startswith("Go to contact: ")]
        assert contact_rows, prompts
        name = prompts[contact_rows[0]].split("\n")[0].removeprefix("Go to contact: ")
        options.highlighted = contact_rows[0]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        assert name in shown(app.screen.query_one("#dossier-head", Static))

    drive(app, scenario)


def test_edit_keeps_what_was_not_touched(demo_db: Database) -> None:
    from pycrm.services import contacts

    with demo_db.write("add", source="cli") as session:
        cid = contacts.create_contact(
            session, "Edna Edit", emails=["edna@a.example", "edna@b.example"]
        ).id
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        app.open_contact(cid)
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        form.query_one("#field-title").value = "Buyer"
        form.query_one("#field-do_not_contact").value = "yes"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "DO NOT CONTACT" in shown(app.screen.query_one("#dossier-head", Static))
        with demo_db.read() as session:
            c = contacts.get_contact(session, cid)
            assert c.title == "Buyer" and c.do_not_contact
            assert [e for e, _ in contacts.contact_emails(session, cid)] == [
                "edna@a.example",
                "edna@b.example",
            ]

    drive(app, scenario)


def test_add_a_deal_on_the_pipeline_and_a_meeting_on_the_calendar(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        await pilot.press(*"Big one")
        form.query_one("#field-amount").value = "12x"
        await pilot.pause()
        assert shown(form.query_one("#error-amount", Static))
        form.query_one("#field-amount").value = "1200.50"
        form.query_one("#field-currency").value = "USD"
        await pilot.press("ctrl+s")
        await settle(pilot)
        with demo_db.read() as session:
            deal = session.scalars(sa.select(m.Deal).where(m.Deal.title == "Big one")).one()
            assert (deal.amount, deal.currency) == (120050, "USD")
        lead = app.screen.query(StageCards).first()
        assert f"deal-{deal.id}" in [
            lead.get_option_at_index(i).id for i in range(lead.option_count)
        ]

        await pilot.press("5")
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        await pilot.press(*"Weekly sync")
        form.query_one("#field-when").value = "2026-11-23 10:00"
        form.query_one("#field-repeat").value = "weekly"
        await pilot.press("ctrl+s")
        await settle(pilot)
        text = shown(app.screen.query_one("#calendar-list", OptionList))
        assert text.count("Weekly sync ↻") == 4

    drive(app, scenario)


def test_every_screen_and_a_logged_call_on_both_databases(database: Database) -> None:
    from pycrm.demo import seed_demo

    seed_demo(database, contacts=30, seed=3, now=FIXED_NOW)
    app = app_for(database)

    async def scenario(pilot: Any) -> None:
        for key in "2345":
            await pilot.press(key)
            await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ContactScreen)
        await pilot.press("l")
        await pilot.pause()
        app.screen.query_one("#field-summary").value = "Quick check-in"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "call: Quick check-in" in shown(screen.query_one("#dossier-right", Static))

    drive(app, scenario)


def test_sort_and_tag_filter(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        await pilot.press("o", "o")
        await settle(pilot)
        assert "sort value" in shown(screen.query_one("#contacts-status", Static))
        table = screen.query_one(DataTable)
        assert str(table.get_row_at(0)[7]).strip()  # the top customer has won value
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"vip", "enter")
        await settle(pilot)
        assert "tag vip" in shown(screen.query_one("#contacts-status", Static))
        assert table.row_count > 0
        assert all("vip" in str(table.get_row_at(i)[5]) for i in range(table.row_count))
        company = str(table.get_row_at(0)[2])
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("ctrl+u", "enter")  # empty answer: every tag again
        await pilot.press("c")
        await pilot.pause()
        await pilot.press(*company, "enter")
        await settle(pilot)
        await settle(pilot)
        assert f"company {company}" in shown(screen.query_one("#contacts-status", Static))
        assert {str(table.get_row_at(i)[2]) for i in range(table.row_count)} == {company}

    drive(app, scenario)


def test_search_filters_as_you_type_and_opens(demo_db: Database) -> None:
    app = app_for(demo_db)
    with demo_db.read() as session:
        target = session.scalars(
            sa.select(m.Contact).order_by(m.Contact.id.desc())  # type: ignore[union-attr]
        ).first()
    assert target is not None
    family = (target.family_name or target.display_name).split()[-1]

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        await pilot.press("slash")
        assert screen.query_one("#contact-search").has_focus
        await pilot.press(*family)
        await settle(pilot)
        table = screen.query_one(DataTable)
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert target.display_name in names
        assert len(names) < 60
        assert f"search {family!r}" in shown(screen.query_one("#contacts-status", Static))
        await pilot.press("enter")  # back to the table
        table.move_cursor(row=names.index(target.display_name))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        assert app.screen.contact_id == target.id

    drive(app, scenario)


def test_stale_search_results_are_dropped(demo_db: Database) -> None:
    from pycrm.tui import data

    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        old = data.ContactPage(rows=[], offset=0, total=0, query="old")
        screen.generation += 1
        current = screen.generation
        screen.show_page(old, current - 1)  # an answer to an earlier keystroke arrives late
        assert screen.query_one(DataTable).row_count == 50

    drive(app, scenario)


def test_keys_arriving_with_the_slash_go_to_the_search_box(demo_db: Database) -> None:
    """A paste, or a terminal multiplexer sending `/oli` at once: every key after the `/` is
    typed into the search box, none reaches the table (where `o` would change the sort)."""
    from textual import events
    from textual.widgets import Input

    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ContactsScreen)
        for key, character in [("slash", "/"), ("o", "o"), ("l", "l"), ("i", "i")]:
            app.post_message(events.Key(key, character))  # queued together, no pause between
        await settle(pilot)
        assert screen.query_one("#contact-search", Input).value == "oli"
        status = shown(screen.query_one("#contacts-status", Static))
        assert "search 'oli'" in status
        assert screen.sort == "name"
        await pilot.press("slash")  # in the box, `/` is just a character
        assert screen.query_one("#contact-search", Input).value == "oli/"

    drive(app, scenario)


def _break(database: Database, *statements: str) -> None:
    """Make the database fail the way a full disk or a damaged file would, behind the app."""
    import sqlite3

    assert database.path is not None
    conn = sqlite3.connect(database.path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_a_save_that_fails_unexpectedly_keeps_the_form_and_says_why(demo_db: Database) -> None:
    from textual.widgets import Input

    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        await pilot.press(*"Zoe Falha")
        _break(
            demo_db,
            "CREATE TRIGGER full_disk BEFORE INSERT ON contact "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # what was typed is still there
        assert form.query_one("#field-display_name", Input).value == "Zoe Falha"
        error = shown(form.query_one("#form-error", Static))
        assert error == "Not saved: database or disk is full"
        notes = [(n.message, n.severity) for n in app._notifications]
        assert ("Something went wrong: database or disk is full", "error") in notes

    drive(app, scenario)


def test_a_screen_that_cannot_load_says_so(demo_db: Database) -> None:
    app = app_for(demo_db)

    async def scenario(pilot: Any) -> None:
        _break(demo_db, "ALTER TABLE meeting RENAME TO meeting_gone")
        await pilot.press("5")
        await settle(pilot)
        notes = [(n.message, n.severity) for n in app._notifications]
        assert ("Something went wrong: no such table: meeting", "error") in notes
        assert app.is_running

    drive(app, scenario)


def test_the_keys_panel_follows_you_from_screen_to_screen(demo_db: Database) -> None:
    app = app_for(demo_db)

    def panels() -> dict[str, bool]:
        return {
            mode: any(bool(screen.query("HelpPanel")) for screen in stack)
            for mode, stack in app._screen_stacks.items()
            if stack and mode != "_default"
        }

    async def scenario(pilot: Any) -> None:
        await pilot.press("question_mark")
        await settle(pilot)
        assert panels() == {"today": True}
        await pilot.press("3")
        await settle(pilot)
        assert panels() == {"today": False, "pipeline": True}  # only the screen in view has it
        await pilot.press("question_mark", "2")
        await settle(pilot)
        assert not any(panels().values())
        await pilot.press("question_mark", "1")
        await settle(pilot)
        assert panels() == {"today": True, "pipeline": False, "contacts": False}

    drive(app, scenario)
