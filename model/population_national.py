"""Synthetic population, design 'national': the rural population of China, of which the papers'
samples are subsets (the CLDS paper's households below the line, Liu's poor counties).

Differences from the 'table1' generator (model/population.py), which drew every household from
the Table 1 marginals of the CLDS *poor* sample:

* **Regions and counties.** Counties lie in the east, centre or west; each has an income factor
  (``population.region_income_factor`` of its region times its endowment, ``county.endowment_sd``)
  that scales farm productivity, local wages and business returns. The counties with the lowest
  factor (``population.poor_county_share``) are the designated national poor counties. Villages'
  distance to a commercial centre, road hardening, street lights and disaster risk differ by
  region (market access and infrastructure).
* **Members.** A household has children (under 16), adults (16-59) and elderly (60+), the head
  among them; its stable non-farm workers are migrants (away most of the year: not usual
  residents) or local non-farm workers; migrants send home a household-specific share of their
  earnings. ``twork`` (the CLDS covariate) counts both, ``famsize`` every registered member,
  ``residents`` the usual residents.

The CLDS Table 1 means are *not* imposed on the whole population: they are what the households
below the line in 2014 should show (checked by ``ruralabm patterns`` and the tests).
"""
from __future__ import annotations

import numpy as np
from . import quantiles as dist

from .enums import PRODUCTS, Form
from .params import Params
from .population import (EDU_CODES, HEALTH_PROBS, TABLE1, _bernoulli, _discrete, _stratified, build_places,
                         latent_correlation)
from .rng import stream
from .state import CountyState, HouseholdState, VillageState

# Latent standard normals of a household, in this order.
LATENT = ["age", "health", "job", "famsize", "machine", "edu", "ability", "twork", "drive", "land", "wealth",
          "land_quality", "social", "remit"]
LATENT_CORRELATIONS = {
    ("age", "health"): -0.35,
    ("age", "edu"): -0.40,
    ("age", "job"): -0.30,
    ("age", "twork"): -0.10,
    ("health", "job"): 0.25,
    ("edu", "twork"): 0.20,
    ("edu", "ability"): 0.20,
    ("famsize", "twork"): 0.40,
    ("machine", "land"): 0.30,
    ("machine", "wealth"): 0.30,
    ("drive", "edu"): 0.15,
    ("drive", "wealth"): 0.20,
    ("drive", "social"): 0.15,
    ("wealth", "edu"): 0.25,
    ("wealth", "social"): 0.20,
    ("wealth", "twork"): 0.15,
    ("ability", "twork"): 0.10,
}
MAX_SLOTS = 8  # members of one kind drawn with per-slot uniforms (counts above this are rare)


def binomial_slots(n: np.ndarray, p, u: np.ndarray) -> np.ndarray:
    """Binomial(n, p) counts from per-slot uniforms ``u`` (households x slots): slot k of a
    household counts when k < n and u < p. The draws a household uses never depend on another's."""
    slots = np.arange(u.shape[1])
    return ((slots < np.asarray(n)[:, None]) & (u < np.asarray(p, dtype=np.float64).reshape(-1, 1))).sum(axis=1)


def build_places_national(params: Params, seed: int) -> tuple[VillageState, CountyState]:
    """Counties and villages: regions, endowments, the county income factor, poor counties, and
    village market access and infrastructure by region."""
    pop = params.population
    villages, counties = build_places(params, seed)  # regions, ethnic areas, endowment, structure
    rng = stream(seed, "places", 1)  # the national design's own set-up draws (year key 1)
    region = counties.region.astype(np.int64)
    endowment = counties.endowment if params.county.endowment_sd > 0 else np.ones(counties.n)
    counties.income_factor[:] = np.asarray(pop.region_income_factor)[region] * endowment
    n_poor = int(round(pop.poor_county_share * counties.n))
    poor = np.zeros(counties.n, dtype=np.int8)
    poor[np.argsort(counties.income_factor, kind="stable")[:n_poor]] = 1
    counties.poor_county[:] = poor

    vregion = villages.region.astype(np.int64)
    # Keep each village's latent remoteness ordering (from build_places), move the levels by region.
    u_distance = _stratified(villages.distance + 1e-9 * rng.random(villages.n))
    shape = (TABLE1["distance"][0] / TABLE1["distance"][1]) ** 2
    villages.distance[:] = (dist.gamma_ppf(u_distance, shape, scale=pop.distance_mean / shape)
                            * np.asarray(pop.region_distance_factor)[vregion])
    villages.hroad[:] = np.clip(villages.hroad - TABLE1["hroad"][0] + pop.hroad_mean
                                + np.asarray(pop.region_hroad_shift)[vregion], 0.0, 100.0)
    # Street lights follow remoteness as in the 'table1' generator (latent correlation -0.4 with the
    # village's distance score), at regional shares.
    lamp_p = np.clip(pop.lamp_share + np.asarray(pop.region_lamp_shift)[vregion], 0.0, 1.0)
    z_lamp = -0.4 * dist.norm_ppf(u_distance) + np.sqrt(1 - 0.16) * rng.standard_normal(villages.n)
    villages.lamp[:] = (dist.norm_cdf(z_lamp) > 1.0 - lamp_p).astype(np.int8)
    return villages, counties


