"""Subcommands ``validate`` (estimator validation against known truth) and ``replicate`` (the
papers' tables re-run on simulated data)."""
from __future__ import annotations

import time
from pathlib import Path

from ruralabm.analysis.specs import DEFAULT_ESTIMATORS, ESTIMATORS, LINE_NAMES, OUTCOMES, PRESETS  # no pandas or scipy

from .common import (add_executor_options, add_overrides_option, add_overwrite_option, check_executor_args,
                     executor_from_args, floats, names, positive_int, single_thread_blas)

DEFAULT_OUT = "runs/validate"


def run_validate(args) -> int:
    from ruralabm.analysis import validation as v
    from ruralabm.model.params import ParameterError

    from ruralabm.scenarios.outputs import check_writable, claim

    single_thread_blas()
    check_executor_args(args)
    # option -> (field of ValidationConfig, value given on the command line or None)
    given = {"--scenario": ("scenario", args.scenario), "--set": ("overrides", args.overrides or None),
             "--preset": ("preset", args.preset), "--selection-on-unobservables": ("selection", args.selection),
             "--design": ("designs", args.design), "--outcome": ("outcomes", args.outcome),
             "--estimators": ("estimators", args.estimators), "--line": ("line", args.line),
             "--households": ("households", args.households), "--sample": ("sample", args.sample),
             "--eligible": ("eligible", args.eligible),
             "--no-access-restriction": ("restrict_access", False if args.no_access_restriction else None),
             "--batches": ("batches", args.batches), "--seed": ("master_seed", args.seed),
             "--posterior": ("posterior", args.posterior), "--posterior-file": ("posterior_file", args.posterior_file)}
    if args.resume:
        out = Path(args.resume)
        if args.overwrite:
            raise ParameterError("--resume continues a validation and --overwrite replaces one; give one of them")
        if args.out is not None and Path(args.out) != out:
            raise ParameterError(f"give either --out or --resume (resume writes into {out})")
        claim(out, "validate", None, resume=True, what="--resume")  # before reading: whose directory is it?
        cfg = v.load_config(out)
        # A resume takes its settings from the directory: a different one given now is refused
        # (it would be ignored), the same one is fine; --reps may extend the validation.
        changed = [opt for opt, (name, value) in given.items()
                   if value is not None and list_or_value(value) != list_or_value(getattr(cfg, name))]
        if changed:
            raise ParameterError(f"--resume {out}: a resume takes its settings from the directory; "
                                 f"{', '.join(changed)} differ from the stored validation (give only --resume {out} "
                                 "and --reps, or use a new --out)")
        if args.reps is not None:
            cfg.reps = args.reps
    else:
        cfg = v.ValidationConfig(**{name: value for name, value in given.values() if value is not None},
                                 **({"reps": args.reps} if args.reps is not None else {}))
        out = Path(args.out or DEFAULT_OUT)
        check_writable(out)  # before any work
    cfg.check()
    cfg.params_for(cfg.selection[0])  # scenario and overrides are valid before anything runs
    print(v.format_changes(v.parameter_changes(cfg), cfg))
    if cfg.posterior:
        from ruralabm.scenarios.posterior import load_posterior
        post = load_posterior(cfg.posterior_file or None)
        draws = post.draws(cfg.posterior, cfg.master_seed)
        print(f"under {cfg.posterior} posterior draws of {post.path} (rows {', '.join(str(i) for i, _ in draws)}; "
              f"parameters {', '.join(post.names)}), {cfg.reps} replications each; a preset's or scenario's own value "
              "of a posterior parameter is kept")
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
    print("\n" + v.TRUTH_LEGEND + ".")
    print("\n" + "\n".join(v.format_drive_gaps(v.drive_gap_table(rows))))
    notes = v.overlap_notes(summary)
    if notes:
        print("\n" + "\n".join(notes))
    fails = v.failure_lines(rows)
    if fails:
        print("\n" + "\n".join(fails))
    if cfg.posterior:
        ps = v.summarise_posterior(rows)
        print("\n" + v.POSTERIOR_LEGEND)
        cols = ["design", "selection", "outcome", "estimator", "draws", "true_att", "bias", "bias_sd_param",
                "bias_sd_stoch", "bias_low", "bias_high", "bias_survives", "bias_stochastic"]
        print(ps[cols].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print(f"\nwrote {out}/summary.csv, summary.md, rows.csv, drive_gaps.csv" + (", posterior_summary.csv" if cfg.posterior else "")
          + ("" if args.no_figures else ", figures/*.png")
          + f" ({time.perf_counter() - t0:.1f} s)")
    return 0


def list_or_value(value):
    """Compare option values as stored in the manifest (lists, floats)."""
    if isinstance(value, (list, tuple)):
        return [list_or_value(v) for v in value]
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def run_replicate(args) -> int:
    from ruralabm.analysis import replicate as r
    from ruralabm.model.params import ParameterError
    from ruralabm.scenarios import load
    from ruralabm.scenarios.outputs import claim, clear, record

    single_thread_blas()
    if args.seed < 0:
        raise ParameterError(f"--seed = {args.seed} is not allowed: must be a non-negative integer")
    load(args.scenario, list(args.overrides))  # the scenario and --set are valid before any work
    out = Path(args.out or f"runs/replicate-{args.paper}")
    settings = {"paper": args.paper, "scenario": args.scenario, "set": list(args.overrides),
                "households": args.households, "sample": args.sample, "batches": args.batches, "seed": args.seed}
    mode = claim(out, "replicate", settings, overwrite=args.overwrite)  # before any work
    args.interrupt_message = f"interrupted: nothing was written; earlier results in {out} are as they were"
    t0 = time.perf_counter()
    result = r.replicate(args.paper, scenario=args.scenario, overrides=list(args.overrides), households=args.households,
                         seed=args.seed, sample=args.sample, batches=args.batches, out=None)
    if mode == "overwrite":
        clear(out)  # the whole earlier set goes: no stale file of it survives
    result.files = r.write_tables(out, args.paper, result.tables, result.text)
    record(out, "replicate", settings)
    print(result.text)
    print(f"\nwrote {', '.join(str(p) for p in result.files)} ({time.perf_counter() - t0:.1f} s)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("validate", help="Monte Carlo validation of the papers' estimators against the known truth",
                       description="Replicate worlds with counterfactual twins, draw CLDS-like samples, apply each "
                                   "estimator as the papers did and compare with the true ATT.")
    p.add_argument("--scenario", default=None, help="scenario name or .toml path (default mixed)")
    add_overrides_option(p)
    p.add_argument("--preset", default=None, choices=list(PRESETS),
                   help="validation setting applied on top of the scenario: none (default), identified "
                        "(selection on observables can hold), instrument (identified + a strong cooperative instrument)")
    p.add_argument("--reps", type=positive_int, default=None, help="replications per setting (default 20)")
    p.add_argument("--outcome", type=names, default=None,
                   help=f"comma-separated outcomes from {', '.join(OUTCOMES)} (default vulnerability)")
    p.add_argument("--estimators", type=names, default=None,
                   help=f"comma-separated, from {', '.join(ESTIMATORS)} (default {','.join(DEFAULT_ESTIMATORS)})")
    p.add_argument("--selection-on-unobservables", dest="selection", type=floats, default=None,
                   help="comma-separated values of participation.selection_on_unobservables (default 0,0.5,1)")
    p.add_argument("--design", type=names, default=None,
                   help="comma-separated designs: paper (CLDS as written), clean (baseline covariates, "
                        "first-year joiners) (default paper)")
    p.add_argument("--line", default=None, choices=list(LINE_NAMES), help="poverty line (default national)")
    p.add_argument("--households", type=positive_int, default=None, help="households simulated (default 40000)")
    p.add_argument("--sample", type=positive_int, default=None,
                   help="households in the survey (capped at the eligible number; default 6124)")
    p.add_argument("--eligible", default=None, choices=["auto", "poor", "all"],
                   help="who is surveyed: auto (poor in the pre wave for the paper design, all for clean)")
    p.add_argument("--no-access-restriction", action="store_true",
                   help="clean design: survey households without an organisation within reach too")
    p.add_argument("--batches", type=positive_int, default=None, help="twin batches (default 10; 1 if no spillovers)")
    p.add_argument("--seed", type=int, default=None, help="master seed (default 0)")
    p.add_argument("--posterior", type=positive_int, default=None, metavar="K",
                   help="run every setting under K draws of the posterior sample (calibration/posterior.parquet), "
                        "--reps replications per draw, and separate parameter from stochastic uncertainty "
                        "(posterior_summary.csv)")
    p.add_argument("--posterior-file", default=None, metavar="PARQUET",
                   help="posterior sample to draw from (default: the shipped calibration/posterior.parquet)")
    p.add_argument("--out", default=None, help=f"output directory (default {DEFAULT_OUT})")
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
    add_overwrite_option(p)
    p.set_defaults(func=run_replicate)
