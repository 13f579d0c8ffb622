"""Indirect-inference objective: simulate, draw the papers' survey samples, run the papers'
estimators with the papers' settings, and compare the statistics with the published ones.

One *evaluation* is one parameter vector at one replication seed (:func:`simulate_statistics`,
a top-level function the shared executor can ship to workers). The *objective* at a parameter
vector is the weighted distance between the published statistics and the mean of the simulated
statistics over R replications that use the same seeds for every parameter vector (common
random numbers), plus penalties for violated orderings (:class:`Targets.distance`).

Parameters are named ``section.key`` or, for list parameters, ``section.key[i]`` (one entry of
the list, e.g. ``forms.price_gain[0]`` for the vertical chain).
"""
from __future__ import annotations

import gc
import math
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

import pandas as pd

from ruralabm.analysis.estimators.resilience import fit_index
from ruralabm.analysis.studies.campaign import exit_years
from ruralabm.analysis.specs import CAO_COVARIATES, CLDS_COVARIATES, CLDS_PRE, LINE_NAMES, REGIONS, poverty_lines
from ruralabm.analysis.studies.papers import (cao_statistics, clds_statistics, county_statistics,
                                              drop_separating_covariates)
from ruralabm.analysis.studies.survey import clds_eligible, clds_sample, cles_sample, county_sample, survey_options
from ruralabm.model import RuralModel
from ruralabm.model.params import ParameterError, Params, parameter_spec
from ruralabm.model.processes.outcomes import RESILIENCE_INDICATORS
from ruralabm.scenarios import load

from .patterns import load_patterns, run_statistics

TARGETS_FILE = Path(__file__).resolve().parent / "targets.toml"
_INDEXED = re.compile(r"^(?P<name>[a-z_]+\.[a-z_0-9]+)\[(?P<i>\d+)\]$")


# ---------------------------------------------------------------------------------------------
# Parameters


def split_name(name: str) -> tuple[str, int | None]:
    """``'forms.price_gain[0]'`` -> ``('forms.price_gain', 0)``; ``'a.b'`` -> ``('a.b', None)``."""
    m = _INDEXED.match(name.strip())
    if m:
        return m["name"], int(m["i"])
    return name.strip(), None


def param_bounds(name: str) -> tuple[float, float]:
    """The allowed range of a (possibly indexed) parameter, from its metadata."""
    base, i = split_name(name)
    spec = parameter_spec(base)
    if i is not None:
        if not isinstance(spec["default"], list):
            raise ParameterError(f"{base} is not a list parameter; write it without [{i}]")
        if i >= len(spec["default"]):
            raise ParameterError(f"{name}: {base} has {len(spec['default'])} entries (index 0-{len(spec['default']) - 1})")
    elif isinstance(spec["default"], list):
        raise ParameterError(f"{base} is a list parameter; calibrate one entry, e.g. {base}[0]")
    if spec["type"] in ("bool", "str"):
        raise ParameterError(f"{base} is not numeric and cannot be calibrated")
    return float(spec["low"]), float(spec["high"])


def apply_values(params: Params, values: Mapping[str, float]) -> Params:
    """Set the (possibly indexed) parameters in place, validated together; integers are rounded.
    Returns params."""
    items = []
    for name, v in values.items():
        base, i = split_name(name)
        is_int = i is None and parameter_spec(base)["type"] == "int"
        items.append((base if i is None else f"{base}[{i}]", int(round(v)) if is_int else float(v)))
    return params.set_many(items)


def current_value(params: Params, name: str) -> float:
    base, i = split_name(name)
    v = params.get(base)
    return float(v[i] if i is not None else v)


