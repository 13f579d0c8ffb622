"""Production and income by source (farm, wage, business, transfers, dividends), given the
year's shocks (processes ``health``, ``disasters``, ``prices``: labour lost, yield lost, spot
prices), contract reneging and side-selling. The income formulas used elsewhere (normal revenue,
labour need, the wage, form business income, the subsidy) are defined here once."""
from __future__ import annotations

import numpy as np

from ..enums import org_type_trait
from ..world import World
from .arrays import at_least, form_code, form_value, select
from .labour import local_pay, nonfarm_income, path_value, year_index
from .linkage import county_product_cell, market_access
from .registration import supported


def lognormal(sd: float, z: np.ndarray) -> np.ndarray:
    """Mean-one lognormal multiplier ``exp(sd z - sd^2 / 2)`` of standard normals ``z``."""
    return np.exp(sd * z - sd**2 / 2)


def land_quality_factor(e, land_quality: np.ndarray) -> np.ndarray:
    """Revenue per mu relative to normal on land of the given quality (0-1)."""
    return e.land_quality_base + e.land_quality_range * land_quality


def farm_productivity(world: World, idx) -> np.ndarray | float:
    """The county's farm productivity (its income factor: region and county level; 1 with design
    'table1') times the trend of farm productivity since 2014."""
    e = world.params.economy
    factor = world.counties.income_factor.take(world.households.county_id[idx])
    if e.farm_productivity_growth != 0.0:
        factor = factor * (1.0 + e.farm_productivity_growth) ** (world.year - 2014)
    return factor


def normal_revenue(world: World, idx) -> np.ndarray:
    """Gross farm revenue at normal prices and yields (yuan): land farmed x quality x revenue per mu
    x the county's farm productivity."""
    hh, e = world.households, world.params.economy
    per_mu = np.asarray(e.farm_revenue_per_mu).take(hh.product[idx])
    return per_mu * hh.land_farmed[idx] * land_quality_factor(e, hh.land_quality[idx]) * farm_productivity(world, idx)


def machine_multiplier(e, machine: np.ndarray) -> np.ndarray:
    """Output relative to none of the household's machines (up to machines_used_max of them count)."""
    return 1.0 + e.machine_yield_gain * np.minimum(machine, e.machines_used_max)


def labour_need(e, land_area: np.ndarray) -> np.ndarray:
    """Adult-equivalent workers the farm needs: land / mu_per_worker, at least min_labour_need."""
    return np.maximum(land_area / e.mu_per_worker, e.min_labour_need)


