"""Organisations recruit and contract: activation at the policy start, cooperative failure,
enterprise contract prices and reneging; then acceptance of applicants up to capacity."""
from __future__ import annotations

import numpy as np

from ..enums import org_type_trait
from ..world import World
from .groups import member_of, rank_in_groups, stable_order


def open_and_close(world: World, orgs) -> None:
    """Activate enabled organisations from the policy start year; cooperatives may fail."""
    o, cp = world.organisations, world.params.cooperative
    if not world.policy_active:
        o.active[orgs] = 0
        return
    alive = (o.enabled[orgs] == 1) & (o.failed_year[orgs] == 0)
    can_fail = org_type_trait("can_fail")[o.org_type[orgs]]
    was_active = o.active[orgs] == 1
    # Failure risk rises as management quality falls (average quality gives the base rate).
    risk = np.clip(cp.failure_probability * (1.0 + cp.failure_quality_sensitivity
                                             * (cp.management_quality_mean - o.management_quality[orgs])), 0, 1)
    fails = alive & can_fail & was_active & (world.draws.failure_u[orgs] < risk)
    o.failed_year[orgs] = np.where(fails, world.year, o.failed_year[orgs])
    o.active[orgs] = (alive & ~fails).astype(np.int8)


def set_contracts(world: World, orgs) -> None:
    """Enterprises fix contract prices and decide whether to renege when spot falls below them."""
    o, ep = world.organisations, world.params.enterprise
    is_ent = org_type_trait("contract_farming")[o.org_type[orgs]]
    contract = 1.0 + ep.contract_premium
    o.contract_price[orgs] = np.where(is_ent, contract, 0.0)
    spot = world.price[o.product[orgs]]
    gap = np.clip((contract - spot) / contract, 0.0, None)
    # Profit-seeking: the wider the gap and the weaker the management, the likelier reneging.
    p_renege = np.clip(ep.renege_sensitivity * gap * (1.0 - o.management_quality[orgs]), 0.0, 1.0)
    o.reneged[orgs] = (is_ent & (o.active[orgs] == 1) & (world.draws.renege_u[orgs] < p_renege)).astype(np.int8)


def accept_applicants(world: World, orgs) -> None:
    """Each organisation accepts its applicants in order of score until capacity is full.

    Households forced into integration are accepted first and regardless of capacity.
    """
    hh, o = world.households, world.organisations
    orgs = np.atleast_1d(np.arange(o.n)[orgs])
    if orgs.size == 0:
        return
    members = (hh.participating == 1) & (hh.org_id >= 0)
    counts = np.bincount(hh.org_id.compress(members), minlength=o.n)
    scratch = world.scratch
    applicants = np.flatnonzero(member_of(scratch.applied_org, orgs, o.n))
    if applicants.size:
        org_of = scratch.applied_org.take(applicants)
        score = scratch.application_score.take(applicants)
        forced = hh.forced.take(applicants) == 1
        # Rank within organisation: forced first, then by score (descending), then by id (the
        # applicants are in id order): by score, then by (organisation, forced) keeping that order.
        order = np.argsort(-score, kind="stable")
        order = order.take(stable_order((org_of.astype(np.int64) * 2 + ~forced).take(order)))
        applicants, org_of, forced = applicants.take(order), org_of.take(order), forced.take(order)
        rank = rank_in_groups(org_of, o.n)
        capacity = o.capacity.take(org_of) * capacity_share(world)
        open_slots = np.maximum(0, np.floor(capacity) - counts.take(org_of))
        accepted = forced | (rank < open_slots)
        joined, joined_org = applicants.compress(accepted), org_of.compress(accepted)
        hh.participating[joined] = 1
        hh.shell_member[joined] = 0  # a shell's member that joins an operating organisation reports that one
        hh.org_id[joined] = joined_org
        hh.org_type[joined] = o.org_type[joined_org]
        hh.form[joined] = o.form[joined_org]
        hh.start_year[joined] = np.where(hh.start_year[joined] == 0, world.year, hh.start_year[joined])
        counts = counts + np.bincount(joined_org, minlength=o.n)
    o.members[orgs] = counts[orgs]


def capacity_share(world: World) -> float:
    """Share of its capacity an organisation may fill this year (``linkage.capacity_ramp``): the
    registered cooperatives of the year over those of 2019, linearly interpolated; 1 otherwise."""
    lk = world.params.linkage
    if not (lk.enabled and lk.capacity_ramp):
        return 1.0
    first, last = lk.registered_cooperatives
    t = min(max((world.year - 2012) / 7.0, 0.0), 1.0)
    return (first + t * (last - first)) / last if last > 0 else 1.0


