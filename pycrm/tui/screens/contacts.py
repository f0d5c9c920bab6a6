"""Contacts: a paged table of people (never every row in the widget), search, filters, bulk."""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Header, Input, Static

from pycrm.tui import data
from pycrm.tui.screens.base import BaseScreen
from pycrm.tui.screens.modals import ConfirmModal, PromptModal
from pycrm.tui.widgets.fast_table import FastTable
from pycrm.tui.widgets.footer import QuietFooter

SORTS = ("name", "recent", "value")
MIN_SEARCH = 2


class ContactTable(FastTable):
    """A DataTable holding one page; moving past either end asks for the next page."""

    class PageWanted(Message):
        """The cursor went past the end (+1) or the start (-1) of the page."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def action_cursor_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self.post_message(self.PageWanted(1))
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.row_count and self.cursor_row <= 0:
            self.post_message(self.PageWanted(-1))
            return
        super().action_cursor_up()


class ContactsScreen(BaseScreen):
    """People: `/` searches as you type, `t`/`c` filter, `o` sorts, space selects, Enter opens."""

    BINDINGS = [
        # A priority binding: the app runs it as the key arrives, before handing the next keys
        # to the focused widget, so the keys of one burst (a paste, tmux) that follow `/` reach
        # the search box; as an ordinary binding they all went to the table first (an `o`
        # among them changed the sort).
        Binding(
            "slash",
            "search",
            "Search",
            id="contacts.search",
            tooltip="Search people",
            priority=True,
        ),
        Binding("a", "add", "Add", id="contacts.add", tooltip="Add a person"),
        Binding(
            "space", "toggle_select", "Select", id="contacts.toggle", tooltip="Select this row"
        ),
        Binding(
            "ctrl+a",
            "select_all",
            "All",
            id="contacts.select_all",
            tooltip="Select all shown",
            show=False,
        ),
        Binding("t", "filter_tag", "Tag filter", id="contacts.tag", tooltip="Show one tag"),
        Binding(
            "c",
            "filter_company",
            "Company",
            id="contacts.company",
            tooltip="Show one company",
            show=False,
        ),
        Binding("o", "sort", "Sort", id="contacts.sort", tooltip="Sort by name / recent / value"),
        Binding(
            "g",
            "bulk_tag",
            "Tag selected",
            id="contacts.bulk_tag",
            tooltip="Tag the selection",
            show=False,
        ),
        Binding(
            "delete",
            "delete",
            "Delete",
            id="contacts.delete",
            tooltip="Delete the selection",
            show=False,
        ),
        Binding("right_square_bracket", "page(1)", "Next page", id="contacts.next", show=False),
        Binding("left_square_bracket", "page(-1)", "Prev page", id="contacts.prev", show=False),
        Binding("escape", "clear", "Clear", id="contacts.clear", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page_offset = 0
        self.page_total = 0
        self.sort = "name"
        self.tag: str | None = None
        self.company: tuple[int, str] | None = None
        self.query_text = ""
        self.shown_query = ""  # what the rows shown answer ("" for a page of the book)
        self.generation = 0
        self.shown_generation = -1
        # When each search keystroke arrived, and how long until its rows were painted (bench/).
        self.typed_at: dict[int, float] = {}
        self.search_latencies: list[float] = []
        self.selected: set[int] = set()
        self.rows: list[data.ContactRow] = []
        self.cursor_to: str = "keep"
        self.searching = False
        self.pending_search: tuple[str, int] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="/ search people…", id="contact-search", compact=True)
        yield Static("", id="contacts-status", classes="status")
        table = ContactTable(id="contacts-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield QuietFooter()

    def on_mount(self) -> None:
        table = self.query_one(ContactTable)
        table.add_column(" ", key="sel", width=1)
        table.add_column("Name", key="name", width=20)
        table.add_column("Company", key="company", width=16)
        table.add_column("E-mail", key="email", width=24)
        table.add_column("Phone", key="phone", width=15)
        table.add_column("Tags", key="tags", width=12)
        table.add_column("Last touch", key="last", width=10)
        table.add_column("Won value", key="value", width=14)
        table.focus()

    # ------------------------------------------------------------------------------ loading

    def reload(self) -> None:
        if self.query_text:
            self.generation += 1
            self.request_search(self.query_text, self.generation)
        else:
            self.load_page(self.page_offset)

    def load_page(self, offset: int) -> None:
        """Ask for one page; only the answer to the latest request is shown."""
        self.generation += 1
        company_id = self.company[0] if self.company else None
        self._fetch_page(offset, self.sort, self.tag, company_id, self.generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="contacts")
    def _fetch_page(
        self, offset: int, sort: str, tag: str | None, company_id: int | None, generation: int
    ) -> None:
        """Fetch one page with LIMIT/OFFSET."""
        page = data.contact_page(
            self.crm.database, offset=offset, sort=sort, tag=tag, company_id=company_id
        )
        self.app.call_from_thread(self.show_page, page, generation)

    def request_search(self, query: str, generation: int) -> None:
        """Search now, or as soon as the search under way returns (only the newest query).

        A thread cannot be stopped mid-query, so searches never pile up: while one runs, each
        keystroke only replaces the query waiting for it; stale answers are dropped on arrival.
        """
        if self.searching:
            self.pending_search = (query, generation)
            return
        self.searching = True
        self.run_search(query, generation)

    @work(thread=True, exit_on_error=False, group="contacts-search")
    def run_search(self, query: str, generation: int) -> None:
        """Search through the search service (in a thread)."""
        page: data.ContactPage | None = None
        try:
            if not data.search_available():
                self.app.call_from_thread(
                    self.notify, "search is not available yet", severity="warning"
                )
            else:
                page = data.search_contacts(self.crm.database, query)
        finally:
            self.app.call_from_thread(self._search_done, page, generation)

    def _search_done(self, page: data.ContactPage | None, generation: int) -> None:
        self.searching = False
        if page is not None:
            self.show_page(page, generation)
        if self.pending_search is not None:
            query, pending = self.pending_search
            self.pending_search = None
            if pending == self.generation:  # still what the box says
                self.request_search(query, pending)

    def show_page(self, page: data.ContactPage, generation: int) -> None:
        """Put one page in the table (only if it answers the latest request)."""
        if generation != self.generation:
            return
        self.shown_generation = generation
        self.crm.warm_up()  # once: when Contacts was opened before Today had finished
        table = self.query_one(ContactTable)
        keep = table.cursor_row
        self.page_offset, self.page_total, self.rows = page.offset, page.total, page.rows
        table.replace_rows([(str(row.id), self._cells(row)) for row in page.rows])
        if self.cursor_to == "end":
            table.move_cursor(row=max(0, len(page.rows) - 1))
        elif self.cursor_to == "start":
            table.move_cursor(row=0)
        else:
            table.move_cursor(row=min(keep, max(0, len(page.rows) - 1)))
        self.cursor_to = "keep"
        self.shown_query = page.query
        self.update_status()
        self._record_latency(generation)

    def _record_latency(self, generation: int) -> None:
        """How long from the keystroke to its rows painted (bench/bench_tui.py reads it)."""
        typed = self.typed_at.pop(generation, None)
        if typed is not None:
            self.call_after_refresh(
                lambda: self.search_latencies.append(time.perf_counter() - typed)
            )

    def _cells(self, row: data.ContactRow) -> list[Text]:
        mark = "✓" if row.id in self.selected else " "
        return [
            Text(mark, style="bold"),
            Text(row.name),
            Text(row.company),
            Text(row.email),
            Text(row.phone),
            Text(row.tags),
            Text(row.last_touch),
            Text(row.value, justify="right"),
        ]

    def update_status(self) -> None:
        """The line above the table: what is shown and how it is filtered."""
        bits = []
        if self.query_text:
            bits.append(f"search {self.query_text!r}: {len(self.rows)} found")
        else:
            end = self.page_offset + len(self.rows)
            bits.append(f"{self.page_offset + 1 if self.rows else 0}–{end} of {self.page_total:,}")
            bits.append(f"sort {self.sort}")
        if self.tag:
            bits.append(f"tag {self.tag}")
        if self.company:
            bits.append(f"company {self.company[1]}")
        if self.selected:
            bits.append(f"{len(self.selected)} selected")
        self._status(" · ".join(bits))

    def _status(self, text: str) -> None:
        # One line, as wide as the screen, whatever it says: repainting it needs no layout of
        # the screen (a search keystroke's rows otherwise paid for one).
        self.query_one("#contacts-status", Static).update(Text(text), layout=False)

    # ------------------------------------------------------------------------------ search

    @on(Input.Changed, "#contact-search")
    def _search_changed(self, event: Input.Changed) -> None:
        text = event.value.strip()
        self.generation += 1
        self.typed_at = {self.generation: time.perf_counter()}
        if len(text) >= MIN_SEARCH:
            settled = self.shown_generation == self.generation - 1 and not self.searching
            if settled and self.pending_search is None and text == self.shown_query:
                # The rows shown already answer this (a space typed after a word, a letter
                # typed back): searching again would only find them again.
                self.query_text = text
                self.shown_generation = self.generation
                self.update_status()
                self._record_latency(self.generation)
                return
            self.query_text = text
            self.request_search(text, self.generation)
        elif text:
            # One letter matches half the book: wait for the second before searching.
            self.shown_generation = self.generation
            self._status(f"type at least {MIN_SEARCH} characters to search")
        else:
            self.query_text = ""
            self.load_page(0)

    @on(Input.Submitted, "#contact-search")
    def _search_submitted(self) -> None:
        self.query_one(ContactTable).focus()

    def action_search(self) -> None:
        """Focus the search box, at once (``Widget.focus()`` would wait for the queued keys);
        in the box, `/` is typed like any other character."""
        search = self.query_one("#contact-search", Input)
        if search.has_focus:
            search.insert_text_at_cursor("/")
        else:
            self.set_focus(search)

    def action_clear(self) -> None:
        """Leave the search box (clearing it when already in the table)."""
        search = self.query_one("#contact-search", Input)
        if search.has_focus:
            self.query_one(ContactTable).focus()
        elif search.value:
            search.value = ""
        elif self.tag or self.company:
            self.tag = self.company = None
            self.load_page(0)

    # ------------------------------------------------------------------------------ paging

    @on(ContactTable.PageWanted)
    def _page_wanted(self, event: ContactTable.PageWanted) -> None:
        self.action_page(event.step)

    def action_page(self, step: int) -> None:
        """Show the next (+1) or previous (-1) page."""
        if self.query_text:
            return
        new = self.page_offset + step * data.CONTACT_PAGE
        if new < 0 or new >= max(self.page_total, 1):
            return
        self.cursor_to = "start" if step > 0 else "end"
        self.load_page(new)

    # ------------------------------------------------------------------------------ actions

    @on(DataTable.RowSelected, "#contacts-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.crm.open_contact(int(str(event.row_key.value)))

    def current_id(self) -> int | None:
        """The id of the person under the cursor."""
        table = self.query_one(ContactTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(str(key.value))

    def _mark(self, cid: int) -> None:
        table = self.query_one(ContactTable)
        mark = "✓" if cid in self.selected else " "
        table.update_cell(str(cid), "sel", Text(mark, style="bold"))

    def action_toggle_select(self) -> None:
        """Select or unselect the row under the cursor."""
        cid = self.current_id()
        if cid is None:
            return
        self.selected.symmetric_difference_update({cid})
        self._mark(cid)
        self.update_status()
        self.query_one(ContactTable).action_cursor_down()

    def action_select_all(self) -> None:
        """Select every row shown (or clear when all are already selected)."""
        shown = {r.id for r in self.rows}
        if shown <= self.selected:
            self.selected -= shown
        else:
            self.selected |= shown
        for cid in shown:
            self._mark(cid)
        self.update_status()

    def targets(self) -> list[int]:
        """The selection, or the row under the cursor."""
        if self.selected:
            return sorted(self.selected)
        cid = self.current_id()
        return [cid] if cid is not None else []

    def action_add(self) -> None:
        """Add a person."""
        self.crm.open_form("contact")

    def action_sort(self) -> None:
        """Cycle the sort order."""
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.generation += 1
        self.load_page(0)

    def action_filter_tag(self) -> None:
        """Show only people with one tag."""

        def done(tag: str | None) -> None:
            if tag is None:
                return
            self.tag = tag.strip() or None
            self.generation += 1
            self.load_page(0)

        self.app.push_screen(
            PromptModal("Show people tagged (empty: all)", value=self.tag or ""), done
        )

    def action_filter_company(self) -> None:
        """Show only the people of one company."""

        def done(name: str | None) -> None:
            if name is None:
                return
            if not name.strip():
                self.company = None
                self.load_page(0)
                return
            self.find_company(name)

        value = self.company[1] if self.company else ""
        self.app.push_screen(PromptModal("Show people at company (empty: all)", value=value), done)

    @work(thread=True, exclusive=True, exit_on_error=False, group="company-lookup")
    def find_company(self, name: str) -> None:
        """Resolve a company name, then filter by it."""
        found = data.resolve_company(self.crm.database, name)
        if found is None:
            self.app.call_from_thread(
                self.notify, f"no company named {name!r}", severity="warning", markup=False
            )
            return
        self.app.call_from_thread(self._company_found, found)

    def _company_found(self, found: tuple[int, str]) -> None:
        self.company = found
        self.load_page(0)

    def action_bulk_tag(self) -> None:
        """Add a tag to every selected person (one undoable change)."""
        ids = self.targets()
        if not ids:
            return

        def done(tag: str | None) -> None:
            if not tag or not tag.strip():
                return
            name = tag.strip()

            def write(session: object) -> str:
                from pycrm.services import contacts

                for cid in ids:
                    contacts.update_contact(session, cid, add_tags=[name])  # type: ignore[arg-type]
                return f"Tagged {len(ids)} contact(s) {name}"

            self.selected.clear()
            self.crm.run_write(f"tag {len(ids)} contacts {name}", write)

        self.app.push_screen(PromptModal(f"Tag {len(ids)} contact(s) with"), done)

    def action_delete(self) -> None:
        """Delete the selection (asks first)."""
        ids = self.targets()
        if not ids:
            return
        names = [r.name for r in self.rows if r.id in ids][:3]
        label = ", ".join(names) + ("…" if len(ids) > 3 else "")

        def done(yes: bool | None) -> None:
            if not yes:
                return

            def write(session: object) -> str:
                from pycrm.services import contacts

                for cid in ids:
                    contacts.delete_contact(session, cid)  # type: ignore[arg-type]
                return f"Deleted {len(ids)} contact(s)"

            self.selected -= set(ids)
            self.crm.run_write(f"delete {len(ids)} contacts", write)

        self.app.push_screen(ConfirmModal(f"Delete {len(ids)} contact(s): {label}?"), done)
