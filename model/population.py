"""Synthetic population: regions, counties, villages, households and the organisations that the
integration policy may activate.

Household covariates reproduce the means and standard deviations of Table 1 of the CLDS paper
(seed 001) through a Gaussian copula: correlated standard normals are mapped to each marginal
by its quantile function, so every marginal is exact in expectation (except where a bound cuts
it: age is clipped to adult ages, famsize to at least one, twork to the working-age members)
and the dependence is set
by one correlation matrix (health falls with age, non-farm work rises with education, remote
villages have fewer hardened roads...). Village variables (distance, hroad, lamp) are drawn
once per village and shared by its households.
"""
from __future__ import annotations

import numpy as np
from . import quantiles as dist

from .enums import PRODUCTS, Form, OrgType
from .params import Params
from .rng import stream
from .state import CountyState, HouseholdState, OrganisationState, VillageState

# Discrete marginals fitted to CLDS Table 1 (minimum-divergence from a smooth prior subject to
# the published mean and sd; see docs/odd.md "Initialisation").
EDU_CODES = np.array([0, 3, 6, 9, 12, 13, 16])
EDU_PROBS = np.array([0.1213, 0.3222, 0.4460, 0.1039, 0.0055, 0.0011, 0.0002])
EDU_PROBS = EDU_PROBS / EDU_PROBS.sum()  # the rounded fit sums to 1.0002  # mean 4.659, sd 2.582
HEALTH_PROBS = np.array([0.0305, 0.1024, 0.2850, 0.3694, 0.2127])  # 1..5: mean 3.631, sd 1.023
TWORK_PROBS = np.array([0.2548, 0.3731, 0.2642, 0.0827, 0.0210, 0.0033, 0.0009])  # 0..6: mean 1.255, sd 1.023

# Table 1 moments (mean, sd) used for the continuous and count marginals.
TABLE1 = {
    "age": (51.8806, 10.1715),
    "health": (3.6311, 1.0227),
    "job": (0.8656, 0.3411),
    "famsize": (4.6736, 1.8175),
    "machine": (0.4289, 1.1157),
    "subsidy": (0.5413, 0.4983),
    "distance": (19.0788, 18.3314),
    "hroad": (63.7989, 24.7591),
    "lamp": (0.3532, 0.4780),
    "edu": (4.659, 2.581),
    "ability": (0.6896, 0.4627),
    "twork": (1.2552, 1.0227),
}

# Household latent factors of the copula, in this order.
LATENT = ["age", "health", "job", "famsize", "machine", "subsidy", "edu", "ability", "twork",
          "drive", "land", "wealth", "land_quality", "social"]
# Pairwise correlations of the latent normals (unlisted pairs are 0). Signs follow the rural
# household literature and the CLDS descriptives; magnitudes are moderate by design.
LATENT_CORRELATIONS = {
    ("age", "health"): -0.35,
    ("age", "edu"): -0.35,
    ("age", "job"): -0.25,
    ("age", "twork"): -0.15,
    ("health", "job"): 0.25,
    ("health", "subsidy"): -0.15,
    ("edu", "twork"): 0.25,
    ("edu", "ability"): 0.20,
    ("edu", "subsidy"): -0.10,
    ("famsize", "twork"): 0.35,
    ("machine", "land"): 0.30,
    ("machine", "wealth"): 0.30,
    ("subsidy", "wealth"): -0.45,
    ("subsidy", "machine"): -0.05,
    ("drive", "edu"): 0.15,
    ("drive", "wealth"): 0.20,
    ("drive", "social"): 0.15,
    ("wealth", "edu"): 0.20,
    ("wealth", "social"): 0.20,
    ("ability", "twork"): 0.10,
}


def latent_correlation(latent=LATENT, pairs=LATENT_CORRELATIONS) -> np.ndarray:
    """The correlation matrix of the copula's latent normals from the listed pairs (others 0)."""
    k = len(latent)
    corr = np.eye(k)
    pos = {name: i for i, name in enumerate(latent)}
    for (a, b), r in pairs.items():
        corr[pos[a], pos[b]] = corr[pos[b], pos[a]] = r
    # Guard against a non-positive-definite hand-written matrix.
    w, v = np.linalg.eigh(corr)
    if w.min() <= 1e-8:
        w = np.clip(w, 1e-6, None)
        corr = (v * w) @ v.T
        d = np.sqrt(np.diag(corr))
        corr = corr / np.outer(d, d)
    return corr


