"""Depreciation and capital updates: ageing and health, machinery scrapping, asset and housing
depreciation, interest capitalised on debt, network ties and trust, membership years."""
from __future__ import annotations

import numpy as np

from ..enums import form_trait, org_type_trait
from ..world import World
from .arrays import at_least, form_code, form_value, select


def update_capitals(world: World, idx) -> None:
    p, hh, d, o = world.params, world.households, world.draws, world.organisations
    e, k = p.economy, p.capitals
    hh.age[idx] += 1.0
    age = hh.age[idx]
    shock = hh.health_shock[idx]
    p_decline = np.clip(k.health_decline_base + k.health_decline_per_year * np.maximum(0.0, age - k.health_decline_age)
                        + k.health_decline_after_shock * shock, 0.0, 1.0)
    p_improve = select(shock == 1, 0.0, k.health_improve_probability)
    u = d.health_change_u[idx]
    change = select(u < p_decline, -1, select(u > 1.0 - p_improve, 1, 0))
    hh.health[idx] = np.clip(hh.health[idx] + change, 1, 5)
    retire = (age > k.retirement_age) & (d.job_u[idx] < k.retirement_probability)
    hh.job[idx] = select(retire, 0, hh.job[idx])

    scrap = (hh.machine[idx] > 0) & (d.machine_scrap_u[idx] < e.depreciation_machinery)
    hh.machine[idx] -= scrap.astype(np.int16)
    hh.productive_assets[idx] *= 1.0 - e.depreciation_assets
    hh.housing[idx] *= 1.0 - e.depreciation_housing
    hh.debt[idx] *= 1.0 + e.loan_rate  # interest is capitalised into the balance

    participating = hh.participating[idx] == 1
    form = at_least(hh.form[idx], 0)
    meeting = participating
    if p.forms.ties_seasons > 0:
        # an organisation's circle is finite: a member meets it in its first seasons
        meeting = participating & (hh.membership_years[idx] < p.forms.ties_seasons)
    ties = hh.network_ties[idx] * k.ties_retention + form_value(p.forms.ties_gain, form_code(meeting, form))
    hh.network_ties[idx] = ties
    org = at_least(hh.org_id[idx], 0)
    org_type = hh.org_type[idx]
    trust = hh.trust[idx]
    coop_gain = p.cooperative.social_capital_gain * p.cooperative.trust_quality_multiplier * o.management_quality.take(org)
    ent_change = select(hh.contract_reneged[idx] == 1, -p.enterprise.trust_loss, p.enterprise.trust_gain)
    cooperative = participating & org_type_trait("collective_marketing").take(org_type)
    contracted = participating & org_type_trait("contract_farming").take(org_type)
    trust = select(cooperative, trust + coop_gain * (1.0 - trust),
                   select(contracted, trust + ent_change * select(ent_change > 0, 1.0 - trust, 1.0),
                          trust + k.trust_reversion * (k.trust_anchor - trust)))
    if p.linkage.enabled:  # collective ventures (agritourism) build trust among their members
        collective = participating & form_trait("collective_action").take(form)
        trust = trust + select(collective, p.linkage.tourism_trust_gain * (1.0 - trust), 0.0)
    hh.trust[idx] = np.clip(trust, 0.0, 1.0)
    hh.membership_years[idx] += participating.astype(np.int16)
