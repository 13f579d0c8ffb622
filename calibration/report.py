"""Fit report of a calibration: each target's published value and SE beside the simulated mean
and SD over replications and its contribution to the distance; orderings; indirect-inference
standard errors from the Jacobian of the statistics; an identification table (sensitivity of
each statistic to each parameter); the convergence figure; and the calibrated scenario file.

Standard errors (indirect inference, Gourieroux-Monfort-Renault): with D = d m(theta) / d theta
(statistics x parameters, central differences under common random numbers), W = diag(w_k / sd_k^2)
and S = diag(s_k^2 + v_k / R), where s_k is the published SE (or, without one, the simulated SD
over replications, i.e. the statistic's sampling SD at the paper's sample size) and v_k the
simulated variance over the R replications,

    Var(theta_hat) = (D'WD)^-1 D'W S W D (D'WD)^-1.

Identification table: D_kj x (10% of parameter j's search box) / sd_k -- how many distance
units statistic k moves when parameter j moves by a tenth of its box. A parameter whose column
is ~0 for every fitted statistic is not identified by the targets.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ruralabm.analysis.estimators.tables import markdown_table
from ruralabm.model.params import ParameterError, all_parameter_specs
from ruralabm.scenarios import SCENARIO_DIR
from ruralabm.scenarios import load as load_scenario
from ruralabm.scenarios.executor import progress_bar, replication_seeds

from .objective import ParamSpace, Targets, apply_values, mean_stats, sd_stats, simulate_statistics, split_name
from .search import Store, load as load_calibration

REPORT_EVALS = "report_evaluations.jsonl"
NOTES_MARKER = "<!-- hand-written notes below are kept when the report is regenerated -->"
STEP = 0.05  # finite-difference step, share of the search box


def _evaluate(cal, store: Store, points: list[dict], seeds: list[int], keys: list[str], executor, stage: str,
              bar=None) -> list[list[dict]]:
    todo = [(v, r) for v in points for r in store.missing(v, len(seeds))]
    if todo:
        tasks = [{"values": v, "seed": seeds[r], "settings": cal.settings, "keys": keys} for v, r in todo]
        for i, outcome in executor.run(simulate_statistics, tasks):
            v, r = todo[i]
            store.add(v, r, seeds[r], outcome.value["stats"] if outcome.ok else {},
                      outcome.value["seconds"] if outcome.ok else {"error": outcome.error}, stage)
            if bar is not None:
                bar.update(1)
    return [[s for s in store.replications(v, len(seeds)) if s] for v in points]


def fit_table(targets: Targets, reps: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    m, s = mean_stats(reps), sd_stats(reps)
    total, detail = targets.distance(m, detail=True)
    contrib = detail.set_index("key")["contribution"].to_dict()
    rows = []
    for t in targets.targets:
        sim = m.get(t.key, np.nan)
        z = (sim - t.value) / t.sd if np.isfinite(sim) else np.nan
        rows.append({"key": t.key, "published": t.value, "published_se": t.se, "scale": None if t.se else t.scale,
                     "weight": t.weight, "simulated_mean": sim, "simulated_sd": s.get(t.key, np.nan), "z": z,
                     "contribution": contrib.get(t.key, 0.0) if t.weight > 0 else 0.0,
                     "met": bool(np.isfinite(z) and abs(z) <= 2.0), "fitted": t.weight > 0,
                     "source": t.info.get("source", "")})
    orows = []
    for o in targets.orderings:
        viol = o.violations(m)
        pairs = "; ".join(f"{h.split('.')[-1] if 'cao' in h else h} {m.get(h, np.nan):.3f} > "
                          f"{lo.split('.')[-1] if 'cao' in lo else lo} {m.get(lo, np.nan):.3f}" for h, lo, _ in viol)
        orows.append({"ordering": o.name, "pairs (simulated)": pairs,
                      "met": bool(all(np.isfinite(v) and v == 0 for _, _, v in viol)),
                      "contribution": contrib.get(o.name, 0.0), "source": o.info.get("source", "")})
    orders = pd.DataFrame(orows, columns=["ordering", "pairs (simulated)", "met", "contribution", "source"])
    return pd.DataFrame(rows), orders, float(total)


def jacobian(cal, store, best: dict, seeds, keys, executor, bar=None, step: float = STEP) -> tuple[pd.DataFrame, dict]:
    """Central differences of ``keys`` at ``best``, ``step`` of each box either side (clipped to it)."""
    space: ParamSpace = cal.space
    points, plan = [], []
    for j, name in enumerate(space.names):
        width = space.high[j] - space.low[j]
        h = step * width
        up = dict(best)
        dn = dict(best)
        up[name] = min(best[name] + h, space.high[j])
        dn[name] = max(best[name] - h, space.low[j])
        points += [up, dn]
        plan.append((name, up[name] - dn[name]))
    results = _evaluate(cal, store, points, seeds, keys, executor, "jacobian", bar)
    cols = {}
    for j, (name, dx) in enumerate(plan):
        mu, md = mean_stats(results[2 * j]), mean_stats(results[2 * j + 1])
        cols[name] = {k: (mu.get(k, np.nan) - md.get(k, np.nan)) / dx for k in keys}
    return pd.DataFrame(cols), {n: dx for n, dx in plan}


def standard_errors(targets: Targets, D: pd.DataFrame, reps: list[dict], R: int) -> pd.Series:
    active = [t for t in targets.active() if t.key in D.index and np.all(np.isfinite(D.loc[t.key].to_numpy()))]
    sd = sd_stats(reps)
    Dm = D.loc[[t.key for t in active]].to_numpy()
    W = np.diag([t.weight / t.sd ** 2 for t in active])
    s_data = np.array([(t.se if t.se else sd.get(t.key, np.nan)) for t in active], dtype=float)
    v_sim = np.array([sd.get(t.key, np.nan) ** 2 for t in active], dtype=float)
    s_data = np.where(np.isfinite(s_data), s_data, 0.0)
    v_sim = np.where(np.isfinite(v_sim), v_sim, 0.0)
    S = np.diag(s_data ** 2 + v_sim / max(R, 1))
    A = Dm.T @ W @ Dm
    try:
        Ainv = np.linalg.pinv(A)
    except np.linalg.LinAlgError:  # pragma: no cover
        return pd.Series(np.nan, index=D.columns)
    V = Ainv @ Dm.T @ W @ S @ W @ Dm @ Ainv
    return pd.Series(np.sqrt(np.clip(np.diag(V), 0, None)), index=D.columns)


def identification(targets: Targets, D: pd.DataFrame, space: ParamSpace) -> pd.DataFrame:
    """Rows: targets (unit: their sd) and the statistics of the orderings (unit: the ordering's
    scale); 'fitted' marks rows that enter the distance."""
    sd = {t.key: t.sd for t in targets.targets}
    fitted = {t.key for t in targets.active()}
    for o in targets.orderings:
        for k in o.high + o.low:
            sd.setdefault(k, o.scale)
            if o.weight > 0:
                fitted.add(k)
    rows = [k for k in D.index if k in sd]
    out = D.loc[rows].copy()
    for j, name in enumerate(space.names):
        out[name] = out[name] * 0.1 * (space.high[j] - space.low[j]) / np.array([sd[k] for k in rows])
    out.insert(0, "fitted", [k in fitted for k in rows])
    return out


def convergence_figure(history: pd.DataFrame, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = history.copy()
    h["J"] = h["J"].replace([np.inf], np.nan)
    fig, ax = plt.subplots(figsize=(7, 4))
    for stage, colour in (("global", "tab:blue"), ("local", "tab:orange")):
        s = h[h["stage"] == stage]
        ax.scatter(s["n"], s["J"], s=8, alpha=0.6, color=colour, label=f"{stage} ({'Sobol' if stage == 'global' else 'Nelder-Mead'})")
    ax.plot(h["n"], h["J"].cummin(), color="black", lw=1.5, label="best so far")
    ax.set_yscale("log")
    ax.set_xlabel("parameter vector evaluated")
    ax.set_ylabel("distance J (log scale)")
    ax.set_title("Calibration convergence")
    ax.legend(frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)
    return path


def scenario_sections(base: str, values: dict) -> dict[str, dict]:
    """Every parameter that ``values`` changes from the base scenario (which the written file
    extends), by section; the sizes (population.n_*) are left to each command."""
    defaults = load_scenario(base).params
    params = apply_values(defaults.copy(), values)
    sections: dict[str, dict] = {}
    for spec in all_parameter_specs():
        name = spec["name"]
        if name.startswith("population.n_"):
            continue
        if params.get(name) != defaults.get(name):
            section, key = name.split(".")
            sections.setdefault(section, {})[key] = params.get(name)
    return sections


def scenario_body(sections: dict[str, dict]) -> list[str]:
    """TOML lines of ``scenario_sections``."""
    lines: list[str] = []
    for section, kv in sections.items():
        lines.append(f"[{section}]")
        for key, v in kv.items():
            if isinstance(v, list):
                lines.append(f"{key} = [{', '.join(repr(round(float(x), 6)) for x in v)}]")
            elif isinstance(v, bool):
                lines.append(f"{key} = {'true' if v else 'false'}")
            elif isinstance(v, int):
                lines.append(f"{key} = {v}")
            elif isinstance(v, str):
                lines.append(f'{key} = "{v}"')
            else:
                lines.append(f"{key} = {round(float(v), 6)!r}")
        lines.append("")
    return lines


def scenario_text(cal, best: dict, J: float, fit: pd.DataFrame, ses: pd.Series | None) -> str:
    """A scenario file with the calibrated values and provenance in comments."""
    sections = scenario_sections(cal.settings["scenario"], best)
    met = fit[fit["fitted"]]
    cfg = cal.config
    lines = [
        "# Calibrated parameters: indirect inference on the papers' published statistics.",
        f"# Generated by `ruralabm calibrate` and `ruralabm calibration-report` on "
        f"{datetime.now(timezone.utc).date().isoformat()} (UTC); parameter vectors evaluated: {len(cal_history_n(cal))}.",
        "# Provenance:",
        f"#   targets: {Path(cfg.targets).name} ({len(cal.targets.active())} fitted targets, "
        f"{sum(o.weight > 0 for o in cal.targets.orderings)} orderings)",
        f"#   base scenario: {cal.settings['scenario']}; VEP variant: {cal.settings.get('vep_variant')}",
        f"#   sizes per evaluation: {cal.settings['households']} households, {cal.settings['counties']} counties, "
        f"CLDS n {cal.settings['clds_n']}, CLES n {cal.settings['cles_n']}, {cal.settings['county_n']} counties sampled",
        f"#   search: Sobol ({cfg.global_share:.0%} of budget) + Nelder-Mead; budget {cfg.budget} parameter vectors "
        f"x {cfg.reps} replications (common random numbers), master seed {cfg.seed}",
        f"#   fit: distance J = {J:.2f}; {int(met['met'].sum())} of {len(met)} fitted targets within 2 sd",
        "#   parameter (search box) = value (indirect-inference SE):",
    ]
    for j, name in enumerate(cal.space.names):
        se = ses.get(name, np.nan) if ses is not None else np.nan
        lines.append(f"#     {name} [{cal.space.low[j]:g}, {cal.space.high[j]:g}] = {best[name]:.6g}"
                     + (f" ({se:.3g})" if np.isfinite(se) else ""))
    base = cal.settings["scenario"]
    lines += ["# Report: docs/calibration.md", "",
              'description = "Calibrated to the CLDS, Cao et al. and 76-county papers by indirect inference '
              f'(see docs/calibration.md); otherwise the {base} scenario."',
              f'extends = "{base}"', ""]
    return "\n".join(lines + scenario_body(sections))


def cal_history_n(cal) -> list:
    import csv
    path = cal.out / "history.csv" if cal.out is not None else None
    if path is None or not path.exists():
        return []
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _md_table(df: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    return markdown_table(df, floatfmt, bools=("yes", "no"))


def _check_not_circular(base: str, scenario_out: Path) -> None:
    """Refuse to write a scenario file that the base scenario itself builds on (the shipped
    ``calibrated`` from a base that extends it): the result would extend itself."""
    out = scenario_out.resolve()
    if out.parent == SCENARIO_DIR and out.stem in load_scenario(base).chain:
        raise ParameterError(
            f"--scenario-out {scenario_out}: the calibration's base scenario '{base}' builds on '{out.stem}', "
            f"so the new file would extend itself; calibrate from 'uncalibrated' (the literature defaults) "
            f"or write the scenario elsewhere")


def check_scenario_out(scenario_out: Path, overwrite: bool = False, base: str | None = None) -> None:
    """Refuse to replace a shipped scenario file (every shipped policy scenario builds on
    ``calibrated``) unless ``overwrite``; refuse a path that cannot be written and, given the
    calibration's ``base`` scenario, a file that base builds on."""
    path = Path(scenario_out)
    if path.suffix != ".toml":
        raise ParameterError(f"--scenario-out {scenario_out}: a scenario file must end in .toml")
    if path.exists() and path.is_dir():
        raise ParameterError(f"--scenario-out {scenario_out} is a directory; give a .toml file path")
    if path.exists() and path.resolve().parent == SCENARIO_DIR.resolve() and not overwrite:
        raise ParameterError(f"--scenario-out {scenario_out} is the shipped scenario '{path.stem}', which other "
                             "scenarios build on; write it elsewhere, or pass --overwrite to replace it")
    from ruralabm.scenarios.outputs import check_writable
    check_writable(path.parent, "--scenario-out folder")
    if base is not None:
        _check_not_circular(base, path)


