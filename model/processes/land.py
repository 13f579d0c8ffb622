"""The land rental market (``land.market``, design 'national'), cleared within each village once a
year after households have chosen their work and organisations their members.

A household can farm about ``labour x economy.mu_per_worker + machines x land.machine_mu`` mu
(its reach). It offers the contracted land beyond ``rent_out_slack`` x its reach (a household whose
adults all work away offers nearly everything) and asks for the reach beyond ``rent_in_slack`` x its
land. A member's organisation takes ``organisation_land_share`` of what its member offers first
(an enterprise's production base, paid the regional rent; a cooperative's land shares, paid the
rent plus ``share_dividend_premium``). In each village the rest is rented to the households that
ask, pro rata on both sides up to the smaller of supply and demand, at the regional rent
(``rent_per_mu``). Land is conserved: in every village, contracted land = land farmed by
households + land let to organisations (tests/test_world.py).

Contracted land (``land_area``) is the household's right and stays its own; ``land_farmed`` is
what it works this year, and natural capital follows it. The rent paid is a farm cost; the rent
and land-share dividends received are property income.
"""
from __future__ import annotations

import numpy as np

from ..enums import org_type_trait
from ..world import World
from .labour import farm_labour


def clear_land_market(world: World) -> None:
    p, hh = world.params, world.households
    lp = p.land
    if not lp.market:
        return
    labour = farm_labour(world, slice(None))
    reach = labour * p.economy.mu_per_worker + hh.machine * lp.machine_mu
    own = hh.land_area.astype(np.float64)
    offer = np.maximum(own - lp.rent_out_slack * reach, 0.0)
    want = np.where(labour > 0, np.maximum(reach - lp.rent_in_slack * own, 0.0), 0.0)
    member = (hh.participating == 1) & (hh.org_id >= 0)
    if world.policy_active:
        org_active = np.zeros(member.shape, dtype=bool)
        org_active[member] = world.organisations.active[hh.org_id[member]] == 1
        to_org = np.where(member & org_active, lp.organisation_land_share * offer, 0.0)
    else:
        to_org = np.zeros_like(offer)
    offer = offer - to_org
    want = np.where(offer > 0, 0.0, want)  # a household does not rent in and out at once
    village = hh.village_id
    n_v = world.villages.n
    supply = np.bincount(village, weights=offer, minlength=n_v)
    demand = np.bincount(village, weights=want, minlength=n_v)
    traded = np.minimum(supply, demand)
    out_share = np.divide(traded, supply, out=np.zeros(n_v), where=supply > 0)
    in_share = np.divide(traded, demand, out=np.zeros(n_v), where=demand > 0)
    rented_out = offer * out_share[village]
    rented_in = want * in_share[village]
    hh.land_rented_out[:] = rented_out
    hh.land_rented_in[:] = rented_in
    hh.land_to_organisation[:] = to_org
    hh.land_farmed[:] = own - rented_out - to_org + rented_in

    rent = np.asarray(lp.rent_per_mu)[hh.region]
    cooperative = member & org_type_trait("collective_marketing")[hh.org_type]
    org_rate = np.where(cooperative, 1.0 + lp.share_dividend_premium, 1.0)
    hh.land_rent_received[:] = rent * (rented_out + org_rate * to_org)
    hh.land_rent_paid[:] = rent * rented_in