def settle_cooperatives(world: World, orgs) -> None:
    """Cooperative surplus: margin on members' sales; at least 60% returned by transactions;
    the rest retained, part of it into the risk-pooling fund, which pays out to members hit by
    disaster."""
    hh, o, cp = world.households, world.organisations, world.params.cooperative
    orgs = np.atleast_1d(np.arange(o.n)[orgs])
    collective = org_type_trait("collective_marketing")
    coop = orgs[collective[o.org_type[orgs]]]
    member = (hh.participating == 1) & collective.take(hh.org_type) & member_of(hh.org_id, coop, o.n)
    ids = np.flatnonzero(member)
    org_of = hh.org_id.take(ids)
    sales = world.scratch.sales.take(ids)
    total_sales = np.bincount(org_of, weights=sales, minlength=o.n)
    surplus = cp.margin * total_sales
    returned = cp.surplus_returned_share * surplus
    lk = world.params.linkage
    # Interest linkage: a further share of the surplus is paid on members' share capital and land
    # shares (at most what the law leaves beside the 60% returned by transactions).
    on_shares = (np.minimum(lk.share_dividend_share, 1.0 - cp.surplus_returned_share) * surplus
                 if lk.enabled else np.zeros_like(surplus))
    o.sales[coop], o.surplus[coop] = total_sales[coop], surplus[coop]
    o.surplus_returned[coop] = returned[coop]
    o.risk_fund[coop] += cp.risk_fund_share * (surplus[coop] - returned[coop] - on_shares[coop])
    share = np.divide(sales, total_sales[org_of], out=np.zeros_like(sales), where=total_sales[org_of] > 0)
    dividend = returned[org_of] * share
    # The risk fund pays a share of members' disaster losses, pro rata if it cannot cover them.
    claims = cp.risk_fund_cover * world.scratch.disaster_value[ids]
    total_claims = np.bincount(org_of, weights=claims, minlength=o.n)
    paid_ratio = np.divide(np.minimum(o.risk_fund, total_claims), total_claims,
                           out=np.zeros(o.n), where=total_claims > 0)
    payout = claims * paid_ratio[org_of]
    o.risk_fund[coop] -= (total_claims * paid_ratio)[coop]
    hh.income_dividends[ids] += dividend + payout
    if lk.enabled:
        # Shares: the member's share capital plus its land shares valued at the regional rent.
        stake = lk.share_capital + hh.land_to_organisation[ids] * np.asarray(world.params.land.rent_per_mu)[hh.region[ids]]
        total_stake = np.bincount(org_of, weights=stake, minlength=o.n)
        paid = on_shares[org_of] * np.divide(stake, total_stake[org_of], out=np.zeros_like(stake),
                                             where=total_stake[org_of] > 0)
        hh.share_dividends[ids] = paid
        hh.income_dividends[ids] += paid


def record_enterprise_outcomes(world: World, orgs) -> None:
    hh, o = world.households, world.organisations
    orgs = np.atleast_1d(np.arange(o.n)[orgs])
    contracts = org_type_trait("contract_farming")
    ent = orgs[contracts[o.org_type[orgs]]]
    contracted = (hh.participating == 1) & contracts.take(hh.org_type) & member_of(hh.org_id, ent, o.n)
    ids = np.flatnonzero(contracted)
    o.sales[ent] = np.bincount(hh.org_id[ids], weights=world.scratch.sales[ids], minlength=o.n)[ent]
    o.side_sellers[ent] = np.bincount(hh.org_id[ids], weights=hh.side_sold[ids], minlength=o.n)[ent].astype(np.int32)


def index_enterprises(world: World) -> None:
    """Which active enterprise contracts each (county, product): the lowest-numbered one."""
    o = world.organisations
    world.enterprise_for[:] = -1
    ent = np.flatnonzero(org_type_trait("contract_farming")[o.org_type] & (o.active == 1))
    # np.unique keeps the first (lowest-numbered) enterprise of each (county, product).
    n_products = world.enterprise_for.shape[1]
    _, first = np.unique(o.county_id[ent].astype(np.int64) * n_products + o.product[ent], return_index=True)
    ent = ent[first]
    world.enterprise_for[o.county_id[ent], o.product[ent]] = ent
