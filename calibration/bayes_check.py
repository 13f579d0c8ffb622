"""A small recovery check of the Bayesian calibration, fast enough for CI (tests/test_bayes.py).

The machinery of :mod:`calibration.bayes` (runs stored by wave, Gaussian-process emulators fitted
on the executor, the quasi-likelihood and emcee) on a small world: 6,000 households in 20 counties,
samples of 600, the two parameters of the point calibration's recovery check
(:mod:`calibration.recovery`: cooperative coverage and the poverty-alleviation transfer) and the
targets that identify them. One Sobol wave of ``RUNS`` runs over the box trains the emulators;
then, at each of ``TRUTHS`` known parameter vectors, two fresh replications (seeds never used in
training) give synthetic "published" statistics (their mean plus a draw of the likelihood's noise,
N(0, scale^2)), and the posterior is sampled. Returned: per (truth, parameter) the 90% credible
interval and whether it covers the truth.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import bayes
from . import emulator as emu
from .objective import ParamSpace
from .recovery import BOXES, SETTINGS, TARGETS

RUNS = 64
TRUTHS_UNIT = [(0.3, 0.3), (0.7, 0.35), (0.35, 0.7), (0.65, 0.65)]  # truths in the unit square of the box
REPS = 2
SEED = 11


def write_targets(path: Path) -> None:
    """A targets file with the check's statistics and scales (values are replaced by the synthetic ones)."""
    lines = ['[meta]', 'description = "small Bayesian recovery check"', "", "[settings]"]
    lines += [f"{k} = {v!r}" for k, v in SETTINGS.items()]
    lines.append("")
    for key, scale in TARGETS.items():
        lines += ["[[target]]", f'key = "{key}"', "value = 0.0", f"scale = {scale!r}", "weight = 1.0", ""]
    Path(path).write_text("\n".join(lines))


def run(out: Path, executor, walkers: int = 16, steps: int = 500, burn: int = 200) -> pd.DataFrame:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_targets(out / "targets.toml")
    cfg = bayes.make_config(params=BOXES, targets=str(out / "targets.toml"), waves=[RUNS], tempering=[], seed=SEED,
                            walkers=walkers, steps=steps, burn=burn, posterior_size=2000, ppc_draws=2)
    cal = bayes.BayesCalibration(cfg, out, executor, progress=False, log=None)
    space: ParamSpace = cal.space
    u = cal.design(1)
    bayes.run_points(cal.store, 1, [space.to_params(r) for r in u], cal.fitting.emulated_keys(), cal.settings, SEED,
                     executor)
    em, runs_u = cal.emulator([1])
    rng = np.random.default_rng(SEED)
    var0 = np.array([t.sd ** 2 / t.weight for t in cal.fitting.fitted])
    rows = []
    for t, unit in enumerate(TRUTHS_UNIT):
        truth = space.to_params(np.array(unit))
        bayes.run_points(cal.store, 1000 + t, [truth] * REPS, cal.fitting.emulated_keys(), cal.settings, SEED, executor)
        runs = cal.store.runs([1000 + t])
        observed = {ft.key: float(np.nanmean([r["stats"].get(ft.key, np.nan) for r in runs])) + e
                    for ft, e in zip(cal.fitting.fitted, rng.standard_normal(len(var0)) * np.sqrt(var0))}
        lik = bayes.Likelihood(cal.fitting, em, observed=observed)
        lik.var0 = lik.var0 + em.nuggets()[lik.fit_idx] / len(runs)
        draws, _, _ = bayes.sample_posterior(lik, space.dim, runs_u, 1.0, seed=SEED * 100 + t, walkers=walkers,
                                             steps=steps, burn=burn, size=2000)
        x = space.low + draws * (space.high - space.low)
        for j, name in enumerate(space.names):
            q05, q95 = np.quantile(x[:, j], [0.05, 0.95])
            rows.append({"truth_index": t, "parameter": name, "truth": truth[name], "q05": q05, "q95": q95,
                         "covered": bool(q05 <= truth[name] <= q95),
                         "width_share": (q95 - q05) / (space.high[j] - space.low[j])})
    return pd.DataFrame(rows)


__all__ = ["run", "RUNS", "TRUTHS_UNIT", "emu"]
