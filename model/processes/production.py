"""Production and income by source (farm, wage, business, transfers, dividends), given the
year's shocks (processes ``health``, ``disasters``, ``prices``: labour lost, yield lost, spot
prices), contract reneging and side-selling. The income formulas used elsewhere (normal revenue,
labour need, the wage, form business income, the subsidy) are defined here once."""
from __future__ import annotations

import numpy as np

from ..enums import org_type_trait
from ..world import World
from .registration import supported


def lognormal(sd: float, z: np.ndarray) -> np.ndarray:
    """Mean-one lognormal multiplier ``exp(sd z - sd^2 / 2)`` of standard normals ``z``."""
    return np.exp(sd * z - sd**2 / 2)


def land_quality_factor(e, land_quality: np.ndarray) -> np.ndarray:
    """Revenue per mu relative to normal on land of the given quality (0-1)."""
    return e.land_quality_base + e.land_quality_range * land_quality


def normal_revenue(world: World, idx) -> np.ndarray:
    """Gross farm revenue at normal prices and yields (yuan): land x quality x revenue per mu."""
    hh, e = world.households, world.params.economy
    per_mu = np.asarray(e.farm_revenue_per_mu)[hh.product[idx]]
    return per_mu * hh.land_area[idx] * land_quality_factor(e, hh.land_quality[idx])


def labour_need(e, land_area: np.ndarray) -> np.ndarray:
    """Adult-equivalent workers the farm needs: land / mu_per_worker, at least min_labour_need."""
    return np.maximum(land_area / e.mu_per_worker, e.min_labour_need)


def wage(e, edu: np.ndarray, region: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
    """Earnings of a stable non-farm worker: Mincer return to schooling, regional premium and,
    given standard normals ``z``, this year's mean-one lognormal noise (else the expectation)."""
    log_wage = e.wage_return_to_education * edu + np.asarray(e.region_wage_premium)[region]
    if z is not None:
        log_wage = log_wage + e.wage_sd * z - e.wage_sd**2 / 2
    return e.wage_per_worker * np.exp(log_wage)


def form_business_income(p, business: np.ndarray, skills: np.ndarray) -> np.ndarray:
    """Business income a form opens up (tourism, online shop) for a member with these skills."""
    return business * (p.forms.business_skill_base + skills)


def subsidy_transfer(p, subsidy: np.ndarray, famsize: np.ndarray) -> np.ndarray:
    return subsidy * famsize * p.policy.subsidy_per_capita


def expected_income(world: World, idx=slice(None)) -> np.ndarray:
    """A household's income at normal prices and no shocks, with no drive component: what it
    expects before year 1, and the drive-free income the participation decision scales gains by."""
    p, hh = world.params, world.households
    e = p.economy
    return (normal_revenue(world, idx) * (1 - e.input_cost_share) + hh.twork[idx] * wage(e, hh.edu[idx], hh.region[idx])
            + subsidy_transfer(p, hh.subsidy[idx], hh.famsize[idx])
            + hh.productive_assets[idx] * e.business_return)


def produce(world: World, idx) -> None:
    p, hh, d, o = world.params, world.households, world.draws, world.organisations
    e = p.economy

    # Health shocks (process ``health``) took workers out for the year: wage workers first in
    # proportion to their share of the household's workers, the rest from the farm.
    twork = hh.twork[idx].astype(np.float64)
    labour = hh.labour[idx].astype(np.float64)
    lost = world.scratch.labour_lost[idx]
    lost_wage_workers = np.minimum(twork, lost * twork / np.maximum(twork + labour, 1e-9))
    farm_labour = np.maximum(e.min_farm_labour, labour - (lost - lost_wage_workers))

    # Farm output.
    participating = hh.participating[idx] == 1
    org_type = hh.org_type[idx]
    form = np.maximum(hh.form[idx], 0)
    cooperative = participating & org_type_trait("collective_marketing")[org_type]
    contracted = participating & org_type_trait("contract_farming")[org_type]
    revenue0 = normal_revenue(world, idx)
    labour_mult = np.minimum(1.0, farm_labour / labour_need(e, hh.land_area[idx])) ** e.labour_elasticity
    machine_mult = 1.0 + e.machine_yield_gain * np.minimum(hh.machine[idx], e.machines_used_max)
    drive_mult = lognormal(e.drive_effect, hh.entrepreneurial_drive[idx])
    tech_mult = (1.0 + p.learning.technology_yield_gain * hh.tech_adopted[idx]
                 + np.where(contracted, p.enterprise.technology_yield_gain, 0.0)
                 + np.where(participating, np.asarray(p.forms.yield_gain)[form], 0.0))
    noise = lognormal(e.farm_output_sd, d.farm_z[idx])
    loss = world.villages.disaster_loss[hh.village_id[idx]]
    hh.disaster_loss[idx] = loss
    potential = revenue0 * labour_mult * machine_mult * tech_mult * drive_mult * noise
    structure = p.county.structure_channels
    if structure:
        # County primary-secondary integration (machinery services, processing): processes/counties.py.
        county = hh.county_id[idx]
        potential = potential * world.counties.farm_factor[county]
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
    price = np.where(cooperative, coop_price,
                     np.where(contracted & ~reneged & ~side, contract,
                              np.where(reneged, reneged_price, spot * (1.0 + price_gain))))
    gross = output * price
    discount = np.where(cooperative, p.cooperative.input_discount, 0.0)
    inputs = e.input_cost_share * revenue0 * (1.0 - discount) + participating * p.participation.membership_cost
    hh.income_farm[idx] = gross - inputs
    world.scratch.sales[idx] = np.where(participating & ~side, gross, 0.0)
    world.scratch.disaster_value[idx] = potential * loss * spot

    # Wages: stable non-farm workers, Mincer return to schooling, regional premium.
    hh.income_wage[idx] = (twork - lost_wage_workers) * wage(e, hh.edu[idx], hh.region[idx], d.wage_z[idx])
    if structure:
        # Local labour market: endowment and processing jobs (processes/counties.py).
        hh.income_wage[idx] *= world.counties.wage_factor[county]

    # Business: own assets plus what the integration form opens up (tourism, online sales).
    business_form = np.where(participating, np.asarray(p.forms.business_income)[form], 0.0)
    hh.income_business[idx] = (hh.productive_assets[idx] * e.business_return * drive_mult
                               * lognormal(e.business_return_sd, d.business_z[idx])
                               + form_business_income(p, business_form, hh.skills[idx]) * drive_mult)
    if structure:
        # Matured agricultural services (primary-tertiary integration).
        hh.income_business[idx] *= world.counties.business_factor[county]

    # Transfers: low-income subsidy and, under the policy, targeted transfers to the poor.
    famsize = hh.famsize[idx].astype(np.float64)
    transfers = subsidy_transfer(p, hh.subsidy[idx], famsize)
    if world.policy_active:
        transfers = transfers + supported(world, idx) * famsize * p.policy.poverty_alleviation_transfer
    hh.income_transfers[idx] = transfers
    hh.income_dividends[idx] = e.deposit_rate * hh.savings[idx]
