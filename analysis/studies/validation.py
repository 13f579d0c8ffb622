"""Estimator validation by Monte Carlo on simulated worlds with known truth.

One *replication* simulates a world (one seed), its counterfactual twins
(:func:`model.truth.counterfactual_twins`), draws a CLDS-like two-wave survey sample and applies
each estimator exactly as the papers did. The truth for each estimate is the ATT of the same
outcome over the *sampled* treated households (factual minus direct twin), so estimate and
truth refer to the same people. Over replications this gives, per estimator and setting: the
mean true ATT, mean estimate, bias with its Monte Carlo standard error, RMSE, coverage of the
95% confidence interval and the rejection rate of a zero effect (:func:`summarise`).

Designs (how the survey and the treatment are defined; see docs/validation.md):

``paper``  the CLDS paper as written: households poor in the pre wave, ``T`` = participating in
           the post wave, matching on the post-wave covariates (which participation itself can
           change: machines, subsidy, training).
``clean``  a design in which selection on observables can hold: households with an
           organisation within reach in the policy's first year, ``T`` = joined in that year and
           the outcome of that year (so no later joiner sits among the controls), matching on
           the *baseline* (pre-wave) values of the covariates plus baseline poverty status.

Presets (``PRESETS``): ``identified`` neutralises the model's channels that no survey covariate
captures (spillovers, expected gain, subsidy re-assessment, capacity rationing) and restores
overlap; ``instrument`` adds a strong, valid cooperative instrument.

Outcomes (``OUTCOMES``): vulnerability under the chosen poverty line (VEP as in the paper, on X;
``vulnerability-participating``: the variant with participation among the VEP regressors),
poverty, income per capita, log income, consumption, and the resilience index and its three
capacities (entropy weights fixed on the factual pre-policy wave of the whole population).

Estimators (``ESTIMATORS``): ``psm-nn1``, ``psm-nn4``, ``psm-radius``, ``psm-kernel`` (Table 4
settings), ``did`` (two-way FE, Table 2 without covariates), ``did-cov`` (with the time-varying
covariates), ``psm-did`` (kernel PSM-DID, Table 5) and ``cmp`` (probit participation with the
instrument + linear outcome equation, Cao et al.; instrument ``cooperative_in_village``).

Everything runs through :mod:`scenarios.executor`; each replication is written to its own JSON
file as soon as it finishes, so an interrupted run resumes where it stopped (:func:`run`).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ruralabm.model import RuralModel
from ruralabm.model.enums import PRODUCTS, OrgType
from ruralabm.model.params import ParameterError, Params
from ruralabm.model.processes.outcomes import RESILIENCE_INDICATORS
from ruralabm.model.truth import counterfactual_twins
from ruralabm.scenarios import load
from ruralabm.scenarios.executor import make_executor, progress_bar, replication_seeds
from ruralabm.scenarios.outputs import atomic_write_text, claim, clear, record, staged

from ..estimators import cmp as cmp_mod
from ..estimators import did, psm, vep
from ..estimators.errors import EstimationError
from ..estimators.propensity import PropensityModel, fit_propensity
from ..estimators.resilience import fit_index
from ..estimators.tables import markdown_table
from ..specs import (CLDS_POST, CLDS_PRE, CLDS_SAMPLE, DEFAULT_ESTIMATORS, DESIGNS, ESTIMATORS, INSTRUMENT,
                     LINE_PARAMS, LN_INCOME_FLOOR, OUTCOMES, POOR_COLUMNS, PRESETS, RESILIENCE_COLUMNS, poverty_lines)
from .papers import PSM_METHODS, VUL_COLUMNS, add_vulnerability
from .survey import CLDS_COVARIATES, clds_sample

LINES = LINE_PARAMS  # paper's line name -> attribute of params.poverty


# ---------------------------------------------------------------------------------------------
# Configuration


@dataclass
class ValidationConfig:
    """Everything that defines a validation run (stored in the manifest for --resume)."""

    scenario: str = "mixed"
    overrides: list = field(default_factory=list)       # "section.key=value" strings
    preset: str = "none"
    selection: list = field(default_factory=lambda: [0.0, 0.5, 1.0])
    designs: list = field(default_factory=lambda: ["paper"])
    outcomes: list = field(default_factory=lambda: ["vulnerability"])
    estimators: list = field(default_factory=lambda: list(DEFAULT_ESTIMATORS))
    line: str = "national"
    households: int = 40_000
    sample: int = CLDS_SAMPLE
    eligible: str = "auto"        # "poor" (poor in the pre wave), "all", or "auto": poor for the paper design, all for clean
    pre: int = CLDS_PRE
    post: int = CLDS_POST
    batches: int = 10
    restrict_access: bool = True  # clean design: only households with an organisation within reach
    master_seed: int = 0
    reps: int = 20
    posterior: int = 0            # K > 0: run every setting under K posterior draws, `reps` replications each
    posterior_file: str = ""      # the posterior sample ("" = the shipped calibration/posterior.parquet)

    def check(self) -> None:
        bad = [d for d in self.designs if d not in DESIGNS]
        if bad:
            raise ParameterError(f"unknown design(s) {bad}; choose from {', '.join(DESIGNS)}")
        bad = [o for o in self.outcomes if o not in OUTCOMES]
        if bad:
            raise ParameterError(f"unknown outcome(s) {bad}; choose from {', '.join(OUTCOMES)}")
        bad = [e for e in self.estimators if e not in ESTIMATORS]
        if bad:
            raise ParameterError(f"unknown estimator(s) {bad}; choose from {', '.join(ESTIMATORS)}")
        if self.line not in LINES:
            raise ParameterError(f"--line {self.line!r}: choose from {', '.join(LINES)}")
        if self.preset not in PRESETS:
            raise ParameterError(f"--preset {self.preset!r}: choose from {', '.join(PRESETS)}")
        if self.eligible not in ("auto", "poor", "all"):
            raise ParameterError(f"--eligible {self.eligible!r}: choose 'auto', 'poor' or 'all'")
        if not self.selection:
            raise ParameterError("--selection-on-unobservables needs at least one value")
        for s in self.selection:
            if not (0.0 <= float(s) <= 5.0):
                raise ParameterError(f"--selection-on-unobservables {s} is out of range: allowed [0, 5]")
        if self.post <= self.pre:
            raise ParameterError(f"post wave {self.post} must come after the pre wave {self.pre}")
        for name in ("households", "sample", "batches", "reps"):
            if int(getattr(self, name)) < 1:
                raise ParameterError(f"--{name} = {getattr(self, name)} must be at least 1")
        if self.posterior:
            from ruralabm.scenarios.posterior import load_posterior, refuse_set_of_posterior_parameters
            if int(self.posterior) < 2:
                raise ParameterError(f"--posterior {self.posterior}: give at least 2 draws (one draw cannot show "
                                     "parameter uncertainty)")
            if int(self.reps) < 2:
                raise ParameterError(f"--reps {self.reps} with --posterior: give at least 2 replications per draw")
            post = load_posterior(self.posterior_file or None)
            post.draws(int(self.posterior), int(self.master_seed))  # enough draws in the sample
            refuse_set_of_posterior_parameters(self.overrides, post.names)
        elif self.posterior_file:
            raise ParameterError("--posterior-file needs --posterior K (the number of posterior draws)")
        # A --set of a parameter the validation itself sets would be silently replaced: refuse it.
        preset = PRESETS[self.preset]
        for key in override_keys(self.overrides):
            if key in OWN_PARAMETERS:
                raise ParameterError(f"--set {key} is set by validate itself; use {OWN_PARAMETERS[key]} instead")
            if key in preset:
                raise ParameterError(f"--set {key} contradicts --preset {self.preset}, which sets it to "
                                     f"{preset[key]!r}; drop one of them (or use --preset none)")

    def params_for(self, selection: float) -> Params:
        """The scenario's parameters with overrides, preset, selection and sizes applied."""
        sc = load(self.scenario, list(self.overrides))
        p = sc.params
        for key, value in PRESETS[self.preset].items():
            p.set(key, value)
        p.set("participation.selection_on_unobservables", float(selection))
        p.set("population.n_households", int(self.households))
        # Years after the last wave needed (post + 1, for next-year poverty) cannot change the
        # waves: every draw is keyed by (seed, process, year), so the run is cut there.
        last = self.post + 1
        if p.calendar.end_year > last:
            p.set("calendar.end_year", last)
        if p.calendar.start_year > self.pre or p.calendar.end_year < last:
            raise ParameterError(f"the scenario's calendar {p.calendar.start_year}-{p.calendar.end_year} must cover "
                                 f"the waves {self.pre} and {self.post} and the year after ({last})")
        if not (self.pre < p.calendar.policy_start_year <= self.post):
            raise ParameterError(f"the policy start year {p.calendar.policy_start_year} must lie after the pre wave "
                                 f"{self.pre} and not after the post wave {self.post}")
        return p

    def tasks(self) -> list[dict]:
        """One task per (selection setting, replication); seeds shared across settings (CRN).

        With ``posterior`` = K: one task per (setting, draw, replication); replication r of draw k
        has index ``rep`` = k x POSTERIOR_STRIDE + r and the same seed in every setting (common
        random numbers within a draw), seeds differ between draws, and a larger ``reps`` extends
        each draw without changing the seeds of the first."""
        if self.posterior:
            return self._posterior_tasks()
        seeds = replication_seeds(self.master_seed, self.reps)
        out = []
        for s in self.selection:
            params = self.params_for(s).to_dict()
            for rep, seed in enumerate(seeds):
                out.append({"params": params, "seed": int(seed), "rep": rep, "selection": float(s),
                            "config": asdict(self)})
        return out

    def _posterior_tasks(self) -> list[dict]:
        from ruralabm.scenarios.posterior import apply_draw, load_posterior

        draws = load_posterior(self.posterior_file or None).draws(int(self.posterior), int(self.master_seed))
        reference = load("calibrated").params
        out = []
        for s in self.selection:
            base = self.params_for(s)
            for k, (row, values) in enumerate(draws):
                params = base.copy()
                apply_draw(params, values, reference)
                seeds = [int(c.generate_state(1, dtype=np.uint32)[0])
                         for c in np.random.SeedSequence([int(self.master_seed), 1000 + k]).spawn(int(self.reps))]
                for r, seed in enumerate(seeds):
                    out.append({"params": params.to_dict(), "seed": seed, "rep": k * POSTERIOR_STRIDE + r,
                                "selection": float(s), "draw": k, "draw_row": row, "config": asdict(self)})
        return out


