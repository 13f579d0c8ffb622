"""Official patterns (pattern-oriented modelling, Grimm et al. 2005): does the simulated world look
like rural China 2012-2022?

``calibration/patterns.toml`` lists every official statistic of ../shared/literature.md ("Official
statistics") as a pattern: the simulated statistic it is compared with, the official value (nominal
yuan deflated to 2014 prices with the rural CPI of the file's ``[deflator]``), a tolerance and
whether it is held out from calibration (marked before any fitting; :func:`fittable` is the list a
calibration may use). :func:`run` simulates replications of one scenario on the shared executor
(common random numbers: :func:`ruralabm.scenarios.executor.replication_seeds`), :func:`summarise`
makes the pattern table (``patterns.csv``), :func:`write` adds ``report.md`` and the figures.

Simulated statistics of one run (:func:`run_statistics`, keys ``name.year``):

=============================== =============================================================
income_pc.Y                     total income / total persons (usual residents; yuan, 2014 prices)
income_pc_poor_areas.Y          the same over the households of the designated poor counties
income_growth.Y0_Y1             (income_pc.Y1 / income_pc.Y0) ** (1 / (Y1 - Y0)) - 1
share_{wages,business,property,transfers}.Y   NBS income categories (``SOURCES``) in total income
poverty.Y                       person-weighted incidence under the national line
poverty_change.Y                poverty.Y - poverty.(Y-1)
poverty_{east,central,west}.Y   incidence by region
registered_share.Y              person-weighted share registered as poor
registered_share.first_policy_year, registered_ratio.first_policy_year   the register of the
                                first policy year, and it over the income-poor share of the year before
income_growth_poor_areas.Y0_Y1  the same for the poor counties
county_exit_share.Y             share of poor counties exiting in batch (assessment) year Y (announced the year after)
county_not_exited.Y             share of counties not exited in a batch up to Y
=============================== =============================================================
"""
from __future__ import annotations

import json
import math
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ruralabm.analysis.studies.campaign import exit_years
from ruralabm.model.params import ParameterError
from ruralabm.scenarios import load
from ruralabm.scenarios.executor import progress_bar, replication_seeds
from ruralabm.scenarios.provenance import git_commit, package_version

PATTERNS_FILE = Path(__file__).resolve().parent / "patterns.toml"
DEFAULT_SCENARIO = "mixed"
DEFAULT_REPS = 8
DEFAULT_HOUSEHOLDS = 20_000
DEFAULT_OUT = "runs/patterns"
# NBS income categories <- the model's household income sources (documented in patterns.toml).
SOURCES = {"wages": ("income_wage",), "business": ("income_farm", "income_business"),
           "property": ("income_dividends",), "transfers": ("income_transfers",)}
REGION_NAMES = ("east", "central", "west")
GROWTH_SPANS = ((2014, 2020), (2014, 2022))
COLUMNS = ["key", "group", "source", "official", "official_nominal", "unit", "tolerance", "tolerance_kind",
           "low", "high", "sim_mean", "sim_sd", "sim_low", "sim_high", "n_reps", "deviation", "met", "held_out",
           "why", "compares", "sim_se", "p_met"]
# A verdict is "within the Monte Carlo noise" when p_met lies between these: more replications
# could turn it either way.
UNSURE = (0.05, 0.95)


