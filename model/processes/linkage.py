"""Interest linkage and real spillovers (``linkage.enabled``, design 'national').

* **Jobs.** After the organisations have accepted their members, each active organisation offers
  ``jobs_per_member[form]`` jobs per member household (processing plants and cold chains of a
  vertical chain, guest houses of agritourism, ...); they go to member households with a resident
  adult who has no stable job, lowest household id first within the organisation (the order
  applicants were accepted in is not kept; the id is arbitrary but fixed, so the assignment is
  reproducible and independent of draws). Pay: ``job_wage_factor`` x a local job's pay, wage income.
* **Local prices.** Contract demand and cooperative marketing bid up the farm-gate price of a
  product in a county: every grower of the product there, member or not, sells at
  spot x (1 + ``price_spillover`` x the share of its growers who sell through an organisation).
  Non-members are affected by others' participation, so SUTVA fails in the simulated world, as it
  may in the field.
* **Market access.** Remote villages sell below the market-town price
  (``remoteness_price_penalty`` x distance / (distance + 20 km)); an organisation recovers
  ``market_access_recovery[form]`` of that for its members (e-commerce sells online from the village).

Share dividends of cooperatives are paid in ``organisations.settle_cooperatives``; land rents and
land-share dividends in ``land.clear_land_market``; the collective-action trust gain of
agritourism in ``capitals.update_capitals``.
"""
from __future__ import annotations

import numpy as np

from ..world import World
from .arrays import form_value
from .groups import rank_in_groups, stable_order
from .labour import available_adults


def assign_jobs(world: World) -> None:
    p, hh, o = world.params, world.households, world.organisations
    if not p.linkage.enabled:
        return
    hh.org_jobs[:] = 0
    member = (hh.participating == 1) & (hh.org_id >= 0)
    if world.policy_active and member.any():
        rows = np.flatnonzero(member)
        org = hh.org_id.take(rows)
        rows = rows.compress(o.active.take(org) == 1)
        org = hh.org_id.take(rows)
        jobs = np.rint(np.asarray(p.linkage.jobs_per_member)[o.form] * o.members).astype(np.int64)
        can = available_adults(hh, rows) > 0
        rows, org = rows.compress(can), org.compress(can)
        order = stable_order(org)  # by organisation, then by id (rows are in id order)
        rows, org = rows.take(order), org.take(order)
        rank = rank_in_groups(org, o.n)
        hired = rows.compress(rank < jobs.take(org))
        hh.org_jobs[hired] = 1
    from .labour import update_members
    world.over_households(update_members)


def local_prices(world: World) -> None:
    """This year's price multiplier of each (county, product) from the share of its growers who
    sell through an organisation."""
    p, hh = world.params, world.households
    world.local_price[:] = 1.0
    if not p.linkage.enabled or not world.policy_active:
        return
    cell = county_product_cell(world, slice(None))
    size = world.local_price.size
    growers = np.bincount(cell, minlength=size)
    selling = np.bincount(cell, weights=(hh.participating == 1), minlength=size)
    share = np.divide(selling, growers, out=np.zeros(size), where=growers > 0)
    world.local_price[:] = (1.0 + p.linkage.price_spillover * share).reshape(world.local_price.shape)


def county_product_cell(world: World, idx) -> np.ndarray:
    """Each household's (county, product) cell as a flat index into the (county x product) tables
    ``world.local_price`` and ``world.enterprise_for`` (one gather instead of a two-index one)."""
    hh = world.households
    return hh.county_id[idx].astype(np.int64) * world.local_price.shape[1] + hh.product[idx]


def market_access(world: World, idx, member_form: np.ndarray, maturity: np.ndarray | float = 1.0) -> np.ndarray:
    """Multiplier of the farm-gate price for remoteness, less what the member's form recovers
    (at the share ``maturity`` of it while the member's sales channels are being built);
    ``member_form``: :func:`arrays.form_code` of the households' participation and form."""
    lk = world.params.linkage
    d = world.households.distance[idx].astype(np.float64)
    penalty = lk.remoteness_price_penalty * d / (d + 20.0)
    recovered = form_value(lk.market_access_recovery, member_form) * maturity
    return 1.0 - penalty * (1.0 - recovered)