def check_finished(out: Path) -> None:
    """A calibration directory whose search finished (history.csv and result.json)."""
    out = Path(out)
    missing = [f for f in ("history.csv", "result.json") if not (out / f).exists()]
    if missing:
        raise ParameterError(f"calibration-report {out}: {', '.join(missing)} missing: the search has not finished; "
                             f"continue it with ruralabm calibrate --resume {out}")
    try:
        json.loads((out / "result.json").read_text())["best"]
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ParameterError(f"{out / 'result.json'} is corrupted; evaluations.jsonl is intact: run ruralabm calibrate "
                             f"--resume {out} to rewrite it from the stored evaluations") from None


def make_report(out: Path, executor, jacobian: bool = True, report_reps: int | None = None,
                scenario_out: Path | None = None, markdown: Path | None = None, progress: bool = True,
                figure: Path | None = None, overwrite_scenario: bool = False) -> dict:
    """Everything the issue asks of a finished calibration, written to ``out`` (and optionally
    the scenario file and the markdown report elsewhere). A shipped scenario file is replaced
    only with ``overwrite_scenario``."""
    out = Path(out)
    cal = load_calibration(out)
    check_finished(out)
    if scenario_out is not None:
        check_scenario_out(Path(scenario_out), overwrite_scenario, base=cal.settings["scenario"])
    history = pd.read_csv(out / "history.csv")
    result = json.loads((out / "result.json").read_text())
    best = result["best"]
    R = report_reps or cal.config.reps
    seeds = replication_seeds(cal.config.seed, R)
    keys = sorted(cal.targets.needed_keys(all_targets=True))
    store = Store(out / REPORT_EVALS, cal.space.names)
    store.load()
    n_tasks = R * (1 + (2 * cal.space.dim if jacobian else 0))
    bar = progress_bar(n_tasks, "report", progress) if progress else None
    reps = _evaluate(cal, store, [best], seeds, keys, executor, "report", bar)[0]
    fit, orders, J = fit_table(cal.targets, reps)
    fit.to_csv(out / "fit.csv", index=False)
    orders.to_csv(out / "orderings.csv", index=False)
    ses, ident, D = None, None, None
    if jacobian:
        # Fitted statistics only (the monitored tables would multiply the cost ~6x).
        D, steps = globals()["jacobian"](cal, store, best, seeds, sorted(cal.targets.needed_keys()), executor, bar)
        D.to_csv(out / "jacobian.csv")
        ses = standard_errors(cal.targets, D, reps, R)
        ident = identification(cal.targets, D, cal.space)
        ident.to_csv(out / "identification.csv")
    if bar is not None:
        bar.close()
    fig_path = convergence_figure(history, figure or (out / "convergence.png"))
    if markdown is not None and figure is None:
        fig_path = convergence_figure(history, Path(markdown).parent / "figures" / "calibration_convergence.png")
    text = scenario_text(cal, best, J, fit, ses)
    (out / "calibrated.toml").write_text(text)
    if scenario_out is not None:
        from ruralabm.scenarios.outputs import atomic_write_text
        atomic_write_text(Path(scenario_out), text)
        load_scenario(Path(scenario_out))  # the file must load like any scenario
    params = pd.DataFrame({"parameter": cal.space.names, "low": cal.space.low, "high": cal.space.high,
                           "calibrated": [best[n] for n in cal.space.names],
                           "se": [ses.get(n, np.nan) if ses is not None else np.nan for n in cal.space.names]})
    params.to_csv(out / "parameters.csv", index=False)
    fitted = fit[fit["fitted"]]
    summary = "\n".join([
        f"distance J at the calibrated point over {R} replications: {J:.2f} "
        f"(search value {result['J']:.2f} over {cal.config.reps})",
        f"fitted targets within 2 sd: {int(fitted['met'].sum())} of {len(fitted)}; orderings met: "
        f"{int(orders['met'].sum())} of {len(orders)}",
        params.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        f"wrote {out}/fit.csv, orderings.csv, parameters.csv, calibrated.toml"
        + (", jacobian.csv, identification.csv" if jacobian else "") + f", {fig_path}",
    ])
    rep = {"summary": summary, "fit": fit, "orderings": orders, "J": J, "parameters": params,
           "identification": ident, "jacobian": D, "figure": fig_path, "reps": R, "result": result, "cal": cal,
           "history": history}
    if markdown is not None:
        md = Path(markdown)
        kept = ""
        if md.exists() and NOTES_MARKER in md.read_text():
            kept = md.read_text().split(NOTES_MARKER, 1)[1]  # hand-written notes survive regeneration
        md.write_text(markdown_report(rep, md) + "\n" + NOTES_MARKER + kept)
    return rep


