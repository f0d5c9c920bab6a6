"""An OptionList that draws one-line plain-text options without Rich's layout machinery.

Textual's ``OptionList`` turns every option into a Visual, measures its height by laying it out,
and renders it through ``Visual.to_strips`` (wrapping, padding, styling). For the Today screen
(~60 one-line options, redrawn as each part of the agenda arrives) that was a good part of the
main thread's work before the agenda was whole. Here an option whose prompt is a ``Text``
without spans, newlines or tabs that fits the width is measured as one line and drawn as one
segment, with the same styles, padding and click metadata; anything else (wrapping, dividers,
styled spans, padding on options) falls back to ``OptionList``.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.style import Style
from textual.widgets import OptionList
from textual.widgets.option_list import Option

_OFFSET_0 = RichStyle.from_meta({"offset": (0, 0)})


class FastOptionList(OptionList):
    """``OptionList`` with a fast path for one-line, single-style ``Text`` options."""

    def _simple(self, option: Option, width: int) -> bool:
        prompt = option.prompt
        return (
            isinstance(prompt, Text)
            and not prompt.spans
            and not option._divider
            and "\n" not in prompt.plain
            and "\t" not in prompt.plain
            and cell_len(prompt.plain) <= width
        )

    def _fast_possible(self) -> bool:
        padding = self.get_component_styles("option-list--option").padding
        return not padding and self._get_left_gutter_width() == 0

    def _update_lines(self) -> None:
        if not self.scrollable_content_region:
            return
        width = self.scrollable_content_region.width
        line_cache = self._line_cache
        lines = line_cache.lines
        next_index = lines[-1][0] + 1 if lines else 0
        options = self.options
        if next_index >= len(options) or not self._fast_possible():
            super()._update_lines()
            return
        if not all(self._simple(option, width) for option in options[next_index:]):
            super()._update_lines()
            return
        for index in range(next_index, len(options)):
            line_cache.index_to_line[index] = len(lines)
            line_cache.heights[index] = 1
            lines.append((index, 0))
        virtual_size = Size(width, len(lines))
        if virtual_size != self.virtual_size:
            self.virtual_size = virtual_size
            self._scroll_update(virtual_size)

    def _get_option_render(self, option: Option, style: Style) -> list[Strip]:
        width = self.scrollable_content_region.width
        if not self._fast_possible() or not self._simple(option, width):
            return super()._get_option_render(option, style)
        padding = self.get_component_styles("option-list--option").padding
        cache_key = (option, style, padding)
        strips = self._option_render_cache.get(cache_key)
        if strips is None:
            prompt = option.prompt
            assert isinstance(prompt, Text)
            base = style.rich_style
            rich_style = base + self.app.console.get_style(prompt.style) if prompt.style else base
            text = prompt.plain
            # The offset is what Textual's text selection reads (the same as Content gives it).
            segments = [Segment(text, rich_style + _OFFSET_0)]
            length = cell_len(text)
            if length < width:
                segments.append(Segment(" " * (width - length), base))
            strip = Strip(segments, width).apply_meta({"option": self._option_to_index[option]})
            strips = [strip]
            self._option_render_cache[cache_key] = strips
        return strips
