"""The CLDS-like poor sample against the paper's Table 1 and Table 3 (issue "A world that looks
like rural China", acceptance: all twelve covariate means within 10%, the signs of all twelve
treated-minus-control differences right).

    python benchmarks/clds_check.py [--seeds 5] [--scenario mixed] [--households 45000] [--workers 2]

Runs ``ruralabm replicate clds`` (the paper's sample of households poor in 2014, n = 6,124) on
several seeds and prints, per covariate: the published mean, the simulated mean over seeds and its
relative gap; the published treated-minus-control difference (unmatched, Table 3) and the share
of seeds whose simulated difference has the same sign.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from ruralabm.analysis import published as pub
from ruralabm.analysis.studies.survey import CLDS_COVARIATES


def one_seed(job) -> pd.DataFrame:
    from ruralabm.analysis.studies.replicate import replicate_clds

    scenario, households, seed = job
    with tempfile.TemporaryDirectory() as tmp:
        res = replicate_clds(scenario=scenario, households=households, seed=seed, batches=1, out=Path(tmp))
    rows = []
    t1 = res.tables["t1"].set_index("key")
    t3 = res.tables["t3"].set_index("key")
    for var in CLDS_COVARIATES:
        treated = t3.loc[f"clds.t3.mean_treated.{var}.unmatched"]
        control = t3.loc[f"clds.t3.mean_control.{var}.unmatched"]
        rows.append({"seed": seed, "covariate": var, "mean": t1.loc[f"clds.t1.mean.{var}", "simulated"],
                     "diff": treated["simulated"] - control["simulated"]})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--scenario", default="mixed")
    ap.add_argument("--households", type=int, default=45_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    t0 = time.perf_counter()
    jobs = [(args.scenario, args.households, seed) for seed in range(1, args.seeds + 1)]
    with ProcessPoolExecutor(args.workers) as pool:
        frame = pd.concat(pool.map(one_seed, jobs), ignore_index=True)
    rows = []
    for var in CLDS_COVARIATES:
        f = frame[frame["covariate"] == var]
        published_mean = pub.value(f"clds.t1.mean.{var}")
        published_diff = (pub.value(f"clds.t3.mean_treated.{var}.unmatched")
                          - pub.value(f"clds.t3.mean_control.{var}.unmatched"))
        mean = f["mean"].mean()
        rows.append({"covariate": var, "published mean": published_mean, "simulated mean": mean,
                     "gap %": 100 * (mean - published_mean) / published_mean,
                     "published diff": published_diff, "simulated diff (mean)": f["diff"].mean(),
                     "simulated diff (sd)": f["diff"].std(),
                     "sign right": float(np.mean(np.sign(f["diff"]) == np.sign(published_diff)))})
    out = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(out.round(3).to_string(index=False))
    within = (out["gap %"].abs() <= 10).sum()
    signs = (out["sign right"] == 1).sum()
    print(f"\n{args.scenario}, {args.households} households, seeds 1..{args.seeds}: "
          f"{within} of {len(out)} Table 1 means within 10%; Table 3 signs right in every seed for {signs} of "
          f"{len(out)} (mean difference's sign right for "
          f"{(np.sign(out['simulated diff (mean)']) == np.sign(out['published diff'])).sum()}); "
          f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
