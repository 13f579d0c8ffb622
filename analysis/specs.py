"""The three papers' specifications, defined once: poverty lines, waves, covariate lists,
subsamples, organisation forms, matching methods, and the validation study's choices.

Pure constants (plus one accessor): this module imports only the constants module
:mod:`ruralabm.scenarios.observables`, so the command line can build its ``--help`` choices from
it without loading pandas or scipy. It belongs to the studies layer (studies, calibration, CLI).

Poverty lines themselves (in 2014 yuan per capita-year) are parameters of the model,
``params.poverty.line_1_9`` / ``line_national`` / ``line_3_1``; the studies read them with
:func:`poverty_lines` and refer to them by the papers' names ``1.9``, ``national``, ``3.1``.
"""
from __future__ import annotations

from ruralabm.model.enums import Form, OrgType
from ruralabm.scenarios import observables as _observables

# --- Poverty lines (Liu & Chen CLDS paper: Tables 2-6) ----------------------------------------
LINE_NAMES = ("1.9", "national", "3.1")
# paper's name -> attribute of ``params.poverty`` (model/processes/outcomes.py POVERTY_LINES order)
LINE_PARAMS = {"1.9": "line_1_9", "national": "line_national", "3.1": "line_3_1"}
# paper's name -> panel column of the poverty status under that line
POOR_COLUMNS = {"1.9": "poor_1_9", "national": "poor_national", "3.1": "poor_3_1"}
# paper's name -> the paper's vulnerability variable
VUL_COLUMNS = {"1.9": "Vul1", "national": "Vul2", "3.1": "Vul3"}


def poverty_lines(params) -> dict[str, float]:
    """The model's poverty lines (``params.poverty.*``, 2014 yuan) under the papers' names."""
    return {name: getattr(params.poverty, attr) for name, attr in LINE_PARAMS.items()}


# --- Log income ------------------------------------------------------------------------------
# The survey samples' ``ln_income`` (CLDS/CLES samples, validation, replication): incomes below
# 1 yuan per capita (losses) are floored at 1, so ln_income >= 0 and every other household keeps
# its own value, as in the papers' ln(net income per capita). The scenario runs' yearly
# vulnerability metric (compare, sweep) uses its own floor of 100 yuan,
# ruralabm.scenarios.runner.INCOME_FLOOR (see there why); unifying the two would change the
# reference outputs of tests/test_golden.py.
LN_INCOME_FLOOR = 1.0

# --- CLDS paper (vulnerability, PSM, DID, PSM-DID) --------------------------------------------
# Household covariates of the propensity and vulnerability regressions: defined with the scenario
# runs' vulnerability metric, which uses them too (a lower layer; a module of pure constants).
CLDS_COVARIATES = _observables.CLDS_COVARIATES
UNOBSERVABLE = _observables.UNOBSERVABLE
CLDS_PRE, CLDS_POST = 2014, 2016          # pre-policy and post-policy waves
CLDS_SAMPLE = 6124                        # households ("6124 valid samples")
REGIONS = ("full", "east", "central_west")
# The four matching methods of Table 4 (psmatch2 options of the paper).
PSM_METHODS = {
    "nn1": dict(method="nearest", k=1),
    "nn4": dict(method="nearest", k=4),
    "radius": dict(method="radius", radius=0.01),
    "kernel": dict(method="kernel", kernel="normal", bandwidth=0.06),
}

# --- CLES paper (Cao: organisation forms and resilience) -------------------------------------
CLES_WAVES = (2020, 2021, 2022)
CLES_SAMPLE = 3000
# Cao et al. publish only an abstract, so their covariates are our assumption: CLDS's plus land, less
# `ability` (a member received skills training). Organisations train their members, and that training
# also sets the learning capacity's indicator learn_trained_ever: matching on it removed most of the
# cooperative's training effect (cooperative > enterprise through PSM +1.7 points of net impact
# against +17 in the truth). docs/validation.md, "Cao's covariates".
CAO_COVARIATES = [c for c in CLDS_COVARIATES if c != "ability"] + ["land_area"]
CAO_OUTCOMES = ("resilience", "buffering", "self_organisation", "learning")
CAO_GROUPS = ("all", "cooperative", "enterprise", "vertical_chain", "technology_diffusion", "agritourism", "ecommerce")
# Cao's groups by name; their panel codes come from the model's enumerations (a form the model
# gains later is not one of the paper's groups).
CAO_FORM_CODES = {name: int(Form[name.upper()]) for name in CAO_GROUPS[3:]}
CAO_ORG_CODES = {name: int(OrgType[name.upper()]) for name in CAO_GROUPS[1:3]}
CAO_MIN_PARTICIPANTS = 5

