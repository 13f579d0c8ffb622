"""The Bayesian calibration's fit table at ONE point -- by default the shipped calibrated scenario
(the posterior median) -- instead of over the posterior predictive draws.

    python benchmarks/fit_at_point.py [--scenario calibrated] [--reps 8] [--workers 2] [--out FILE.csv]

Each replication is one simulation of the scenario with the calibration's settings (40,000
households, the CLDS-like, CLES-like and county samples, every estimator: the statistics of
calibration/objective.py) at a seed never used by the calibration (``sim_seed(2026, 2000, i)``).
The table is built by the same code as docs/calibration/fit.csv (calibration/bayes_report.py
``fit_table``), so its columns mean the same, except that ``simulated_sd`` is the stochastic SD
at a fixed parameter vector (no parameter uncertainty). Printed: the acceptance counts of the
calibration issue (fitted within 2 SE or tolerance, held out, orderings through the papers'
estimators) and every row that is not met.
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

from ruralabm.calibration import bayes, bayes_report
from ruralabm.calibration.objective import settings_from, simulate_statistics
from ruralabm.scenarios.executor import make_executor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="calibrated")
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="write the fit table here (CSV)")
    a = ap.parse_args()
    fitting = bayes.Fitting.load(None)
    settings = dict(settings_from(fitting.targets), scenario=a.scenario)
    keys = fitting.all_keys()
    tasks = [{"values": {}, "seed": bayes.sim_seed(2026, 2000, i), "settings": settings, "keys": keys}
             for i in range(a.reps)]
    t0 = time.perf_counter()
    stats = []
    with make_executor("processes" if a.workers > 1 else "serial", a.workers) as ex:
        for _, outcome in ex.run(simulate_statistics, tasks):
            if not outcome.ok:
                raise SystemExit(f"a replication failed: {outcome.error}")
            stats.append(outcome.value["stats"])
    fit = bayes_report.fit_table(fitting, pd.DataFrame(stats))
    acc = bayes_report.acceptance(fit)
    print(f"scenario {a.scenario}: {a.reps} replications of {settings['households']:,} households "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"fitted within 2 SE or tolerance: {acc['fitted'][0]} of {acc['fitted'][1]}; held out: "
          f"{acc['held_out'][0]} of {acc['held_out'][1]}; orderings through the estimators: "
          f"{acc['orderings'][0]} of {acc['orderings'][1]}")
    cols = ["key", "role", "published", "se_or_tolerance", "simulated_mean", "simulated_sd", "z", "p_holds"]
    missed = fit[~fit["met"].astype(bool) & (fit["role"] != "monitored")][cols]
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print("not met:")
        print(missed.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if a.out:
        fit.to_csv(a.out, index=False)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