@dataclass
class ParamSpace:
    """Calibrated parameters and their search box; maps the box to the unit cube and back."""

    names: list[str]
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def parse(cls, items: Sequence[str]) -> "ParamSpace":
        """From ``NAME=LOW:HIGH`` strings; each box must lie inside the parameter's allowed range."""
        names, lows, highs = [], [], []
        for item in items:
            name, sep, rng = item.partition("=")
            lo_text, sep2, hi_text = rng.partition(":")
            if not sep or not sep2:
                raise ParameterError(f"--params {item!r} must look like section.key=LOW:HIGH, e.g. "
                                     "participation.base_rate=0.3:0.9")
            try:
                lo, hi = float(lo_text), float(hi_text)
            except ValueError:
                raise ParameterError(f"--params {item!r}: LOW and HIGH must be numbers") from None
            name = name.strip()
            a, b = param_bounds(name)
            if not lo < hi:
                raise ParameterError(f"--params {item!r}: LOW must be below HIGH")
            if lo < a or hi > b:
                raise ParameterError(f"--params {item!r} is outside the allowed range of {name}: [{a:g}, {b:g}]")
            if name in names:
                raise ParameterError(f"--params names {name} twice")
            names.append(name)
            lows.append(lo)
            highs.append(hi)
        if not names:
            raise ParameterError("give at least one --params NAME=LOW:HIGH")
        return cls(names, np.array(lows), np.array(highs))

    @property
    def dim(self) -> int:
        return len(self.names)

    def to_params(self, u: np.ndarray) -> dict[str, float]:
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        x = self.low + u * (self.high - self.low)
        return {n: float(v) for n, v in zip(self.names, x)}

    def to_unit(self, values: Mapping[str, float]) -> np.ndarray:
        x = np.array([values[n] for n in self.names], dtype=float)
        return (x - self.low) / (self.high - self.low)

    def as_strings(self) -> list[str]:
        return [f"{n}={lo:g}:{hi:g}" for n, lo, hi in zip(self.names, self.low, self.high)]


# ---------------------------------------------------------------------------------------------
# Targets


@dataclass
class Target:
    key: str
    value: float
    se: float | None
    scale: float
    weight: float
    info: dict = field(default_factory=dict)

    @property
    def sd(self) -> float:
        """The distance unit: the published SE where there is one, else the stated tolerance."""
        return float(self.se) if self.se else float(self.scale)


@dataclass
class Ordering:
    name: str
    high: list[str]
    low: list[str]
    scale: float
    weight: float
    margin: float = 0.0
    info: dict = field(default_factory=dict)

    def violations(self, stats: Mapping[str, float]) -> list[tuple[str, str, float]]:
        """(high key, low key, shortfall in units of ``scale``) for every pair; 0 when met."""
        out = []
        for h in self.high:
            for lo in self.low:
                a, b = stats.get(h, np.nan), stats.get(lo, np.nan)
                gap = (b - a + self.margin) / self.scale if np.isfinite(a) and np.isfinite(b) else np.nan
                out.append((h, lo, max(0.0, gap) if np.isfinite(gap) else np.nan))
        return out


def pattern_targets(settings: Mapping[str, Any]) -> list[Target]:
    """The official patterns a calibration may fit (``PatternSet.fittable()``: never a held-out one),
    as targets ``patterns.<key>``, when the targets file's ``[settings]`` asks for them
    (``patterns_groups``: the pattern groups to fit, ``patterns_weight``). The distance unit is
    half the pattern's tolerance, so a pattern within its tolerance is within 2 sd."""
    groups = list(settings.get("patterns_groups", []))
    if not groups:
        return []
    weight = float(settings.get("patterns_weight", 1.0))
    out = []
    for p in load_patterns().fittable():
        if p.group not in groups:
            continue
        low, high = p.band
        out.append(Target(f"patterns.{p.key}", float(p.official), None, (high - low) / 4.0, weight,
                          {"stat": p.stat, "estimator": f"official pattern ({p.group}): {p.compares}",
                           "source": p.source}))
    return out