# --- 76-county paper (OLS and Cox of days to poverty exit) -----------------------------------
COUNTY_REGRESSORS = ["upgrading_index", "primary_secondary", "primary_tertiary", "ethnic_minority", "main_industry",
                     "resource_endowment"]

# --- Validation study (analysis.studies.validation; choices of ``ruralabm validate``) ---------
DESIGNS = ("paper", "clean")
ESTIMATORS = ("psm-nn1", "psm-nn4", "psm-radius", "psm-kernel", "did", "did-cov", "psm-did", "cmp")
DEFAULT_ESTIMATORS = ("psm-nn1", "psm-nn4", "psm-radius", "psm-kernel", "did", "psm-did", "cmp")
OUTCOMES = ("vulnerability", "vulnerability-participating", "poverty", "income", "ln_income", "consumption",
            "resilience", "buffering", "self_organisation", "learning")
RESILIENCE_COLUMNS = ("resilience", "buffering", "self_organisation", "learning")
INSTRUMENT = "cooperative_in_village"

# Parameter presets for the validation settings (applied on top of the scenario).
PRESETS: dict[str, dict[str, object]] = {
    "none": {},
    # Selection on observables can hold: no spillovers, no selection on the (unobserved) expected
    # gain, subsidy status fixed at baseline, no capacity rationing.
    "identified": {
        "learning.peer_effect": 0.0,
        "participation.expected_gain_effect": 0.0,
        "policy.subsidy_review_rate": 0.0,
        "cooperative.capacity": 100_000,
        "enterprise.capacity": 10_000_000,
        # Registered-poor households with an organisation nearby join with probability ~0.99 by
        # default: no overlap for matching. Targeting then runs through subsidy and the others.
        "participation.registered_poor_effect": 0.0,
        # A few households own 10+ machines; at 0.35 per machine their index passes 6 and the
        # fitted probability is 1 to 1e-10, which the propensity fit rejects as separation.
        "participation.machine_effect": 0.2,
        # The calibrated targeting (subsidy_effect ~5.7) enrols nearly every subsidised household,
        # leaving few subsidised controls: matching stays unbiased but its variance explodes
        # (RMSE ~2,000-2,800 yuan on a ~900-yuan effect, docs/validation.md). Restore overlap
        # with the literature default.
        "participation.subsidy_effect": 1.6,
        # The national world (issue "A world that looks like rural China") adds channels that no
        # survey covariate captures: organisations fill up (capacity as shares of the village or
        # county), contract and cooperative demand raise every grower's price, organisations lease
        # members' land (less to rent for the others). Switched off here. Its participation probit
        # (fitted to Table 3 by benchmarks/fit_world.py) leaves little overlap (base rate 0.99,
        # 0.085 per km, 2.9 for a working head): the literature defaults restore it.
        "linkage.cooperative_capacity_share": 1.0,
        "linkage.enterprise_capacity_share": 1.0,
        # ... and organisations fill their capacity from the policy's start: with the ramp of
        # registered cooperatives, capacity in 2015 is 61% of it, 67 of 432 organisations are full
        # and the applicants they turn away (the highest propensities) become controls where
        # controls are scarcest: NN 1:1 +218 yuan (SE 54) on a 2,200-yuan effect
        # (benchmarks/psm_bias_check.py).
        "linkage.capacity_ramp": False,
        "linkage.price_spillover": 0.0,
        "land.organisation_land_share": 0.0,
        "participation.base_rate": 0.6,
        "participation.job_effect": 0.5,
        "participation.age_effect": 0.015,
        "participation.health_effect": -0.12,
        "participation.edu_effect": -0.02,
        "participation.distance_effect": 0.008,
        "participation.infrastructure_effect": -0.006,
    },
}
# A valid, strong instrument: as "identified", and leading enterprises reach only villages
# within 10 km of the centre, so a village cooperative is most households' only way in; 60% of
# villages get one (the calibrated 97% would leave the instrument almost constant).
PRESETS["instrument"] = dict(PRESETS["identified"], **{"enterprise.reach_km": 10.0,
                                                       "cooperative.villages_share": 0.6})
