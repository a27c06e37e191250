"""Small cells are hidden, and no hidden cell can be recovered from row or column totals."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iub_audit.domain.suppression import HIDDEN, safe_total, suppress_list, suppress_table


@pytest.mark.parametrize(
    ("counts", "hidden"),
    [
        ({"a": 10, "b": 3, "c": 7}, {"b", "c"}),
        ({"a": 10, "b": 12}, set()),
        ({"a": 1, "b": 2, "c": 9}, {"a", "b"}),
        ({"a": 0, "b": 9}, set()),
        ({"a": 0, "b": 3, "c": 9}, {"a", "b"}),
    ],
    ids=["one small cell drags the next smallest with it", "nothing small nothing hidden",
         "two small cells protect each other", "a zero is not a small cell",
         "a zero partner hides a lone small cell"],
)
def test_one_way_suppression(counts, hidden):
    out = suppress_list(counts)
    assert {k for k, v in out.items() if v == HIDDEN} == hidden


def test_a_single_hidden_cell_in_a_row_gets_a_complementary_partner():
    cells = {("r1", "c1"): 3, ("r1", "c2"): 20, ("r1", "c3"): 30, ("r2", "c1"): 40, ("r2", "c2"): 50,
             ("r2", "c3"): 60}
    out = suppress_table(cells)
    assert out[("r1", "c1")] == HIDDEN
    assert out[("r1", "c2")] == HIDDEN  # smallest other in the row
    assert out[("r2", "c1")] == HIDDEN or out[("r2", "c2")] == HIDDEN  # the columns need partners too


def _recoverable(out, cells) -> bool:
    rows = {r for r, _ in cells}
    cols = {c for _, c in cells}
    for axis, keys in ((0, rows), (1, cols)):
        for key in keys:
            line = [k for k in cells if k[axis] == key]
            if sum(1 for k in line if out[k] == HIDDEN) == 1:
                return True
    return False


@given(st.lists(st.integers(min_value=0, max_value=30), min_size=6, max_size=6),
       st.lists(st.integers(min_value=0, max_value=30), min_size=6, max_size=6))
def test_no_row_or_column_ever_has_exactly_one_hidden_cell(row1, row2):
    cells = {}
    for (i, row) in enumerate((row1, row2)):
        for j, v in enumerate(row[:3]):
            cells[(f"r{i}", f"c{j}")] = v
    out = suppress_table(cells)
    assert all(out[k] == HIDDEN for k, v in cells.items() if 0 < v < 5)
    assert not _recoverable(out, cells)


def test_a_total_with_one_hidden_cell_is_hidden():
    assert safe_total([HIDDEN, 10], 13) == HIDDEN
    assert safe_total([HIDDEN, HIDDEN, 10], 16) == 16
    assert safe_total([10, 20], 30) == 30


def test_every_combination_of_small_cells_is_protected():
    for combo in itertools.product([0, 2, 7], repeat=4):
        cells = {("a", "x"): combo[0], ("a", "y"): combo[1], ("b", "x"): combo[2], ("b", "y"): combo[3]}
        assert not _recoverable(suppress_table(cells), cells)