POSTERIOR_STRIDE = 1000  # --posterior: replication index = draw x stride + replication within the draw


# Parameters validate sets itself (per setting), and the option that sets them.
OWN_PARAMETERS = {"participation.selection_on_unobservables": "--selection-on-unobservables",
                  "population.n_households": "--households"}


def override_keys(overrides) -> list[str]:
    """The parameter names of ``--set section.key=value`` overrides (a list of strings or a dict)."""
    if isinstance(overrides, dict):
        return [str(k).strip() for k in overrides]
    return [str(item).partition("=")[0].strip() for item in overrides or []]


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def parameter_changes(cfg: "ValidationConfig") -> pd.DataFrame:
    """Every parameter the validation runs with a value other than the scenario's: the ``--set``
    overrides, the preset's values, the selection setting, the size and the calendar cut. One row
    per (parameter, selection setting) with the scenario's value, the value used and why.
    Printed by ``validate``, written to summary.md and the manifest."""
    scenario = _flat(load(cfg.scenario).params.to_dict())
    preset = PRESETS[cfg.preset]
    overridden = set(override_keys(cfg.overrides))
    rows = []
    for sel in cfg.selection:
        used = _flat(cfg.params_for(sel).to_dict())
        for key, value in used.items():
            if scenario.get(key) == value:
                continue
            why = (f"preset {cfg.preset}" if key in preset else
                   "--selection-on-unobservables" if key == "participation.selection_on_unobservables" else
                   "--households" if key == "population.n_households" else
                   "run cut at the year after the post wave (cannot change the waves)" if key == "calendar.end_year"
                   else "--set" if key in overridden else "validation")
            rows.append({"parameter": key, "selection": float(sel), "scenario": scenario.get(key), "used": value,
                         "why": why})
    frame = pd.DataFrame(rows, columns=["parameter", "selection", "scenario", "used", "why"], dtype=object)
    # A change common to every setting is listed once (selection empty).
    if len(frame) and len(cfg.selection) > 1:
        same = frame.groupby("parameter")["used"].transform(lambda v: len(set(map(repr, v))) == 1 and
                                                            len(v) == len(cfg.selection))
        common = frame[same].drop_duplicates("parameter").assign(selection=np.nan)
        frame = pd.concat([common, frame[~same]], ignore_index=True)
    return frame


def format_changes(changes: pd.DataFrame, cfg: "ValidationConfig") -> str:
    head = f"Parameters changed from scenario {cfg.scenario!r} (preset {cfg.preset}):"
    if changes.empty:
        return head + " none"
    lines = [head]
    for _, r in changes.iterrows():
        at = "" if pd.isna(r["selection"]) else f" [selection {r['selection']:g}]"
        lines.append(f"  {r['parameter']}: {r['scenario']!r} -> {r['used']!r}{at} ({r['why']})")
    return "\n".join(lines)


def setting_label(selection: float) -> str:
    return f"sel{float(selection):g}"


# ---------------------------------------------------------------------------------------------
# Derived columns and truth


