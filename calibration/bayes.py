"""Bayesian calibration: Gaussian-process emulators, tempered waves and an MCMC posterior.

Likelihood-free Bayesian calibration of the model to the papers' published estimates and the
fittable official patterns (the same statistics, estimators and settings as the indirect-inference
search of :mod:`calibration.search`, which stays the fast point-estimate mode). Method (see
docs/calibration_bayes.md for the choice and its justification):

1. **Prior**: uniform on each parameter's box (:data:`BAYES_PARAMS`, boxes from the parameters'
   sources in ``Params`` and the identification screen of :mod:`calibration.screen`).
2. **Quasi-likelihood** of the published statistics y_k (the Laplace-type posterior of the
   indirect-inference distance, Chernozhukov and Hong 2003, with the emulator's uncertainty):

       log L(u) = - 1/2 sum_k [ (y_k - m_k(u))^2 / v_k(u) + log v_k(u) ]
                  - 1/2 sum_orderings w_o sum_pairs max(0, (m_low - m_high + margin) / scale)^2,
       v_k(u) = sd_k^2 / w_k + s_k^2(u),

   where m_k(u) and s_k^2(u) are the emulator's mean and variance of the statistic's expected
   value (:mod:`calibration.emulator`), sd_k the published SE or, without one, the stated
   tolerance (a model-discrepancy allowance) and w_k the target's weight in targets.toml. With an
   exact emulator this is exp(-J/2) of the point calibration's distance J (plus the ordering
   penalties), so its mode is the indirect-inference estimate. **Held-out targets and patterns
   never enter it** (``held_out = true`` in targets.toml or patterns.toml, marked before fitting).
3. **Waves** (sequential design, as in history matching): wave 1 is a scrambled Sobol design over
   the box; the emulators are fitted to every run so far; wave w > 1 is drawn from the tempered
   emulator posterior prior x L^beta_w (beta rising to 1, so early waves stay broad), plus a share
   of new Sobol points that keep the emulators honest away from the posterior. One replication per
   run, each run its own seed: the emulator's nugget is the statistic's variance between
   replications, so the expected statistic is what is emulated.
4. **Posterior**: after the last wave, emcee's affine-invariant ensemble sampler (Foreman-Mackey
   et al. 2013) on the final emulator posterior; the draws are the posterior sample.
5. **Posterior predictive check**: ``ppc_draws`` posterior draws are simulated with every
   statistic (fitted, held-out and monitored targets, every pattern, the orderings' statistics)
   through the papers' estimators on simulated surveys; the fit table (docs/calibration/fit.csv)
   gives, per row, the mean and SD of the statistic over these draws (parameter and stochastic
   uncertainty together).

Every simulation is appended to ``DIR/simulations.jsonl`` as it finishes; each wave's design is
written (atomically) before it runs, so ``--resume DIR`` redoes only what is missing and the result
does not depend on interruptions.
"""
from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ruralabm.model.params import ParameterError
from ruralabm.scenarios.executor import progress_bar

from . import emulator as emu
from .boxes import EFFECT_SIZES, boxed
from .objective import ParamSpace, Target, Targets, settings_from, simulate_statistics
from .patterns import load_patterns
from .search import read_records

CONFIG = "config.json"
SIMS = "simulations.jsonl"
PPC = "ppc.jsonl"
WAVES = "waves"
POSTERIOR = "posterior.parquet"
RESULT = "posterior.json"
COMMAND = "calibrate-bayes"

# The calibrated parameters and their boxes (uniform priors on the boxes). The twelve of the point
# calibration (ruralabm/commands/calibrate.py DEFAULT_PARAMS) and the national world's parameters that
# the identification screen (calibration/screen.py; table in docs/calibration_bayes.md) shows a fitted
# target responding to: a smooth statistic (means, shares, vulnerability means, pseudo-R2, patterns,
# exits) moves by >= 0.25 of its distance unit per tenth of the box, or a matching estimate by more than
# its screening noise (>= 1.5 units for Cao's PSM %, >= 3 for the kernel ATTs, whose central
# differences at 2 replications carry about 0.7 and 1.5 units of noise).
BAYES_PARAMS = boxed(EFFECT_SIZES + [
    "policy.subsidy_per_capita",
    "economy.farm_productivity_growth",
    "participation.subsidy_effect",
    "participation.machine_effect",
    "participation.registered_poor_effect",
    "participation.expected_gain_effect",
    "policy.subsidy_threshold",
    "labour.local_job_rate",
    "economy.business_return",
    "linkage.cooperative_capacity_share",
    "linkage.enterprise_capacity_share",
    "survey.clds_error_persistence",
    "campaign.application_margin",
    "learning.form_information_gain",
    "participation.selection_on_unobservables",
])
# Four waves, the shipped calibration's. A fifth (``--resume DIR --waves 600,400,400,400,400``)
# moved the predictive check's verdicts on each of three worlds (docs/calibration_bayes.md, "How
# noisy is one calibration run?").
DEFAULT_WAVES = [600, 400, 400, 400]
DEFAULT_TEMPERING = [0.25, 0.5, 1.0]  # beta of waves 2, 3, 4 (the posterior itself uses 1)


