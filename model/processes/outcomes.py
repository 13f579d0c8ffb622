"""Outcomes of the year: per-capita income and poverty under the three lines, the five capitals
as composites, raw indicators of the three resilience capacities, county headcounts,
industrial-structure indices and exit from the poor-county list."""
from __future__ import annotations

import numpy as np

from ..enums import form_trait
from ..world import World
from .coping import collateral
from .production import land_quality_factor

POVERTY_LINES = ("line_1_9", "line_national", "line_3_1")
GDP_TO_INCOME = 1.6


def poverty_and_capitals(p, hh) -> dict[str, np.ndarray]:
    """Income per capita, poverty under the three lines and the five capital composites: the
    first columns of :func:`household_outcomes`, and all the yearly reporters need."""
    e = p.economy
    residents = hh.residents.astype(np.float64)  # per usual resident, as the household survey
    income_pc = hh.income_total / residents
    out: dict[str, np.ndarray] = {"income_per_capita": income_pc}
    for line in POVERTY_LINES:
        out[f"poor_{line.removeprefix('line_')}"] = (income_pc < getattr(p.poverty, line)).astype(np.int8)
    health_factor = hh.health / 5.0
    out["human_capital"] = (hh.labour + hh.twork) * health_factor * (1.0 + hh.skills)
    out["natural_capital"] = hh.land_farmed * land_quality_factor(e, hh.land_quality)
    physical = hh.productive_assets + hh.machine * e.machine_price + hh.housing
    out["physical_capital"] = physical
    out["financial_capital"] = hh.savings - hh.debt
    ties = hh.network_ties
    # Membership itself is not social capital (treatment would enter its own outcome); its effect
    # runs through ties and trust.
    out["social_capital"] = 0.6 * ties / (ties + e.ties_half_saturation) + 0.4 * hh.trust
    return out


def household_outcomes(world: World) -> dict[str, np.ndarray]:
    """Derived household variables of this year (computed from state, not stored as state)."""
    p, hh = world.params, world.households
    e = p.economy
    residents = hh.residents.astype(np.float64)
    out = poverty_and_capitals(p, hh)
    physical = out["physical_capital"]
    ties = hh.network_ties
    # Raw resilience indicators (direction: + more resilient, - less). The entropy-weight index
    # itself is built in analysis.resilience, as the applied literature does.
    out["buffer_savings_pc"] = hh.savings / residents
    out["buffer_assets_pc"] = physical / residents
    out["buffer_land_pc"] = hh.land_area / residents
    sources = np.stack([np.maximum(hh.income_farm, 0), hh.income_wage, hh.income_business,
                        hh.income_transfers, hh.income_dividends])
    total = sources.sum(axis=0)
    shares = np.divide(sources, total, out=np.zeros_like(sources), where=total > 0)
    out["buffer_income_diversity"] = 1.0 - (shares**2).sum(axis=0)
    out["buffer_debt_ratio"] = hh.debt / np.maximum(physical + hh.savings, 1.0)
    out["selforg_ties"] = ties
    out["selforg_trust"] = hh.trust
    out["selforg_membership_years"] = hh.membership_years.astype(np.float64)
    credit = e.credit_limit_assets * collateral(e, hh.productive_assets, hh.machine, hh.housing)
    out["selforg_credit_access"] = credit
    out["learn_skills"] = hh.skills
    out["learn_tech_adopted"] = hh.tech_adopted
    out["learn_trained_ever"] = hh.trained_ever
    out["learn_info_access"] = hh.info_access
    out["learn_edu"] = hh.edu
    return out


