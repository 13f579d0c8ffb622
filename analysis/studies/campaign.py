"""The county exit check: simulated poor-county exits against the official schedule, and the
76-county paper's OLS and Cox statistics across replications.

:func:`county_exit_check` runs ``reps`` worlds (seeds ``seed .. seed + reps - 1``) and reports

* the share of counties exiting in each assessment year 2016-2020 (mean and sd over reps)
  beside the official 28 / 125 / 283 / 344 / 52 of 832, and the share out by the end of 2020;
* the replication SD of a county's exit year: the same world re-run with only the
  assessment-survey draws re-drawn (``campaign.assessment_replicate``), the SD of each county's
  exit year over those re-runs, averaged over counties (the part of exit timing that is
  sampling error of the assessment);
* over 76-county samples (one per world): the Cox and OLS coefficients of primary-secondary
  integration, the share of replications with the paper's signs and the proportional-hazards
  test p-value.

Run it with ``python benchmarks/county_exit_check.py`` (or ``ruralabm replicate counties``,
whose output shows the spread of one replication's sample beside the paper).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ruralabm.model import RuralModel
from ruralabm.scenarios import load

from . import published as pub
from .papers import county_statistics
from .survey import counties_for_sample, county_sample

OFFICIAL_EXITS = {2016: 28, 2017: 125, 2018: 283, 2019: 344, 2020: 52}
OFFICIAL_TOTAL = 832
EXIT_YEARS = tuple(OFFICIAL_EXITS)


@dataclass
class ExitCheck:
    shares: pd.DataFrame        # per rep: share exiting in each year, share out by the end of 2020
    statistics: pd.DataFrame    # per rep: Cox/OLS coefficients of primary_secondary, PH test p, exit share
    exit_year_sd: float         # mean over counties of the SD of the exit year over assessment re-draws
    text: str = ""
    extra: dict = field(default_factory=dict)


def exit_years(model: RuralModel) -> np.ndarray:
    """Assessment (batch) year of each poor county's exit, 0 if none: the campaign records it;
    under the threshold rule it is the year before the announcement. Counties that are not
    designated poor counties (design 'national') are not on the list and are left out."""
    last = model.county_panel()
    last = last[last["year"] == last["year"].max()].sort_values("county_id")
    last = last[last["poor_county"] == 1]
    if model.params.campaign.exit_rule == "campaign":
        return last["exit_year"].to_numpy().astype(int)
    d = last["exit_date"].to_numpy()
    return np.where(np.isfinite(d), np.floor(np.nan_to_num(d)) - 1, 0).astype(int)


def _one_rep(params, seed: int, sample: int) -> tuple[dict, dict, np.ndarray]:
    m = RuralModel(params.copy(), seed=seed, household_agents=False).run()
    years = exit_years(m)
    shares = {str(y): float(np.mean(years == y)) for y in EXIT_YEARS}
    shares["by_end_2020"] = float(np.mean((years > 0) & (years <= 2020)))
    shares["never"] = float(np.mean(years == 0))
    smp = county_sample(m.county_exits(), n=sample, seed=seed)
    st = county_statistics(smp)
    tab = st.table.set_index("key")["estimate"]
    cox = st.objects.get("cox")
    stats = {"cox_ps": tab.get("counties.cox.primary_secondary", np.nan),
             "ols_ps": tab.get("counties.ols.primary_secondary", np.nan),
             "cox_ethnic": tab.get("counties.cox.ethnic_minority", np.nan),
             "ols_ethnic": tab.get("counties.ols.ethnic_minority", np.nan),
             "cox_resource": tab.get("counties.cox.resource_endowment", np.nan),
             "cox_pt": tab.get("counties.cox.primary_tertiary", np.nan),
             "ph_p": float(cox.ph_test.loc["global", "p"]) if cox is not None else np.nan,
             "sample_exit_share": float(smp["exited"].mean())}
    return shares, stats, years


def county_exit_check(scenario: str = "calibrated", reps: int = 10, households: int = 40_000, counties: int | None = None,
                      sample: int = 76, seed: int = 0, assessment_redraws: int = 5, overrides=None) -> ExitCheck:
    """``counties`` defaults to enough counties for a sample of ``sample`` poor counties (at least 100)."""
    params = load(scenario, list(overrides or [])).params
    if counties is None:
        counties = max(100, counties_for_sample(params, sample))
    params.set_many({"population.n_households": int(households), "population.n_counties": int(counties)})
    share_rows, stat_rows, sds = [], [], []
    for r in range(reps):
        shares, stats, years = _one_rep(params, seed + r, sample)
        share_rows.append(shares)
        stat_rows.append(stats)
        if params.campaign.exit_rule == "campaign" and r < assessment_redraws:
            redraws = [years]
            for k in range(1, 4):
                q = params.copy()
                q.set("campaign.assessment_replicate", k)
                redraws.append(exit_years(RuralModel(q, seed=seed + r, household_agents=False).run()))
            y = np.where(np.stack(redraws) > 0, np.stack(redraws), 2021).astype(float)  # never: 2021
            sds.append(float(y.std(axis=0, ddof=1).mean()))
    shares = pd.DataFrame(share_rows)
    statistics = pd.DataFrame(stat_rows)
    exit_sd = float(np.mean(sds)) if sds else float("nan")
    return ExitCheck(shares, statistics, exit_sd, _text(scenario, reps, households, counties, sample, shares,
                                                       statistics, exit_sd))


def _text(scenario, reps, households, counties, sample, shares, st, exit_sd) -> str:
    lines = [f"County exit check: scenario {scenario}, {reps} replications of {households:,} households in "
             f"{counties} counties; 76-county samples of {sample}.", "",
             "Exit shares by assessment year (share of the designated poor counties)",
             f"{'year':>6} {'official':>9} {'simulated':>10} {'sd':>7} {'diff pp':>8}"]
    for y, n in OFFICIAL_EXITS.items():
        off = n / OFFICIAL_TOTAL
        m, s = shares[str(y)].mean(), shares[str(y)].std(ddof=1) if len(shares) > 1 else np.nan
        lines.append(f"{y:>6} {off:>9.3f} {m:>10.3f} {s:>7.3f} {100 * (m - off):>+8.2f}")
    lines.append(f"exited by the end of 2020: {shares['by_end_2020'].mean():.3f} (min over reps "
                 f"{shares['by_end_2020'].min():.3f}); official 1.000")
    if np.isfinite(exit_sd):
        lines.append(f"replication SD of a county's exit year (assessment re-draws only): {exit_sd:.3f} years")
    b, s = pub.value("counties.cox.primary_secondary"), pub.se("counties.cox.primary_secondary")
    cox = st["cox_ps"]
    lines += ["", "76-county sample statistics over replications (mean, sd; share with the paper's sign)",
              f"  Cox primary_secondary: mean {cox.mean():.3f}, sd {cox.std(ddof=1):.3f}, positive in "
              f"{np.mean(cox > 0):.0%}; published {b} (SE {s}); mean within 2 SE: {abs(cox.mean() - b) <= 2 * s}",
              f"  OLS primary_secondary: mean {st['ols_ps'].mean():.1f}, sd {st['ols_ps'].std(ddof=1):.1f}, negative in "
              f"{np.mean(st['ols_ps'] < 0):.0%}; published {pub.value('counties.ols.primary_secondary')}",
              f"  PH test p: median {st['ph_p'].median():.3f}; not rejected at 5% in {np.mean(st['ph_p'] >= 0.05):.0%}",
              f"  Cox ethnic_minority: mean {st['cox_ethnic'].mean():.3f} (published 1.01); OLS ethnic_minority "
              f"mean {st['ols_ethnic'].mean():.1f} (published 153.45)",
              f"  Cox resource_endowment: mean {st['cox_resource'].mean():.3f} (published 0.99); Cox primary_tertiary "
              f"mean {st['cox_pt'].mean():.3f} (published -0.06)",
              f"  exited by the censoring date in the sample: {st['sample_exit_share'].mean():.3f}"]
    return "\n".join(lines)
