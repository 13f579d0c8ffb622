"""Which official pattern does each mechanism of the national world produce? (pattern-oriented
modelling: a mechanism earns its place by producing a pattern it was not tuned to.)

    python benchmarks/pattern_ablation.py [--reps 4] [--households 20000] [--scenario calibrated]

Runs ``ruralabm patterns`` on the scenario as shipped and once with each mechanism switched off
(everything else unchanged, same seeds), and prints the patterns met and, per mechanism, the
patterns whose verdict changes when it is off. Used for docs/patterns.md.
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

from ruralabm.calibration import patterns
from ruralabm.scenarios.executor import make_executor

ABLATIONS = {
    "demography": ["demography.enabled=false"],
    "labour and migration": ["labour.enabled=false"],
    "land market": ["land.market=false"],
    "interest linkage and spillovers": ["linkage.enabled=false"],
    "registration by assessment": ["registration.rule=ever_poor"],
    "county exit campaign": ["campaign.exit_rule=threshold"],
    "disaster relief": ["shocks.disaster_relief_share=0"],
    "rising dibao": ["policy.subsidy_growth=0"],
    "support phased in with the funds": ["policy.support_index=[1, 1, 1, 1, 1, 1, 1, 1]"],
    "member gains maturing over seasons": ["participation.maturity_years=0"],
    "ties in the first seasons only": ["forms.ties_seasons=0"],
    "integration policy itself": ["policy.cooperatives=false", "policy.enterprises=false"],
}


def verdicts(scenario: str, overrides, reps: int, households: int, executor) -> pd.Series:
    run = patterns.run(scenario, reps=reps, households=households, seed=0, overrides=list(overrides),
                       executor=executor, progress=False)
    table = patterns.summarise(run)
    return table.set_index("key")["met"].astype(bool)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--scenario", default="calibrated")
    a = ap.parse_args()
    t0 = time.perf_counter()
    with make_executor("processes", 2) as ex:
        base = verdicts(a.scenario, [], a.reps, a.households, ex)
        print(f"{a.scenario} as shipped: {int(base.sum())} of {len(base)} patterns met")
        print("| mechanism switched off | patterns met | lost when off | gained when off |")
        print("|---|---|---|---|")
        for name, over in ABLATIONS.items():
            v = verdicts(a.scenario, over, a.reps, a.households, ex)
            lost = sorted(k for k in base.index if base[k] and not v.get(k, False))
            gained = sorted(k for k in base.index if not base[k] and v.get(k, False))
            print(f"| {name} (`{'`, `'.join(over)}`) | {int(v.sum())} | {', '.join(lost) or '-'} | "
                  f"{', '.join(gained) or '-'} |", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
