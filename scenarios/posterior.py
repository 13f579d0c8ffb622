"""The shipped posterior sample and how commands run under its draws.

``calibration/posterior.parquet`` holds the posterior sample of the Bayesian calibration (one row
per draw: ``draw``, one column per calibrated parameter, ``loglik``); ``calibration/posterior.json``
beside it its provenance (the calibration's settings, diagnostics, fit and recovery summary, the
file's SHA-256). ``compare --posterior K`` and ``validate --posterior K`` take K draws
(:meth:`Posterior.draws`: the sample sorted by its first principal direction and cut into K
equal strata, one draw per stratum chosen with the master seed, so K small still spans the
posterior) and run every scenario or validation setting under each (common random numbers within a
draw; different seeds across draws, so the spread between draws is parameter uncertainty plus
Monte Carlo noise, which :func:`decompose` separates).

A draw's values replace a scenario's value of a calibrated parameter only where the scenario keeps
the calibrated default (the value of ``scenarios/calibrated.toml``); a policy scenario that sets the
parameter itself keeps its own value (:func:`apply_draw` says which were kept).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ruralabm.model.params import ParameterError

# The shipped sample lives with the calibration (calibration/posterior.parquet, installed as
# ruralabm/calibration/posterior.parquet); this module sits in the scenarios layer so that compare
# and the validation study can use it without importing the calibration.
SHIPPED = Path(__file__).resolve().parents[1] / "calibration" / "posterior.parquet"
_INDEXED = re.compile(r"^(?P<name>[a-z_]+\.[a-z_0-9]+)\[(?P<i>\d+)\]$")


def _split(name: str) -> tuple[str, int | None]:
    m = _INDEXED.match(name.strip())
    return (m["name"], int(m["i"])) if m else (name.strip(), None)


def _value(params, name: str) -> float:
    base, i = _split(name)
    v = params.get(base)
    return float(v[i] if i is not None else v)


@dataclass
class Posterior:
    path: Path
    frame: pd.DataFrame
    provenance: dict
    names: list[str]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def draws(self, k: int, seed: int = 0) -> list[tuple[int, dict[str, float]]]:
        """K draws (row id, {parameter: value}): one from each of K strata along the sample's first
        principal direction (standardised), the row within a stratum chosen with ``seed``."""
        if k < 1:
            raise ParameterError(f"--posterior {k}: give at least 1 draw")
        if k > len(self.frame):
            raise ParameterError(f"--posterior {k}: the posterior sample {self.path} has {len(self.frame)} draws")
        x = self.frame[self.names].to_numpy(float)
        z = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)
        _, _, vt = np.linalg.svd(z - z.mean(0), full_matrices=False)
        order = np.argsort(z @ vt[0], kind="stable")
        rng = np.random.default_rng([int(seed), 13])
        out = []
        for stratum in np.array_split(order, k):
            i = int(stratum[rng.integers(len(stratum))])
            out.append((int(self.frame.iloc[i]["draw"]), {n: float(self.frame.iloc[i][n]) for n in self.names}))
        return out


def load_posterior(path: str | Path | None = None) -> Posterior:
    path = Path(path) if path is not None else SHIPPED
    if not path.exists():
        raise ParameterError(f"--posterior-file {path}: no such file (the shipped posterior is {SHIPPED}; "
                             "make one with ruralabm calibrate-bayes)")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - unreadable file: one line
        raise ParameterError(f"--posterior-file {path} is not a readable Parquet posterior sample ({type(exc).__name__})") from None
    names = [c for c in frame.columns if c not in ("draw", "loglik")]
    if "draw" not in frame or not names or not len(frame):
        raise ParameterError(f"--posterior-file {path}: expected columns draw, one per parameter, loglik "
                             f"(got {list(frame.columns)[:6]})")
    from ruralabm.model.params import parameter_spec

    for n in names:
        try:
            parameter_spec(_split(n)[0])
        except ParameterError:
            raise ParameterError(f"--posterior-file {path}: column {n!r} is not a model parameter") from None
    prov_path = path.with_suffix(".json")
    prov = json.loads(prov_path.read_text()) if prov_path.exists() else {}
    return Posterior(path, frame, prov, names)


def apply_draw(params, values: dict[str, float], reference) -> list[str]:
    """Set the draw's values on ``params`` where it keeps ``reference``'s (the calibrated default)
    value; returns the names it left at the scenario's own value."""
    from ruralabm.model.params import parameter_spec

    use, kept = [], []
    for n, v in values.items():
        if math.isclose(_value(params, n), _value(reference, n), rel_tol=1e-12, abs_tol=1e-12):
            base, i = _split(n)
            is_int = i is None and parameter_spec(base)["type"] == "int"
            use.append((n, int(round(v)) if is_int else float(v)))
        else:
            kept.append(n)
    params.set_many(use)
    return kept


