"""County policy and budget: prices and disasters of the year, budgets, training slots,
infrastructure investment, and re-assessment of the low-income subsidy."""
from __future__ import annotations

import numpy as np

from ..world import World


def market_and_weather(world: World) -> None:
    """Realise this year's product prices (log-AR(1), grain floor) and village disasters."""
    p, d = world.params.shocks, world.draws
    world.log_price = p.price_persistence * world.log_price + np.asarray(p.price_volatility) * d.price_innovation
    price = np.exp(world.log_price)
    price[0] = max(price[0], p.grain_price_floor)
    world.price = price

    v, c = world.villages, world.counties
    loss = np.asarray(p.disaster_yield_loss)
    cum = np.cumsum(p.disaster_class_probabilities)[:-1]
    village_loss = np.where(d.village_disaster_u < p.disaster_probability,
                            loss[np.searchsorted(cum, d.village_class_u, side="right")], 0.0)
    county_loss = np.where(d.county_disaster_u < p.county_disaster_probability,
                           loss[np.searchsorted(cum, d.county_class_u, side="right")], 0.0)
    # A county-wide disaster hits every village of the county; losses do not add up beyond the worst.
    v.disaster_loss[:] = np.maximum(village_loss, county_loss[v.county_id])


def county_budgets(world: World, counties) -> None:
    """Budgets, training slots and road hardening for the given counties."""
    pp, c, v = world.params.policy, world.counties, world.villages
    c.budget[counties] = world.params.county.budget_per_capita * c.population[counties]
    if not world.policy_active:
        c.training_slots[counties] = 0
        return
    cidx = np.atleast_1d(np.arange(c.n)[counties])
    c.training_slots[cidx] = np.floor(pp.training_budget_per_capita * c.population[cidx] / pp.training_cost)
    # The infrastructure budget is spread evenly over the county's villages.
    points = np.zeros(c.n)
    points[cidx] = (pp.infrastructure_budget_per_capita * c.population[cidx]
                    / world.params.population.villages_per_county / pp.infrastructure_cost_per_point)
    in_counties = np.zeros(c.n, dtype=bool)
    in_counties[cidx] = True
    sel = in_counties[v.county_id]
    v.hroad[sel] = np.minimum(100.0, v.hroad[sel] + points[v.county_id[sel]])


def subsidy_review(world: World, idx) -> None:
    """Targeting: under the policy, households poor last year are registered (registration is
    sticky); a random share of households have their subsidy re-assessed by a noisy means test."""
    hh, pp, d = world.households, world.params.policy, world.draws
    hh.hroad[idx] = world.villages.hroad[hh.village_id[idx]]
    if world.income_pc_last is None:
        return
    if world.policy_active:
        poor_last = world.income_pc_last[idx] < world.params.poverty.line_national
        hh.registered_poor[idx] = hh.registered_poor[idx] | poor_last
    reviewed = d.subsidy_review_u[idx] < pp.subsidy_review_rate
    assessed = world.income_pc_last[idx] * np.exp(pp.subsidy_targeting_error * d.targeting_z[idx])
    eligible = assessed < pp.subsidy_threshold
    hh.subsidy[idx] = np.where(reviewed, eligible, hh.subsidy[idx]).astype(np.int8)
