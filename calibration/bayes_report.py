"""Report of a Bayesian calibration: the fit table with posterior predictive checks, the posterior
figures, recovery on synthetic truth, and the shipped files.

Fit table (``fit.csv``; the shipped copy is docs/calibration/fit.csv), one row per published target,
official pattern and ordering:

* ``role``: ``fitted`` (enters the likelihood), ``held_out`` (marked before fitting; never enters
  it), ``monitored`` (weight 0 in targets.toml, or a pattern of a group the targets file does not
  fit, e.g. the county exits, which are fitted as ``counties.exit_share``) or ``ordering``;
* ``published``, ``se_or_tolerance`` (the published SE, or the stated tolerance; for patterns half
  the pattern's tolerance, so that within the tolerance = within 2 of them);
* ``simulated_mean``, ``simulated_sd``: mean and SD of the statistic over the posterior predictive
  runs (each a posterior draw and a fresh seed, through the papers' estimators on a simulated
  survey: parameter and stochastic uncertainty together);
* ``z`` = (simulated_mean - published) / se_or_tolerance and ``met`` = |z| <= 2 (the point
  calibration's criterion, applied to the posterior predictive mean);
* ``z_predictive`` = (simulated_mean - published) / sqrt(se_or_tolerance^2 + simulated_sd^2) and
  ``met_predictive`` (is the published number inside the posterior predictive distribution of a
  published number?), reported beside, never used for ``met``;
* orderings: ``simulated_mean`` is the smallest slack over the ordering's pairs of the predictive
  means (high - low - margin), ``simulated_sd`` its SD over runs, ``published`` 0, ``met`` = every
  pair holds on the predictive means (the point calibration's criterion), ``p_holds`` the share of
  runs in which every pair holds in that one simulated survey;
* ``note``: where the papers contradict each other or themselves on this number (targets.toml
  ``[[inconsistency]]``), what and how it is treated.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ruralabm.analysis.estimators.tables import markdown_table
from ruralabm.model.params import ParameterError

from . import bayes
from .patterns import load_patterns

FIT_COLUMNS = ["key", "role", "published", "se_or_tolerance", "simulated_mean", "simulated_sd", "z", "met",
               "z_predictive", "met_predictive", "p_holds", "n_runs", "note"]
SHIPPED_POSTERIOR = Path(__file__).resolve().parent / "posterior.parquet"
SHIPPED_PROVENANCE = Path(__file__).resolve().parent / "posterior.json"


def ppc_frame(cal: bayes.BayesCalibration) -> pd.DataFrame:
    store = bayes.SimStore(cal.out / bayes.PPC)
    runs = store.runs([0])
    if not runs:
        raise ParameterError(f"{cal.out}: no posterior predictive runs yet; continue with "
                             f"ruralabm {bayes.COMMAND} --resume {cal.out}")
    return pd.DataFrame([r["stats"] for r in runs])


def _note(key: str, inconsistencies: list[dict]) -> str:
    hits = [i for i in inconsistencies if key == i["key"] or key.startswith(i["key"] + ".")]
    return " | ".join(f"inconsistency in the paper ({i['key']}): {i['text']} Treatment: {i['treatment']}"
                      for i in hits)


def fit_table(fitting: bayes.Fitting, ppc: pd.DataFrame) -> pd.DataFrame:
    rows = []
    fitted = {t.key for t in fitting.fitted}
    inc = fitting.targets.inconsistencies

    def stat(key):
        v = ppc[key].to_numpy(float) if key in ppc else np.full(len(ppc), np.nan)
        v = v[np.isfinite(v)]
        return (float(v.mean()) if v.size else np.nan, float(v.std(ddof=1)) if v.size > 1 else np.nan, int(v.size))

    def row(key, role, published, sd, note=""):
        m, s, n = stat(key)
        z = (m - published) / sd if np.isfinite(m) else np.nan
        zp = (m - published) / np.sqrt(sd ** 2 + (s if np.isfinite(s) else 0.0) ** 2) if np.isfinite(m) else np.nan
        rows.append({"key": key, "role": role, "published": published, "se_or_tolerance": sd, "simulated_mean": m,
                     "simulated_sd": s, "z": z, "met": bool(np.isfinite(z) and abs(z) <= 2),
                     "z_predictive": zp, "met_predictive": bool(np.isfinite(zp) and abs(zp) <= 2),
                     "p_holds": np.nan, "n_runs": n, "note": note})

    for t in fitting.targets.targets:
        if t.key.startswith("patterns."):
            continue  # listed with the patterns below
        role = "held_out" if t.info.get("held_out") else "fitted" if t.key in fitted else "monitored"
        row(t.key, role, t.value, t.sd, _note(t.key, inc))
    for p in load_patterns().patterns:
        key = f"patterns.{p.key}"
        low, high = p.band
        role = "held_out" if p.held_out else "fitted" if key in fitted else "monitored"
        note = "" if role != "monitored" else "not in the targets file's patterns_groups" + (
            " (fitted as counties.exit_share)" if p.group == "county_exits" else "")
        row(key, role, float(p.official), (high - low) / 4.0, note)
    for o in fitting.targets.orderings:
        pairs = [(h, lo) for h in o.high for lo in o.low]
        means = {k: stat(k)[0] for k in o.high + o.low}
        slack = [means[h] - means[lo] - o.margin for h, lo in pairs]
        per_run = np.column_stack([ppc.get(h, np.nan) - ppc.get(lo, np.nan) - o.margin for h, lo in pairs]) \
            if len(ppc) else np.empty((0, len(pairs)))
        # a run whose survey gave none of the pair's estimates has no worst pair (NaN, no warning)
        worst = np.full(len(per_run), np.nan)
        some = np.isfinite(per_run).any(axis=1) if per_run.size else np.zeros(0, dtype=bool)
        worst[some] = np.nanmin(per_run[some], axis=1)
        ok = np.isfinite(worst)
        m = float(np.min(slack)) if all(np.isfinite(slack)) else np.nan
        s = float(np.std(worst[ok], ddof=1)) if ok.sum() > 1 else np.nan
        detail = "; ".join(f"{h.split('.')[-2] + '.' + h.split('.')[-1]} {means[h]:.3f} > "
                           f"{lo.split('.')[-2] + '.' + lo.split('.')[-1]} {means[lo]:.3f}" for h, lo in pairs)
        note = f"predictive means: {detail}" + (f" (margin {o.margin:g})" if o.margin else "")
        contra = _note(o.name, inc)
        rows.append({"key": f"ordering.{o.name}", "role": "ordering", "published": 0.0, "se_or_tolerance": o.scale,
                     "simulated_mean": m, "simulated_sd": s, "z": m / o.scale if np.isfinite(m) else np.nan,
                     "met": bool(np.isfinite(m) and m > 0), "z_predictive": np.nan, "met_predictive": False,
                     "p_holds": float(np.mean(worst[ok] > 0)) if ok.any() else np.nan, "n_runs": int(ok.sum()),
                     "note": note + (" | " + contra if contra else "")})
    return pd.DataFrame(rows, columns=FIT_COLUMNS)


def acceptance(fit: pd.DataFrame) -> dict:
    def share(role, col="met"):
        g = fit[fit["role"] == role]
        return int(g[col].sum()), len(g)

    out = {"fitted": share("fitted"), "held_out": share("held_out"), "orderings": share("ordering"),
           "fitted_predictive": share("fitted", "met_predictive"),
           "held_out_predictive": share("held_out", "met_predictive")}
    out["meets"] = {"fitted_80pct": out["fitted"][0] >= 0.8 * out["fitted"][1],
                    "held_out_70pct": out["held_out"][0] >= 0.7 * out["held_out"][1],
                    "orderings_4_of_5": out["orderings"][0] >= min(4, out["orderings"][1])}
    return out


def verdict_uncertainty(fitting: bayes.Fitting, ppc: pd.DataFrame, fit: pd.DataFrame, resamples: int = 1000,
                        seed: int = 0) -> tuple[pd.Series, dict]:
    """How much of the fit table's verdicts is the Monte Carlo noise of a finite predictive check.

    The predictive runs are resampled with replacement (``resamples`` bootstrap samples of the
    same size, a fixed seed); in each, every row's verdict is taken again by the fit table's rule
    (a target or pattern: predictive mean within 2 SE or half the tolerance; an ordering: every
    pair holds on the predictive means). Returns ``p_met`` (per fit-table key, the share of
    resamples in which the row is met) and, per acceptance criterion and for all three together,
    the share of resamples in which it holds. A verdict with ``p_met`` near 0.5 would flip with
    another set of predictive runs (``--ppc-draws`` on resume adds runs)."""
    n = len(ppc)
    rng = np.random.default_rng(seed)
    counts = np.zeros((resamples, n))
    for b in range(resamples):
        np.add.at(counts[b], rng.integers(0, n, n), 1.0)

    def means(key):
        if key not in ppc:
            return np.full(resamples, np.nan)
        v = ppc[key].to_numpy(float)
        ok = np.isfinite(v)
        w = counts[:, ok]
        tot = w.sum(axis=1)
        return np.divide(w @ v[ok], tot, out=np.full(resamples, np.nan), where=tot > 0)

    met = {}
    for r in fit.itertuples(index=False):
        if r.role == "ordering":
            continue
        m = means(r.key)
        met[r.key] = np.isfinite(m) & (np.abs(m - r.published) <= 2.0 * r.se_or_tolerance)
    for o in fitting.targets.orderings:
        m = {k: means(k) for k in o.high + o.low}
        slack = np.column_stack([m[h] - m[lo] - o.margin for h in o.high for lo in o.low])
        met[f"ordering.{o.name}"] = np.isfinite(slack).all(axis=1) & (np.nan_to_num(slack, nan=-1.0) > 0).all(axis=1)
    p_met = pd.Series({k: float(v.mean()) for k, v in met.items()}, name="p_met")

    def holds(role, share):
        keys = fit.loc[fit["role"] == role, "key"]
        if not len(keys):
            return np.ones(resamples, dtype=bool)
        k = np.column_stack([met[key] for key in keys]).sum(axis=1)
        return k >= share * len(keys)

    crit = {"fitted_80pct": holds("fitted", 0.8), "held_out_70pct": holds("held_out", 0.7),
            "orderings_4_of_5": holds("ordering", min(4, int((fit["role"] == "ordering").sum())) /
                                      max(1, int((fit["role"] == "ordering").sum())))}
    out = {k: float(v.mean()) for k, v in crit.items()}
    out["all"] = float(np.logical_and.reduce(list(crit.values())).mean())
    out["resamples"] = resamples
    return p_met, out


# ---------------------------------------------------------------------------------------------
# Figures


def _short(name: str, names) -> str:
    """A figure label: the parameter's key without its section, unless another of ``names`` (the
    calibration's parameters) has the same key (``cooperative.`` and ``enterprise.training_probability``)."""
    key = name.rpartition(".")[2]
    return key if sum(n.rpartition(".")[2] == key for n in names) == 1 else name


