"""Production and income by source (farm, wage, business, transfers, dividends) with the
year's shocks: health (labour loss and medical cost), village/county disasters, prices,
contract reneging and side-selling."""
from __future__ import annotations

import numpy as np

from ..world import World


def normal_revenue(world: World, idx) -> np.ndarray:
    """Gross farm revenue at normal prices and yields (yuan): land x quality x revenue per mu."""
    hh = world.households
    per_mu = np.asarray(world.params.economy.farm_revenue_per_mu)[hh.product[idx]]
    return per_mu * hh.land_area[idx] * (0.7 + 0.6 * hh.land_quality[idx])


def produce(world: World, idx) -> None:
    p, hh, d, o = world.params, world.households, world.draws, world.organisations
    e, s = p.economy, p.shocks

    # Health shock: a worker's labour lost for the year plus an out-of-pocket medical bill.
    shock = (d.health_shock_u[idx] < s.health_probability).astype(np.int8)
    hh.health_shock[idx] = shock
    sigma = 0.8
    gross_cost = s.medical_cost_mean * np.exp(sigma * d.medical_cost_z[idx] - sigma**2 / 2)
    hh.medical_cost[idx] = shock * gross_cost * (1.0 - s.medical_reimbursement)
    twork = hh.twork[idx].astype(np.float64)
    labour = hh.labour[idx].astype(np.float64)
    lost = s.health_labour_loss * shock
    lost_wage_workers = np.minimum(twork, lost * twork / np.maximum(twork + labour, 1e-9))
    farm_labour = np.maximum(0.2, labour - (lost - lost_wage_workers))

    # Farm output.
    participating = hh.participating[idx] == 1
    org_type = hh.org_type[idx]
    form = np.maximum(hh.form[idx], 0)
    revenue0 = normal_revenue(world, idx)
    labour_need = np.maximum(hh.land_area[idx] / 8.0, 0.25)
    labour_mult = np.minimum(1.0, farm_labour / labour_need) ** 0.4
    machine_mult = 1.0 + 0.06 * np.minimum(hh.machine[idx], 3)
    drive = hh.entrepreneurial_drive[idx]
    drive_mult = np.exp(e.drive_effect * drive - e.drive_effect**2 / 2)
    contracted = participating & (org_type == 2)
    tech_mult = (1.0 + p.learning.technology_yield_gain * hh.tech_adopted[idx]
                 + np.where(contracted, p.enterprise.technology_yield_gain, 0.0)
                 + np.where(participating, np.asarray(p.forms.yield_gain)[form], 0.0))
    noise = np.exp(0.25 * d.farm_z[idx] - 0.25**2 / 2)
    loss = world.villages.disaster_loss[hh.village_id[idx]]
    hh.disaster_loss[idx] = loss
    potential = revenue0 * labour_mult * machine_mult * tech_mult * drive_mult * noise
    output = potential * (1.0 - loss)

    spot = world.price[hh.product[idx]]
    price_gain = np.where(participating, np.asarray(p.forms.price_gain)[form], 0.0)
    coop_price = spot * (1.0 + p.cooperative.marketing_premium + price_gain)
    org = np.maximum(hh.org_id[idx], 0)
    contract = o.contract_price[org] * (1.0 + price_gain)
    reneged = contracted & (o.reneged[org] == 1)
    # Side-selling: tempted when spot beats the contract, restrained by trust.
    gap = np.clip((spot - o.contract_price[org]) / np.maximum(o.contract_price[org], 1e-9), 0.0, None)
    p_side = np.clip(p.enterprise.side_sell_sensitivity * gap * (1.0 - hh.trust[idx]), 0.0, 1.0)
    side = contracted & ~reneged & (d.side_sell_u[idx] < p_side)
    hh.contract_reneged[idx] = reneged
    hh.side_sold[idx] = side
    # A reneging enterprise still honours the contract's protective floor price.
    reneged_price = np.maximum(spot, p.enterprise.floor_price_share) * (1.0 + price_gain)
    price = np.where(participating & (org_type == 1), coop_price,
                     np.where(contracted & ~reneged & ~side, contract,
                              np.where(reneged, reneged_price, spot * (1.0 + price_gain))))
    gross = output * price
    discount = np.where(participating & (org_type == 1), p.cooperative.input_discount, 0.0)
    inputs = e.input_cost_share * revenue0 * (1.0 - discount) + participating * p.participation.membership_cost
    hh.income_farm[idx] = gross - inputs
    world.sales[idx] = np.where(participating & ~side, gross, 0.0)
    world.disaster_value[idx] = potential * loss * spot

    # Wages: stable non-farm workers, Mincer return to schooling, regional premium.
    premium = np.asarray(e.region_wage_premium)[hh.region[idx]]
    wage = e.wage_per_worker * np.exp(e.wage_return_to_education * hh.edu[idx] + premium
                                      + 0.3 * d.wage_z[idx] - 0.045)
    hh.income_wage[idx] = (twork - lost_wage_workers) * wage

    # Business: own assets plus what the integration form opens up (tourism, online sales).
    business_form = np.where(participating, np.asarray(p.forms.business_income)[form], 0.0)
    hh.income_business[idx] = (hh.productive_assets[idx] * e.business_return * drive_mult
                               * np.exp(0.3 * d.business_z[idx] - 0.045)
                               + business_form * (0.5 + hh.skills[idx]) * drive_mult)

    # Transfers: low-income subsidy and, under the policy, targeted transfers to the poor.
    famsize = hh.famsize[idx].astype(np.float64)
    transfers = hh.subsidy[idx] * famsize * p.policy.subsidy_per_capita
    if world.policy_active:
        transfers = transfers + hh.registered_poor[idx] * famsize * p.policy.poverty_alleviation_transfer
    hh.income_transfers[idx] = transfers
    hh.income_dividends[idx] = e.deposit_rate * hh.savings[idx]