@dataclass
class Targets:
    targets: list[Target]
    orderings: list[Ordering]
    settings: dict
    meta: dict
    inconsistencies: list[dict]
    path: str = ""

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Targets":
        path = Path(path) if path else TARGETS_FILE
        if not path.exists():
            raise ParameterError(f"targets file '{path}' does not exist")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ParameterError(f"targets file '{path}' is not valid TOML: {exc}") from None
        targets = []
        for t in data.get("target", []):
            try:
                se = t.get("se")
                tgt = Target(str(t["key"]), float(t["value"]), float(se) if se else None,
                             float(t.get("scale", 0.0)), float(t.get("weight", 1.0)),
                             {k: v for k, v in t.items() if k not in ("key", "value", "se", "scale", "weight")})
            except KeyError as exc:
                raise ParameterError(f"{path}: a [[target]] lacks {exc}") from None
            if not tgt.sd > 0:
                raise ParameterError(f"{path}: target {tgt.key} needs a positive se or scale")
            targets.append(tgt)
        orderings = []
        for o in data.get("ordering", []):
            orderings.append(Ordering(str(o["name"]), list(o["high"]), list(o["low"]), float(o["scale"]),
                                      float(o.get("weight", 1.0)), float(o.get("margin", 0.0)),
                                      {k: v for k, v in o.items()
                                       if k not in ("name", "high", "low", "scale", "weight", "margin")}))
        settings = dict(data.get("settings", {}))
        targets += pattern_targets(settings)
        keys = [t.key for t in targets]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ParameterError(f"{path}: targets listed twice: {dup}")
        return cls(targets, orderings, settings, dict(data.get("meta", {})),
                   list(data.get("inconsistency", [])), str(path))

    def active(self) -> list[Target]:
        return [t for t in self.targets if t.weight > 0]

    def needed_keys(self, all_targets: bool = False) -> set[str]:
        keys = {t.key for t in (self.targets if all_targets else self.active())}
        for o in self.orderings:
            if o.weight > 0 or all_targets:
                keys |= set(o.high) | set(o.low)
        return keys

    def distance(self, stats: Mapping[str, float], detail: bool = False):
        """Weighted squared distance sum_k w_k ((sim_k - pub_k) / sd_k)^2 plus ordering penalties
        sum_o w_o sum_pairs shortfall^2. A statistic that could not be computed (NaN) costs a
        fixed 25 (a 5-sd miss) so that failures are penalised but finite."""
        rows = []
        total = 0.0
        for t in self.active():
            sim = stats.get(t.key, np.nan)
            z = (sim - t.value) / t.sd if np.isfinite(sim) else np.nan
            c = t.weight * (z * z if np.isfinite(z) else 25.0)
            total += c
            rows.append({"kind": "target", "key": t.key, "z": z, "contribution": c})
        for o in self.orderings:
            if o.weight <= 0:
                continue
            c = 0.0
            for h, lo, v in o.violations(stats):
                c += o.weight * (v * v if np.isfinite(v) else 25.0)
            total += c
            rows.append({"kind": "ordering", "key": o.name, "z": np.nan, "contribution": c})
        if detail:
            return total, pd.DataFrame(rows)
        return total


# ---------------------------------------------------------------------------------------------
# One evaluation: simulate and compute the statistics

DEFAULT_SETTINGS = {
    "scenario": "uncalibrated",
    "households": 40_000,
    "counties": 100,
    "clds_n": 6124,
    "cles_n": 3000,
    "county_n": 76,
    "clds_methods": ["kernel"],
    "vep_variant": "participation",
    "exit_years": [2016, 2017, 2018, 2019, 2020],
}


def settings_from(targets: Targets | None, **overrides) -> dict:
    s = dict(DEFAULT_SETTINGS)
    if targets is not None:
        s.update(targets.settings)
    s.update({k: v for k, v in overrides.items() if v is not None})
    return s


def build_params(settings: Mapping[str, Any], values: Mapping[str, float]) -> Params:
    """The scenario of ``settings`` with the calibrated values and the evaluation's sizes."""
    p = load(settings["scenario"]).params
    apply_values(p, values)
    p.set("population.n_counties", max(int(settings["counties"]), p.population.n_counties))
    p.set("population.n_households", int(settings["households"]))
    if p.calendar.end_year < 2022:
        p.set("calendar.end_year", 2022)
    return p


