"""Subcommand ``compare``: policy scenarios side by side with common random numbers."""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from .common import add_executor_options, add_scenario_options, executor_from_args, positive_int

# Mirrors of ruralabm.scenarios.compare's defaults, so that parsing imports no pandas
# (tests/test_cli.py checks they agree).
DEFAULT_SCENARIOS = ("baseline", "cooperative", "enterprise")
DEFAULT_REPS = 40
DEFAULT_HOUSEHOLDS = 20_000
DEFAULT_OUT = "runs/compare"


def run_compare(args) -> int:
    from ruralabm.model.params import ParameterError
    from ruralabm.scenarios.compare import (execute, parse_list, plan, summarise, summary_tables, text_table,
                                            write)
    from ruralabm.scenarios.executor import WorkerCrashed

    names = parse_list(args.scenarios, "--scenarios")
    yoi = None
    if args.years_of_interest:
        try:
            yoi = [int(y) for y in parse_list(args.years_of_interest, "--years-of-interest")]
        except ValueError:
            raise ParameterError(f"--years-of-interest {args.years_of_interest!r} must be comma-separated years, "
                                 "e.g. 2014,2016,2020") from None
    out = Path(args.out)
    p = plan(names, reps=args.reps, households=args.households, years=args.years, seed=args.seed,
             overrides=args.overrides, years_of_interest=yoi, default_households=DEFAULT_HOUSEHOLDS,
             panels_dir=(out / "panels") if args.save_panels else None)
    n_hh = p.scenarios[0].params.population.n_households
    c = p.scenarios[0].params.calendar
    t0 = time.perf_counter()
    with executor_from_args(args) as ex:
        print(f"comparing {', '.join(sc.name for sc in p.scenarios)}: {p.reps} replications x {len(p.scenarios)} "
              f"scenarios of {n_hh:,} households, {c.start_year}-{c.end_year}, master seed {p.seed}, on {ex.describe()}",
              flush=True)
        try:
            result = execute(p, ex, progress=args.progress)
        except WorkerCrashed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    result.wall_seconds = time.perf_counter() - t0
    summary = summarise(result)
    command = "ruralabm " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None
    write(result, summary, out, command)
    names = [sc.name for sc in p.scenarios]
    print(f"\nMeans over {p.reps} replications; differences from '{names[0]}' are paired, with 95% intervals; "
          "'(noise)' = the interval includes 0 (not distinguishable from noise); 'identical' = equal in every "
          "replication (policy not yet active). Level intervals are in summary.md.")
    for title, t in summary_tables(summary, names, intervals=False):
        print(f"\n{title}\n{text_table(t)}")
    if result.failures:
        print(f"\n{len(result.failures)} run(s) failed, e.g. {result.failures[0][0]} rep {result.failures[0][1]}: "
              f"{result.failures[0][2]}")
    print(f"\nwrote {out}/report.md, summary.csv, summary.md, runs.parquet, figures/ ({result.wall_seconds:.1f} s)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare policy scenarios with common random numbers (report, table, figures)",
                       description="Run scenarios with the same replication seeds and report their differences.")
    p.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                   help=f"comma-separated scenario names or .toml paths; the first is the reference "
                        f"(default {','.join(DEFAULT_SCENARIOS)})")
    p.add_argument("--reps", type=positive_int, default=DEFAULT_REPS,
                   help=f"replications per scenario (default {DEFAULT_REPS})")
    p.add_argument("--years-of-interest", help="comma-separated years for the table (default: pre-policy year, "
                   "first post-policy year, 2020, last year)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    p.add_argument("--save-panels", action="store_true",
                   help="also write every run's household and county panels under OUT/panels (large)")
    add_scenario_options(p, households_help=f"households per run (default {DEFAULT_HOUSEHOLDS:,}, unless a scenario "
                                            "file sets population.n_households)")
    add_executor_options(p)
    p.set_defaults(func=run_compare)
