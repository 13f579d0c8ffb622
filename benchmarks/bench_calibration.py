"""Benchmark: time of one calibration objective evaluation and projected calibration time.

One evaluation = one parameter vector at one replication seed at the default sizes of
``calibration/targets.toml`` (40,000 households x 2012-2022 in 100 counties; CLDS-like sample
n = 6124 with VEP, Table 1, pstest balance and kernel PSM by line x region; CLES-like n = 3000
with the entropy index and NN 1:1 PSM on resilience by capacity, organisation type and form;
76-county Cox and OLS plus the yearly exit shares) -- every estimator behind a fitted target.
It runs in this process on one core (BLAS limited to one thread). Also timed: the report
evaluation (all monitored targets too: four matching methods, Tables 2 and 5).

Projection: a default calibration (``--budget 200 --reps 4``) is budget x reps evaluations; on
W workers both stages run W evaluations at a time (the Nelder-Mead stage parallelises over the
replications of each vector), so wall time ~ budget x reps x t_eval / W.
Targets: one evaluation < 5 s on one core; a default calibration < 1 hour on 2 cores.

Run as ``python benchmarks/bench_calibration.py [--repeat 3] [--workers 2]``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")


def main() -> None:
    import warnings

    from ruralabm.calibration.objective import Targets, settings_from, simulate_statistics

    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except Exception:  # pragma: no cover
        pass
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="evaluations timed; the best is reported")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--reps", type=int, default=4)
    args = ap.parse_args()

    targets = Targets.load()
    settings = settings_from(targets)
    fitted = sorted(targets.needed_keys())
    every = sorted(targets.needed_keys(all_targets=True))
    simulate_statistics({"values": {}, "seed": 1, "settings": dict(settings, households=4000, clds_n=300,
                                                                    cles_n=300, counties=80, county_n=76),
                         "keys": fitted})  # imports and first-call costs out of the timing
    print(f"one objective evaluation: {settings['households']:,} households, {settings['counties']} counties, "
          f"CLDS n {settings['clds_n']}, CLES n {settings['cles_n']}, {settings['county_n']} counties sampled; "
          f"{len(targets.active())} fitted targets + {len(targets.orderings)} orderings; 1 core")
    best = None
    for i in range(args.repeat):
        t0 = time.perf_counter()
        r = simulate_statistics({"values": {}, "seed": 100 + i, "settings": settings, "keys": fitted})
        dt = time.perf_counter() - t0
        parts = ", ".join(f"{k} {v:.2f}" for k, v in r["seconds"].items() if isinstance(v, float))
        print(f"  run {i + 1}: {dt:.2f} s ({parts})")
        best = dt if best is None else min(best, dt)
    t0 = time.perf_counter()
    simulate_statistics({"values": {}, "seed": 99, "settings": settings, "keys": every})
    t_report = time.perf_counter() - t0
    proj = args.budget * args.reps * best / args.workers
    print(f"one evaluation (best of {args.repeat}): {best:.2f} s  [target < 5 s: {'met' if best < 5 else 'NOT met'}]")
    print(f"report evaluation with all {len(targets.targets)} targets (4 matching methods, Tables 2 and 5): "
          f"{t_report:.2f} s")
    print(f"projected default calibration (budget {args.budget} x {args.reps} reps) on {args.workers} cores: "
          f"{proj / 60:.1f} min  [target < 60 min: {'met' if proj < 3600 else 'NOT met'}]")


if __name__ == "__main__":
    main()
