"""Pipeline: a kanban board, one column per stage, cards paged so 20,000 deals stay quick."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalScroll, Vertical
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from pycrm.tui import data
from pycrm.tui.screens.base import BaseScreen
from pycrm.tui.screens.modals import ConfirmModal, PromptModal
from pycrm.tui.widgets.footer import QuietFooter


class StageCards(OptionList):
    """The cards of one stage; left / right go to the neighbouring column."""

    BINDINGS = [
        Binding("left", "screen.column(-1)", "◀", id="pipeline.left", show=False),
        Binding("right", "screen.column(1)", "▶", id="pipeline.right", show=False),
    ]

    def __init__(self, stage_id: int, *options: Option, **kwargs: object) -> None:
        super().__init__(*options, **kwargs)  # type: ignore[arg-type]
        self.stage_id = stage_id


def _first_enabled(cards: OptionList) -> int | None:
    return next(
        (i for i in range(cards.option_count) if not cards.get_option_at_index(i).disabled), None
    )


class PipelineScreen(BaseScreen):
    """Deals by stage; arrows move between cards, `<` `>` move a deal, w wins, x loses."""

    BINDINGS = [
        Binding("greater_than_sign,shift+right", "move(1)", "Next stage", id="pipeline.next",
                tooltip="Move to the next stage"),
        Binding("less_than_sign,shift+left", "move(-1)", "Prev stage", id="pipeline.prev",
                tooltip="Move to the previous stage"),
        Binding("w", "won", "Won", id="pipeline.won", tooltip="Mark won"),
        Binding("x", "lost", "Lost", id="pipeline.lost", tooltip="Mark lost, with a reason"),
        Binding("space", "toggle_select", "Select", id="pipeline.toggle", tooltip="Select this deal"),
        Binding("ctrl+a", "select_all", "All", id="pipeline.select_all", tooltip="Select the column", show=False),
        Binding("a", "add", "Add", id="pipeline.add", tooltip="Open a deal", show=False),
        Binding("delete", "delete", "Delete", id="pipeline.delete", tooltip="Delete deal(s)", show=False),
        Binding("right_square_bracket", "page(1)", "More", id="pipeline.more", show=False),
        Binding("left_square_bracket", "page(-1)", "Back", id="pipeline.less", show=False),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.offsets: dict[int, int] = {}
        self.selected: set[int] = set()
        self.board: data.Board | None = None
        self.titles: dict[int, str] = {}
        self.per_column = data.CARDS_PER_COLUMN

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="pipeline-status", classes="status")
        yield HorizontalScroll(id="board")
        yield QuietFooter()

    def reload(self) -> None:
        self.load()

    def cards_per_column(self) -> int:
        """As many cards as a column shows (3 lines each) and two more, at most 20: cards below
        the fold cost drawing time and are one `]` away."""
        height = self.size.height or 40
        return max(5, min(data.CARDS_PER_COLUMN, (height - 4) // 3 + 2))

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self) -> None:
        """Read the board in a thread."""
        self.per_column = self.cards_per_column()
        board = data.board(self.crm.database, dict(self.offsets), per_column=self.per_column)
        if get_current_worker().is_cancelled:  # a newer load is on its way
            return
        self.app.call_from_thread(self.show, board)

    def show(self, board: data.Board) -> None:
        """Draw (or refresh in place) every column."""
        self.board = board
        self.titles = {d.id: d.title for col in board.columns for d in col.cards}
        holder = self.query_one("#board", HorizontalScroll)
        existing = [c.stage_id for c in self.query(StageCards)]
        if existing != [c.id for c in board.columns]:
            # Built whole (heads and cards) and mounted in one go: one layout pass, not two.
            columns = []
            for col in board.columns:
                cards = StageCards(
                    col.id, *self._options(col), id=f"cards-{col.id}", classes="cards"
                )
                if cards.option_count:
                    cards.highlighted = _first_enabled(cards)
                columns.append(
                    Vertical(
                        Static(self._head(col), id=f"head-{col.id}", classes="column-head"),
                        cards,
                        classes=f"column {col.kind}",
                    )
                )
            holder.remove_children()
            holder.mount_all(columns)
            if columns:
                self.call_after_refresh(self._focus_first)
        else:
            self._fill(board)
        self.update_status()

    def _focus_first(self) -> None:
        first_cards = next(iter(self.query(StageCards)), None)
        if first_cards is not None:
            first_cards.focus()

    def _head(self, col: data.StageColumn) -> Text:
        head = Text()
        head.append(col.name, style="bold")
        head.append(f"  {col.count:,}")
        for currency, total in sorted(col.totals.items()):
            head.append("\n" + data.money(total, currency))
        return head

    def _options(self, col: data.StageColumn) -> list[Option]:
        """One column's cards, with "↑ / ↓ N more" lines when it holds more than one window."""
        options = []
        if col.offset:
            options.append(Option(Text(f"↑ {col.offset} more ([)", style="dim"), disabled=True))
        for deal in col.cards:
            options.append(Option(self._card(deal), id=f"deal-{deal.id}"))
        rest = col.count - col.offset - len(col.cards)
        if rest > 0:
            options.append(Option(Text(f"↓ {rest} more (])", style="dim"), disabled=True))
        return options

    def _fill(self, board: data.Board) -> None:
        """Refresh the columns in place (after a move, a page, a reload)."""
        for col in board.columns:
            self.query_one(f"#head-{col.id}", Static).update(self._head(col))
            cards = self.query_one(f"#cards-{col.id}", StageCards)
            keep = cards.highlighted
            cards.clear_options()
            cards.add_options(self._options(col))
            if keep is not None and cards.option_count:
                cards.highlighted = min(keep, cards.option_count - 1)
            elif cards.option_count:
                cards.action_first()

    def _card(self, deal: data.DealLine) -> Text:
        text = Text()
        text.append("✓ " if deal.id in self.selected else "", style="bold")
        text.append(deal.title, style="bold")
        text.append(f"\n{deal.value}")
        who = deal.contact or deal.company
        if who:
            text.append(f" · {who}")
        if deal.expected_close:
            text.append(f"\nclose {deal.expected_close}", style="dim")
        return text

    def update_status(self) -> None:
        """Selection and hints."""
        n = len(self.selected)
        msg = "←/→ columns · ↑/↓ cards · < > move stage · w won · x lost · Enter opens"
        if n:
            msg = f"{n} selected · " + msg
        self.query_one("#pipeline-status", Static).update(Text(msg))

    # ------------------------------------------------------------------------------ helpers

    def focused_cards(self) -> StageCards | None:
        """The column with focus."""
        focused = self.focused
        return focused if isinstance(focused, StageCards) else None

    def current_deal(self) -> int | None:
        """The deal under the cursor."""
        cards = self.focused_cards()
        if cards is None or cards.highlighted is None:
            return None
        option = cards.get_option_at_index(cards.highlighted)
        if option.id and option.id.startswith("deal-"):
            return int(option.id.removeprefix("deal-"))
        return None

    def targets(self) -> list[int]:
        """The selection, or the deal under the cursor."""
        if self.selected:
            return sorted(self.selected)
        deal = self.current_deal()
        return [deal] if deal is not None else []

    # ------------------------------------------------------------------------------ actions

    def action_column(self, step: int) -> None:
        """Focus the column to the left or right."""
        columns = list(self.query(StageCards))
        cards = self.focused_cards()
        if not columns:
            return
        index = columns.index(cards) if cards in columns else 0
        target = columns[max(0, min(len(columns) - 1, index + step))]
        target.focus()
        target.scroll_visible()
        if target.highlighted is None and target.option_count:
            target.action_first()

    def action_page(self, step: int) -> None:
        """Show the next / previous window of cards in this column."""
        cards = self.focused_cards()
        if cards is None:
            return
        offset = self.offsets.get(cards.stage_id, 0) + step * self.per_column
        self.offsets[cards.stage_id] = max(0, offset)
        cards.highlighted = 0
        self.load()

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id and event.option.id.startswith("deal-"):
            self.crm.open_deal(int(event.option.id.removeprefix("deal-")))

    def action_toggle_select(self) -> None:
        """Select or unselect the deal under the cursor."""
        deal = self.current_deal()
        cards = self.focused_cards()
        if deal is None or cards is None or self.board is None:
            return
        self.selected.symmetric_difference_update({deal})
        for col in self.board.columns:
            for line in col.cards:
                if line.id == deal:
                    cards.replace_option_prompt(f"deal-{deal}", self._card(line))
        cards.action_cursor_down()
        self.update_status()

    def action_select_all(self) -> None:
        """Select every card shown in this column."""
        cards = self.focused_cards()
        if cards is None or self.board is None:
            return
        col = next(c for c in self.board.columns if c.id == cards.stage_id)
        ids = {d.id for d in col.cards}
        if ids <= self.selected:
            self.selected -= ids
        else:
            self.selected |= ids
        for line in col.cards:
            cards.replace_option_prompt(f"deal-{line.id}", self._card(line))
        self.update_status()

    def _stage_after(self, stage_id: int, step: int) -> data.StageColumn | None:
        assert self.board is not None
        ids = [c.id for c in self.board.columns]
        index = ids.index(stage_id) + step
        if 0 <= index < len(ids):
            return self.board.columns[index]
        return None

    def action_move(self, step: int) -> None:
        """Move the selected deals (or the one under the cursor) one stage on or back."""
        cards = self.focused_cards()
        if cards is None or self.board is None:
            return
        ids = self.targets()
        if not ids:
            return
        if self.selected:
            stage_of = {d.id: c.id for c in self.board.columns for d in c.cards}
            moves = {}
            for deal in ids:
                nxt = self._stage_after(stage_of.get(deal, cards.stage_id), step)
                if nxt is not None:
                    moves[deal] = nxt
        else:
            nxt = self._stage_after(cards.stage_id, step)
            moves = {ids[0]: nxt} if nxt is not None else {}
        if not moves:
            return
        lost = [d for d, st in moves.items() if st.kind == "lost"]
        if lost:
            self._ask_reason(lambda reason: self._write_moves(moves, reason))
        else:
            self._write_moves(moves, None)

    def _write_moves(self, moves: dict[int, data.StageColumn], reason: str | None) -> None:
        def write(session: object) -> str:
            from pycrm.services import deals

            for deal, stage in moves.items():
                deals.move_deal(session, deal, stage.id, lost_reason=reason, at=None)  # type: ignore[arg-type]
            if len(moves) == 1:
                deal, stage = next(iter(moves.items()))
                return f"Moved {self.titles.get(deal, deal)} to {stage.name}"
            return f"Moved {len(moves)} deals"

        self.selected.clear()
        if len(moves) == 1:
            deal, stage = next(iter(moves.items()))
            label = f"move {self.titles.get(deal, deal)} to {stage.name}"
        else:
            label = f"move {len(moves)} deals"
        self.crm.run_write(label, write)

    def _ask_reason(self, then: object) -> None:
        def done(reason: str | None) -> None:
            if reason and reason.strip():
                then(reason.strip())  # type: ignore[operator]

        def check(value: str) -> str | None:
            return None if value.strip() else "a lost deal needs a reason"

        self.app.push_screen(PromptModal("Why was it lost?", check=check), done)

    def action_won(self) -> None:
        """Mark the deal(s) won."""
        ids = self.targets()
        if not ids:
            return

        def write(session: object) -> str:
            from pycrm.services import deals

            for deal in ids:
                deals.mark_won(session, deal)  # type: ignore[arg-type]
            return f"Won: {', '.join(str(self.titles.get(d, d)) for d in ids[:3])}"

        self.selected.clear()
        self.crm.run_write(f"won: {', '.join(str(self.titles.get(d, d)) for d in ids[:3])}", write)

    def action_lost(self) -> None:
        """Mark the deal(s) lost with a reason."""
        ids = self.targets()
        if not ids:
            return

        def lose(reason: str) -> None:
            def write(session: object) -> str:
                from pycrm.services import deals

                for deal in ids:
                    deals.mark_lost(session, deal, reason)  # type: ignore[arg-type]
                return f"Lost: {', '.join(str(self.titles.get(d, d)) for d in ids[:3])}"

            self.selected.clear()
            names = ", ".join(str(self.titles.get(d, d)) for d in ids[:3])
            self.crm.run_write(f"lost: {names}", write)

        self._ask_reason(lose)

    def action_add(self) -> None:
        """Open a new deal."""
        self.crm.open_form("deal")

    def action_delete(self) -> None:
        """Delete the deal(s) (asks first)."""
        ids = self.targets()
        if not ids:
            return
        label = ", ".join(str(self.titles.get(d, d)) for d in ids[:3])

        def done(yes: bool | None) -> None:
            if not yes:
                return

            def write(session: object) -> str:
                from pycrm.services import deals

                for deal in ids:
                    deals.delete_deal(session, deal)  # type: ignore[arg-type]
                return f"Deleted {len(ids)} deal(s)"

            self.selected -= set(ids)
            self.crm.run_write(f"delete {len(ids)} deal(s)", write)

        self.app.push_screen(ConfirmModal(f"Delete {len(ids)} deal(s): {label}?"), done)
