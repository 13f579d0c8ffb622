"""County policy and budget: budgets, training slots, infrastructure investment, and
re-assessment of the low-income subsidy. (Prices and disasters are shock processes of their own:
``prices``, ``disasters``.)"""
from __future__ import annotations

import numpy as np

from ..rng import stream
from .production import subsidy_level
from ..world import World
from .counties import budget_factor
from .disasters import strike_disasters
from .prices import realise_prices


def market_and_weather(world: World) -> None:
    """This year's prices and disasters: the two world-level shock processes in schedule order
    (kept for callers that realise both at once; the schedule runs them separately)."""
    realise_prices(world)
    strike_disasters(world)


def county_budgets(world: World, counties) -> None:
    """Budgets, training slots and road hardening for the given counties."""
    pp, c, v = world.params.policy, world.counties, world.villages
    c.budget[counties] = world.params.county.budget_per_capita * c.population[counties]
    if not world.policy_active:
        c.training_slots[counties] = 0
        return
    cidx = np.atleast_1d(np.arange(c.n)[counties])
    scale = budget_factor(world, cidx)
    c.training_slots[cidx] = np.floor(pp.training_budget_per_capita * scale * c.population[cidx] / pp.training_cost)
    # The infrastructure budget is spread evenly over the county's villages.
    points = np.zeros(c.n)
    points[cidx] = (pp.infrastructure_budget_per_capita * scale * c.population[cidx]
                    / world.params.population.villages_per_county / pp.infrastructure_cost_per_point)
    in_counties = np.zeros(c.n, dtype=bool)
    in_counties[cidx] = True
    sel = in_counties[v.county_id]
    v.hroad[sel] = np.minimum(100.0, v.hroad[sel] + points[v.county_id[sel]])


def initial_subsidy(world: World) -> None:
    """Design 'national': the low-income subsidy (dibao) at set-up, by the same noisy means test
    as the yearly review, on the expected income per resident (the 'table1' design drew it from
    the CLDS poor sample's share instead). Its own draws (stream ``policy``, year 0)."""
    hh, pp = world.households, world.params.policy
    z = stream(world.seed, "policy", 0).standard_normal(hh.n)
    assessed = world.income_pc_last * np.exp(pp.subsidy_targeting_error * z)
    hh.subsidy[:] = (assessed < pp.subsidy_threshold).astype(np.int8)


def subsidy_review(world: World, idx) -> None:
    """Targeting: under the policy, households poor last year are registered (registration is
    sticky); a random share of households have their subsidy re-assessed by a noisy means test."""
    hh, pp, d = world.households, world.params.policy, world.draws
    hh.hroad[idx] = world.villages.hroad.take(hh.village_id[idx])
    if world.income_pc_last is None:
        return
    if world.policy_active and world.params.registration.rule == "ever_poor":  # else processes/registration.py
        poor_last = world.income_pc_last[idx] < world.params.poverty.line_national
        hh.registered_poor[idx] = hh.registered_poor[idx] | poor_last
    # the means test of the reviewed households (the others keep their status)
    reviewed = np.flatnonzero(d.subsidy_review_u[idx] < pp.subsidy_review_rate)
    subsidy = hh.subsidy[idx].copy()
    income = world.income_pc_last[idx].take(reviewed)
    if world.params.population.design == "national":
        # The means test looks at income before the dibao itself (the 'table1' world kept the old test).
        income = income - subsidy.take(reviewed) * subsidy_level(world.params, world.year - 1,
                                                                     hh.region[idx].take(reviewed))
    assessed = income * np.exp(pp.subsidy_targeting_error * d.targeting_z[idx].take(reviewed))
    subsidy[reviewed] = assessed < pp.subsidy_threshold
    hh.subsidy[idx] = subsidy