# Indicators of each capacity with their direction, for analysis.resilience.index.
RESILIENCE_INDICATORS = {
    "buffering": [("buffer_savings_pc", "+"), ("buffer_assets_pc", "+"), ("buffer_land_pc", "+"),
                  ("buffer_income_diversity", "+"), ("buffer_debt_ratio", "-")],
    # Membership itself is the treatment, so it is recorded (selforg_membership_years) but not
    # used as an indicator: the index measures what membership changes, not membership.
    "self_organisation": [("selforg_ties", "+"), ("selforg_trust", "+"), ("selforg_credit_access", "+")],
    "learning": [("learn_skills", "+"), ("learn_tech_adopted", "+"), ("learn_trained_ever", "+"),
                 ("learn_info_access", "+"), ("learn_edu", "+")],
}


def county_outcomes(world: World, income_pc: np.ndarray) -> None:
    """Headcounts, structure indices and exit (incidence below the regional threshold after the
    policy start; the exit date interpolates the crossing within the following year)."""
    p, hh, c = world.params, world.households, world.counties
    residents = hh.residents.astype(np.float64)
    if p.demography.enabled or p.labour.enabled:  # residents change year by year
        c.population[:] = np.bincount(hh.county_id, weights=residents, minlength=c.n)
    poor_persons = np.bincount(hh.county_id, weights=residents * (income_pc < p.poverty.line_national), minlength=c.n)
    headcount = poor_persons / np.maximum(c.population, 1)
    previous = world.headcount_last if world.headcount_last is not None else headcount
    c.poverty_headcount[:] = headcount
    income = np.bincount(hh.county_id, weights=hh.income_total, minlength=c.n)
    nonfarm = np.bincount(hh.county_id, weights=hh.income_wage + hh.income_business, minlength=c.n)
    c.upgrading_index[:] = 10.0 * nonfarm / np.maximum(income, 1.0)
    if p.county.structure_channels:
        # The paper's indices from the structure state: machinery power per resident (kW) and
        # agricultural services output per resident (100 yuan).
        c.primary_secondary[:] = c.machinery_power
        c.primary_tertiary[:] = c.ag_services
    else:  # from the households: machines and tourism income per resident
        c.primary_secondary[:] = (10.0 * np.bincount(hh.county_id, weights=hh.machine, minlength=c.n)
                                  / np.maximum(c.population, 1))
        tertiary = (hh.participating == 1) & form_trait("tertiary_income")[np.maximum(hh.form, 0)]
        tourism = np.where(tertiary, hh.income_business, 0.0)
        c.primary_tertiary[:] = (np.bincount(hh.county_id, weights=tourism, minlength=c.n)
                                 / np.maximum(c.population, 1) / 100.0)
    # The paper's control is GDP per capita; rural GDP per capita runs at about 1.6x rural
    # disposable income per capita (China Statistical Yearbook, poor counties 2014-2019).
    c.resource_endowment[:] = income / np.maximum(c.population, 1) / 10_000.0 * GDP_TO_INCOME
    world.headcount_last = headcount
    if p.campaign.exit_rule != "threshold":
        return  # exits come from the campaign (processes/counties.py::county_campaign)
    threshold = np.asarray(p.county.exit_threshold)[c.region]
    crossing = (c.exited == 0) & (c.poor_county == 1) & (headcount < threshold) & world.policy_active
    # Fraction of the way from last year's headcount down to the threshold: a county that just
    # makes it is announced late in the following year, one far below it early.
    drop = np.maximum(previous - headcount, 1e-12)
    fraction = np.clip((previous - threshold) / drop, 0.0, 1.0)
    c.exit_date[:] = np.where(crossing, world.year + 1 + fraction * 0.999, c.exit_date)
    c.exited[:] = np.where(crossing, 1, c.exited)


def record_outcomes(world: World) -> None:
    """Year end: county outcomes, one row of every panel, and this year's income as next year's
    'last year'."""
    hh, rec = world.households, world.recorders
    income_pc = hh.income_total / hh.residents
    county_outcomes(world, income_pc)
    t = world.record_index
    rec.households.record(t, world.year, hh)
    rec.counties.record(t, world.year, world.counties)
    rec.organisations.record(t, world.year, world.organisations)
    world.income_last = hh.income_total.copy()
    world.income_pc_last = income_pc
