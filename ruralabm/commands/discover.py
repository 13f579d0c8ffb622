"""Subcommand ``discover``: scenario discovery (EMA Workbench's PRIM) on a finished sweep."""
from __future__ import annotations

from pathlib import Path

from .common import add_overwrite_option

# Mirrors of ruralabm.ema's defaults, so that parsing imports nothing heavy (tests/test_ema.py
# checks they agree).
DEFAULT_OUT = "runs/discover"
BAD_DIRECTIONS = ("above", "below")
CASES = ("points", "runs")


def run_discover(args) -> int:
    from ruralabm.ema import discover, write_discovery
    from ruralabm.scenarios.outputs import check_writable

    out = Path(args.out)
    check_writable(out)
    d = discover(args.sweep, args.outcome, args.threshold, bad=args.bad, density=args.density,
                 peel_alpha=args.peel_alpha, paste_alpha=args.paste_alpha, mass_min=args.mass_min, cases=args.cases)
    files = write_discovery(d, out, overwrite=args.overwrite)
    s, t = d.settings, d.trajectory
    print(f"discover: {int(d.y.sum())} of {len(d.y)} cases have {s['outcome']} {s['bad']} {s['threshold']:g} in "
          f"{s['year']}; PRIM found {len(t)} boxes")
    lim = d.limits[(d.limits["box"] == d.chosen) & d.limits["restricted"]]
    print(f"box {d.chosen}: coverage {100 * t['coverage'].iloc[d.chosen]:.1f}%, density "
          f"{100 * t['density'].iloc[d.chosen]:.1f}%, mass {100 * t['mass'].iloc[d.chosen]:.1f}%")
    for r in lim.itertuples():
        print(f"  {r.parameter} in [{r.lower:.4g}, {r.upper:.4g}]")
    for note in d.notes:
        print(f"note: {note}")
    print(f"wrote {out}/" + ", ".join(f.relative_to(out).as_posix() for f in files if f.parent == out) + ", figures/")
    return 0


def register(sub) -> None:
    p = sub.add_parser("discover", help="scenario discovery: PRIM boxes where an outcome of a finished sweep is bad",
                       description="Run PRIM (EMA Workbench) on a finished `ruralabm sweep`: find the boxes of the "
                                   "swept parameters where an outcome (at the sweep's --year) is above or below a "
                                   "threshold. Writes the peeling trajectory and every box's limits with coverage "
                                   "and density (CSV), report.md and figures. Needs the ema extra: "
                                   "pip install -e \".[ema]\".")
    p.add_argument("--sweep", required=True, metavar="DIR", help="output directory of a finished ruralabm sweep")
    p.add_argument("--outcome", required=True, metavar="KEY",
                   help="one of the sweep's --outputs, e.g. poverty_national")
    p.add_argument("--threshold", required=True, type=float, help="the outcome is bad beyond this value, e.g. 0.05")
    p.add_argument("--bad", choices=BAD_DIRECTIONS, default=None,
                   help="bad above or below the threshold (default: above for poverty, vulnerability and the "
                        "median exit date, below for the others)")
    p.add_argument("--cases", choices=CASES, default="points",
                   help="points: each design point's mean over its replications (default); runs: every run")
    p.add_argument("--density", type=float, default=0.8,
                   help="PRIM's threshold: share of cases of interest a box must reach (default 0.8)")
    p.add_argument("--peel-alpha", type=float, default=0.05, help="PRIM's peeling fraction (default 0.05)")
    p.add_argument("--paste-alpha", type=float, default=0.05, help="PRIM's pasting fraction (default 0.05)")
    p.add_argument("--mass-min", type=float, default=0.05, help="PRIM's smallest box, share of cases (default 0.05)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    add_overwrite_option(p)
    p.set_defaults(func=run_discover)
