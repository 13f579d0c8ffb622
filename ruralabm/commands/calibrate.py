"""Subcommands ``calibrate`` (indirect-inference calibration to the papers' numbers) and
``calibration-report`` (fit report, parameter uncertainty, identification table, convergence
figure and scenario file of a calibration directory)."""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from ruralabm.calibration.boxes import EFFECT_SIZES, boxed

from .common import (add_executor_options, check_executor_args, executor_from_args, positive_int,
                     single_thread_blas)

# The parameters and search boxes of the shipped calibration (docs/calibration.md), on the national
# world (scenarios/world.toml): the effect sizes of integration, targeting and learning, and the new
# mechanisms' parameters the targets respond to (local-price spillover, share dividends, the marketing
# premium, the CLDS-like survey's recall error), the dibao payment and farm productivity growth, which
# the fittable official patterns respond to, and the strength of selection on the unobserved drive
# (the papers' estimates and the official growth can then tell how much of the published effects is
# selection). The participation probit's targeting terms, the dibao
# threshold and payment and the income level are set with the world's set-up (benchmarks/fit_world.py:
# Table 1 and Table 3 gaps, the 2014 headcount and income); the two alternate.
DEFAULT_PARAMS = boxed(EFFECT_SIZES + [
    "economy.farm_productivity_growth",
    "participation.selection_on_unobservables",
])


def run_calibrate(args) -> int:
    from ruralabm.calibration import report, search
    from ruralabm.model.params import ParameterError
    from ruralabm.scenarios.executor import WorkerCrashed

    from ruralabm.scenarios.outputs import check_writable

    single_thread_blas()
    check_executor_args(args)
    if args.resume is None and args.out is None:
        raise ParameterError("give --out DIR (or --resume DIR)")
    if args.resume and args.out and Path(args.out) != Path(args.resume):
        raise ParameterError(f"give either --out or --resume (resume writes into {args.resume})")
    if args.resume and args.overwrite:
        raise ParameterError("--resume continues a calibration and --overwrite replaces one; give one of them")
    overrides = {"scenario": args.scenario, "households": args.households, "clds_n": args.clds_n,
                 "cles_n": args.cles_n}
    t0 = time.perf_counter()
    out = Path(args.out) if args.out and not args.resume else None
    resume = Path(args.resume) if args.resume else None
    check_writable(resume or out, "--resume" if resume else "--out")  # before any work
    requested = {}
    if resume is not None:
        from ruralabm.calibration.objective import Targets, settings_from
        stored = search.read_config(resume)
        for key, value in (("params", args.params), ("reps", args.reps), ("seed", args.seed),
                           ("global_share", args.global_share)):
            if value is not None:
                requested[key] = list(value) if key == "params" else value
        if args.targets is not None:
            requested["targets"] = str(Path(Targets.load(args.targets).path).resolve())
        if any(v is not None for v in overrides.values()):
            settings = dict(stored.settings)
            settings.update({k: v for k, v in overrides.items() if v is not None})
            requested["settings"] = settings
    if args.scenario_out:
        report.check_scenario_out(Path(args.scenario_out), args.overwrite)
    args.resume_dir = resume or out
    for attempt in range(4):
        with executor_from_args(args) as ex:
            print(f"calibration on {ex.describe()}: writing {resume or out}")
            try:
                cal, result = search.start(args.params or DEFAULT_PARAMS, args.targets, args.budget,
                                           4 if args.reps is None else args.reps, args.seed or 0, out, ex,
                                           resume=resume, progress=args.progress, settings_overrides=overrides,
                                           global_share=0.6 if args.global_share is None else args.global_share,
                                           requested=requested, overwrite=args.overwrite and resume is None)
            except WorkerCrashed as exc:
                if attempt == 3 or (out is None and resume is None):
                    raise ParameterError(f"{exc}") from None
                logging.getLogger(__name__).warning(f"{exc}: restarting the workers and resuming")
                resume = resume or out
                requested = {}
                continue
            print(f"best J = {result['J']:.3f} after {result['evaluated_vectors']} parameter vectors x "
                  f"{result['replications']} replications ({result['wall_seconds']:.0f} s)")
            for name, v in result["best"].items():
                print(f"  {name} = {v:.6g}")
            if not args.no_report:
                rep = report.make_report(cal.out, ex, jacobian=not args.no_jacobian, report_reps=args.report_reps,
                                         scenario_out=Path(args.scenario_out) if args.scenario_out else None,
                                         markdown=Path(args.report_md) if args.report_md else None,
                                         progress=args.progress, overwrite_scenario=args.overwrite)
                print(rep["summary"])
            break
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


