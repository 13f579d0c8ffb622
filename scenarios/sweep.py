"""``ruralabm sweep``: parameter sweeps and global sensitivity analysis, resumable.

A sweep varies some parameters of one scenario over a design (``grid``, ``lhs`` from
:mod:`scipy.stats.qmc`, ``sobol`` (Saltelli) or ``morris`` from SALib), runs every design point
``--reps`` times and records the requested outputs of each run at ``--year`` (default: the last
simulated year).

Seeds. Replication r of *every* design point uses seed ``SeedSequence(seed).spawn(reps)[r]``
(common random numbers across design points: differences between points are the parameters'
doing, which sharpens sensitivity estimates). The design's own randomness (LHS, Sobol scrambling,
Morris trajectories, bootstrap intervals) is seeded from the same master seed.

Parameters. ``--param section.key=LOW:HIGH``; the range must lie inside the parameter's allowed
domain. A list-valued parameter is swept one entry at a time with ``section.key[i]`` (0-based,
e.g. ``shocks.price_volatility[1]=0.05:0.3``). Boolean switches and the two lists that must sum
to 1 (``policy.form_shares``, ``shocks.disaster_class_probabilities``) cannot be swept: compare
scenarios instead. Integer parameters are rounded to the nearest integer.

Output directory::

    manifest.json          spec (design, parameters, ranges, seeds, outputs...), status of every run
    design.csv             one row per design point: the parameter values
    runs.csv               one row per run: run_id, point, rep, seed
    chunks/chunk-NNNNN.parquet   results of one finished chunk of runs (status, error, outputs)
    results.parquet        all runs (when complete), points.csv (means over replications)
    sensitivity.csv        Sobol S1/ST or Morris mu*/sigma with 95% intervals (or Spearman for grid/lhs)
    figures/*.png, report.md

Chunks are written atomically as they finish; ``--resume DIR`` reads the manifest, checks that
the requested design is the one in DIR, and runs only the chunks that have no file yet. A run
that raises is recorded as failed (status ``failed`` with its error) and the sweep goes on;
it is not retried on resume.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ruralabm.model.params import ParameterError, Params, parameter_spec

from . import load
from .outputs import atomic_write_text, claim, clear, read_owner, record, staged
from .provenance import environment, git_commit, package_version
from .executor import SerialExecutor, progress_bar, replication_seeds
from .report import markdown_table, sweep_figures
from .runner import METRICS, resolve_metric, summarise_run

DESIGNS = ("grid", "lhs", "sobol", "morris")
DEFAULT_OUTPUTS = ("poverty_national", "resilience")
SUM_TO_ONE = ("policy.form_shares", "shocks.disaster_class_probabilities")
MORRIS_LEVELS = 4
FORMAT = 1
SPEC_KEYS = ("scenario", "base_params", "params", "design", "samples", "reps", "seed", "outputs", "year", "chunk_size")


# ---------------------------------------------------------------------------------------------
# Parameters and designs


@dataclass(frozen=True)
class ParamRange:
    name: str  # as written: section.key or section.key[i]
    key: str  # section.key
    index: int | None
    low: float
    high: float
    integer: bool

    def to_dict(self) -> dict:
        return {"name": self.name, "low": self.low, "high": self.high, "integer": self.integer}


_PARAM_RE = re.compile(r"^\s*([A-Za-z_][\w]*\.[A-Za-z_][\w]*)(?:\[(\d+)\])?\s*=\s*([^:]+):([^:]+)\s*$")


def parse_param(text: str) -> ParamRange:
    """Parse and validate ``section.key=LOW:HIGH`` or ``section.key[i]=LOW:HIGH``."""
    m = _PARAM_RE.match(text)
    if not m:
        raise ParameterError(f"--param '{text}' must look like section.key=LOW:HIGH, "
                             "e.g. shocks.disaster_probability=0.05:0.3")
    key, idx, lo_text, hi_text = m.group(1), m.group(2), m.group(3), m.group(4)
    spec = parameter_spec(key)  # unknown names raise with the valid choices
    try:
        low, high = float(lo_text), float(hi_text)
    except ValueError:
        raise ParameterError(f"--param '{text}': LOW and HIGH must be numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise ParameterError(f"--param '{text}': need finite LOW < HIGH")
    kind = spec["type"]
    if kind == "bool":
        raise ParameterError(f"--param {key} is a true/false switch and cannot be swept; "
                             "compare scenarios instead (ruralabm compare --scenarios ...)")
    if kind == "list":
        if key in SUM_TO_ONE:
            raise ParameterError(f"--param {key} must sum to 1 and cannot be swept entry by entry; "
                                 "compare scenarios instead (e.g. vertical_chain, agritourism)")
        n = len(spec["default"])
        if idx is None:
            raise ParameterError(f"--param {key} is a list of {n} values; sweep one entry with {key}[i], i in 0..{n - 1}")
        if int(idx) >= n:
            raise ParameterError(f"--param {key}[{idx}]: index out of range; {key} has entries 0..{n - 1}")
    elif idx is not None:
        raise ParameterError(f"--param {key} is not a list; write {key}=LOW:HIGH")
    lo_ok, hi_ok = spec["low"], spec["high"]
    if (lo_ok is not None and low < lo_ok) or (hi_ok is not None and high > hi_ok):
        raise ParameterError(f"--param {text.strip()}: range is outside the allowed domain of {key}, "
                             f"[{lo_ok:g}, {hi_ok:g}] ({spec['unit']})")
    integer = kind == "int"
    name = key if idx is None else f"{key}[{int(idx)}]"
    return ParamRange(name, key, None if idx is None else int(idx), low, high, integer)


def _design_seed(master: int) -> int:
    return int(np.random.SeedSequence([int(master), 1]).generate_state(1, dtype=np.uint32)[0])


def design_size(design: str, samples: int, k: int) -> int:
    return {"grid": samples ** k, "lhs": samples, "sobol": samples * (k + 2), "morris": samples * (k + 1)}[design]


def build_design(ranges: Sequence[ParamRange], design: str, samples: int, seed: int) -> np.ndarray:
    """Design points (rows) x parameters (columns), in the order SALib's analysis expects."""
    k = len(ranges)
    lows = np.array([r.low for r in ranges])
    highs = np.array([r.high for r in ranges])
    problem = {"num_vars": k, "names": [r.name for r in ranges], "bounds": [[r.low, r.high] for r in ranges]}
    dseed = _design_seed(seed)
    if design == "grid":
        levels = [np.linspace(r.low, r.high, samples) for r in ranges]
        X = np.array(list(itertools.product(*levels)), dtype=float).reshape(-1, k)
    elif design == "lhs":
        from scipy.stats import qmc
        X = qmc.scale(qmc.LatinHypercube(d=k, seed=np.random.default_rng(dseed)).random(samples), lows, highs)
    elif design == "sobol":
        import warnings

        from SALib.sample import sobol
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X = sobol.sample(problem, samples, calc_second_order=False, seed=dseed)
    elif design == "morris":
        from SALib.sample import morris
        X = morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=dseed)
    else:  # pragma: no cover - validated before
        raise ParameterError(f"unknown design '{design}'; choose one of {', '.join(DESIGNS)}")
    X = np.asarray(X, dtype=float)
    for j, r in enumerate(ranges):
        if r.integer:
            X[:, j] = np.round(X[:, j])
    return X


