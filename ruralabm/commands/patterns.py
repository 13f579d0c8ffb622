"""Subcommand ``patterns``: does the simulated world reproduce the official statistics of rural
China 2012-2022 (calibration/patterns.toml)? Writes patterns.csv, report.md and figures."""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from .common import (add_executor_options, add_overrides_option, add_overwrite_option, executor_from_args,
                     positive_int, refuse_replaced_sets)

# Mirrors of ruralabm.calibration.patterns' defaults, so that parsing imports no pandas
# (tests/test_cli.py checks they agree).
DEFAULT_SCENARIO = "mixed"
DEFAULT_REPS = 8
DEFAULT_HOUSEHOLDS = 20_000
DEFAULT_OUT = "runs/patterns"


def run_patterns(args) -> int:
    from ruralabm.calibration.patterns import load_patterns, plan_params, run, summarise, write
    from ruralabm.scenarios.executor import WorkerCrashed
    from ruralabm.scenarios.outputs import claim, clear, record

    refuse_replaced_sets(args.overrides, args.households)  # --households always applies (default 20,000)
    patterns = load_patterns(args.patterns)
    plan_params(args.scenario, args.households, args.overrides)  # the scenario and --set are valid
    out = Path(args.out)
    settings = {"scenario": args.scenario, "set": list(args.overrides), "reps": args.reps,
                "households": args.households, "seed": args.seed, "figures": bool(args.figures),
                "patterns": str(Path(args.patterns).resolve()) if args.patterns else None}
    # before any work: --out must be writable and may not hold other results (unless --overwrite)
    mode = claim(out, "patterns", settings, overwrite=args.overwrite)
    args.interrupt_message = f"interrupted: nothing was written; earlier results in {out} are as they were"
    t0 = time.perf_counter()
    with executor_from_args(args) as ex:
        print(f"patterns: scenario {args.scenario}, {args.reps} replications of {args.households:,} households, "
              f"master seed {args.seed}, on {ex.describe()}", flush=True)
        try:
            result = run(args.scenario, reps=args.reps, households=args.households, seed=args.seed,
                         overrides=args.overrides, executor=ex, progress=args.progress)
        except WorkerCrashed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    result.wall_seconds = time.perf_counter() - t0
    table = summarise(result, patterns)
    command = "ruralabm " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None
    if mode == "overwrite":
        clear(out)  # the whole earlier set goes: no stale file of it survives
    write(result, table, out, command, patterns, make_figures=args.figures)
    record(out, "patterns", settings)
    from ruralabm.calibration.patterns import count_line, verdict_line
    print("\n" + count_line(table))
    for r in table.itertuples():
        print(verdict_line(r))
    if result.failures:
        print(f"\n{len(result.failures)} replication(s) failed, e.g. rep {result.failures[0][0]}: {result.failures[0][1]}")
    print(f"\nwrote {out}/patterns.csv, report.md, figures/ ({result.wall_seconds:.1f} s)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("patterns", help="check the official patterns of rural China 2012-2022 (table, report, figures)",
                       description="Run replications of a scenario and compare the official statistics of "
                                   "calibration/patterns.toml (income, composition, poverty headcount, regions, "
                                   "registration, county exits) with the simulated ones.")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, help=f"scenario name or .toml path (default {DEFAULT_SCENARIO})")
    p.add_argument("--reps", type=positive_int, default=DEFAULT_REPS, help=f"replications (default {DEFAULT_REPS})")
    p.add_argument("--households", type=positive_int, default=DEFAULT_HOUSEHOLDS,
                   help=f"households per run (default {DEFAULT_HOUSEHOLDS:,})")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    p.add_argument("--patterns", default=None, help="patterns file (default: the packaged calibration/patterns.toml)")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="write no figures")
    add_overrides_option(p)
    add_overwrite_option(p)
    add_executor_options(p)
    p.set_defaults(func=run_patterns)