def _tables_for(keys: set[str]) -> dict[str, bool]:
    return {
        "clds": any(k.startswith("clds.") for k in keys),
        "t1": any(k.startswith("clds.t1.") for k in keys),
        "t2": any(k.startswith("clds.t2.") for k in keys),
        "t3": any(k.startswith("clds.t3.") for k in keys),
        "t4": any(k.startswith("clds.t4.") for k in keys),
        "t5": any(k.startswith("clds.t5.") for k in keys),
        "cao": any(k.startswith("cao.") for k in keys),
        "counties": any(k.startswith("counties.") for k in keys),
        "patterns": any(k.startswith("patterns.") for k in keys),
    }


def simulate_statistics(task: Mapping[str, Any]) -> dict:
    """One replication: ``task = {"values": {name: value}, "seed": int, "settings": {...},
    "keys": [statistic keys wanted]}``. Returns ``{"stats": {key: value}, "seconds": {...}}``.

    The survey draws use the replication seed too, so two parameter vectors at the same seed
    share every random number of the simulation and of the samples (common random numbers).
    """
    settings = dict(DEFAULT_SETTINGS, **task.get("settings", {}))
    seed = int(task["seed"])
    keys = set(task.get("keys") or [])
    need = _tables_for(keys)
    timing = {}
    stats: dict[str, float] = {}

    t0 = time.perf_counter()
    params = build_params(settings, task["values"])
    model = RuralModel(params, seed=seed, household_agents=False).run()
    panel = model.household_panel()
    timing["simulate"] = time.perf_counter() - t0

    if need["clds"]:
        t0 = time.perf_counter()
        notes: list[str] = []
        try:
            options = survey_options(params)  # the survey's recall error of income, if any
            eligible = clds_eligible(panel, CLDS_PRE, seed=seed, **options)
            n = min(int(settings["clds_n"]), eligible)
            stats["clds.eligible"] = float(eligible)
            smp = clds_sample(panel, n=n, seed=seed, **options)
            lines = poverty_lines(params)
            extra = ["participating"] if settings["vep_variant"] == "participation" else []

            def clds(tables, methods):
                return drop_separating_covariates(
                    lambda cov: clds_statistics(smp, lines, tables=tables, methods=methods, covariates=cov,
                                                vep_covariates=list(CLDS_COVARIATES) + extra),
                    CLDS_COVARIATES, notes)

            st = clds([t for t in ("t1", "t3") if need[t]], ("nn1",))
            stats.update(st.as_series().to_dict())
            later = [t for t in ("t2", "t4", "t5") if need[t]]
            if later:
                methods = sorted({k.split(".")[3] for k in keys if k.startswith("clds.t4.att.")} - {"mean"}) \
                    or list(settings["clds_methods"])
                if any(k.startswith("clds.t4.att.mean.") for k in keys):
                    methods = ["nn1", "nn4", "radius", "kernel"]
                s = clds(later, methods).as_series().to_dict()
                stats.update({k: v for k, v in s.items() if not k.startswith(("clds.participation", "clds.vul_mean"))})
                for line in LINE_NAMES:
                    for region in REGIONS:
                        vals = [s.get(f"clds.t4.att.{m}.{line}.{region}") for m in methods]
                        vals = [v for v in vals if v is not None]
                        if len(vals) == 4:
                            stats[f"clds.t4.att.mean.{line}.{region}"] = float(np.mean(vals))
        except Exception as exc:  # noqa: BLE001 - the block's statistics are missing (penalised)
            notes.append(f"{type(exc).__name__}: {exc}"[:300])
        timing["clds"] = time.perf_counter() - t0
        if notes:
            timing["clds_notes"] = "; ".join(notes)

    if need["cao"]:
        t0 = time.perf_counter()
        notes = []
        try:
            cs = cles_sample(panel, n=min(int(settings["cles_n"]), params.population.n_households), seed=seed)
            index = fit_index(cs[cs["year"] == cs["year"].min()], RESILIENCE_INDICATORS)
            cov = list(CAO_COVARIATES)
            cao_keys = [k for k in keys if k.startswith("cao.psm")]
            pairs = {(k.split(".")[2], k.split(".")[3]) for k in cao_keys}
            by_group: dict[str, set[str]] = {}
            for outcome, group in pairs:
                by_group.setdefault(group, set()).add(outcome)
            # Groups that need the same outcomes share one call; each group is its own try.
            for group, outs in sorted(by_group.items()):
                try:
                    st = drop_separating_covariates(
                        lambda c: cao_statistics(cs, index, c, groups=(group,), outcomes=tuple(sorted(outs))),
                        cov, notes)
                    stats.update(st.as_series().to_dict())
                except Exception as exc:  # noqa: BLE001
                    notes.append(f"{group}: {type(exc).__name__}: {exc}"[:300])
        except Exception as exc:  # noqa: BLE001
            notes.append(f"{type(exc).__name__}: {exc}"[:300])
        timing["cao"] = time.perf_counter() - t0
        if notes:
            timing["cao_notes"] = "; ".join(notes)

    if need["counties"]:
        t0 = time.perf_counter()
        exits = model.county_exits()
        # Official exits count counties by batch (assessment) year; the announcement follows a year later.
        exit_year = exit_years(model)
        exited = exit_year > 0
        for year in settings["exit_years"]:
            stats[f"counties.exit_share.{year}"] = float(np.mean(exited & (exit_year == year)))
        stats[f"counties.not_exited.{max(settings['exit_years'])}"] = float(
            np.mean(~(exited & (exit_year <= max(settings["exit_years"])))))
        if any(k.startswith(("counties.ols", "counties.cox")) for k in keys):
            try:
                st = county_statistics(county_sample(exits, n=int(settings["county_n"]), seed=seed))
                stats.update(st.as_series().to_dict())
            except Exception as exc:  # noqa: BLE001 - e.g. no exits: the statistic is missing
                timing["counties_notes"] = f"{type(exc).__name__}: {exc}"[:300]
        timing["counties"] = time.perf_counter() - t0

    if need["patterns"]:
        t0 = time.perf_counter()
        official = run_statistics(model)
        for p in load_patterns().patterns:
            if f"patterns.{p.key}" in keys:
                stats[f"patterns.{p.key}"] = float(official.get(p.stat, np.nan))
        timing["patterns"] = time.perf_counter() - t0

    del model, panel
    gc.collect()  # the model and its agents form reference cycles: free the arrays now
    clean = {k: float(v) for k, v in stats.items() if isinstance(v, (int, float, np.floating)) and
             (not keys or k in keys or k.startswith(("clds.eligible",)))}
    return {"stats": clean, "seconds": timing}


def mean_stats(replications: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean of each statistic over replications (NaN-aware; NaN if missing in all)."""
    keys = sorted({k for r in replications for k in r})
    out = {}
    for k in keys:
        vals = np.array([r.get(k, np.nan) for r in replications], dtype=float)
        out[k] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
    return out


def sd_stats(replications: Sequence[Mapping[str, float]]) -> dict[str, float]:
    keys = sorted({k for r in replications for k in r})
    out = {}
    for k in keys:
        vals = np.array([r.get(k, np.nan) for r in replications], dtype=float)
        vals = vals[np.isfinite(vals)]
        out[k] = float(np.std(vals, ddof=1)) if vals.size > 1 else float("nan")
    return out


def objective(targets: Targets, replications: Sequence[Mapping[str, float]]) -> float:
    """The calibration objective at one parameter vector from its R replications."""
    if not replications:
        return math.inf
    return float(targets.distance(mean_stats(replications)))
