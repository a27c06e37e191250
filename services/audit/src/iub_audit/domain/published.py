"""The fixed set of follow-up tables of one period, protected together (pure).

Two queries over the same period must not let a reader recover a hidden cell by differencing
(`--by gender` against `--by insats,gender`). So a period has one fixed set of tables, and every
query is answered from it, never computed on its own:

- ``insats`` — the count per insats (shared by every table below as its row totals);
- ``insats × D`` for each other dimension D, whose column totals are the table ``D`` alone.

Protection: the grand total is published in every table (or, below the threshold, the period is
not broken down at all). The insats counts are protected as a list with the total fixed; each
hidden insats count gets one alternative, one person moved to another hidden insats with all
their other attributes kept, that *every* cross table shows only in hidden cells
(``_joint_moves``); then each cross table protects its remaining small cells with cycles that
never touch the shared insats counts (a cycle is people changing one attribute within their
insats, so it too is consistent with the people behind every other table). Every hidden cell
therefore differs in some other population consistent with all published numbers at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from iub_audit.domain.suppression import (
    COMPLEMENTARY,
    PRIMARY,
    RELABELLED,
    SMALL,
    THRESHOLD,
    Cell,
    Grid,
    Shown,
    Suppression,
    bounds,
    one_way_grid,
    suppress_grid,
)

HUB = "insats"


@dataclass(frozen=True)
class CrossTable:
    """One published ``insats × D`` table."""

    rows: list[Hashable]
    cols: list[Hashable]
    cells: dict[tuple[Hashable, Hashable], Shown]
    row_totals: dict[Hashable, Shown]
    column_totals: dict[Hashable, Shown]
    total: Shown


@dataclass(frozen=True)
class Published:
    """Every table of a period: the insats list and one cross table per other dimension."""

    hub: dict[Hashable, Shown]
    total: Shown
    cross: dict[str, CrossTable]
    too_small: bool = False
    reason: str | None = None


def _shared(values: Sequence[int], threshold: int) -> Suppression:
    """The insats list protected with its total fixed (the grand total is published everywhere)."""
    grid, unpublished = one_way_grid(values)
    return suppress_grid(grid, threshold, unpublished, frozen={(len(values), 0): None})


def _step_kind(grid: Grid, kinds: dict, cell: Cell, step: int, threshold: int) -> tuple[str, int] | None:
    """The kind a cell needs to move by ``step`` unseen, and what hiding it costs; None when it cannot."""
    kind, v = kinds.get(cell), grid[cell]
    if kind is None:
        if v < threshold:  # zeros are published as zeros; 1–4 are primary already
            return None
        kind, cost = COMPLEMENTARY, v
    else:
        cost = 0
    lo, hi = bounds(kind, v, threshold)
    new = v + step
    if (lo is not None and new < lo) or (hi is not None and new > hi):
        if kind == PRIMARY and new >= 1:  # last resort: a small count published as x
            return RELABELLED, cost + 1000 * (1 + v)
        return None
    return kind, cost


def _cheapest_arrival(grid: Grid, kinds: dict, up: int, down: int, j: int,
                      threshold: int) -> tuple[int, list[tuple[Cell, str]]] | None:
    """In one table: the person leaves (down, j) and arrives in row ``up`` in the cheapest column.

    Arriving in another column k changes that person's value too: the column totals of j and k
    (the one-dimension table) then move as well, so they must be hidden.
    """
    best = None
    for k in range(grid.last_col):
        steps = [((up, k), +1), ((down, j), -1)]
        if k != j:
            steps += [((grid.last_row, k), +1), ((grid.last_row, j), -1)]
        cost, marks = 0, []
        for cell, step in steps:
            got = _step_kind(grid, kinds, cell, step, threshold)
            if got is None:
                break
            cost += got[1]
            marks.append((cell, got[0]))
        else:
            if best is None or cost < best[0]:
                best = (cost, marks)
    return best


def _joint_moves(grids: dict[str, Grid], cols: dict[str, list], kinds: dict[str, dict], shared: Suppression, rows: list,
                 people: Counter, dims: Sequence[str], threshold: int) -> dict[str, set] | None:
    """For every hidden insats count, one person moved to another hidden insats, seen in every table.

    The alternative publication moves one person (all their other attributes kept) from insats
    ``down`` to insats ``up``: both insats counts are hidden, and in each table ``insats × D`` the
    two cells of that person's D value change by one, so every table and every margin stays
    consistent, also for a reader who reasons about the people behind the tables.
    Returns the cells each table's alternative moves, or None when some hidden count has none.
    """
    hidden = [i for i in range(len(rows)) if (i, 0) in shared.kinds]
    one_way = shared.grid
    moved: dict[str, set] = {d: set() for d in dims}
    for a in hidden:
        best: tuple[int, list] | None = None
        for b in hidden:
            if b == a:
                continue
            for up, down in ((a, b), (b, a)):
                if _step_kind(one_way, shared.kinds, (up, 0), +1, threshold) is None or \
                        _step_kind(one_way, shared.kinds, (down, 0), -1, threshold) is None:
                    continue
                for (insats, attrs), _n in people.items():
                    if insats != rows[down]:
                        continue
                    cost, marks = 0, []
                    for dim, value in zip(dims, attrs, strict=True):
                        choice = _cheapest_arrival(grids[dim], kinds[dim], up, down, cols[dim].index(value),
                                                   threshold)
                        if choice is None:
                            break
                        cost += choice[0]
                        marks += [(dim, cell, kind) for cell, kind in choice[1]]
                    else:
                        if best is None or cost < best[0]:
                            best = (cost, marks)
        if best is None:
            return None
        for dim, cell, kind in best[1]:
            kinds[dim][cell] = kind
            moved[dim].add(cell)
    return moved


def publish(counts: dict[str, Counter], dims: Sequence[str], people: Counter,
            threshold: int = THRESHOLD) -> Published:
    """The protected tables from counts[D][(insats, d)] and the people (insats, values per D) behind them."""
    hub_counts: Counter = Counter()
    for (ins, _), n in counts[dims[0]].items():
        hub_counts[ins] += n
    rows = sorted(hub_counts)
    total = sum(hub_counts.values())
    if 0 < total < threshold:  # too small to break down at all: only "<5"
        return Published({}, SMALL, {}, too_small=True, reason="perioden har färre än 5 och delas inte upp")
    shared = _shared([hub_counts[r] for r in rows], threshold)
    hub = {r: shared.shown((i, 0)) for i, r in enumerate(rows)}
    grids: dict[str, Grid] = {}
    cols: dict[str, list] = {}
    frozen: dict[str, dict] = {}
    kinds: dict[str, dict] = {}
    for dim in dims:
        cols[dim] = sorted({k[1] for k in counts[dim]})
        grid = Grid.from_counts([[counts[dim].get((r, c), 0) for c in cols[dim]] for r in rows])
        grids[dim] = grid
        frozen[dim] = ({(i, grid.last_col): shared.kinds.get((i, 0)) for i in range(len(rows))}
                       | {(grid.last_row, grid.last_col): None})
        kinds[dim] = {c: PRIMARY for c in grid.cells() if c not in frozen[dim] and 0 < grid[c] < threshold}
    moved = _joint_moves(grids, cols, kinds, shared, rows, people, dims, threshold)
    if moved is None:  # refuse to break the period down rather than publish a recoverable count
        return Published({}, total, {}, too_small=True,
                         reason="perioden kan inte delas upp utan att en dold cell går att räkna fram")
    cross = {}
    for dim in dims:
        grid = grids[dim]
        s = suppress_grid(grid, threshold, frozen=frozen[dim], moved=frozenset(moved[dim]), start=kinds[dim])
        last_row, last_col = grid.last_row, grid.last_col
        cross[dim] = CrossTable(
            rows=rows, cols=cols[dim],
            cells={(r, c): s.shown((i, j)) for i, r in enumerate(rows) for j, c in enumerate(cols[dim])},
            row_totals={r: s.shown((i, last_col)) for i, r in enumerate(rows)},
            column_totals={c: s.shown((last_row, j)) for j, c in enumerate(cols[dim])},
            total=s.shown((last_row, last_col)),
        )
    return Published(hub, total, cross)
