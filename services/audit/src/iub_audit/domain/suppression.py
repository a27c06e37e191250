"""Small-cell suppression for follow-up statistics (uppföljning) of a kommun's insatser.

Primary suppression: any count below 5 (but above 0) is shown as "<5". Complementary
suppression: if a row or column has exactly one suppressed cell, its total would reveal it, so
the smallest other non-zero cell in that row/column is suppressed too, repeated until every row
and column has either none or at least two suppressed cells. Totals are then shown only where
they cannot be used to recover a suppressed cell (they are computed over unsuppressed data but a
total with one hidden cell is never published alone).
"""

from __future__ import annotations

THRESHOLD = 5
HIDDEN = "<5"


def suppress_table(cells: dict[tuple[str, str], int], threshold: int = THRESHOLD) -> dict[tuple[str, str], int | str]:
    """Suppress a two-way table {(row, col): count}: primary (<threshold) plus complementary."""
    hidden = {k for k, v in cells.items() if 0 < v < threshold}
    rows = {r for r, _ in cells}
    cols = {c for _, c in cells}
    changed = True
    while changed:
        changed = False
        for axis, keys in ((0, rows), (1, cols)):
            for key in keys:
                line = [k for k in cells if k[axis] == key]
                if sum(1 for k in line if k in hidden) == 1:
                    # zeros count too: a row whose other cells are all 0 would otherwise reveal the hidden one
                    candidates = sorted((cells[k], k) for k in line if k not in hidden)
                    if candidates:
                        hidden.add(candidates[0][1])
                        changed = True
    return {k: (HIDDEN if k in hidden else v) for k, v in cells.items()}


def suppress_list(counts: dict[str, int], threshold: int = THRESHOLD) -> dict[str, int | str]:
    """Suppress a one-way table; if exactly one cell is hidden, hide the next smallest as well."""
    hidden = {k for k, v in counts.items() if 0 < v < threshold}
    if len(hidden) == 1:
        rest = sorted((v, k) for k, v in counts.items() if k not in hidden)
        if rest:
            hidden.add(rest[0][1])
    return {k: (HIDDEN if k in hidden else v) for k, v in counts.items()}


def safe_total(values: list[int | str], true_total: int) -> int | str:
    """A total that cannot reveal a single hidden cell: shown only if no cell is hidden or ≥2 are."""
    hidden = sum(1 for v in values if v == HIDDEN)
    if hidden == 1:
        return HIDDEN
    if hidden and true_total < THRESHOLD:
        return HIDDEN
    return true_total
