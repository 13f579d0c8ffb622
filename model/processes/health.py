"""Shock: serious illness or injury in the household.

Reads ``params.shocks`` (health_probability, medical_cost_mean, medical_cost_sd,
medical_reimbursement, health_labour_loss) and the draws ``health_shock_u``, ``medical_cost_z``;
writes ``households.health_shock``, ``households.medical_cost`` (part of the subsistence need in
coping and consumption) and ``scratch.labour_lost`` (workers lost for the year, which production
reads).
"""
from __future__ import annotations

import numpy as np

from ..world import World


def strike_health(world: World, idx) -> None:
    hh, d, s = world.households, world.draws, world.params.shocks
    shock = (d.health_shock_u[idx] < s.health_probability).astype(np.int8)
    hh.health_shock[idx] = shock
    sigma = s.medical_cost_sd
    # the cost only where the shock struck (elsewhere shock x cost is 0): the exponential of the
    # struck households' draws, the same numbers as over all households
    struck = np.flatnonzero(shock)
    gross_cost = s.medical_cost_mean * np.exp(sigma * d.medical_cost_z[idx].take(struck) - sigma**2 / 2)
    medical_cost = np.zeros(shock.shape)
    medical_cost[struck] = gross_cost * (1.0 - s.medical_reimbursement)
    hh.medical_cost[idx] = medical_cost
    world.scratch.labour_lost[idx] = s.health_labour_loss * shock