def build_households_national(params: Params, seed: int, villages: VillageState,
                              counties: CountyState) -> HouseholdState:
    pop, dp = params.population, params.demography
    n = pop.n_households
    rng = stream(seed, "population")
    hh = HouseholdState(n)
    hh.village_id[:] = np.arange(n) % villages.n
    hh.county_id[:] = villages.county_id[hh.village_id]
    hh.region[:] = villages.region[hh.village_id]
    hh.distance[:] = villages.distance[hh.village_id]
    hh.hroad[:] = villages.hroad[hh.village_id]
    hh.lamp[:] = villages.lamp[hh.village_id]
    region = hh.region.astype(np.int64)
    factor = counties.income_factor[hh.county_id]

    z = rng.standard_normal((n, len(LATENT))) @ np.linalg.cholesky(latent_correlation(LATENT, LATENT_CORRELATIONS)).T
    col = {name: z[:, i] for i, name in enumerate(LATENT)}
    u = rng.random((n, 4, MAX_SLOTS))  # composition and work slots

    # The head.
    hh.age[:] = np.clip(pop.head_age_mean + pop.head_age_sd * col["age"], 22, 90)
    hh.health[:] = _discrete(col["health"], np.arange(1, 6), HEALTH_PROBS)
    hh.job[:] = _bernoulli(-col["job"], pop.job_share)
    hh.edu[:] = _discrete(col["edu"], EDU_CODES, np.asarray(pop.head_edu_probs))
    hh.ability[:] = _bernoulli(-col["ability"], pop.ability_share)

    # Members: the head's generation, the elderly parents of a younger head, children or adult
    # children by the head's age. famsize is the registered household (migrants included).
    famsize = np.clip(np.rint(pop.famsize_mean + np.sqrt(max(pop.famsize_sd**2 - 1 / 12, 0.0)) * col["famsize"]),
                      1, 12).astype(np.int64)
    age = hh.age.astype(np.float64)
    head_old = age >= 60
    spouse = (famsize >= 2) & (u[:, 0, 0] < 0.9)
    p_parents = np.clip((58.0 - age) / 35.0, 0.0, 0.55)  # a younger head more often lives with parents
    parents = np.where(head_old, 0, (u[:, 0, 1] < p_parents).astype(np.int64) * (1 + (u[:, 0, 2] < 0.5)))
    parents = np.minimum(parents, famsize - 1 - spouse)
    others = famsize - 1 - spouse - parents
    p_child = np.clip((56.0 - age) / 20.0, 0.0, 1.0)  # others are young children of a young head
    kids = binomial_slots(others, p_child, u[:, 1])
    grown = others - kids
    elderly = np.where(head_old, 1 + spouse, parents)
    adults = np.where(head_old, 0, 1 + spouse) + grown
    children = kids
    hh.children[:] = children
    hh.adults[:] = adults
    hh.elderly[:] = elderly
    hh.famsize[:] = children + adults + elderly

    # Stable non-farm work among adults (not the head over 50): migrants or local workers.
    can_work = np.maximum(adults - (age >= 50), 0)
    lam = pop.nonfarm_workers_mean
    twork = np.minimum(dist.poisson_ppf(dist.norm_cdf(col["twork"]), lam).astype(np.int64), can_work)
    migrants = np.minimum(binomial_slots(twork, np.asarray(pop.migrant_share)[region], u[:, 2]),
                          hh.famsize - 1)  # somebody lives at home
    hh.migrants[:] = migrants
    hh.local_workers[:] = twork - migrants
    hh.twork[:] = twork
    hh.residents[:] = hh.famsize - migrants
    m, k = pop.remittance_share_mean, pop.remittance_share_concentration
    hh.remittance_share[:] = dist.beta_ppf(dist.norm_cdf(col["remit"]), m * k, (1 - m) * k)
    hh.entrepreneurial_drive[:] = col["drive"]

    e = params.economy
    farm_adults = np.maximum(adults - twork, 0)
    hh.labour[:] = np.maximum(0.2, farm_adults + params.labour.elderly_farm_labour * elderly)
    hh.skills[:] = np.clip(0.25 + 0.25 * hh.ability + 0.02 * hh.edu + 0.08 * rng.standard_normal(n), 0.0, 1.0)
    mean, sd = pop.machine_mean, TABLE1["machine"][1]
    r = mean**2 / max(sd**2 - mean, 1e-6)
    hh.machine[:] = dist.nbinom_ppf(dist.norm_cdf(col["machine"]), r, r / (r + mean))
    land_sd = 0.5
    hh.land_area[:] = e.land_per_capita * hh.famsize * np.exp(land_sd * col["land"] - land_sd**2 / 2)
    hh.land_farmed[:] = hh.land_area
    hh.land_quality[:] = dist.beta_ppf(dist.norm_cdf(col["land_quality"]), 2.0, 2.0)
    same = rng.random(n) < 0.7
    hh.product[:] = np.where(same, villages.product[hh.village_id], rng.integers(0, len(PRODUCTS), n))
    wealth = col["wealth"]
    a_sd = pop.assets_sd
    hh.productive_assets[:] = pop.assets_mean * factor * np.exp(a_sd * wealth - a_sd**2 / 2)
    hh.housing[:] = 50000.0 * factor * np.exp(0.6 * wealth - 0.18)
    hh.savings[:] = 5000.0 * factor * np.exp(1.0 * wealth - 0.5)
    has_debt = rng.random(n) < 0.25
    hh.debt[:] = np.where(has_debt, 8000.0 * np.exp(0.8 * rng.standard_normal(n) - 0.32), 0.0)
    hh.network_ties[:] = np.maximum(0.0, 6.0 + 2.5 * col["social"])
    hh.trust[:] = np.clip(0.5 + 0.12 * rng.standard_normal(n), 0.05, 0.95)
    hh.info_access[:] = np.clip(0.2 + 0.3 * hh.lamp + 0.02 * hh.edu + 0.05 * rng.standard_normal(n), 0.0, 1.0)
    hh.org_id[:] = -1
    hh.form[:] = Form.NONE

    counties.population[:] = np.bincount(hh.county_id, weights=hh.residents, minlength=counties.n)
    villages.households[:] = np.bincount(hh.village_id, minlength=villages.n)
    return hh

