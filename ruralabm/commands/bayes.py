"""Subcommands ``calibrate-bayes`` (Bayesian calibration: GP emulators, tempered waves, emcee
posterior, posterior predictive runs) and ``calibration-bayes-report`` (fit table, figures, recovery
on synthetic truth, and the shipped posterior of a finished Bayesian calibration)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from .common import add_executor_options, check_executor_args, executor_from_args, positive_int, single_thread_blas

DEFAULT_OUT = "runs/calibration_bayes"


def _ints(text: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be comma-separated integers, e.g. 640,480,480,480") from None
    if not vals or any(v < 1 for v in vals):
        raise argparse.ArgumentTypeError(f"{text!r}: every wave needs at least 1 run")
    return vals


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be comma-separated numbers, e.g. 0.25,0.5,1") from None


def run_calibrate_bayes(args) -> int:
    from ruralabm.calibration import bayes
    from ruralabm.model.params import ParameterError
    from ruralabm.scenarios.executor import WorkerCrashed
    from ruralabm.scenarios.outputs import check_writable

    single_thread_blas()
    check_executor_args(args)
    if args.resume and args.out and Path(args.out) != Path(args.resume):
        raise ParameterError(f"give either --out or --resume (resume writes into {args.resume})")
    if args.resume and args.overwrite:
        raise ParameterError("--resume continues a calibration and --overwrite replaces one; give one of them")
    resume = Path(args.resume) if args.resume else None
    out = None if resume else Path(args.out or DEFAULT_OUT)
    check_writable(resume or out, "--resume" if resume else "--out")
    overrides = {"households": args.households}
    requested, config = {}, None
    if resume is not None:
        for key in ("params", "waves", "tempering", "seed", "walkers", "steps", "burn", "ppc_draws"):
            value = getattr(args, key)
            if value is not None:
                requested[key] = list(value) if isinstance(value, list) else value
    else:
        kw = {k: getattr(args, k) for k in ("walkers", "steps", "burn", "ppc_draws") if getattr(args, k) is not None}
        config = bayes.make_config(args.params, args.targets, args.waves, args.tempering,
                                   2026 if args.seed is None else args.seed, overrides, **kw)
    args.resume_dir = resume or out
    t0 = time.perf_counter()
    for attempt in range(4):
        with executor_from_args(args) as ex:
            print(f"Bayesian calibration on {ex.describe()}: writing {resume or out}", flush=True)
            try:
                cal = bayes.start(config, out, ex, resume=resume, progress=args.progress, overwrite=args.overwrite,
                                  requested=requested)
            except WorkerCrashed as exc:
                if attempt == 3:
                    raise ParameterError(f"{exc}") from None
                import logging
                logging.getLogger(__name__).warning(f"{exc}: restarting the workers and resuming")
                resume, out, requested, config = resume or out, None, {}, None
                continue
            break
    r = cal.result
    print(f"{r['simulations']} simulations + {r['ppc_simulations']} posterior predictive runs, {r['failures']} failed; "
          f"MCMC acceptance {r['mcmc']['acceptance_fraction']:.2f}")
    width = max(len(n) for n in r["median"])
    post = cal.posterior
    print(f"{'parameter':<{width}}  {'5%':>10} {'median':>10} {'95%':>10} {'MAP':>10}")
    for n in cal.space.names:
        q = post[n].quantile([0.05, 0.5, 0.95]).to_numpy()
        print(f"{n:<{width}}  {q[0]:10.4g} {q[1]:10.4g} {q[2]:10.4g} {r['map'][n]:10.4g}")
    if not args.no_report:
        from ruralabm.calibration import bayes_report
        rep = bayes_report.write(cal, point=bayes_report.point_calibration(None, cal.space.names))
        acc = rep["acceptance"]
        print(f"fit: fitted {acc['fitted'][0]}/{acc['fitted'][1]} within 2 SE or tolerance, held out "
              f"{acc['held_out'][0]}/{acc['held_out'][1]}, orderings {acc['orderings'][0]}/{acc['orderings'][1]}; "
              f"wrote {cal.out}/fit.csv, report.md, figures/")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


def run_report(args) -> int:
    from ruralabm.calibration import bayes, bayes_report
    from ruralabm.model.params import ParameterError
    from ruralabm.scenarios import SCENARIO_DIR

    single_thread_blas()
    check_executor_args(args)
    out = Path(args.dir)
    cal = bayes.load(out)
    if not (out / bayes.RESULT).exists():
        raise ParameterError(f"calibration-bayes-report {out}: {bayes.RESULT} missing: the calibration has not "
                             f"finished; continue it with ruralabm {bayes.COMMAND} --resume {out}")
    if args.ship and not args.overwrite and bayes_report.SHIPPED_POSTERIOR.exists():
        raise ParameterError(f"--ship would replace the shipped {bayes_report.SHIPPED_POSTERIOR}; pass --overwrite "
                             "to replace it")
    if args.scenario_out:
        from ruralabm.calibration import report
        report.check_scenario_out(Path(args.scenario_out), args.overwrite, base=cal.settings["scenario"])
    t0 = time.perf_counter()
    rec = None
    # The report refits the final emulator on the executor's workers: everything inside the block.
    with executor_from_args(args) as ex:
        cal.executor = ex
        cal.log = print
        if args.recovery:
            rec = bayes_report.recovery(cal, ex, truths=args.recovery, progress=args.progress)
            rs = bayes_report.recovery_summary(rec)
            print(f"recovery: {args.recovery} truths, coverage of the 90% intervals {rec['covered'].mean():.1%} "
                  f"of {len(rec)}")
            print(rs.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        elif (out / "recovery.csv").exists():
            import pandas as pd
            rec = pd.read_csv(out / "recovery.csv")
        point = bayes_report.point_calibration(Path(args.point) if args.point else None, cal.space.names)
        rep = bayes_report.write(cal, recovery_frame=rec, point=point)
        acc = rep["acceptance"]
        print(f"fit: fitted {acc['fitted'][0]}/{acc['fitted'][1]} within 2 SE or tolerance, held out "
              f"{acc['held_out'][0]}/{acc['held_out'][1]}, orderings {acc['orderings'][0]}/{acc['orderings'][1]}")
    if args.scenario_out:
        from ruralabm.scenarios.outputs import atomic_write_text
        text = bayes_report.scenario_text(cal, acc, args.scenario_point)
        atomic_write_text(Path(args.scenario_out), text + "\n")
        print(f"wrote the {args.scenario_point} as scenario {args.scenario_out}")
    if args.ship:
        default = None
        if args.scenario_out and Path(args.scenario_out).resolve() == (SCENARIO_DIR / "calibrated.toml").resolve():
            default = f"scenarios/calibrated.toml: the posterior {args.scenario_point} (calibration-bayes-report)"
        written = bayes_report.ship(cal, rep, fit_csv=Path(args.fit_csv), figures=Path(args.figures),
                                    recovery_frame=rec, point=point, scenario_default=default)
        print("shipped " + ", ".join(str(p) for p in written))
    print(f"wrote {out}/fit.csv, posterior_summary.csv, report.md, figures/ ({time.perf_counter() - t0:.0f} s)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("calibrate-bayes", help="Bayesian calibration: GP emulators, tempered waves, MCMC posterior",
                       description="Likelihood-free Bayesian calibration to the papers' published estimates and the "
                                   "fittable official patterns (docs/calibration_bayes.md). Held-out targets and "
                                   "patterns never enter the likelihood. Every simulation is stored; --resume "
                                   "continues, and with --waves or --ppc-draws extends a finished calibration.")
    p.add_argument("--params", nargs="+", metavar="NAME=LOW:HIGH", default=None,
                   help="parameters and prior boxes (uniform priors); default: the 25 of "
                        "calibration/bayes.py BAYES_PARAMS")
    p.add_argument("--targets", default=None, help="targets file (default calibration/targets.toml)")
    p.add_argument("--waves", type=_ints, default=None,
                   help="runs per wave, comma-separated (default 600,400,400,400); with --resume, the stored "
                        "waves followed by added ones (e.g. 600,400,400,400,400): a longer calibration, whose old "
                        "posterior moves to DIR/superseded/")
    p.add_argument("--tempering", type=_floats, default=None,
                   help="likelihood power of the design of each wave after the first (default 0.25,0.5,1; an "
                        "added wave's defaults to 1)")
    p.add_argument("--seed", type=int, default=None, help="master seed (default 2026)")
    p.add_argument("--walkers", type=positive_int, default=None, help="emcee walkers (default 64)")
    p.add_argument("--steps", type=positive_int, default=None, help="emcee steps per chain (default 900)")
    p.add_argument("--burn", type=int, default=None, help="emcee burn-in steps (default 400)")
    p.add_argument("--ppc-draws", type=positive_int, default=None,
                   help="posterior draws simulated for the predictive check (default 40); with --resume, a "
                        "larger number adds predictive runs and keeps the stored ones")
    p.add_argument("--households", type=positive_int, default=None, help="households per simulation (default 40000)")
    p.add_argument("--out", default=None, help=f"output directory (default {DEFAULT_OUT})")
    p.add_argument("--resume", default=None, metavar="DIR", help="continue the calibration stored in DIR")
    p.add_argument("--overwrite", action="store_true", help="replace other results in --out")
    p.add_argument("--no-report", action="store_true", help="no fit table and figures at the end")
    add_executor_options(p)
    p.set_defaults(func=run_calibrate_bayes)

    p = sub.add_parser("calibration-bayes-report",
                       help="fit table, posterior figures, recovery on synthetic truth and the shipped posterior",
                       description="Report of a finished Bayesian calibration directory; --recovery N adds the "
                                   "coverage of the 90%% credible intervals on N synthetic truths; --ship writes "
                                   "calibration/posterior.parquet (+ .json), --fit-csv and --figures.")
    p.add_argument("dir", help="the --out of calibrate-bayes")
    p.add_argument("--recovery", type=positive_int, default=None, metavar="N",
                   help="recovery on N synthetic truths drawn from the posterior (2 simulations each)")
    p.add_argument("--point", default=None, metavar="RESULT_JSON",
                   help="result.json of a point calibration, marked on the marginals (default: the values of "
                        "scenarios/calibrated_point.toml, the shipped indirect-inference point)")
    p.add_argument("--ship", action="store_true",
                   help="write calibration/posterior.parquet and .json, --fit-csv and the figures into --figures")
    p.add_argument("--fit-csv", default="docs/calibration/fit.csv", help="with --ship (default docs/calibration/fit.csv)")
    p.add_argument("--figures", default="docs/figures", help="with --ship (default docs/figures)")
    p.add_argument("--scenario-out", default=None, metavar="TOML",
                   help="write the posterior point (--scenario-point) as a scenario file, e.g. "
                        "scenarios/calibrated.toml (the default every policy scenario builds on)")
    p.add_argument("--scenario-point", choices=("median", "map"), default="median",
                   help="which point of the posterior --scenario-out holds (default median)")
    p.add_argument("--overwrite", action="store_true",
                   help="let --ship replace the shipped posterior and --scenario-out a shipped scenario")
    add_executor_options(p)
    p.set_defaults(func=run_report)
