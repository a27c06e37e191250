"""Small counts are hidden, and no hidden count can be recovered from what is published with it.

Two independent readers check the published tables: one rebuilds the alternative table each
protecting cycle describes and checks it against every published number and marker; the other
(for small tables) enumerates every table consistent with what is published, by brute force.
"""

from __future__ import annotations

import itertools

import pytest
from audit_support import FIGURES
from hypothesis import given, settings
from hypothesis import strategies as st

from iub_audit.domain.suppression import (
    SMALL,
    UNPUBLISHED,
    WITHHELD,
    Grid,
    alternative,
    one_way_grid,
    protecting_cycle,
    suppress_grid,
    suppress_one_way,
    suppress_two_way,
)

# ---------------------------------------------------------------- the reader's view


def reader_allows(shown, value: int) -> bool:
    """Whether a value is consistent with what is published for a cell."""
    if shown is None:  # not published at all
        return True
    if shown == SMALL:
        return 1 <= value <= 4
    if shown == WITHHELD:
        return value >= 1
    return value == shown


def published(s, cell):
    return None if s.kinds.get(cell) == UNPUBLISHED else s.shown(cell)


def is_table(values: list[list[int]]) -> bool:
    """Row totals, column totals and grand total add up."""
    *inner, last = values
    return (all(sum(r[:-1]) == r[-1] for r in values)
            and all(sum(r[j] for r in inner) == last[j] for j in range(len(last))))


def check_every_hidden_count_has_another_table(grid: Grid, s) -> None:
    """Reader 1: for every hidden count, a different table consistent with everything published."""
    for cell, kind in s.kinds.items():
        if kind == UNPUBLISHED:
            continue
        cycle = protecting_cycle(grid, s.kinds, cell, s.threshold)
        assert cycle is not None, f"{cell} of {grid.values} is recoverable"
        other = [list(r) for r in grid.values]
        for (i, j), v in alternative(grid, cycle).items():
            other[i][j] = v
        assert is_table(other)
        assert other[cell[0]][cell[1]] != grid[cell]
        assert all(v >= 0 and reader_allows(published(s, c), v)
                   for c in grid.cells() for v in [other[c[0]][c[1]]])


def brute_force_values(grid: Grid, s, cells: list, limit: int) -> dict:
    """Reader 2: values each inner cell takes over tables consistent with what is published (stops at two).

    Enumerates row by row; a row's last cell follows from a published row total, and the last
    row from published column totals, which keeps the search small for small tables.
    """
    R, C = grid.last_row, grid.last_col

    def options(c) -> list[int]:
        shown = published(s, c)
        return [shown] if isinstance(shown, int) else [v for v in range(limit + 1) if reader_allows(shown, v)]

    def rows_of(i: int):
        total = published(s, (i, C))
        free = [options((i, j)) for j in range(C - 1)]
        for head in itertools.product(*free):
            lasts = [total - sum(head)] if isinstance(total, int) else options((i, C - 1))
            for last in lasts:
                if reader_allows(published(s, (i, C - 1)), last) and last >= 0:
                    yield [*head, last]

    seen: dict = {c: set() for c in cells}
    for upper in itertools.product(*(list(rows_of(i)) for i in range(R - 1))):
        col_totals = [published(s, (R, j)) for j in range(C)]
        if all(isinstance(t, int) for t in col_totals):
            candidates = [[t - sum(r[j] for r in upper) for j, t in enumerate(col_totals)]]
        else:
            candidates = list(rows_of(R - 1))
        for last in candidates:
            full = Grid.from_counts([*upper, last])
            if all(v >= 0 for v in last) and all(reader_allows(published(s, c), full[c]) for c in full.cells()):
                for c in cells:
                    seen[c].add(full[c])
                if all(len(v) >= 2 for v in seen.values()):
                    return seen
    return seen


# ---------------------------------------------------------------- one-way lists


@pytest.mark.parametrize(
    ("counts", "shown", "total"),
    [
        ({"a": 10, "b": 12}, {"a": 10, "b": 12}, 22),
        ({"a": 10, "b": 3, "c": 7}, {"a": 10, "b": SMALL, "c": WITHHELD}, 20),
        ({"a": 1, "b": 2, "c": 9}, {"a": SMALL, "b": SMALL, "c": 9}, 12),
        ({"a": 1, "b": 1, "c": 9}, {"a": SMALL, "b": SMALL, "c": WITHHELD}, 11),
        ({"a": 0, "b": 9}, {"a": 0, "b": 9}, 9),
        ({"a": 0, "b": 3, "c": 9}, {"a": 0, "b": SMALL, "c": WITHHELD}, 12),
        ({"a": 3}, {"a": SMALL}, SMALL),
        ({"a": 1, "b": 1, "c": 1, "d": 1}, {"a": SMALL, "b": SMALL, "c": SMALL, "d": SMALL}, WITHHELD),
        ({}, {}, 0),
    ],
    ids=[
        "nothing small, nothing hidden",
        "one small count takes the next smallest with it",
        "two small counts protect each other when their sum leaves room",
        "two ones cannot protect each other: their sum would give both away",
        "a zero is shown and is not a small count",
        "a zero is never a partner",
        "a single small count hides the total too",
        "four ones under a total of four: the total is withheld instead",
        "an empty list has a total of zero",
    ],
)
def test_one_way_suppression(counts, shown, total):
    out = suppress_one_way(counts)
    assert (out.cells, out.total) == (shown, total)
    FIGURES["suppression rules checked"] += 1


# ---------------------------------------------------------------- two-way tables


