"""Subcommand ``compare``: policy scenarios side by side with common random numbers."""
from __future__ import annotations

import logging
import shlex
import sys
import time
from pathlib import Path

from .common import (add_executor_options, add_scenario_options, check_executor_args, executor_from_args,
                     positive_int, refuse_replaced_sets)

# Mirrors of ruralabm.scenarios.compare's defaults, so that parsing imports no pandas
# (tests/test_cli.py checks they agree).
DEFAULT_SCENARIOS = ("baseline", "cooperative", "enterprise")
DEFAULT_REPS = 40
DEFAULT_HOUSEHOLDS = 20_000
DEFAULT_OUT = "runs/compare"
DEFAULT_REPS_PER_DRAW = 10  # --posterior K: replications per posterior draw

log = logging.getLogger(__name__)


def run_compare(args) -> int:
    from ruralabm.model.params import ParameterError
    from ruralabm.scenarios.compare import (POSTERIOR_LEGEND, execute, parse_list, plan, posterior_tables,
                                            prepare_out, summarise, summarise_posterior, summary_tables, text_table,
                                            write)
    from ruralabm.scenarios.executor import WorkerCrashed
    from ruralabm.scenarios.outputs import check_writable, read_owner

    check_executor_args(args)
    refuse_replaced_sets(args.overrides, args.households, args.years)
    for option in ("scenarios", "years_of_interest"):  # given but empty: an error, not the default
        if getattr(args, option) is not None:
            parse_list(getattr(args, option), "--" + option.replace("_", "-"))
    given = {k: getattr(args, k) for k in ("scenarios", "reps", "years_of_interest", "households", "years")
             if getattr(args, k) is not None}
    if args.overrides:
        given["set"] = args.overrides
    if args.seed is not None:
        given["seed"] = args.seed
    if args.save_panels:
        given["save_panels"] = True
    if args.posterior is not None:
        given["posterior"] = args.posterior
    if args.posterior_file is not None:
        if args.posterior is None and not args.resume:
            raise ParameterError("--posterior-file needs --posterior K (the number of posterior draws)")
        given["posterior_file"] = args.posterior_file
    if args.resume:
        out = Path(args.resume)
        if args.out and Path(args.out) != out:
            raise ParameterError(f"give either --out or --resume (resume writes into {out})")
        if args.overwrite:
            raise ParameterError("--resume continues a comparison and --overwrite replaces one; give one of them")
        check_writable(out, "--resume")
        owner = read_owner(out) if out.is_dir() else None
        if owner is None or owner.get("command") != "compare" or not owner.get("args"):
            held = ("nothing" if owner is None else "no resumable comparison" if owner.get("command") == "compare"
                    else f"the results of `ruralabm {owner['command']}`")
            raise ParameterError(f"--resume {out} holds {held}; give the --out of an interrupted `ruralabm compare`")
        stored = owner["args"]
        changed = [k for k, v in given.items() if stored.get(k) != v]
        if changed:
            raise ParameterError(f"--resume {out}: a resume takes its settings from the directory; "
                                 f"{', '.join('--' + k.replace('_', '-') for k in changed)} differ from the stored "
                                 f"comparison (give only --resume {out}, or use a new --out)")
        opts = stored
    else:
        out = Path(args.out or DEFAULT_OUT)
        check_writable(out)  # before any work
        opts = {"scenarios": args.scenarios or ",".join(DEFAULT_SCENARIOS),
                "reps": args.reps or (DEFAULT_REPS_PER_DRAW if args.posterior else DEFAULT_REPS),
                "years_of_interest": args.years_of_interest, "households": args.households, "years": args.years,
                "set": list(args.overrides or []), "seed": args.seed or 0, "save_panels": bool(args.save_panels)}
        if args.posterior is not None:
            opts["posterior"] = args.posterior
            opts["posterior_file"] = args.posterior_file
    names = parse_list(opts["scenarios"], "--scenarios")
    yoi = None
    if opts.get("years_of_interest"):
        try:
            yoi = [int(y) for y in parse_list(opts["years_of_interest"], "--years-of-interest")]
        except ValueError:
            raise ParameterError(f"--years-of-interest {opts['years_of_interest']!r} must be comma-separated years, "
                                 "e.g. 2014,2016,2020") from None
    p = plan(names, reps=opts["reps"], households=opts.get("households"), years=opts.get("years"),
             seed=opts.get("seed") or 0, overrides=opts.get("set") or [], years_of_interest=yoi,
             default_households=DEFAULT_HOUSEHOLDS, panels_dir=(out / "panels") if opts.get("save_panels") else None,
             posterior=opts.get("posterior"), posterior_file=opts.get("posterior_file"))
    if args.workers is not None and args.workers > len(p.tasks) and args.backend != "serial":
        log.warning(f"--workers {args.workers} but only {len(p.tasks)} runs; at most {len(p.tasks)} workers "
                    "will have work")
    for w in p.warnings:
        log.warning(w)
    parts = prepare_out(p, out, overwrite=args.overwrite, resume=bool(args.resume), args=opts)
    args.resume_dir = out  # for the interruption message (ruralabm/cli.py)
    n_hh = p.scenarios[0].params.population.n_households
    c = p.scenarios[0].params.calendar
    t0 = time.perf_counter()
    with executor_from_args(args) as ex:
        under = (f" ({p.posterior['k']} posterior draws x {p.posterior['reps_per_draw']} replications)"
                 if p.posterior else "")
        print(f"comparing {', '.join(sc.name for sc in p.scenarios)}: {p.reps} replications{under} x {len(p.scenarios)} "
              f"scenarios of {n_hh:,} households, {c.start_year}-{c.end_year}, master seed {p.seed}, on {ex.describe()}",
              flush=True)
        try:
            result = execute(p, ex, progress=args.progress, parts_dir=parts, log=print)
        except WorkerCrashed as exc:
            print(f"error: {exc}; continue with: ruralabm compare --resume {out}", file=sys.stderr)
            return 1
    result.wall_seconds = time.perf_counter() - t0
    summary = summarise(result)
    command = "ruralabm " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None
    write(result, summary, out, command)
    log.info(f"{len(p.tasks)} runs in {result.wall_seconds:.1f} s; wrote {out}")
    names = [sc.name for sc in p.scenarios]
    if p.posterior is not None:
        print("\n" + POSTERIOR_LEGEND)
        for title, t in posterior_tables(summarise_posterior(result), names):
            print(f"\n{title}\n{text_table(t)}")
    else:
        print(f"\nMeans over {p.reps} replications; differences from '{names[0]}' are paired, with 95% intervals; "
              "'(noise)' = the interval includes 0 (not distinguishable from noise); 'identical' = equal in every "
              "replication (policy not yet active). Level intervals are in summary.md.")
        for title, t in summary_tables(summary, names, intervals=False):
            print(f"\n{title}\n{text_table(t)}")
    if result.failures:
        print(f"\n{len(result.failures)} run(s) failed, e.g. {result.failures[0][0]} rep {result.failures[0][1]}: "
              f"{result.failures[0][2]}")
    extra = "posterior_summary.csv, posterior.md, " if p.posterior is not None else ""
    print(f"\nwrote {out}/report.md, summary.csv, summary.md, {extra}runs.parquet, figures/ ({result.wall_seconds:.1f} s)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare policy scenarios with common random numbers (report, table, figures)",
                       description="Run scenarios with the same replication seeds and report their differences.")
    p.add_argument("--scenarios", default=None,
                   help=f"comma-separated scenario names or .toml paths; the first is the reference "
                        f"(default {','.join(DEFAULT_SCENARIOS)})")
    p.add_argument("--reps", type=positive_int, default=None,
                   help=f"replications per scenario (default {DEFAULT_REPS})")
    p.add_argument("--years-of-interest", help="comma-separated years for the table (default: pre-policy year, "
                   "first post-policy year, 2020, last year)")
    p.add_argument("--out", default=None, help=f"output directory (default {DEFAULT_OUT})")
    p.add_argument("--resume", metavar="DIR", default=None,
                   help="continue the interrupted comparison in DIR (its settings are used)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results of another command or other settings in --out")
    p.add_argument("--save-panels", action="store_true",
                   help="also write every run's household and county panels under OUT/panels (large)")
    p.add_argument("--posterior", type=positive_int, default=None, metavar="K",
                   help="run every scenario under K draws of the posterior sample (calibration/posterior.parquet), "
                        f"--reps replications per draw (default {DEFAULT_REPS_PER_DRAW}), and report which differences "
                        "survive parameter uncertainty (posterior_summary.csv, posterior.md)")
    p.add_argument("--posterior-file", default=None, metavar="PARQUET",
                   help="posterior sample to draw from (default: the shipped calibration/posterior.parquet)")
    add_scenario_options(p, seed_default=None, households_help=f"households per run (default {DEFAULT_HOUSEHOLDS:,}, unless a scenario "
                                            "file sets population.n_households)")
    add_executor_options(p)
    p.set_defaults(func=run_compare)
