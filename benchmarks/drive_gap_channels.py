"""Where the realised drive gap at selection_on_unobservables = 0 comes from.

    python benchmarks/drive_gap_channels.py [--seeds 5] [--households 40000] [--scenario mixed]

At 0 the participation rule does not read drive (tests/test_validation.py
``test_the_decision_reads_drive_only_through_the_knob``), yet in the survey the participants'
drive is below the controls' given the paper's covariates (docs/validation.md). Drive reaches
participation through states the rule does read but the CLDS covariates lack. For each channel
switched off in turn (or, last rows, one more covariate in the regression), over ``--seeds``
replications of the validation's sample (the CLDS-like survey of households poor in 2014, post
wave 2016): the coefficient of T in an OLS of drive (in sd) on T and the covariates (mean over
seeds, with the pooled SE), and the raw survey gap.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

from ruralabm import RuralModel, load_scenario
from ruralabm.analysis.specs import CLDS_COVARIATES
from ruralabm.analysis.studies.survey import clds_eligible, clds_sample, survey_options
from ruralabm.analysis.studies.validation import drive_gaps

NO_REGISTRATION = ["participation.registered_poor_effect=0"]
NO_RATIONING = ["linkage.cooperative_capacity_share=1", "linkage.enterprise_capacity_share=1",
                "linkage.capacity_ramp=false"]
CHANNELS = {
    "shipped world": [],
    "registration does not raise participation": NO_REGISTRATION,
    "no capacity rationing": NO_RATIONING,
    "both of the above": NO_REGISTRATION + NO_RATIONING,
    "no expected-gain term": ["participation.expected_gain_effect=0"],
    "drive does not raise returns": ["economy.drive_effect=0"],
}


def gaps(scenario: str, overrides: list[str], seeds, households: int, extra_covariates=()) -> tuple[float, float, float]:
    rows = []
    for seed in seeds:
        sc = load_scenario(scenario, [f"population.n_households={households}", "calendar.end_year=2017",
                                      "participation.selection_on_unobservables=0", *overrides])
        m = RuralModel(sc.params, seed=seed, household_agents=False).run()
        hp = m.household_panel()
        opts = survey_options(m.params)
        smp = clds_sample(hp, n=min(6124, clds_eligible(hp, 2014, seed=seed, **opts)), seed=seed, **opts)
        # registration when the households decided (the register is first built in 2015)
        reg = hp[hp["year"] == 2015].set_index("household_id")["registered_poor"]
        smp["registered_2015"] = smp["household_id"].map(reg)
        g = drive_gaps(hp, smp, list(CLDS_COVARIATES) + list(extra_covariates), 2016)
        rows.append((g["drive_gap_conditional"], g["drive_gap_conditional_se"], g["drive_gap_sample"]))
    r = np.array(rows)
    return float(r[:, 0].mean()), math.sqrt(float((r[:, 1] ** 2).sum())) / len(r), float(r[:, 2].mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--households", type=int, default=40_000)
    ap.add_argument("--scenario", default="mixed")
    a = ap.parse_args()
    seeds = range(a.seeds)
    t0 = time.perf_counter()
    print(f"scenario {a.scenario}, selection 0, {a.seeds} seeds x {a.households:,} households; drive gap in sd, post wave")
    print(f"{'channel off':45s} {'given covariates':>18s} {'(se)':>7s} {'raw survey gap':>15s}")
    for name, over in CHANNELS.items():
        c, se, raw = gaps(a.scenario, over, seeds, a.households)
        print(f"{name:45s} {c:+18.3f} {se:7.3f} {raw:+15.3f}", flush=True)
    c, se, raw = gaps(a.scenario, [], seeds, a.households, ["registered_2015"])
    print(f"{'shipped world, registration (2015) a covariate':45s} {c:+18.3f} {se:7.3f} {raw:+15.3f}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
