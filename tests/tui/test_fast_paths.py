"""The app's fast paths draw what the slow ones drew: table rows, the Today agenda in parts, and
searches that never pile up while one is running."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.widgets import DataTable, OptionList
from textual.widgets.data_table import ColumnKey
from tui_helpers import FIXED_NOW, drive, settle, shown

from pycrm.db import Database
from pycrm.tui import data
from pycrm.tui.app import create_app
from pycrm.tui.screens.contacts import ContactsScreen
from pycrm.tui.screens.today import TodayScreen
from pycrm.tui.widgets.fast_table import FastTable

ROWS = [
    [Text("✓", style="bold"), Text("Zoë Ångström-Müller"), Text("€1,200.00", justify="right")],
    [
        Text(" ", style="bold"),
        Text("A name far too long for its column"),
        Text("", justify="right"),
    ],
    [
        Text(" ", style="bold"),
        Text("李小龍 and friends"),
        Text("12,345,678.00 BRL", justify="right"),
    ],
    [Text(" "), Text(""), Text("$3", justify="right")],
]


@pytest.mark.parametrize(
    ("cursor_type", "zebra", "width"),
    [
        ("row", True, None),
        ("row", False, None),
        ("row", True, 20),  # narrower than its columns: lines cropped, then scrolled across
        ("cell", True, None),
        ("cell", False, 20),
        ("column", False, None),
        ("none", False, None),
    ],
)
def test_fast_table_draws_rows_exactly_like_data_table(
    cursor_type: Any, zebra: bool, width: int | None
) -> None:
    class Pair(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(id="slow", cursor_type=cursor_type, zebra_stripes=zebra)
            yield FastTable(id="fast", cursor_type=cursor_type, zebra_stripes=zebra)

    async def main() -> None:
        app = Pair()
        async with app.run_test(size=(60, 20)) as pilot:
            tables = [app.query_one("#slow", DataTable), app.query_one("#fast", FastTable)]
            for table in tables:
                table.styles.height = 8
                if width is not None:
                    table.styles.width = width
                table.add_column(" ", key="sel", width=1)
                table.add_column("Name", key="name", width=12)
                table.add_column("Value", key="value", width=10)
                for n, row in enumerate(ROWS):
                    table.add_row(*row, key=str(n))
                table.move_cursor(row=1, column=1)

            async def lines(table: DataTable[Any], focus: bool, hover: bool) -> list[Any]:
                app.set_focus(table if focus else None)
                table._set_hover_cursor(hover)
                table.hover_coordinate = Coordinate(2, 2) if hover else Coordinate(0, 0)
                await pilot.pause()
                await pilot.pause()
                return [[(s.text, s.style) for s in table.render_line(y)] for y in range(6)]

            for scroll_x in (0, 7) if width else (0,):
                for table in tables:
                    table.scroll_to(x=scroll_x, animate=False, immediate=True)
                for focus, hover in ((False, False), (True, False), (True, True)):
                    slow = await lines(tables[0], focus, hover)
                    fast = await lines(tables[1], focus, hover)
                    assert fast == slow, (scroll_x, focus, hover)
                # The paint path (the widget's style read once per paint) draws the same.
                app.set_focus(None)
                await pilot.pause()
                region = Region(0, 0, tables[0].size.width, 6)
                painted = [[list(strip) for strip in t.render_lines(region)] for t in tables]
                assert painted[1] == painted[0]

            # The header (kept while the columns stay the same) follows a new label and new rows.
            for table in tables:
                table.columns[ColumnKey("name")].label = Text("Full name")
                table.add_row(Text("+"), Text("Ana"), Text("1", justify="right"), key="new")
                table.refresh()
            assert await lines(tables[1], True, False) == await lines(tables[0], True, False)
            assert "l name" in "".join(s.text for s in tables[1].render_line(0))

    asyncio.run(main())


def test_fast_option_list_draws_what_option_list_draws() -> None:
    from textual.widgets.option_list import Option

    from pycrm.tui.widgets.fast_options import FastOptionList

    def options() -> list[Option]:
        return [
            Option(Text("Meetings today (2)", style="bold"), id="h0", disabled=True),
            Option(Text("  10:00  Call Zoë Ångström-Müller"), id="a"),
            Option(Text("  nothing", style="dim"), id="e1", disabled=True),
            Option(Text("  a line far too long to fit the width of this narrow list " * 2), id="b"),
            Option(Text("  … and 40 more", style="dim"), id="c"),
        ]

    class Lists(App[None]):
        def compose(self) -> ComposeResult:
            yield OptionList(*options(), id="slow")
            yield FastOptionList(*options(), id="fast")

    async def main() -> None:
        app = Lists()
        async with app.run_test(size=(60, 20)) as pilot:
            lists = list(app.query(OptionList))
            for option_list in lists:
                option_list.styles.height = 8
                option_list.highlighted = 1
            await pilot.pause()

            async def lines(option_list: OptionList, focus: bool) -> list[Any]:
                app.set_focus(option_list if focus else None)
                await pilot.pause()
                await pilot.pause()
                return [[(s.text, s.style) for s in option_list.render_line(y)] for y in range(7)]

            for focus in (False, True):
                assert await lines(lists[1], focus) == await lines(lists[0], focus)

    asyncio.run(main())


def test_today_in_parts_is_the_agenda_service_s_today(demo_db: Database) -> None:
    parts = {part: data.today_part(demo_db, part, FIXED_NOW) for part in data.TODAY_PARTS}
    assert data.today_from_parts(parts) == data.today(demo_db, FIXED_NOW)


def test_today_paints_its_frame_before_the_agenda_arrives(
    demo_db: Database, monkeypatch: Any
) -> None:
    release = threading.Event()
    read_part = data.today_part

    def slow_part(database: Database, part: str, now: Any) -> dict[str, Any]:
        release.wait(10)
        return read_part(database, part, now)

    monkeypatch.setattr(data, "today_part", slow_part)
    app = create_app(demo_db, now=FIXED_NOW)

    async def main() -> None:
        async with app.run_test() as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, TodayScreen)
            text = shown(screen.query_one("#today-list", OptionList))
            assert text.count("(loading…)") == 7 and "nothing" not in text
            assert screen.drawn_parts == 0 and not screen.complete
            release.set()
            await settle(pilot)
            while not screen.complete:
                await pilot.pause(0.01)
            assert screen.drawn_parts == len(data.TODAY_PARTS)
            assert "loading" not in shown(screen.query_one("#today-list", OptionList))

    asyncio.run(main())


def test_today_reads_its_agenda_without_the_models(demo_db: Database) -> None:
    """The start-up path stays off SQLModel and the ORM (~0.4 s of import that held the
    interpreter lock while the first screen was drawn); they load in the background after."""
    script = f"""
