"""Subcommands ``validate`` (estimator validation against known truth) and ``replicate`` (the
papers' tables re-run on simulated data)."""
from __future__ import annotations

import time
from pathlib import Path

from ruralabm.analysis.specs import DEFAULT_ESTIMATORS, ESTIMATORS, LINE_NAMES, OUTCOMES, PRESETS  # no pandas or scipy

from .common import (add_executor_options, add_overrides_option, add_overwrite_option, check_executor_args,
                     executor_from_args, floats, names, positive_int, single_thread_blas)


def run_validate(args) -> int:
    from ruralabm.analysis import validation as v
    from ruralabm.model.params import ParameterError

    from ruralabm.scenarios.outputs import check_writable, claim

    single_thread_blas()
    check_executor_args(args)
    if args.resume:
        out = Path(args.resume)
        if args.overwrite:
            raise ParameterError("--resume continues a validation and --overwrite replaces one; give one of them")
        claim(out, "validate", None, resume=True, what="--resume")  # before reading: whose directory is it?
        cfg = v.load_config(out)
        if args.reps is not None:
            cfg.reps = args.reps
    else:
        cfg = v.ValidationConfig(
            scenario=args.scenario, overrides=list(args.overrides), preset=args.preset,
            selection=args.selection, designs=args.design, outcomes=args.outcome, estimators=args.estimators,
            line=args.line, households=args.households, sample=args.sample, eligible=args.eligible,
            batches=args.batches, restrict_access=not args.no_access_restriction, master_seed=args.seed,
            reps=args.reps if args.reps is not None else 20)
        out = Path(args.out)
        check_writable(out)  # before any work
    cfg.check()
    cfg.params_for(cfg.selection[0])  # scenario and overrides are valid before anything runs
    print(v.format_changes(v.parameter_changes(cfg), cfg))
    t0 = time.perf_counter()
    with executor_from_args(args) as ex:
        print(f"validation: {cfg.reps} replications x {len(cfg.selection)} selection setting(s) on {ex.describe()}, "
              f"{cfg.households} households, designs {','.join(cfg.designs)}; writing {out}")
        args.resume_dir = out  # for the interruption message (ruralabm/cli.py)
        rows = v.run(cfg, out, executor=ex, progress=args.progress, overwrite=args.overwrite,
                     resume=bool(args.resume))
    if rows.empty:
        raise ParameterError("no replication finished; see the errors above")
    summary = v.write_report(rows, out, figures=not args.no_figures, cfg=cfg)
    print(v.format_summary(summary))
    notes = v.overlap_notes(summary)
    if notes:
        print("\n" + "\n".join(notes))
    fails = rows[rows["error"].notna()] if "error" in rows else rows.iloc[:0]
    if len(fails):
        print(f"\n{len(fails)} estimator run(s) failed; first: {fails['error'].iloc[0]}")
    print(f"\nwrote {out}/summary.csv, summary.md, rows.csv" + ("" if args.no_figures else ", figures/*.png")
          + f" ({time.perf_counter() - t0:.1f} s)")
    return 0


def run_replicate(args) -> int:
    from ruralabm.analysis import replicate as r

    single_thread_blas()
    out = Path(args.out or f"runs/replicate-{args.paper}")
    t0 = time.perf_counter()
    result = r.replicate(args.paper, scenario=args.scenario, overrides=list(args.overrides), households=args.households,
                         seed=args.seed, sample=args.sample, batches=args.batches, out=out)
    print(result.text)
    print(f"\nwrote {', '.join(str(p) for p in result.files)} ({time.perf_counter() - t0:.1f} s)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("validate", help="Monte Carlo validation of the papers' estimators against the known truth",
                       description="Replicate worlds with counterfactual twins, draw CLDS-like samples, apply each "
                                   "estimator as the papers did and compare with the true ATT.")
    p.add_argument("--scenario", default="mixed", help="scenario name or .toml path (default mixed)")
    add_overrides_option(p)
    p.add_argument("--preset", default="none", choices=list(PRESETS),
                   help="validation setting applied on top of the scenario: none (default), identified "
                        "(selection on observables can hold), instrument (identified + a strong cooperative instrument)")
    p.add_argument("--reps", type=positive_int, default=None, help="replications per setting (default 20)")
    p.add_argument("--outcome", type=names, default=["vulnerability"],
                   help=f"comma-separated outcomes from {', '.join(OUTCOMES)} (default vulnerability)")
    p.add_argument("--estimators", type=names, default=list(DEFAULT_ESTIMATORS),
                   help=f"comma-separated, from {', '.join(ESTIMATORS)} (default {','.join(DEFAULT_ESTIMATORS)})")
    p.add_argument("--selection-on-unobservables", dest="selection", type=floats, default=[0.0, 0.5, 1.0],
                   help="comma-separated values of participation.selection_on_unobservables (default 0,0.5,1)")
    p.add_argument("--design", type=names, default=["paper"],
                   help="comma-separated designs: paper (CLDS as written), clean (baseline covariates, "
                        "first-year joiners) (default paper)")
    p.add_argument("--line", default="national", choices=list(LINE_NAMES), help="poverty line (default national)")
    p.add_argument("--households", type=positive_int, default=40_000, help="households simulated (default 40000)")
    p.add_argument("--sample", type=positive_int, default=6124,
                   help="households in the survey (capped at the eligible number; default 6124)")
    p.add_argument("--eligible", default="auto", choices=["auto", "poor", "all"],
                   help="who is surveyed: auto (poor in the pre wave for the paper design, all for clean)")
    p.add_argument("--no-access-restriction", action="store_true",
                   help="clean design: survey households without an organisation within reach too")
    p.add_argument("--batches", type=positive_int, default=10, help="twin batches (default 10; 1 if no spillovers)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--out", default="runs/validate", help="output directory (default runs/validate)")
    p.add_argument("--resume", metavar="DIR", help="continue the validation stored in DIR (its settings are used)")
    p.add_argument("--no-figures", action="store_true", help="do not draw the figures")
    add_overwrite_option(p)
    add_executor_options(p)
    p.set_defaults(func=run_validate)

    p = sub.add_parser("replicate", help="the papers' tables on simulated data, beside the published numbers and the truth",
                       description="Re-run a paper's specification on a simulated survey and print each cell beside "
                                   "the published number and the simulated truth.")
    p.add_argument("paper", choices=["clds", "cao", "counties"], help="which paper")
    p.add_argument("--scenario", default="mixed", help="scenario name or .toml path (default mixed)")
    add_overrides_option(p)
    p.add_argument("--households", type=positive_int, default=None,
                   help="households simulated (default: clds 45000, cao 20000, counties 40000)")
    p.add_argument("--sample", type=positive_int, default=None,
                   help="survey size (default: clds 6124, cao 3000, counties 76)")
    p.add_argument("--batches", type=positive_int, default=10, help="twin batches for the truth (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--out", default=None, help="output directory (default runs/replicate-PAPER)")
    p.set_defaults(func=run_replicate)