# ---------------------------------------------------------------------------------------------
# Configuration


@dataclass
class BayesConfig:
    params: list[str]
    targets: str
    waves: list[int]
    tempering: list[float]
    seed: int
    settings: dict
    explore_share: float = 0.1
    walkers: int = 64
    steps: int = 900
    burn: int = 400
    posterior_size: int = 4000
    ppc_draws: int = 40
    created: str = ""

    def check(self) -> None:
        ParamSpace.parse(self.params)
        if not self.waves or any(int(n) < 1 for n in self.waves):
            raise ParameterError(f"--waves {self.waves}: give one positive number of runs per wave, e.g. 640,480,480")
        d = len(self.params)
        if int(self.waves[0]) < 2 * d + 10:
            raise ParameterError(f"--waves: the first wave ({self.waves[0]} runs) must have at least 2 x parameters "
                                 f"+ 10 = {2 * d + 10} runs to fit the emulators")
        if len(self.tempering) != len(self.waves) - 1:
            raise ParameterError(f"--tempering needs one value per wave after the first ({len(self.waves) - 1}); "
                                 f"got {len(self.tempering)}")
        if any(not 0 < b <= 1 for b in self.tempering):
            raise ParameterError(f"--tempering {self.tempering}: each value must be in (0, 1]")
        if not 0 <= self.explore_share < 1:
            raise ParameterError(f"explore share {self.explore_share} must be in [0, 1)")
        if self.walkers < 2 * d:
            raise ParameterError(f"--walkers {self.walkers} must be at least twice the number of parameters ({2 * d})")
        if not 0 <= self.burn < self.steps:
            raise ParameterError(f"--burn {self.burn} must be below --steps {self.steps}")
        if self.ppc_draws < 2:
            raise ParameterError(f"--ppc-draws {self.ppc_draws} must be at least 2")

    @classmethod
    def from_json(cls, d: dict) -> "BayesConfig":
        return cls(**d)


def sim_seed(master: int, wave: int, i: int) -> int:
    """The seed of run i of a wave (wave 0: the posterior predictive runs; 1000 + t: recovery)."""
    return int(np.random.SeedSequence([int(master), int(wave), int(i)]).generate_state(1, dtype=np.uint32)[0])


# ---------------------------------------------------------------------------------------------
# Targets: what is fitted, what is held out


@dataclass
class Fitting:
    """The statistics of a targets file that enter the likelihood, and those that never do."""

    targets: Targets
    fitted: list[Target]
    held_out_targets: list[Target]
    held_out_patterns: list
    orderings: list

    @classmethod
    def load(cls, path: str | None) -> "Fitting":
        tg = Targets.load(path)
        fitted = [t for t in tg.active() if not t.info.get("held_out")]
        held = [t for t in tg.targets if t.info.get("held_out")]
        pats = [p for p in load_patterns().patterns if p.held_out]
        if any(f"patterns.{p.key}" in {t.key for t in fitted} for p in pats):  # pragma: no cover - patterns.py guards it
            raise ParameterError("a held-out pattern is among the fitted targets")
        return cls(tg, fitted, held, pats, [o for o in tg.orderings if o.weight > 0])

    def emulated_keys(self) -> list[str]:
        keys = [t.key for t in self.fitted]
        for o in self.orderings:
            keys += [k for k in o.high + o.low if k not in keys]
        return keys

    def all_keys(self) -> list[str]:
        """Every statistic of the fit table: every target, every pattern, the orderings'."""
        keys = set(self.targets.needed_keys(all_targets=True))
        keys |= {f"patterns.{p.key}" for p in load_patterns().patterns}
        return sorted(keys)


