"""Survey samples drawn from simulated panels: what a researcher would see.

Each function takes the model's output tables (pandas DataFrames, see ``RuralModel.household_panel``
and ``RuralModel.county_exits``) and returns a sample with the papers' variable names. The
unobserved trait is dropped; truth columns are kept only when ``keep_truth=True`` (for the
validation code, never for an estimator).

* :func:`clds_sample` — CLDS-like: poor rural households (net income per capita below the
  national line in the pre-policy wave) observed in a pre-policy and a post-policy wave
  (2014 and 2016 by default); ``T`` is participation in the post wave, ``P`` the post-wave
  dummy. ``n`` counts households (each appears in both waves); the paper's "6124 valid samples"
  is read as households.
* :func:`cles_sample` — CLES-like: farm households observed over three waves (2020-2022).
* :func:`county_sample` — a sample of counties (76 by default) with days from the policy start to
  the exit announcement, right-censored at the survey date.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..estimators.errors import EstimationError
from ..specs import (CLDS_COVARIATES, CLDS_POST, CLDS_PRE, CLDS_SAMPLE, CLES_SAMPLE, CLES_WAVES, LN_INCOME_FLOOR,
                     POOR_COLUMNS, UNOBSERVABLE, poverty_lines)


def _rng(seed: int, purpose: int) -> np.random.Generator:
    # Survey draws have their own stream, separate from the simulation's.
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(99, purpose))))


def _require(panel: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise EstimationError(f"{what}: the panel lacks columns {missing}")


def _years(panel: pd.DataFrame, years, what: str) -> None:
    have = set(panel["year"].unique().tolist())
    absent = [y for y in years if y not in have]
    if absent:
        raise EstimationError(f"{what}: waves {absent} are not in the panel (years {min(have)}-{max(have)})")


def clds_sample(panel: pd.DataFrame, n: int = CLDS_SAMPLE, pre: int = CLDS_PRE, post: int = CLDS_POST, seed: int = 0,
                poverty_column: str = "poor_national", keep_truth: bool = False, income_error_sd: float = 0.0,
                error_persistence: float = 0.3, poverty_lines: dict | None = None,
                shell_members_report: bool = False) -> pd.DataFrame:
    """A two-wave sample of households that were poor in the pre-policy wave.

    Returns 2n rows (one per household-wave) with the CLDS covariates, ``T`` (participates in the
    post wave; constant within household, as the DID's treatment-group indicator), ``P`` (post
    wave), ``PT`` (their product), ``participating`` (current status), log income per capita,
    the three poverty statuses, ``east`` and ``region``.

    ``income_error_sd`` > 0: the survey measures income with recall error (``params.survey``):
    every household's reported income per capita is its true income times
    exp(sd (sqrt(rho) a_h + sqrt(1 - rho) e_hw) - sd^2 / 2) (rho = ``error_persistence``; draws
    from the survey's own stream); households are selected on reported income, ``ln_income``
    and the poverty statuses (under ``poverty_lines``, {column: line}) are the reported ones, and
    ``income_per_capita_true`` / the true statuses are kept only with ``keep_truth``.

    ``shell_members_report``: a registered member of a dormant ('shell') cooperative (the panel's
    ``shell_member``) answers that it participates (``params.survey.report_shell_membership``); the
    sample's ``participating`` and ``T`` are then the reported membership.
    """
    what = "CLDS sample"
    _require(panel, CLDS_COVARIATES + ["household_id", "year", "participating", "income_per_capita", poverty_column]
             + (["shell_member"] if shell_members_report else []), what)
    _years(panel, [pre, post], what)
    if n < 2:
        raise EstimationError(f"{what}: n = {n} must be at least 2")
    if income_error_sd > 0:
        panel = _reported_income(panel, [pre, post], income_error_sd, error_persistence, seed,
                                  poverty_lines or {})
    pre_wave = panel[panel["year"] == pre]
    eligible = pre_wave.loc[pre_wave[poverty_column] == 1, "household_id"].to_numpy()
    if eligible.size < n:
        raise EstimationError(
            f"{what}: only {eligible.size} households are poor in {pre}, fewer than n = {n}; "
            f"simulate more households (about {int(np.ceil(n / max(eligible.size, 1) * panel['household_id'].nunique()))})"
            f" or ask for a smaller sample")
    chosen = np.sort(_rng(seed, 1).choice(eligible, size=n, replace=False))
    sample = panel[panel["year"].isin([pre, post]) & panel["household_id"].isin(chosen)].copy()
    if shell_members_report:
        sample["participating"] = (sample["participating"].to_numpy() | sample["shell_member"].to_numpy()).astype(np.int8)
    post_status = sample.loc[sample["year"] == post].set_index("household_id")["participating"]
    sample["T"] = sample["household_id"].map(post_status).astype(np.int8)
    sample["P"] = (sample["year"] == post).astype(np.int8)
    sample["PT"] = sample["P"] * sample["T"]
    sample["ln_income"] = np.log(np.maximum(sample["income_per_capita"], LN_INCOME_FLOOR))
    sample["east"] = (sample["region"].astype(str) == "east").astype(np.int8)
    return _finish(sample, keep_truth)


def survey_options(params) -> dict:
    """The CLDS-like survey's measurement settings of a world (``params.survey``) as keyword
    arguments of :func:`clds_sample` and :func:`clds_eligible`."""
    sv = params.survey
    options: dict = {}
    if sv.clds_income_error_sd > 0:
        lines = {POOR_COLUMNS[name]: line for name, line in poverty_lines(params).items()}
        options.update(income_error_sd=sv.clds_income_error_sd, error_persistence=sv.clds_error_persistence,
                       poverty_lines=lines)
    if sv.report_shell_membership:
        options["shell_members_report"] = True
    return options


def clds_eligible(panel: pd.DataFrame, pre: int = CLDS_PRE, seed: int = 0, poverty_column: str = "poor_national",
                  **options) -> int:
    """Households the CLDS-like survey finds below the line in the pre wave (what it can sample)."""
    if options.get("income_error_sd", 0) > 0:
        panel = _reported_income(panel, [pre], options["income_error_sd"], options.get("error_persistence", 0.3),
                                 seed, options.get("poverty_lines") or {})
    return int(panel.loc[panel["year"] == pre, poverty_column].sum())


def _reported_income(panel: pd.DataFrame, waves, sd: float, rho: float, seed: int, lines: dict) -> pd.DataFrame:
    """The waves of ``panel`` with income per capita as the survey reports it (see clds_sample)."""
    if not lines:
        raise EstimationError("CLDS sample: income_error_sd > 0 needs poverty_lines {poverty column: line}")
    rows = panel[panel["year"].isin(list(waves))].copy()
    ids = rows["household_id"].to_numpy()
    n_ids = int(panel["household_id"].max()) + 1
    g = _rng(seed, 4)
    own = g.standard_normal(n_ids)
    fresh = g.standard_normal((2, n_ids))  # pre wave, post wave: the same draws whichever waves are asked for
    wave_pos = (rows["year"].to_numpy() != min(waves)).astype(np.int64) if len(waves) > 1 else np.zeros(len(rows), dtype=np.int64)
    z = np.sqrt(rho) * own[ids] + np.sqrt(1.0 - rho) * fresh[wave_pos, ids]
    rows["income_per_capita_true"] = rows["income_per_capita"]
    rows["income_per_capita"] = rows["income_per_capita"].to_numpy() * np.exp(sd * z - sd * sd / 2.0)
    for column, line in lines.items():
        rows[f"{column}_true"] = rows[column]
        rows[column] = (rows["income_per_capita"] < line).astype(rows[column].dtype)
    return rows


def cles_sample(panel: pd.DataFrame, n: int = CLES_SAMPLE, waves=CLES_WAVES, seed: int = 0,
                keep_truth: bool = False) -> pd.DataFrame:
    """Farm households (positive land) observed in each wave; treatment is current participation."""
    what = "CLES sample"
    _require(panel, ["household_id", "year", "participating", "land_area"], what)
    _years(panel, list(waves), what)
    first = panel[panel["year"] == waves[0]]
    eligible = first.loc[first["land_area"] > 0, "household_id"].to_numpy()
    if eligible.size < n:
        raise EstimationError(f"{what}: only {eligible.size} farm households, fewer than n = {n}")
    chosen = np.sort(_rng(seed, 2).choice(eligible, size=n, replace=False))
    sample = panel[panel["year"].isin(list(waves)) & panel["household_id"].isin(chosen)].copy()
    sample["ln_income"] = np.log(np.maximum(sample["income_per_capita"], LN_INCOME_FLOOR))
    return _finish(sample, keep_truth)


def county_sample(exits: pd.DataFrame, n: int = 76, seed: int = 0) -> pd.DataFrame:
    """A random sample of counties with the 76-county paper's variables.

    ``exits`` is ``RuralModel.county_exits()``: durations are already right-censored at the
    model's ``calendar.censor_date`` (the survey date).
    """
    what = "county sample"
    _require(exits, ["county_id", "days_to_exit", "exited", "primary_secondary", "primary_tertiary",
                     "upgrading_index", "ethnic_minority", "main_industry", "resource_endowment"], what)
    if "poor_county" in exits.columns:  # the paper sampled national poor counties
        exits = exits[exits["poor_county"] == 1]
    if len(exits) < n:
        raise EstimationError(f"{what}: the region has {len(exits)} poor counties, fewer than n = {n}; "
                              f"simulate more counties (population.n_counties)")
    chosen = np.sort(_rng(seed, 3).choice(exits["county_id"].to_numpy(), size=n, replace=False))
    return exits[exits["county_id"].isin(chosen)].reset_index(drop=True)


def counties_for_sample(params, n: int, margin: float = 1.1) -> int:
    """Counties to simulate so that a sample of ``n`` poor counties can be drawn: with design
    'national' only ``population.poor_county_share`` of them are designated poor counties."""
    share = params.population.poor_county_share if params.population.design == "national" else 1.0
    return int(np.ceil(n * (margin if share < 1.0 else 1.0) / max(share, 1e-9)))


def _finish(sample: pd.DataFrame, keep_truth: bool) -> pd.DataFrame:
    if not keep_truth:
        true_columns = [c for c in sample.columns if c.endswith("_true")]
        sample = sample.drop(columns=[c for c in UNOBSERVABLE if c in sample.columns] + true_columns)
    sample.attrs = {}
    return sample.sort_values(["household_id", "year"]).reset_index(drop=True)