# ---------------------------------------------------------------------------------------------
# The task run on workers


def apply_values(params: Params, ranges: Sequence[dict], values: Sequence[float]) -> Params:
    """Set the swept values all at once (cross-field checks see the whole design point)."""
    return params.set_many((r["name"], int(round(v)) if r["integer"] and not r["name"].endswith("]") else float(v))
                           for r, v in zip(ranges, values))


def sweep_task(task: dict) -> dict:
    """Executor task: one design point, one replication -> {output: value}."""
    params = apply_values(Params.from_dict(task["params"]), task["ranges"], task["values"])
    out = summarise_run(params, task["seed"], years_of_interest=[task["year"]], metrics=task["outputs"])
    m = out["metrics"]
    values = {}
    for name in task["outputs"]:
        row = m[m["metric"] == name]
        values[name] = float(row["value"].iloc[0]) if len(row) else math.nan
    return values


# ---------------------------------------------------------------------------------------------
# The sweep on disk


_atomic_write = atomic_write_text


class Sweep:
    """A sweep directory: its spec, design, run table and finished chunks."""

    def __init__(self, out: Path, spec: dict):
        self.out = Path(out)
        self.spec = spec
        self.ranges = [ParamRange(p["name"], re.sub(r"\[\d+\]$", "", p["name"]),
                                  (int(re.search(r"\[(\d+)\]$", p["name"]).group(1)) if p["name"].endswith("]") else None),
                                  p["low"], p["high"], p["integer"]) for p in spec["params"]]
        self.X = build_design(self.ranges, spec["design"], spec["samples"], spec["seed"])
        self.seeds = replication_seeds(spec["seed"], spec["reps"])
        self.n_points = len(self.X)
        self.n_runs = self.n_points * spec["reps"]
        self.chunk_size = spec["chunk_size"]
        self.n_chunks = math.ceil(self.n_runs / self.chunk_size)
        self._chunk_failures: dict[int, dict[int, str]] = {}
        self._valid: dict[int, tuple[int, int]] = {}  # chunk -> (mtime, size) when checked complete

    # layout
    @property
    def manifest_path(self) -> Path:
        return self.out / "manifest.json"

    @property
    def chunk_dir(self) -> Path:
        return self.out / "chunks"

    def chunk_path(self, k: int) -> Path:
        return self.chunk_dir / f"chunk-{k:05d}.parquet"

    def chunk_runs(self, k: int) -> range:
        return range(k * self.chunk_size, min((k + 1) * self.chunk_size, self.n_runs))

    def run_point_rep(self, run_id: int) -> tuple[int, int]:
        return divmod(run_id, self.spec["reps"])

    def design_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.X, columns=[r.name for r in self.ranges])
        df.insert(0, "point", np.arange(self.n_points))
        return df

    def runs_frame(self) -> pd.DataFrame:
        ids = np.arange(self.n_runs)
        point, rep = np.divmod(ids, self.spec["reps"])
        return pd.DataFrame({"run_id": ids, "point": point, "rep": rep, "seed": np.asarray(self.seeds, np.int64)[rep],
                             "chunk": ids // self.chunk_size})

    def done_chunks(self) -> set[int]:
        """Chunks whose file exists and is complete: a Parquet file with one row per run of the
        chunk and the columns of the manifest's spec. A truncated or foreign file is not done
        (it is redone, and replaced, by :meth:`run`)."""
        done = set()
        for k in range(self.n_chunks):
            if self.chunk_path(k).exists() and self._chunk_valid(k):
                done.add(k)
        return done

    def expected_columns(self) -> list[str]:
        return (["run_id", "point", "rep", "seed", "status", "error"] + [r.name for r in self.ranges]
                + list(self.spec["outputs"]))

    def _chunk_valid(self, k: int) -> bool:
        path = self.chunk_path(k)
        try:
            stamp = path.stat().st_mtime_ns, path.stat().st_size
        except OSError:
            return False
        if self._valid.get(k) == stamp:
            return True
        try:
            import pyarrow.parquet as pq
            meta = pq.read_metadata(path)
            names = set(meta.schema.names)
            ok = meta.num_rows == len(self.chunk_runs(k)) and set(self.expected_columns()) <= names
            if ok:
                ids = pq.read_table(path, columns=["run_id"]).column("run_id").to_pylist()
                ok = ids == list(self.chunk_runs(k))
        except Exception:  # noqa: BLE001 - truncated, garbage or unreadable: redo the chunk
            ok = False
        if ok:
            self._valid[k] = stamp
        else:
            self._valid.pop(k, None)
            self._chunk_failures.pop(k, None)
        return ok

    def task(self, run_id: int) -> dict:
        point, rep = self.run_point_rep(run_id)
        return {"params": self.spec["base_params"], "ranges": self.spec["params"], "values": self.X[point].tolist(),
                "seed": self.seeds[rep], "outputs": self.spec["outputs"], "year": self.spec["year"]}

    # writing
    def initialise(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.chunk_dir.mkdir(exist_ok=True)
        self.design_frame().to_csv(self.out / "design.csv", index=False)
        self.runs_frame().drop(columns="chunk").to_csv(self.out / "runs.csv", index=False)
        self.write_manifest(created=True)
        record(self.out, "sweep", self.spec)

    def write_manifest(self, created: bool = False) -> dict:
        done = self.done_chunks()
        status = np.full(self.n_runs, "pending", dtype=object)
        failed = {}
        for k in sorted(done):
            status[list(self.chunk_runs(k))] = "ok"
            if k not in self._chunk_failures:  # read once (chunks written by an earlier process)
                df = pd.read_parquet(self.chunk_path(k), columns=["run_id", "status", "error"])
                bad = df[df["status"] != "ok"]
                self._chunk_failures[k] = {int(r): e for r, e in zip(bad["run_id"], bad["error"])}
            for rid, err in self._chunk_failures[k].items():
                status[rid] = "failed"
                failed[str(rid)] = err
        old = {}
        if not created and self.manifest_path.exists():
            try:
                old = json.loads(self.manifest_path.read_text())
            except (OSError, ValueError):
                old = {}
        counts = {s: int((status == s).sum()) for s in ("ok", "failed", "pending")}
        manifest = {
            "kind": "ruralabm-sweep",
            "format": FORMAT,
            "spec": self.spec,
            "n_points": self.n_points,
            "n_runs": self.n_runs,
            "replication_seeds": self.seeds,
            "chunk_size": self.chunk_size,
            "n_chunks": self.n_chunks,
            "chunks_done": sorted(done),
            "counts": counts,
            "complete": counts["pending"] == 0,
            "failed_runs": failed,
            # one letter per run, by run_id: o = ok, f = failed (error in failed_runs), p = pending
            "run_status": "".join(x[0] for x in status),
            "run_status_legend": {"o": "ok", "f": "failed", "p": "pending"},
            "created": old.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "package_version": package_version(),
            "git_commit": old.get("git_commit") or git_commit(),
            "environment": old.get("environment") or environment(),
        }
        _atomic_write(self.manifest_path, json.dumps(manifest, indent=1))
        return manifest

    def write_chunk(self, k: int, rows: dict[int, dict]) -> None:
        df = pd.DataFrame([rows[r] for r in self.chunk_runs(k)])
        self._chunk_failures[k] = {int(r["run_id"]): r["error"] for r in rows.values() if r["status"] != "ok"}
        tmp = self.chunk_dir / f".chunk-{k:05d}.{os.getpid()}.tmp"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, self.chunk_path(k))

    def row(self, run_id: int, outcome) -> dict:
        point, rep = self.run_point_rep(run_id)
        row = {"run_id": run_id, "point": point, "rep": rep, "seed": self.seeds[rep],
               "status": "ok" if outcome.ok else "failed", "error": None if outcome.ok else outcome.error}
        for r, v in zip(self.ranges, self.X[point]):
            row[r.name] = float(v)
        for name in self.spec["outputs"]:
            row[name] = float(outcome.value[name]) if outcome.ok else math.nan
        return row

    # running
    def run(self, executor, progress: bool = True, on_chunk=None) -> dict:
        """Run every chunk without a file; write each chunk as soon as all its runs are done."""
        done = self.done_chunks()
        todo = [k for k in range(self.n_chunks) if k not in done]
        run_ids = [r for k in todo for r in self.chunk_runs(k)]
        remaining = {k: len(self.chunk_runs(k)) for k in todo}
        partial: dict[int, dict[int, dict]] = {k: {} for k in todo}
        bar = progress_bar(len(run_ids), "sweep", progress)
        try:
            for i, outcome in executor.run(sweep_task, [self.task(r) for r in run_ids]):
                rid = run_ids[i]
                k = rid // self.chunk_size
                partial[k][rid] = self.row(rid, outcome)
                remaining[k] -= 1
                bar.update(1)
                if remaining[k] == 0:
                    self.write_chunk(k, partial.pop(k))
                    self.write_manifest()
                    if on_chunk is not None:
                        on_chunk(k)
        finally:
            bar.close()
        return self.write_manifest()

    def results(self) -> pd.DataFrame:
        frames = [pd.read_parquet(self.chunk_path(k)) for k in sorted(self.done_chunks())]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True).sort_values("run_id").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Analysis


def point_means(sweep: Sweep, results: pd.DataFrame) -> pd.DataFrame:
    ok = results[results["status"] == "ok"]
    means = ok.groupby("point")[sweep.spec["outputs"]].mean().reindex(range(sweep.n_points))
    means.insert(0, "n_ok", ok.groupby("point").size().reindex(range(sweep.n_points), fill_value=0))
    return sweep.design_frame().set_index("point").join(means).reset_index()


def sensitivity(sweep: Sweep, means: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Sensitivity indices per output and parameter; notes explain anything not computed."""
    spec = sweep.spec
    problem = {"num_vars": len(sweep.ranges), "names": [r.name for r in sweep.ranges],
               "bounds": [[r.low, r.high] for r in sweep.ranges]}
    rows, notes = [], []
    bseed = _design_seed(spec["seed"]) + 1
    for out in spec["outputs"]:
        Y = means[out].to_numpy(float)
        if not np.isfinite(Y).all():
            notes.append(f"{out}: not computed, {int((~np.isfinite(Y)).sum())} design point(s) have no value "
                         "(failed runs, or an undefined output such as a median exit date not reached)")
            continue
        if spec["design"] == "sobol":
            from SALib.analyze import sobol
            res = sobol.analyze(problem, Y, calc_second_order=False, conf_level=0.95, seed=bseed)
            for j, name in enumerate(problem["names"]):
                rows.append({"output": out, "parameter": name, "S1": res["S1"][j], "S1_conf": res["S1_conf"][j],
                             "ST": res["ST"][j], "ST_conf": res["ST_conf"][j]})
        elif spec["design"] == "morris":
            from SALib.analyze import morris
            res = morris.analyze(problem, sweep.X, Y, conf_level=0.95, num_levels=MORRIS_LEVELS, seed=bseed)
            for j, name in enumerate(problem["names"]):
                rows.append({"output": out, "parameter": name, "mu": res["mu"][j], "mu_star": res["mu_star"][j],
                             "sigma": res["sigma"][j], "mu_star_conf": res["mu_star_conf"][j]})
        else:
            from scipy.stats import spearmanr
            for j, name in enumerate(problem["names"]):
                x = sweep.X[:, j]
                rho = spearmanr(x, Y).statistic if np.ptp(x) > 0 and np.ptp(Y) > 0 else math.nan
                rows.append({"output": out, "parameter": name, "spearman": float(rho)})
    return pd.DataFrame(rows), notes


def finish(sweep: Sweep) -> list[Path]:
    """Results, point means, sensitivity indices, figures and report (when all chunks are done)."""
    results = sweep.results()
    means = point_means(sweep, results)
    indices, notes = sensitivity(sweep, means)
    notes = design_notes(sweep.spec) + notes
    with staged(sweep.out) as tmp:  # written aside, renamed into place when all are written
        results.to_parquet(tmp / "results.parquet", index=False)
        means.to_csv(tmp / "points.csv", index=False)
        indices.to_csv(tmp / "sensitivity.csv", index=False)
        figs = sweep_figures(sweep.design_frame(), means,
                             indices if sweep.spec["design"] in ("sobol", "morris") else None, sweep.spec, tmp / "figures")
        (tmp / "report.md").write_text(sweep_report(sweep, results, indices, notes, figs))
    figs = [sweep.out / "figures" / f.name for f in figs]
    return [sweep.out / f for f in ("results.parquet", "points.csv", "sensitivity.csv", "report.md")] + figs


def invalid_design_points(spec: dict) -> list[tuple[int, str]]:
    """Design points that are not a valid parameter set (a cross-field check fails, e.g. more
    villages than households, regional shares above 1): ``(point, error)``. Their runs are
    recorded as failed; a design with no valid point is refused before anything runs."""
    sweep = Sweep(Path("."), spec)
    base = Params.from_dict(spec["base_params"])
    bad = []
    for i, x in enumerate(sweep.X):
        try:
            apply_values(base.copy(), spec["params"], x)
        except ParameterError as exc:
            bad.append((i, str(exc)))
    return bad


def design_notes(spec: dict, invalid: list[tuple[int, str]] | None = None) -> list[str]:
    """Warnings about designs too small to give meaningful indices, or with design points that are
    not valid parameter sets (printed and in the report)."""
    k = len(spec["params"])
    n = spec["samples"]
    notes = []
    invalid = invalid_design_points(spec) if invalid is None else invalid
    if invalid:
        n_points = design_size(spec["design"], n, k)
        notes.append(f"warning: {len(invalid)} of {n_points} design points are not valid parameter sets (e.g. point "
                     f"{invalid[0][0]}: {invalid[0][1]}); their runs are recorded as failed")
    if spec["design"] == "sobol" and n < 64:
        notes.append(f"warning: Sobol with --samples {n} (N = {n}, {n * (k + 2)} points): the indices and their "
                     "bootstrap intervals are not meaningful below N = 64 or so (use a power of 2, 256 or more "
                     "for stable total indices)")
    if spec["design"] == "sobol" and n & (n - 1):
        notes.append(f"warning: Sobol with --samples {n}, not a power of 2: the Saltelli sequence loses its balance")
    if spec["design"] == "morris" and n < 4:
        notes.append(f"warning: Morris with {n} trajectories: mu* and sigma need about 10 or more to be meaningful")
    if spec["design"] in ("lhs", "grid") and design_size(spec["design"], n, k) < 5:
        notes.append(f"warning: only {design_size(spec['design'], n, k)} design points: rank correlations are "
                     "not meaningful below 5 or so")
    return notes


def sweep_report(sweep: Sweep, results: pd.DataFrame, indices: pd.DataFrame, notes: list[str], figs) -> str:
    s = sweep.spec
    failed = results[results["status"] != "ok"]
    lines = [f"# Sweep of scenario `{s['scenario']}` ({s['design']} design)", "",
             f"- {sweep.n_points} design points x {s['reps']} replications = {sweep.n_runs} runs; "
             f"{len(failed)} failed; outputs at year {s['year']}; master seed {s['seed']}.",
             f"- Base scenario: {s['base_params']['population']['n_households']:,} households, "
             f"years {s['base_params']['calendar']['start_year']}-{s['base_params']['calendar']['end_year']}"
             f" (swept parameters below override these).",
             "", "| parameter | low | high |", "|---|---|---|",
             *[f"| `{p['name']}` | {p['low']:g} | {p['high']:g} |" for p in s["params"]], ""]
    if not indices.empty:
        shown = indices.copy()
        for c in shown.columns:
            if shown[c].dtype.kind == "f":
                shown[c] = shown[c].map(lambda v: f"{v:.3g}")
        title = {"sobol": "Sobol indices (first order S1, total ST; 95% bootstrap half-widths)",
                 "morris": "Morris elementary effects (mu*, sigma; 95% bootstrap half-width of mu*)"}.get(
            s["design"], "Spearman rank correlation of each output with each parameter")
        lines += [f"## {title}", "", markdown_table(shown), ""]
    for n in notes:
        lines.append(f"- {n}")
    if len(failed):
        lines += ["", "## Failed runs", "", f"{len(failed)} run(s) raised; first errors:", ""]
        for _, r in failed.head(5).iterrows():
            lines.append(f"- run {r['run_id']} (point {r['point']}, rep {r['rep']}): {r['error']}")
    lines += ["", "## Figures", ""] + [f"![{f.stem}](figures/{f.name})" for f in figs]
    lines += ["", "Files: `results.parquet` (every run), `points.csv` (means over replications), `sensitivity.csv`, "
              "`design.csv`, `runs.csv`, `manifest.json`.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Spec from the command line


def make_spec(scenario: str, param_texts: Sequence[str], *, design: str = "lhs", samples: int = 16, reps: int = 2,
              seed: int = 0, outputs: Sequence[str] = DEFAULT_OUTPUTS, year: int | None = None,
              households: int | None = None, years: int | None = None, overrides: Sequence[str] = (),
              chunk_size: int | None = None) -> dict:
    """Validate everything and return the JSON spec of a sweep (raises ParameterError)."""
    if design not in DESIGNS:
        raise ParameterError(f"unknown design '{design}'; choose one of: {', '.join(DESIGNS)}")
    if not param_texts:
        raise ParameterError("give at least one --param section.key=LOW:HIGH")
    ranges = [parse_param(t) for t in param_texts]
    names = [r.name for r in ranges]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParameterError(f"--param {', '.join(dup)} given more than once")
    fixed = sorted(set(names) & {str(o).partition("=")[0].strip() for o in overrides})
    if fixed:
        raise ParameterError(f"--set {', '.join(fixed)} contradicts --param {', '.join(fixed)}, which sweeps it; "
                             "give one of them")
    outs = []
    for o in outputs:
        c = resolve_metric(o)
        if c not in outs:
            outs.append(c)
    if samples < 1 or reps < 1:
        raise ParameterError("--samples and --reps must be at least 1")
    if design == "grid" and samples < 2:
        raise ParameterError("--samples for a grid is the number of levels per parameter: at least 2")
    if design == "morris" and samples < 2:
        raise ParameterError("--samples for morris is the number of trajectories: at least 2")
    sc = load(scenario, list(overrides))
    if households is not None:
        sc.params.set("population.n_households", households)
    if years is not None:
        sc.params.set("calendar.end_year", sc.params.calendar.start_year + years - 1)
    # every point must be a valid parameter set at its corners for the single-key checks
    c = sc.params.calendar
    year = c.end_year if year is None else int(year)
    if not c.start_year <= year <= c.end_year:
        raise ParameterError(f"--year {year} is not simulated; simulated years are {c.start_year}-{c.end_year}")
    n_points = design_size(design, samples, len(ranges))
    n_runs = n_points * reps
    if chunk_size is None:
        chunk_size = max(reps, min(64, math.ceil(n_runs / 50)))
    if chunk_size < 1:
        raise ParameterError("--chunk-size must be at least 1")
    return {"scenario": sc.name, "scenario_source": sc.source, "overrides": list(overrides),
            "base_params": json.loads(json.dumps(sc.params.to_dict())), "params": [r.to_dict() for r in ranges],
            "design": design,
            "samples": int(samples), "reps": int(reps), "seed": int(seed), "outputs": outs, "year": year,
            "chunk_size": int(chunk_size)}


def _differences(stored: dict, requested: dict) -> list[str]:
    diffs = []
    for key in SPEC_KEYS:
        if key in requested and stored.get(key) != requested[key]:
            if key == "base_params":
                diffs.append("scenario parameters (scenario file, --set, --households or --years)")
            else:
                diffs.append(f"{key} = {json.dumps(stored.get(key))} there, {json.dumps(requested[key])} requested")
    return diffs


def check_sweep_memory(spec: dict) -> None:
    """Refuse a sweep whose largest run cannot fit in memory (a swept n_households or end year
    counts at the top of its range)."""
    from ruralabm.model.state import check_memory

    p = Params.from_dict(spec["base_params"])
    n = p.population.n_households
    end = p.calendar.end_year
    for r in spec["params"]:
        if r["name"] == "population.n_households":
            n = max(n, int(math.ceil(r["high"])))
        if r["name"] == "calendar.end_year":
            end = max(end, int(math.ceil(r["high"])))
    from types import SimpleNamespace
    big = SimpleNamespace(population=SimpleNamespace(n_households=n),
                          calendar=SimpleNamespace(start_year=p.calendar.start_year, end_year=end))
    check_memory(big, what="the sweep's largest run", panel=True)


def open_sweep(out: Path, spec: dict | None, resume: bool, overwrite: bool = False) -> Sweep:
    """Start a new sweep in ``out`` or reopen one to resume (checking the design matches)."""
    manifest_path = out / "manifest.json"
    if resume:
        if not manifest_path.exists():
            raise ParameterError(f"--resume {out}: no sweep there (manifest.json not found)")
        claim(out, "sweep", None, resume=True)
        try:
            manifest = json.loads(manifest_path.read_text())
            stored = manifest["spec"]
            Sweep(out, stored)  # the spec must describe a sweep
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            n = len(list((out / "chunks").glob("chunk-*.parquet"))) if (out / "chunks").is_dir() else 0
            raise ParameterError(f"--resume {out}: {manifest_path} is corrupted or not a sweep manifest; the {n} "
                                 f"chunk file(s) in {out}/chunks are kept: run the original sweep command with a "
                                 f"new --out and copy them into its chunks/ to reuse them") from None
        if manifest.get("kind") != "ruralabm-sweep" or manifest.get("format") != FORMAT:
            raise ParameterError(f"--resume {out}: manifest.json is not a ruralabm sweep manifest (format {FORMAT})")
        if spec is not None:
            diffs = _differences(stored, spec)
            if diffs:
                raise ParameterError(f"--resume {out} holds a different sweep: " + "; ".join(diffs)
                                     + " (repeat the original options, give only --resume, or use a new --out)")
        sweep = Sweep(out, stored)
        design_file = out / "design.csv"
        if design_file.exists():
            old = pd.read_csv(design_file)
            cols = [r.name for r in sweep.ranges]
            if list(old.columns[1:]) != cols or len(old) != sweep.n_points or not np.allclose(
                    old[cols].to_numpy(float), sweep.X, rtol=1e-12, atol=0):
                raise ParameterError(f"--resume {out}: design.csv does not match the design this version generates "
                                     "from the manifest (different SALib/scipy?); start a new --out")
        return sweep
    owner = read_owner(out) if out.is_dir() else None
    if owner is not None and owner["command"] == "sweep" and not overwrite:
        raise ParameterError(f"--out {out} already holds a sweep (manifest.json); continue it with --resume {out}, "
                             "choose another --out, or pass --overwrite to replace it")
    mode = claim(out, "sweep", spec, overwrite=overwrite)
    if manifest_path.exists() and mode != "overwrite":
        raise ParameterError(f"--out {out} already holds a sweep (manifest.json); continue it with --resume {out}, "
                             "choose another --out, or pass --overwrite to replace it")
    check_sweep_memory(spec)
    invalid = invalid_design_points(spec)
    if invalid and len(invalid) == design_size(spec["design"], spec["samples"], len(spec["params"])):
        raise ParameterError(f"no design point is a valid parameter set, e.g. point {invalid[0][0]}: {invalid[0][1]}; "
                             "narrow the --param ranges")
    if mode == "overwrite":
        clear(out)
    sweep = Sweep(out, spec)
    sweep.initialise()
    return sweep


def run_sweep(spec: dict | None, out: str | Path, *, resume: bool = False, executor=None, progress: bool = False,
              on_chunk=None, overwrite: bool = False) -> tuple[Sweep, dict]:
    """Library entry point: create or resume, run what is missing, analyse when complete."""
    sweep = open_sweep(Path(out), spec, resume, overwrite=overwrite)
    manifest = sweep.run(executor or SerialExecutor(), progress=progress, on_chunk=on_chunk)
    if manifest["complete"]:
        finish(sweep)
    return sweep, manifest


__all__ = ["DESIGNS", "ParamRange", "parse_param", "build_design", "make_spec", "open_sweep", "run_sweep", "Sweep",
           "sweep_task", "sensitivity", "finish"]