def _add_columns(panel: pd.DataFrame, columns: dict) -> pd.DataFrame:
    """Add derived columns in place. The panels come with one block per column, so pandas warns
    that the frame is "highly fragmented" on every insert: a performance hint for repeated
    inserts (a copy would cost more here), printed to the user as noise; silenced for these few."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        for name, values in columns.items():
            panel[name] = values
    return panel


def _ln_income(panel: pd.DataFrame) -> pd.DataFrame:
    return _add_columns(panel, {"ln_income": np.log(np.maximum(panel["income_per_capita"].to_numpy(), LN_INCOME_FLOOR))})


class ResilienceDeriver:
    """``derive`` hook for the twins: adds the resilience index and its capacities.

    The entropy weights and normalisation bounds are fitted once, on the *first* panel it sees
    (the factual run: ``counterfactual_twins`` derives the factual panel before any twin), on
    the rows chosen by ``base`` (a function of the panel returning a boolean mask), and are then
    applied unchanged to every twin panel.
    """

    def __init__(self, base: Callable[[pd.DataFrame], np.ndarray]):
        self.base = base
        self.index = None

    def __call__(self, panel: pd.DataFrame) -> pd.DataFrame:
        panel = _ln_income(panel)
        if self.index is None:
            self.index = fit_index(panel.loc[self.base(panel)], RESILIENCE_INDICATORS)
        scores = self.index.transform(panel)
        return _add_columns(panel, {col: scores[col].to_numpy() for col in RESILIENCE_COLUMNS})


def organisation_access(params: Params, seed: int) -> np.ndarray:
    """Per household: an organisation is within reach in the policy's first year (its village
    has a cooperative, or a leading enterprise of its county contracts its product and the
    village is within reach). Computed from the world as built (no simulation needed):
    organisations are placed at construction and all open in the first policy year."""
    m = RuralModel(params.copy(), seed=seed, household_agents=False)
    w = m.world
    hh, o, v = w.households, w.organisations, w.villages
    coop = (v.cooperative_id[hh.village_id] >= 0) & bool(params.policy.cooperatives)
    ent = np.zeros(hh.n, dtype=bool)
    if params.policy.enterprises:
        is_ent = np.flatnonzero(o.org_type == int(OrgType.ENTERPRISE))
        offered = np.zeros((w.counties.n, len(PRODUCTS)), dtype=bool)
        offered[o.county_id[is_ent], o.product[is_ent]] = True
        ent = offered[hh.county_id, hh.product] & (hh.distance <= params.enterprise.reach_km)
    return coop | ent


@dataclass
class SampleTruth:
    """Potential outcomes of the sampled households, wide: one row per household."""

    y1: pd.DataFrame  # index household_id, columns (outcome, year)
    y0: pd.DataFrame


def sample_truth(potential: pd.DataFrame, ids: np.ndarray) -> SampleTruth:
    pot = potential[potential["household_id"].isin(ids)]
    y1 = pot.pivot_table(index="household_id", columns=["outcome", "year"], values="y1", observed=True)
    y0 = pot.pivot_table(index="household_id", columns=["outcome", "year"], values="y0", observed=True)
    return SampleTruth(y1, y0)


# ---------------------------------------------------------------------------------------------
# Samples


def design_waves(cfg: "ValidationConfig", design: str, policy_start: int) -> tuple[int, int]:
    """(pre, post) waves of a design: the configured waves for ``paper``; for ``clean`` the pre
    wave and the policy's first year (treatment = joining in that year, outcome of that year,
    so no later joiner sits among the controls)."""
    return (cfg.pre, cfg.post) if design == "paper" else (cfg.pre, policy_start)


def build_sample(panel: pd.DataFrame, cfg: ValidationConfig, design: str, seed: int,
                 access: np.ndarray | None = None, policy_start: int = 2015) -> tuple[pd.DataFrame, list[str]]:
    """The survey sample of one design and the covariates its estimators use.

    Returns the two-wave sample (household_id, year, T, P, PT, covariates...) and the list of
    covariate columns for matching, DID with covariates and CMP.
    """
    pre, post = design_waves(cfg, design, policy_start)
    column = "poor_national"
    poor_only = cfg.eligible == "poor" or (cfg.eligible == "auto" and design == "paper")
    if not poor_only or design == "clean":
        panel = panel.copy()
        keep = np.ones(len(panel), dtype=np.int8)
        if poor_only:
            keep &= panel["poor_national"].to_numpy(dtype=np.int8)
        if design == "clean" and access is not None and cfg.restrict_access:
            keep &= access[panel["household_id"].to_numpy()].astype(np.int8)
        panel["_eligible"] = keep
        column = "_eligible"
    n_elig = int(panel.loc[panel["year"] == pre, column].sum())
    n = min(int(cfg.sample), n_elig)
    if n < 50:
        raise EstimationError(f"only {n_elig} eligible households in {pre}; simulate more households")
    sample = clds_sample(panel, n=n, pre=pre, post=post, seed=seed, poverty_column=column)
    covariates = list(CLDS_COVARIATES)
    if design == "clean":
        base = sample.loc[sample["year"] == pre].set_index("household_id")
        for c in CLDS_COVARIATES + ["poor_national"]:
            sample[f"{c}_base"] = sample["household_id"].map(base[c]).to_numpy()
        # Pre-wave poverty decides registration as poor in the policy's first year, which
        # enters the participation decision: a decision-relevant pre-treatment covariate.
        covariates = [f"{c}_base" for c in CLDS_COVARIATES + ["poor_national"]]
    sample = sample.drop(columns=["_eligible"], errors="ignore").reset_index(drop=True)
    return sample, covariates


# ---------------------------------------------------------------------------------------------
# Estimators


def _usable(data: pd.DataFrame, covariates: Sequence[str]) -> list[str]:
    return [c for c in covariates if data[c].nunique() > 1]


# Overlap diagnostics of one estimator run (columns of rows.csv; their means in summary.csv).
OVERLAP_COLUMNS = ("off_support_share", "n_controls_used", "ess_controls")
# Overlap is "poor" (flagged in the printed notes) when over 5% of the treated are off support or
# the effective number of controls is below a tenth of the treated.
POOR_OVERLAP = {"off_support_share": 0.05, "ess_per_treated": 0.1}


def weight_diagnostics(t: np.ndarray, w: np.ndarray, n_off: int) -> dict:
    """Share of treated off support, distinct controls used (positive weight) and Kish's
    effective number of controls, (sum w)^2 / sum w^2, of the control weights."""
    t = np.asarray(t) == 1
    wc = np.asarray(w, dtype=float)[~t]
    wc = wc[np.isfinite(wc) & (wc > 0)]
    n_t = int(t.sum())
    return {"off_support_share": n_off / n_t if n_t else np.nan, "n_controls_used": int(wc.size),
            "ess_controls": float(wc.sum() ** 2 / np.sum(wc**2)) if wc.size else 0.0}


class SharedPropensity:
    """The post wave's probit propensity model, fitted once and matched on by every PSM method
    and outcome of a design (the score depends on T and the covariates only, so refitting it per
    method and outcome gave the same numbers at a dozen times the cost). A fit is reused only for
    the same rows with the same T and covariate values; a failed fit is remembered and re-raised,
    so each estimator still records its own failure."""

    def __init__(self):
        self._key = None
        self._data = None
        self._result = None

    def model(self, post: pd.DataFrame, covariates: list[str]) -> PropensityModel:
        columns = ["T", *covariates]
        values = post[columns].to_numpy(dtype=float)
        key = (tuple(covariates), post.index)
        if not (self._key is not None and self._key[0] == key[0] and self._key[1].equals(key[1])
                and np.array_equal(self._data, values, equal_nan=True)):
            self._key, self._data = key, values
            try:
                self._result = fit_propensity(post, "T", covariates)
            except EstimationError as exc:
                self._result = exc
        if isinstance(self._result, Exception):
            raise self._result
        return self._result


def apply_estimator(name: str, sample: pd.DataFrame, y: str, covariates: Sequence[str], waves: tuple[int, int],
                    time_varying: Sequence[str] = (), diagnostics: dict | None = None,
                    propensity: SharedPropensity | None = None) -> tuple[float, float]:
    """(estimate, standard error) of the effect of T on ``y`` in the post wave, as the papers do.

    If ``diagnostics`` is a dict, the matching estimators fill it with their overlap diagnostics
    (:data:`OVERLAP_COLUMNS`, :func:`weight_diagnostics`); DID and CMP use every control.
    ``propensity`` shares one propensity fit between the PSM estimators of a design.
    """
    pre_wave, post_wave = waves
    post = sample[sample["year"] == post_wave]
    diag = diagnostics if diagnostics is not None else {}
    if name.startswith("psm-"):
        method = name.removeprefix("psm-")
        if method == "did":
            fit = did.psm_did(sample, y, "T", "household_id", "year", _usable(post, covariates),
                              baseline=pre_wave, followup=post_wave)
            base = sample["year"].to_numpy() == pre_wave
            diag.update(weight_diagnostics(sample["T"].to_numpy()[base], fit.weights.to_numpy()[base],
                                           fit.n_off_support))
            return float(fit.params["did"]), float(fit.bse["did"])
        cov = _usable(post, covariates)
        res = psm.match(post, "T", y, cov, **PSM_METHODS[method], compute_balance=False,
                        propensity=None if propensity is None else propensity.model(post, cov))
        diag.update(weight_diagnostics(post["T"].to_numpy(), res.weights.to_numpy(), res.n_off_support))
        return float(res.att), float(res.se)
    if name in ("did", "did-cov"):
        cov = list(time_varying) if name == "did-cov" else None
        fit = did.twfe(sample, y, "PT", "household_id", "year", covariates=cov)
        return float(fit.params["PT"]), float(fit.bse["PT"])
    if name == "cmp":
        cov = _usable(post, covariates)
        eqs = [cmp_mod.Equation("T", cov + [INSTRUMENT], "probit"),
               cmp_mod.Equation(y, ["T"] + cov, "continuous")]
        fit = cmp_mod.fit(post, eqs, vce="robust")
        key = f"{y}:T"
        return float(fit.params[key]), float(fit.bse[key])
    raise EstimationError(f"unknown estimator {name!r}")


# ---------------------------------------------------------------------------------------------
# Diagnostics of a design's sample

PROPENSITY_COLUMNS = ("ps_treated_min", "ps_treated_max", "ps_control_min", "ps_control_max", "ps_off_range_share")
DRIVE_COLUMNS = ("drive_gap_population", "drive_gap_sample", "drive_gap_conditional", "drive_gap_conditional_se")


def propensity_overlap(post: pd.DataFrame, covariates: Sequence[str], shared: SharedPropensity | None = None) -> dict:
    """Probit propensity of T on the design's covariates in the post wave: its range by arm and
    the share of treated above the largest (or below the smallest) control score. The fit the
    matching estimators share when there is one; a separated sample, which they refuse, is fitted
    here anyway (a diagnostic)."""
    out = {c: np.nan for c in PROPENSITY_COLUMNS}
    cov = _usable(post, covariates)
    fit = None
    if shared is not None:
        try:
            fit = shared.model(post, cov)
        except EstimationError:
            pass  # e.g. separation: fitted below without the check
    if fit is None:
        try:
            fit = fit_propensity(post, "T", cov, check_separation=False)
        except Exception:  # noqa: BLE001 - a diagnostic, never fatal
            return out
    p, t = fit.pscore.to_numpy(), post.loc[fit.pscore.index, "T"].to_numpy() == 1
    if t.any() and (~t).any():
        pt, pc = p[t], p[~t]
        out.update(ps_treated_min=float(pt.min()), ps_treated_max=float(pt.max()), ps_control_min=float(pc.min()),
                   ps_control_max=float(pc.max()),
                   ps_off_range_share=float(np.mean((pt > pc.max()) | (pt < pc.min()))))
    return out


def drive_gaps(panel: pd.DataFrame, sample: pd.DataFrame, covariates: Sequence[str], post_year: int) -> dict:
    """Realised selection on the unobserved drive in the post wave, in sd of drive: participants
    minus non-participants in the whole population and in the survey sample (T = 1 vs 0), and the
    coefficient of T (with its HC1 SE) in an OLS of drive on T and the design's covariates in the
    sample (selection on drive *given* the observed covariates; ~0 when
    ``selection_on_unobservables`` = 0, docs/odd.md)."""
    pop = panel[panel["year"] == post_year]
    drive = pop.set_index("household_id")["entrepreneurial_drive"].astype(float)
    sd = float(drive.std())
    part = pop["participating"].to_numpy() == 1
    dv = pop["entrepreneurial_drive"].to_numpy(dtype=float)
    out = {"drive_gap_population": float((dv[part].mean() - dv[~part].mean()) / sd) if part.any() and (~part).any()
           else np.nan}
    post = sample[sample["year"] == post_year]
    ds = post["household_id"].map(drive).to_numpy() / sd
    t = post["T"].to_numpy(dtype=float)
    out["drive_gap_sample"] = float(ds[t == 1].mean() - ds[t == 0].mean()) if 0 < t.sum() < len(t) else np.nan
    cov = _usable(post, covariates)
    X = np.column_stack([np.ones(len(post)), t] + [post[c].to_numpy(dtype=float) for c in cov])
    try:
        beta, *_ = np.linalg.lstsq(X, ds, rcond=None)
        e = ds - X @ beta
        bread = np.linalg.pinv(X.T @ X)
        V = bread @ (X.T * e**2) @ X @ bread * len(ds) / max(len(ds) - X.shape[1], 1)
        out.update(drive_gap_conditional=float(beta[1]), drive_gap_conditional_se=float(np.sqrt(V[1, 1])))
    except np.linalg.LinAlgError:
        out.update(drive_gap_conditional=np.nan, drive_gap_conditional_se=np.nan)
    return out


# ---------------------------------------------------------------------------------------------
# One replication


def _outcome_column(outcome: str, line: str) -> str:
    return {"vulnerability": "Vul", "vulnerability-participating": "VulP", "poverty": POOR_COLUMNS[line],
            "income": "income_per_capita", "ln_income": "ln_income", "consumption": "consumption"}.get(outcome, outcome)


def replicate(task: dict) -> dict:
    """One replication: world + twins + samples + every estimator. Returns ``{"rows": [...]}``.

    A top-level function of a small picklable task (for :mod:`scenarios.executor`).
    """
    t0 = time.perf_counter()
    cfg = ValidationConfig(**task["config"])
    params = Params.from_dict(task["params"])
    seed = int(task["seed"])
    line_col = POOR_COLUMNS[cfg.line]
    lines = poverty_lines(params)
    want_res = any(o in RESILIENCE_COLUMNS for o in cfg.outcomes)
    want_vul = any(o.startswith("vulnerability") for o in cfg.outcomes)
    truth_outcomes = ["income_per_capita", "ln_income", "consumption", line_col]
    if want_res:
        truth_outcomes += list(RESILIENCE_COLUMNS)
    if want_vul:
        truth_outcomes += list(CLDS_COVARIATES) + ["participating"]
    truth_outcomes = list(dict.fromkeys(truth_outcomes))
    pre = cfg.pre
    policy_start = params.calendar.policy_start_year
    waves = {d: design_waves(cfg, d, policy_start) for d in cfg.designs}
    years = sorted({y for w in waves.values() for y in (w[0], w[1], w[1] + 1)})
    derive = ResilienceDeriver(lambda p: (p["year"] == pre).to_numpy()) if want_res else _ln_income
    tw = counterfactual_twins(params, seed, outcomes=truth_outcomes, years=years,
                              batches=cfg.batches, derive=derive, keep_factual=True)
    panel = tw.factual_panel
    access = organisation_access(params, seed) if ("clean" in cfg.designs and cfg.restrict_access) else None
    t_sim = time.perf_counter() - t0
    rows = []
    for design in cfg.designs:
        sample, covariates = build_sample(panel, cfg, design, seed, access, policy_start)
        post_year = waves[design][1]
        post_ids = sample.loc[(sample["year"] == post_year), ["household_id", "T"]]
        treated_ids = post_ids.loc[post_ids["T"] == 1, "household_id"].to_numpy()
        control_ids = post_ids.loc[post_ids["T"] == 0, "household_id"].to_numpy()
        truth = sample_truth(tw.potential, treated_ids)
        truth_c = sample_truth(tw.potential, control_ids)
        joined = first_participation(panel)
        time_varying = [v for v in covariates if sample.groupby("household_id")[v].nunique().max() > 1]
        propensity = SharedPropensity()
        design_diag = propensity_overlap(sample[sample["year"] == post_year], covariates, propensity)
        design_diag.update(drive_gaps(panel, sample, covariates, post_year))
        for outcome in cfg.outcomes:
            y = _outcome_column(outcome, cfg.line)
            data = sample
            truth_alt = np.nan
            if outcome.startswith("vulnerability"):
                vep_cov = list(CLDS_COVARIATES) + (["participating"] if outcome.endswith("participating") else [])
                data = add_vulnerability(sample, lines, vep_cov)
                data[y] = data[VUL_COLUMNS[cfg.line]]
                # Truth: the probability of being poor next year, factual minus direct twin.
                key = (line_col, post_year + 1)
                truth_alt = _vep_twin_truth(data, truth, vep_cov, post_year, lines[cfg.line])
            else:
                key = (y, post_year)
            true_att = float((truth.y1[key] - truth.y0[key]).mean())
            # Current participants vs current non-participants (the estimand of a comparison
            # with today's non-members, some of them former members who keep part of the effect):
            # the treated's effect minus the controls' own effect of their past participation.
            true_current = true_att - carried_effect(truth_c, key, joined)
            for est in cfg.estimators:
                row = {"rep": task["rep"], "seed": seed, "selection": task["selection"], "design": design,
                       "outcome": outcome, "estimator": est, "truth": true_att, "truth_vep_twin": truth_alt,
                       "n_treated": int(len(treated_ids)), "n": int(post_ids.shape[0]), "post_year": post_year}
                te = time.perf_counter()
                diag = {c: np.nan for c in OVERLAP_COLUMNS}
                try:
                    est_v, se_v = apply_estimator(est, data, y, covariates, waves[design], time_varying, diag,
                                                  propensity)
                    row.update(estimate=est_v, se=se_v, error=None)
                except Exception as exc:  # noqa: BLE001 - a failed estimator is recorded, not fatal
                    row.update(estimate=np.nan, se=np.nan, error=f"{type(exc).__name__}: {exc}"[:300])
                row["seconds"] = time.perf_counter() - te
                # New columns after the reference columns (tests/test_golden.py ignores them there).
                row.update({"truth_current": true_current, **diag, **design_diag})
                rows.append(row)
    return {"rows": rows, "seconds_simulation": t_sim, "seconds": time.perf_counter() - t0}


def first_participation(panel: pd.DataFrame) -> pd.Series:
    """Per household that ever participates in the factual panel, the first year it does."""
    part = panel.loc[panel["participating"] == 1, ["household_id", "year"]]
    return part.groupby("household_id")["year"].min()


def carried_effect(truth_c: SampleTruth, key: tuple, joined: pd.Series) -> float:
    """Mean over the sampled controls of the effect of their *own* participation on the outcome
    ``key = (column, year)``: the twin difference of a control that has participated by that year
    (a former member, or one that joins by then), 0 for one that has not. The twin difference of a
    control that joins only later is not its own effect: its twin removes it from integration in
    later years only, and what differs by that year is its batch-mates' exit (a spillover of the
    batch design, docs/estimands.md)."""
    if truth_c.y1.empty:
        return 0.0
    diff = (truth_c.y1[key] - truth_c.y0[key]).to_numpy(dtype=float)
    first = joined.reindex(truth_c.y1.index).to_numpy(dtype=float)
    own = np.isfinite(first) & (first <= key[1])
    return float(np.where(own, diff, 0.0).mean())


def _vep_twin_truth(data: pd.DataFrame, truth: SampleTruth, vep_cov: list[str], post_year: int, line: float) -> float:
    """Mean over the treated of :func:`vep_twin_differences`."""
    return float(vep_twin_differences(data, truth, vep_cov, post_year, line).mean())


def vep_twin_differences(data: pd.DataFrame, truth: SampleTruth, vep_cov: list[str], post_year: int,
                         line: float) -> pd.Series:
    """Twin difference of VEP-predicted vulnerability, per treated household: the post-wave VEP
    coefficients fitted on the factual sample, applied to each treated household's factual and
    direct-twin covariates (``participating`` is 0 in the twin)."""
    post = data[data["year"] == post_year]
    usable = [c for c in vep_cov if post[c].nunique() > 1]
    fit = vep.vulnerability(post, "ln_income", usable, line)
    b = fit.mean_table["coef"].to_numpy()
    th = fit.variance_table["coef"].to_numpy()
    floor = fit.variance_floor

    def vul(frame: pd.DataFrame) -> np.ndarray:
        X = np.column_stack([np.ones(len(frame))] + [frame[c].to_numpy(dtype=float) for c in usable])
        s2 = np.maximum(X @ th, floor)
        return ndtr((np.log(line) - X @ b) / np.sqrt(s2))

    x1 = pd.DataFrame({c: truth.y1[(c, post_year)] for c in usable})
    x0 = pd.DataFrame({c: truth.y0[(c, post_year)] for c in usable})
    return pd.Series(vul(x1) - vul(x0), index=x1.index, name="vep_twin_difference")


# ---------------------------------------------------------------------------------------------
# Running, storing, resuming


def _rep_path(out: Path, task: dict) -> Path:
    return out / "reps" / setting_label(task["selection"]) / f"rep-{task['rep']:04d}.json"


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if not np.isfinite(o) else float(o)
    raise TypeError(type(o))


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def run(cfg: ValidationConfig, out: Path, executor=None, progress: bool = False, log=print, *,
        overwrite: bool = False, resume: bool = False) -> pd.DataFrame:
    """Run (or resume) a validation into ``out``; returns the per-replication rows.

    ``out/manifest.json`` holds the configuration; ``out/reps/<setting>/rep-NNNN.json`` one
    replication each, written as it completes. Existing replication files are kept and skipped,
    so calling again with the same configuration (or more ``reps``) resumes.
    """
    cfg.check()
    out = Path(out)
    settings = {k: v for k, v in asdict(cfg).items() if k != "reps"}
    mode = claim(out, "validate", settings, overwrite=overwrite, resume=resume)
    if mode == "overwrite":
        clear(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.json"
    if manifest.exists():
        old = load_config(out).__dict__
        mine = asdict(cfg)
        diff = [k for k in mine if k not in ("reps",) and old.get(k) != mine[k]]
        if diff:
            raise ParameterError(f"{out} holds a validation with a different configuration ({', '.join(diff)}); "
                                 f"use --resume {out} to continue it, or another --out")
    tasks = cfg.tasks()
    done = [t for t in tasks if _rep_path(out, t).exists()]
    for t in done:
        _read_rep(_rep_path(out, t), out)  # a corrupted replication file is reported before anything is written
    if not manifest.exists() or load_config(out).__dict__ != asdict(cfg):
        changes = parameter_changes(cfg)
        atomic_write_text(manifest, json.dumps({"config": asdict(cfg),
                                                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                                "parameter_changes": json.loads(changes.to_json(orient="records"))},
                                               indent=2, default=_json_default))
    record(out, "validate", settings)
    todo = [t for t in tasks if not _rep_path(out, t).exists()]
    if len(todo) < len(tasks):
        log(f"resuming: {len(tasks) - len(todo)} of {len(tasks)} replications already done")
    failures = []
    if todo:
        own = executor is None
        ex = executor or make_executor("serial")
        bar = progress_bar(len(todo), "validating", progress)
        try:
            for i, outcome in ex.run(replicate, todo):
                task = todo[i]
                bar.update(1)
                if not outcome.ok:
                    failures.append((task, outcome.error))
                    log(f"replication {task['rep']} ({setting_label(task['selection'])}) failed: {outcome.error}")
                    continue
                path = _rep_path(out, task)
                path.parent.mkdir(parents=True, exist_ok=True)
                value = outcome.value
                value["rows"] = [{k: _clean(v) for k, v in r.items()} for r in value["rows"]]
                atomic_write_text(path, json.dumps(value, default=_json_default))  # a file exists only when complete
        finally:
            bar.close()
            if own:
                ex.shutdown()
    return load_rows(out)


def load_rows(out: Path) -> pd.DataFrame:
    """All replication rows stored under ``out``."""
    rows = []
    for path in sorted(Path(out).glob("reps/*/rep-*.json")):
        rows.extend(_read_rep(path, out)["rows"])
    frame = pd.DataFrame(rows)
    for c in ("estimate", "se", "truth", "truth_vep_twin", "truth_current", *OVERLAP_COLUMNS, *PROPENSITY_COLUMNS,
              *DRIVE_COLUMNS):
        if c in frame:
            frame[c] = pd.to_numeric(frame[c], errors="coerce")
    return frame


def _read_rep(path: Path, out: Path) -> dict:
    """One stored replication; a truncated or garbage file is a one-line error naming it."""
    try:
        value = json.loads(Path(path).read_text())
        if not isinstance(value, dict) or not isinstance(value.get("rows"), list):
            raise ValueError("no rows")
        return value
    except (OSError, ValueError, UnicodeDecodeError):
        raise ParameterError(f"{path} is corrupted (truncated or not a replication file); the other replications in "
                             f"{out}/reps are intact: delete that file and run validate --resume {out} to redo "
                             "only that replication") from None


def load_config(out: Path) -> ValidationConfig:
    path = Path(out) / "manifest.json"
    if not path.exists():
        raise ParameterError(f"--resume {out}: no manifest.json there (not a validation directory)")
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or "config" not in data:
            held = "a sweep's" if isinstance(data, dict) and data.get("kind") == "ruralabm-sweep" else "another"
            raise ParameterError(f"--resume {out}: {path} is {held} manifest, not a validation's; give the --out "
                                 "of an interrupted `ruralabm validate`")
        return ValidationConfig(**data["config"])
    except (OSError, ValueError, TypeError, UnicodeDecodeError) as exc:
        if isinstance(exc, ParameterError):
            raise
        n = len(list(Path(out).glob("reps/*/rep-*.json")))
        raise ParameterError(f"{path} is corrupted (not a validation manifest); the {n} replication file(s) in "
                             f"{out}/reps are intact: rerun the original validate command with a new --out and copy "
                             "reps/ into it to reuse them") from None


# ---------------------------------------------------------------------------------------------
# Summary


def summarise(rows: pd.DataFrame, z: float = 1.959963984540054) -> pd.DataFrame:
    """Per (design, selection, outcome, estimator): true ATT, mean estimate, bias, its Monte
    Carlo SE, RMSE, 95% CI coverage of the replication's truth, rejection rate of zero."""
    keys = ["design", "selection", "outcome", "estimator"]
    out = []
    for key, g in rows.groupby(keys, sort=False):
        ok = g[np.isfinite(g["estimate"])]
        err = ok["estimate"] - ok["truth"]
        r = len(ok)
        se_ok = ok[np.isfinite(ok["se"]) & (ok["se"] > 0)]
        cover = (np.abs(se_ok["estimate"] - se_ok["truth"]) <= z * se_ok["se"]).mean() if len(se_ok) else np.nan
        reject = (np.abs(se_ok["estimate"] / se_ok["se"]) > z).mean() if len(se_ok) else np.nan
        out.append(dict(zip(keys, key)) | {
            "reps": r,
            "failed": int(len(g) - r),
            "true_att": g["truth"].mean(),
            "true_vep_twin": g["truth_vep_twin"].mean() if "truth_vep_twin" in g else np.nan,
            "mean_estimate": ok["estimate"].mean(),
            "bias": err.mean(),
            "mc_se_bias": err.std(ddof=1) / math.sqrt(r) if r > 1 else np.nan,
            "rmse": math.sqrt(np.mean(err**2)) if r else np.nan,
            "sd_estimate": ok["estimate"].std(ddof=1) if r > 1 else np.nan,
            "mean_se": ok["se"].mean(),
            "coverage": cover,
            "reject_zero": reject,
            # Added after the golden reference (tests/test_golden.py ignores them there): the truth
            # of the current-vs-current estimand, and means of the overlap and drive diagnostics.
            "true_att_current": g["truth_current"].mean() if "truth_current" in g else np.nan,
            "mean_n_treated": g["n_treated"].mean(),
            **{f"mean_{c}": pd.to_numeric(g[c], errors="coerce").mean() if c in g else np.nan
               for c in OVERLAP_COLUMNS + PROPENSITY_COLUMNS + DRIVE_COLUMNS},
        })
    return pd.DataFrame(out)


