"""Counties: industrial structure with causal channels, and the poverty-exit campaign.

Three schedule entries (docs/odd.md, "Counties: industrial structure and the exit campaign"):

* ``county_structure`` (world, after the budgets): machinery power (primary-secondary
  integration) and agricultural services (primary-tertiary) grow with the trend and with the
  organisations present last year; from them and the endowment, this year's farm, wage and
  business multipliers that production applies to the county's households
  (``county.structure_channels``).
* ``campaign_support`` (household, after production, before coping): support concentrated on
  the registered poor of counties due to exit (continued after exit), extra support in ethnic
  areas, and from ``campaign.floor_start_year`` the social-security floor for the remaining
  registered poor of lagging counties (the lever through which the 2020 deadline binds).
* ``county_campaign`` (world, before the year-end record): the survey-weighted incidence of
  each county, the provincial plan (made once, in the policy start year, from that incidence),
  applications, the third-party assessment survey with its sampling error, exits and their
  announcement dates (``campaign.exit_rule = "campaign"``).

Everything is vectorised over counties; the household-level parts are a few gathers and one
``bincount`` per year. The assessment draws come from their own stream (``campaign``), drawn
for every county every year whatever the state (common random numbers).
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from ..enums import form_trait, org_type_trait
from ..rng import stream
from ..world import World
from .arrays import select
from .coping import income_sum
from .production import poverty_transfer_level
from .registration import supported


def county_structure(world: World) -> None:
    """Evolve machinery power and agricultural services; set this year's county multipliers."""
    p, c, hh = world.params, world.counties, world.households
    cp = p.county
    if not cp.structure_channels:
        return
    if world.policy_active and world.year > p.calendar.policy_start_year:
        # Investment follows last year's organisations: technology-push or contract-farming
        # members raise machinery and processing capacity, tertiary-form members services.
        part = hh.participating == 1
        form = np.maximum(hh.form, 0)
        tech = part & (form_trait("technology_push")[form] | org_type_trait("contract_farming")[hh.org_type])
        tertiary = part & form_trait("tertiary_income")[form]
        n_hh = np.maximum(world.county_households, 1)
        tech_share = np.bincount(hh.county_id, weights=tech, minlength=c.n) / n_hh
        tertiary_share = np.bincount(hh.county_id, weights=tertiary, minlength=c.n) / n_hh
        c.machinery_power[:] = c.machinery_power * np.exp(cp.machinery_growth + cp.machinery_org_growth * tech_share)
        c.ag_services[:] = c.ag_services * np.exp(cp.services_org_growth * tertiary_share)
    elif world.year > p.calendar.start_year:
        c.machinery_power[:] = c.machinery_power * np.exp(cp.machinery_growth)
    above = c.machinery_power - cp.machinery_power_mean
    c.farm_factor[:] = np.maximum(0.2, 1.0 + cp.machinery_farm_gain * above)
    c.wage_factor[:] = c.endowment ** cp.endowment_wage_elasticity * np.maximum(0.2, 1.0 + cp.machinery_job_gain * above)
    ramp = np.clip((world.year - p.calendar.policy_start_year) / cp.services_maturity, 0.0, 1.0)
    c.business_factor[:] = np.maximum(0.2, 1.0 + cp.services_gain * ramp * (c.ag_services - cp.services_mean))


def budget_factor(world: World, counties) -> np.ndarray | float:
    """Multiplier of the county training and infrastructure budgets (1 with the channels off)."""
    cp = world.params.county
    if not cp.structure_channels or cp.endowment_budget_elasticity == 0.0:
        return 1.0
    return world.counties.endowment[counties] ** cp.endowment_budget_elasticity


def campaign_support(world: World, idx) -> None:
    """Extra transfers of the campaign to registered-poor households (before coping)."""
    p, hh, c = world.params, world.households, world.counties
    cp, cc = p.campaign, p.county
    if not world.policy_active:
        return
    county = hh.county_id[idx]
    # The campaign supports whoever the targeted transfers follow: the register, and (rule
    # 'assessment') households within their support period after exit.
    registered = supported(world, idx).astype(np.float64)
    famsize = hh.residents[idx].astype(np.float64)  # transfers per usual resident
    extra = np.zeros(np.shape(registered))
    ethnic = c.ethnic_minority.take(county).astype(np.float64)
    if cc.structure_channels and cc.ethnic_support > 0.0:
        extra = extra + registered * famsize * poverty_transfer_level(p, world.year) * cc.ethnic_support * ethnic
    if cp.exit_rule != "campaign":
        if np.any(extra):
            hh.income_transfers[idx] += extra
        return
    if cp.plan_support > 0.0:
        plan = c.plan_year.take(county)
        due = (plan > 0) & (world.year >= plan - 1)
        scale = 1.0 + (cc.ethnic_support * ethnic if cc.structure_channels else 0.0)
        extra = extra + due * registered * famsize * cp.plan_support * scale
    hh.income_transfers[idx] += extra
    cover = floored(world, county, registered)
    if np.any(cover):
        gap = cp.floor_share * p.poverty.line_national * famsize - income_sum(hh, idx)
        hh.income_transfers[idx] += select(cover, np.maximum(gap, 0.0), 0.0)


