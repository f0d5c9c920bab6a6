"""Pipeline: a kanban board, one column per stage, cards paged so 20,000 deals stay quick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalScroll
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from pycrm.tui import data
from pycrm.tui.screens.base import BaseScreen
from pycrm.tui.screens.modals import ConfirmModal, PromptModal
from pycrm.tui.widgets.footer import QuietFooter


@dataclass(frozen=True)
class Card:
    """One line-group of a column: a deal card, or a dim "N more" line (``id`` None)."""

    id: str | None
    lines: tuple[str, ...]
    disabled: bool = False
    selected: bool = False

    @property
    def prompt(self) -> Text:
        """The card as text (what a test or a screen reader would read)."""
        return Text("\n".join(self.lines))


class StageCards(Widget, can_focus=True):
    """One stage: its head (name, count, totals) and a window of cards, drawn line by line.

    Textual's ``OptionList`` lays every option out through Rich and a column was three widgets
    (container, head, list): opening a board of seven columns cost ~0.4 s of CPU in layout and
    drawing. Here a column is one widget that crops each card to three fixed lines and draws
    them as plain strips. ↑ / ↓ move between cards, Enter opens one, ← / → go to the
    neighbouring column.
    """

    BINDINGS = [
        Binding("left", "screen.column(-1)", "◀", id="pipeline.left", show=False),
        Binding("right", "screen.column(1)", "▶", id="pipeline.right", show=False),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "stage-cards--head",
        "stage-cards--title",
        "stage-cards--dim",
        "stage-cards--cursor",
    }

    @dataclass
    class Selected(Message):
        """Enter (or a double click) on a deal card."""

        cards: StageCards
        deal_id: int

    def __init__(self, stage_id: int, *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.stage_id = stage_id
        self.head: tuple[str, ...] = ()
        self.head_height = 1
        self.cards: list[Card] = []
        self.highlighted: int | None = None
        self._top = 0  # first body line shown (keeps the highlighted card in view)
        self._rows: list[tuple[int, int]] = []  # body line -> (card index, line of the card)

    # ------------------------------------------------------------------------------ data

    @property
    def head_text(self) -> str:
        """The head as plain text: name and count, then one total per currency."""
        return "\n".join(self.head)

    @property
    def option_count(self) -> int:
        """How many cards (and "more" lines) the column holds."""
        return len(self.cards)

    def get_option_at_index(self, index: int) -> Card:
        """The card at ``index``."""
        return self.cards[index]

    def set_cards(self, head: tuple[str, ...], head_height: int, cards: list[Card]) -> None:
        """Show a new head and window of cards; the cursor stays at its index (clamped)."""
        self.head, self.head_height, self.cards = head, head_height, cards
        self._rows = [(i, n) for i, card in enumerate(cards) for n in range(len(card.lines))]
        if not cards:
            self.highlighted = None
        elif self.highlighted is None or self.highlighted >= len(cards):
            self.highlighted = self._enabled(0, 1)
        elif cards[self.highlighted].disabled:
            self.highlighted = self._enabled(self.highlighted, 1) or self._enabled(
                self.highlighted, -1
            )
        self._top = 0
        self._scroll_to_cursor()
        self.refresh()

    def replace_card(self, card: Card) -> None:
        """Redraw one card in place (its selection mark changed)."""
        for i, old in enumerate(self.cards):
            if old.id == card.id:
                self.cards[i] = card
                self.refresh()
                return

    def _enabled(self, start: int, step: int) -> int | None:
        index = start
        while 0 <= index < len(self.cards):
            if not self.cards[index].disabled:
                return index
            index += step
        return None

    # ------------------------------------------------------------------------------ moving

    def _move_to(self, index: int | None) -> None:
        if index is None or index == self.highlighted:
            return
        self.highlighted = index
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        if self.highlighted is None:
            return
        shown = {self.highlighted}
        after = self.highlighted + 1
        if after < len(self.cards) and self.cards[after].disabled:
            shown.add(after)  # the "↓ N more" line under the last card comes into view with it
        lines = [n for n, (card, _) in enumerate(self._rows) if card in shown]
        if not lines:
            return
        body = max(1, self.size.height - self.head_height) if self.size.height else 10**6
        if lines[0] < self._top:
            self._top = lines[0]
        elif lines[-1] >= self._top + body:
            self._top = lines[-1] - body + 1

    def action_cursor_down(self) -> None:
        """The next card."""
        start = 0 if self.highlighted is None else self.highlighted + 1
        self._move_to(self._enabled(start, 1))

    def action_cursor_up(self) -> None:
        """The previous card."""
        start = len(self.cards) - 1 if self.highlighted is None else self.highlighted - 1
        self._move_to(self._enabled(start, -1))

    def action_first(self) -> None:
        """The first card."""
        self._move_to(self._enabled(0, 1))

    def action_last(self) -> None:
        """The last card."""
        self._move_to(self._enabled(len(self.cards) - 1, -1))

    def action_select(self) -> None:
        """Open the card under the cursor."""
        if self.highlighted is None:
            return
        card_id = self.cards[self.highlighted].id
        if card_id and card_id.startswith("deal-"):
            self.post_message(self.Selected(self, int(card_id.removeprefix("deal-"))))

    def on_click(self, event: events.Click) -> None:
        row = event.y - self.head_height + self._top
        if event.y < self.head_height or not 0 <= row < len(self._rows):
            return
        index = self._rows[row][0]
        if self.cards[index].disabled:
            return
        self._move_to(index)
        if event.chain == 2:
            self.action_select()

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    # ------------------------------------------------------------------------------ drawing

    _styles: dict[Any, RichStyle]

    def notify_style_update(self) -> None:
        self._styles = {}
        super().notify_style_update()

    def _style(self, kind: str) -> RichStyle:
        """The Rich style of one kind of line, looked up once per focus / hover state."""
        cache = getattr(self, "_styles", None)
        if cache is None:
            cache = self._styles = {}
        key = (kind, self._pseudo_classes_cache_key)
        style = cache.get(key)
        if style is None:
            component, _, bold = kind.partition("+")
            names = (f"stage-cards--{component}",) if component else ()
            style = self.get_visual_style(*names).rich_style
            if bold:
                style += _BOLD
            cache[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y < self.head_height:
            text = self.head[y] if y < len(self.head) else ""
            style = self._style("head+bold" if y == 0 else "head")
            return Strip([Segment(_fit(" " + text, width), style)], width)
        row = y - self.head_height + self._top
        if not 0 <= row < len(self._rows):
            return Strip.blank(width, self._style(""))
        index, line = self._rows[row]
        card = self.cards[index]
        if card.disabled:
            kind = "dim"
        elif index == self.highlighted:
            kind = "cursor+bold" if line == 0 else "cursor"
        elif line == 0:
            kind = "title"
        else:
            kind = "dim" if line == 2 else ""
        return Strip([Segment(_fit(" " + card.lines[line], width), self._style(kind))], width)


_BOLD = RichStyle(bold=True)


def _fit(text: str, width: int) -> str:
    """``text`` padded or cropped to ``width`` cells (a blank cell kept on the right), with an
    ellipsis where it was cut."""
    if cell_len(text) > width - 1:
        return set_cell_size(text, max(0, width - 2)) + "… " if width > 1 else " " * width
    return set_cell_size(text, width)


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
        existing = list(self.query(StageCards))
        heads = [self._head(col) for col in board.columns]
        head_height = max((len(h) for h in heads), default=1)
        if [c.stage_id for c in existing] != [c.id for c in board.columns]:
            # One widget per column, filled before it is mounted: one layout pass.
            columns = []
            for col, head in zip(board.columns, heads, strict=True):
                cards = StageCards(col.id, id=f"cards-{col.id}", classes=f"column {col.kind}")
                cards.set_cards(head, head_height, self._cards(col))
                columns.append(cards)
            holder.remove_children()
            holder.mount_all(columns)
            if columns:
                columns[0].focus()
        else:
            for cards, col, head in zip(existing, board.columns, heads, strict=True):
                cards.set_cards(head, head_height, self._cards(col))
        self.update_status()

    def _head(self, col: data.StageColumn) -> tuple[str, ...]:
        totals = [data.money(total, currency) for currency, total in sorted(col.totals.items())]
        return (f"{col.name}  {col.count:,}", *totals[:4])

    def _cards(self, col: data.StageColumn) -> list[Card]:
        """One column's cards, with "↑ / ↓ N more" lines when it holds more than one window."""
        cards = []
        if col.offset:
            cards.append(Card(None, (f"↑ {col.offset} more ([)",), disabled=True))
        cards.extend(self._card(deal) for deal in col.cards)
        rest = col.count - col.offset - len(col.cards)
        if rest > 0:
            cards.append(Card(None, (f"↓ {rest} more (])",), disabled=True))
        return cards

    def _card(self, deal: data.DealLine) -> Card:
        """A deal in three lines: title, value and who, expected close."""
        mark = "✓ " if deal.id in self.selected else ""
        who = deal.contact or deal.company
        close = f"close {deal.expected_close}" if deal.expected_close else ""
        return Card(
            f"deal-{deal.id}",
            (mark + deal.title, deal.value + (f" · {who}" if who else ""), close),
            selected=bool(mark),
        )

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
        card = cards.get_option_at_index(cards.highlighted)
        if card.id and card.id.startswith("deal-"):
            return int(card.id.removeprefix("deal-"))
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

    def action_page(self, step: int) -> None:
        """Show the next / previous window of cards in this column."""
        cards = self.focused_cards()
        if cards is None:
            return
        offset = self.offsets.get(cards.stage_id, 0) + step * self.per_column
        self.offsets[cards.stage_id] = max(0, offset)
        cards.highlighted = None  # the first card of the new window
        self.load()

    @on(StageCards.Selected)
    def _open(self, event: StageCards.Selected) -> None:
        self.crm.open_deal(event.deal_id)

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
                    cards.replace_card(self._card(line))
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
            cards.replace_card(self._card(line))
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