def _discrete(z: np.ndarray, values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Map standard normals to a discrete marginal by its quantile function."""
    cut = dist.norm_ppf(np.cumsum(probs)[:-1])
    return values[np.searchsorted(cut, z, side="right")]


def _bernoulli(z: np.ndarray, p: float) -> np.ndarray:
    return (z < dist.norm_ppf(p)).astype(np.int8)


def _stratified(z: np.ndarray) -> np.ndarray:
    """Uniforms (rank + 0.5) / n in the order of ``z``: an exact empirical marginal."""
    ranks = np.empty(z.size)
    ranks[np.argsort(z, kind="stable")] = np.arange(z.size)
    return (ranks + 0.5) / z.size


def build_places(params: Params, seed: int) -> tuple[VillageState, CountyState]:
    pop = params.population
    rng = stream(seed, "places")
    n_counties = pop.n_counties
    n_villages = n_counties * pop.villages_per_county
    counties = CountyState(n_counties)
    u_region = rng.random(n_counties)
    counties.region[:] = np.where(u_region < pop.share_east, 0,
                                  np.where(u_region < pop.share_east + pop.share_central, 1, 2))
    counties.ethnic_minority[:] = ((rng.random(n_counties) < pop.ethnic_minority_share)
                                   & (counties.region > 0)).astype(np.int8)
    counties.main_industry[:] = (rng.random(n_counties) < 0.7).astype(np.int8)
    counties.exit_date[:] = np.nan

    villages = VillageState(n_villages)
    villages.county_id[:] = np.repeat(np.arange(n_counties), pop.villages_per_county)
    villages.region[:] = counties.region[villages.county_id]
    # One village latent "remoteness" drives distance (+), road hardening (-), street lights (-).
    remoteness = rng.standard_normal(n_villages)
    own = rng.standard_normal((3, n_villages))
    z_distance = 0.6 * remoteness + 0.8 * own[0]
    z_hroad = -0.5 * remoteness + np.sqrt(1 - 0.25) * own[1]
    z_lamp = -0.4 * remoteness + np.sqrt(1 - 0.16) * own[2]
    # Stratified marginals: each village variable takes the quantiles (rank + 0.5) / n of its
    # distribution, ordered by its latent normal, so a region of any size reproduces the Table 1
    # moments while keeping the dependence on remoteness.
    u_distance, u_hroad, u_lamp = (_stratified(z) for z in (z_distance, z_hroad, z_lamp))
    mean, sd = TABLE1["distance"]
    shape = (mean / sd) ** 2
    villages.distance[:] = dist.gamma_ppf(u_distance, shape, scale=sd**2 / mean)
    mean, sd = TABLE1["hroad"]
    m, v = mean / 100, (sd / 100) ** 2
    ab = m * (1 - m) / v - 1
    villages.hroad[:] = 100 * dist.beta_ppf(u_hroad, m * ab, (1 - m) * ab)
    villages.lamp[:] = (u_lamp > 1.0 - TABLE1["lamp"][0]).astype(np.int8)
    villages.product[:] = np.searchsorted(np.cumsum([0.5, 0.2, 0.2, 0.1])[:-1], rng.random(n_villages), side="right")
    villages.cooperative_id[:] = -1
    init_county_structure(params, seed, counties)
    counties.poor_county[:] = 1  # design 'table1': the region stands for the poor areas
    counties.income_factor[:] = 1.0
    return villages, counties


def init_county_structure(params: Params, seed: int, counties: CountyState) -> None:
    """Endowment, machinery power and agricultural services at the start, from their own stream
    (``counties``; drawn whatever the parameters, so no other draw moves). The endowment is a
    mean-one lognormal, lower in ethnic-minority areas; machinery power and services are
    correlated with it."""
    cp, n = params.county, counties.n
    rng = stream(seed, "counties")
    z_endow, z_machine, z_services = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)
    sd = cp.endowment_sd
    counties.endowment[:] = np.exp(sd * z_endow - sd * sd / 2 - cp.ethnic_endowment_gap * counties.ethnic_minority)
    m = cp.machinery_power_sd
    counties.machinery_power[:] = cp.machinery_power_mean * np.exp(m * (0.6 * z_endow + 0.8 * z_machine) - m * m / 2)
    s = cp.services_sd
    counties.ag_services[:] = cp.services_mean * np.exp(s * (0.4 * z_endow + np.sqrt(0.84) * z_services) - s * s / 2)
    counties.farm_factor[:] = 1.0
    counties.wage_factor[:] = 1.0
    counties.business_factor[:] = 1.0
    counties.assessed_incidence[:] = np.nan


def build_households(params: Params, seed: int, villages: VillageState, counties: CountyState) -> HouseholdState:
    n = params.population.n_households
    rng = stream(seed, "population")
    hh = HouseholdState(n)
    n_villages = villages.n
    # Households are dealt to villages in turn so every village has n / n_villages of them.
    hh.village_id[:] = np.arange(n) % n_villages
    hh.county_id[:] = villages.county_id[hh.village_id]
    hh.region[:] = villages.region[hh.village_id]
    hh.distance[:] = villages.distance[hh.village_id]
    hh.hroad[:] = villages.hroad[hh.village_id]
    hh.lamp[:] = villages.lamp[hh.village_id]

    corr = latent_correlation()
    z = rng.standard_normal((n, len(LATENT))) @ np.linalg.cholesky(corr).T
    col = {name: z[:, i] for i, name in enumerate(LATENT)}

    mean, sd = TABLE1["age"]
    hh.age[:] = np.clip(mean + sd * col["age"], 18, 90)
    hh.health[:] = _discrete(col["health"], np.arange(1, 6), HEALTH_PROBS)
    hh.job[:] = _bernoulli(-col["job"], TABLE1["job"][0])
    mean, sd = TABLE1["famsize"]
    # Rounding adds variance 1/12, so the latent sd is reduced to keep the published sd.
    hh.famsize[:] = np.clip(np.rint(mean + np.sqrt(sd**2 - 1 / 12) * col["famsize"]), 1, 15)
    mean, sd = TABLE1["machine"]
    r = mean**2 / (sd**2 - mean)  # negative binomial: var = m + m^2 / r
    hh.machine[:] = dist.nbinom_ppf(dist.norm_cdf(col["machine"]), r, r / (r + mean))
    hh.subsidy[:] = _bernoulli(-col["subsidy"], TABLE1["subsidy"][0])
    hh.edu[:] = _discrete(col["edu"], EDU_CODES, EDU_PROBS)
    hh.ability[:] = _bernoulli(-col["ability"], TABLE1["ability"][0])
    working_age = np.maximum(1, np.rint(hh.famsize * 0.75)).astype(np.int16)
    hh.twork[:] = np.minimum(_discrete(col["twork"], np.arange(7), TWORK_PROBS), working_age)
    hh.entrepreneurial_drive[:] = col["drive"]

    e = params.economy
    hh.labour[:] = np.maximum(0.5, working_age - hh.twork)
    hh.skills[:] = np.clip(0.25 + 0.25 * hh.ability + 0.02 * hh.edu + 0.08 * rng.standard_normal(n), 0.0, 1.0)
    land_sd = 0.5
    hh.land_area[:] = e.land_per_capita * hh.famsize * np.exp(land_sd * col["land"] - land_sd**2 / 2)
    hh.land_quality[:] = dist.beta_ppf(dist.norm_cdf(col["land_quality"]), 2.0, 2.0)
    same = rng.random(n) < 0.7
    hh.product[:] = np.where(same, villages.product[hh.village_id], rng.integers(0, len(PRODUCTS), n))
    wealth = col["wealth"]
    hh.productive_assets[:] = 6000.0 * np.exp(0.9 * wealth - 0.405)
    hh.housing[:] = 50000.0 * np.exp(0.6 * wealth - 0.18)
    hh.savings[:] = 5000.0 * np.exp(1.0 * wealth - 0.5)
    has_debt = rng.random(n) < 0.25
    hh.debt[:] = np.where(has_debt, 8000.0 * np.exp(0.8 * rng.standard_normal(n) - 0.32), 0.0)
    hh.network_ties[:] = np.maximum(0.0, 6.0 + 2.5 * col["social"])
    hh.trust[:] = np.clip(0.5 + 0.12 * rng.standard_normal(n), 0.05, 0.95)
    hh.info_access[:] = np.clip(0.2 + 0.3 * hh.lamp + 0.02 * hh.edu + 0.05 * rng.standard_normal(n), 0.0, 1.0)
    hh.org_id[:] = -1
    hh.form[:] = Form.NONE
    hh.residents[:] = hh.famsize  # design 'table1' has no migrants: every member is a usual resident
    hh.land_farmed[:] = hh.land_area

    # County aggregates that are fixed at the start.
    counties.population[:] = np.bincount(hh.county_id, weights=hh.famsize, minlength=counties.n)
    villages.households[:] = np.bincount(hh.village_id, minlength=villages.n)
    return hh


def build_organisations(params: Params, seed: int, villages: VillageState, counties: CountyState) -> OrganisationState:
    """All organisations that could exist, drawn whatever the policy (common random numbers).

    A village gets a cooperative candidate with probability ``cooperative.villages_share``; each
    county gets ``enterprise.per_county`` leading-enterprise candidates. The policy decides which
    are enabled; the draws that place and characterise them never change with the policy.
    """
    rng = stream(seed, "organisations")
    coop_u = rng.random(villages.n)
    coop_form_u = rng.random(villages.n)
    coop_quality_z = rng.standard_normal(villages.n)
    per_county = params.enterprise.per_county
    ent_form_u = rng.random((counties.n, max(per_county, 1)))[:, :per_county].ravel()
    ent_quality_z = rng.standard_normal((counties.n, max(per_county, 1)))[:, :per_county].ravel()
    ent_product_u = rng.random((counties.n, max(per_county, 1)))[:, :per_county].ravel()

    coop_villages = np.flatnonzero(coop_u < params.cooperative.villages_share)
    n_coop, n_ent = coop_villages.size, counties.n * per_county
    orgs = OrganisationState(n_coop + n_ent)
    cum = np.cumsum(params.policy.form_shares)[:-1]
    orgs.org_type[:n_coop] = OrgType.COOPERATIVE
    orgs.form[:n_coop] = np.searchsorted(cum, coop_form_u[coop_villages], side="right")
    orgs.county_id[:n_coop] = villages.county_id[coop_villages]
    orgs.village_id[:n_coop] = coop_villages
    orgs.product[:n_coop] = villages.product[coop_villages]
    orgs.capacity[:n_coop] = params.cooperative.capacity
    q = params.cooperative.management_quality_mean
    orgs.management_quality[:n_coop] = dist.beta_ppf(dist.norm_cdf(coop_quality_z[coop_villages]), 6 * q, 6 * (1 - q))
    orgs.org_type[n_coop:] = OrgType.ENTERPRISE
    orgs.form[n_coop:] = np.searchsorted(cum, ent_form_u, side="right")
    orgs.county_id[n_coop:] = np.repeat(np.arange(counties.n), per_county)
    orgs.village_id[n_coop:] = -1
    orgs.product[n_coop:] = np.searchsorted(np.cumsum([0.4, 0.2, 0.25, 0.15])[:-1], ent_product_u, side="right")
    orgs.capacity[n_coop:] = params.enterprise.capacity
    orgs.management_quality[n_coop:] = dist.beta_ppf(dist.norm_cdf(ent_quality_z), 6.0, 4.0)
    orgs.enabled[:] = np.where(orgs.org_type == OrgType.COOPERATIVE, params.policy.cooperatives, params.policy.enterprises)
    orgs.contract_price[:] = 1.0 + params.enterprise.contract_premium
    villages.cooperative_id[coop_villages] = np.arange(n_coop)
    if params.population.design == "national":
        # Management quality differs by region; with interest linkage on, capacity is a share of
        # the village's (cooperatives) or county's (enterprises) households, so organisations fill up.
        shift = np.asarray(params.population.region_quality_shift)[counties.region[orgs.county_id]]
        orgs.management_quality[:] = np.clip(orgs.management_quality + shift, 0.01, 0.99)
        if params.linkage.enabled:
            lk = params.linkage
            village_households = villages.households
            county_households = np.bincount(villages.county_id, weights=village_households, minlength=counties.n)
            orgs.capacity[:n_coop] = np.maximum(1, np.ceil(lk.cooperative_capacity_share
                                                           * village_households[coop_villages]))
            orgs.capacity[n_coop:] = np.maximum(1, np.ceil(lk.enterprise_capacity_share
                                                           * np.repeat(county_households, per_county)))
    return orgs