def floored(world: World, county: np.ndarray, registered: np.ndarray) -> np.ndarray:
    """Households whose income the social-security floor covers this year: the registered poor of a
    lagging county from ``campaign.floor_start_year``, every household of one (the floor tops up
    only those below it) from ``campaign.monitoring_year``."""
    cp = world.params.campaign
    if cp.exit_rule != "campaign" or cp.floor_share <= 0.0 or world.year < cp.floor_start_year:
        return np.zeros(np.shape(registered), dtype=bool)
    c = world.counties
    lagging = ((c.exited == 0) & (c.poor_county == 1)).take(county)  # only poor counties are on the list
    if world.year >= cp.monitoring_year:
        return lagging  # the dynamic monitoring finds every poor household of a lagging county
    return lagging & (registered > 0)


def weighted_incidence(world: World) -> np.ndarray:
    """Survey-weighted poverty incidence of each county.

    Every simulated household stands for many real ones: their market incomes (all but
    transfers) per capita scatter lognormally around its own (mean-preserving, sd
    ``campaign.incidence_income_sd``), their transfers are its transfers (set by registration,
    the subsidy and the floor, not by the income draw). The incidence is the population-weighted
    share of those real residents below the national line; households under the floor count as
    not poor (the floor tops every one of them up). With sd 0 it is the simulated headcount."""
    hh, c = world.households, world.counties
    world.over_households(_poor_residents)
    residents = np.bincount(hh.county_id, weights=hh.residents.astype(np.float64), minlength=c.n)  # this year's
    return np.bincount(hh.county_id, weights=world.scratch.poor_share, minlength=c.n) / np.maximum(residents, 1.0)


def _poor_residents(world: World, idx) -> None:
    """Residents a household stands for times the share of them below the line (scratch.poor_share)."""
    p, hh = world.params, world.households
    sd = p.campaign.incidence_income_sd
    line = p.poverty.line_national
    famsize = hh.residents[idx].astype(np.float64)  # incidence among usual residents
    if sd > 0.0:
        transfers_pc = hh.income_transfers[idx] / famsize
        market_pc = (hh.income_total[idx] - hh.income_transfers[idx]) / famsize
        room = line - transfers_pc  # market income per capita a represented household needs
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(np.maximum(room, 1e-9)) - np.log(np.maximum(market_pc, 1.0)) + sd * sd / 2.0) / sd
        share = select(room > 0, ndtr(z), 0.0)
    else:
        share = (hh.income_total[idx] / famsize < line).astype(np.float64)
    share = select(floored(world, hh.county_id[idx], supported(world, idx)), 0.0, share)
    world.scratch.poor_share[idx] = famsize * share


def make_plan(world: World, incidence: np.ndarray) -> None:
    """The provinces' plans: counties ranked by incidence relative to their threshold (least poor
    first) are scheduled in batches of ``campaign.plan_shares``; the rest for the deadline."""
    cp, c = world.params.campaign, world.counties
    threshold = np.asarray(world.params.county.exit_threshold)[c.region]
    poor = np.flatnonzero(c.poor_county == 1)  # only the designated poor counties are planned
    order = poor[np.argsort(incidence[poor] / threshold[poor], kind="stable")]
    rank_share = np.full(c.n, np.inf)
    rank_share[order] = (np.arange(poor.size) + 0.5) / max(poor.size, 1)
    cum = np.cumsum(cp.plan_shares)
    batch = np.searchsorted(cum, rank_share, side="right")
    c.plan_year[:] = np.where(c.poor_county == 1, np.minimum(cp.plan_first_year + batch, cp.deadline_year), 0).astype(np.int16)


def county_campaign(world: World) -> None:
    """Incidence, plan, applications, third-party assessment and exits of the year."""
    p, c = world.params, world.counties
    cp = p.campaign
    if cp.exit_rule != "campaign":
        return
    g = stream(world.seed, "campaign", world.year + 100_000 * cp.assessment_replicate)
    z, u = g.standard_normal(c.n), g.random(c.n)
    incidence = weighted_incidence(world)
    c.poverty_incidence[:] = incidence
    c.applied[:] = 0
    c.assessed_incidence[:] = np.nan
    if not world.policy_active:
        return
    if world.year == p.calendar.policy_start_year or not np.any(c.plan_year):
        make_plan(world, incidence)
    if world.year < cp.plan_first_year:
        return
    threshold = np.asarray(p.county.exit_threshold)[c.region]
    deadline = world.year >= cp.deadline_year
    applies = ((c.exited == 0) & (c.poor_county == 1) & (world.year >= c.plan_year)
               & ((incidence < cp.application_margin * threshold) | deadline))
    # The third-party assessment: a clustered sample of assessment_persons residents.
    n_eff = cp.assessment_persons / cp.design_effect
    se = np.sqrt(np.maximum(incidence * (1.0 - incidence), 0.0) / n_eff)
    measured = np.clip(incidence + se * z, 0.0, 1.0)
    passed = applies & (measured < threshold)
    c.applied[:] = applies
    c.assessed_incidence[:] = np.where(applies, measured, np.nan)
    c.failed_assessments[:] = c.failed_assessments + (applies & ~passed)
    lo, hi = cp.announce_lag
    date = world.year + cp.deadline_announce if deadline else world.year + 1 + lo + (hi - lo) * u
    c.exit_date[:] = np.where(passed, date, c.exit_date)
    c.exit_year[:] = np.where(passed, world.year, c.exit_year)
    c.exited[:] = np.where(passed, 1, c.exited)
