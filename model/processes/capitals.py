"""Depreciation and capital updates: ageing and health, machinery scrapping, asset and housing
depreciation, interest capitalised on debt, network ties and trust, membership years."""
from __future__ import annotations

import numpy as np

from ..world import World


def update_capitals(world: World, idx) -> None:
    p, hh, d, o = world.params, world.households, world.draws, world.organisations
    e = p.economy
    hh.age[idx] += 1.0
    age = hh.age[idx]
    shock = hh.health_shock[idx]
    p_decline = np.clip(0.03 + 0.004 * np.maximum(0.0, age - 50.0) + 0.3 * shock, 0.0, 1.0)
    p_improve = np.where(shock == 1, 0.0, 0.08)
    u = d.health_change_u[idx]
    change = np.where(u < p_decline, -1, np.where(u > 1.0 - p_improve, 1, 0))
    hh.health[idx] = np.clip(hh.health[idx] + change, 1, 5)
    retire = (age > 65) & (d.job_u[idx] < 0.05)
    hh.job[idx] = np.where(retire, 0, hh.job[idx])

    scrap = (hh.machine[idx] > 0) & (d.machine_scrap_u[idx] < e.depreciation_machinery)
    hh.machine[idx] -= scrap.astype(np.int16)
    hh.productive_assets[idx] *= 1.0 - e.depreciation_assets
    hh.housing[idx] *= 1.0 - e.depreciation_housing
    hh.debt[idx] *= 1.0 + e.loan_rate  # interest is capitalised into the balance

    participating = hh.participating[idx] == 1
    form = np.maximum(hh.form[idx], 0)
    ties = hh.network_ties[idx] * 0.98 + np.where(participating, np.asarray(p.forms.ties_gain)[form], 0.0)
    hh.network_ties[idx] = ties
    org = np.maximum(hh.org_id[idx], 0)
    org_type = hh.org_type[idx]
    trust = hh.trust[idx]
    coop_gain = p.cooperative.social_capital_gain * 2.0 * o.management_quality[org]
    ent_change = np.where(hh.contract_reneged[idx] == 1, -p.enterprise.trust_loss, p.enterprise.trust_gain)
    trust = np.where(participating & (org_type == 1), trust + coop_gain * (1.0 - trust),
                     np.where(participating & (org_type == 2), trust + ent_change * np.where(ent_change > 0, 1.0 - trust, 1.0),
                              trust + 0.05 * (0.5 - trust)))
    hh.trust[idx] = np.clip(trust, 0.0, 1.0)
    hh.membership_years[idx] += participating.astype(np.int16)
