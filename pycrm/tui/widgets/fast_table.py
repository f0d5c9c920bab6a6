"""A DataTable that draws one-line plain-text rows without Rich's layout machinery.

Textual's ``DataTable`` renders every visible cell through ``Console.render_lines`` (padding,
cropping, styling), looks up component styles for every row, and measures every cell of every
new row on idle. Repainting a 35-row page of 8 columns after a search keystroke cost ~90 ms of
CPU that way. Here rows of ``Text`` cells without spans, newlines or tabs (names are sanitised
upstream) in fixed-width columns are drawn directly, a whole line at a time: each cell is cropped
or padded to its column and justified left or right, with the same component styles (zebra,
cursor, hover), the same click metadata and the same caches as ``DataTable``. The styles of each
cell are kept until the component styles change (a new page of the same shape adds no styles
together), and the segments come out already joined as ``DataTable`` would simplify them.
Anything else (the header, row labels, fixed rows or columns, styled spans, tall rows,
auto-width columns) falls back to ``DataTable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import zip_longest
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual.coordinate import Coordinate
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import Column, DuplicateKey, Row, RowKey

SegmentLines = list[list[Segment]]


def _simple(cell: object) -> bool:
    """Whether a cell can take the fast path."""
    return (
        isinstance(cell, Text)
        and not cell.spans
        and cell.justify in (None, "default", "left", "right")
        and cell.overflow in (None, "fold", "crop")
        and "\n" not in cell.plain
        and "\t" not in cell.plain
    )


class _Paint:
    """What drawing a line reads from the table, read once per paint."""

    __slots__ = (
        "base_style",
        "cells",
        "columns",
        "cursor",
        "cursor_type",
        "fast",
        "get_style",
        "hover",
        "label_width",
        "pad",
        "show_cursor",
        "show_hover",
        "width",
        "widths",
        "zebra",
    )
    base_style: Style
    cells: dict[Any, Any]
    columns: list[Column]
    cursor: Coordinate
    cursor_type: str
    fast: bool
    get_style: Any
    hover: Coordinate
    label_width: int
    pad: int
    show_cursor: bool
    show_hover: bool
    width: int
    widths: list[int]
    zebra: bool


class FastTable(DataTable[Text]):
    """``DataTable`` with a fast path for one-line rows of single-style ``Text`` cells."""

    _fast_styles: dict[Any, Any]
    _paint: _Paint | None = None  # during one paint

    def notify_style_update(self) -> None:
        self._fast_styles = {}
        self._fast_cells: dict[Any, dict[Any, Any]] = {}
        self._header_cache: dict[Any, Strip] = {}
        super().notify_style_update()

    def _fast_possible(self) -> bool:
        return (
            self.fixed_columns == 0
            and self.cell_padding >= 0
            and not (self._labelled_row_exists and self.show_row_labels)
            and all(not column.auto_width for column in self.columns.values())
        )

    # ------------------------------------------------------------------------------ rows

    def replace_rows(self, rows: Sequence[tuple[str, Sequence[Text]]]) -> None:
        """``clear()``, then ``add_row(*cells, key=key)`` for each (key, cells) of one-line
        rows, in one pass: the same rows, cursor, events and refresh, without re-validating the
        cursor and re-listing the columns for every row (half the cost of a page)."""
        self.clear()
        if not rows:
            return
        columns = self.ordered_columns
        keys = [RowKey(key) for key, _cells in rows]
        if len(set(keys)) != len(keys):
            raise DuplicateKey("The same row key appears twice.")
        if any(len(cells) > len(columns) for _key, cells in rows):
            raise ValueError("More values provided than there are columns.")
        locations = self._row_locations
        data = self._data
        table_rows = self.rows
        new_rows = self._new_rows
        for index, (row_key, (_key, cells)) in enumerate(zip(keys, rows, strict=True)):
            locations[row_key] = index
            data[row_key] = {column.key: cell for column, cell in zip_longest(columns, cells)}
            table_rows[row_key] = Row(row_key, 1, None, False)
            new_rows.add(row_key)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # as add_row does when the first row arrives
        self._update_count += 1
        self.check_idle()

    # ------------------------------------------------------------------------------ measuring

    def _update_dimensions(self, new_rows: Any) -> None:
        """Fixed-width columns and one-line rows need no measuring: only the virtual size."""
        rows = [self.rows.get(key) for key in new_rows]
        if not self._fast_possible() or any(
            row is not None and (row.height != 1 or row.label is not None) for row in rows
        ):
            super()._update_dimensions(new_rows)
            return
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            width + self._row_label_column_width, self._total_row_height + header
        )

    _sized: tuple[Any, ...] | None = None

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """Update the scrollbars only when the table's size or its rows changed.

        ``ScrollView`` compares the virtual size the compositor passes (the container's, for a
        widget without children) with the table's own (its rows and columns): they always
        differ, so every layout anywhere on the screen (each keystroke in the search box, the
        status line) refreshed both scrollbars, which cost a second paint of the screen."""
        state = (
            size,
            self.virtual_size,
            container_size,
            self.styles.gutter.totals,
            self.scrollbar_size_vertical,
            self.scrollbar_size_horizontal,
        )
        if state == self._sized and self._size == size:
            return self._container_size != container_size  # what ScrollView would answer
        changed = super()._size_updated(size, virtual_size, container_size, layout)
        self._sized = state
        return changed

    # ------------------------------------------------------------------------------ drawing

    def _styles_for(self, base_style: Style) -> dict[str, Any]:
        """Zebra row styles, looked up once per base style and pseudo-class state."""
        cache = getattr(self, "_fast_styles", None)
        if cache is None:
            cache = self._fast_styles = {}
        key = (base_style, self._pseudo_class_state)
        styles = cache.get(key)
        if styles is None:
            styles = {
                "even": self._get_row_style(0, base_style),
                "odd": self._get_row_style(1, base_style),
            }
            cache[key] = styles
        return styles

    def _paint_context(self, base_style: Style) -> _Paint:
        """What drawing a line reads from the table, read once per paint."""
        paint = _Paint()
        paint.base_style = base_style
        paint.width = self.size.width
        paint.fast = self._fast_possible() and not self.fixed_rows
        paint.columns = self.ordered_columns
        paint.widths = [column.get_render_width(self) for column in paint.columns]
        paint.pad = self.cell_padding
        paint.cursor_type = self.cursor_type
        paint.cursor = self.cursor_coordinate
        paint.hover = self.hover_coordinate
        paint.show_cursor = self.show_cursor
        paint.show_hover = self._show_hover_cursor
        paint.zebra = self.zebra_stripes
        paint.label_width = self._row_label_column_width
        paint.get_style = self.app.console.get_style
        context = (
            base_style,
            self._pseudo_class_state,
            paint.zebra,
            paint.cursor_type,
            paint.show_cursor,
            paint.show_hover,
            self.cursor_foreground_priority,
            self.cursor_background_priority,
        )
        # Each cell's styles, kept until the component styles change: repainting a page after
        # a search keystroke then adds no styles together (rows x columns x cursor states).
        caches = getattr(self, "_fast_cells", None)
        if caches is None:
            caches = self._fast_cells = {}
        cache = caches.get(context)
        if cache is None:
            if len(caches) > 64:
                caches.clear()
            cache = caches[context] = {}
        elif len(cache) > 20_000:
            cache.clear()
        paint.cells = cache
        return paint

    def render_lines(self, crop: Region) -> list[Strip]:
        """Read the table's settings once per paint (``DataTable`` reads them again for every
        line, and its style, a walk up the DOM for the background, too)."""
        self._paint = self._paint_context(self.rich_style)
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def render_line(self, y: int) -> Strip:
        paint = self._paint or self._paint_context(self.rich_style)
        if not paint.fast:
            return super().render_line(y)
        scroll_x, scroll_y = self.scroll_offset
        if y >= (self.header_height if self.show_header else 0):
            y += scroll_y
        return self._render_line(y, scroll_x, scroll_x + paint.width, paint.base_style)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """One line of the table: a data row drawn directly, anything else by ``DataTable``.

        The same cache, the same segments as ``DataTable._render_line`` (cropped by the same
        ``line_crop``, adjusted to the width, adjacent segments of one style joined)."""
        paint = self._paint
        if paint is None or paint.base_style != base_style:
            paint = self._paint_context(base_style)
        width = paint.width
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return Strip.blank(width, base_style)
        row = self.rows.get(row_key)
        if row_key is self._header_row_key and paint.fast:
            return self._header_line(paint, y, x1, x2, base_style)
        if row is None or row.height != 1 or line_no != 0 or not paint.fast:
            return super()._render_line(y, x1, x2, base_style)
        cursor = paint.cursor
        hover = paint.hover
        cache_key = (
            y,
            x1,
            x2,
            width,
            cursor,
            hover,
            base_style,
            paint.cursor_type,
            paint.show_hover,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._line_cache.get(cache_key)
        if cached is not None:
            return cached
        line = self._fast_row(paint, row_key, cursor, hover)
        if line is None:
            return super()._render_line(y, x1, x2, base_style)
        segments, total = line
        if x1 or x2 < total:
            segments = line_crop(segments, x1, x2, total)
            strip = Strip(segments).adjust_cell_length(width, base_style)
        else:
            strip = Strip(segments, total).adjust_cell_length(width, base_style)
        self._line_cache[cache_key] = strip
        return strip

    def _header_line(self, paint: _Paint, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """A line of the header, drawn by ``DataTable`` and kept while the columns stay the
        same: new rows (each search keystroke) leave it as it was, but ``DataTable``'s cache
        forgets every line when a row changes, and the header is its slowest line (Rich lays
        out each label)."""
        columns = tuple(
            (column.key, width, column.label.plain, id(column.label))
            for column, width in zip(paint.columns, paint.widths, strict=True)
        )
        key = (
            columns,
            y,
            x1,
            x2,
            paint.width,
            self.cursor_coordinate,
            self.hover_coordinate,
            base_style,
            paint.cursor_type,
            paint.show_cursor,
            paint.show_hover,
            self.header_height,
            self._pseudo_class_state,
        )
        cache = getattr(self, "_header_cache", None)
        if cache is None:
            cache = self._header_cache = {}
        strip = cache.get(key)
        if strip is None:
            strip = super()._render_line(y, x1, x2, base_style)
            if len(cache) > 64:
                cache.clear()
            cache[key] = strip
        return strip

    def _cell_styles(
        self, row_style: Style, row_index: int, column_index: int, hover: bool, cursor: bool
    ) -> tuple[Style, Style]:
        """A cell's style before its text's own style (with the click metadata) and the cursor
        colours that go over it, as ``DataTable._render_cell`` builds them."""
        component, post = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre = row_style + Style.from_meta({"row": row_index, "column": column_index})
        pre = pre + component
        return pre, post

    def _fast_row(
        self, paint: _Paint, row_key: RowKey, cursor: Coordinate, hover: Coordinate
    ) -> tuple[list[Segment], int] | None:
        """The segments of a whole data row (width of every column plus the rest of the
        widget), or None when a cell needs ``DataTable``'s layout."""
        row_index = self._row_locations.get(row_key)
        if row_index is None:
            return None
        data = self._data.get(row_key, {})
        columns = paint.columns
        cells = [data.get(column.key) for column in columns]
        if not all(_simple(cell) for cell in cells):
            return None
        cursor_type = paint.cursor_type
        if paint.zebra:
            row_style = self._styles_for(paint.base_style)["odd" if row_index % 2 else "even"]
        else:
            row_style = paint.base_style
        if cursor_type != "row" and row_style.bgcolor is not None:
            return None  # DataTable fades the background past the last column
        cache = paint.cells
        get_style = paint.get_style
        should_highlight = self._should_highlight
        pad = paint.pad
        padding = " " * pad
        segments: list[Segment] = []
        add = segments.append
        total = 0
        # A row cursor (the usual case) highlights every cell of the row alike.
        row_flags = (hover.row == row_index, cursor.row == row_index)
        by_row = cursor_type == "row"
        for column_index, (width, cell) in enumerate(zip(paint.widths, cells, strict=True)):
            assert isinstance(cell, Text)
            if by_row:
                flags = row_flags
            else:
                location = Coordinate(row_index, column_index)
                flags = (
                    should_highlight(hover, location, cursor_type),
                    should_highlight(cursor, location, cursor_type),
                )
            text_style = cell.style
            key = (row_index, column_index, flags, text_style)
            styles = cache.get(key)
            if styles is None:
                pre, post = self._cell_styles(row_style, row_index, column_index, *flags)
                blank = pre + post
                style = get_style(text_style) if text_style else None
                body = pre + style + post if style else blank
                styles = cache[key] = (blank, body, body == blank)
            blank, body, same = styles
            total += width
            inner = max(0, width - 2 * pad)
            plain = cell.plain
            right = cell.justify == "right"
            if right:
                plain = plain.rstrip()
            length = cell_len(plain)
            if length > inner:
                plain = set_cell_size(plain, inner)
                length = inner
            fill = " " * (inner - length)
            if same:
                # One style across the cell: the segments DataTable draws, already joined.
                text = padding + (fill + plain if right else plain + fill) + padding
                if text:
                    add(Segment(text, blank))
                continue
            if pad:
                add(Segment(padding, blank))
            if right:
                if fill or plain:
                    add(Segment(fill + plain, body))
            else:
                if plain:
                    add(Segment(plain, body))
                if fill:
                    add(Segment(fill, blank))
            if pad:
                add(Segment(padding, blank))

        # The rest of the width, in the row's (or the cursor's) style, as DataTable does.
        remaining = max(0, paint.width - total - paint.label_width)
        hovered = cursor_type == "row" and should_highlight(
            hover, Coordinate(row_index, 0), cursor_type
        )
        extend_key = ("extend", row_index, cursor.row == row_index, hovered)
        extend = cache.get(extend_key)
        if extend is None:
            if cursor_type == "row":
                extend, _ = self._get_styles_to_render_cell(
                    False,
                    False,
                    False,
                    hovered,
                    row_index == cursor.row,
                    paint.show_cursor,
                    paint.show_hover,
                    False,
                    False,
                )
                extend = row_style + extend
            else:
                extend = Style.from_color(row_style.color, row_style.bgcolor)
            extend += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
            cache[extend_key] = extend
        add(Segment(" " * remaining, extend))
        return segments, total + remaining
