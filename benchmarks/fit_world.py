"""Fit the national world's set-up parameters to pre-policy targets (the procedure behind the
[population], [labour], [economy] and [policy] set-up values of scenarios/calibrated.toml).

    python benchmarks/fit_world.py [--iterations 6] [--households 20000] [--seeds 1-16] [--write]

A damped fixed-point iteration: each parameter moves towards the one target it mainly sets (a
multiplicative or additive step, damping 0.8), all at once, from the values in
scenarios/calibrated.toml, for ``--iterations`` rounds over ``--seeds`` x ``--households`` runs
ending in 2016. Every target is a PRE-POLICY statistic; no pattern held out in
calibration/patterns.toml is used:

=====================================  =======================================================
parameter                              target
=====================================  =======================================================
population.head_age_mean, famsize_mean, CLDS Table 1 means (seed 001) of the households the
machine_mean, distance_mean,            CLDS-like survey finds below the line in 2014 (survey
hroad_mean, lamp_share, ability_share,  recall error included), pooled over the 2014 and 2016
job_share, head_edu_probs (a tilt),     waves, as the paper's Table 1
nonfarm_workers_mean, policy.subsidy_threshold
economy.farm_revenue_per_mu (a scale)   NBS 2014 net business income share of income (40.4%)
economy.business_return                 NBS 2014 non-farm business income, 1,239 of 10,489 yuan
policy.subsidy_per_capita               NBS 2014 national headcount (7.2%)
population.remittance_share_mean        NBS 2014 transfer share of income (17.9%)
population.region_income_factor         NBS 2014 rural income by region relative to the nation
                                        (east 13,145, centre ~10,230 with the northeast, west 8,295;
                                        national 10,489), normalised to a population mean of one
participation.subsidy_effect,           CLDS Table 3 (seed 001), unmatched: treated minus control
machine_effect, job_effect, age_effect, mean of the covariate of each term of the participation
health_effect, edu_effect,              probit, in the 2016 wave of the CLDS-like sample
distance_effect, infrastructure_effect,
famsize_effect
participation.base_rate                 CLDS Table 1: participation T = 0.7405 in that sample
labour.local_earnings                   NBS 2014 national rural income per capita, 10,489 yuan (the
                                        months a year local non-farm jobs last are uncertain)
labour.migrate_rate, local_job_rate     a stable labour structure: members in stable non-farm
(one scale)                             work 2016 / 2012 = 1.03 (NBS: migrant workers grew 1-2% a
                                        year while the rural population shrank)
=====================================  =======================================================

This fit and the calibration alternate: fit the set-up, calibrate, fit the set-up again. A parameter
that scenarios/calibrated.toml sets is held at that value here and never written (the scenario
would override it): since the calibrated default became the posterior median of the Bayesian
calibration, which calibrates subsidy_threshold, subsidy_per_capita, business_return, subsidy_effect,
machine_effect and local_job_rate jointly with the effect sizes, this fit moves only the others.

The targets are met in expectation over ``--seeds`` world draws, 16 by default. A world draw moves the
national 2014 income by a standard deviation of about 1,000 yuan (10%) at any number of households,
because it comes from the world's counties. Until the twelfth session the default was two draws,
seeds 1 and 2, and both are poor ones, so in expectation the shipped world's 2014 income is about 7%
above its target (11,210 against 10,489 yuan) and the west's income ratio 0.705 against 0.791
(docs/patterns.md).

It runs the calibrated scenario (the world plus the calibrated values) and prints each
round's statistics and the values; ``--write`` writes the last values into scenarios/world.toml
(the lines of those keys). About 1.5 s a round per seed on one core at 20,000 households (16 seeds x
10 rounds: about 4 min).
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from ruralabm import RuralModel, load_scenario
from ruralabm.analysis.studies.survey import clds_eligible, clds_sample, survey_options

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "world.toml"
COVARIATES = ["age", "health", "job", "famsize", "machine", "subsidy", "distance", "hroad", "lamp", "edu",
              "ability", "twork"]
TABLE1 = dict(zip(COVARIATES, [51.88, 3.631, 0.8656, 4.674, 0.4289, 0.5413, 19.08, 63.80, 0.3532, 4.659, 0.6896,
                               1.2552]))
EDU_CODES = np.array([0, 3, 6, 9, 12, 13, 16])
REGION_SHARE = np.array([0.36, 0.36, 0.28])  # rural population by region (population.share_east / _central)
REGION_RATIO = {"east": 13145 / 10489, "central": 0.975, "west": 8295 / 10489}
# CLDS Table 3, unmatched treated and control means, for the covariates with a term in the
# participation probit (model/processes/participation.py) and the Table 1 sd that scales the step.
TABLE3 = {"subsidy": (0.706, 0.072, 0.4983), "machine": (0.529, 0.144, 1.1157), "job": (0.901, 0.765, 0.3411),
          "age": (52.47, 50.21, 10.17), "health": (3.571, 3.802, 1.023), "edu": (4.580, 4.884, 2.581),
          "distance": (19.80, 17.01, 18.33), "hroad": (62.43, 67.71, 24.76), "famsize": (4.698, 4.605, 1.818)}
PROBIT = {"subsidy": "subsidy_effect", "machine": "machine_effect", "job": "job_effect", "age": "age_effect",
          "health": "health_effect", "edu": "edu_effect", "distance": "distance_effect",
          "hroad": "infrastructure_effect", "famsize": "famsize_effect"}


def current(params) -> dict:
    pop, lab, e, pol = params.population, params.labour, params.economy, params.policy
    return {"head_age_mean": pop.head_age_mean, "famsize_mean": pop.famsize_mean, "machine_mean": pop.machine_mean,
            "distance_mean": pop.distance_mean, "hroad_mean": pop.hroad_mean, "lamp_share": pop.lamp_share,
            "ability_share": pop.ability_share, "job_share": pop.job_share, "edu_probs": list(pop.head_edu_probs),
            "nonfarm_workers_mean": pop.nonfarm_workers_mean, "subsidy_threshold": pol.subsidy_threshold,
            "subsidy_per_capita": pol.subsidy_per_capita, "revenue": list(e.farm_revenue_per_mu),
            "business_return": e.business_return, "remittance_share_mean": pop.remittance_share_mean,
            "region_income_factor": list(pop.region_income_factor), "migrate_rate": lab.migrate_rate,
            "local_job_rate": lab.local_job_rate, "local_earnings": lab.local_earnings,
            "base_rate": params.participation.base_rate,
            **{coef: getattr(params.participation, coef) for coef in PROBIT.values()}}


SECTION = {"head_age_mean": "population", "famsize_mean": "population", "machine_mean": "population",
           "distance_mean": "population", "hroad_mean": "population", "lamp_share": "population",
           "ability_share": "population", "job_share": "population", "edu_probs": "population",
           "nonfarm_workers_mean": "population", "remittance_share_mean": "population",
           "region_income_factor": "population", "subsidy_threshold": "policy", "subsidy_per_capita": "policy",
           "revenue": "economy", "business_return": "economy", "migrate_rate": "labour", "local_job_rate": "labour", "local_earnings": "labour",
           "base_rate": "participation", **{coef: "participation" for coef in PROBIT.values()}}
KEY = {"edu_probs": "head_edu_probs", "revenue": "farm_revenue_per_mu"}


def fixed_by_calibration() -> set[str]:
    """This fit's names that scenarios/calibrated.toml sets itself (not inherited from world)."""
    import tomllib
    own = tomllib.loads((SCENARIO.parent / "calibrated.toml").read_text())
    keys = {f"{section}.{key}" for section, kv in own.items() if isinstance(kv, dict) for key in kv}
    return {name for name in SECTION if f"{SECTION[name]}.{KEY.get(name, name)}" in keys}


