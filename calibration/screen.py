"""Which parameters do the targets respond to? An identification screen for the Bayesian calibration.

For a list of candidate parameters with their boxes, the Jacobian of every fitted (and held-out)
statistic is taken by central differences at a point (5% of each box either side, common random
numbers, the same machinery as :mod:`calibration.report`), and the identification table gives how
many distance units (the target's SE or tolerance) a statistic moves when a parameter moves by a
tenth of its box. A candidate is *identified* when a smooth fitted statistic (everything but the
matching estimates) moves by at least ``THRESHOLD`` units, or a matching estimate by more than its
screening noise (``NOISY``: central differences at 2 replications of Cao's PSM % carry about 0.7
units of noise, the kernel ATTs about 1.5). The screen behind the parameter list of
:data:`calibration.bayes.BAYES_PARAMS`:

    python -m ruralabm.calibration.screen --out runs/bayes_screen --reps 2 --workers 2

A parameter that acts through rare discrete events is screened with a wider step at the calibrated
point; the cooperatives' yearly failure probability, whose closures a 5% step at 2 replications does
not flip, is identified by (docs/calibration_bayes.md, "The cooperatives' failure probability in the
search")::

    python -m ruralabm.calibration.screen --out runs/screen_failure_wide --reps 8 --workers 2 \
        --only cooperative.failure_probability --scenario calibrated --step 0.5

Every simulation is stored (``DIR/screen_evaluations.jsonl``) and reused when the screen is run again.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ruralabm.scenarios import load as load_scenario
from ruralabm.scenarios.executor import make_executor, progress_bar, replication_seeds

from .boxes import EFFECT_SIZES, boxed
from .objective import ParamSpace, Targets, current_value, settings_from
from .report import STEP, identification, jacobian
from .search import Store

THRESHOLD = 0.25  # distance units per 10% of the box: below it, no smooth fitted statistic responds
NOISY = {"cao.psm_pct.": 1.5, "clds.t4.att.": 3.0}  # matching estimates: prefix -> threshold

# Candidates: the point calibration's twelve (ruralabm/commands/calibrate.py DEFAULT_PARAMS) and the
# national world's parameters that plausibly move a target (selection into participation, the dibao,
# work and migration, organisation capacity, the survey's recall error, the exit campaign, learning and
# social capital, which the Cao orderings compare). Boxes: the point calibration's, or about +-50% of
# the world's value (scenarios/world.toml, fitted by benchmarks/fit_world.py or sourced) where the
# parameter's source gives no range.
CANDIDATES = boxed(EFFECT_SIZES + [
    "policy.subsidy_per_capita",
    "economy.farm_productivity_growth",
    "participation.subsidy_effect",
    "participation.machine_effect",
    "participation.job_effect",
    "participation.registered_poor_effect",
    "participation.expected_gain_effect",
    "policy.subsidy_threshold",
    "policy.subsidy_growth",
    "labour.migrate_rate",
    "labour.local_job_rate",
    "economy.business_return",
    "linkage.cooperative_capacity_share",
    "linkage.enterprise_capacity_share",
    "survey.clds_error_persistence",
    "campaign.application_margin",
    "campaign.deadline_announce",
    "registration.assessment_error",
    "learning.form_information_gain",
    "cooperative.social_capital_gain",
    "learning.training_skill_gain",
    "county.machinery_org_growth",
    "enterprise.contract_premium",
    "cooperative.failure_probability",
])


@dataclass
class _Cal:  # what report.jacobian needs of a calibration
    space: ParamSpace
    settings: dict


def centre(space: ParamSpace, scenario: str, point: dict | None = None, step: float = STEP) -> dict:
    """The screening point: ``point`` where it names a parameter, else the scenario's own value,
    kept ``step`` of the box inside it (at the box's middle when the step is half the box or more)."""
    base = load_scenario(scenario).params
    out = {}
    for n, lo, hi in zip(space.names, space.low, space.high):
        v = (point or {}).get(n, current_value(base, n))
        margin = min(step, 0.5) * (hi - lo)
        out[n] = float(np.clip(v, lo + margin, hi - margin))
    return out


def screen(candidates: list[str], out: Path, executor, reps: int = 2, seed: int = 2026, point: dict | None = None,
           targets: str | None = None, progress: bool = True, scenario: str | None = None,
           step: float = STEP) -> pd.DataFrame:
    """The identification table of ``candidates`` (rows: fitted and held-out statistics; columns:
    parameters; a ``fitted`` column) and, per parameter, the largest response of a fitted statistic.

    ``scenario`` replaces the targets' scenario (the other parameters' values); ``step`` is the share
    of each box either side of the point (a wider step for a parameter that acts through rare
    discrete events, such as cooperative closures, which a 5% step at 2 replications may not flip)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tg = Targets.load(targets)
    settings = settings_from(tg)
    if scenario is not None:
        settings["scenario"] = scenario
    space = ParamSpace.parse(candidates)
    x0 = centre(space, settings["scenario"], point, step)
    keys = sorted({t.key for t in tg.targets if t.weight > 0} | tg.needed_keys())
    store = Store(out / "screen_evaluations.jsonl", space.names)
    store.load()
    seeds = replication_seeds(seed, reps)
    bar = progress_bar(2 * space.dim * reps, "screening", progress)
    D, _ = jacobian(_Cal(space, settings), store, x0, seeds, keys, executor, bar, step=step)
    bar.close()
    ident = identification(tg, D, space)
    held = {t.key for t in tg.targets if t.info.get("held_out")}
    ident.insert(1, "held_out", [k in held for k in ident.index])
    fitted = ident[ident["fitted"] & ~ident["held_out"]].drop(columns=["fitted", "held_out"])
    noisy = [k for k in fitted.index if k.startswith(tuple(NOISY))]
    smooth = fitted.drop(index=noisy)
    limit = pd.Series({k: next(v for p, v in NOISY.items() if k.startswith(p)) for k in noisy}, dtype=float)
    summary = pd.DataFrame({"parameter": space.names, "low": space.low, "high": space.high,
                            "at": [x0[n] for n in space.names],
                            "max_smooth": [float(np.nanmax(np.abs(smooth[n].to_numpy()))) for n in space.names],
                            "most_responsive_smooth": [str(smooth[n].abs().idxmax()) for n in space.names],
                            "max_matching": [float(np.nanmax(np.abs(fitted.loc[noisy, n].to_numpy()))) for n in space.names],
                            "most_responsive_matching": [str(fitted.loc[noisy, n].abs().idxmax()) for n in space.names]})
    summary["identified"] = [bool(ms >= THRESHOLD or (fitted.loc[noisy, n].abs() >= limit).any())
                             for n, ms in zip(space.names, summary["max_smooth"])]
    ident.to_csv(out / "identification.csv")
    summary.to_csv(out / "screen.csv", index=False)
    (out / "screen.json").write_text(json.dumps({"candidates": candidates, "point": x0, "reps": reps, "seed": seed,
                                                 "step": step, "threshold": THRESHOLD, "settings": settings},
                                                indent=2))
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="runs/bayes_screen")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--point", help="result.json of a point calibration: screen at its best values")
    ap.add_argument("--scenario", help="the scenario whose values the other parameters take (default: the targets')")
    ap.add_argument("--only", help="comma-separated candidates to screen (default: all)")
    ap.add_argument("--step", type=float, default=STEP, help="share of each box either side of the point (default %(default)s)")
    args = ap.parse_args(argv)
    point = json.loads(Path(args.point).read_text())["best"] if args.point else None
    candidates = CANDIDATES
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        known = {c.split("=")[0] for c in CANDIDATES}
        unknown = [n for n in names if n not in known]
        if unknown:
            ap.error(f"--only: {', '.join(unknown)} not among the screen's candidates ({', '.join(sorted(known))})")
        candidates = [c for c in CANDIDATES if c.split("=")[0] in names]
    if not 0 < args.step <= 0.5:
        ap.error(f"--step: {args.step} is not in (0, 0.5] (a share of the box either side of the point)")
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    with make_executor("processes", workers=args.workers) as ex:
        summary = screen(candidates, Path(args.out), ex, reps=args.reps, seed=args.seed, point=point,
                         scenario=args.scenario, step=args.step)
    print(summary.sort_values("max_smooth", ascending=False).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
