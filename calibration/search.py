"""Global quasi-random search followed by Nelder-Mead refinement, every evaluation stored.

Method (indirect inference / simulated minimum distance):

1. **Global stage** — a scrambled Sobol sequence (``scipy.stats.qmc.Sobol``, seeded) of
   ``global_share x budget`` points in the unit cube of the parameter box, plus the base
   scenario's own values (clipped into the box). Sobol points fill the box evenly in every
   projection, need no model of the objective, and run all at once on the executor. The
   objective is non-smooth in places (nearest-neighbour matching, Cox fits on 76 counties,
   share-of-counties statistics are step functions of the parameters), so gradient-based or
   Gaussian-process surrogates would add little over a space-filling design at this budget.
2. **Local stage** — bounded Nelder-Mead (``scipy.optimize.minimize``) in the unit cube from
   each of the three best *distinct* global points (multi-start: the kinks leave small dents in
   which one start can settle, as the recovery check showed), initial simplex of 0.1 box widths,
   then restarts from the overall best with a halved simplex until the budget of parameter
   vectors is spent. Nelder-Mead needs no derivatives and tolerates the kinks; with common random
   numbers the objective it sees is deterministic. Each objective value needs R replications,
   which run in parallel on the executor.

Budget counts parameter vectors (each costing ``reps`` simulations). Every replication is
appended to ``DIR/evaluations.jsonl`` as it finishes. ``--resume DIR`` reloads the
configuration and the stored evaluations and replays the (deterministic) search: stored
evaluations are reused, so the run continues where it stopped.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ruralabm.model.params import ParameterError
from ruralabm.scenarios import load as load_scenario
from ruralabm.scenarios.executor import progress_bar, replication_seeds

from .objective import (ParamSpace, Targets, current_value, mean_stats, settings_from, simulate_statistics)

CONFIG = "config.json"
EVALS = "evaluations.jsonl"
RESULT = "result.json"


def _key(values: Mapping[str, float], names) -> tuple:
    return tuple(round(float(values[n]), 10) for n in names)


def read_records(path: Path | None):
    """The records of an append-only JSON-lines store, in order. A line cut by an interruption is
    skipped (that run is redone); a missing store has none."""
    if path is None or not path.exists():
        return
    with path.open() as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


@dataclass
class Store:
    """Replications by (parameter vector, replication index); appends to evaluations.jsonl."""

    path: Path | None
    names: list[str]
    data: dict = field(default_factory=dict)  # key -> {rep: stats}
    order: list = field(default_factory=list)  # keys in first-seen order
    meta: dict = field(default_factory=dict)  # key -> {"stage":..., "values":...}

    def load(self) -> None:
        for rec in read_records(self.path):
            self._add(rec, write=False)

    def _add(self, rec: dict, write: bool = True) -> None:
        k = _key(rec["values"], self.names)
        if k not in self.data:
            self.data[k] = {}
            self.order.append(k)
            self.meta[k] = {"stage": rec.get("stage", ""), "values": rec["values"]}
        self.data[k][int(rec["rep"])] = rec["stats"]
        if write and self.path is not None:
            with self.path.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")

    def add(self, values, rep, seed, stats, seconds, stage) -> None:
        self._add({"values": {n: float(values[n]) for n in self.names}, "rep": int(rep), "seed": int(seed),
                   "stage": stage, "stats": stats, "seconds": seconds,
                   "time": datetime.now(timezone.utc).isoformat(timespec="seconds")})

    def missing(self, values, reps: int) -> list[int]:
        """Replications not yet stored (a failed one, stored with empty statistics, is retried)."""
        have = self.data.get(_key(values, self.names), {})
        return [r for r in range(reps) if not have.get(r)]

    def replications(self, values, reps: int) -> list[dict]:
        have = self.data.get(_key(values, self.names), {})
        return [have[r] for r in range(reps) if r in have]


@dataclass
class CalibrationConfig:
    params: list[str]
    targets: str
    budget: int
    reps: int
    seed: int
    settings: dict
    global_share: float = 0.6
    created: str = ""

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, d: dict) -> "CalibrationConfig":
        return cls(**d)


class Calibration:
    """The search. ``evaluate_points`` runs the missing replications of many parameter vectors
    at once on the executor; the objective of a vector is the distance of its replication mean."""

    def __init__(self, config: CalibrationConfig, out: Path | None, executor, progress: bool = True,
                 log: Callable[[str], None] | None = print):
        self.config = config
        self.space = ParamSpace.parse(config.params)
        self.targets = Targets.load(config.targets)
        self.settings = config.settings
        self.keys = sorted(self.targets.needed_keys())
        self.seeds = replication_seeds(config.seed, config.reps)
        self.out = Path(out) if out is not None else None
        self.store = Store(self.out / EVALS if self.out else None, self.space.names)
        self.store.load()
        self.executor = executor
        self.log = log or (lambda s: None)
        self.history: list[dict] = []  # one row per parameter vector visited, in search order
        self._seen: set = set()
        self.progress = progress
        self._bar = None
        self.failures = 0

    # -- evaluation --------------------------------------------------------------------------
    def _task(self, values, rep):
        return {"values": values, "seed": self.seeds[rep], "settings": self.settings, "keys": self.keys}

    def evaluate_points(self, points: list[dict], stage: str) -> list[float]:
        todo = []
        for v in points:
            for r in self.store.missing(v, self.config.reps):
                todo.append((v, r))
        if todo:
            tasks = [self._task(v, r) for v, r in todo]
            for i, outcome in self.executor.run(simulate_statistics, tasks):
                v, r = todo[i]
                if outcome.ok:
                    self.store.add(v, r, self.seeds[r], outcome.value["stats"], outcome.value["seconds"], stage)
                else:
                    self.failures += 1
                    self.store.add(v, r, self.seeds[r], {}, {"error": outcome.error}, stage)
                if self._bar is not None:
                    self._bar.update(1)
        out = []
        for v in points:
            reps = [s for s in self.store.replications(v, self.config.reps) if s]
            j = self.targets.distance(mean_stats(reps)) if reps else math.inf
            k = _key(v, self.space.names)
            if k not in self._seen:
                self._seen.add(k)
                self.history.append({"n": len(self.history), "stage": stage, "J": float(j), **v})
            out.append(float(j))
        return out

    def budget_left(self) -> int:
        return self.config.budget - len(self.history)

    # -- stages ------------------------------------------------------------------------------
    def global_points(self) -> list[dict]:
        from scipy.stats import qmc  # first use: start-up speed

        n = max(1, int(round(self.config.global_share * self.config.budget)) - 1)
        sob = qmc.Sobol(self.space.dim, scramble=True, seed=self.config.seed)
        m = int(math.ceil(math.log2(max(n, 1))))
        u = sob.random_base2(m)[:n]
        base = load_scenario(self.settings["scenario"]).params
        start = {nm: float(np.clip(current_value(base, nm), lo, hi))
                 for nm, lo, hi in zip(self.space.names, self.space.low, self.space.high)}
        return [start] + [self.space.to_params(row) for row in u]

    def run(self) -> dict:
        from scipy.optimize import minimize  # first use: start-up speed

        t0 = time.perf_counter()
        total = self.config.budget * self.config.reps
        done = sum(len(v) for v in self.store.data.values())
        self._bar = progress_bar(total, "calibrating", self.progress) if self.progress else None
        if self._bar is not None:
            self._bar.update(min(done, total))
        pts = self.global_points()
        self.log(f"global stage: {len(pts)} Sobol points x {self.config.reps} replications")
        self.evaluate_points(pts, "global")
        best = min(self.history, key=lambda h: h["J"])
        self.log(f"global best J = {best['J']:.3f}")

        # Local stage: Nelder-Mead from each of the best few *distinct* global points (matching
        # and discrete county exits put small dents in the objective, and one start can settle
        # in a dent next to the basin), then restarts from the overall best with a smaller
        # simplex while they still improve, until the budget is spent.
        cache: dict = {}

        def f(u):
            u = np.clip(u, 0.0, 1.0)
            vals = self.space.to_params(u)
            k = _key(vals, self.space.names)
            if k not in cache:
                if k not in self._seen and self.budget_left() <= 0:
                    raise _BudgetSpent
                cache[k] = self.evaluate_points([vals], "local")[0]
            return cache[k] if np.isfinite(cache[k]) else 1e12

        d = self.space.dim

        def nelder_mead(u0, size, maxfev) -> bool:
            simplex = [u0] + [np.clip(u0 + size * np.eye(d)[i] * (1 if u0[i] <= 1 - size else -1), 0, 1)
                              for i in range(d)]
            try:
                minimize(f, u0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * d,
                         options={"initial_simplex": np.array(simplex), "maxfev": maxfev,
                                  "xatol": 1e-3, "fatol": 1e-3, "adaptive": d > 4})
            except _BudgetSpent:
                return False
            return True

        starts: list[np.ndarray] = []
        for h in sorted(self.history, key=lambda h: h["J"]):
            u = self.space.to_unit(h)
            if all(np.max(np.abs(u - s)) > 0.15 for s in starts):
                starts.append(u)
            if len(starts) == N_STARTS:
                break
        size = 0.1
        for i, u0 in enumerate(starts):
            if self.budget_left() <= 0:
                break
            share = max(d + 2, self.budget_left() // (2 * (len(starts) - i)))
            nelder_mead(u0, size, share)
            self.log(f"Nelder-Mead from start {i + 1}: best J = {min(h['J'] for h in self.history):.3f}")
        for restart in range(4):
            if self.budget_left() <= 0:
                break
            before = min(h["J"] for h in self.history)
            if not nelder_mead(self.space.to_unit(min(self.history, key=lambda h: h["J"])), size,
                               10 * self.config.budget):
                break
            after = min(h["J"] for h in self.history)
            self.log(f"Nelder-Mead restart {restart + 1}: best J = {after:.3f}")
            if after >= before - 1e-9:
                break
            size /= 2
        if self._bar is not None:
            self._bar.close()
        best = min(self.history, key=lambda h: h["J"])
        result = {
            "best": {n: best[n] for n in self.space.names},
            "J": best["J"],
            "best_index": best["n"],
            "best_stage": best["stage"],
            "evaluated_vectors": len(self.history),
            "replications": self.config.reps,
            "seeds": self.seeds,
            "failures": self.failures,
            "wall_seconds": time.perf_counter() - t0,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if self.out is not None:
            import pandas as pd
            pd.DataFrame(self.history).to_csv(self.out / "history.csv", index=False)
            (self.out / RESULT).write_text(json.dumps(result, indent=2))
        return result


N_STARTS = 3  # distinct global points the local stage starts from


class _BudgetSpent(Exception):
    pass


def read_config(out: Path, what: str = "--resume") -> CalibrationConfig:
    """The configuration stored in a calibration directory (one-line errors naming the file)."""
    out = Path(out)
    cfg_path = out / CONFIG
    if not out.is_dir():
        raise ParameterError(f"{what} {out}: no such directory (give the --out of `ruralabm calibrate`)")
    if not cfg_path.exists():
        from ruralabm.scenarios.outputs import read_owner
        owner = read_owner(out)
        held = f"the results of `ruralabm {owner['command']}`" if owner else "no calibration"
        raise ParameterError(f"{what} {out}: no {CONFIG} there; it holds {held} (not a calibration directory)")
    try:
        return CalibrationConfig.from_json(json.loads(cfg_path.read_text()))
    except (OSError, ValueError, TypeError, UnicodeDecodeError):
        n = 0
        if (out / EVALS).exists():
            with (out / EVALS).open() as fh:
                n = sum(1 for line in fh if line.strip())
        raise ParameterError(f"{cfg_path} is corrupted (not a calibration configuration); {out / EVALS} "
                             f"({n} stored replications) is intact: rerun the original calibrate command with a "
                             f"new --out and copy {EVALS} into it to reuse them") from None


RESUMABLE_SETTINGS = ("params", "targets", "reps", "seed", "settings", "global_share")


def start(params: list[str], targets: str | None, budget: int | None, reps: int, seed: int, out: Path | None,
          executor, resume: Path | None = None, progress: bool = True, settings_overrides: dict | None = None,
          global_share: float = 0.6, log=print, requested: dict | None = None, overwrite: bool = False
          ) -> tuple[Calibration, dict]:
    """Create (or resume) a calibration in ``out`` and run it.

    A resume takes every setting from the directory's config.json; ``requested`` (settings given
    explicitly, e.g. on the command line) must agree with it, except a larger ``budget``, which
    extends the calibration (and is logged as such). ``budget`` None or 0 on resume keeps the
    stored budget."""
    from ruralabm.scenarios.outputs import atomic_write_text, claim, clear, record

    if resume is not None:
        out = Path(resume)
        config = read_config(out)
        claim(out, "calibrate", None, resume=True)
        diffs = [k for k, v in (requested or {}).items() if k in RESUMABLE_SETTINGS and getattr(config, k) != v]
        if diffs:
            raise ParameterError(f"--resume {out}: a resume takes its settings from {CONFIG}; "
                                 f"{', '.join(diffs)} differ from the stored calibration (only a larger --budget "
                                 "may be given, to extend it)")
        if budget:
            if budget < config.budget:
                raise ParameterError(f"--resume {out}: --budget {budget} is smaller than the stored budget "
                                     f"{config.budget}; a resume can only extend a calibration")
            if budget > config.budget:
                if log:
                    log(f"extending the calibration from {config.budget} to {budget} parameter vectors")
                config.budget = int(budget)
                atomic_write_text(out / CONFIG, json.dumps(config.to_json(), indent=2))
    else:
        budget = 200 if budget is None else budget
        if budget < 2:
            raise ParameterError(f"--budget = {budget} must be at least 2 parameter vectors")
        if reps < 1:
            raise ParameterError(f"--reps = {reps} must be at least 1")
        if not 0 < global_share <= 1:
            raise ParameterError("global share must be in (0, 1]")
        ParamSpace.parse(params)  # validate before anything runs
        tg = Targets.load(targets)
        settings = settings_from(tg, **(settings_overrides or {}))
        config = CalibrationConfig(params=list(params), targets=str(Path(tg.path).resolve()), budget=int(budget),
                                   reps=int(reps), seed=int(seed), settings=settings, global_share=global_share,
                                   created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        if out is not None:
            out = Path(out)
            from ruralabm.scenarios.outputs import read_owner
            owned = {k: getattr(config, k) for k in RESUMABLE_SETTINGS}
            owner = read_owner(out) if out.is_dir() else None
            if owner is not None and owner["command"] == "calibrate" and not overwrite:
                raise ParameterError(f"--out {out} already holds a calibration; use --resume {out}, another --out, "
                                     "or --overwrite to replace it")
            mode = claim(out, "calibrate", owned, overwrite=overwrite)
            if (out / CONFIG).exists() and mode != "overwrite":
                raise ParameterError(f"--out {out} already holds a calibration; use --resume {out}, another --out, "
                                     "or --overwrite to replace it")
            if mode == "overwrite":
                clear(out)
            out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out / CONFIG, json.dumps(config.to_json(), indent=2))
            record(out, "calibrate", owned)
    cal = Calibration(config, out, executor, progress=progress, log=log)
    result = cal.run()
    return cal, result


def load(out: Path) -> Calibration:
    """A finished (or interrupted) calibration directory, without an executor."""
    out = Path(out)
    config = read_config(out, what="calibration directory")
    return Calibration(config, out, executor=None, progress=False, log=None)