def summarise_posterior(rows: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """``--posterior K``: per (design, selection, outcome, estimator), the bias (estimate - truth),
    the true ATT and the mean estimate with parameter and stochastic uncertainty separated
    (:func:`ruralabm.scenarios.posterior.decompose`; draw = rep // POSTERIOR_STRIDE). ``bias_survives``
    = the combined 95% interval of the bias excludes 0: the estimator is biased whatever the
    posterior parameters; ``bias_stochastic`` = the interval at known parameters excludes 0."""
    from ruralabm.scenarios.posterior import decompose

    keys = ["design", "selection", "outcome", "estimator"]
    out = []
    data = rows.assign(draw=rows["rep"].astype(int) // POSTERIOR_STRIDE)
    for key, g in data.groupby(keys, sort=False):
        ok = g[np.isfinite(g["estimate"])]
        b = decompose(pd.DataFrame({"draw": ok["draw"], "value": ok["estimate"] - ok["truth"]}), level)
        t = decompose(pd.DataFrame({"draw": g["draw"], "value": g["truth"]}), level)
        e = decompose(pd.DataFrame({"draw": ok["draw"], "value": ok["estimate"]}), level)
        out.append(dict(zip(keys, key)) | {
            "draws": b["draws"], "runs": b["runs"], "true_att": t["mean"], "true_att_sd_param": t["sd_param"],
            "true_att_low": t["low"], "true_att_high": t["high"], "mean_estimate": e["mean"],
            "estimate_sd_param": e["sd_param"], "bias": b["mean"], "bias_sd_param": b["sd_param"],
            "bias_sd_stoch": b["sd_stoch"], "bias_low": b["low"], "bias_high": b["high"],
            "bias_stoch_low": b["stoch_low"], "bias_stoch_high": b["stoch_high"],
            "bias_survives": bool(b["low"] > 0 or b["high"] < 0) if np.isfinite(b["low"]) else None,
            "bias_stochastic": bool(b["stoch_low"] > 0 or b["stoch_high"] < 0) if np.isfinite(b["stoch_low"]) else None})
    return pd.DataFrame(out)


POSTERIOR_LEGEND = ("Under --posterior K each setting runs under K posterior draws x R replications (common random "
                    "numbers within a draw). bias = estimate - truth over all runs; [bias_low, bias_high] = 95% "
                    "interval combining parameter and stochastic uncertainty (the bias at a new posterior draw); "
                    "bias_sd_param = SD between draws net of Monte Carlo noise; bias_sd_stoch = SD of one replication "
                    "within a draw; bias_survives = that interval excludes 0 (biased whatever the posterior "
                    "parameters); bias_stochastic = the interval at known parameters excludes 0.")


def overlap_notes(summary: pd.DataFrame) -> list[str]:
    """One line per (design, selection) whose matching estimators have poor overlap
    (:data:`POOR_OVERLAP`), naming each estimator's share off support and effective number of
    controls: a large RMSE there is missing overlap, not necessarily bias (overlap does not depend
    on the outcome, so the first outcome's diagnostics stand for all)."""
    lines = []
    for (design, sel), g in summary.groupby(["design", "selection"], sort=False):
        g = g.drop_duplicates("estimator")
        bad = []
        for _, r in g.iterrows():
            off, ess = r.get("mean_off_support_share", np.nan), r.get("mean_ess_controls", np.nan)
            n_t = r.get("mean_n_treated", np.nan)
            if (np.isfinite(off) and off > POOR_OVERLAP["off_support_share"]) or (
                    np.isfinite(ess) and np.isfinite(n_t) and ess < POOR_OVERLAP["ess_per_treated"] * n_t):
                bad.append(f"{r['estimator']} {100 * off:.1f}% off support, effective controls {ess:.0f}")
        if not bad:
            continue
        r0 = g.iloc[0]
        ps_off = r0.get("mean_ps_off_range_share", np.nan)
        lines.append(f"poor overlap ({design}, selection {sel:g}; {r0.get('mean_n_treated', np.nan):.0f} treated, "
                     f"{100 * ps_off:.1f}% of them outside the controls' propensity range "
                     f"[{r0.get('mean_ps_control_min', np.nan):.3f}, {r0.get('mean_ps_control_max', np.nan):.3f}]): "
                     + "; ".join(bad))
    return lines


# The two truths, as the printed table and summary.md label them.
TRUTH_LEGEND = ("true_att = ATT of participating since the policy start against never participating (factual minus "
                "direct twin over the sampled treated); true_att_current = what a comparison of current participants "
                "with current non-participants estimates: true_att minus the effect the sampled controls carry from "
                "their own participation by the outcome's year (equal to true_att where no control has participated "
                "by then)")


def drive_gap_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Realised selection on the unobserved drive per (design, selection setting), in sd of drive,
    post wave: the mean over replications of the population gap (participants - non-participants),
    the survey gap (T = 1 - T = 0) and the gap given the design's covariates (coefficient of T),
    the latter with its Monte Carlo SE over replications. One value per replication (the design
    sample does not depend on the outcome or the estimator)."""
    cols = ["design", "selection", "reps", "population", "survey", "given_covariates", "given_covariates_mc_se"]
    if rows.empty or "drive_gap_population" not in rows:
        return pd.DataFrame(columns=cols)
    one = rows.drop_duplicates(["design", "selection", "rep"])
    out = []
    for (design, sel), g in one.groupby(["design", "selection"], sort=False):
        cond = pd.to_numeric(g["drive_gap_conditional"], errors="coerce").dropna()
        out.append({"design": design, "selection": sel, "reps": len(g),
                    "population": pd.to_numeric(g["drive_gap_population"], errors="coerce").mean(),
                    "survey": pd.to_numeric(g["drive_gap_sample"], errors="coerce").mean(),
                    "given_covariates": cond.mean(),
                    "given_covariates_mc_se": cond.std(ddof=1) / math.sqrt(len(cond)) if len(cond) > 1 else np.nan})
    return pd.DataFrame(out, columns=cols)


def format_drive_gaps(table: pd.DataFrame) -> list[str]:
    """One line per (design, selection) with the realised drive gaps."""
    lines = []
    for r in table.itertuples(index=False):
        se = f" +- {r.given_covariates_mc_se:.3f}" if np.isfinite(r.given_covariates_mc_se) else ""
        lines.append(f"realised drive gap ({r.design}, selection {r.selection:g}; sd of drive, post wave): "
                     f"population {r.population:+.3f}, survey {r.survey:+.3f}, given the design's covariates "
                     f"{r.given_covariates:+.3f}{se} (mean of {r.reps} replication(s))")
    return lines


def failure_lines(rows: pd.DataFrame) -> list[str]:
    """Failed estimator runs counted per estimator and reason (the error up to its first detail)."""
    if rows.empty or "error" not in rows:
        return []
    fails = rows[rows["error"].notna()]
    if fails.empty:
        return []
    lines = [f"{len(fails)} of {len(rows)} estimator run(s) failed (no estimate; counted in the summary's `failed`):"]
    total = rows.groupby("estimator", sort=False).size()
    for (est, err), g in fails.groupby(["estimator", "error"], sort=False):
        lines.append(f"  {est}: {len(g)} of {total[est]} - {err}")
    return lines


def format_summary(summary: pd.DataFrame) -> str:
    cols = ["design", "selection", "outcome", "estimator", "reps", "true_att", "true_att_current", "mean_estimate",
            "bias", "mc_se_bias", "rmse", "coverage", "reject_zero", "mean_off_support_share", "mean_ess_controls"]
    show = summary[[c for c in cols if c in summary]].copy()
    return show.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def to_markdown(frame: pd.DataFrame, floatfmt: str = ".4f") -> str:
    """A GitHub Markdown table (floats in ``floatfmt``, missing values empty)."""
    return markdown_table(frame, floatfmt)


def write_report(rows: pd.DataFrame, out: Path, figures: bool = True,
                 cfg: "ValidationConfig | None" = None) -> pd.DataFrame:
    """summary.csv, summary.md, rows.csv, drive_gaps.csv and (optionally) figures of the estimate
    distributions. With ``cfg``, summary.md opens with the parameters changed from the scenario;
    after the table it labels the two truths and gives the realised drive gaps per setting, the
    failed estimator runs and the poor-overlap notes."""
    out = Path(out)
    summary = summarise(rows)
    head = ""
    if cfg is not None:
        first, *rest = format_changes(parameter_changes(cfg), cfg).splitlines()
        head = first + "\n\n" + "".join(f"* {l.strip()}\n" for l in rest) + ("\n" if rest else "")
    notes = overlap_notes(summary)
    gaps = drive_gap_table(rows)
    tail = f"\n{TRUTH_LEGEND}.\n"
    if len(gaps):
        tail += "\nRealised selection on the unobserved drive (sd of drive, post wave):\n\n" + to_markdown(gaps) + "\n"
    fails = failure_lines(rows)
    if fails:
        tail += "\n" + fails[0] + "\n\n" + "".join(f"* {l.strip()}\n" for l in fails[1:])
    if notes:
        tail += "\n" + "\n".join(f"* {n}" for n in notes) + "\n"
    with staged(out) as tmp:  # written aside, renamed into place when all are written
        summary.to_csv(tmp / "summary.csv", index=False)
        rows.to_csv(tmp / "rows.csv", index=False)
        gaps.to_csv(tmp / "drive_gaps.csv", index=False)
        if cfg is not None and cfg.posterior:
            ps = summarise_posterior(rows)
            ps.to_csv(tmp / "posterior_summary.csv", index=False)
            tail += ("\n## Parameter uncertainty (" + f"{cfg.posterior} posterior draws x {cfg.reps} replications)\n\n"
                     + POSTERIOR_LEGEND + "\n\n" + to_markdown(ps) + "\n")
        (tmp / "summary.md").write_text(head + to_markdown(summary) + "\n" + tail)
        if figures:
            plot_distributions(rows, tmp / "figures")
    return summary


def plot_distributions(rows: pd.DataFrame, folder: Path) -> list[Path]:
    """One figure per (design, outcome): a panel per estimator (rows) x selection (columns),
    histogram of the estimates with the mean truth (solid) and the mean estimate (dashed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for (design, outcome), g in rows.groupby(["design", "outcome"], sort=False):
        ests = list(dict.fromkeys(g["estimator"]))
        sels = sorted(g["selection"].unique())
        fig, axes = plt.subplots(len(ests), len(sels), figsize=(3.2 * len(sels), 1.9 * len(ests)), squeeze=False,
                                 sharex="row")
        for i, est in enumerate(ests):
            for j, s in enumerate(sels):
                ax = axes[i][j]
                cell = g[(g["estimator"] == est) & (g["selection"] == s)]
                vals = cell["estimate"].dropna()
                if len(vals):
                    ax.hist(vals, bins=min(20, max(5, len(vals) // 2)), color="0.7")
                    ax.axvline(cell["estimate"].mean(), color="C0", ls="--", lw=1)
                ax.axvline(cell["truth"].mean(), color="C3", lw=1.5)
                ax.tick_params(labelsize=7)
                if i == 0:
                    ax.set_title(f"selection {s:g}", fontsize=8)
                if j == 0:
                    ax.set_ylabel(est, fontsize=8)
        fig.suptitle(f"{outcome} ({design} design): estimates vs truth (red)", fontsize=9)
        fig.tight_layout()
        path = folder / f"{design}-{outcome}.png"
        fig.savefig(path, dpi=90, metadata={"Software": None})
        plt.close(fig)
        paths.append(path)
    return paths
