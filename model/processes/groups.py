"""Grouping helpers of the organisation- and county-level processes: membership in a set of ids,
stable orders and ranks within groups.

They give exactly what ``np.isin``, ``np.lexsort`` and ``np.searchsorted`` give (tests/test_groups.py),
faster on the sizes of a year: the ids are small non-negative integers, so a lookup table replaces a
sorted search and a radix sort (numpy's stable sort of 16-bit integers) a comparison sort.
"""
from __future__ import annotations

import numpy as np

RADIX_LIMIT = 1 << 16


def member_of(ids: np.ndarray, members: np.ndarray, size: int) -> np.ndarray:
    """``np.isin(ids, members)`` for ids in -1 .. size - 1 (-1: none, never a member) and members
    in 0 .. size - 1."""
    table = np.zeros(size + 1, dtype=bool)  # the extra last entry is what id -1 reads
    table[members] = True
    return table.take(ids)


def stable_order(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of non-negative integer keys (a radix sort when they fit
    in 16 bits, which is the same order)."""
    if key.size and key.min() >= 0 and key.max() < RADIX_LIMIT:
        key = key.astype(np.uint16)
    return np.argsort(key, kind="stable")


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` of floats (no NaN): numpy's quicksort, several times
    faster, when no two values are equal, for then the order is the same; the stable sort when
    some are (ties keep the order of their indices)."""
    order = np.argsort(values)
    ordered = values[order]
    if values.size > 1 and not (ordered[1:] > ordered[:-1]).all():
        order = np.argsort(values, kind="stable")
    return order


def group_starts(sorted_groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Where each element's group begins, for group ids (0 .. n_groups - 1) in sorted order:
    ``searchsorted(groups, groups, side="left")``."""
    counts = np.bincount(sorted_groups, minlength=n_groups)
    return (np.cumsum(counts) - counts)[sorted_groups]


def rank_in_groups(sorted_groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Position of each element within its group (group ids in sorted order)."""
    return np.arange(sorted_groups.size) - group_starts(sorted_groups, n_groups)
