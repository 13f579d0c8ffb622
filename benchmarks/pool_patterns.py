"""Pool the replications of several finished ``ruralabm patterns`` runs of the same world.

    python benchmarks/pool_patterns.py DIR DIR [DIR ...] [--csv FILE] [--all]

Each DIR is an output directory of ``ruralabm patterns`` (patterns.json and replications.csv).
The runs must simulate the same world (scenario, households, version, commit and parameters) with
different master seeds; their replications are summarised as one run, with the same verdicts,
Monte Carlo standard errors and ``p_met`` as ``ruralabm patterns`` gives. It prints the count of
patterns met and every verdict that is failed or within the noise (``--all``: every pattern).
Used for the east's 2014 headcount in docs/patterns.md (two runs of 1,024 replications).
"""
from __future__ import annotations

import argparse
import sys

from ruralabm.calibration import patterns as P
from ruralabm.model.params import ParameterError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", help="output directories of ruralabm patterns")
    ap.add_argument("--csv", help="write the pooled pattern table here")
    ap.add_argument("--all", action="store_true", help="print every pattern, not only the failed and undecided")
    args = ap.parse_args(argv)
    try:
        run, metas = P.pooled(args.dirs)
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = P.summarise(run)
    undecided = P.unsure(table)
    print(f"pooled {run.reps} replications of scenario {run.scenario} from {len(metas)} runs "
          f"(master seeds {', '.join(str(m['seed']) for m in metas)}; {metas[0]['households']} households)")
    print(f"{int(table['met'].sum())} of {len(table)} patterns met; held out {int(table['held_out'].sum())} "
          f"({int((table['met'] & table['held_out']).sum())} met); {len(undecided)} verdict(s) within the Monte Carlo noise")
    shown = table if args.all else table[~table["met"] | table["key"].isin(undecided["key"])]
    for _, r in shown.iterrows():
        print(f"  {'ok  ' if r['met'] else 'FAIL'} {r['key']:<38} official {r['official']:>10.4g}  simulated "
              f"{r['sim_mean']:>10.5g} (se {r['sim_se']:.2g})  [{r['low']:.4g}, {r['high']:.4g}]  p_met {r['p_met']:.2f}")
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