def figure_marginals(post: pd.DataFrame, space, path: Path, point: dict | None = None) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = space.dim
    cols = 4
    rows = int(np.ceil(d / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 2.1 * rows), squeeze=False)
    for j, name in enumerate(space.names):
        ax = axes[j // cols][j % cols]
        ax.hist(post[name], bins=30, range=(space.low[j], space.high[j]), color="tab:blue", alpha=0.75,
                density=True, label="posterior")
        ax.axhline(1.0 / (space.high[j] - space.low[j]), color="0.5", ls=":", lw=1, label="prior (uniform)")
        q = post[name].quantile([0.05, 0.5, 0.95]).to_numpy()
        ax.axvline(q[1], color="black", lw=1)
        ax.axvspan(q[0], q[2], color="tab:blue", alpha=0.1)
        if point and name in point:
            ax.axvline(point[name], color="tab:red", ls="--", lw=1, label="point calibration")
        ax.set_xlim(space.low[j], space.high[j])
        ax.set_title(_short(name, space.names), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    for j in range(d, rows * cols):
        axes[j // cols][j % cols].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=8, frameon=False)
    fig.suptitle("Posterior marginals (median, 90% interval shaded) over the prior box", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def most_constrained(post: pd.DataFrame, space, k: int = 6) -> list[str]:
    """The k parameters whose 90% interval is the smallest share of their box."""
    width = {n: (post[n].quantile(0.95) - post[n].quantile(0.05)) / (hi - lo)
             for n, lo, hi in zip(space.names, space.low, space.high)}
    return sorted(width, key=width.get)[:k]


def figure_pairs(post: pd.DataFrame, space, path: Path, names: list[str]) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(names)
    box = {n: (lo, hi) for n, lo, hi in zip(space.names, space.low, space.high)}
    sub = post[names].sample(n=min(1500, len(post)), random_state=0)
    fig, axes = plt.subplots(k, k, figsize=(1.9 * k, 1.9 * k), squeeze=False)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = axes[i][j]
            if i == j:
                ax.hist(post[a], bins=25, range=box[a], color="tab:blue", alpha=0.75)
                ax.set_yticks([])
            elif i > j:
                ax.scatter(sub[b], sub[a], s=2, alpha=0.25, color="tab:blue", rasterized=True)
                ax.set_ylim(box[a])
            else:
                ax.axis("off")
                r = np.corrcoef(post[a], post[b])[0, 1]
                ax.text(0.5, 0.5, f"r = {r:+.2f}", ha="center", va="center", fontsize=9)
                continue
            ax.set_xlim(box[b])
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(_short(b, space.names), fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(_short(a, space.names), fontsize=7)
    fig.suptitle("Posterior pairs of the most constrained parameters (correlations above the diagonal)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def figure_predictive(fit: pd.DataFrame, ppc: pd.DataFrame, path: Path) -> Path:
    """Fitted and held-out rows: the posterior predictive 90% interval of (statistic - published) /
    se_or_tolerance, with the mean; the band |z| <= 2 shaded."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = fit[fit["role"].isin(["fitted", "held_out"])].copy()
    rows = rows.sort_values(["role", "key"], ascending=[True, True]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9.5, 0.22 * len(rows) + 1.2))
    for i, r in rows.iterrows():
        v = ppc[r["key"]].to_numpy(float) if r["key"] in ppc else np.array([np.nan])
        v = (v[np.isfinite(v)] - r["published"]) / r["se_or_tolerance"]
        colour = "tab:blue" if r["role"] == "fitted" else "tab:orange"
        if v.size:
            lo, hi = np.quantile(v, [0.05, 0.95])
            ax.plot([np.clip(lo, -12, 12), np.clip(hi, -12, 12)], [i, i], color=colour, lw=2, alpha=0.6)
            ax.plot(np.clip(v.mean(), -12, 12), i, "o", color=colour, ms=4)
    ax.axvspan(-2, 2, color="0.9", zorder=0)
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{k.replace('patterns.', 'pattern ')}{' (held out)' if role == 'held_out' else ''}"
                        for k, role in zip(rows["key"], rows["role"])], fontsize=6)
    ax.set_xlim(-12, 12)
    ax.invert_yaxis()
    ax.set_xlabel("(simulated - published) / published SE or tolerance; dot: predictive mean, bar: 90% of runs "
                  "(clipped at 12)", fontsize=7)
    ax.set_title("Posterior predictive check: fitted (blue) and held-out (orange) targets and patterns", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# Recovery on synthetic truth


def recovery(cal: bayes.BayesCalibration, executor, truths: int = 8, reps: int = 2, steps: int = 700,
             burn: int = 300, progress: bool = True) -> pd.DataFrame:
    """Coverage of the 90% credible intervals on synthetic truth, for every calibrated parameter.

    Truths: ``truths`` draws of the posterior (where the final emulator is trained). At each truth,
    ``reps`` fresh replications (seeds never used in training) give the synthetic "published"
    statistics: their mean plus a N(0, sd_k^2 / w_k) draw (the likelihood's noise model); the
    likelihood adds the remaining Monte Carlo variance of the mean (nugget / reps). The posterior
    is then sampled with the same emulator and sampler settings as the calibration's. Rows: truth
    x parameter with the truth, the 5%, 50% and 95% posterior quantiles and whether the interval
    covers the truth. Every simulation is stored (``recovery.jsonl``)."""
    post = pd.read_parquet(cal.out / bayes.POSTERIOR)
    cfg = cal.config
    rng = np.random.default_rng([cfg.seed, 7])
    picks = rng.choice(len(post), size=truths, replace=False)
    store = bayes.SimStore(cal.out / "recovery.jsonl")
    keys = cal.fitting.emulated_keys()
    bar = bayes.progress_bar(truths * reps, "recovery", progress)
    points = []
    for t, i in enumerate(picks):
        truth = {n: float(post.iloc[i][n]) for n in cal.space.names}
        points.append(truth)
        bayes.run_points(store, 1000 + t, [truth] * reps, keys, cal.settings, cfg.seed, executor, bar)
    bar.close()
    em, runs_u = cal.final_emulator()
    rows = []
    var0 = np.array([t.sd ** 2 / t.weight for t in cal.fitting.fitted])
    for t, truth in enumerate(points):
        runs = store.runs([1000 + t])
        obs_mean = {k: float(np.nanmean([r["stats"].get(k, np.nan) for r in runs])) for k in keys}
        noise = rng.standard_normal(len(var0)) * np.sqrt(var0)
        observed = {ft.key: obs_mean[ft.key] + e for ft, e in zip(cal.fitting.fitted, noise)}
        lik = bayes.Likelihood(cal.fitting, em, observed=observed)
        lik.var0 = lik.var0 + em.nuggets()[lik.fit_idx] / max(len(runs), 1)
        draws, _, diag = bayes.sample_posterior(lik, cal.space.dim, runs_u, 1.0, seed=cfg.seed * 1000 + 500 + t,
                                                walkers=cfg.walkers, steps=steps, burn=burn, size=2000)
        x = cal.space.low + draws * (cal.space.high - cal.space.low)
        for j, n in enumerate(cal.space.names):
            q05, q50, q95 = np.quantile(x[:, j], [0.05, 0.5, 0.95])
            rows.append({"truth_index": t, "parameter": n, "truth": truth[n], "q05": q05, "median": q50, "q95": q95,
                         "covered": bool(q05 <= truth[n] <= q95),
                         "width_share": (q95 - q05) / (cal.space.high[j] - cal.space.low[j]),
                         "acceptance": diag["acceptance_fraction"]})
    frame = pd.DataFrame(rows)
    frame.to_csv(cal.out / "recovery.csv", index=False)
    return frame


def recovery_summary(frame: pd.DataFrame) -> pd.DataFrame:
    g = frame.groupby("parameter", sort=False)
    return pd.DataFrame({"coverage_90": g["covered"].mean(), "truths": g.size(),
                         "mean_width_share": g["width_share"].mean()}).reset_index()


def figure_recovery(frame: pd.DataFrame, space, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(space.names)
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(names) + 1.3))
    box = {n: (lo, hi) for n, lo, hi in zip(space.names, space.low, space.high)}
    T = frame["truth_index"].nunique()
    for i, n in enumerate(names):
        g = frame[frame["parameter"] == n]
        lo, hi = box[n]
        for _, r in g.iterrows():
            y = i + (r["truth_index"] - (T - 1) / 2) * 0.6 / max(T, 1)
            colour = "tab:green" if r["covered"] else "tab:red"
            ax.plot([(r["q05"] - lo) / (hi - lo), (r["q95"] - lo) / (hi - lo)], [y, y], color=colour, lw=1.2)
            ax.plot((r["truth"] - lo) / (hi - lo), y, "k|", ms=5)
    ax.set_yticks(range(len(names)))
    cov = frame.groupby("parameter")["covered"].mean()
    ax.set_yticklabels([f"{_short(n, names)} ({cov.get(n, np.nan):.0%})" for n in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the prior box; bar: 90% credible interval (green covers the truth |, red misses)",
                  fontsize=7)
    ax.set_title(f"Recovery on synthetic truth: {T} truths, coverage {frame['covered'].mean():.0%} "
                 "(nominal 90%)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def identification_table(cal: bayes.BayesCalibration, em, post: pd.DataFrame, step: float = 0.05) -> pd.DataFrame:
    """The identification table of every calibrated parameter, from the final emulators at the
    posterior median: the change of each fitted statistic's expected value, in units of its SE or
    tolerance, when a parameter moves by 10% of its box (central differences of the emulator mean,
    +-``step`` of the box: free of the replication noise that finite differences of single
    simulations carry). Last rows: the posterior's contraction per parameter (posterior SD / prior
    SD; 1 = the targets say nothing about it) and the largest absolute response."""
    space = cal.space
    med = np.array([(post[n].median() - lo) / (hi - lo) for n, lo, hi in zip(space.names, space.low, space.high)])
    keys = [t.key for t in cal.fitting.fitted]
    idx = [em.keys.index(k) for k in keys]
    sd = np.array([t.sd for t in cal.fitting.fitted])
    cols = {}
    for j, n in enumerate(space.names):
        up, dn = med.copy(), med.copy()
        up[j] = min(1.0, med[j] + step)
        dn[j] = max(0.0, med[j] - step)
        mu, _ = em.predict(up[None, :])
        md, _ = em.predict(dn[None, :])
        cols[n] = (mu[0, idx] - md[0, idx]) / (up[j] - dn[j]) * 0.1 / sd
    table = pd.DataFrame(cols, index=keys)
    prior_sd = 1 / np.sqrt(12)
    contraction = {n: post[n].std() / ((hi - lo) * prior_sd) for n, lo, hi in zip(space.names, space.low, space.high)}
    table.loc["posterior_sd_over_prior_sd"] = pd.Series(contraction)
    table.loc["max_abs_response"] = table.iloc[:-1].abs().max()
    return table


# ---------------------------------------------------------------------------------------------
# Writing


def posterior_summary(post: pd.DataFrame, space, point: dict | None = None) -> pd.DataFrame:
    rows = []
    for n, lo, hi in zip(space.names, space.low, space.high):
        q = post[n].quantile([0.05, 0.5, 0.95]).to_numpy()
        rows.append({"parameter": n, "low": lo, "high": hi, "q05": q[0], "median": q[1], "q95": q[2],
                     "mean": post[n].mean(), "sd": post[n].std(), "width_share_90": (q[2] - q[0]) / (hi - lo),
                     "map": float(post.loc[post["loglik"].idxmax(), n]),
                     "point_calibration": (point or {}).get(n, np.nan)})
    return pd.DataFrame(rows)


def point_calibration(path: Path | None, names: list[str] | None = None) -> dict | None:
    """The point the scenarios use for each calibrated parameter: the best values of a finished
    point calibration (``path``: its result.json), or, without one, the shipped indirect-inference
    point's values of ``names`` (scenario calibrated_point)."""
    if path is not None:
        try:
            return json.loads(Path(path).read_text())["best"]
        except (OSError, ValueError, KeyError, TypeError):
            raise ParameterError(f"--point {path}: not the result.json of a finished point calibration") from None
    if not names:
        return None
    from ruralabm.scenarios import SCENARIO_DIR, load

    from .objective import current_value
    # The indirect-inference point ships as calibrated_point since the posterior median became the
    # calibrated default; before that, calibrated itself held it.
    name = "calibrated_point" if (SCENARIO_DIR / "calibrated_point.toml").exists() else "calibrated"
    params = load(name).params
    return {n: current_value(params, n) for n in names}


def write(cal: bayes.BayesCalibration, *, recovery_frame: pd.DataFrame | None = None, point: dict | None = None,
          figures_dir: Path | None = None) -> dict:
    """fit.csv, posterior_summary.csv, report.md and figures/ in the calibration directory."""
    from ruralabm.scenarios.outputs import atomic_write_text

    out = cal.out
    post = pd.read_parquet(out / bayes.POSTERIOR)
    result = json.loads((out / bayes.RESULT).read_text())
    ppc = ppc_frame(cal)
    fit = fit_table(cal.fitting, ppc)
    acc = acceptance(fit)
    p_met, acc["p_holds"] = verdict_uncertainty(cal.fitting, ppc, fit)
    fit["p_met"] = fit["key"].map(p_met)
    summ = posterior_summary(post, cal.space, point)
    figs = Path(figures_dir or out / "figures")
    figs.mkdir(parents=True, exist_ok=True)
    paths = {"marginals": figure_marginals(post, cal.space, figs / "posterior_marginals.png", point),
             "pairs": figure_pairs(post, cal.space, figs / "posterior_pairs.png", most_constrained(post, cal.space)),
             "predictive": figure_predictive(fit, ppc, figs / "posterior_predictive.png")}
    if recovery_frame is not None:
        paths["recovery"] = figure_recovery(recovery_frame, cal.space, figs / "posterior_recovery.png")
    em = getattr(cal, "em", None)
    if em is None and cal.executor is not None:
        em, _ = cal.final_emulator()
    ident = identification_table(cal, em, post) if em is not None else None
    if ident is not None:
        buf = io.StringIO()
        ident.to_csv(buf)
        atomic_write_text(out / "identification.csv", buf.getvalue())
    buf = io.StringIO()
    fit.to_csv(buf, index=False)
    atomic_write_text(out / "fit.csv", buf.getvalue())
    buf = io.StringIO()
    summ.to_csv(buf, index=False)
    atomic_write_text(out / "posterior_summary.csv", buf.getvalue())
    text = report_text(cal, result, fit, acc, summ, recovery_frame, paths, out, ident)
    atomic_write_text(out / "report.md", text)
    return {"fit": fit, "acceptance": acc, "summary": summ, "figures": paths, "result": result, "text": text,
            "identification": ident}


def _uncertainty_lines(acc: dict, result: dict) -> list[str]:
    ph = acc.get("p_holds")
    if not ph:
        return []
    return [f"Monte Carlo uncertainty of these verdicts ({ph['resamples']} bootstrap resamples of the "
            f"{result['ppc_simulations']} predictive runs; column `p_met` of the fit table per row): the share of "
            f"resamples in which fitted >= 80% holds {ph['fitted_80pct']:.2f}, held out >= 70% "
            f"{ph['held_out_70pct']:.2f}, orderings >= 4 of 5 {ph['orderings_4_of_5']:.2f}, all three "
            f"{ph['all']:.2f}. Near 0.5 a verdict is the predictive runs' noise (`calibrate-bayes --resume DIR "
            f"--ppc-draws N` adds runs); the noise of the posterior itself (another set of simulations) is not "
            f"in it.", ""]


def report_text(cal, result, fit, acc, summ, rec, paths, base: Path, ident: pd.DataFrame | None = None) -> str:
    def rel(p):
        p = Path(p)
        return p.relative_to(base) if p.is_relative_to(base) else p

    lines = ["# Bayesian calibration", "",
             f"Directory `{cal.out}`; method in docs/calibration_bayes.md. {result['simulations']} simulations in "
             f"{len(cal.config.waves)} waves ({', '.join(map(str, cal.config.waves))}), "
             f"{result['ppc_simulations']} posterior predictive runs, {result['failures']} failed runs.", "",
             f"Fitted targets within 2 SE/tolerance (posterior predictive mean): {acc['fitted'][0]} of {acc['fitted'][1]}; "
             f"held out: {acc['held_out'][0]} of {acc['held_out'][1]}; orderings reproduced: {acc['orderings'][0]} of "
             f"{acc['orderings'][1]}. Inside the predictive distribution (z_predictive): fitted "
             f"{acc['fitted_predictive'][0]} of {acc['fitted_predictive'][1]}, held out "
             f"{acc['held_out_predictive'][0]} of {acc['held_out_predictive'][1]}.", "",
             *_uncertainty_lines(acc, result),
             f"MCMC: {result['mcmc']['walkers']} walkers x {result['mcmc']['steps']} steps (burn-in "
             f"{result['mcmc']['burn']}), acceptance {result['mcmc']['acceptance_fraction']:.2f}, largest integrated "
             f"autocorrelation time {result['mcmc']['autocorr_time_max'] or float('nan'):.0f} steps.", "",
             "## Posterior", "", markdown_table(summ, "{:.4g}"), "",
             f"![marginals]({rel(paths['marginals'])})", "", f"![pairs]({rel(paths['pairs'])})", "",
             "## Fit table (posterior predictive)", "",
             markdown_table(fit.drop(columns=["note"]), "{:.4g}", bools=("yes", "no")), "",
             f"![predictive]({rel(paths['predictive'])})", ""]
    if ident is not None:
        shown = ident.T.reset_index().rename(columns={"index": "parameter"})
        lines += ["## Identification", "",
                  "Change of each fitted statistic's expected value (final emulators, posterior median), in units of "
                  "its SE or tolerance, per 10% of the parameter's box; `posterior_sd_over_prior_sd` is the "
                  "posterior's contraction (1: the targets say nothing). Parameters in rows.", "",
                  markdown_table(shown, "{:.2f}"), ""]
    if rec is not None:
        rs = recovery_summary(rec)
        lines += ["## Recovery on synthetic truth", "",
                  f"{rec['truth_index'].nunique()} truths drawn from the posterior; coverage of the 90% credible "
                  f"intervals over every (truth, parameter): {rec['covered'].mean():.1%} of {len(rec)}.", "",
                  markdown_table(rs, "{:.3g}"), "", f"![recovery]({rel(paths['recovery'])})", ""]
    notes = fit[fit["note"].astype(str).str.len() > 0][["key", "role", "met", "note"]]
    if len(notes):
        lines += ["## Notes", "", markdown_table(notes, bools=("yes", "no")), ""]
    return "\n".join(lines)


def ship(cal: bayes.BayesCalibration, rep: dict, *, posterior: Path = SHIPPED_POSTERIOR,
         provenance: Path = SHIPPED_PROVENANCE, fit_csv: Path | None = None, figures: Path | None = None,
         recovery_frame: pd.DataFrame | None = None, point: dict | None = None,
         scenario_default: str | None = None) -> list[Path]:
    """The shipped copies: the posterior sample (Parquet) with its provenance (JSON beside it), the
    fit table and the figures (written with the shipped names)."""
    import hashlib
    import shutil

    from ruralabm.scenarios.outputs import atomic_write_bytes, atomic_write_text
    from ruralabm.scenarios.provenance import git_commit, package_version

    data = (cal.out / bayes.POSTERIOR).read_bytes()
    for path in (posterior, provenance):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(posterior), data)
    prov = {"file": Path(posterior).name, "sha256": hashlib.sha256(data).hexdigest(),
            "rows": int(len(pd.read_parquet(cal.out / bayes.POSTERIOR))),
            "columns": "draw, one column per parameter (its value), loglik (emulator quasi-log-likelihood)",
            "point": {"median": rep["result"]["median"], "map": rep["result"]["map"],
                      "scenario_default": scenario_default or _shipped_default()},
            "config": asdict_config(cal.config), "result": rep["result"], "acceptance": rep["acceptance"],
            "generated_by": f"ruralabm {bayes.COMMAND} / calibration-bayes-report", "package_version": package_version(),
            "git_commit": git_commit(), "source_directory": str(cal.out)}
    snap = cal.out / "snapshot.json"  # the model's commit when the calibration ran from an installed snapshot
    if snap.exists():
        prov["model_snapshot"] = json.loads(snap.read_text())
    if recovery_frame is not None:
        prov["recovery"] = {"truths": int(recovery_frame["truth_index"].nunique()),
                            "coverage_90": float(recovery_frame["covered"].mean()),
                            "per_parameter": recovery_summary(recovery_frame).to_dict(orient="records")}
    atomic_write_text(Path(provenance), json.dumps(prov, indent=2, default=float))
    written = [Path(posterior), Path(provenance)]
    if fit_csv is not None:
        Path(fit_csv).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(fit_csv), (cal.out / "fit.csv").read_text())
        written.append(Path(fit_csv))
        if recovery_frame is not None:
            rc = Path(fit_csv).parent / "recovery.csv"
            atomic_write_text(rc, (cal.out / "recovery.csv").read_text())
            written.append(rc)
        for name in ("posterior_summary.csv", "identification.csv"):
            if (cal.out / name).exists():
                atomic_write_text(Path(fit_csv).parent / name, (cal.out / name).read_text())
                written.append(Path(fit_csv).parent / name)
    if figures is not None:
        Path(figures).mkdir(parents=True, exist_ok=True)
        for p in rep["figures"].values():
            target = Path(figures) / Path(p).name
            if Path(p).resolve() != target.resolve():
                shutil.copyfile(p, target)
            written.append(target)
    return written


POINTS = ("median", "map")


def _shipped_default() -> str:
    """What the shipped calibrated scenario holds, read from its first line."""
    from ruralabm.scenarios import SCENARIO_DIR
    first = (SCENARIO_DIR / "calibrated.toml").read_text().splitlines()[0].lstrip("# ").strip()
    return f"scenarios/calibrated.toml: {first}"


def scenario_text(cal: bayes.BayesCalibration, acceptance: dict | None = None, point: str = "median") -> str:
    """The calibrated scenario file at a point of the posterior (``median``: the marginal medians,
    the default the scenarios use; ``map``: the highest emulator quasi-likelihood among the draws),
    with the posterior's provenance and each parameter's 90% credible interval in comments."""
    import hashlib
    from datetime import datetime, timezone

    from .report import scenario_body, scenario_sections

    if point not in POINTS:
        raise ParameterError(f"--scenario-point {point!r}: choose one of {', '.join(POINTS)}")
    out = cal.out
    result = json.loads((out / bayes.RESULT).read_text())
    post = pd.read_parquet(out / bayes.POSTERIOR)
    values = {n: float(result[point][n]) for n in cal.space.names}
    base = cal.settings["scenario"]
    src = out / bayes.POSTERIOR
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    cfg = cal.config
    label = {"median": "posterior median (marginal medians)", "map": "posterior MAP (draw of highest quasi-likelihood)"}
    day = str(result.get("finished", ""))[:10] or "unknown date"
    lines = [
        f"# Calibrated parameters: the {label[point]} of the Bayesian calibration of {day}",
        "# (GP emulators + tempered waves + emcee; docs/calibration_bayes.md).",
        f"# Generated by `ruralabm calibration-bayes-report {out} --scenario-out ...` on "
        f"{datetime.now(timezone.utc).date().isoformat()} (UTC).",
        "# Provenance:",
        f"#   posterior: {src.name} ({len(post)} draws, sha256 {digest}...), run directory {out}",
        f"#   targets: {Path(cfg.targets).name}; base scenario: {base}; master seed {cfg.seed}; "
        f"{result['simulations']} simulations in {len(cfg.waves)} waves, {result['ppc_simulations']} posterior "
        f"predictive runs",
    ]
    if acceptance is not None:
        lines.append(f"#   fit (posterior predictive): fitted {acceptance['fitted'][0]} of {acceptance['fitted'][1]} "
                     f"within 2 SE or tolerance, held out {acceptance['held_out'][0]} of {acceptance['held_out'][1]}, "
                     f"orderings {acceptance['orderings'][0]} of {acceptance['orderings'][1]}")
    lines.append("#   parameter [prior box] = value (90% credible interval)")
    for j, name in enumerate(cal.space.names):
        q = post[name].quantile([0.05, 0.95]).to_numpy()
        lines.append(f"#     {name} [{cal.space.low[j]:g}, {cal.space.high[j]:g}] = {values[name]:.6g} "
                     f"({q[0]:.4g} to {q[1]:.4g})")
    lines += ["# The indirect-inference point (`ruralabm calibrate`, the fast point mode) ships as calibrated_point.",
              "", f'description = "Calibrated: {label[point]} of the Bayesian calibration of {day} to the CLDS, '
              f'Cao et al. and 76-county papers and the official patterns (docs/calibration_bayes.md); otherwise the '
              f'{base} scenario."', f'extends = "{base}"', ""]
    return "\n".join(lines + scenario_body(scenario_sections(base, values)))


def asdict_config(cfg) -> dict:
    from dataclasses import asdict
    return asdict(cfg)
