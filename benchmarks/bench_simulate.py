"""Simulation speed and memory.

Prints household-years per second of the vectorised path at 10k, 100k and 1M households
(10 simulated years, panel recording included, Mesa household façades off as for large runs,
plus 100k with façades on), peak memory per household-year (each size in a fresh process, so
the peak is that run's), and the speed ratio of the vectorised path over the per-agent path on
2k households. Targets (issue #2): >= 500,000 household-years/s on one core at 100k, >= 50x the
per-agent path, 1M households x 10 years within 8 GB.

    python benchmarks/bench_simulate.py            # all sizes
    python benchmarks/bench_simulate.py --quick    # 10k and 100k only
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

YEARS = 10


def _params(n: int):
    from ruralabm.model import Params

    p = Params()
    p.population.n_households = n
    p.population.n_counties = max(1, min(2000, n // 250))
    p.calendar.end_year = p.calendar.start_year + YEARS - 1
    return p


def one_run(n: int, agents: bool, per_agent: bool = False, panel: bool = False) -> dict:
    import resource

    from ruralabm.model import RuralModel

    t0 = time.perf_counter()
    model = RuralModel(_params(n), seed=1, household_agents=agents or per_agent, per_agent=per_agent)
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    if panel:
        model.household_panel()
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    return {"n": n, "agents": agents, "per_agent": per_agent, "setup_s": t1 - t0, "run_s": t2 - t1,
            "panel_s": t3 - t2, "peak_bytes": peak, "panel_buffer_bytes": model.panel_nbytes}


def in_subprocess(n: int, agents: bool, per_agent: bool = False, panel: bool = False) -> dict:
    code = ("import json,sys; sys.path.insert(0, %r); from benchmarks.bench_simulate import one_run; "
            "print(json.dumps(one_run(%d, %r, %r, %r)))" % (ROOT, n, agents, per_agent, panel))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    print(f"vectorised path, {YEARS} years, panel recording included (each row a fresh process)")
    print(f"{'households':>10} {'facades':>8} {'setup s':>8} {'run s':>8} {'hh-years/s':>12} {'peak GB':>8} {'bytes/hh-yr':>11}")
    results = {}
    for n, agents in [(s, False) for s in sizes] + [(100_000, True)]:
        r = in_subprocess(n, agents)
        hy = n * YEARS
        rate = hy / r["run_s"]
        results[(n, agents)] = r
        print(f"{n:>10,} {str(agents):>8} {r['setup_s']:>8.2f} {r['run_s']:>8.2f} {rate:>12,.0f} "
              f"{r['peak_bytes'] / 1e9:>8.2f} {r['peak_bytes'] / hy:>11.0f}")
    if not args.quick:
        r = in_subprocess(1_000_000, False, panel=True)
        print(f"1M households incl. building the household_panel() DataFrame: peak {r['peak_bytes'] / 1e9:.2f} GB, "
              f"panel build {r['panel_s']:.1f} s")
    n_small = 2_000
    fast = min(one_run(n_small, True)["run_s"] for _ in range(3))
    slow = one_run(n_small, True, per_agent=True)["run_s"]
    print(f"per-agent path on {n_small:,} households: {slow:.2f} s vs vectorised {fast:.3f} s -> "
          f"vectorised is {slow / fast:,.0f}x faster ({n_small * YEARS / slow:,.0f} vs {n_small * YEARS / fast:,.0f} hh-years/s)")


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    main()
