"""The poverty register ('archiving and carding', jian dang li ka) that targeted transfers follow.

``registration.rule = "ever_poor"`` keeps the old rule (in ``policy.subsidy_review``: every
household below the national line in any year since the policy start is registered, for good;
this process then does nothing). ``"assessment"``:

* **Campaign** (the policy start year, standing for the 2014 campaign, on the year before's
  income): each county registers up to ``quota_multiple`` x its income-poor persons of the year
  before ("scale control"), the households with the lowest *assessed* income per capita first,
  assessed = income per capita x exp(``assessment_error`` z). A household the assessment does not
  reach this year (probability ``exclusion_error``) cannot enter. Registration and income poverty
  then differ in both directions: noise puts some non-poor above poor households in the ranking
  (inclusion and exclusion errors), the quota allowance registers more people than are poor.
* **Exit** (each later year): a household registered for at least ``exit_min_years`` exits when
  its verified income per capita of the year before is at least ``exit_income_multiple`` x the
  line; its transfers continue ``support_years`` more years (the exit year included).
* **Entry** (each later year, ``entry_review``): a reached household not on the register whose
  assessed income is below the line enters (newly poor, returned to poverty, missed before);
  households that exit this year do not re-enter in the same year.

Draws: stream ``registration`` (model/rng.py), per year, for every household whatever its state:
``z`` (assessment noise) then ``u`` (exclusion), so the register never shifts other draws. They
are drawn with the year's other draws (``YearDraws.registration_z``, ``registration_u``, next
year's in the background while this year runs).
"""
from __future__ import annotations

import numpy as np

from ..world import World
from .groups import group_starts, stable_order


def supported(world: World, idx) -> np.ndarray:
    """1 where the household receives the targeted poverty transfer this year: on the register,
    or (rule 'assessment') within its support period after exit."""
    reg = world.households.registered_poor[idx]
    if world.params.registration.rule != "assessment":
        return reg
    return ((reg == 1) | (world.year <= world.support_until[idx])).astype(np.int8)


def quota_register(assessed: np.ndarray, county: np.ndarray, persons: np.ndarray, quota: np.ndarray,
                   candidate: np.ndarray) -> np.ndarray:
    """Within each county, candidates in order of assessed income (lowest first) are registered
    while the persons registered before them are fewer than the county's quota."""
    n = assessed.size
    cand = np.flatnonzero(candidate)
    by_income = np.argsort(assessed.take(cand), kind="stable")  # ties: by id
    order = cand.take(by_income.take(stable_order(county.take(cand).take(by_income))))
    c = county.take(order)
    cum = np.cumsum(persons.take(order))
    # persons registered before this household within its county
    start = group_starts(c, quota.size)
    before = cum - persons.take(order) - np.where(start > 0, cum.take(np.maximum(start - 1, 0)), 0.0)
    chosen = np.zeros(n, dtype=bool)
    chosen[order.compress(before < quota.take(c))] = True
    return chosen


def review_register(world: World) -> None:
    rp = world.params.registration
    if rp.rule != "assessment" or not world.policy_active or world.income_pc_last is None:
        return
    hh, y = world.households, world.year
    line = world.params.poverty.line_national
    z, u = world.draws.registration_z, world.draws.registration_u
    reached = u >= rp.exclusion_error
    income = world.income_pc_last
    assessed = income * np.exp(rp.assessment_error * z)
    registered = hh.registered_poor == 1
    persons = hh.residents.astype(np.float64)

    if y == world.params.calendar.policy_start_year:
        poor = income < line
        quota = rp.quota_multiple * np.bincount(hh.county_id, weights=persons * poor, minlength=world.counties.n)
        new = quota_register(assessed, hh.county_id, persons, quota, reached & ~registered)
        exits = np.zeros(hh.n, dtype=bool)
    else:
        exits = (registered & (y - world.register_since >= rp.exit_min_years)
                 & (income >= rp.exit_income_multiple * line))
        new = (~registered & ~exits & reached & (assessed < line)) if rp.entry_review else np.zeros(hh.n, dtype=bool)
    exit_rows, new_rows = np.flatnonzero(exits), np.flatnonzero(new)
    world.support_until[exit_rows] = y + rp.support_years - 1
    world.register_since[exit_rows] = 0
    world.register_since[new_rows] = y
    world.support_until[new_rows] = 0
    hh.registered_poor[:] = ((registered & ~exits) | new).astype(np.int8)
