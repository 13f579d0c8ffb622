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
    print(f"pooled {run.reps} replications of scenario {run.scenario} from {len(metas)} runs "
          f"(master seeds {', '.join(str(m['seed']) for m in metas)}; {metas[0]['households']} households)")
    print(P.count_line(table))
    shown = table if args.all else table[~table["met"] | table["key"].isin(P.unsure(table)["key"])]
    for r in shown.itertuples():
        print(P.verdict_line(r))
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