class Likelihood:
    """The quasi-log-likelihood of the module docstring, vectorised over parameter vectors."""

    def __init__(self, fitting: Fitting, em: emu.Emulator, observed: dict[str, float] | None = None):
        self.em = em
        idx = {k: j for j, k in enumerate(em.keys)}
        self.fit_idx = np.array([idx[t.key] for t in fitting.fitted])
        obs = observed or {}
        self.y = np.array([obs.get(t.key, t.value) for t in fitting.fitted], float)
        self.var0 = np.array([t.sd ** 2 / t.weight for t in fitting.fitted], float)
        self.pairs = []  # (high index, low index, margin, scale, weight)
        for o in fitting.orderings:
            for h in o.high:
                for lo in o.low:
                    self.pairs.append((idx[h], idx[lo], o.margin, o.scale, o.weight))

    def __call__(self, u: np.ndarray) -> np.ndarray:
        m, v = self.em.predict(u)
        mf, vf = m[:, self.fit_idx], v[:, self.fit_idx] + self.var0
        ll = -0.5 * np.sum((self.y - mf) ** 2 / vf + np.log(vf), axis=1)
        for h, lo, margin, scale, w in self.pairs:
            gap = np.maximum(0.0, (m[:, lo] - m[:, h] + margin) / scale)
            ll -= 0.5 * w * gap ** 2
        return ll


