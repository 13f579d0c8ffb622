"""The grouping helpers (model/processes/groups.py) give exactly what the numpy calls they replace give."""
import numpy as np
import pytest

from ruralabm.model.processes.groups import group_starts, member_of, rank_in_groups, stable_order, stable_argsort


@pytest.mark.parametrize("size", [1, 7, 800, 70_000])
def test_member_of_is_isin_with_minus_one_never_a_member(size):
    rng = np.random.default_rng(size)
    ids = rng.integers(-1, size, 5_000).astype(np.int32)
    for members in (np.array([], dtype=np.int64), rng.choice(size, max(1, size // 3), replace=False),
                    np.arange(size)):
        np.testing.assert_array_equal(member_of(ids, members, size), np.isin(ids, members))


@pytest.mark.parametrize("high", [3, 800, 1 << 16, 1 << 20])  # radix (16-bit) and comparison sorts
def test_stable_order_is_a_stable_argsort(high):
    rng = np.random.default_rng(high)
    key = rng.integers(0, high, 20_000)  # many ties when high is small
    np.testing.assert_array_equal(stable_order(key), np.argsort(key, kind="stable"))
    np.testing.assert_array_equal(stable_order(key[:0]), np.argsort(key[:0], kind="stable"))


def test_the_applicants_order_is_the_old_lexsort():
    """accept_applicants: by organisation, forced first, score descending (ties included), then id."""
    rng = np.random.default_rng(3)
    n = 30_000
    ids = np.sort(rng.choice(100_000, n, replace=False))
    org = rng.integers(0, 900, n).astype(np.int32)
    forced = rng.random(n) < 0.02
    score = np.round(rng.standard_normal(n), 2)  # rounded: many tied scores
    score[:50] = -0.0
    old = np.lexsort((ids, -score, ~forced, org))
    new = np.argsort(-score, kind="stable")
    new = new[stable_order((org.astype(np.int64) * 2 + ~forced)[new])]
    np.testing.assert_array_equal(new, old)


def test_starts_and_ranks_within_sorted_groups_are_searchsorted():
    rng = np.random.default_rng(5)
    groups = np.sort(rng.integers(0, 400, 10_000))
    start = np.searchsorted(groups, groups, side="left")
    np.testing.assert_array_equal(group_starts(groups, 400), start)
    np.testing.assert_array_equal(rank_in_groups(groups, 400), np.arange(groups.size) - start)
    assert rank_in_groups(groups[:0], 400).size == 0


@pytest.mark.parametrize("ties", [False, True])
def test_stable_argsort_is_numpys_stable_argsort(ties):
    rng = np.random.default_rng(3)
    values = rng.normal(size=20_000)
    if ties:  # equal values keep the order of their indices
        values = np.round(values, 1)
    np.testing.assert_array_equal(stable_argsort(values), np.argsort(values, kind="stable"))
    np.testing.assert_array_equal(stable_argsort(-values), np.argsort(-values, kind="stable"))
    assert stable_argsort(values[:1]).tolist() == [0] and stable_argsort(values[:0]).size == 0
