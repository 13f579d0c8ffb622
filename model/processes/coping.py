"""Coping with a shortfall below the subsistence need, in the order households use the means:
savings draw-down, kin and village network transfers, borrowing up to a credit limit, then
distress sales of productive assets at a discount. Whatever remains is a consumption shortfall.
"""
from __future__ import annotations

import numpy as np

from ..world import World
from .arrays import select


def income_sum(hh, idx) -> np.ndarray:
    """Total income: farm + wage + business + transfers + dividends (in this order)."""
    return (hh.income_farm[idx] + hh.income_wage[idx] + hh.income_business[idx]
            + hh.income_transfers[idx] + hh.income_dividends[idx])


def collateral(e, productive_assets, machine, housing) -> np.ndarray:
    """Collateral value of physical assets: productive assets and machines in full, a share of housing."""
    return productive_assets + machine * e.machine_price + e.collateral_housing_share * housing


def subsistence_need(world: World, idx) -> np.ndarray:
    hh = world.households
    # Usual residents consume at home (migrants keep themselves where they work).
    return world.params.economy.subsistence_per_capita * hh.residents[idx] + hh.medical_cost[idx]


def cope(world: World, idx) -> None:
    hh, e = world.households, world.params.economy
    income = income_sum(hh, idx)
    gap = np.maximum(0.0, subsistence_need(world, idx) - income)

    drawdown = np.minimum(gap, hh.savings[idx])
    gap = gap - drawdown
    ties = hh.network_ties[idx]
    network = e.network_transfer_share * hh.trust[idx] * ties / (ties + e.ties_half_saturation) * gap
    gap = gap - network
    member = hh.participating[idx] == 1
    # Membership gives access to group lending, which multiplies the collateral-based limit.
    assets = collateral(e, hh.productive_assets[idx], hh.machine[idx], hh.housing[idx])
    limit = e.credit_limit_assets * assets * select(member, e.group_lending_multiplier, 1.0)
    borrow = np.minimum(gap, np.maximum(0.0, limit - hh.debt[idx]))
    gap = gap - borrow
    sale = np.minimum(gap, (1.0 - e.distress_sale_discount) * hh.productive_assets[idx])
    gap = gap - sale
    # A farm loss larger than the whole subsistence need cannot be met by eating less: the unpaid
    # input bills become (informal) debt beyond the credit limit.
    need = subsistence_need(world, idx)
    arrears = np.maximum(0.0, gap - need)
    borrow = borrow + arrears
    gap = gap - arrears

    hh.savings_drawdown[idx] = drawdown
    hh.network_transfer[idx] = network
    hh.borrowing[idx] = borrow
    hh.distress_sales[idx] = sale
    hh.consumption_shortfall[idx] = gap
    hh.income_transfers[idx] += network
    hh.debt[idx] += borrow
    hh.productive_assets[idx] -= sale / (1.0 - e.distress_sale_discount) if e.distress_sale_discount < 1 else 0.0
    hh.savings[idx] += borrow + sale