def run_report(args) -> int:
    from ruralabm.calibration import report, search

    single_thread_blas()
    check_executor_args(args)
    search.read_config(Path(args.dir), what="calibration-report")  # a calibration directory, before any work
    report.check_finished(Path(args.dir))
    if args.scenario_out:
        report.check_scenario_out(Path(args.scenario_out), args.overwrite)
    with executor_from_args(args) as ex:
        rep = report.make_report(Path(args.dir), ex, jacobian=not args.no_jacobian, report_reps=args.report_reps,
                                 scenario_out=Path(args.scenario_out) if args.scenario_out else None,
                                 markdown=Path(args.report_md) if args.report_md else None, progress=args.progress,
                                 overwrite_scenario=args.overwrite)
    print(rep["summary"])
    return 0


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--report-reps", type=positive_int, default=None,
                   help="replications for the fit table and the Jacobian (default: the calibration's --reps)")
    p.add_argument("--no-jacobian", action="store_true", help="skip standard errors and the identification table")
    p.add_argument("--scenario-out", help="also write the calibrated scenario here (e.g. scenarios/calibrated.toml)")
    p.add_argument("--report-md", help="also write the markdown fit report here (e.g. docs/calibration.md)")


def register(sub) -> None:
    p = sub.add_parser("calibrate", help="fit parameters so the papers' estimators reproduce the papers' numbers",
                       description="Indirect inference: global Sobol search then Nelder-Mead on the weighted distance "
                                   "between simulated and published statistics (calibration/targets.toml).")
    p.add_argument("--params", nargs="+", metavar="NAME=LOW:HIGH",
                   help="parameters and search boxes, e.g. participation.base_rate=0.3:0.9 forms.price_gain[0]=0:0.3 "
                        f"(default: {' '.join(DEFAULT_PARAMS)})")
    p.add_argument("--targets", default=None, help="targets file (default calibration/targets.toml)")
    p.add_argument("--budget", type=positive_int, default=None,
                   help="parameter vectors to evaluate (default 200; on --resume: the stored budget, or a larger "
                        "one to extend it)")
    p.add_argument("--reps", type=positive_int, default=None,
                   help="replications per vector, same seeds for every vector (default 4)")
    p.add_argument("--global-share", type=float, default=None, help="share of the budget for the Sobol stage (0.6)")
    p.add_argument("--seed", type=int, default=None, help="master seed of the replications and the Sobol design")
    p.add_argument("--scenario", default=None, help="base scenario (default: targets file's [settings], uncalibrated)")
    p.add_argument("--households", type=positive_int, default=None, help="households per simulation (default 40000)")
    p.add_argument("--clds-n", type=positive_int, default=None, help="CLDS-like sample size (default 6124)")
    p.add_argument("--cles-n", type=positive_int, default=None, help="CLES-like sample size (default 3000)")
    p.add_argument("--out", help="output directory (evaluations.jsonl, history.csv, result.json, report)")
    p.add_argument("--resume", help="continue the calibration stored in this directory (its settings are used)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace other results in --out, and let --scenario-out replace a shipped scenario file")
    p.add_argument("--no-report", action="store_true", help="search only")
    _report_options(p)
    add_executor_options(p)
    p.set_defaults(func=run_calibrate)

    p = sub.add_parser("calibration-report", help="fit report, standard errors, identification table and scenario "
                                                  "file of a calibration directory")
    p.add_argument("dir", help="calibration directory (the --out of calibrate)")
    _report_options(p)
    p.add_argument("--overwrite", action="store_true",
                   help="let --scenario-out replace a shipped scenario file (scenarios/*.toml)")
    add_executor_options(p)
    p.set_defaults(func=run_report)
