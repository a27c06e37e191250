"""Small-cell suppression for follow-up statistics (uppföljning), so no person can be singled out.

What is published for a count:

- ``<5`` — primary suppression: the count is 1–4 (cells and totals alike);
- ``x`` — complementary suppression: withheld to protect a ``<5``; a reader learns only that it
  is at least 1 (zeros are always shown, never hidden);
- otherwise the count itself.

Guarantee, for the published table *with* its row, column and grand totals: for every hidden
count there is another table, consistent with every published number and marker, in which that
count differs. So no suppressed cell can be recovered from row or column totals.

How: write the table with its margins as an extended grid where every row and column sums to
zero (margins negated, grand total positive). Adding +1/−1 alternately around a cycle of hidden
cells keeps every sum, so a hidden cell is safe when it lies on such a cycle whose ±1 steps stay
within what is published for each cell. Cycles are paths in the bipartite graph of rows and
columns; the cheapest cycle through an unsafe cell (cost: the counts it would withhold) is
found with Dijkstra and its visible cells become ``x``. For interval bounds, integer flow
decomposition makes this exact: a cell with no such cycle is recoverable. Tests check the
result against a brute-force reader.

Rare last resort: a line of ones whose total is also small (1+1+1+1 = 4, all ``<5``) pins every
cell whatever else is hidden, because ``<5`` itself gives the bound; then one of those small
counts (a total first) is published as ``x`` instead of ``<5``.

Several tables of one period are protected together in ``published`` (frozen cells, joint
alternatives). Not covered (see README): differencing across overlapping periods.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

THRESHOLD = 5
SMALL = "<5"  # primary: 1–4
WITHHELD = "x"  # complementary: at least 1, withheld to protect a small count

Shown = int | str
Cell = tuple[int, int]
_Node = tuple[str, int]

# kinds of hidden cells, with what a reader (and the search) may assume about them
PRIMARY = "primary"  # shown <5: 1 … t−1
COMPLEMENTARY = "complementary"  # shown x: a count ≥ t hidden to protect another
RELABELLED = "relabelled"  # shown x: a small count that could not stay <5 (last resort)
UNPUBLISHED = "unpublished"  # not part of the published table at all (free)


@dataclass(frozen=True)
class Grid:
    """A table with its margins: ``values[i][j]``; the last row holds column totals, the last column row totals."""

    values: tuple[tuple[int, ...], ...]

    @classmethod
    def from_counts(cls, counts: Sequence[Sequence[int]]) -> Grid:
        """Add row totals, column totals and the grand total to a rectangular table of counts."""
        rows = [[*r, sum(r)] for r in counts]
        width = len(rows[0]) if rows else 1
        rows.append([sum(r[j] for r in rows) for j in range(width)])
        return cls(tuple(tuple(r) for r in rows))

    @property
    def last_row(self) -> int:
        """Index of the row of column totals."""
        return len(self.values) - 1

    @property
    def last_col(self) -> int:
        """Index of the column of row totals."""
        return len(self.values[0]) - 1

    def sign(self, cell: Cell) -> int:
        """+1 for inner cells and the grand total, −1 for margins: every line then sums to zero."""
        return -1 if (cell[0] == self.last_row) != (cell[1] == self.last_col) else 1

    def cells(self) -> list[Cell]:
        """Every cell, totals included, row by row."""
        return [(i, j) for i in range(len(self.values)) for j in range(len(self.values[0]))]

    def __getitem__(self, cell: Cell) -> int:
        return self.values[cell[0]][cell[1]]


def bounds(kind: str | None, value: int, threshold: int = THRESHOLD) -> tuple[int | None, int | None]:
    """What a reader may assume about a cell of a kind: (lowest, highest), None for unbounded."""
    return {
        PRIMARY: (1, threshold - 1),
        COMPLEMENTARY: (threshold, None),
        RELABELLED: (1, None),
        UNPUBLISHED: (None, None),
    }.get(kind or "", (value, value))


@dataclass(frozen=True)
class Suppression:
    """The kind of every hidden cell of a grid; everything else is published as it is."""

    grid: Grid
    kinds: Mapping[Cell, str] = field(default_factory=dict)
    threshold: int = THRESHOLD

    def shown(self, cell: Cell) -> Shown:
        """What is published for a cell."""
        kind = self.kinds.get(cell)
        if kind == PRIMARY:
            return SMALL
        if kind in (COMPLEMENTARY, RELABELLED):
            return WITHHELD
        return self.grid[cell]


@dataclass(frozen=True)
class _Edge:
    to: _Node
    cell: Cell
    step: int
    cost: int
    kind: str


def _steps(grid: Grid, cell: Cell, kind: str | None, threshold: int) -> tuple[bool, bool]:
    """Whether a cell's zero-sum coordinate may go up / down by one within its kind's bounds."""
    lo, hi = bounds(kind, grid[cell], threshold)
    v = grid[cell]
    up, down = hi is None or v + 1 <= hi, lo is None or v - 1 >= lo
    return (up, down) if grid.sign(cell) > 0 else (down, up)


def _graph(grid: Grid, kinds: Mapping[Cell, str], exclude: Cell, threshold: int, *, allow_new: bool,
           relabel_cost: int | None, frozen: frozenset[Cell] = frozenset()) -> dict[_Node, list[_Edge]]:
    """Edges of the cycle graph (row→column steps +1, column→row steps −1) with what each costs.

    ``frozen`` cells never change (they are published by another table too).
    """
    adj: dict[_Node, list[_Edge]] = {}
    for cell in grid.cells():
        if cell == exclude or cell in frozen:
            continue
        kind = kinds.get(cell)
        options: list[tuple[str, int]] = []
        if kind is not None:
            options.append((kind, 0))
            if kind == PRIMARY and relabel_cost is not None:
                options.append((RELABELLED, relabel_cost + (0 if grid.sign(cell) < 0 else 1)))
        elif allow_new and grid[cell] >= threshold:  # zeros are never hidden; 1…t−1 are primary already
            options.append((COMPLEMENTARY, grid[cell]))
        row, col = ("r", cell[0]), ("c", cell[1])
        for k, cost in options:
            up, down = _steps(grid, cell, k, threshold)
            if up:
                adj.setdefault(row, []).append(_Edge(col, cell, +1, cost, k))
            if down:
                adj.setdefault(col, []).append(_Edge(row, cell, -1, cost, k))
    return adj


def _cheapest_path(adj: dict[_Node, list[_Edge]], start: _Node, goal: _Node) -> tuple[int, list[_Edge]] | None:
    """Dijkstra: the cheapest path from start to goal as (cost, edges), or None."""
    tie = itertools.count()
    queue: list = [(0, next(tie), start, ())]
    done: set[_Node] = set()
    while queue:
        cost, _, node, path = heapq.heappop(queue)
        if node == goal:
            return cost, list(path)
        if node in done:
            continue
        done.add(node)
        for e in adj.get(node, ()):
            if e.to not in done:
                heapq.heappush(queue, (cost + e.cost, next(tie), e.to, (*path, e)))
    return None


Cycle = list[tuple[Cell, int, str]]


def protecting_cycle(grid: Grid, kinds: Mapping[Cell, str], cell: Cell, threshold: int = THRESHOLD, *,
                     allow_new: bool = False, relabel: bool = False,
                     frozen: frozenset[Cell] = frozenset()) -> Cycle | None:
    """The cheapest cycle [(cell, ±1 step, kind)] through a hidden cell, or None when it is recoverable.

    ``allow_new``: visible counts ≥ threshold may join (cost: their value). ``relabel``: small
    counts may be published as ``x`` instead of ``<5`` (cost: more than any other choice).
    """
    relabel_cost = 2 * (1 + sum(sum(r) for r in grid.values)) if relabel else None
    adj = _graph(grid, kinds, cell, threshold, allow_new=allow_new, relabel_cost=relabel_cost, frozen=frozen)
    up, down = _steps(grid, cell, kinds[cell], threshold)
    row, col = ("r", cell[0]), ("c", cell[1])
    options = []
    if up:  # the cell steps +1 (row→column); the path returns column→…→row
        found = _cheapest_path(adj, col, row)
        if found:
            options.append((found[0], 0, [(cell, +1, kinds[cell]), *((e.cell, e.step, e.kind) for e in found[1])]))
    if down:
        found = _cheapest_path(adj, row, col)
        if found:
            options.append((found[0], 1, [(cell, -1, kinds[cell]), *((e.cell, e.step, e.kind) for e in found[1])]))
    return min(options, key=lambda o: o[:2])[2] if options else None


def alternative(grid: Grid, cycle: Cycle) -> dict[Cell, int]:
    """The counts of the other table a cycle describes (only the cells that change)."""
    return {cell: grid[cell] + step * grid.sign(cell) for cell, step, _ in cycle}


def suppress_grid(grid: Grid, threshold: int = THRESHOLD, unpublished: frozenset[Cell] = frozenset(),
                  frozen: Mapping[Cell, str | None] | None = None,
                  moved: frozenset[Cell] = frozenset(), start: Mapping[Cell, str] | None = None) -> Suppression:
    """Primary suppression of every published count 1…t−1, then the cheapest protection for each.

    ``frozen``: cells published elsewhere with a fixed kind (None: shown); they are never changed
    here. ``moved``: cells another (joint) alternative already changes, so they are protected.
    ``start``: kinds already decided (e.g. by that joint alternative).
    """
    frozen = frozen or {}
    fixed = frozenset(frozen)
    kinds: dict[Cell, str] = dict.fromkeys(unpublished, UNPUBLISHED)
    kinds.update({c: k for c, k in frozen.items() if k is not None})
    kinds.update(start or {})
    small = [c for c in grid.cells() if c not in unpublished and c not in fixed and 0 < grid[c] < threshold]
    kinds.update({c: PRIMARY for c in small if c not in kinds})
    for cell in small:  # protection is monotone: hiding more never exposes an earlier cell again
        if cell in moved:
            continue
        cycle = (protecting_cycle(grid, kinds, cell, threshold, allow_new=True, frozen=fixed)
                 or protecting_cycle(grid, kinds, cell, threshold, allow_new=True, relabel=True, frozen=fixed))
        if cycle is None:  # withhold every non-zero count rather than publish a recoverable one
            out = {c: UNPUBLISHED if c in unpublished else RELABELLED for c in grid.cells()
                   if c not in fixed and (c in unpublished or grid[c] > 0)}
            return Suppression(grid, out | {c: k for c, k in frozen.items() if k is not None}, threshold)
        for c, _, kind in cycle:
            if kinds.get(c) != kind:
                kinds[c] = kind
    return Suppression(grid, kinds, threshold)


def joint_path(grid: Grid, kinds: Mapping[Cell, str], source_row: int, sink_row: int, frozen: frozenset[Cell],
               threshold: int = THRESHOLD) -> list[tuple[Cell, str]] | None:
    """Cells (and kinds) that let row ``source_row``'s frozen total go up by one and ``sink_row``'s down.

    A hidden margin shared by several tables is protected by one alternative all of them realise:
    in each table a path from the source row to the sink row through hidden (or newly hidden) cells.
    """
    for relabel in (False, True):
        relabel_cost = 2 * (1 + sum(sum(r) for r in grid.values)) if relabel else None
        adj = _graph(grid, kinds, (-1, -1), threshold, allow_new=True, relabel_cost=relabel_cost, frozen=frozen)
        found = _cheapest_path(adj, ("r", source_row), ("r", sink_row))
        if found is not None:
            return [(e.cell, e.kind) for e in found[1]]
    return None


@dataclass(frozen=True)
class TwoWay:
    """A published two-way table: cells, row totals, column totals and grand total."""

    cells: dict[tuple[Hashable, Hashable], Shown]
    row_totals: dict[Hashable, Shown]
    column_totals: dict[Hashable, Shown]
    total: Shown


def suppress_two_way(counts: Mapping[tuple[Hashable, Hashable], int], rows: Sequence[Hashable],
                     cols: Sequence[Hashable], threshold: int = THRESHOLD) -> TwoWay:
    """Publish counts[(row, col)] (missing = 0) with all totals, small counts and their protectors hidden."""
    grid = Grid.from_counts([[counts.get((r, c), 0) for c in cols] for r in rows])
    s = suppress_grid(grid, threshold)
    last_row, last_col = grid.last_row, grid.last_col
    return TwoWay(
        cells={(r, c): s.shown((i, j)) for i, r in enumerate(rows) for j, c in enumerate(cols)},
        row_totals={r: s.shown((i, last_col)) for i, r in enumerate(rows)},
        column_totals={c: s.shown((last_row, j)) for j, c in enumerate(cols)},
        total=s.shown((last_row, last_col)),
    )


@dataclass(frozen=True)
class OneWay:
    """A published list of counts and its total."""

    cells: dict[Hashable, Shown]
    total: Shown


def one_way_grid(values: Sequence[int]) -> tuple[Grid, frozenset[Cell]]:
    """A list as a one-column grid whose row totals (copies of the cells) and corner are not published."""
    grid = Grid.from_counts([[v] for v in values])
    hidden = frozenset({(i, 1) for i in range(len(values))} | {(len(values), 1)})
    return grid, hidden


def suppress_one_way(counts: Mapping[Hashable, int], threshold: int = THRESHOLD) -> OneWay:
    """Publish a list of counts with its total, small counts and their protectors hidden."""
    keys = list(counts)
    if not keys:
        return OneWay({}, 0)
    grid, unpublished = one_way_grid([counts[k] for k in keys])
    s = suppress_grid(grid, threshold, unpublished)
    return OneWay({k: s.shown((i, 0)) for i, k in enumerate(keys)}, s.shown((len(keys), 0)))