def wage(e, edu: np.ndarray, region: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
    """Earnings of a stable non-farm worker: Mincer return to schooling, regional premium and,
    given standard normals ``z``, this year's mean-one lognormal noise (else the expectation)."""
    log_wage = e.wage_return_to_education * edu + np.asarray(e.region_wage_premium).take(region)
    if z is not None:
        log_wage = log_wage + e.wage_sd * z - e.wage_sd**2 / 2
    return e.wage_per_worker * np.exp(log_wage)


def form_business_income(p, business: np.ndarray, skills: np.ndarray) -> np.ndarray:
    """Business income a form opens up (tourism, online shop) for a member with these skills."""
    return business * (p.forms.business_skill_base + skills)


def subsidy_level(p, year: int, region: np.ndarray | None = None):
    """The low-income subsidy (dibao) per usual resident in a calendar year (2014 prices); given
    the households' regions, one level per household (each region's dibao standard)."""
    pp = p.policy
    level = pp.subsidy_per_capita
    if pp.subsidy_growth != 0.0:
        level = level * (1.0 + pp.subsidy_growth) ** (int(year) - 2014)
    if region is not None and any(f != 1.0 for f in pp.region_subsidy_factor):
        level = level * np.asarray(pp.region_subsidy_factor, dtype=np.float64).take(region)
    return level


def poverty_transfer_level(p, year: int) -> float:
    """The targeted transfer per supported (registered-poor) person in a calendar year: the
    full-scale transfer times the year's support index (support phased in with the funds)."""
    pp = p.policy
    return pp.poverty_alleviation_transfer * path_value(pp.support_index, pp.support_index_first_year, year)


def gain_maturity(p, membership_years: np.ndarray) -> np.ndarray | float:
    """Share of their full level at which a member's service gains (price premium, yield gains,
    recovered market access, the form's business income) arrive, given the completed years of
    membership before this one."""
    m = p.participation.maturity_years
    if m == 0.0:
        return 1.0
    return np.minimum(1.0, (membership_years.astype(np.float64) + 1.0) / (m + 1.0))


def subsidy_transfer(world: World, subsidy: np.ndarray, residents: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The low-income subsidy (dibao), per usual resident."""
    return subsidy * residents * subsidy_level(world.params, world.year, region)


BUSINESS_K0 = 6000.0  # yuan of productive assets: the reference of diminishing business returns


def business_assets(e, assets: np.ndarray) -> np.ndarray:
    """Assets as they earn in own business: K0 x (assets / K0) ** elasticity (the assets with 1)."""
    if e.business_returns_elasticity == 1.0:
        return assets
    return BUSINESS_K0 * (np.maximum(assets, 0.0) / BUSINESS_K0) ** e.business_returns_elasticity


def business_level(world: World, idx) -> np.ndarray | float:
    """Returns of own non-farm business relative to the national 2014 level: the county's income
    factor and, with members' work modelled, the growth of the local economy (the wage path)."""
    factor = world.counties.income_factor.take(world.households.county_id[idx])
    if world.params.labour.enabled:
        factor = factor * year_index(world.params.labour, world.year)
    return factor


def expected_income(world: World, idx=slice(None), revenue: np.ndarray | None = None,
                    pay: np.ndarray | None = None) -> np.ndarray:
    """A household's income at normal prices and no shocks, with no drive component: what it
    expects before year 1, and the drive-free income the participation decision scales gains by.
    ``revenue`` (``normal_revenue``) and ``pay`` (``local_pay`` without noise) when the caller has them."""
    p, hh = world.params, world.households
    e = p.economy
    if p.labour.enabled:
        if pay is None:
            pay = local_pay(world, idx)
        nonfarm = nonfarm_income(world, idx, pay=pay)
        earned = (nonfarm["wages"] + nonfarm["casual"] + hh.org_jobs[idx] * p.linkage.job_wage_factor * pay
                  + nonfarm["remittances"] + nonfarm["pension"] + nonfarm["ag_subsidy"])
    else:
        earned = hh.twork[idx] * wage(e, hh.edu[idx], hh.region[idx])
    if revenue is None:
        revenue = normal_revenue(world, idx)
    return (revenue * (1 - e.input_cost_share) + earned
            + subsidy_transfer(world, hh.subsidy[idx], hh.residents[idx], hh.region[idx])
            + business_assets(e, hh.productive_assets[idx]) * e.business_return * business_level(world, idx)
            + hh.land_rent_received[idx] - hh.land_rent_paid[idx])


def produce(world: World, idx) -> None:
    p, hh, d, o = world.params, world.households, world.draws, world.organisations
    e = p.economy

    # Health shocks (process ``health``) took workers out for the year: wage workers first in
    # proportion to their share of the household's workers, the rest from the farm. With members'
    # work modelled, the wage workers at home are the local and organisation workers (migrants
    # are away; their earnings arrive as remittances).
    labour_on = p.labour.enabled
    if labour_on:
        twork = (hh.local_workers[idx] + hh.org_jobs[idx]).astype(np.float64)
    else:
        twork = hh.twork[idx].astype(np.float64)
    labour = hh.labour[idx].astype(np.float64)
    lost = world.scratch.labour_lost[idx]
    lost_wage_workers = np.minimum(twork, lost * twork / np.maximum(twork + labour, 1e-9))
    farm_labour = np.maximum(e.min_farm_labour, labour - (lost - lost_wage_workers))

    # Farm output.
    participating = hh.participating[idx] == 1
    org_type = hh.org_type[idx]
    form = at_least(hh.form[idx], 0)
    member_form = form_code(participating, form)
    cooperative = participating & org_type_trait("collective_marketing").take(org_type)
    contracted = participating & org_type_trait("contract_farming").take(org_type)
    # New members get the organisation's services at a share of their full level (standards,
    # varieties and sales channels take seasons); 1 with participation.maturity_years = 0.
    maturity = gain_maturity(p, hh.membership_years[idx])
    revenue0 = normal_revenue(world, idx)
    labour_ratio = np.minimum(1.0, farm_labour / labour_need(e, hh.land_farmed[idx]))
    # 1 ** elasticity is 1: the power only where labour falls short (about 40% of households)
    labour_mult = np.ones_like(labour_ratio)
    np.power(labour_ratio, e.labour_elasticity, out=labour_mult, where=~(labour_ratio >= 1.0))
    machine_mult = machine_multiplier(e, hh.machine[idx])
    drive_mult = lognormal(e.drive_effect, hh.entrepreneurial_drive[idx])
    tech_mult = (1.0 + p.learning.technology_yield_gain * hh.tech_adopted[idx]
                 + select(contracted, p.enterprise.technology_yield_gain, 0.0) * maturity
                 + form_value(p.forms.yield_gain, member_form) * maturity)
    noise = lognormal(e.farm_output_sd, d.farm_z[idx])
    loss = world.villages.disaster_loss.take(hh.village_id[idx])
    hh.disaster_loss[idx] = loss
    potential = revenue0 * labour_mult * machine_mult * tech_mult * drive_mult * noise
    structure = p.county.structure_channels
    if structure:
        # County primary-secondary integration (machinery services, processing): processes/counties.py.
        county = hh.county_id[idx]
        potential = potential * world.counties.farm_factor.take(county)
    output = potential * (1.0 - loss)

    spot = world.price.take(hh.product[idx])
    if p.linkage.enabled:
        # Contract demand and cooperative marketing move the county's price (a spillover to
        # every grower); remoteness lowers the farm-gate price, which organisations partly recover.
        spot = (spot * world.local_price.ravel().take(county_product_cell(world, idx))
                * market_access(world, idx, member_form, maturity))
    price_gain = form_value(p.forms.price_gain, member_form) * maturity
    coop_price = spot * (1.0 + (p.cooperative.marketing_premium * maturity) + price_gain)
    org = at_least(hh.org_id[idx], 0)
    contract_price = o.contract_price.take(org)
    contract = contract_price * (1.0 + price_gain)
    reneged = contracted & (o.reneged.take(org) == 1)
    # Side-selling: tempted when spot beats the contract, restrained by trust.
    gap = np.clip((spot - contract_price) / np.maximum(contract_price, 1e-9), 0.0, None)
    p_side = np.clip(p.enterprise.side_sell_sensitivity * gap * (1.0 - hh.trust[idx]), 0.0, 1.0)
    side = contracted & ~reneged & (d.side_sell_u[idx] < p_side)
    hh.contract_reneged[idx] = reneged
    hh.side_sold[idx] = side
    # A reneging enterprise still honours the contract's protective floor price.
    reneged_price = np.maximum(spot, p.enterprise.floor_price_share) * (1.0 + price_gain)
    price = select(cooperative, coop_price,
                   select(contracted & ~reneged & ~side, contract,
                          select(reneged, reneged_price, spot * (1.0 + price_gain))))
    gross = output * price
    discount = select(cooperative, p.cooperative.input_discount, 0.0)
    intensity = labour_mult if p.population.design == "national" else 1.0  # inputs follow the land actually worked
    inputs = (e.input_cost_share * revenue0 * intensity * (1.0 - discount)
              + participating * p.participation.membership_cost)
    hh.income_farm[idx] = gross - inputs - hh.land_rent_paid[idx]
    world.scratch.sales[idx] = select(participating & ~side, gross, 0.0)
    world.scratch.disaster_value[idx] = potential * loss * spot

    if labour_on:
        # Local and organisation jobs pay wages; migrants remit (transfers); pension, subsidies.
        z = d.labour_z[idx]
        pay = local_pay(world, idx, z[:, 1])
        at_work = np.maximum(twork - lost_wage_workers, 0.0)
        # twork counts the organisation jobs, so it is 0 only where they are (0 / 1)
        share_org = hh.org_jobs[idx] / np.maximum(twork, 1.0)
        org_wages = at_work * share_org * p.linkage.job_wage_factor * pay
        hh.org_wages[idx] = org_wages
        nonfarm = nonfarm_income(world, idx, z, pay=pay)
        hh.income_wage[idx] = at_work * (1.0 - share_org) * pay + org_wages + nonfarm["casual"]
        hh.remittances[idx] = nonfarm["remittances"]
        hh.pension[idx] = nonfarm["pension"]
        hh.ag_subsidy[idx] = nonfarm["ag_subsidy"]
    else:
        # Wages: stable non-farm workers, Mincer return to schooling, regional premium.
        hh.income_wage[idx] = (twork - lost_wage_workers) * wage(e, hh.edu[idx], hh.region[idx], d.wage_z[idx])
        if structure:
            # Local labour market: endowment and processing jobs (processes/counties.py).
            hh.income_wage[idx] *= world.counties.wage_factor.take(county)

    # Business: own assets plus what the integration form opens up (tourism, online sales).
    business_form = form_value(p.forms.business_income, member_form) * maturity
    # (drive_mult is float32: the product keeps the old order, the level multiplies last)
    hh.income_business[idx] = (business_assets(e, hh.productive_assets[idx]) * e.business_return * drive_mult
                               * lognormal(e.business_return_sd, d.business_z[idx]) * business_level(world, idx)
                               + form_business_income(p, business_form, hh.skills[idx]) * drive_mult)
    if structure:
        # Matured agricultural services (primary-tertiary integration).
        hh.income_business[idx] *= world.counties.business_factor.take(county)

    # Transfers: low-income subsidy and, under the policy, targeted transfers to the poor.
    residents = hh.residents[idx].astype(np.float64)
    transfers = subsidy_transfer(world, hh.subsidy[idx], residents, hh.region[idx])
    if world.policy_active:
        transfers = transfers + supported(world, idx) * residents * poverty_transfer_level(p, world.year)
    if labour_on:
        transfers = transfers + hh.remittances[idx] + hh.pension[idx] + hh.ag_subsidy[idx]
    if p.shocks.disaster_relief_share > 0.0:  # public relief and crop insurance
        transfers = transfers + p.shocks.disaster_relief_share * world.scratch.disaster_value[idx]
    hh.income_transfers[idx] = transfers
    hh.income_dividends[idx] = e.deposit_rate * hh.savings[idx] + hh.land_rent_received[idx]
    hh.share_dividends[idx] = 0.0  # cooperatives pay them when they settle (linkage.enabled)