import asyncio, sys
from datetime import datetime
from pycrm.db import open_database
from pycrm.tui.app import PycrmApp, create_app

PycrmApp.warm_up = lambda self: None  # the background import that follows a whole agenda
app = create_app(open_database({str(demo_db.path)!r}), now=datetime.fromisoformat(
    {FIXED_NOW.isoformat()!r}))

async def main():
    async with app.run_test() as pilot:
        while not getattr(app.screen, "complete", False):
            await pilot.pause(0.01)

asyncio.run(main())
print(sorted(m for m in ("pycrm.models", "sqlmodel", "sqlalchemy.orm") if m in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_contacts_page_and_search_read_without_the_models(demo_db: Database) -> None:
    """Contacts opened at once (before the background import) and searched stay off the ORM:
    the page and each keystroke's rows come from the views ``contact list`` prints."""
    script = f"""
import asyncio, sys
from datetime import datetime
from pycrm.db import open_database
from pycrm.tui.app import PycrmApp, create_app
from pycrm.tui.screens.contacts import ContactsScreen

PycrmApp.warm_up = lambda self: None
app = create_app(open_database({str(demo_db.path)!r}), now=datetime.fromisoformat(
    {FIXED_NOW.isoformat()!r}))

async def main():
    async with app.run_test() as pilot:
        await pilot.press("2")
        while not (isinstance(app.screen, ContactsScreen) and app.screen.rows):
            await pilot.pause(0.01)
        await pilot.press("slash", "m", "a")
        while app.screen.shown_generation != app.screen.generation:
            await pilot.pause(0.01)
        print(app.screen.query_text, len(app.screen.rows) > 0)

asyncio.run(main())
print(sorted(m for m in ("pycrm.models", "sqlmodel", "sqlalchemy.orm") if m in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip().splitlines()[-2:] == ["ma True", "[]"]


def test_today_shows_parts_as_they_arrive(demo_db: Database) -> None:
    app = create_app(demo_db, now=FIXED_NOW)

    async def scenario(pilot: Any) -> None:
        screen = app.screen
        assert isinstance(screen, TodayScreen) and screen.complete
        first = data.today_part(demo_db, "followups", FIXED_NOW)
        screen.generation += 1
        screen.parts = {}
        screen.part_loaded("followups", first, screen.generation)
        await pilot.pause(0.1)  # parts arriving together are drawn once, a moment later
        assert not screen.complete
        text = shown(screen.query_one("#today-list", OptionList))
        assert "Overdue follow-ups (" in text
        assert "Going cold (due a touch) (loading…)" in text
        # A section still loading says so once, not "nothing".
        assert text.count("nothing") == shown_nothing(first)
        screen.part_loaded("followups", first, screen.generation - 1)  # stale: dropped
        screen.reload()
        await settle(pilot)
        assert screen.complete and "loading" not in shown(screen.query_one("#today-list"))

    drive(app, scenario)


def shown_nothing(first: dict[str, Any]) -> int:
    return sum(1 for key in ("meetings", "overdue", "due_today") if not first[key])


def test_keystrokes_during_a_search_keep_only_the_newest_query(
    demo_db: Database, monkeypatch: Any
) -> None:
    real = data.search_contacts
    asked: list[str] = []
    gate = threading.Event()

    def slow_search(database: Database, query: str, **kwargs: Any) -> data.ContactPage:
        asked.append(query)
        gate.wait(10)
        return real(database, query, **kwargs)

    monkeypatch.setattr(data, "search_contacts", slow_search)
    app = create_app(demo_db, now=FIXED_NOW)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ContactsScreen)
        await pilot.press("slash", "s", "i")  # "si" starts a search, which blocks
        await pilot.press("l", "v")  # typed while it runs: only "silv" waits
        assert asked == ["si"]
        gate.set()
        for _ in range(100):
            await pilot.pause(0.01)
            if screen.shown_generation == screen.generation:
                break
        await settle(pilot)
        assert asked == ["si", "silv"]
        assert screen.shown_generation == screen.generation
        assert "search 'silv'" in shown(screen.query_one("#contacts-status"))

    drive(app, scenario)


def test_pipeline_columns_hold_a_screenful_and_page_with_brackets(demo_db: Database) -> None:
    from pycrm.services import deals, stages
    from pycrm.tui.screens.pipeline import PipelineScreen, StageCards

    with demo_db.write("add", source="cli") as session:
        first = stages.list_stages(session)[0]
        for n in range(25):
            deals.create_deal(session, f"Extra {n:02d}", amount=100, stage=first.id)
    app = create_app(demo_db, now=FIXED_NOW)

    async def scenario(pilot: Any) -> None:
        await pilot.press("3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PipelineScreen)
        per_column = screen.per_column
        assert 5 <= per_column < data.CARDS_PER_COLUMN  # a 24-line terminal shows ~7 cards
        cards = screen.query_one(f"#cards-{first.id}", StageCards)
        text = shown(cards)
        total = next(c.count for c in screen.board.columns if c.id == first.id)  # type: ignore[union-attr]
        assert f"↓ {total - per_column} more (])" in text
        cards.focus()
        await pilot.press("right_square_bracket")
        await settle(pilot)
        text = shown(cards)
        assert f"↑ {per_column} more ([)" in text
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert "↑" not in shown(cards)

    drive(app, scenario, size=(100, 24))


def test_today_left_while_loading_is_whole_when_back(demo_db: Database) -> None:
    app = create_app(demo_db, now=FIXED_NOW)

    async def main() -> None:
        async with app.run_test() as pilot:
            await pilot.press("2")  # at once, while the agenda is still being read
            await settle(pilot)
            assert isinstance(app.screen, ContactsScreen)
            await pilot.press("1")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, TodayScreen) and screen.complete
            text = shown(screen.query_one("#today-list", OptionList))
            assert "loading" not in text and "Overdue follow-ups (" in text

    asyncio.run(main())


def test_fast_table_scrollbars_follow_its_rows_but_not_other_widgets_layouts() -> None:
    from textual.scrollbar import ScrollBar
    from textual.widgets import Input

    class Screenful(App[None]):
        def compose(self) -> ComposeResult:
            yield Input(id="box")
            yield FastTable(id="table", cursor_type="row")

    async def main() -> None:
        app = Screenful()
        async with app.run_test(size=(60, 20)) as pilot:
            table = app.query_one(FastTable)
            table.styles.height = 10
            table.add_column("Name", key="name", width=12)

            async def show(rows: int) -> None:
                table.clear()
                for n in range(rows):
                    table.add_row(Text(f"row {n}"), key=str(n))
                await pilot.pause()
                await pilot.pause()

            await show(40)
            assert table.show_vertical_scrollbar
            assert table.vertical_scrollbar.window_virtual_size == 41
            await show(3)
            assert not table.show_vertical_scrollbar
            await show(25)
            assert table.show_vertical_scrollbar
            assert table.vertical_scrollbar.window_virtual_size == 26

            refreshed: list[ScrollBar] = []
            real = ScrollBar.refresh

            def counted(self: ScrollBar, *args: Any, **kwargs: Any) -> Any:
                refreshed.append(self)
                return real(self, *args, **kwargs)

            ScrollBar.refresh = counted  # type: ignore[method-assign]
            try:
                app.query_one("#box", Input).focus()
                await pilot.press("a", "b", "c")  # each a layout of the screen
                await pilot.pause()
            finally:
                ScrollBar.refresh = real  # type: ignore[method-assign]
            assert not refreshed

    asyncio.run(main())


def test_warm_up_takes_what_start_up_loaded_out_of_full_collections() -> None:
    """A full garbage collection walked every object of Textual, SQLAlchemy and the models
    (~200 ms, in the middle of a keystroke); after the warm-up they are frozen."""
    import gc

    from pycrm.tui.app import PycrmApp

    PycrmApp._warm_up()
    assert gc.get_freeze_count() > 50_000


def test_a_keystroke_that_leaves_the_query_as_shown_does_not_search_again(
    demo_db: Database, monkeypatch: Any
) -> None:
    real = data.search_contacts
    asked: list[str] = []

    def counted(database: Database, query: str, **kwargs: Any) -> data.ContactPage:
        asked.append(query)
        return real(database, query, **kwargs)

    monkeypatch.setattr(data, "search_contacts", counted)
    app = create_app(demo_db, now=FIXED_NOW)

    async def scenario(pilot: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ContactsScreen)
        await pilot.press("slash", "s", "i")
        await settle(pilot)
        rows = screen.query_one(DataTable).row_count
        await pilot.press("space")  # "si ": the same words
        await settle(pilot)
        assert asked == ["si"]
        assert screen.shown_generation == screen.generation
        assert screen.query_one(DataTable).row_count == rows
        await pilot.press("backspace", "backspace")  # "si" (as shown), then "s": one letter
        await settle(pilot)
        assert "at least 2" in shown(screen.query_one("#contacts-status"))
        await pilot.press("i")  # "si" again: its rows are still the ones shown
        await settle(pilot)
        assert asked == ["si"]
        assert f"search 'si': {rows} found" in shown(screen.query_one("#contacts-status"))
        await pilot.press("l")
        await settle(pilot)
        assert asked == ["si", "sil"]
        assert screen.shown_generation == screen.generation
        # si, "si ", si, si, sil: each keystroke's rows (or status) painted
        assert len(screen.search_latencies) == 5

    drive(app, scenario)


def test_replace_rows_leaves_the_table_as_clear_and_add_row_do() -> None:
    from textual.widgets.data_table import DuplicateKey

    events: list[tuple[str, int, str]] = []

    class Pair(App[None]):
        def compose(self) -> ComposeResult:
            yield FastTable(id="one", cursor_type="row", zebra_stripes=True)
            yield FastTable(id="bulk", cursor_type="row", zebra_stripes=True)

        def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
            events.append((str(event.data_table.id), event.cursor_row, str(event.row_key.value)))

    async def main() -> None:
        app = Pair()
        async with app.run_test(size=(60, 30)) as pilot:
            one, bulk = app.query_one("#one", FastTable), app.query_one("#bulk", FastTable)
            app.set_focus(None)  # both drawn alike
            for table in (one, bulk):
                table.styles.height = 10
                table.add_column(" ", key="sel", width=1)
                table.add_column("Name", key="name", width=12)
                table.add_column("Value", key="value", width=10)
            for rows in (ROWS, ROWS[1:], [], ROWS[:2]):
                keyed = [(f"k{n}", row) for n, row in enumerate(rows)]
                one.clear()
                for key, cells in keyed:
                    one.add_row(*cells, key=key)
                bulk.replace_rows(keyed)
                await pilot.pause()
                await pilot.pause()
                for table in (one, bulk):
                    assert table.row_count == len(rows)
                assert [one.get_row_at(i) for i in range(one.row_count)] == [
                    bulk.get_row_at(i) for i in range(bulk.row_count)
                ]
                assert one.virtual_size == bulk.virtual_size
                assert one.cursor_coordinate == bulk.cursor_coordinate
                assert [list(one.render_line(y)) for y in range(5)] == [
                    list(bulk.render_line(y)) for y in range(5)
                ]
            highlighted = {
                name: [e[1:] for e in events if e[0] == name] for name in ("one", "bulk")
            }
            assert highlighted["one"] == highlighted["bulk"] != []
            try:
                bulk.replace_rows([("a", ROWS[0]), ("a", ROWS[1])])
            except DuplicateKey:
                pass
            else:
                raise AssertionError("a duplicate key was accepted")

    asyncio.run(main())


def test_fast_table_follows_a_change_of_theme() -> None:
    """Its cells' styles are kept between paints: a new theme must not draw with old ones."""

    class Pair(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(id="slow", cursor_type="row", zebra_stripes=True)
            yield FastTable(id="fast", cursor_type="row", zebra_stripes=True)

    async def main() -> None:
        app = Pair()
        async with app.run_test(size=(60, 20)) as pilot:
            tables = [app.query_one("#slow", DataTable), app.query_one("#fast", FastTable)]
            for table in tables:
                table.styles.height = 8
                table.add_column(" ", key="sel", width=1)
                table.add_column("Name", key="name", width=12)
                for n, row in enumerate(ROWS):
                    table.add_row(*row[:2], key=str(n))
            app.set_focus(None)

            async def painted(table: DataTable[Any]) -> list[Any]:
                await pilot.pause()
                await pilot.pause()
                return [list(strip) for strip in table.render_lines(Region(0, 0, 60, 6))]

            first = await painted(tables[1])
            assert first == await painted(tables[0])
            for theme in ("textual-light", "nord"):
                app.theme = theme
                fast = await painted(tables[1])
                assert fast == await painted(tables[0]) and fast != first

    asyncio.run(main())
