"""A DataTable that draws one-line plain-text rows without Rich's layout machinery.

Textual's ``DataTable`` renders every visible cell through ``Console.render_lines`` (padding,
cropping, styling), looks up component styles for every row, and measures every cell of every
new row on idle. Repainting a 35-row page of 8 columns after a search keystroke cost ~90 ms of
CPU that way. Here rows of ``Text`` cells without spans, newlines or tabs (names are sanitised
upstream) in fixed-width columns are drawn directly: each cell is cropped or padded to its column
and justified left or right, with the same component styles (zebra, cursor, hover), the same
click metadata and the same caches as ``DataTable``. Anything else (the header, row labels, fixed
columns, styled spans, tall rows, auto-width columns) falls back to ``DataTable``.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

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


class FastTable(DataTable[Text]):
    """``DataTable`` with a fast path for one-line rows of single-style ``Text`` cells."""

    _fast_styles: dict[Any, Any]

    def notify_style_update(self) -> None:
        self._fast_styles = {}
        super().notify_style_update()

    def _fast_possible(self) -> bool:
        return (
            self.fixed_columns == 0
            and self.cell_padding >= 0
            and not (self._labelled_row_exists and self.show_row_labels)
            and all(not column.auto_width for column in self.columns.values())
        )

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

    # ------------------------------------------------------------------------------ drawing

    def _styles_for(self, base_style: Style) -> dict[str, Any]:
        """Component styles, looked up once per base style and pseudo-class state."""
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

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[SegmentLines, SegmentLines]:
        row = self.rows.get(row_key)
        row_index = self._row_locations.get(row_key) if row is not None else None
        if (
            row is None
            or row_index is None
            or row.height != 1
            or line_no != 0
            or self.fixed_rows
            or not self._fast_possible()
        ):
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )
        cursor_type = self.cursor_type
        show_cursor = self.show_cursor
        cache_key: Any = (
            row_key,
            line_no,
            base_style,
            cursor_location,
            hover_location,
            cursor_type,
            show_cursor,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._row_render_cache.get(cache_key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        data = self._data.get(row_key, {})
        columns = self.ordered_columns
        cells = [data.get(column.key) for column in columns]
        if not all(_simple(cell) for cell in cells):
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )

        styles = self._styles_for(base_style)
        row_style = (
            (styles["odd"] if row_index % 2 else styles["even"])
            if self.zebra_stripes
            else base_style
        )
        get_style = self.app.console.get_style
        pad = self.cell_padding
        scrollable: SegmentLines = []
        for column_index, (column, cell) in enumerate(zip(columns, cells, strict=True)):
            assert isinstance(cell, Text)
            location = Coordinate(row_index, column_index)
            cursor = self._should_highlight(cursor_location, location, cursor_type)
            hover = self._should_highlight(hover_location, location, cursor_type)
            component, post = self._get_styles_to_render_cell(
                False,
                False,
                False,
                hover,
                cursor,
                show_cursor,
                self._show_hover_cursor,
                self.cursor_foreground_priority == "css",
                self.cursor_background_priority == "css",
            )
            pre = row_style + Style.from_meta({"row": row_index, "column": column_index})
            pre = pre + component
            blank = pre + post
            text_style = get_style(cell.style) if cell.style else None
            body_style = pre + text_style + post if text_style else blank
            width = column.get_render_width(self)
            inner = max(0, width - 2 * pad)
            plain = cell.plain
            segments: list[Segment] = []
            if pad:
                segments.append(Segment(" " * pad, blank))
            if cell.justify == "right":
                plain = plain.rstrip()
                if cell_len(plain) > inner:
                    plain = set_cell_size(plain, inner)
                fill = inner - cell_len(plain)
                if fill or plain:
                    segments.append(Segment(" " * fill + plain, body_style))
            else:
                if cell_len(plain) > inner:
                    plain = set_cell_size(plain, inner)
                fill = inner - cell_len(plain)
                if plain:
                    segments.append(Segment(plain, body_style))
                if fill:
                    segments.append(Segment(" " * fill, blank))
            if pad:
                segments.append(Segment(" " * pad, blank))
            scrollable.append(segments)

        # Fill the rest of the width with the row's (or the cursor's) style, as DataTable does.
        table_width = sum(column.get_render_width(self) for column in columns)
        remaining = max(0, self.size.width - table_width - self._row_label_column_width)
        if cursor_type == "row":
            extend, _ = self._get_styles_to_render_cell(
                False,
                False,
                False,
                self._should_highlight(hover_location, Coordinate(row_index, 0), cursor_type),
                row_index == cursor_location.row,
                show_cursor,
                self._show_hover_cursor,
                False,
                False,
            )
            extend = row_style + extend
        else:
            extend = Style.from_color(row_style.color, row_style.bgcolor)
            if row_style.bgcolor is not None:
                return super()._render_line_in_row(
                    row_key, line_no, base_style, cursor_location, hover_location
                )
        extend += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        scrollable.append([Segment(" " * remaining, extend)])
        pair: tuple[SegmentLines, SegmentLines] = ([], scrollable)
        self._row_render_cache[cache_key] = pair
        return pair