def unsure(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a pattern table whose verdict more replications could turn."""
    return table[(table["p_met"] > UNSURE[0]) & (table["p_met"] < UNSURE[1])]


def count_line(table: pd.DataFrame) -> str:
    """One line: patterns met, held out (and met), verdicts within the Monte Carlo noise."""
    held_out = table[table["held_out"]]
    return (f"{int(table['met'].sum())} of {len(table)} patterns met; held out from calibration {len(held_out)} "
            f"({int(held_out['met'].sum())} met); {len(unsure(table))} verdict(s) within the Monte Carlo noise "
            f"(p_met between {UNSURE[0]:g} and {UNSURE[1]:g}: more --reps decide them)")


def verdict_line(row) -> str:
    """One pattern's verdict, as the command prints it (``row`` from ``table.itertuples()``)."""
    return (f"  {'ok  ' if row.met else 'FAIL'} {row.key:38s} official {row.official:>10.4g}  simulated "
            f"{row.sim_mean:>10.4g} (se {row.sim_se:.2g})  [{row.low:.4g}, {row.high:.4g}]  p_met {row.p_met:.2f}"
            f"{'  (held out)' if row.held_out else ''}")


# ---------------------------------------------------------------------------------------------
# The patterns file


@dataclass
class Pattern:
    key: str
    group: str
    stat: str
    official: float  # at 2014 prices where deflated
    official_nominal: float | None
    unit: str
    tolerance: float
    tolerance_kind: str
    held_out: bool
    why: str
    compares: str
    source: str
    tolerance_reason: str

    @property
    def band(self) -> tuple[float, float]:
        half = self.tolerance * abs(self.official) if self.tolerance_kind == "relative" else self.tolerance
        return self.official - half, self.official + half


@dataclass
class PatternSet:
    patterns: list[Pattern]
    meta: dict
    deflator: dict
    correspondence: dict
    path: Path
    price_index: dict[int, float] = field(default_factory=dict)  # year -> P_t / P_base

    def held_out_share(self) -> float:
        return sum(p.held_out for p in self.patterns) / len(self.patterns)

    def fittable(self) -> list[Pattern]:
        """The patterns a calibration may use (never the held-out ones)."""
        return [p for p in self.patterns if not p.held_out]


def price_index(rural_cpi: Mapping[int, float], base_year: int) -> dict[int, float]:
    """Chained price level relative to ``base_year`` from yearly indices (previous year = 100)."""
    years = sorted(int(y) for y in rural_cpi)
    level = {base_year: 1.0}
    for y in [y for y in years if y > base_year]:
        if y - 1 not in level:
            raise ParameterError(f"rural CPI: year {y - 1} missing before {y}")
        level[y] = level[y - 1] * float(rural_cpi[y]) / 100.0
    for y in sorted([y for y in years if y <= base_year], reverse=True):
        # P_{y-1} = P_y / (index_y / 100)
        if y not in level:
            raise ParameterError(f"rural CPI: year {y} missing after {y - 1}")
        level[y - 1] = level[y] / (float(rural_cpi[y]) / 100.0)
    return level


def deflate(nominal: float, year: int, index: Mapping[int, float]) -> float:
    """Nominal yuan of ``year`` at base-year prices."""
    if year not in index:
        raise ParameterError(f"no rural CPI for {year}: deflator covers {min(index)}-{max(index)}")
    return float(nominal) / index[year]


def real_growth(nominal0: float, y0: int, nominal1: float, y1: int, index: Mapping[int, float]) -> float:
    """Average real growth per year between two nominal values."""
    return (deflate(nominal1, y1, index) / deflate(nominal0, y0, index)) ** (1.0 / (y1 - y0)) - 1.0


REQUIRED = ("key", "group", "stat", "unit", "tolerance", "tolerance_kind", "tolerance_reason", "held_out",
            "compares", "source")


def load_patterns(path: str | Path | None = None) -> PatternSet:
    path = Path(path) if path is not None else PATTERNS_FILE
    data = tomllib.loads(path.read_text())
    d = data.get("deflator", {})
    base = int(d.get("base_year", 2014))
    index = price_index({int(k): v for k, v in d.get("rural_cpi", {}).items()}, base)
    out, seen = [], set()
    for raw in data.get("pattern", []):
        missing = [k for k in REQUIRED if k not in raw]
        if "official" not in raw and "official_from" not in raw:
            missing.append("official")
        why = raw.get("held_out_reason") if raw.get("held_out") else raw.get("fit_reason")
        if not why:
            missing.append("held_out_reason" if raw.get("held_out") else "fit_reason")
        if missing:
            raise ParameterError(f"{path.name}: pattern {raw.get('key', '?')} lacks {', '.join(missing)}")
        if raw["key"] in seen:
            raise ParameterError(f"{path.name}: pattern {raw['key']} appears twice")
        seen.add(raw["key"])
        if raw["tolerance_kind"] not in ("relative", "absolute"):
            raise ParameterError(f"{path.name}: pattern {raw['key']}: tolerance_kind must be relative or absolute")
        nominal = None
        if "official_from" in raw:
            f = raw["official_from"]
            official = real_growth(f["nominal0"], int(f["y0"]), f["nominal1"], int(f["y1"]), index)
        elif raw.get("deflate"):
            nominal = float(raw["official"])
            official = deflate(nominal, int(raw["stat"].rsplit(".", 1)[1]), index)
        else:
            official = float(raw["official"])
        out.append(Pattern(raw["key"], raw["group"], raw["stat"], official, nominal, raw["unit"],
                           float(raw["tolerance"]), raw["tolerance_kind"], bool(raw["held_out"]), why,
                           raw["compares"], raw["source"], raw["tolerance_reason"]))
    return PatternSet(out, data.get("meta", {}), d, data.get("correspondence", {}), path, index)


# ---------------------------------------------------------------------------------------------
# Simulated statistics


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def run_statistics(model) -> dict[str, float]:
    """Every simulated statistic of a finished run (see the module docstring)."""
    p = model.params
    hp = model.household_panel()
    years = np.sort(hp["year"].unique()).astype(int)
    codes = np.searchsorted(years, hp["year"].to_numpy())
    ny = len(years)
    fam = hp["residents"].to_numpy(np.float64)  # usual residents, as the household survey counts persons
    persons = np.bincount(codes, weights=fam, minlength=ny)

    def total(values, mask=None):
        w = values if mask is None else values * mask
        return np.bincount(codes, weights=w, minlength=ny)

    income = hp["income_total"].to_numpy(np.float64)
    stats: dict[str, float] = {}
    inc_pc = total(income) / persons
    # The poor areas: households of the designated national poor counties (every county with design 'table1').
    cp = model.county_panel()
    poor_county = cp.loc[cp["year"] == cp["year"].min()].set_index("county_id")["poor_county"]
    in_poor = poor_county.reindex(hp["county_id"].to_numpy()).to_numpy(np.float64)
    inc_pc_poor = _ratio(total(income * in_poor), total(fam * in_poor))
    poor = hp["poor_national"].to_numpy(np.float64)
    pov = total(fam * poor) / persons
    reg = total(fam * (hp["registered_poor"].to_numpy() == 1)) / persons
    income_sum = total(income)
    shares = {name: _ratio(sum(total(hp[c].to_numpy(np.float64)) for c in cols), income_sum)
              for name, cols in SOURCES.items()}
    region = hp["region"].cat.codes.to_numpy() if isinstance(hp["region"].dtype, pd.CategoricalDtype) \
        else hp["region"].to_numpy()
    by_region = {}
    for r, name in enumerate(REGION_NAMES):
        m = (region == r).astype(np.float64)
        by_region[name] = _ratio(total(fam * poor * m), total(fam * m))
    for k, y in enumerate(years):
        stats[f"income_pc.{y}"] = float(inc_pc[k])
        stats[f"income_pc_poor_areas.{y}"] = float(inc_pc_poor[k])
        stats[f"poverty.{y}"] = float(pov[k])
        stats[f"registered_share.{y}"] = float(reg[k])
        for name in SOURCES:
            stats[f"share_{name}.{y}"] = float(shares[name][k])
        for name in REGION_NAMES:
            stats[f"poverty_{name}.{y}"] = float(by_region[name][k])
        if k > 0:
            stats[f"poverty_change.{y}"] = float(pov[k] - pov[k - 1])
    for y0, y1 in GROWTH_SPANS:
        if f"income_pc.{y0}" in stats and f"income_pc.{y1}" in stats:
            stats[f"income_growth.{y0}_{y1}"] = (stats[f"income_pc.{y1}"] / stats[f"income_pc.{y0}"]) ** (1 / (y1 - y0)) - 1
            stats[f"income_growth_poor_areas.{y0}_{y1}"] = (
                (stats[f"income_pc_poor_areas.{y1}"] / stats[f"income_pc_poor_areas.{y0}"]) ** (1 / (y1 - y0)) - 1)
    first = p.calendar.policy_start_year
    if f"registered_share.{first}" in stats and f"poverty.{first - 1}" in stats:
        stats["registered_share.first_policy_year"] = stats[f"registered_share.{first}"]
        stats["registered_ratio.first_policy_year"] = (stats[f"registered_share.{first}"] / stats[f"poverty.{first - 1}"]
                                                       if stats[f"poverty.{first - 1}"] > 0 else math.nan)
    # Official exits count counties by batch (assessment) year; the announcement follows a year later.
    batch = exit_years(model).astype(np.float64)
    batch = np.where(batch > 0, batch, np.inf)
    n_c = len(batch)
    for y in years:
        stats[f"county_exit_share.{y}"] = float((batch == y).sum() / n_c)
        stats[f"county_not_exited.{y}"] = float((batch > y).sum() / n_c)
    return stats


def pattern_task(task: Mapping[str, Any]) -> dict[str, float]:
    """Executor task ``{"params": dict, "seed": int}`` -> the run's statistics."""
    from ruralabm.model import RuralModel
    from ruralabm.model.params import Params

    model = RuralModel(Params.from_dict(task["params"]), seed=int(task["seed"]), household_agents=False).run()
    return run_statistics(model)


# ---------------------------------------------------------------------------------------------
# Running and summarising


@dataclass
class PatternRun:
    scenario: str
    params: Any
    reps: int
    seed: int
    seeds: list[int]
    stats: pd.DataFrame  # rep, seed, stat, value
    failures: list[tuple[int, str]]
    backend: str
    wall_seconds: float


def plan_params(scenario: str = DEFAULT_SCENARIO, households: int | None = DEFAULT_HOUSEHOLDS,
                overrides: Sequence[str] = ()):
    sc = load(scenario, list(overrides))
    if households is not None:
        sc.params.set("population.n_households", int(households))
    return sc


def run(scenario: str = DEFAULT_SCENARIO, *, reps: int = DEFAULT_REPS, households: int | None = DEFAULT_HOUSEHOLDS,
        seed: int = 0, overrides: Sequence[str] = (), executor=None, progress: bool = False) -> PatternRun:
    from ruralabm.scenarios.executor import SerialExecutor

    if reps < 1:
        raise ParameterError(f"--reps = {reps} is not allowed: must be at least 1")
    sc = plan_params(scenario, households, overrides)
    seeds = replication_seeds(seed, reps)
    tasks = [{"params": sc.params.to_dict(), "seed": s} for s in seeds]
    ex = executor if executor is not None else SerialExecutor()
    t0 = time.perf_counter()
    rows, failures = [], []
    bar = progress_bar(len(tasks), "patterns", progress)
    try:
        for i, outcome in ex.run(pattern_task, tasks):
            bar.update(1)
            if not outcome.ok:
                failures.append((i, outcome.error))
                continue
            rows.extend((i, seeds[i], k, v) for k, v in outcome.value.items())
    finally:
        bar.close()
    if not rows:
        raise ParameterError("every run failed; first error: " + (failures[0][1] if failures else "none"))
    df = pd.DataFrame(rows, columns=["rep", "seed", "stat", "value"]).sort_values(["stat", "rep"], kind="stable")
    return PatternRun(sc.name, sc.params, reps, seed, seeds, df.reset_index(drop=True), sorted(failures),
                      ex.describe(), time.perf_counter() - t0)


def _precision(mean: float, sd: float, n: int, lo: float, hi: float) -> dict:
    """The Monte Carlo standard error of the simulated mean, and ``p_met``: the probability that
    the model's expected value (the mean over infinitely many replications) lies inside the
    tolerance band, given the replications run (normal approximation to the mean's sampling
    distribution, flat prior). The verdict ``met`` is about the mean of the replications run; where
    ``p_met`` is far from 0 and 1 it is the replications' noise, and more ``--reps`` decide it."""
    if n < 2 or not np.isfinite(sd):
        return {"sim_se": math.nan, "p_met": math.nan}
    se = sd / math.sqrt(n)
    if se == 0.0:
        return {"sim_se": 0.0, "p_met": float(lo <= mean <= hi)}
    p = ndtr((hi - mean) / se) - ndtr((lo - mean) / se)
    return {"sim_se": se, "p_met": float(p)}


def summarise(result: PatternRun, patterns: PatternSet | None = None) -> pd.DataFrame:
    """The pattern table: one row per pattern (columns ``COLUMNS``)."""
    patterns = patterns or load_patterns()
    by_stat = {k: g["value"].to_numpy(np.float64) for k, g in result.stats.groupby("stat")}
    rows = []
    for p in patterns.patterns:
        v = by_stat.get(p.stat, np.array([]))
        v = v[np.isfinite(v)]
        n = v.size
        mean = float(v.mean()) if n else math.nan
        sd = float(v.std(ddof=1)) if n > 1 else math.nan
        lo, hi = p.band
        rows.append({"key": p.key, "group": p.group, "source": p.source, "official": p.official,
                     "official_nominal": p.official_nominal, "unit": p.unit, "tolerance": p.tolerance,
                     "tolerance_kind": p.tolerance_kind, "low": lo, "high": hi, "sim_mean": mean, "sim_sd": sd,
                     "sim_low": mean - 1.96 * sd if n > 1 else math.nan,
                     "sim_high": mean + 1.96 * sd if n > 1 else math.nan, "n_reps": n,
                     "deviation": mean - p.official, "met": bool(n and lo <= mean <= hi), "held_out": p.held_out,
                     "why": p.why, "compares": p.compares, **_precision(mean, sd, n, lo, hi)})
    return pd.DataFrame(rows, columns=COLUMNS)


# ---------------------------------------------------------------------------------------------
# Figures and report


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _series(result: PatternRun, name: str) -> pd.DataFrame:
    """Yearly band of a simulated statistic ``name.Y``: year, mean, low, high (mean +- 1.96 sd)."""
    s = result.stats[result.stats["stat"].str.match(rf"^{name}\.\d{{4}}$")]
    if s.empty:
        return pd.DataFrame(columns=["year", "mean", "low", "high"])
    s = s.assign(year=s["stat"].str.rsplit(".", n=1).str[1].astype(int))
    g = s.groupby("year")["value"]
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1).fillna(0.0)}).reset_index()
    out["low"] = out["mean"] - 1.96 * out["sd"]
    out["high"] = out["mean"] + 1.96 * out["sd"]
    return out


