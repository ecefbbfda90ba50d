"""Tables that never cut an id: message ids, nonces, Beam ids, drill names and paths are not
wrapped, folded or ellipsised, however narrow the terminal (or the ``COLUMNS`` a pipe gets).

A rich table fits itself into the console's width by wrapping, then cutting, every column.
A :class:`WholeTable` first takes the width its unbroken (``no_wrap``) columns and the
words of its title need: the other columns wrap into what is left, and when even that is
too narrow the table's lines run past the console's width (a terminal soft-wraps them, a
pipe gets them whole), so an id can always be copied or grepped in one piece. It is meant
for :data:`drills.cli.console.console`, which neither wraps nor crops lines: every table
printed there is a :class:`WholeTable`, which also centres its title as rich does on a
console that wraps.
"""

from __future__ import annotations

from typing import Final

from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.measure import Measurement
from rich.table import Table

#: A width no table here reaches: what a table is measured at to find the width it needs.
UNBOUNDED: Final[int] = 1_000_000


class WholeTable(Table):
    """A rich table laid out at least as wide as its unbroken columns and its title's words need."""

    def add_id_column(self, header: str, justify: JustifyMethod = "left") -> None:
        """Add a column of ids, nonces, names or paths: each cell stays whole on one line."""
        self.add_column(header, justify=justify, no_wrap=True, overflow="fold")

    def _keep_whole(self, console: Console, options: ConsoleOptions) -> None:
        """Give every ``no_wrap`` column the width of its widest cell (header included) as its
        minimum, since rich takes a cell's minimum to be its longest word ("1200 s" has two),
        and the table the width of its title's longest word."""
        unbounded = options.update_width(UNBOUNDED)
        for column in self.columns:
            if column.no_wrap:
                column.min_width = max(Measurement.get(console, unbounded, cell).maximum
                                       for cell in (column.header, *column.cells))
        if self.title is not None:
            self.min_width = max(self.min_width or 0, Measurement.get(console, unbounded, self.title).minimum)

    def _options(self, console: Console, options: ConsoleOptions) -> ConsoleOptions:
        """``options`` at the console's width, or the table's least width if that is more, and
        wrapping its title and caption (every column sets its own wrapping)."""
        self._keep_whole(console, options)
        least = super().__rich_measure__(console, options.update_width(UNBOUNDED)).minimum
        return options.update(width=max(options.max_width, least), no_wrap=False, overflow="fold")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return super().__rich_measure__(console, self._options(console, options))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        return super().__rich_console__(console, self._options(console, options))