def test_a_single_small_cell_gets_a_cycle_of_partners_and_the_totals_stay():
    counts = {("r1", "c1"): 3, ("r1", "c2"): 20, ("r2", "c1"): 40, ("r2", "c2"): 50}
    out = suppress_two_way(counts, ["r1", "r2"], ["c1", "c2"])
    assert out.cells == {("r1", "c1"): SMALL, ("r1", "c2"): WITHHELD, ("r2", "c1"): WITHHELD,
                         ("r2", "c2"): WITHHELD}
    assert (out.row_totals, out.column_totals, out.total) == ({"r1": 23, "r2": 90}, {"c1": 43, "c2": 70}, 113)


def test_the_cheapest_partners_are_chosen():
    counts = {("a", "x"): 2, ("a", "y"): 6, ("a", "z"): 90, ("b", "x"): 7, ("b", "y"): 8, ("b", "z"): 95}
    out = suppress_two_way(counts, ["a", "b"], ["x", "y", "z"])
    hidden = {k for k, v in out.cells.items() if v in (SMALL, WITHHELD)}
    assert hidden == {("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")}


def test_a_small_row_total_is_hidden_and_protected_like_a_cell():
    counts = {("a", "x"): 2, ("a", "y"): 1, ("b", "x"): 30, ("b", "y"): 40}
    out = suppress_two_way(counts, ["a", "b"], ["x", "y"])
    assert out.row_totals["a"] == SMALL
    assert out.cells[("a", "x")] == SMALL and out.cells[("a", "y")] == SMALL
    grid = Grid.from_counts([[2, 1], [30, 40]])
    check_every_hidden_count_has_another_table(grid, suppress_grid(grid))


def test_a_column_of_ones_under_a_small_total_withholds_the_total_rather_than_give_them_away():
    grid = Grid.from_counts([[1, 10], [1, 9], [1, 8], [1, 7]])
    s = suppress_grid(grid)
    assert s.shown((4, 0)) == WITHHELD  # the column total 4 would pin every 1
    assert all(s.shown((i, 0)) == SMALL for i in range(4))
    check_every_hidden_count_has_another_table(grid, s)


def test_nothing_small_means_nothing_hidden():
    out = suppress_two_way({("a", "x"): 5, ("a", "y"): 0, ("b", "x"): 7, ("b", "y"): 9}, ["a", "b"], ["x", "y"])
    assert out.cells == {("a", "x"): 5, ("a", "y"): 0, ("b", "x"): 7, ("b", "y"): 9}


def test_every_combination_of_small_cells_in_a_two_by_two_table_is_protected():
    for combo in itertools.product([0, 1, 2, 4, 5, 7], repeat=4):
        grid = Grid.from_counts([list(combo[:2]), list(combo[2:])])
        s = suppress_grid(grid)
        check_every_hidden_count_has_another_table(grid, s)
        FIGURES["suppression tables checked"] += 1


counts_st = st.integers(0, 12) | st.sampled_from([0, 0, 1, 1, 2, 3, 4])


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 6).flatmap(lambda r: st.integers(1, 8).flatmap(
    lambda c: st.lists(st.lists(counts_st, min_size=c, max_size=c), min_size=r, max_size=r))))
def test_no_hidden_count_in_any_table_can_be_recovered_from_its_totals(counts):
    grid = Grid.from_counts(counts)
    s = suppress_grid(grid)
    small = {c for c in grid.cells() if 0 < grid[c] < 5}
    assert small <= set(s.kinds)  # every small count is hidden (as <5, or as x in the last resort)
    assert {c for c, k in s.kinds.items() if k in ("primary", "relabelled")} == small
    assert all(grid[c] > 0 for c in s.kinds)  # zeros are shown
    check_every_hidden_count_has_another_table(grid, s)
    FIGURES["suppression tables checked"] += 1


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 3).flatmap(lambda c: st.lists(st.lists(st.integers(0, 7), min_size=c, max_size=c),
                                                    min_size=2, max_size=3)))
def test_a_brute_force_reader_finds_at_least_two_values_for_every_hidden_cell(counts):
    grid = Grid.from_counts(counts)
    s = suppress_grid(grid)
    limit = grid[(grid.last_row, grid.last_col)] + 2
    hidden = [c for c in s.kinds if c[0] < grid.last_row and c[1] < grid.last_col]
    for cell, values in brute_force_values(grid, s, hidden, limit).items():
        assert len(values) >= 2, (counts, cell)
    FIGURES["suppression tables checked"] += 1


@settings(max_examples=200, deadline=None)
@given(st.lists(counts_st, min_size=1, max_size=10))
def test_no_hidden_count_in_any_list_can_be_recovered_from_its_total(values):
    grid, unpublished = one_way_grid(values)
    s = suppress_grid(grid, unpublished=unpublished)
    check_every_hidden_count_has_another_table(grid, s)
    out = suppress_one_way(dict(enumerate(values)))
    assert all(out.cells[i] == SMALL for i, v in enumerate(values) if 0 < v < 5)
    assert all(out.cells[i] == 0 for i, v in enumerate(values) if v == 0)
    FIGURES["suppression tables checked"] += 1


def test_the_readers_catch_two_ones_whose_published_total_gives_them_away():
    """Both readers are real: hiding only the two ones of a column (as a naive rule would) is caught."""
    from iub_audit.domain.suppression import PRIMARY, Suppression

    grid = Grid.from_counts([[1, 9], [1, 9]])
    naive = Suppression(grid, {(0, 0): PRIMARY, (1, 0): PRIMARY})
    assert brute_force_values(grid, naive, [(0, 0), (1, 0)], 30) == {(0, 0): {1}, (1, 0): {1}}
    assert protecting_cycle(grid, naive.kinds, (0, 0)) is None
    s = suppress_grid(grid)
    check_every_hidden_count_has_another_table(grid, s)
    assert all(len(v) >= 2 for v in brute_force_values(grid, s, [(0, 0), (1, 0)], 30).values())