def refuse_set_of_posterior_parameters(overrides, names) -> None:
    """A --set of a parameter the posterior draws would replace is refused (one would silently win)."""
    keys = {str(o).partition("=")[0].strip() for o in overrides or []}
    bases = {_split(n)[0] for n in names} | set(names)
    clash = sorted(keys & bases)
    if clash:
        raise ParameterError(f"--set {clash[0]} contradicts --posterior, whose draws set it; drop one of them "
                             f"(posterior parameters: {', '.join(names)})")


def decompose(values: pd.DataFrame, level: float = 0.95) -> dict:
    """Parameter and stochastic uncertainty of one quantity observed as ``values`` (columns
    ``draw``, ``value``: replications within draws).

    d_k = mean over the draw's R replications; m = mean of the d_k.
    * stochastic: s_w = pooled SD of replications within draws (one replication's noise);
    * parameter: tau^2 = max(0, var(d_k) - s_w^2 / R) (between-draw variance net of Monte Carlo noise);
    * combined 95% interval of the quantity under parameter uncertainty: m +- t_{K-1} sd(d_k)
      sqrt(1 + 1/K) (the prediction interval of d at a new posterior draw: parameter uncertainty and
      the Monte Carlo noise of R replications together);
    * stochastic-only 95% interval (as if the parameters were known): m +- t_{KR-K} s_w / sqrt(KR).
    """
    from scipy import stats

    v = values[np.isfinite(values["value"].to_numpy(float))]
    g = v.groupby("draw")["value"]
    d = g.mean().to_numpy(float)
    n = g.size().to_numpy()
    K, N = len(d), int(n.sum())
    out = {"mean": float(np.mean(d)) if K else math.nan, "draws": K, "runs": N}
    if K == 0:
        return out | {k: math.nan for k in ("sd_param", "sd_stoch", "low", "high", "stoch_low", "stoch_high",
                                            "param_share")}
    resid = v["value"].to_numpy(float) - v["draw"].map(g.mean()).to_numpy(float)
    dfw = N - K
    s_w = float(np.sqrt(np.sum(resid ** 2) / dfw)) if dfw > 0 else math.nan
    R = N / K
    var_d = float(np.var(d, ddof=1)) if K > 1 else math.nan
    tau2 = max(0.0, var_d - (s_w ** 2 / R if np.isfinite(s_w) else 0.0)) if np.isfinite(var_d) else math.nan
    q = 0.5 + level / 2
    half = float(stats.t.ppf(q, K - 1)) * math.sqrt(var_d * (1 + 1 / K)) if K > 1 else math.nan
    shalf = float(stats.t.ppf(q, dfw)) * s_w / math.sqrt(N) if dfw > 0 else math.nan
    share = tau2 / var_d if np.isfinite(tau2) and var_d and var_d > 0 else math.nan
    return out | {"sd_param": math.sqrt(tau2) if np.isfinite(tau2) else math.nan, "sd_stoch": s_w,
                  "low": out["mean"] - half, "high": out["mean"] + half,
                  "stoch_low": out["mean"] - shalf, "stoch_high": out["mean"] + shalf, "param_share": share}