def overrides(th: dict) -> list[str]:
    out = []
    fixed = fixed_by_calibration()
    for name, value in th.items():
        if name in fixed:
            continue
        key = f"{SECTION[name]}.{KEY.get(name, name)}"
        out.append(f"{key}={json.dumps(value)}")
    return out


def parse_seeds(text: str) -> list[int]:
    """'1-16' or '1,2,5' (or both: '1-4,9')."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            seeds.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
        except ValueError:
            raise SystemExit(f"--seeds = {text!r}: each part must be a seed or a range a-b, got {part!r}") from None
    if not seeds:
        raise SystemExit(f"--seeds = {text!r}: no seed given")
    return seeds


def measure(th: dict, seeds, households: int) -> dict:
    rows = []
    for seed in seeds:
        sc = load_scenario("calibrated", [f"population.n_households={households}", "calendar.end_year=2016",
                                          *overrides(th)])
        m = RuralModel(sc.params, seed=seed, household_agents=False).run()
        hp = m.household_panel()
        r = {}
        d = hp[hp["year"] == 2014]
        residents = d["residents"].sum()
        total = d["income_total"].sum()
        r["poverty"] = float(np.average(d["poor_national"], weights=d["residents"]))
        r["business"] = (d["income_farm"].sum() + d["income_business"].sum()) / total
        r["nonfarm_business"] = d["income_business"].sum() / total
        r["transfers"] = d["income_transfers"].sum() / total
        r["income"] = total / residents
        for name in REGION_RATIO:
            dr = d[d["region"] == name]
            r[f"ratio_{name}"] = dr["income_total"].sum() / dr["residents"].sum() / r["income"]
        r["twork_trend"] = hp.loc[hp["year"] == 2016, "twork"].mean() / hp.loc[hp["year"] == 2012, "twork"].mean()
        opts = survey_options(m.params)
        n = min(3000, clds_eligible(hp, 2014, seed=seed, **opts))
        smp = clds_sample(hp, n=n, seed=seed, **opts)
        r.update({c: float(smp[c].mean()) for c in COVARIATES})
        post = smp[smp["year"] == 2016]
        means = post.groupby("participating")[list(TABLE3)].mean()
        r.update({f"gap_{c}": float(means.loc[1, c] - means.loc[0, c]) for c in TABLE3})
        r["T"] = float(post["T"].mean())
        rows.append(r)
    return {k: float(np.mean([row[k] for row in rows])) for k in rows[0]}


def step(th: dict, r: dict, damp: float = 0.8) -> dict:
    t = json.loads(json.dumps(th))
    for name, cov in (("head_age_mean", "age"), ("famsize_mean", "famsize"), ("hroad_mean", "hroad"),
                      ("lamp_share", "lamp"), ("ability_share", "ability"), ("job_share", "job")):
        t[name] += damp * (TABLE1[cov] - r[cov])
    for name in ("ability_share", "job_share", "lamp_share"):
        t[name] = float(np.clip(t[name], 0.01, 0.99))
    for name, cov in (("machine_mean", "machine"), ("distance_mean", "distance"), ("nonfarm_workers_mean", "twork")):
        t[name] *= (TABLE1[cov] / r[cov]) ** damp
    tilt = np.exp(damp * (TABLE1["edu"] - r["edu"]) / 3.0 * EDU_CODES / 16.0)  # more or less schooling
    probs = np.asarray(t["edu_probs"]) * tilt
    probs = np.round(probs / probs.sum(), 5)
    probs[-1] = round(1.0 - probs[:-1].sum(), 5)
    t["edu_probs"] = probs.tolist()
    t["subsidy_threshold"] *= (TABLE1["subsidy"] / r["subsidy"]) ** (0.6 * damp)
    t["subsidy_per_capita"] *= (r["poverty"] / 0.072) ** (1.5 * damp)
    t["revenue"] = (np.asarray(t["revenue"]) * (0.404 / r["business"]) ** (1.5 * damp)).round(1).tolist()
    t["business_return"] *= (0.118 / r["nonfarm_business"]) ** damp
    t["remittance_share_mean"] = min(0.8, t["remittance_share_mean"] * (0.179 / r["transfers"]) ** damp)
    factor = np.asarray(t["region_income_factor"]) * np.array(
        [(REGION_RATIO[k] / r[f"ratio_{k}"]) ** (1.5 * damp) for k in ("east", "central", "west")])
    t["region_income_factor"] = (factor / (REGION_SHARE @ factor)).round(4).tolist()
    for cov, coef in PROBIT.items():
        treated, control, sd = TABLE3[cov]
        t[coef] += 0.5 * damp * ((treated - control) - r[f"gap_{cov}"]) / sd
    from scipy.stats import norm
    t["base_rate"] = float(np.clip(norm.cdf(norm.ppf(t["base_rate"]) + damp * (norm.ppf(0.7405) - norm.ppf(r["T"]))),
                                   0.01, 0.99))
    # the level: NBS 2014 national rural income per capita (10,489 yuan); local non-farm pay is the
    # sourced monthly wage times an uncertain number of months worked a year
    t["local_earnings"] *= (10489 / r["income"]) ** damp
    scale = (1.03 / r["twork_trend"]) ** 3
    t["migrate_rate"] = min(1.0, t["migrate_rate"] * scale)
    t["local_job_rate"] = min(1.0, t["local_job_rate"] * scale)
    for name in fixed_by_calibration():
        t[name] = th[name]
    return t


def write(th: dict) -> None:
    text = SCENARIO.read_text()
    fixed = fixed_by_calibration()
    for name, value in th.items():
        if name in fixed:
            continue
        key = KEY.get(name, name)
        shown = ("[" + ", ".join(f"{v:.6g}" for v in value) + "]") if isinstance(value, list) else f"{value:.6g}"
        section = re.search(rf"^\[{SECTION[name]}\]\n(.*?)(?=^\[|\Z)", text, flags=re.S | re.M)
        body = section.group(1)
        if re.search(rf"^{key} = .*$", body, flags=re.M):
            body = re.sub(rf"^{key} = .*$", f"{key} = {shown}", body, count=1, flags=re.M)
        else:
            body = body.rstrip("\n") + f"\n{key} = {shown}\n\n"
        text = text[:section.start(1)] + body + text[section.end(1):]
    SCENARIO.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=6)
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--seeds", default="1-16", help="world draws: a range a-b or a list a,b,c (default 1-16)")
    ap.add_argument("--write", action="store_true", help="write the last values into scenarios/world.toml")
    a = ap.parse_args()
    seeds = parse_seeds(a.seeds)
    th = current(load_scenario("calibrated").params)
    for it in range(a.iterations):
        r = measure(th, seeds, a.households)
        print(f"round {it}: " + " ".join(f"{k}={v:.4g}" for k, v in r.items()), flush=True)
        th = step(th, r)
    print(json.dumps(th, indent=1))
    if a.write:
        write(th)
        print(f"wrote {SCENARIO}")


if __name__ == "__main__":
    main()
