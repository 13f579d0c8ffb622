"""Consumption, saving and investment.

Households consume their subsistence need (incl. medical bills) when they can, plus a share of
income above it; saving = income - consumption exactly. Savings above a buffer (a number of
years of income) first repay debt, then a share is invested in machinery or productive assets.
"""
from __future__ import annotations

import numpy as np

from ..world import World
from .arrays import select
from .coping import income_sum, subsistence_need


def consume_save_invest(world: World, idx) -> None:
    hh, e = world.households, world.params.economy
    income = income_sum(hh, idx)
    hh.income_total[idx] = income
    need = subsistence_need(world, idx)
    consumption = select(income >= need,
                         need + e.marginal_propensity_to_consume * (income - need),
                         need - hh.consumption_shortfall[idx])
    hh.consumption[idx] = consumption
    saving = income - consumption
    hh.saving[idx] = saving
    # Coping already moved borrowing and sale proceeds into savings; the saving flow settles the rest.
    savings = np.maximum(0.0, hh.savings[idx] + saving)

    buffer = e.savings_target_years * np.maximum(income, 0.0)
    excess = np.maximum(0.0, savings - buffer)
    repay = np.minimum(excess, hh.debt[idx])
    hh.debt[idx] -= repay
    savings = savings - repay
    excess = excess - repay
    invest = e.investment_share * excess
    # Buy a machine when the budget allows and the farm is big enough to use one.
    buys_machine = (invest >= e.machine_price) & (hh.machine[idx] < np.floor(hh.land_area[idx] / e.mu_per_machine))
    hh.machine[idx] += buys_machine.astype(np.int16)
    hh.productive_assets[idx] += invest - buys_machine * e.machine_price
    hh.investment[idx] = invest
    hh.savings[idx] = savings - invest