def _official(table: pd.DataFrame, prefix: str) -> pd.DataFrame:
    rows = table[table["key"].str.match(rf"^{prefix}\.\d{{4}}$")]
    return rows.assign(year=rows["key"].str.rsplit(".", n=1).str[1].astype(int)).sort_values("year")


def figures(result: PatternRun, table: pd.DataFrame, patterns: PatternSet, figdir: Path) -> list[Path]:
    plt = _plt()
    from matplotlib.ticker import PercentFormatter

    figdir.mkdir(parents=True, exist_ok=True)
    written = []
    band_label = f"simulated, 95% band of {result.reps} replications"

    def save(fig, name):
        path = figdir / name
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    # 1. Income per capita: poor-area and national official series (2014 prices) over the bands of
    # the simulated poor counties and of the whole population.
    fig, ax = plt.subplots(figsize=(7, 4.2))
    s = _series(result, "income_pc")
    ax.fill_between(s["year"], s["low"], s["high"], color="tab:blue", alpha=0.2, label=band_label + ", all")
    ax.plot(s["year"], s["mean"], color="tab:blue", lw=1.5, label="simulated mean, all households")
    sp = _series(result, "income_pc_poor_areas")
    if len(sp) and not sp["mean"].equals(s["mean"]):
        ax.fill_between(sp["year"], sp["low"], sp["high"], color="tab:orange", alpha=0.25,
                        label=band_label + ", poor counties")
        ax.plot(sp["year"], sp["mean"], color="tab:orange", lw=1.5, label="simulated mean, poor counties")
    off = _official(table, "income.poor_areas")
    all_poor = {2013: 6079, 2014: 6852, 2015: 7653, 2016: 8452, 2017: 9377, 2018: 10371, 2019: 11567, 2020: 12588}
    national = {2013: 9430, 2014: 10489, 2015: 11422, 2016: 12363, 2017: 13432, 2018: 14617, 2019: 16021,
                2020: 17131, 2021: 18931, 2022: 20133}
    idx = patterns.price_index
    ax.plot(list(all_poor), [deflate(v, y, idx) for y, v in all_poor.items()], "o-", color="tab:red", ms=4,
            label="official, poor areas (deflated)")
    ax.plot(list(national), [deflate(v, y, idx) for y, v in national.items()], "s--", color="0.4", ms=4,
            label="official, all rural (deflated)")
    ax.errorbar(off["year"], off["official"], yerr=off["official"] - off["low"], fmt="none", ecolor="tab:red",
                capsize=3, lw=0.8, label="pattern tolerance")
    ax.set_xlabel("year")
    ax.set_ylabel("income per capita (yuan per person-year, 2014 prices)")
    ax.set_title("Rural income per capita")
    ax.legend(fontsize=8)
    save(fig, "income.png")

    # 2. Headcount under the national line and the register.
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    s = _series(result, "poverty")
    ax.fill_between(s["year"], s["low"], s["high"], color="tab:blue", alpha=0.25, label=band_label)
    ax.plot(s["year"], s["mean"], color="tab:blue", lw=1.5, label="simulated mean")
    off = _official(table, "poverty.national")
    ax.errorbar(off["year"], off["official"], yerr=off["official"] - off["low"], fmt="o-", color="tab:red",
                capsize=3, ms=4, label="official incidence (national) +- tolerance")
    ax.set_xlabel("year")
    ax.set_ylabel("poverty incidence, national line (% of persons)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("Poverty headcount, 2010 standard")
    ax.legend(fontsize=8)
    ax = axes[1]
    r = _series(result, "registered_share")
    ax.fill_between(r["year"], r["low"], r["high"], color="tab:green", alpha=0.25, label="simulated registered share, 95% band")
    ax.plot(r["year"], r["mean"], color="tab:green", lw=1.5, label="simulated registered share")
    ax.plot(s["year"], s["mean"], color="tab:blue", lw=1, ls=":", label="simulated income-poor share")
    reg = table[table["key"] == "registration.share.2014"]
    if len(reg):
        first = result.params.calendar.policy_start_year
        ax.errorbar([first], reg["official"], yerr=reg["official"] - reg["low"], fmt="D", color="tab:red",
                    capsize=3, label=f"official register 2014 (89 m), at the model's first register ({first})")
        ax.plot([first - 1], [0.072], "o", color="tab:red", mfc="none", label="official income-poor 2014 (7.2%)")
    ax.set_xlabel("year")
    ax.set_ylabel("share of persons (%)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("Poverty register vs income poverty")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    save(fig, "poverty.png")

    # 3. Income composition 2014 and 2022.
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    cats = list(SOURCES)
    for ax, year in zip(axes, (2014, 2022)):
        rows = table.set_index("key")
        keys = [f"composition.{year}.{c}" for c in cats]
        present = [k in rows.index for k in keys]
        if not all(present):
            continue
        x = np.arange(len(cats))
        sim = rows.loc[keys]
        ax.bar(x, sim["sim_mean"], color="tab:blue", alpha=0.5, label="simulated mean")
        ax.errorbar(x, sim["sim_mean"], yerr=1.96 * sim["sim_sd"].fillna(0), fmt="none", ecolor="tab:blue",
                    capsize=4, label="simulated 95% band")
        ax.errorbar(x + 0.2, sim["official"], yerr=sim["tolerance"], fmt="o", color="tab:red", capsize=3,
                    label="official +- tolerance")
        ax.set_xticks(x, ["wages", "net business\n(farm + non-farm)", "property", "transfers"], fontsize=8)
        ax.set_title(f"Income composition {year}")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes[0].set_ylabel("share of income (%)")
    axes[0].set_ylim(0, max(1.0, axes[0].get_ylim()[1]))
    axes[0].legend(fontsize=8, loc="upper right")
    save(fig, "composition.png")

    # 4. Regional incidence 2014 and 5. county exits.
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    rows = table.set_index("key")
    keys = [f"poverty.region.2014.{r}" for r in REGION_NAMES]
    if all(k in rows.index for k in keys):
        sim = rows.loc[keys]
        x = np.arange(3)
        ax.bar(x, sim["sim_mean"], color="tab:blue", alpha=0.5, label="simulated mean")
        ax.errorbar(x, sim["sim_mean"], yerr=1.96 * sim["sim_sd"].fillna(0), fmt="none", ecolor="tab:blue", capsize=4,
                    label="simulated 95% band")
        ax.errorbar(x + 0.2, sim["official"], yerr=sim["tolerance"], fmt="o", color="tab:red", capsize=3,
                    label="official +- tolerance")
        ax.set_xticks(x, list(REGION_NAMES))
    ax.set_ylabel("poverty incidence 2014, national line (% of persons)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1.45 * max(ax.get_ylim()[1], 0.01))
    ax.set_title("Poverty by region, 2014")
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    ax = axes[1]
    s = _series(result, "county_exit_share")
    s = s[(s["year"] >= 2015) & (s["year"] <= 2022)]
    ax.fill_between(s["year"], s["low"].clip(lower=0), s["high"], color="tab:blue", alpha=0.25, label=band_label)
    ax.plot(s["year"], s["mean"], color="tab:blue", lw=1.5, label="simulated mean")
    off = _official(table, "county_exits")
    ax.errorbar(off["year"], off["official"], yerr=off["tolerance"], fmt="o-", color="tab:red", capsize=3, ms=4,
                label="official (of 832 poor counties) +- tolerance")
    ax.set_xlabel("exit (assessment batch) year")
    ax.set_ylabel("counties exiting in the year (% of counties)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("Poor-county exits")
    lo_, hi_ = ax.get_ylim()
    ax.set_ylim(lo_, hi_ + 0.35 * (hi_ - lo_))
    ax.legend(fontsize=8, loc="upper left")
    save(fig, "regions_exits.png")
    return written


def _fmt(v: float, unit: str, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if unit.startswith("yuan"):
        return f"{v:,.0f}"
    if unit.startswith("registered persons"):
        return f"{v:.3f}"
    return f"{100 * v:.{digits}f}%"


def markdown_table(table: pd.DataFrame) -> str:
    lines = ["| pattern | official | tolerance | simulated mean (sd) | met | p_met | held out | why |",
             "|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        tol = (f"+-{100 * r.tolerance:.0f}% rel." if r.tolerance_kind == "relative"
               else f"+-{_fmt(r.tolerance, r.unit).replace('%', ' pt')}" if not r.unit.startswith("registered")
               else f"+-{r.tolerance:.2f}")
        sd = _fmt(r.sim_sd, r.unit).replace("%", " pt") if r.unit != "yuan per person-year" else f"{r.sim_sd:,.0f}"
        lines.append(f"| `{r.key}` | {_fmt(r.official, r.unit)} | {tol} | {_fmt(r.sim_mean, r.unit)} ({sd}) | "
                     f"{'yes' if r.met else '**no**'} | {r.p_met:.2f} | {'yes' if r.held_out else 'no'} | {r.why} |")
    return "\n".join(lines)


def report_markdown(result: PatternRun, table: pd.DataFrame, patterns: PatternSet, figures_: list[Path],
                    out: Path, command: str | None = None) -> str:
    n = len(table)
    met = int(table["met"].sum())
    ho = table[table["held_out"]]
    fails = table[~table["met"]]
    c = result.params.calendar
    lines = [
        "# Official patterns",
        "",
        f"Scenario `{result.scenario}`, {result.reps} replications of "
        f"{result.params.population.n_households:,} households ({c.start_year}-{c.end_year}), master seed "
        f"{result.seed}, on {result.backend}, {result.wall_seconds:.1f} s."
        + (f" Command: `{command}`." if command else ""),
        "",
        f"**{met} of {n} patterns met**; held out from calibration: {len(ho)} of {n} "
        f"({100 * len(ho) / n:.0f}%), of which {int(ho['met'].sum())} met.",
        "",
        "Yardstick: " + patterns.meta.get("yardstick", "") + " Official values in yuan are at 2014 prices "
        f"(deflator: {patterns.deflator.get('series', '')}; {patterns.deflator.get('source', '')}). "
        "Met = the mean over replications lies within the tolerance of the official value. "
        "Simulated band = mean +- 1.96 sd of the replications. `sim_se` = the Monte Carlo standard error of "
        "the mean (sd / sqrt(replications)); `p_met` = the probability that the model's expected value lies "
        "inside the tolerance (normal approximation).",
        "",
        markdown_table(table),
        "",
    ]
    undecided = unsure(table)
    lines += ["## Verdicts within the Monte Carlo noise", ""]
    if undecided.empty:
        lines.append(f"None: every verdict has p_met below {UNSURE[0]:g} or above {UNSURE[1]:g}.")
    else:
        lines.append(f"These verdicts could turn with more replications ({result.reps} run; the standard error "
                     "falls with their square root):")
        lines.append("")
        for r in undecided.itertuples():
            lines.append(f"- `{r.key}`: simulated {_fmt(r.sim_mean, r.unit, 2)} (standard error "
                         f"{_fmt(r.sim_se, r.unit, 2)}), band {_fmt(r.low, r.unit, 2)} to {_fmt(r.high, r.unit, 2)}: "
                         f"{'met' if r.met else 'not met'}, p_met {r.p_met:.2f}.")
    lines += ["", "## Failed patterns", ""]
    if fails.empty:
        lines.append("None.")
    for r in fails.itertuples():
        if r.tolerance_kind == "relative":
            dev = f"{100 * r.deviation / r.official:+.0f}% relative (tolerance +-{100 * r.tolerance:.0f}%)"
        elif r.unit.startswith("yuan") or r.unit.startswith("registered"):
            dev = f"{r.deviation:+.3g} (tolerance +-{r.tolerance:.3g})"
        else:
            dev = f"{100 * r.deviation:+.1f} points (tolerance +-{100 * r.tolerance:.1f})"
        lines.append(f"- `{r.key}`: simulated {_fmt(r.sim_mean, r.unit)} vs official {_fmt(r.official, r.unit)}: {dev}.")
    lines += ["", "## Which simulated quantity stands for which official one", ""]
    for k, v in patterns.correspondence.items():
        lines.append(f"- **{k}**: " + " ".join(v.split()))
    lines += ["", "## Figures", ""]
    for f in figures_:
        lines.append(f"![{f.stem}]({f.relative_to(out).as_posix()})")
    if result.failures:
        lines += ["", f"{len(result.failures)} replication(s) failed, e.g. rep {result.failures[0][0]}: {result.failures[0][1]}"]
    return "\n".join(lines) + "\n"


def write(result: PatternRun, table: pd.DataFrame, out: str | Path, command: str | None = None,
          patterns: PatternSet | None = None, make_figures: bool = True) -> dict[str, Path]:
    """patterns.csv, replications.csv, report.md, patterns.json and figures/ in ``out``, written into a
    temporary folder first and renamed into place (an interruption leaves the earlier set)."""
    from ruralabm.scenarios.outputs import staged

    patterns = patterns or load_patterns()
    out = Path(out)
    with staged(out) as tmp:
        _write_files(result, table, tmp, command, patterns, make_figures)
    return {"csv": out / "patterns.csv", "report": out / "report.md", "figures": out / "figures"}


def _write_files(result: PatternRun, table: pd.DataFrame, out: Path, command: str | None, patterns: PatternSet,
                 make_figures: bool) -> None:
    table.to_csv(out / "patterns.csv", index=False)
    result.stats.to_csv(out / "replications.csv", index=False)
    figs = figures(result, table, patterns, out / "figures") if make_figures else []
    (out / "report.md").write_text(report_markdown(result, table, patterns, figs, out, command))
    meta = {"scenario": result.scenario, "reps": result.reps, "seed": result.seed, "seeds": result.seeds,
            "households": result.params.population.n_households, "backend": result.backend,
            "wall_seconds": result.wall_seconds, "patterns_file": str(patterns.path), "met": int(table["met"].sum()),
            "patterns": len(table), "held_out": int(table["held_out"].sum()), "version": package_version(),
            "commit": git_commit(), "command": command, "failures": result.failures,
            "params_sha256": params_digest(result.params)}
    (out / "patterns.json").write_text(json.dumps(meta, indent=2, default=str))


def params_digest(params) -> str:
    """A fingerprint of the parameters a run used (the scenario after overrides), so that runs
    can be pooled only when they simulated the same world."""
    import hashlib

    text = json.dumps(params.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def pooled(dirs: Sequence[str | Path]) -> tuple[PatternRun, list[dict]]:
    """The replications of several finished ``ruralabm patterns`` runs of the same world as one
    run (for a Monte Carlo precision one run would take too long to reach in one go, or to add
    replications to a finished run: run again with another ``--seed`` and pool). Refused where the
    runs differ in scenario, households, version, commit or parameters, or share a replication seed
    (the same replication counted twice would fake precision). Returns the pooled run (``params``
    None: take them from any of the runs) and each run's metadata."""
    if len(dirs) < 2:
        raise ParameterError(f"pool: {len(dirs)} run directory given; at least 2 are needed")
    metas, frames = [], []
    for d in dirs:
        d = Path(d)
        try:
            meta = json.loads((d / "patterns.json").read_text())
            stats = pd.read_csv(d / "replications.csv")
        except FileNotFoundError as exc:
            raise ParameterError(f"pool: {d} is not a finished patterns run ({Path(exc.filename).name} missing)") from None
        metas.append(meta)
        frames.append(stats)
    for key in ("scenario", "households", "version", "commit", "params_sha256"):
        values = {str(m.get(key)) for m in metas}
        if len(values) > 1:
            raise ParameterError(f"pool: the runs differ in {key} ({', '.join(sorted(values))}); "
                                 "only runs of the same world can be pooled")
    seen: dict[int, str] = {}
    offset = 0
    failures = []
    for d, meta, stats in zip(dirs, metas, frames):
        failures.extend((int(i) + offset, str(err)) for i, err in meta.get("failures", []))
        for s in stats["seed"].unique():
            if int(s) in seen:
                raise ParameterError(f"pool: replication seed {int(s)} is in both {seen[int(s)]} and {d}; "
                                     "pool runs of different master seeds")
            seen[int(s)] = str(d)
        stats["rep"] = stats["rep"] + offset
        offset += int(meta["reps"])
    stats = pd.concat(frames, ignore_index=True).sort_values(["stat", "rep"], kind="stable").reset_index(drop=True)
    seeds = [int(s) for m in metas for s in m["seeds"]]
    run = PatternRun(metas[0]["scenario"], None, offset, int(metas[0]["seed"]), seeds, stats, failures, "pooled",
                     float(sum(m.get("wall_seconds", 0.0) for m in metas)))
    return run, metas
