"""Subcommand ``sweep``: parameter sweeps and global sensitivity analysis, resumable."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from .common import (add_executor_options, add_overrides_option, add_overwrite_option, check_executor_args,
                     executor_from_args, positive_int, refuse_replaced_sets)

# Mirrors of ruralabm.scenarios.sweep / .runner constants, so that parsing imports no pandas
# (tests/test_cli.py checks they agree).
DESIGNS = ("grid", "lhs", "sobol", "morris")
DEFAULT_OUTPUTS = ("poverty_national", "resilience")
METRICS = ("poverty_1_9", "poverty_national", "poverty_3_1", "vulnerability", "resilience", "buffering",
           "self_organisation", "learning", "income_pc", "consumption_pc", "participation", "exit_share",
           "median_exit_date")


log = logging.getLogger(__name__)


def run_sweep(args) -> int:
    import pandas as pd

    from ruralabm.model.params import ParameterError
    from ruralabm.scenarios import load
    from ruralabm.scenarios.compare import text_table
    from ruralabm.scenarios.executor import WorkerCrashed
    from ruralabm.scenarios.runner import resolve_metric
    from ruralabm.scenarios.outputs import check_writable
    from ruralabm.scenarios.sweep import design_notes, finish, make_spec, open_sweep, parse_param

    check_executor_args(args)
    refuse_replaced_sets(args.overrides, args.households, args.years)
    if args.resume and args.overwrite:
        raise ParameterError("--resume continues a sweep and --overwrite replaces one; give one of them")
    check_writable(Path(args.resume) if args.resume else Path(args.out or "runs/sweep"),
                   "--resume" if args.resume else "--out")
    explicit = {k: getattr(args, k) for k in ("design", "samples", "reps", "outputs", "year", "chunk_size")
                if getattr(args, k) is not None}
    if args.resume:
        out = Path(args.resume)
        if args.out and Path(args.out) != out:
            raise ParameterError(f"give either --out or --resume (resume writes into {out})")
        stored = _read_stored_spec(out)
        spec = dict(explicit)  # only what the user asked for explicitly is checked against DIR
        if "outputs" in spec:
            spec["outputs"] = list(dict.fromkeys(resolve_metric(o) for o in args.outputs.split(",")))
        if args.seed is not None:
            spec["seed"] = args.seed
        if args.params:
            spec["params"] = [parse_param(t).to_dict() for t in args.params]
        if args.scenario or args.overrides or args.households or args.years:
            sc = load(args.scenario or stored.get("scenario_source", stored["scenario"]),
                      args.overrides or stored.get("overrides", []))
            if args.households:
                sc.params.set("population.n_households", args.households)
            if args.years:
                sc.params.set("calendar.end_year", sc.params.calendar.start_year + args.years - 1)
            spec["base_params"] = json.loads(json.dumps(sc.params.to_dict()))
        spec = spec or None
    else:
        out = Path(args.out or "runs/sweep")
        spec = make_spec(args.scenario or "mixed", args.params, design=args.design or "lhs", samples=args.samples or 16,
                         reps=args.reps or 2, seed=0 if args.seed is None else args.seed,
                         outputs=(args.outputs.split(",") if args.outputs else DEFAULT_OUTPUTS), year=args.year,
                         households=args.households, years=args.years, overrides=args.overrides,
                         chunk_size=args.chunk_size)
    sweep = open_sweep(out, spec, bool(args.resume), overwrite=args.overwrite)
    s = sweep.spec
    done = sweep.done_chunks()
    for note in design_notes(s):
        log.warning(note)
    if args.workers is not None and args.backend != "serial" and args.workers > sweep.n_runs:
        log.warning(f"--workers {args.workers} but only {sweep.n_runs} runs; at most {sweep.n_runs} workers "
                    "will have work")
    args.resume_dir = out  # for the interruption message (ruralabm/cli.py)
    with executor_from_args(args) as ex:
        print(f"sweep of {s['scenario']}: {s['design']} design, {sweep.n_points} points x {s['reps']} reps = "
              f"{sweep.n_runs} runs in {sweep.n_chunks} chunks ({len(done)} already done) on {ex.describe()}; "
              f"writing {out}", flush=True)
        try:
            manifest = sweep.run(ex, progress=args.progress)
        except WorkerCrashed as exc:
            print(f"error: {exc}; continue with: ruralabm sweep --resume {out}", file=sys.stderr)
            return 1
    c = manifest["counts"]
    print(f"{c['ok']} runs ok, {c['failed']} failed, {c['pending']} pending")
    if manifest["complete"]:
        finish(sweep)
        idx = pd.read_csv(out / "sensitivity.csv") if (out / "sensitivity.csv").stat().st_size > 1 else pd.DataFrame()
        if not idx.empty:
            print(text_table(idx.map(lambda v: f"{v:.3g}" if isinstance(v, float) else v)))
        print(f"wrote {out}/report.md, results.parquet, points.csv, sensitivity.csv, figures/")
    if c["ok"] == 0 and c["failed"] > 0:
        print(f"error: every run failed; the errors are in {out}/manifest.json", file=sys.stderr)
        return 1
    return 0


def _read_stored_spec(out: Path) -> dict:
    from ruralabm.model.params import ParameterError

    try:
        return json.loads((out / "manifest.json").read_text())["spec"]
    except (OSError, ValueError, KeyError):
        raise ParameterError(f"--resume {out}: no sweep there (manifest.json not found or unreadable)") from None


def register(sub) -> None:
    p = sub.add_parser("sweep", help="parameter sweep / sensitivity analysis (grid, lhs, sobol, morris), resumable",
                       description="Vary parameters of a scenario over a design, run every point, write results "
                                   "chunk by chunk, and compute sensitivity indices.")
    p.add_argument("--scenario", default=None, help="scenario name or .toml path (default mixed)")
    p.add_argument("--param", dest="params", action="append", default=[], metavar="NAME=LOW:HIGH",
                   help="parameter and range, e.g. shocks.disaster_probability=0.05:0.3; list entries as "
                        "shocks.price_volatility[1]=0.05:0.3 (repeatable)")
    p.add_argument("--design", choices=DESIGNS, default=None, help="design (default lhs)")
    p.add_argument("--samples", type=positive_int, default=None,
                   help="grid: levels per parameter; lhs: points; sobol: base samples N (N(k+2) points, a power of "
                        "2 is best); morris: trajectories (N(k+1) points). Default 16")
    p.add_argument("--reps", type=positive_int, default=None, help="replications per design point (default 2)")
    p.add_argument("--outputs", default=None,
                   help=f"comma-separated outputs (default {','.join(DEFAULT_OUTPUTS)}); choose from {', '.join(METRICS)}")
    p.add_argument("--year", type=int, default=None, help="year the outputs are read at (default: last simulated year)")
    p.add_argument("--out", default=None, help="output directory (default runs/sweep)")
    p.add_argument("--resume", metavar="DIR", default=None, help="continue the interrupted sweep in DIR")
    add_overwrite_option(p)
    p.add_argument("--chunk-size", type=positive_int, default=None, help="runs per result file (default ~n_runs/50)")
    add_overrides_option(p, help="override a scenario parameter for every run (repeatable)")
    p.add_argument("--households", type=positive_int, help="number of households (population.n_households)")
    p.add_argument("--years", type=positive_int, help="number of simulated years from calendar.start_year")
    p.add_argument("--seed", type=int, default=None, help="master seed (default 0)")
    add_executor_options(p)
    p.set_defaults(func=run_sweep)