def sample_posterior(loglik: Callable, d: int, start: np.ndarray, beta: float, seed: int, walkers: int, steps: int,
                     burn: int, size: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """emcee on prior (uniform on the unit cube) x L^beta. Returns (draws, their log-likelihood,
    diagnostics); ``start`` gives candidate starting points (the best are used)."""
    import emcee

    rng = np.random.default_rng(seed)

    def log_prob(u):
        u = np.atleast_2d(u)
        inside = np.all((u > 0) & (u < 1), axis=1)
        out = np.full(len(u), -np.inf)
        if inside.any():
            out[inside] = beta * loglik(u[inside])
        return out

    start = np.asarray(start, float)
    ll0 = loglik(start)
    best = start[np.argsort(-ll0)[:walkers]]
    if len(best) < walkers:
        best = np.vstack([best, rng.random((walkers - len(best), d))])
    p0 = np.clip(best + 0.01 * rng.standard_normal(best.shape), 1e-4, 1 - 1e-4)
    sampler = emcee.EnsembleSampler(walkers, d, log_prob, vectorize=True,
                                    moves=[(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)])
    sampler.random_state = np.random.RandomState(seed % (2 ** 32)).get_state()
    sampler.run_mcmc(p0, steps, progress=False)
    chain = sampler.get_chain(discard=burn, flat=True)
    lp = sampler.get_log_prob(discard=burn, flat=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tau = sampler.get_autocorr_time(discard=burn, tol=0)
        except Exception:  # noqa: BLE001 - a diagnostic
            tau = np.full(d, np.nan)
    pick = rng.choice(len(chain), size=min(size, len(chain)), replace=False)
    pick.sort()
    diag = {"walkers": walkers, "steps": steps, "burn": burn, "beta": beta,
            "acceptance_fraction": float(np.mean(sampler.acceptance_fraction)),
            "autocorr_time_max": float(np.nanmax(tau)) if np.isfinite(tau).any() else None,
            "autocorr_time_mean": float(np.nanmean(tau)) if np.isfinite(tau).any() else None,
            "effective_draws": float(walkers * (steps - burn) / np.nanmax(tau)) if np.isfinite(tau).any() else None}
    return chain[pick], lp[pick] / beta, diag


# ---------------------------------------------------------------------------------------------
# Storage


class SimStore:
    """Every simulation by (wave, index): ``simulations.jsonl`` (appended as runs finish)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.data: dict[tuple[int, int], dict] = {
            (int(rec["wave"]), int(rec["i"])): rec for rec in read_records(path)}

    def add(self, rec: dict) -> None:
        self.data[(int(rec["wave"]), int(rec["i"]))] = rec
        if self.path is not None:
            with self.path.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")

    def has(self, wave: int, i: int) -> bool:
        rec = self.data.get((wave, i))
        return rec is not None and bool(rec.get("stats"))

    def runs(self, waves: Sequence[int]) -> list[dict]:
        return [self.data[k] for k in sorted(self.data) if k[0] in waves and self.data[k].get("stats")]


def run_points(store: SimStore, wave: int, points: list[dict], keys: list[str], settings: dict, seed: int, executor,
               bar=None) -> int:
    """Simulate the points of a wave not yet stored; returns the number of failed runs."""
    todo = [i for i in range(len(points)) if not store.has(wave, i)]
    tasks = [{"values": points[i], "seed": sim_seed(seed, wave, i), "settings": settings, "keys": keys} for i in todo]
    failed = 0
    for j, outcome in executor.run(simulate_statistics, tasks):
        i = todo[j]
        rec = {"wave": wave, "i": i, "values": points[i], "seed": tasks[j]["seed"],
               "stats": outcome.value["stats"] if outcome.ok else {},
               "seconds": outcome.value["seconds"] if outcome.ok else {"error": outcome.error},
               "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        failed += not outcome.ok
        store.add(rec)
        if bar is not None:
            bar.update(1)
    return failed


# ---------------------------------------------------------------------------------------------
# The calibration


class BayesCalibration:
    def __init__(self, config: BayesConfig, out: Path | None, executor, progress: bool = True,
                 log: Callable[[str], None] | None = print):
        self.config = config
        self.space = ParamSpace.parse(config.params)
        self.fitting = Fitting.load(config.targets)
        self.settings = config.settings
        self.out = Path(out) if out is not None else None
        self.store = SimStore(self.out / SIMS if self.out else None)
        self.executor = executor
        self.progress = progress
        self.log = log or (lambda s: None)
        self.failures = 0
        self._final_emulator = None
        self.diagnostics: dict = {"waves": []}

    # -- designs -----------------------------------------------------------------------------
    def _design_path(self, wave: int) -> Path | None:
        return self.out / WAVES / f"design-{wave}.json" if self.out else None

    def _sobol(self, n: int, salt: int) -> np.ndarray:
        from scipy.stats import qmc

        sob = qmc.Sobol(self.space.dim, scramble=True, seed=np.random.default_rng([self.config.seed, salt]))
        m = int(math.ceil(math.log2(max(n, 2))))
        return sob.random_base2(m)[:n]

    def design(self, wave: int) -> np.ndarray:
        """The unit-cube points of a wave: read if written, else made (and written) now."""
        path = self._design_path(wave)
        if path is not None and path.exists():
            return np.asarray(json.loads(path.read_text())["u"], float)
        n = int(self.config.waves[wave - 1])
        info: dict = {"wave": wave, "runs": n}
        if wave == 1:
            u = self._sobol(n, 1)
            info["how"] = "scrambled Sobol over the prior box"
        else:
            beta = float(self.config.tempering[wave - 2])
            em, runs_u = self.emulator(list(range(1, wave)), salt=wave, start=self.thetas_of(wave - 1))
            info["thetas"] = em.thetas
            draws, _, diag = sample_posterior(Likelihood(self.fitting, em), self.space.dim, runs_u, beta,
                                              seed=self.config.seed * 1000 + wave, walkers=self.config.walkers,
                                              steps=self.config.steps, burn=self.config.burn,
                                              size=self.config.posterior_size)
            n_explore = int(round(self.config.explore_share * n))
            rng = np.random.default_rng([self.config.seed, wave])
            chosen = draws[rng.choice(len(draws), size=n - n_explore, replace=len(draws) < n - n_explore)]
            u = np.vstack([chosen, self._sobol(n_explore, wave)]) if n_explore else chosen
            info.update(how=f"{n - n_explore} draws of the tempered emulator posterior (beta {beta:g}) and "
                            f"{n_explore} new Sobol points", beta=beta, mcmc=diag)
        info["u"] = u.tolist()
        info["made"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if path is not None:
            from ruralabm.scenarios.outputs import atomic_write_text
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(info))
        return u

    def training_data(self, waves: Sequence[int]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        runs = self.store.runs(waves)
        if not runs:
            raise ParameterError("no finished simulations to fit the emulators to")
        u = np.array([self.space.to_unit(r["values"]) for r in runs])
        Y = {k: np.array([r["stats"].get(k, np.nan) for r in runs], float) for k in self.fitting.emulated_keys()}
        return u, Y

    def thetas_of(self, wave: int) -> dict | None:
        """The emulator hyperparameters fitted for a wave's design (warm start of the next fit)."""
        path = self._design_path(wave)
        if path is None or not path.exists():
            return None
        return json.loads(path.read_text()).get("thetas")

    def emulator(self, waves: Sequence[int], salt: int = 0, start: dict | None = None) -> tuple[emu.Emulator, np.ndarray]:
        u, Y = self.training_data(waves)
        t0 = time.perf_counter()
        em = emu.fit(u, Y, self.executor, seed=self.config.seed + salt, start=start)
        self.log(f"emulators of {len(Y)} statistics fitted on {len(u)} runs ({time.perf_counter() - t0:.0f} s)")
        return em, u

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> dict:
        t0 = time.perf_counter()
        cfg = self.config
        total = sum(cfg.waves) + cfg.ppc_draws
        done = sum(1 for k in self.store.data if self.store.has(*k))
        ppc_store = SimStore(self.out / PPC if self.out else None)
        done += sum(1 for k in ppc_store.data if ppc_store.has(*k))
        bar = progress_bar(total, "bayes calibration", self.progress)
        bar.update(min(done, total))
        keys = self.fitting.emulated_keys()
        try:
            for wave in range(1, len(cfg.waves) + 1):
                u = self.design(wave)
                points = [self.space.to_params(row) for row in u]
                self.failures += run_points(self.store, wave, points, keys, self.settings, cfg.seed, self.executor, bar)
                self.log(f"wave {wave}: {len(points)} runs")
            post, diag, em_info = self.final_posterior()
            # Posterior predictive runs: the first ppc_draws of a seeded permutation of the sample.
            order = np.random.default_rng([cfg.seed, 0]).permutation(len(post))[:cfg.ppc_draws]
            ppc_points = [{n: float(post.iloc[i][n]) for n in self.space.names} for i in order]
            self.failures += run_points(ppc_store, 0, ppc_points, self.fitting.all_keys(), self.settings, cfg.seed,
                                        self.executor, bar)
        finally:
            bar.close()
        result = {
            "method": "GP emulators (scikit-learn) + tempered waves + emcee posterior; quasi-likelihood of the "
                      "indirect-inference distance (calibration/bayes.py)",
            "parameters": [{"name": n, "low": float(lo), "high": float(hi), "prior": "uniform"}
                           for n, lo, hi in zip(self.space.names, self.space.low, self.space.high)],
            "map": {n: float(post.loc[post["loglik"].idxmax(), n]) for n in self.space.names},
            "median": {n: float(post[n].median()) for n in self.space.names},
            "simulations": len(self.store.runs(range(1, len(cfg.waves) + 1))),
            "ppc_simulations": len(ppc_store.runs([0])), "ppc_index": [int(i) for i in order],
            "failures": self.failures, "mcmc": diag,
            "emulator": em_info,
            "wall_seconds_last_segment": time.perf_counter() - t0,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if self.out is not None:
            from ruralabm.scenarios.outputs import atomic_write_text
            atomic_write_text(self.out / RESULT, json.dumps(result, indent=2))
        self.posterior, self.result = post, result
        return result

    def final_posterior(self) -> tuple[pd.DataFrame, dict, dict]:
        """The posterior sample after the last wave: read if stored (a resume after it was drawn),
        else drawn now and stored before the predictive runs start."""
        cfg = self.config
        meta_path = self.out / WAVES / "posterior-mcmc.json" if self.out else None
        if meta_path is not None and meta_path.exists() and (self.out / POSTERIOR).exists():
            meta = json.loads(meta_path.read_text())
            return pd.read_parquet(self.out / POSTERIOR), meta["mcmc"], meta["emulator"]
        em, runs_u = self.final_emulator()
        draws, ll, diag = sample_posterior(Likelihood(self.fitting, em), self.space.dim, runs_u, 1.0,
                                           seed=cfg.seed * 1000 + 99, walkers=cfg.walkers, steps=cfg.steps,
                                           burn=cfg.burn, size=cfg.posterior_size)
        post = self.posterior_frame(draws, ll)
        em_info = {"conditioning_runs": em.n_train, "nugget_sd": dict(zip(em.keys, np.sqrt(em.nuggets()).tolist())),
                   "length_scales": {k: em.stats[k].length_scales.tolist() for k in em.keys}}
        self.em = em
        if self.out is not None:
            import io

            from ruralabm.scenarios.outputs import atomic_write_bytes, atomic_write_text
            buf = io.BytesIO()
            post.to_parquet(buf, index=False)
            atomic_write_bytes(self.out / POSTERIOR, buf.getvalue())
            (self.out / WAVES).mkdir(parents=True, exist_ok=True)
            atomic_write_text(meta_path, json.dumps({"mcmc": diag, "emulator": em_info}))
        return post, diag, em_info

    def final_emulator(self) -> tuple[emu.Emulator, np.ndarray]:
        """The emulators on every wave's runs (deterministic: the same start and seed each time,
        so they are fitted once per calibration object; the recovery and the report share them)."""
        if self._final_emulator is None:
            n = len(self.config.waves)
            self._final_emulator = self.emulator(list(range(1, n + 1)), salt=99, start=self.thetas_of(n))
        return self._final_emulator

    def posterior_frame(self, draws: np.ndarray, ll: np.ndarray) -> pd.DataFrame:
        x = self.space.low + draws * (self.space.high - self.space.low)
        frame = pd.DataFrame(x, columns=self.space.names)
        frame.insert(0, "draw", np.arange(len(frame)))
        frame["loglik"] = ll
        return frame


# ---------------------------------------------------------------------------------------------
# Starting, resuming, loading


RESUMABLE = ("params", "targets", "waves", "tempering", "seed", "settings", "explore_share", "walkers", "steps", "burn",
             "posterior_size", "ppc_draws")


def read_config(out: Path, what: str = "--resume") -> BayesConfig:
    out = Path(out)
    if not out.is_dir():
        raise ParameterError(f"{what} {out}: no such directory (give the --out of `ruralabm {COMMAND}`)")
    path = out / CONFIG
    if not path.exists():
        raise ParameterError(f"{what} {out}: no {CONFIG} there (not a Bayesian calibration directory)")
    try:
        cfg = BayesConfig.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, UnicodeDecodeError):
        raise ParameterError(f"{path} is corrupted (not a Bayesian calibration configuration); {out / SIMS} is "
                             "intact: rerun the original command with a new --out and copy it there to reuse "
                             "the simulations") from None
    return cfg


def start(config: BayesConfig | None, out: Path | None, executor, *, resume: Path | None = None, progress: bool = True,
          overwrite: bool = False, log=print, requested: dict | None = None) -> BayesCalibration:
    """Create (or resume) a Bayesian calibration in ``out`` and run it. A resume takes every setting
    from the directory; ``requested`` settings that differ are refused."""
    from ruralabm.scenarios.outputs import atomic_write_text, claim, clear, record

    if resume is not None:
        out = Path(resume)
        claim(out, COMMAND, None, resume=True, what="--resume")
        config = read_config(out)
        extended = extension(config, requested or {}, out)
        if extended is not None:
            config = _extend(out, config, extended, log)
    else:
        assert config is not None
        config.check()
        if out is not None:
            out = Path(out)
            owned = {k: getattr(config, k) for k in RESUMABLE}
            mode = claim(out, COMMAND, owned, overwrite=overwrite)
            if mode == "same" and (out / CONFIG).exists():
                raise ParameterError(f"--out {out} already holds this Bayesian calibration; use --resume {out} to "
                                     "continue it, or --overwrite to start again")
            if mode == "overwrite":
                clear(out)
            out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out / CONFIG, json.dumps(asdict(config), indent=2))
            record(out, COMMAND, owned)
    cal = BayesCalibration(config, out, executor, progress=progress, log=log)
    cal.run()
    return cal


EXTENSIBLE = ("waves", "tempering", "ppc_draws")


def extension(config: BayesConfig, requested: dict, out: Path) -> BayesConfig | None:
    """The stored configuration extended by a resume's ``requested`` settings, or None if it asks
    for nothing new. A resume may add waves (the stored ones first, unchanged; each added wave's
    tempering defaults to 1, the posterior itself) and raise ``ppc_draws`` (the predictive runs
    are the first ``ppc_draws`` of one seeded permutation of the sample, so the stored runs stay
    the first ones). Any other difference is refused, as is a shrinking one."""
    diffs = [k for k, v in requested.items() if k in RESUMABLE and getattr(config, k) != v]
    if not diffs:
        return None
    fixed = [k for k in diffs if k not in EXTENSIBLE]
    if fixed:
        raise ParameterError(f"--resume {out}: a resume takes its settings from {CONFIG}; {', '.join(fixed)} "
                             "differ from the stored calibration (give only --resume, or use a new --out; a "
                             "resume may only add --waves and raise --ppc-draws)")
    new = BayesConfig(**asdict(config))
    waves = [int(n) for n in requested.get("waves", config.waves)]
    n_old = len(config.waves)
    if len(waves) < n_old or waves[:n_old] != [int(n) for n in config.waves]:
        raise ParameterError(f"--resume {out} --waves {','.join(map(str, waves))}: the stored waves "
                             f"{','.join(map(str, config.waves))} must come first, unchanged (a resume can only "
                             "add waves)")
    new.waves = waves
    added = len(waves) - n_old
    tempering = [float(b) for b in requested.get("tempering", list(config.tempering) + [1.0] * added)]
    if tempering[:len(config.tempering)] != [float(b) for b in config.tempering]:
        raise ParameterError(f"--resume {out} --tempering {','.join(f'{b:g}' for b in tempering)}: the stored "
                             f"values {','.join(f'{b:g}' for b in config.tempering)} must come first, unchanged")
    new.tempering = tempering
    ppc = int(requested.get("ppc_draws", config.ppc_draws))
    if ppc < config.ppc_draws:
        raise ParameterError(f"--resume {out} --ppc-draws {ppc}: below the stored {config.ppc_draws} (a resume "
                             "can only add posterior predictive runs)")
    new.ppc_draws = ppc
    new.check()
    return new


def _extend(out: Path, old: BayesConfig, new: BayesConfig, log) -> BayesConfig:
    """Write the extended configuration. Added waves change the posterior, so everything drawn
    from the old one (the posterior sample, its predictive runs, the result and the reports) moves
    to ``superseded/waves-<n>/``: kept, never deleted, and never read again."""
    from ruralabm.scenarios.outputs import atomic_write_text, record

    if len(new.waves) > len(old.waves):
        keep = out / "superseded" / f"waves-{len(old.waves)}"
        if keep.exists():
            raise ParameterError(f"--resume {out}: {keep} exists already (an earlier extension from "
                                 f"{len(old.waves)} waves); move it away first")
        moved = [out / POSTERIOR, out / RESULT, out / PPC, out / WAVES / "posterior-mcmc.json", out / "fit.csv",
                 out / "report.md", out / "posterior_summary.csv", out / "identification.csv",
                 out / "recovery.csv", out / "figures"]
        for path in moved:
            if path.exists():
                keep.mkdir(parents=True, exist_ok=True)
                path.rename(keep / path.name)
        if log:
            log(f"extending {len(old.waves)} waves to {len(new.waves)}: the old posterior and its predictive runs "
                f"moved to {keep}")
    atomic_write_text(out / CONFIG, json.dumps(asdict(new), indent=2))
    record(out, COMMAND, {k: getattr(new, k) for k in RESUMABLE})
    return new


def make_config(params: Sequence[str] | None = None, targets: str | None = None, waves: Sequence[int] | None = None,
                tempering: Sequence[float] | None = None, seed: int = 2026, settings_overrides: dict | None = None,
                **kw) -> BayesConfig:
    tg = Targets.load(targets)
    cfg = BayesConfig(params=list(params or BAYES_PARAMS), targets=str(Path(tg.path).resolve()),
                      waves=[int(n) for n in (waves or DEFAULT_WAVES)],
                      tempering=[float(b) for b in (tempering if tempering is not None else
                                                    _default_tempering(len(waves or DEFAULT_WAVES)))],
                      seed=int(seed), settings=settings_from(tg, **(settings_overrides or {})),
                      created=datetime.now(timezone.utc).isoformat(timespec="seconds"), **kw)
    cfg.check()
    return cfg


def _default_tempering(n_waves: int) -> list[float]:
    if n_waves - 1 == len(DEFAULT_TEMPERING):
        return list(DEFAULT_TEMPERING)
    k = n_waves - 1
    return [float(2.0 ** -(k - 1 - i)) for i in range(k)]


def load(out: Path) -> BayesCalibration:
    """A Bayesian calibration directory (finished or not), without an executor."""
    cfg = read_config(Path(out), what="calibration directory")
    return BayesCalibration(cfg, Path(out), executor=None, progress=False, log=None)
