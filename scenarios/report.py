"""Figures and Markdown reports for ``compare`` and ``sweep``; the parameter schema table of
``docs/scenarios.md`` (regenerate with ``python -m scenarios.report --schema``)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ruralabm.analysis.estimators.tables import markdown_table as _markdown_table
from ruralabm.model.params import all_parameter_specs

from .formatting import PERCENT, fmt_interval, fmt_value
from .runner import LABELS, YEARLY_METRICS

# PNG text chunks: no "Software" (matplotlib's version), so figures are byte-identical across runs.
PNG_METADATA = {"Software": None}


def markdown_table(df: pd.DataFrame) -> str:
    """Report tables (cells already formatted text); ``|`` in a cell becomes ``/``."""
    return _markdown_table(df, pipe="/")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------------------------------------
# compare


# Axis units of every metric as plotted: rates in percent (as in the tables), differences of rates
# in percentage points.
UNITS = {
    "poverty_1_9": "% of persons", "poverty_national": "% of persons", "poverty_3_1": "% of persons",
    "vulnerability": "% (mean probability)", "resilience": "index (0-1)", "buffering": "index (0-1)",
    "self_organisation": "index (0-1)", "learning": "index (0-1)",
    "income_pc": "yuan per person, 2014 prices", "consumption_pc": "yuan per person, 2014 prices",
    "participation": "% of households", "exit_share": "% of counties", "median_exit_date": "year",
}


def plot_scale(metric: str) -> float:
    """Factor from stored values to plotted ones: 100 for rates (plotted in %), else 1."""
    return 100.0 if metric in PERCENT else 1.0


def axis_unit(metric: str, diff: bool = False) -> str:
    """Unit of a plotted metric; of a difference when ``diff`` (percentage points for rates)."""
    if diff:
        if metric in PERCENT:
            return "pp"
        return {"median_exit_date": "years"}.get(metric, UNITS.get(metric, ""))
    return UNITS.get(metric, "")


def _style(i: int, name: str, color: str) -> dict:
    """The reference scenario (first) is drawn dashed, thicker and on top, so that it stays visible
    where another scenario coincides with it (before the policy starts every line is identical)."""
    if i == 0:
        return {"color": color, "ls": (0, (4, 2)), "lw": 2.4, "zorder": 4, "label": f"{name} (reference)"}
    return {"color": color, "ls": "-", "lw": 1.5, "zorder": 3, "label": name}


def _band(values: pd.DataFrame) -> pd.DataFrame:
    """Per year: mean and 95% t-interval of the mean across replications (columns = reps)."""
    from scipy import stats

    n = values.notna().sum(axis=1)
    mean = values.mean(axis=1)
    sd = values.std(axis=1, ddof=1)
    t = pd.Series(stats.t.ppf(0.975, np.maximum(n - 1, 1)), index=values.index)
    half = (t * sd / np.sqrt(n)).fillna(0.0)
    return pd.DataFrame({"mean": mean, "lo": mean - half, "hi": mean + half})


def compare_figures(result, summary: pd.DataFrame, figdir: Path) -> list[Path]:
    plt = _plt()
    p = result.plan
    names = [sc.name for sc in p.scenarios]
    colors = {n: f"C{i}" for i, n in enumerate(names)}
    runs = result.runs
    yearly = runs[runs["year"].notna()]
    paths = []
    policy_year = p.scenarios[0].params.calendar.policy_start_year

    # 1. trajectories with bands
    metrics = [m for m in YEARLY_METRICS if m in set(yearly["metric"])]
    ncol = 4
    nrow = math.ceil(len(metrics) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.1 * nrow + 0.6), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        sub = yearly[yearly["metric"] == metric]
        scale = plot_scale(metric)
        for i, name in enumerate(names):
            w = sub[sub["scenario"] == name].pivot(index="year", columns="rep", values="value")
            if w.empty:
                continue
            b = _band(w) * scale
            x = b.index.astype(int)
            ax.plot(x, b["mean"], **_style(i, name, colors[name]))
            ax.fill_between(x, b["lo"], b["hi"], color=colors[name], alpha=0.2, lw=0, zorder=2)
        ax.axvline(policy_year - 0.5, color="0.5", ls=":", lw=1, label=f"policy start ({policy_year})")
        ax.set_title(LABELS[metric], fontsize=9)
        ax.set_ylabel(axis_unit(metric), fontsize=8)
        ax.set_xlabel("year", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    fig.suptitle(f"Trajectories: mean of {p.reps} replications, band = 95% interval of the mean\nBefore the policy "
                 f"starts ({policy_year}, dotted line) the scenarios share their random numbers and the lines "
                 "coincide; the reference is drawn dashed on top", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    paths.append(figdir / "trajectories.png")
    fig.savefig(paths[-1], dpi=110, metadata=PNG_METADATA)
    plt.close(fig)

    # 2. paired differences at the years of interest (forest plot)
    diffs = summary[summary["scenario"] != names[0]].dropna(subset=["diff"])
    if not diffs.empty and len(names) > 1:
        ms = [m for m in list(YEARLY_METRICS) + ["exit_share", "median_exit_date"] if m in set(diffs["metric"])]
        ncol = 4
        nrow = math.ceil(len(ms) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.6 * nrow), squeeze=False)
        for ax, metric in zip(axes.flat, ms):
            d = diffs[diffs["metric"] == metric]
            labels, k = [], 0
            scale = 100.0 if metric in PERCENT else 1.0
            for _, r in d.iterrows():
                y = "run" if pd.isna(r["year"]) else str(int(r["year"]))
                lo, hi, dm = r["diff_ci_low"] * scale, r["diff_ci_high"] * scale, r["diff"] * scale
                err = [[dm - lo], [hi - dm]] if pd.notna(lo) else None
                ax.errorbar(dm, k, xerr=err, fmt="o", color=colors[r["scenario"]], ms=3, capsize=2)
                labels.append(f"{r['scenario']} {y}")
                k += 1
            ax.axvline(0, color="0.4", lw=0.8)
            ax.set_yticks(range(k), labels, fontsize=7)
            ax.set_ylim(k - 0.4, -0.6)
            ax.set_title(LABELS[metric], fontsize=9)
            ax.set_xlabel(f"difference ({axis_unit(metric, diff=True)})", fontsize=8)
            ax.tick_params(axis="x", labelsize=8)
        for ax in list(axes.flat)[len(ms):]:
            ax.axis("off")
        from matplotlib.lines import Line2D
        handles = [Line2D([], [], color=colors[n], marker="o", ls="-", ms=4, label=f"{n} - {names[0]}")
                   for n in names[1:]]
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)
        fig.suptitle(f"Paired differences from {names[0]} with 95% intervals (intervals crossing 0 = noise); "
                     "rates in percentage points (pp)", fontsize=10)
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        paths.append(figdir / "differences.png")
        fig.savefig(paths[-1], dpi=110, metadata=PNG_METADATA)
        plt.close(fig)

    # 3. distribution of the resilience index
    q = result.quantiles
    if not q.empty:
        years = sorted(q["year"].unique())
        show = [years[0], years[-1]] if len(years) > 1 else years
        fig, axes = plt.subplots(1, len(show), figsize=(5.5 * len(show), 4.0), squeeze=False)
        for ax, y in zip(axes.flat, show):
            for i, name in enumerate(names):
                sub = q[(q["scenario"] == name) & (q["year"] == y)]
                if sub.empty:
                    continue
                avg = sub.groupby("q")["value"].mean()  # Vincentised (quantile-averaged) distribution
                ax.plot(avg.to_numpy(), 100 * avg.index.to_numpy(), **_style(i, name, colors[name]))
            ax.set_xlabel("resilience index (0-1, fixed reference weights)")
            ax.set_ylabel("% of households at or below")
            ax.set_title(f"{int(y)}" + (" (before the policy: lines coincide)" if y < policy_year else ""), fontsize=10)
            ax.legend(fontsize=8, loc="lower right")
        fig.suptitle("Distribution of the household resilience index (quantiles averaged over replications; "
                     "reference dashed on top)", fontsize=10)
        fig.tight_layout()
        paths.append(figdir / "resilience_distribution.png")
        fig.savefig(paths[-1], dpi=110, metadata=PNG_METADATA)
        plt.close(fig)

    # 4. county exit curves (Kaplan-Meier, counties of all replications pooled)
    ex = result.exits
    if not ex.empty:
        from lifelines import KaplanMeierFitter

        c = p.scenarios[0].params.calendar
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for i, name in enumerate(names):
            sub = ex[ex["scenario"] == name]
            if sub.empty:
                continue
            km = KaplanMeierFitter().fit(sub["duration"], sub["exited"], label=name)
            t = km.survival_function_.index.to_numpy() + c.policy_start_year
            s = 1 - km.survival_function_.iloc[:, 0].to_numpy()
            ci = km.confidence_interval_survival_function_
            ax.step(t, 100 * s, where="post", **_style(i, name, colors[name]))
            ax.fill_between(t, 100 * (1 - ci.iloc[:, 1].to_numpy()), 100 * (1 - ci.iloc[:, 0].to_numpy()), step="post",
                            color=colors[name], alpha=0.2, lw=0, zorder=2)
        ax.axvline(c.censor_date, color="0.5", ls=":", lw=1, label=f"censoring date ({c.censor_date:g})")
        ax.set_xlabel("date (decimal year)")
        ax.set_ylabel("% of counties exited (1 - KM survival)")
        ax.set_title(f"County exit from poverty, {p.reps} replications pooled, 95% band", fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
        paths.append(figdir / "county_exits.png")
        fig.savefig(paths[-1], dpi=110, metadata=PNG_METADATA)
        plt.close(fig)
    return paths


def _sentence(r, first: str, summary: pd.DataFrame, reps: int) -> str:
    y = "" if pd.isna(r["year"]) else f" in {int(r['year'])}"
    same = (summary["scenario"] == first) & (summary["metric"] == r["metric"])
    same &= summary["year"].isna() if pd.isna(r["year"]) else (summary["year"] == r["year"])
    base = summary.loc[same, "mean"]
    base_text = fmt_value(r["metric"], base.iloc[0]) if len(base) else "n/a"
    few = f" (from the {int(r['n_pairs'])} replications where both are defined)" if r["n_pairs"] < reps else ""
    return (f"{r['label']}{y}: {r['scenario']} {fmt_value(r['metric'], r['mean'])} vs {first} {base_text}, "
            f"paired difference {fmt_value(r['metric'], r['diff'], True)} "
            f"{fmt_interval(r['metric'], r['diff_ci_low'], r['diff_ci_high'], True)}{few}")


def compare_report(result, summary: pd.DataFrame, tables, figures: list[Path], out: Path, command: str | None) -> str:
    p = result.plan
    names = [sc.name for sc in p.scenarios]
    first = names[0]
    sc0 = p.scenarios[0].params
    c = sc0.calendar
    lines = [f"# Scenario comparison: {', '.join(names)}", ""]
    if command:
        lines += ["Reproduce with:", "", f"    {command}", ""]
    lines += [
        "## Set-up", "",
        "| scenario | description |", "|---|---|",
        *[f"| `{sc.name}` | {sc.description or '(no description)'} |" for sc in p.scenarios],
        "",
        f"- {sc0.population.n_households:,} households in {sc0.population.n_counties} counties, simulated "
        f"{c.start_year}-{c.end_year}; policy starts {c.policy_start_year}; county exits censored at {c.censor_date:g}.",
        f"- {p.reps} replications per scenario with common random numbers: replication r uses seed "
        f"`SeedSequence({p.seed}).spawn({p.reps})[r]` in every scenario, so households, prices and shocks are "
        "identical across scenarios and the paired difference isolates the policy.",
        f"- Ran on {result.backend} in {result.wall_seconds:.1f} s"
        + (f"; {len(result.failures)} run(s) failed (see compare.json)." if result.failures else "."),
        "",
    ]
    for w in getattr(p, "warnings", []):
        lines.insert(len(lines) - 1, f"- **Warning:** {w}.")
    # findings
    diffs = summary[(summary["scenario"] != first) & summary["diff"].notna()].copy()
    if len(names) > 1 and not diffs.empty:
        identical = diffs[(diffs["diff"] == 0) & (diffs["diff_ci_low"] == 0) & (diffs["diff_ci_high"] == 0)]
        rest = diffs.drop(identical.index)
        dist = rest[rest["distinguishable"] == True]  # noqa: E712 - nullable boolean
        noise = rest[rest["distinguishable"] == False]  # noqa: E712
        last = max(p.years_of_interest)
        lines += ["## Findings", "",
                  f"A difference is *distinguishable from noise* when the 95% interval of the mean paired difference "
                  f"across the {p.reps} replications excludes 0.", ""]
        for name in names[1:]:
            key = dist[(dist["scenario"] == name) & ((dist["year"] == last) | dist["year"].isna())]
            lines.append(f"**{name} vs {first}** ({last} and county exits):")
            lines.append("")
            mine = rest[rest["scenario"] == name]
            undetermined = mine[mine["distinguishable"].isna()]
            if p.reps < 2 or (len(mine) and len(undetermined) == len(mine)):
                lines.append(f"- no interval: with {p.reps} replication(s) no difference can be judged against "
                             "noise (run --reps 2 or more).")
            elif key.empty:
                lines.append(f"- no difference distinguishable from noise in {last}.")
            for _, r in key.iterrows():
                lines.append(f"- {_sentence(r, first, summary, p.reps)}")
            nz = noise[(noise["scenario"] == name)]
            others = dist[(dist["scenario"] == name)].drop(key.index, errors="ignore")
            if nz.empty:
                if len(others):
                    lines.append("- every other difference after the policy start is distinguishable from noise too.")
            else:
                items = ", ".join(f"{r['label']}" + ("" if pd.isna(r["year"]) else f" ({int(r['year'])})")
                                  for _, r in nz.iterrows())
                lines.append(f"- **not distinguishable from noise** (interval includes 0): {items}.")
            ident = identical[identical["scenario"] == name]
            if not ident.empty:
                yrs = sorted({int(y) for y in ident["year"].dropna()})
                lines.append(f"- identical in every replication (common random numbers; policy not yet active): "
                             f"{len(ident)} metric-years" + (f" in {', '.join(map(str, yrs))}" if yrs else "") + ".")
            lines.append("")
        nan_rows = summary[summary["n_reps"] < p.reps]
        if not nan_rows.empty:
            lines += ["Some statistics are based on fewer replications than were run, marked (n=...) in the tables: "
                      "the median exit date is undefined in a replication where fewer than half the counties exit, "
                      "and a paired difference uses only replications where both scenarios have a value (so it "
                      "compares the more successful replications); failed runs also reduce n.", ""]
    lines += ["## Tables", "",
              "Mean across replications [95% interval of the mean]; differences are paired with "
              f"`{first}` [95% interval]; '(noise)' marks intervals that include 0. Rates and vulnerability in %, "
              "differences in percentage points (pp); income and consumption in 2014 yuan per person-year; indices "
              "are unitless.", ""]
    for title, t in tables:
        lines += [f"### {title}", "", markdown_table(t), ""]
    lines += ["## Figures", ""]
    captions = {
        "trajectories.png": "Trajectories of every metric (mean, 95% band).",
        "differences.png": f"Paired differences from `{first}` at the years of interest.",
        "resilience_distribution.png": "Distribution of the household resilience index, first and last year of interest.",
        "county_exits.png": "County exit from poverty: Kaplan-Meier curves (counties of all replications pooled).",
    }
    for f in figures:
        rel = f.relative_to(out)
        lines += [f"**{captions.get(f.name, f.name)}**", "", f"![{f.stem}]({rel.as_posix()})", ""]
    lines += [
        "## Method", "",
        "- Poverty rates are person-weighted (households weighted by family size), under the $1.90/day, national "
        f"({sc0.poverty.line_national:g} yuan) and $3.10/day lines.",
        "- Vulnerability: Chaudhuri et al. (2002) three-step FGLS of log income per capita (floored at 100 yuan) on "
        "the CLDS covariates (age, health, job, famsize, machine, subsidy, distance, hroad, lamp, edu, ability, twork), "
        "fitted per scenario, replication and year; the mean probability of falling below the national line.",
        "- Resilience: entropy-weight index of the buffering, self-organisation and learning indicators with weights "
        "and min-max bounds fixed once on a reference sample (pooled household-years of a default-parameter run, "
        "10,000 households, seed 0), so values are comparable across scenarios, years and replications. Capacity "
        "scores are the within-capacity entropy indices; values above 1 exceed the reference range.",
        "- County exit: share of counties whose poverty headcount fell below the regional threshold by the censoring "
        "date; median exit date is the Kaplan-Meier median (n/a when fewer than half exit).",
        "- Intervals: t-intervals of the mean across replications; for differences, of the mean paired difference.",
        "",
        "## Files", "",
        "- `summary.csv` (every statistic, machine-readable), `summary.md` (the tables above)",
        "- `runs.parquet` (scenario, rep, seed, year, metric, value for every run and year)",
        "- `exits.parquet` (county exit durations of every run), `resilience_quantiles.parquet`",
        "- `compare.json` (settings, seeds, resolved parameters of every scenario, versions)",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# sweep


def sweep_figures(design: pd.DataFrame, point_means: pd.DataFrame, indices: pd.DataFrame | None, spec: dict,
                  figdir: Path) -> list[Path]:
    plt = _plt()
    figdir.mkdir(parents=True, exist_ok=True)
    params = [p["name"] for p in spec["params"]]
    outputs = spec["outputs"]
    paths = []
    punits = {q["name"]: q["unit"] for q in all_parameter_specs()}
    # response scatter / curves
    fig, axes = plt.subplots(len(outputs), len(params), figsize=(3.6 * len(params), 2.8 * len(outputs)), squeeze=False)
    for i, out in enumerate(outputs):
        for j, name in enumerate(params):
            ax = axes[i, j]
            x, y = design[name].to_numpy(), point_means[out].to_numpy() * plot_scale(out)
            if spec["design"] == "grid":
                g = pd.DataFrame({"x": x, "y": y}).groupby("x")["y"]
                m, lo, hi = g.mean(), g.min(), g.max()
                ax.plot(m.index, m.to_numpy(), "o-", ms=3, color="C0")
                if len(params) > 1:
                    ax.fill_between(m.index, lo.to_numpy(), hi.to_numpy(), alpha=0.2, color="C0", lw=0)
            else:
                ax.scatter(x, y, s=6, alpha=0.6)
            if i == len(outputs) - 1:
                unit = punits.get(name)
                ax.set_xlabel(f"{name}" + (f" ({unit})" if unit else ""), fontsize=8)
            if j == 0:
                unit = axis_unit(out)
                ax.set_ylabel(LABELS.get(out, out) + (f"\n({unit})" if unit else ""), fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle("Response of each output to each parameter\n(design-point means over replications"
                 + ("; band = range over the other parameters" if spec["design"] == "grid" and len(params) > 1 else "")
                 + ")", fontsize=9)
    fig.tight_layout()
    paths.append(figdir / "response.png")
    fig.savefig(paths[-1], dpi=110, metadata=PNG_METADATA)
    plt.close(fig)
    # index bar charts
    if indices is not None and not indices.empty:
        fig, axes = plt.subplots(1, len(outputs), figsize=(max(4.0, 1.1 * len(params) + 2) * len(outputs), 3.8), squeeze=False)
        for ax, out in zip(axes.flat, outputs):
            d = indices[indices["output"] == out].set_index("parameter").reindex(params)
            xs = np.arange(len(params))
            if spec["design"] == "sobol":
                ax.bar(xs - 0.2, d["S1"], 0.4, yerr=d["S1_conf"], label="first order S1", capsize=2)
                ax.bar(xs + 0.2, d["ST"], 0.4, yerr=d["ST_conf"], label="total ST", capsize=2)
                ax.set_ylabel("Sobol index (share of output variance)", fontsize=8)
            else:
                k = plot_scale(out)
                ax.bar(xs - 0.2, d["mu_star"] * k, 0.4, yerr=d["mu_star_conf"] * k, label="mu*", capsize=2)
                ax.bar(xs + 0.2, d["sigma"] * k, 0.4, label="sigma")
                unit = axis_unit(out, diff=True)
                ax.set_ylabel("Morris elementary effect" + (f"\n({unit} over the parameter range)" if unit else ""),
                              fontsize=8)
            ax.set_xticks(xs, params, rotation=30, ha="right", fontsize=7)
            ax.set_title(LABELS.get(out, out), fontsize=9)
            ax.axhline(0, color="0.4", lw=0.6)
            ax.legend(fontsize=7)
        fig.suptitle("Sensitivity indices (error bars: 95% bootstrap intervals)", fontsize=9)
        fig.tight_layout()
        paths.append(figdir / "sensitivity.png")
        fig.savefig(paths[-1], dpi=110, metadata=PNG_METADATA)
        plt.close(fig)
    return paths


# ---------------------------------------------------------------------------------------------
# parameter schema for docs/scenarios.md

SCHEMA_BEGIN = "<!-- BEGIN PARAMETER TABLE (generated: python -m scenarios.report --schema) -->"
SCHEMA_END = "<!-- END PARAMETER TABLE -->"


def schema_markdown() -> str:
    lines, section = [], None
    for spec in all_parameter_specs():
        sec, key = spec["name"].split(".")
        if sec != section:
            lines += ["", f"#### `[{sec}]`", "", "| key | unit | default | allowed | meaning (source) |", "|---|---|---|---|---|"]
            section = sec
        if spec["type"] == "bool":
            allowed = "true / false"
        elif spec["low"] is not None and spec["high"] is not None:
            num = (lambda v: f"{int(v):,}") if spec["type"] == "int" else (lambda v: f"{v:g}")
            allowed = f"{num(spec['low'])} to {num(spec['high'])}" + (" (each entry)" if spec["type"] == "list" else "")
        else:
            allowed = "any"
        doc = spec["doc"] + (f" ({spec['source']})" if spec["source"] else "")
        lines.append(f"| `{key}` | {spec['unit']} | `{json.dumps(spec['default'])}` | {allowed} | {doc.replace('|', '/')} |")
    return "\n".join([SCHEMA_BEGIN, *lines, "", SCHEMA_END])


def update_docs(path: Path) -> bool:
    text = path.read_text()
    a, b = text.index(SCHEMA_BEGIN), text.index(SCHEMA_END) + len(SCHEMA_END)
    new = text[:a] + schema_markdown() + text[b:]
    if new != text:
        path.write_text(new)
        return True
    return False


if __name__ == "__main__":  # pragma: no cover
    import sys

    if "--schema" in sys.argv:
        doc = Path(__file__).resolve().parents[1] / "docs" / "scenarios.md"
        print(("updated " if update_docs(doc) else "unchanged ") + str(doc))
