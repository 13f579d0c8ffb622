"""The land rental market (``land.market``, design 'national'), cleared within each village once a
year after households have chosen their work and organisations their members.

A household can farm about ``labour x economy.mu_per_worker + machines x land.machine_mu`` mu (its
reach). It offers the contracted land beyond ``rent_out_slack`` x its reach (a household whose
adults all work away offers nearly everything) and asks for the reach beyond ``rent_in_slack`` x its
land (with ``rent_in_rule = "profit"`` only if its expected margin on a rented mu covers the rent,
``rental_margin``; tried in the world and not shipped, docs/odd.md section 8.4). A member's
organisation takes ``organisation_land_share`` of what its member offers first (an enterprise's
production base, paid the regional rent; a cooperative's land shares, paid the rent plus
``share_dividend_premium``). In each village the rest is rented at the regional rent
(``rent_per_mu``; with ``rent_free_share`` > 0 that share of every rental between households is
lent to kin and neighbours for nothing: tried in the world and not shipped, docs/odd.md section 8.4)
up to the smaller of supply and demand: the offers pro rata, the asks either pro
rata (``allocation = "pro_rata"``: every asker gets the same share of its ask, so a village's supply
makes many small tenants) or in order of the askers' expected margin per rented mu (``allocation =
"margin"``: the best farmers are served in full first and the last one in part, as rental markets
move land to more productive farmers, Deininger & Jin 2005; tried in the world and not shipped,
docs/odd.md section 8.4). Land is conserved: in every village, contracted land = land farmed by
households + land let to organisations (tests/test_world.py).

Contracted land (``land_area``) is the household's right and stays its own; ``land_farmed`` is
what it works this year, and natural capital follows it. The rent paid is a farm cost; the rent
and land-share dividends received are property income.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from ..enums import org_type_trait
from ..world import World
from .arrays import at_least, select
from .groups import group_starts, stable_argsort, stable_order
from .labour import farm_labour
from .production import farm_productivity, land_quality_factor, lognormal, machine_multiplier


def clear_land_market(world: World) -> None:
    """Offers and asks of each household, the village markets, each household's rentals (the two
    household parts element-wise, over the model's blocks of households)."""
    if not world.params.land.market:
        return
    world.over_households(_offer_and_ask)
    hh, scratch = world.households, world.scratch
    n_v = world.villages.n
    supply = np.bincount(hh.village_id, weights=scratch.land_offer, minlength=n_v)
    demand = np.bincount(hh.village_id, weights=scratch.land_want, minlength=n_v)
    traded = np.minimum(supply, demand)
    out_share = np.divide(traded, supply, out=np.zeros(n_v), where=supply > 0)
    in_share = np.divide(traded, demand, out=np.zeros(n_v), where=demand > 0)
    if world.params.land.allocation == "margin":
        _ration_by_margin(world, traded)
        in_share = np.ones(n_v)  # the asks are now what each asker was granted
    world.over_households(partial(_rent, out_share=out_share, in_share=in_share))


def _ration_by_margin(world: World, traded: np.ndarray) -> None:
    """Each village's traded land to its askers in order of their margin per rented mu, each in
    full until the land runs out: the asks become what each is granted (scratch.land_want). Equal
    margins are served in household order."""
    hh, want = world.households, world.scratch.land_want
    askers = np.flatnonzero(want > 0)
    if askers.size == 0:
        return
    best_first = askers[stable_argsort(-rental_margin(world, askers))]
    order = best_first[stable_order(hh.village_id[best_first])]  # by village, best margin first
    village = hh.village_id[order]
    asked = want[order]
    before = np.cumsum(asked) - asked  # asked by the better askers of the villages so far ...
    before -= before[group_starts(village, world.villages.n)]  # ... and of the same village
    want[order] = np.clip(traded[village] - before, 0.0, asked)


def _member(hh, idx) -> np.ndarray:
    return (hh.participating[idx] == 1) & (hh.org_id[idx] >= 0)


def _offer_and_ask(world: World, idx) -> None:
    p, hh = world.params, world.households
    lp = p.land
    labour = farm_labour(world, idx)
    reach = labour * p.economy.mu_per_worker + hh.machine[idx] * lp.machine_mu
    own = hh.land_area[idx].astype(np.float64)
    offer = np.maximum(own - lp.rent_out_slack * reach, 0.0)
    want = select(labour > 0, np.maximum(reach - lp.rent_in_slack * own, 0.0), 0.0)
    if lp.rent_in_rule == "profit":
        expected_rent = (1.0 - lp.rent_free_share) * np.asarray(lp.rent_per_mu).take(hh.region[idx])
        want = select(rental_margin(world, idx) >= expected_rent, want, 0.0)
    member = _member(hh, idx)
    if world.policy_active:
        org_active = member & (world.organisations.active.take(at_least(hh.org_id[idx], 0)) == 1)
        to_org = select(org_active, lp.organisation_land_share * offer, 0.0)
    else:
        to_org = np.zeros_like(offer)
    offer = offer - to_org
    world.scratch.land_offer[idx] = offer
    world.scratch.land_want[idx] = select(offer > 0, 0.0, want)  # a household does not rent in and out at once
    world.scratch.land_let[idx] = to_org
    hh.land_to_organisation[idx] = to_org


def rental_margin(world: World, idx) -> np.ndarray:
    """Expected margin of a household on one more mu of its own quality, at normal prices: revenue
    per mu x (its output multiplier - the input cost share). The multiplier is what production
    applies besides labour and shocks (drive, machines, adopted technology); the household knows its
    own drive, which the econometrician does not see."""
    p, hh = world.params, world.households
    e = p.economy
    per_mu = (np.asarray(e.farm_revenue_per_mu).take(hh.product[idx]) * land_quality_factor(e, hh.land_quality[idx])
              * farm_productivity(world, idx))
    if p.county.structure_channels:
        per_mu = per_mu * world.counties.farm_factor.take(hh.county_id[idx])
    multiplier = (lognormal(e.drive_effect, hh.entrepreneurial_drive[idx])
                  * machine_multiplier(e, hh.machine[idx])
                  * (1.0 + p.learning.technology_yield_gain * hh.tech_adopted[idx]))
    return per_mu * (multiplier - e.input_cost_share)


def _rent(world: World, idx, out_share: np.ndarray, in_share: np.ndarray) -> None:
    """Pro rata on both sides of each village market, at the regional rent."""
    lp, hh = world.params.land, world.households
    village = hh.village_id[idx]
    rented_out = world.scratch.land_offer[idx] * out_share.take(village)
    rented_in = world.scratch.land_want[idx] * in_share.take(village)
    to_org = world.scratch.land_let[idx]
    hh.land_rented_out[idx] = rented_out
    hh.land_rented_in[idx] = rented_in
    hh.land_farmed[idx] = hh.land_area[idx].astype(np.float64) - rented_out - to_org + rented_in

    rent = np.asarray(lp.rent_per_mu).take(hh.region[idx])
    cooperative = _member(hh, idx) & org_type_trait("collective_marketing").take(hh.org_type[idx])
    org_rate = select(cooperative, 1.0 + lp.share_dividend_premium, 1.0)
    # Rent-free lending among kin and neighbours: the same share of every household rental, so
    # the rents paid within a village still equal the rents received.
    paying = 1.0 - lp.rent_free_share
    hh.land_rent_received[idx] = rent * (paying * rented_out + org_rate * to_org)
    hh.land_rent_paid[idx] = rent * (paying * rented_in)
