"""Tables that fit the terminal's width without cutting a figure or a name.

Rich fits a table that is too wide by wrapping its cells and, as a last
resort, cutting them short with "…": at 80 columns (a CI log, a pipe) that
made "hyperco…" of a server and "2,934–3,3…" of a range. Here a column of
figures or names is ``no_wrap`` and at least as wide as its widest line
(``keep_whole``), so Rich may only wrap the prose columns. A renderer tries
its layouts from the widest down (``fits``: fewer columns, which it says in a
footnote) and, when none fits, prints the table ``stacked``: a block per row.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

UNBOUNDED = 10_000  # a width no table reaches: measures a table as it would be with room to spare


def keep_whole(console: Console, table: Table) -> Table:
    """``table`` with each ``no_wrap`` column at least as wide as its widest line, header included."""
    options = console.options.update_width(UNBOUNDED)
    for column in table.columns:
        if column.no_wrap:
            widths = [Measurement.get(console, options, cell).maximum for cell in (column.header, *column.cells)]
            column.min_width = max(widths, default=0)
    return table


def width_needed(console: Console, table: Table) -> int:
    """The fewest columns ``table`` takes with its ``no_wrap`` columns whole (prose columns may still wrap)."""
    keep_whole(console, table)
    return Measurement.get(console, console.options.update_width(UNBOUNDED), table).minimum


def fits(console: Console, table: Table) -> bool:
    return width_needed(console, table) <= console.width


def print_table(console: Console, *layouts: Table, left_out: Sequence[str] = ()) -> None:
    """The first of ``layouts`` that fits; when none does, the first one ``stacked``.

    Each layout after the first lacks one more of the columns ``left_out``
    names; a footnote then names those the printed one lacks, and the width
    that would show them all.
    """
    for index, table in enumerate(layouts):
        if fits(console, table):
            console.print(table)
            if index:
                wide = width_needed(console, layouts[0])
                note = f"{', '.join(left_out[:index])}: left out at {console.width} columns (COLUMNS={wide} shows them)"
                console.print(Text(note, style="dim"))
            return
    console.print(stacked(layouts[0]))


def stacked(table: Table) -> Group:
    """``table`` as a block per row: the row's first cell as a heading, then a line per other column.

    A multi-line cell (a median over its ratio over its range) becomes one
    line; an empty cell is left out. Each line wraps at spaces only, so no
    figure is split.
    """
    parts: list[RenderableType] = []
    if table.title:
        parts.append(_line(table.title, " "))
    headers = [_line(column.header, " ") for column in table.columns]
    columns = [list(column.cells) for column in table.columns]
    for row in range(table.row_count):
        heading = _line(columns[0][row], " ")
        heading.stylize("bold")
        lines = Table.grid(padding=(0, 2))
        lines.add_column(style="dim", no_wrap=True)
        lines.add_column(overflow="fold")
        for header, cells in zip(headers[1:], columns[1:], strict=True):
            value = _line(cells[row], "  ")
            if value.plain.strip():
                lines.add_row(header, value)
        parts += [heading, Padding(lines, (0, 0, 0, 2), expand=False)]
    if table.caption:
        parts.append(_line(table.caption, " "))
    return Group(*parts)


def _line(cell: RenderableType, separator: str) -> Text:
    # Cells here are Text or plain strings (figures; user text is always Text): a string is taken literally.
    text = cell if isinstance(cell, Text) else Text(str(cell))
    return Text(separator).join(text.split("\n"))
