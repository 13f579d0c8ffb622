"""``ruralabm compare``: policy scenarios side by side, with common random numbers.

Every scenario runs with the same replication seeds (``SeedSequence(seed).spawn(reps)``), and
the model draws every shock from streams keyed by (seed, process, year) whatever the policy, so
replication r of two scenarios sees the same households, prices and disasters: the paired
difference x[s, r] - x[first, r] is the effect of the policy, not of luck. The summary reports,
per scenario, year of interest and metric, the mean across replications with a 95% t-interval
of the mean, and the mean paired difference from the first scenario with its 95% t-interval;
a difference is *distinguishable from noise* when that interval excludes 0.

Outputs in ``--out`` (default ``runs/compare``): ``summary.csv``, ``summary.md``, ``runs.parquet``
(long: scenario, rep, seed, year, metric, value), ``exits.parquet`` (county exit durations of
every run), ``resilience_quantiles.parquet``, ``figures/*.png``, ``report.md`` and
``compare.json`` (settings, seeds, versions, wall time).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ruralabm.analysis.estimators.tables import markdown_table as _markdown_table
from ruralabm.analysis.estimators.tables import text_table as _text_table
from ruralabm.model.params import ParameterError, parameter_spec

from . import load, report
from .outputs import claim, record, staged
from .provenance import environment, git_commit, package_version
from .executor import SerialExecutor, progress_bar, replication_seeds
from .formatting import PERCENT, YUAN, fmt_interval, fmt_value  # noqa: F401  (PERCENT, YUAN: kept importable here)
from .runner import LABELS, RUN_METRICS, YEARLY_METRICS, run_task

DEFAULT_SCENARIOS = ("baseline", "cooperative", "enterprise")
# Defaults chosen so the default comparison takes well under 2 minutes on 2 cores and its
# paired differences have 95% intervals far narrower than the policy effects (see docs/scenarios.md).
DEFAULT_REPS = 40
DEFAULT_HOUSEHOLDS = 20_000
DEFAULT_OUT = "runs/compare"


@dataclass
class ComparePlan:
    scenarios: list  # scenarios.Scenario, in order; the first is the reference
    reps: int
    seed: int
    seeds: list[int]
    years_of_interest: list[int]
    tasks: list[dict] = field(default_factory=list)
    keys: list[tuple[str, int]] = field(default_factory=list)  # (scenario, rep) of each task
    warnings: list[str] = field(default_factory=list)  # degenerate design: printed and stated in the report
    # --posterior K: the draws (row id, values), replications per draw, the sample's file and hash, and
    # per scenario the posterior parameters it sets itself (kept at its own value); None otherwise.
    posterior: dict | None = None

    def settings(self) -> dict:
        """What determines the results (recorded in the output directory, compared on reuse)."""
        out = {"scenarios": [{"name": sc.name, "parameters": sc.params.to_dict()} for sc in self.scenarios],
               "reps": self.reps, "seed": self.seed, "years_of_interest": self.years_of_interest,
               "save_panels": any("panel_dir" in t for t in self.tasks)}
        if self.posterior is not None:
            out["posterior"] = {k: self.posterior[k] for k in ("k", "reps_per_draw", "file", "sha256", "draws")}
        return out

    def draw_of(self, rep: int) -> int:
        """The posterior draw (0..K-1) of a replication index (0 without --posterior)."""
        return rep // self.posterior["reps_per_draw"] if self.posterior else 0


def default_years_of_interest(params) -> list[int]:
    """Pre-policy year, first post-policy year, 2020 (the county censoring year) and the end."""
    c = params.calendar
    candidates = [c.policy_start_year - 1, c.policy_start_year + 1, int(c.censor_date), c.end_year]
    return sorted({y for y in candidates if c.start_year <= y <= c.end_year})


def parse_list(text: str | Sequence[str] | None, what: str) -> list[str]:
    if text is None:
        return []
    items = text.split(",") if isinstance(text, str) else list(text)
    items = [i.strip() for i in items if i.strip()]
    if not items:
        raise ParameterError(f"{what} is empty")
    return items


def plan(scenario_names: Sequence[str] = DEFAULT_SCENARIOS, *, reps: int = DEFAULT_REPS,
         households: int | None = DEFAULT_HOUSEHOLDS, years: int | None = None, seed: int = 0,
         overrides: Sequence[str] = (), years_of_interest: Sequence[int] | None = None,
         panels_dir: str | Path | None = None, default_households: int | None = None,
         posterior: int | None = None, posterior_file: str | Path | None = None) -> ComparePlan:
    """Resolve and validate everything before anything runs or is written.

    ``households`` sets every scenario's size; if it is None, ``default_households`` sets the
    size of the scenarios that keep the model's default ``population.n_households``.

    ``posterior`` = K runs every scenario under K draws of the posterior sample
    (``posterior_file``, default the shipped ``calibration/posterior.parquet``), ``reps``
    replications per draw: replication r of draw k has the same seed in every scenario (common
    random numbers within a draw) and seeds differ between draws (:func:`summarise_posterior`)."""
    model_default = parameter_spec("population.n_households")["default"]
    names = list(scenario_names)
    if len(names) < 1:
        raise ParameterError("--scenarios: give at least one scenario")
    scs = []
    for name in names:
        sc = load(name, list(overrides))
        if households is not None:
            sc.params.set("population.n_households", households)
        elif default_households is not None and sc.params.population.n_households == model_default:
            sc.params.set("population.n_households", default_households)
        if years is not None:
            sc.params.set("calendar.end_year", sc.params.calendar.start_year + years - 1)
        scs.append(sc)
    labels = [sc.name for sc in scs]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ParameterError(f"--scenarios names {', '.join(dup)} more than once; each scenario must appear once")
    if reps < 1:
        raise ParameterError(f"--reps = {reps} is not allowed: must be at least 1")
    post_info, draws = None, None
    if posterior is not None:
        from ruralabm.scenarios.posterior import load_posterior, refuse_set_of_posterior_parameters

        if posterior < 2:
            raise ParameterError(f"--posterior {posterior}: give at least 2 draws (one draw cannot show parameter "
                                 "uncertainty)")
        if reps < 2:
            raise ParameterError(f"--reps {reps} with --posterior: give at least 2 replications per draw, so that "
                                 "stochastic and parameter uncertainty can be told apart")
        post = load_posterior(posterior_file)
        refuse_set_of_posterior_parameters(overrides, post.names)
        draws = post.draws(posterior, seed)
        post_info = {"k": int(posterior), "reps_per_draw": int(reps), "file": str(post.path), "sha256": post.sha256,
                     "draws": [{"row": i, **v} for i, v in draws], "parameters": post.names, "kept": {}}
    if years_of_interest is None:
        yoi = default_years_of_interest(scs[0].params)
    else:
        yoi = sorted({int(y) for y in years_of_interest})
    for sc in scs:
        c = sc.params.calendar
        bad = [y for y in yoi if not c.start_year <= y <= c.end_year]
        if bad:
            raise ParameterError(f"--years-of-interest {bad} not simulated in scenario '{sc.name}'; "
                                 f"simulated years are {c.start_year}-{c.end_year}")
    if seed < 0:
        raise ParameterError(f"--seed = {seed} is not allowed: must be a non-negative integer")
    from ruralabm.model.state import check_memory
    for sc in scs:
        check_memory(sc.params, what=f"scenario '{sc.name}'")
    total = reps * (posterior or 1)
    seeds = replication_seeds(seed, total)
    p = ComparePlan(scenarios=scs, reps=total, seed=seed, seeds=seeds, years_of_interest=yoi,
                    warnings=design_warnings(scs, reps), posterior=post_info)
    per_draw = {}
    if draws is not None:
        from ruralabm.scenarios.posterior import apply_draw
        from ruralabm.scenarios import load as _load

        reference = _load("calibrated").params
        for k, (_, values) in enumerate(draws):
            for sc in scs:
                params = sc.params.copy()
                kept = apply_draw(params, values, reference)
                if kept:
                    post_info["kept"][sc.name] = kept
                per_draw[(k, sc.name)] = params.to_dict()
        for name, kept in post_info["kept"].items():
            p.warnings.append(f"--posterior: scenario '{name}' sets {', '.join(kept)} itself; its own value is kept "
                              "in every draw")
    for r, s in enumerate(seeds):  # replication-major: partial progress covers every scenario
        for sc in scs:
            params = per_draw[(p.draw_of(r), sc.name)] if draws is not None else sc.params.to_dict()
            task = {"params": params, "seed": s, "quantile_years": yoi}
            if panels_dir is not None:
                task["panel_dir"] = str(Path(panels_dir) / sc.name / f"rep{r:03d}")
            p.tasks.append(task)
            p.keys.append((sc.name, r))
    return p


def design_warnings(scs, reps: int) -> list[str]:
    """Designs that run but cannot show what a comparison is for."""
    out = []
    if reps < 2:
        out.append(f"--reps {reps}: one replication gives no intervals, so no difference can be judged against "
                   "noise; use --reps 2 or more (the default is 40)")
    if len(scs) < 2:
        out.append("only one scenario: there is nothing to compare it with; levels only")
    for sc in scs:
        c = sc.params.calendar
        if c.policy_start_year > c.end_year:
            out.append(f"scenario '{sc.name}' ends in {c.end_year}, before the policy starts in "
                       f"{c.policy_start_year}: its policy never acts and every difference is zero by construction")
        elif c.policy_start_year == c.end_year:
            out.append(f"scenario '{sc.name}': the policy starts in the last simulated year ({c.end_year}); "
                       "only that year can show an effect")
    return list(dict.fromkeys(out))


@dataclass
class CompareResult:
    plan: ComparePlan
    runs: pd.DataFrame  # scenario, rep, seed, year, metric, value
    exits: pd.DataFrame  # scenario, rep, county_id, exit_date, exited, duration
    quantiles: pd.DataFrame  # scenario, rep, year, q, value
    failures: list[tuple[str, int, str]]
    backend: str
    wall_seconds: float


def _part_path(parts_dir: Path, name: str, rep: int) -> Path:
    return Path(parts_dir) / name / f"rep-{rep:04d}.pkl"


def _load_part(path: Path):
    """A stored run summary, or None if the file is missing, truncated or not a run summary
    (it is then redone)."""
    import pickle

    try:
        with open(path, "rb") as fh:
            value = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a truncated or foreign file: redo that run
        return None
    if not isinstance(value, dict) or not {"metrics", "exits", "resilience_quantiles"} <= set(value):
        return None
    return value


def _write_part(path: Path, value) -> None:
    import os
    import pickle

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(value, fh, protocol=4)
    os.replace(tmp, path)  # atomic: a part exists only when complete


def execute(p: ComparePlan, executor, progress: bool = True, parts_dir: str | Path | None = None,
            log=None) -> CompareResult:
    """Run every (scenario, replication) on ``executor``; collect compact summaries.

    With ``parts_dir`` every run's summary is stored there as soon as it finishes
    (``NAME/rep-NNNN.pkl``, written atomically) and runs already stored are not redone, so an
    interrupted comparison continues where it stopped. Results are assembled in plan order, so
    they do not depend on the order in which runs finish."""
    t0 = time.perf_counter()
    values: dict[int, dict] = {}
    failures = []
    if parts_dir is not None:
        for i, (name, rep) in enumerate(p.keys):
            v = _load_part(_part_path(parts_dir, name, rep))
            if v is not None:
                values[i] = v
        if values and log is not None:
            log(f"resuming: {len(values)} of {len(p.tasks)} runs already done")
    todo = [i for i in range(len(p.tasks)) if i not in values]
    bar = progress_bar(len(todo), "compare", progress)
    try:
        for j, outcome in executor.run(run_task, [p.tasks[i] for i in todo]):
            i = todo[j]
            name, rep = p.keys[i]
            bar.update(1)
            if not outcome.ok:
                failures.append((name, rep, outcome.error))
                continue
            values[i] = outcome.value
            if parts_dir is not None:
                _write_part(_part_path(parts_dir, name, rep), outcome.value)
    finally:
        bar.close()
    runs, exits, quants = [], [], []
    for i in sorted(values):
        name, rep = p.keys[i]
        seed = p.seeds[rep]
        out = values[i]
        runs.append(out["metrics"].assign(scenario=name, rep=rep, seed=seed))
        e = out["exits"]
        exits.append(pd.DataFrame({"scenario": name, "rep": rep, "county_id": np.arange(len(e["exit_date"])),
                                   "exit_date": e["exit_date"], "exited": e["exited"], "duration": e["duration"]}))
        for y, q in sorted(out["resilience_quantiles"].items()):
            quants.append(pd.DataFrame({"scenario": name, "rep": rep, "year": y,
                                        "q": np.linspace(0, 1, len(q)), "value": q}))
    if not runs:
        raise ParameterError("every run failed; first error: " + (failures[0][2] if failures else "none"))
    order = {sc.name: k for k, sc in enumerate(p.scenarios)}
    cols = ["scenario", "rep", "seed", "year", "metric", "value"]
    runs_df = pd.concat(runs, ignore_index=True)[cols]
    runs_df = runs_df.sort_values(["scenario", "rep", "metric", "year"], key=lambda s: s.map(order) if s.name == "scenario" else s,
                                  kind="stable").reset_index(drop=True)
    exits_df = pd.concat(exits, ignore_index=True).sort_values(["scenario", "rep", "county_id"], key=lambda s: s.map(order) if s.name == "scenario" else s, kind="stable").reset_index(drop=True)
    q_df = (pd.concat(quants, ignore_index=True) if quants else pd.DataFrame(columns=["scenario", "rep", "year", "q", "value"]))
    if len(q_df):
        q_df = q_df.sort_values(["scenario", "rep", "year", "q"], key=lambda s: s.map(order) if s.name == "scenario" else s,
                                kind="stable").reset_index(drop=True)
    return CompareResult(p, runs_df, exits_df, q_df, sorted(failures, key=lambda f: (order[f[0]], f[1])),
                         executor.describe(), time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------
# Statistics


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float, int]:
    """mean, sd, lower, upper of the t-interval of the mean, and n (NaNs dropped)."""
    from scipy import stats  # first use: start-up speed (the CLI imports this module)

    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    n = v.size
    if n == 0:
        return (math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(v.mean())
    if n < 2:
        return (mean, math.nan, math.nan, math.nan, n)
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return (mean, sd, mean - half, mean + half, n)


def summarise(result: CompareResult, level: float = 0.95) -> pd.DataFrame:
    """Per scenario, year of interest (``year`` <NA> for run-level metrics) and metric: mean and
    interval across replications, and paired difference from the first scenario."""
    p = result.plan
    runs = result.runs
    first = p.scenarios[0].name
    rows = []
    for metric in list(YEARLY_METRICS) + list(RUN_METRICS):
        sub = runs[runs["metric"] == metric]
        if sub.empty:
            continue
        for year in (p.years_of_interest if metric in YEARLY_METRICS else [None]):
            s = sub[sub["year"].isna()] if year is None else sub[sub["year"] == year]
            block = s.pivot(index="rep", columns="scenario", values="value")
            for sc in p.scenarios:
                if sc.name not in block:
                    continue
                x = block[sc.name].to_numpy(float)
                mean, sd, lo, hi, n = t_interval(x, level)
                row = {"scenario": sc.name, "year": year, "metric": metric, "label": LABELS[metric],
                       "mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi, "n_reps": n}
                if sc.name != first and first in block:
                    d = x - block[first].to_numpy(float)
                    dm, dsd, dlo, dhi, dn = t_interval(d, level)
                    row.update(diff=dm, diff_ci_low=dlo, diff_ci_high=dhi, n_pairs=dn,
                               distinguishable=(bool(dlo > 0 or dhi < 0) if dn >= 2 and np.isfinite(dlo) else pd.NA))
                rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("diff", "diff_ci_low", "diff_ci_high", "n_pairs", "distinguishable"):
        if col not in out:
            out[col] = pd.NA
    out["year"] = out["year"].astype("Int64")
    out["distinguishable"] = out["distinguishable"].astype("boolean")
    return out


def summarise_posterior(result: CompareResult, level: float = 0.95) -> pd.DataFrame:
    """``--posterior K``: per scenario, year of interest and metric, the level and the paired
    difference from the first scenario with parameter and stochastic uncertainty separated
    (:func:`ruralabm.scenarios.posterior.decompose`): ``sd_param`` (between posterior draws, net
    of Monte Carlo noise), ``sd_stoch`` (between replications within a draw), the combined 95%
    interval (``low``, ``high``: a new posterior draw's value, parameter and Monte Carlo
    uncertainty together) and the stochastic-only interval (as if the parameters were known).
    ``survives`` = the combined interval of the difference excludes 0: the policy difference
    survives parameter uncertainty; ``distinguishable_stochastic`` = the stochastic-only interval
    excludes 0."""
    from ruralabm.scenarios.posterior import decompose

    p = result.plan
    runs = result.runs.assign(draw=result.runs["rep"].map(p.draw_of))
    first = p.scenarios[0].name
    rows = []
    for metric in list(YEARLY_METRICS) + list(RUN_METRICS):
        sub = runs[runs["metric"] == metric]
        if sub.empty:
            continue
        for year in (p.years_of_interest if metric in YEARLY_METRICS else [None]):
            s = sub[sub["year"].isna()] if year is None else sub[sub["year"] == year]
            block = s.pivot(index="rep", columns="scenario", values="value")
            draw = pd.Series(block.index.map(p.draw_of), index=block.index)
            for sc in p.scenarios:
                if sc.name not in block:
                    continue
                lev = decompose(pd.DataFrame({"draw": draw, "value": block[sc.name]}), level)
                row = {"scenario": sc.name, "year": year, "metric": metric, "label": LABELS[metric],
                       **{k: lev[k] for k in ("mean", "sd_param", "sd_stoch", "low", "high", "draws", "runs")}}
                if sc.name != first and first in block:
                    dif = decompose(pd.DataFrame({"draw": draw, "value": block[sc.name] - block[first]}), level)
                    identical = bool(np.all((block[sc.name] - block[first]).dropna() == 0))
                    row.update({"diff": dif["mean"], "diff_sd_param": dif["sd_param"], "diff_sd_stoch": dif["sd_stoch"],
                                "diff_low": dif["low"], "diff_high": dif["high"], "diff_stoch_low": dif["stoch_low"],
                                "diff_stoch_high": dif["stoch_high"], "diff_param_share": dif["param_share"],
                                "survives": (pd.NA if not np.isfinite(dif["low"]) or identical
                                             else bool(dif["low"] > 0 or dif["high"] < 0)),
                                "distinguishable_stochastic": (pd.NA if not np.isfinite(dif["stoch_low"]) or identical
                                                               else bool(dif["stoch_low"] > 0 or dif["stoch_high"] < 0))})
                rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("diff", "diff_sd_param", "diff_sd_stoch", "diff_low", "diff_high", "diff_stoch_low", "diff_stoch_high",
                "diff_param_share", "survives", "distinguishable_stochastic"):
        if col not in out:
            out[col] = pd.NA
    out["year"] = out["year"].astype("Int64")
    for col in ("survives", "distinguishable_stochastic"):
        out[col] = out[col].astype("boolean")
    return out


def posterior_tables(ps: pd.DataFrame, scenario_names: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """Display tables of :func:`summarise_posterior`: per year of interest, per metric, each
    scenario's level [combined 95% interval] and each difference from the first scenario with its
    combined interval, the parameter and stochastic SDs and the verdict."""
    first = scenario_names[0]
    out = []
    years = sorted(y for y in ps["year"].dropna().unique())
    groups = [(f"Year {int(y)}", ps[ps["year"] == y]) for y in years]
    groups.append(("County exit (per run, censored at the censoring date)", ps[ps["year"].isna()]))
    for title, block in groups:
        if block.empty:
            continue
        rows = []
        for metric, g in block.groupby("metric", sort=False):
            row = {"metric": LABELS[metric]}
            for _, r in g.iterrows():
                row[r["scenario"]] = f"{fmt_value(metric, r['mean'])} {fmt_interval(metric, r['low'], r['high'])}"
                if r["scenario"] != first:
                    col = f"{r['scenario']} - {first}"
                    if pd.isna(r["survives"]) and r["diff"] == 0:
                        row[col] = "identical"
                        continue
                    surv, dist = _flag(r["survives"]), _flag(r["distinguishable_stochastic"])
                    verdict = ("survives" if surv is True else "noise only" if dist is False else
                               "not robust to parameters" if surv is False else "n/a")
                    row[col] = (f"{fmt_value(metric, r['diff'], True)} {fmt_interval(metric, r['diff_low'], r['diff_high'], True)}"
                                f" sd param {fmt_value(metric, r['diff_sd_param'])}, stoch "
                                f"{fmt_value(metric, r['diff_sd_stoch'])}: {verdict}")
            rows.append(row)
        cols = ["metric"] + [c for n in scenario_names for c in (n, f"{n} - {first}") if c in pd.DataFrame(rows).columns]
        out.append((title, pd.DataFrame(rows)[cols]))
    return out


def _flag(v):
    """True, False or None (missing) from a nullable boolean cell."""
    return None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else bool(v)


POSTERIOR_LEGEND = ("Under --posterior K every scenario runs under K posterior draws x R replications (common random "
                    "numbers within a draw). Levels and differences: mean over all runs [95% interval combining "
                    "parameter and stochastic uncertainty: the value at a new posterior draw, from the spread of the "
                    "draws' means]; 'sd param' = SD between posterior draws net of Monte Carlo noise, 'stoch' = SD of "
                    "one replication within a draw. 'survives' = the combined interval excludes 0 (the difference "
                    "survives parameter uncertainty); 'not robust to parameters' = distinguishable from noise at "
                    "known parameters but not once they are uncertain; 'noise only' = not distinguishable even at "
                    "known parameters.")


# ---------------------------------------------------------------------------------------------
# Formatting

def _verdict(row) -> str:
    if row.get("diff") == 0 and row.get("diff_ci_low") == 0 and row.get("diff_ci_high") == 0:
        return "identical"
    d = row.get("distinguishable")
    if d is pd.NA or d is None or (isinstance(d, float) and math.isnan(d)):
        return "n/a"
    return "yes" if bool(d) else "no (noise)"


def summary_tables(summary: pd.DataFrame, scenario_names: list[str], intervals: bool = True) -> list[tuple[str, pd.DataFrame]]:
    """Display tables: one per year of interest plus one for the run-level county metrics
    (``intervals=False``: levels without their intervals, for the terminal)."""
    first = scenario_names[0]
    out = []
    reps = int(summary["n_reps"].max()) if len(summary) else 0
    years = [y for y in summary["year"].dropna().unique()]
    groups = [(f"Year {int(y)}", summary[summary["year"] == y]) for y in sorted(years)]
    groups.append(("County exit (per run, censored at the censoring date)", summary[summary["year"].isna()]))
    for title, block in groups:
        if block.empty:
            continue
        rows = []
        for metric, g in block.groupby("metric", sort=False):
            row = {"metric": LABELS[metric]}
            for _, r in g.iterrows():
                level_ci = fmt_interval(metric, r['ci_low'], r['ci_high']) if intervals else ""
                row[r["scenario"]] = f"{fmt_value(metric, r['mean'])} {level_ci}".strip()
                if r["n_reps"] < reps:  # e.g. median exit date undefined in some replications
                    row[r["scenario"]] += f" (n={int(r['n_reps'])})"
                if r["scenario"] != first:
                    mark = {"yes": "", "no (noise)": " (noise)", "n/a": "", "identical": " (identical)"}[_verdict(r)]
                    if mark == " (identical)":
                        row[f"{r['scenario']} - {first}"] = "identical"
                        continue
                    row[f"{r['scenario']} - {first}"] = (
                        f"{fmt_value(metric, r['diff'], True)} {fmt_interval(metric, r['diff_ci_low'], r['diff_ci_high'], True)}"
                        f"{mark}").strip() + (f" (n={int(r['n_pairs'])})" if pd.notna(r["n_pairs"]) and r["n_pairs"] < reps else "")
            rows.append(row)
        cols = ["metric"] + [c for n in scenario_names for c in (n, f"{n} - {first}") if c in pd.DataFrame(rows).columns]
        out.append((title, pd.DataFrame(rows)[cols]))
    return out


def markdown_table(df: pd.DataFrame) -> str:
    """The compare tables (cells already formatted text) in Markdown; ``|`` in a cell becomes ``/``."""
    return _markdown_table(df, pipe="/")


def text_table(df: pd.DataFrame) -> str:
    """The compare tables as left-aligned plain text."""
    return _text_table(df, None, index=False, align="left")


# ---------------------------------------------------------------------------------------------
# Writing


def write(result: CompareResult, summary: pd.DataFrame, out: Path, command: str | None = None) -> list[Path]:
    """Write the result set into ``out``: every file goes to a temporary folder first and is
    renamed into place, so an interruption leaves the earlier set (or none), never half of one."""
    out = Path(out)
    with staged(out) as tmp:
        written = _write_files(result, summary, tmp, command)
    return [out / f.relative_to(tmp) for f in written]


def _write_files(result: CompareResult, summary: pd.DataFrame, out: Path, command: str | None = None) -> list[Path]:
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    p = result.plan
    names = [sc.name for sc in p.scenarios]
    written = []
    result.runs.to_parquet(out / "runs.parquet", index=False)
    result.exits.to_parquet(out / "exits.parquet", index=False)
    result.quantiles.to_parquet(out / "resilience_quantiles.parquet", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    tables = summary_tables(summary, names)
    md = [f"# Scenario comparison: {', '.join(names)}", "",
          f"Mean across {p.reps} replications [95% interval of the mean]; differences are paired "
          f"(common random numbers) from `{names[0]}`, with their 95% interval; '(noise)' marks a "
          "difference whose interval includes 0.", ""]
    for title, t in tables:
        md += [f"## {title}", "", markdown_table(t), ""]
    (out / "summary.md").write_text("\n".join(md))
    written += [out / "summary.csv", out / "summary.md", out / "runs.parquet", out / "exits.parquet",
                out / "resilience_quantiles.parquet"]
    figs = report.compare_figures(result, summary, figures)
    written += figs
    meta = {
        "command": command,
        "scenarios": [{"name": sc.name, "description": sc.description, "source": sc.source, "extends_chain": sc.chain,
                       "parameters": sc.params.to_dict()} for sc in p.scenarios],
        "reps": p.reps, "master_seed": p.seed, "replication_seeds": p.seeds,
        "years_of_interest": p.years_of_interest, "warnings": p.warnings,
        "backend": result.backend, "wall_seconds": round(result.wall_seconds, 2),
        "failures": [{"scenario": s, "rep": r, "error": e} for s, r, e in result.failures],
        "package_version": package_version(), "git_commit": git_commit(), "numpy_version": np.__version__,
        "environment": environment(),
    }
    (out / "compare.json").write_text(json.dumps(meta, indent=2, default=str))
    written.append(out / "compare.json")
    text = report.compare_report(result, summary, tables, figs, out, command)
    if p.posterior is not None:
        ps = summarise_posterior(result)
        ps.to_csv(out / "posterior_summary.csv", index=False)
        post_md = posterior_markdown(ps, names, p)
        (out / "posterior.md").write_text(post_md)
        written += [out / "posterior_summary.csv", out / "posterior.md"]
        text += "\n\n" + post_md.replace("# ", "## ", 1)
    (out / "report.md").write_text(text)
    written.append(out / "report.md")
    return written


def posterior_markdown(ps: pd.DataFrame, names: list[str], p: ComparePlan) -> str:
    post = p.posterior
    diffs = ps[ps["scenario"] != names[0]]
    n_surv = int(diffs["survives"].fillna(False).sum())
    n_dist = int(diffs["distinguishable_stochastic"].fillna(False).sum())
    lost = diffs[diffs["distinguishable_stochastic"].fillna(False) & ~diffs["survives"].fillna(False)]
    md = [f"# Parameter uncertainty: {post['k']} posterior draws x {post['reps_per_draw']} replications", "",
          f"Posterior sample `{post['file']}` (sha256 {post['sha256'][:12]}...), draws (rows) "
          f"{', '.join(str(d['row']) for d in post['draws'])}; parameters: {', '.join(post['parameters'])}.", "",
          POSTERIOR_LEGEND, "",
          f"Of {len(diffs)} differences from `{names[0]}`, {n_dist} are distinguishable from stochastic noise at known "
          f"parameters and {n_surv} survive parameter uncertainty"
          + (f"; not robust to parameter uncertainty: " + ", ".join(
              f"{r.scenario} {LABELS[r.metric]}" + (f" {int(r.year)}" if pd.notna(r.year) else "")
              for r in lost.itertuples()) if len(lost) else "") + ".", ""]
    for w in p.warnings:
        if w.startswith("--posterior"):
            md += [f"* {w}", ""]
    for title, t in posterior_tables(ps, names):
        md += [f"## {title}", "", markdown_table(t), ""]
    return "\n".join(md)


def run_compare(scenario_names=DEFAULT_SCENARIOS, *, reps=DEFAULT_REPS, households=DEFAULT_HOUSEHOLDS, years=None,
                seed=0, overrides=(), years_of_interest=None, out: str | Path | None = DEFAULT_OUT, executor=None,
                progress=False, save_panels=False, command=None, overwrite=False):
    """Library entry point: plan, execute (serial unless an executor is given), summarise, write.

    With ``out`` the directory is claimed first (:func:`scenarios.outputs.claim`): results of
    another command or other settings there are refused unless ``overwrite``; the same
    comparison there continues from its stored runs."""
    out_path = Path(out) if out is not None else None
    p = plan(scenario_names, reps=reps, households=households, years=years, seed=seed, overrides=overrides,
             years_of_interest=years_of_interest,
             panels_dir=(out_path / "panels") if (save_panels and out_path is not None) else None)
    ex = executor or SerialExecutor()
    parts = None
    if out_path is not None:
        parts = prepare_out(p, out_path, overwrite=overwrite, args=None)
    result = execute(p, ex, progress=progress, parts_dir=parts)
    summary = summarise(result)
    if out_path is not None:
        write(result, summary, out_path, command)
    return result, summary


def prepare_out(p: ComparePlan, out: Path, *, overwrite: bool = False, resume: bool = False,
                args: dict | None = None) -> Path:
    """Claim ``out`` for this comparison (before any run); returns the folder of the per-run parts."""
    from .outputs import clear

    mode = claim(out, "compare", p.settings(), overwrite=overwrite, resume=resume)
    if mode == "resume":
        from .outputs import describe_differences, read_owner
        stored = read_owner(out).get("settings")
        mine = json.loads(json.dumps(p.settings(), default=str))
        if stored is not None and stored != mine:
            raise ParameterError(f"--resume {out}: the stored comparison no longer resolves to the same settings "
                                 f"({describe_differences(stored, mine)} changed, e.g. an edited scenario file); "
                                 "its runs are kept; use a new --out")
    if mode == "overwrite":
        clear(out)
    record(out, "compare", p.settings(), args=args)
    return Path(out) / "parts"