def markdown_report(rep: dict, path: Path) -> str:
    cal, fit, orders, params = rep["cal"], rep["fit"], rep["orderings"], rep["parameters"]
    res, cfg = rep["result"], rep["cal"].config
    fig_rel = Path(rep["figure"]).relative_to(Path(path).parent) if Path(rep["figure"]).is_relative_to(
        Path(path).parent) else rep["figure"]
    show = fit[["key", "published", "published_se", "scale", "weight", "simulated_mean", "simulated_sd", "z",
                "contribution", "met"]].copy()
    lines = [
        "# Calibration report", "",
        "Generated by `ruralabm calibrate` / `calibration-report` (calibration/report.py); see the closing note "
        "for which targets are met and why.", "",
        "## Method", "",
        "Indirect inference (simulated minimum distance on estimator outputs): the auxiliary statistics are the "
        "published estimates themselves, recomputed on simulated survey samples by the same estimators with the "
        "same settings (`analysis.papers`: VEP by three-step FGLS, probit propensity, psmatch2-style matching, "
        "entropy resilience index, Cox model). For a parameter vector, R replications with fixed seeds (common "
        "random numbers: the same seeds for every vector, so differences between vectors are not noise) are "
        "simulated; each draws a CLDS-like, a CLES-like and a county sample with the replication seed and computes "
        "the statistics; the objective is the weighted squared distance between the replication mean and the "
        "published values (weights 1/SE^2 from published SEs, or 1/tolerance^2 where the paper gives none) plus "
        "squared-shortfall penalties for violated orderings. Search: a scrambled Sobol design over the parameter "
        "box (global, embarrassingly parallel, robust to the kinks that matching and Cox fits put in the "
        "objective) followed by bounded Nelder-Mead from each of the three best distinct global points "
        "(multi-start: the kinks leave small dents in which a single start can settle), then restarted from "
        "the overall best with a smaller simplex while budget remains. Every replication is stored in `evaluations.jsonl`; `--resume` "
        "replays the deterministic search and reuses them.", "",
        "## Setting", "",
        f"* Targets: `calibration/targets.toml` ({len(cal.targets.active())} fitted, "
        f"{len(cal.targets.targets) - len(cal.targets.active())} monitored, {len(cal.targets.orderings)} orderings).",
        f"* Base scenario `{cal.settings['scenario']}`; VEP variant `{cal.settings.get('vep_variant')}` "
        "(vulnerability regressors include participation; see the targets file for why).",
        f"* Per evaluation: {cal.settings['households']:,} households, {cal.settings['counties']} counties, 2012-2022; "
        f"CLDS-like n = {cal.settings['clds_n']}, CLES-like n = {cal.settings['cles_n']} x 3 waves, "
        f"{cal.settings['county_n']} counties sampled.",
        f"* Search: {cfg.budget} parameter vectors x {cfg.reps} replications (common random numbers, master seed "
        f"{cfg.seed}); Sobol global stage ({cfg.global_share:.0%}) then Nelder-Mead; "
        f"wall time of the last (or only) run segment {res['wall_seconds'] / 60:.1f} min; best found at vector {res['best_index']} ({res['best_stage']}).",
        f"* Fit report over {rep['reps']} replications: distance J = {rep['J']:.2f}.", "",
        "## Calibrated parameters", "",
        "Indirect-inference standard errors from the Jacobian of the fitted statistics (sandwich form, "
        "see calibration/report.py).", "",
        _md_table(params), "",
        "## Fit of each target", "",
        "z = (simulated mean - published) / sd, sd = published SE or, without one, the stated tolerance; "
        "contribution = weight x z^2; met = |z| <= 2. Weight 0 rows are monitored, not fitted.", "",
        _md_table(show), "",
        "## Orderings", "",
        _md_table(orders[["ordering", "pairs (simulated)", "met", "contribution"]]), "",
    ]
    if rep["identification"] is not None:
        ident = rep["identification"]
        ident = ident[ident["fitted"]].drop(columns="fitted")
        lines += ["## Identification", "",
                  "Change of each fitted statistic, in units of its sd, when a parameter moves by 10% of its search "
                  "box (central differences at the calibrated point, common random numbers).", "",
                  _md_table(ident.reset_index().rename(columns={"index": "statistic"}), "{:.2f}"), ""]
    lines += ["## Convergence", "", f"![convergence]({fig_rel})", ""]
    fitted = fit[fit["fitted"].astype(bool)]
    met = fitted[fitted["met"].astype(bool)]["key"].tolist()
    unmet = fitted[~fitted["met"].astype(bool)].sort_values("contribution", ascending=False)
    ok = orders["met"].astype(bool)
    lines += ["## Closing note", "",
              f"Met (|z| <= 2): {len(met)} of {len(fitted)} fitted targets -- " + ", ".join(f"`{k}`" for k in met) + ".", "",
              f"Not met: {len(unmet)} -- " + ", ".join(f"`{k}` (z = {z:.1f})" for k, z in zip(unmet['key'], unmet['z']))
              + ".", "",
              "Orderings met: " + (", ".join(f"`{o}`" for o in orders.loc[ok, 'ordering']) or "none")
              + "; not met: " + (", ".join(f"`{o}`" for o in orders.loc[~ok, 'ordering']) or "none") + ".", ""]
    return "\n".join(lines)
