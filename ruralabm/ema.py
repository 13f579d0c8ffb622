"""EMA Workbench on ruralabm, and scenario discovery (PRIM) on a finished sweep.

:func:`model` returns an ``ema_workbench`` model of a scenario, so that EMA's samplers
(``perform_experiments`` with LHS, Sobol, Morris, full factorial), evaluators (sequential,
multiprocessing) and analysis (PRIM, CART, feature scoring, plotting) run on ruralabm unchanged::

    from ema_workbench import perform_experiments
    from ruralabm import ema

    m = ema.model("mixed", households=2000)
    experiments, outcomes = perform_experiments(m, scenarios=64, policies=4)
    outcomes["poverty_national"]      # (experiments x years) array; outcomes["TIME"] holds the years

* **Uncertainties and levers** are EMA parameters built from the parameter metadata
  (:func:`ruralabm.model.params.parameter_spec`): a ``bool`` switch becomes a
  ``BooleanParameter``, a parameter with choices a ``CategoricalParameter``, an ``int`` an
  ``IntegerParameter``, a number a ``RealParameter`` whose range is the given one (checked to lie
  inside the parameter's allowed range) or, for a name given alone, the allowed range itself. The
  EMA name is the dotted name with ``.`` written ``__`` (``shocks__disaster_probability``:
  EMA names must be Python identifiers); the dotted name is its ``variable_name``. The defaults
  (:data:`UNCERTAINTIES`: shocks and the unobserved drive; :data:`LEVERS`: the integration
  policy and the transfers) can be replaced by any list of names or ``(name, low, high)``.
* **Outcomes** are the metrics of ``ruralabm compare`` (:mod:`ruralabm.scenarios.runner`, computed
  by the same :func:`~ruralabm.scenarios.runner.summarise_run` compare and sweep use): every
  yearly metric as a ``TimeSeriesOutcome`` (one value per simulated year, in calendar order;
  ``TIME`` holds the years, which EMA's plots use as the time axis) and the run metrics
  ``exit_share`` and ``median_exit_date`` as ``ScalarOutcome``.
* **Seeds.** Every experiment runs with the same seed (``seed``), so experiments differ only by
  their parameters (common random numbers). ``replications=R`` makes a ``ReplicatorModel`` whose
  replications use the seeds ``SeedSequence(seed).spawn(R)`` of compare and sweep.

:func:`discover` runs EMA's PRIM (``ema_workbench.analysis.prim``) on a finished
``ruralabm sweep`` directory: the cases of interest are the design points whose outcome (at the
sweep's ``--year``) is above (or below) a threshold; it writes the peeling trajectory, the limits of
every box on it with coverage and density, the chosen box, figures and ``report.md``
(``ruralabm discover``).
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ruralabm.model.params import ParameterError, Params, parameter_spec
from ruralabm.scenarios import load
from ruralabm.scenarios.executor import replication_seeds
from ruralabm.scenarios.runner import LABELS, METRICS, RUN_METRICS, YEARLY_METRICS, resolve_metric, summarise_run

# Defaults: what the world does to the region (shocks, the unobserved drive) ...
UNCERTAINTIES: tuple = (
    ("shocks.disaster_probability", 0.02, 0.4),
    ("shocks.county_disaster_probability", 0.0, 0.2),
    ("shocks.health_probability", 0.02, 0.2),
    ("shocks.price_persistence", 0.0, 0.9),
    ("economy.drive_effect", 0.0, 0.8),
)
# ... and what policy chooses.
LEVERS: tuple = (
    "policy.cooperatives",
    "policy.enterprises",
    ("cooperative.villages_share", 0.2, 1.0),
    ("policy.poverty_alleviation_transfer", 0.0, 3500.0),
    ("policy.training_budget_per_capita", 0.0, 100.0),
)
DEFAULT_HOUSEHOLDS = 2_000
# Directions in which an outcome is bad (discover's default --bad): more poverty, vulnerability or a
# later exit is worse; less of everything else is.
WORSE_ABOVE = ("poverty_1_9", "poverty_national", "poverty_3_1", "vulnerability", "median_exit_date")
BAD_DIRECTIONS = ("above", "below")


def _ema():
    """ema_workbench, imported on first use (it warns about optional parts it does not need)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import ema_workbench
            from ema_workbench.analysis import prim  # noqa: F401
    except ImportError:
        raise ParameterError("ruralabm.ema needs the EMA Workbench: pip install -e \".[ema]\"") from None
    return ema_workbench


def ema_name(dotted: str) -> str:
    """The EMA name of a parameter: its dotted name with ``.`` written ``__``."""
    return dotted.replace(".", "__")


def parameter(entry: str | Sequence, *, where: str = "uncertainty"):
    """An EMA parameter for ``entry``: a dotted name (the range from the metadata) or
    ``(name, low, high)`` (checked against the metadata)."""
    ema = _ema()
    if isinstance(entry, str):
        name, low, high = entry, None, None
    else:
        if len(entry) != 3:
            raise ParameterError(f"{where} {entry!r} must be a dotted name or (name, low, high)")
        name, low, high = entry
    spec = parameter_spec(name)
    kind = spec["type"]
    ident = ema_name(name)
    if kind == "bool":
        if low is not None:
            raise ParameterError(f"{where} {name} is a true/false switch: give it without a range")
        return ema.BooleanParameter(ident, variable_name=name)
    if spec["choices"]:
        if low is not None:
            raise ParameterError(f"{where} {name} takes one of {list(spec['choices'])}: give it without a range")
        return ema.CategoricalParameter(ident, list(spec["choices"]), variable_name=name)
    if kind == "list":
        raise ParameterError(f"{where} {name} is a list parameter; EMA parameters are single values "
                             "(compare scenarios, or sweep one entry with ruralabm sweep --param name[i]=LOW:HIGH)")
    if kind not in ("int", "float"):
        raise ParameterError(f"{where} {name} ({kind}) cannot be an EMA parameter")
    lo_ok, hi_ok = spec["low"], spec["high"]
    if low is None:
        low, high = lo_ok, hi_ok
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise ParameterError(f"{where} {name}: need a finite range low < high, e.g. ({name!r}, low, high)")
    if (lo_ok is not None and low < lo_ok) or (hi_ok is not None and high > hi_ok):
        raise ParameterError(f"{where} ({name}, {low:g}, {high:g}) is outside the allowed range of {name}, "
                             f"[{lo_ok:g}, {hi_ok:g}] ({spec['unit']})")
    if kind == "int":
        return ema.IntegerParameter(ident, int(math.ceil(low)), int(math.floor(high)), variable_name=name)
    return ema.RealParameter(ident, float(low), float(high), variable_name=name)


def _coerce(name: str, value: Any) -> Any:
    kind = parameter_spec(name)["type"]
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return value


def experiment(ruralabm_base: dict, ruralabm_seed: int, ruralabm_metrics: Sequence[str], **values) -> dict:
    """The function EMA calls: one run of the base parameters with ``values`` (dotted names)
    applied, summarised as compare summarises a run. Returns ``TIME`` (the simulated years), each
    yearly metric as an array over those years and each run metric as a number."""
    params = Params.from_dict(ruralabm_base)
    params.set_many({k: _coerce(k, v) for k, v in values.items()})
    out = summarise_run(params, int(ruralabm_seed), metrics=list(ruralabm_metrics))["metrics"]
    yearly = out[out["year"].notna()]
    years = np.array(sorted(int(y) for y in yearly["year"].unique()))
    result: dict[str, Any] = {"TIME": years.astype(float)}
    for metric in ruralabm_metrics:
        rows = out[out["metric"] == metric]
        if metric in RUN_METRICS:
            result[metric] = float(rows["value"].iloc[0]) if len(rows) else math.nan
        else:
            series = rows.set_index(rows["year"].astype(int))["value"]
            result[metric] = series.reindex(years).to_numpy(float)
    return result


def model(scenario: str = "mixed", *, uncertainties: Iterable = UNCERTAINTIES, levers: Iterable = LEVERS,
          outcomes: Iterable[str] | None = None, households: int | None = DEFAULT_HOUSEHOLDS, years: int | None = None,
          seed: int = 0, replications: int = 1, overrides: Iterable[str] | dict = (), name: str | None = None):
    """An EMA Workbench model of ``scenario`` (a shipped name or a TOML path).

    Parameters
    ----------
    scenario : str
        The scenario every experiment starts from (its parameters, with ``overrides``,
        ``households`` and ``years`` applied).
    uncertainties, levers : iterable
        Dotted names or ``(name, low, high)``; defaults :data:`UNCERTAINTIES` and :data:`LEVERS`.
    outcomes : iterable of str, optional
        Metrics of ``ruralabm compare`` (default: all; aliases such as ``poverty`` accepted).
    households : int, optional
        Households per run (default 2,000; None keeps the scenario's).
    years : int, optional
        Simulated years from ``calendar.start_year`` (default: the scenario's calendar).
    seed : int
        Master seed: the seed of every experiment, or of the replications' seeds.
    replications : int
        Runs per experiment; more than 1 gives a ``ReplicatorModel``.
    name : str, optional
        The EMA model name, letters and digits (default ``ruralabm`` and the scenario's name
        in CamelCase, e.g. ``ruralabmFrequentDisasters``).

    Returns
    -------
    ema_workbench.Model or ema_workbench.ReplicatorModel
    """
    ema = _ema()
    sc = load(scenario, overrides if isinstance(overrides, dict) else list(overrides))
    if households is not None:
        sc.params.set("population.n_households", int(households))
    if years is not None:
        if int(years) < 1:
            raise ParameterError(f"years = {years} is not allowed: must be at least 1")
        sc.params.set("calendar.end_year", sc.params.calendar.start_year + int(years) - 1)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed = {seed!r} is not allowed: must be a non-negative integer")
    if not isinstance(replications, (int, np.integer)) or replications < 1:
        raise ParameterError(f"replications = {replications!r} is not allowed: must be at least 1")
    unc = [parameter(e, where="uncertainty") for e in uncertainties]
    lev = [parameter(e, where="lever") for e in levers]
    names = [p.variable_name[0] for p in unc + lev]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParameterError(f"{', '.join(dup)} given more than once among the uncertainties and levers")
    metrics = list(dict.fromkeys(resolve_metric(m) for m in (METRICS if outcomes is None else outcomes)))
    ident = name or "ruralabm" + "".join(w.capitalize() for w in sc.name.replace("-", "_").split("_"))
    if not ident.isalnum():
        raise ParameterError(f"name = {ident!r} is not allowed: EMA model names are letters and digits only")
    base = json.loads(json.dumps(sc.params.to_dict()))
    if replications == 1:
        m = ema.Model(ident, function=experiment)
        constants = [ema.Constant("ruralabm_seed", int(seed))]
    else:
        m = ema.ReplicatorModel(ident, function=experiment)
        m.replications = [{"ruralabm_seed": s} for s in replication_seeds(int(seed), int(replications))]
        constants = []
    m.uncertainties = unc
    m.levers = lev
    m.constants = constants + [ema.Constant("ruralabm_base", base), ema.Constant("ruralabm_metrics", tuple(metrics))]
    m.outcomes = [ema.TimeSeriesOutcome("TIME")] + [
        ema.ScalarOutcome(k) if k in RUN_METRICS else ema.TimeSeriesOutcome(k) for k in metrics]
    return m


# ---------------------------------------------------------------------------------------------
# Scenario discovery on a sweep


@dataclass
class Discovery:
    """PRIM on a sweep: the data it saw, the peeling trajectory and the chosen box."""

    settings: dict
    x: pd.DataFrame  # the swept parameters of each case
    y: np.ndarray  # case of interest (bad outcome)
    values: np.ndarray  # the outcome of each case
    trajectory: pd.DataFrame  # box id, coverage, density, mean, mass, res_dim, n, k
    limits: pd.DataFrame  # per box and parameter: lower, upper, restricted, qp values
    chosen: int  # the box reported: of the boxes that reach the density threshold, the most covering
    # (the densest of those), else the densest box
    box: Any = field(repr=False)  # EMA's PrimBox (figures)
    notes: list[str] = field(default_factory=list)


def _read_sweep(sweep_dir: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    manifest_path = sweep_dir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        spec = manifest["spec"]
    except FileNotFoundError:
        raise ParameterError(f"--sweep {sweep_dir}: no sweep there (manifest.json not found); give the --out "
                             "directory of a finished `ruralabm sweep`") from None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ParameterError(f"--sweep {sweep_dir}: {manifest_path} is unreadable or not a sweep manifest") from None
    if manifest.get("kind") != "ruralabm-sweep":
        raise ParameterError(f"--sweep {sweep_dir}: manifest.json is not a ruralabm sweep manifest")
    if not manifest.get("complete"):
        pending = manifest.get("counts", {}).get("pending", "some")
        raise ParameterError(f"--sweep {sweep_dir}: the sweep is not finished ({pending} runs pending); continue it "
                             f"with: ruralabm sweep --resume {sweep_dir}")
    try:
        points = pd.read_csv(sweep_dir / "points.csv")
        runs = pd.read_parquet(sweep_dir / "results.parquet")
    except (OSError, ValueError) as exc:
        raise ParameterError(f"--sweep {sweep_dir}: points.csv or results.parquet cannot be read ({exc}); "
                             f"rerun the analysis with: ruralabm sweep --resume {sweep_dir}") from None
    return spec, points, runs


def default_direction(outcome: str) -> str:
    """Where ``outcome`` is bad: ``above`` the threshold for poverty, vulnerability and the exit
    date, ``below`` it for everything else."""
    return "above" if outcome in WORSE_ABOVE else "below"


def discover(sweep_dir: str | Path, outcome: str, threshold: float, *, bad: str | None = None,
             density: float = 0.8, peel_alpha: float = 0.05, paste_alpha: float = 0.05, mass_min: float = 0.05,
             cases: str = "points") -> Discovery:
    """PRIM on the finished sweep in ``sweep_dir``: where in the swept parameter space is
    ``outcome`` bad (``bad="above"`` or ``"below"`` ``threshold``)?

    ``cases="points"`` (default) uses each design point's mean over its replications
    (``points.csv``); ``"runs"`` every run (``results.parquet``). ``density`` is PRIM's threshold:
    the share of cases of interest a box must reach; ``peel_alpha``, ``paste_alpha`` and
    ``mass_min`` are PRIM's (EMA's defaults)."""
    _ema()
    from ema_workbench.analysis import prim

    sweep_dir = Path(sweep_dir)
    spec, points, runs = _read_sweep(sweep_dir)
    key = resolve_metric(outcome)
    if key not in spec["outputs"]:
        raise ParameterError(f"--outcome {outcome}: the sweep in {sweep_dir} recorded only "
                             f"{', '.join(spec['outputs'])}; choose one of them")
    bad = bad or default_direction(key)
    if bad not in BAD_DIRECTIONS:
        raise ParameterError(f"--bad = {bad!r} is not allowed: choose above or below")
    if cases not in ("points", "runs"):
        raise ParameterError(f"cases = {cases!r} is not allowed: choose points or runs")
    for label, value, low, high in (("--density", density, 0.0, 1.0), ("--peel-alpha", peel_alpha, 0.0, 0.5),
                                    ("--paste-alpha", paste_alpha, 0.0, 0.5), ("--mass-min", mass_min, 0.0, 1.0)):
        if not (isinstance(value, (int, float)) and low < value <= high):
            raise ParameterError(f"{label} = {value} is not allowed: must be in ({low:g}, {high:g}]")
    if not math.isfinite(threshold):
        raise ParameterError(f"--threshold = {threshold} is not allowed: must be a finite number")
    names = [p["name"] for p in spec["params"]]
    data = points if cases == "points" else runs[runs["status"] == "ok"]
    notes = []
    finite = np.isfinite(data[key].to_numpy(float))
    if not finite.all():
        notes.append(f"{int((~finite).sum())} case(s) without a value of {key} (failed runs, or an undefined "
                     "output) left out")
    data = data[finite].reset_index(drop=True)
    if len(data) < 4:
        raise ParameterError(f"--sweep {sweep_dir}: only {len(data)} case(s) with a value of {key}; PRIM needs more "
                             "(run a larger sweep, e.g. --samples 64)")
    values = data[key].to_numpy(float)
    y = values > threshold if bad == "above" else values < threshold
    if y.all() or not y.any():
        which = "every" if y.all() else "no"
        raise ParameterError(f"--threshold {threshold:g}: {which} case has {key} {bad} it (values from {values.min():.4g} "
                             f"to {values.max():.4g} in {spec['year']}); choose a threshold inside that range")
    x = data[names].astype(float).copy()
    for p in spec["params"]:
        if p["integer"]:
            x[p["name"]] = x[p["name"]].round().astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        algorithm = prim.Prim(x, y, threshold=density, peel_alpha=peel_alpha, paste_alpha=paste_alpha,
                              mass_min=mass_min)
        box = algorithm.find_box()
    trajectory = box.peeling_trajectory.copy()
    trajectory.insert(0, "box", np.arange(len(trajectory)))
    rows = []
    for i, lims in enumerate(box.box_lims):
        qp = box.qp[i] if i < len(box.qp) else {}
        for n in names:
            lower, upper = float(lims[n].iloc[0]), float(lims[n].iloc[1])
            full_lower, full_upper = float(box.box_lims[0][n].iloc[0]), float(box.box_lims[0][n].iloc[1])
            q = qp.get(n, (math.nan, math.nan))
            rows.append({"box": i, "parameter": n, "lower": lower, "upper": upper,
                         "restricted": bool(lower > full_lower or upper < full_upper),
                         "qp_lower": _qp(q[0]), "qp_upper": _qp(q[1]),
                         "coverage": float(trajectory["coverage"].iloc[i]), "density": float(trajectory["density"].iloc[i])})
    limits = pd.DataFrame(rows)
    reach = trajectory.index[trajectory["density"] >= density]
    if len(reach):
        best = trajectory.loc[reach].sort_values(["coverage", "density"], ascending=False, kind="stable")
        chosen = int(best.index[0])
    else:
        chosen = int(trajectory["density"].idxmax())
        notes.append(f"no box reaches the density threshold {density:g}; the densest box is reported "
                     f"(density {trajectory['density'].iloc[chosen]:.3f})")
    box.select(chosen)
    settings = {"sweep": str(sweep_dir.resolve()), "outcome": key, "threshold": float(threshold), "bad": bad,
                "year": spec["year"], "cases": cases, "density": density, "peel_alpha": peel_alpha,
                "paste_alpha": paste_alpha, "mass_min": mass_min, "scenario": spec["scenario"],
                "design": spec["design"], "parameters": spec["params"]}
    return Discovery(settings=settings, x=x, y=y, values=values, trajectory=trajectory, limits=limits, chosen=chosen,
                     box=box, notes=notes)


def _qp(value) -> float:
    """EMA marks an unrestricted side's quasi-p value with -1."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return math.nan if v < 0 else v


def discovery_figures(d: Discovery, out: Path) -> list[Path]:
    """The peeling trajectory (coverage against density, coloured by restricted dimensions) and
    the chosen box's limits against the swept ranges."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    files = []
    t = d.trajectory
    fig, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    points = ax.scatter(100 * t["coverage"], 100 * t["density"], c=t["res_dim"], cmap="viridis", s=28, zorder=3)
    ax.plot(100 * t["coverage"], 100 * t["density"], color="#bbbbbb", linewidth=1, zorder=2)
    ax.scatter([100 * t["coverage"].iloc[d.chosen]], [100 * t["density"].iloc[d.chosen]], s=160, facecolors="none",
               edgecolors="#b2182b", linewidths=2, zorder=4, label=f"reported box {d.chosen}")
    ax.axhline(100 * d.settings["density"], color="#b2182b", linestyle=":", linewidth=1,
               label=f"density threshold {100 * d.settings['density']:.0f}%")
    ax.set_xlabel("coverage (% of the cases of interest inside the box)")
    ax.set_ylabel("density (% of the box's cases that are of interest)")
    ax.set_title(f"PRIM peeling trajectory: {_interest(d.settings)}", fontsize=10)
    ax.set_xlim(-2, 102)
    bar = fig.colorbar(points, ax=ax, ticks=sorted(set(int(v) for v in t["res_dim"])))
    bar.set_label("restricted parameters")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    files.append(out / "tradeoff.png")
    fig.savefig(files[-1], dpi=120)
    plt.close(fig)

    lim = d.limits[d.limits["box"] == d.chosen].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6.4, 1.0 + 0.7 * len(lim)), layout="constrained")
    for i, r in lim.iterrows():
        spec = next(p for p in d.settings["parameters"] if p["name"] == r["parameter"])
        span = spec["high"] - spec["low"]
        lo, hi = (r["lower"] - spec["low"]) / span, (r["upper"] - spec["low"]) / span
        ax.barh(i, 1.0, left=0.0, color="#eeeeee", edgecolor="#999999", height=0.5)
        ax.barh(i, hi - lo, left=lo, color="#b2182b" if r["restricted"] else "#cccccc", height=0.5)
        ax.text(lo, i + 0.27, f"{r['lower']:.4g}", fontsize=7, ha="left", va="top")
        ax.text(hi, i + 0.27, f"{r['upper']:.4g}", fontsize=7, ha="right", va="top")
    ax.set_yticks(range(len(lim)), [f"{r['parameter']}\n[{_range(d, r['parameter'])}]" for _, r in lim.iterrows()],
                  fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("position in the swept range (0 = low end, 1 = high end)")
    ax.set_title(f"Box {d.chosen}: coverage {100 * lim['coverage'].iloc[0]:.0f}%, density "
                 f"{100 * lim['density'].iloc[0]:.0f}% (red: restricted)", fontsize=10)
    files.append(out / "box_limits.png")
    fig.savefig(files[-1], dpi=120)
    plt.close(fig)
    return files


def _range(d: Discovery, name: str) -> str:
    p = next(p for p in d.settings["parameters"] if p["name"] == name)
    return f"{p['low']:g} to {p['high']:g}"


def _interest(s: dict) -> str:
    return f"{s['outcome']} {s['bad']} {s['threshold']:g} in {s['year']}"


def discovery_report(d: Discovery, figures: Sequence[Path]) -> str:
    from ruralabm.analysis.estimators.tables import markdown_table

    s = d.settings
    t = d.trajectory
    lim = d.limits[d.limits["box"] == d.chosen]
    restricted = lim[lim["restricted"]]
    n, k = len(d.y), int(d.y.sum())
    lines = [f"# Scenario discovery: {LABELS.get(s['outcome'], s['outcome'])} {s['bad']} {s['threshold']:g} "
             f"in {s['year']}", "",
             f"- Sweep `{s['sweep']}`: scenario `{s['scenario']}`, {s['design']} design, "
             f"{len(s['parameters'])} swept parameter(s); cases: {'design points (means over replications)' if s['cases'] == 'points' else 'every run'}.",
             f"- Cases of interest: {k} of {n} ({100 * k / n:.0f}%) have `{s['outcome']}` {s['bad']} {s['threshold']:g}.",
             f"- PRIM (EMA Workbench): density threshold {s['density']:g}, peel alpha {s['peel_alpha']:g}, "
             f"paste alpha {s['paste_alpha']:g}, minimum mass {s['mass_min']:g}; {len(t)} boxes on the peeling "
             "trajectory.", ""]
    lines += [f"## Reported box {d.chosen}", "",
              f"Coverage {100 * t['coverage'].iloc[d.chosen]:.1f}% (share of the cases of interest inside the box), "
              f"density {100 * t['density'].iloc[d.chosen]:.1f}% (share of the box's cases that are of interest), "
              f"mass {100 * t['mass'].iloc[d.chosen]:.1f}% (share of all cases inside the box).", ""]
    if len(restricted):
        lines.append("The outcome is bad where " + "; ".join(
            f"`{r.parameter}` is in [{r.lower:.4g}, {r.upper:.4g}]" for r in restricted.itertuples()) + ".")
    else:
        lines.append("The box restricts no parameter: the cases of interest are not concentrated anywhere.")
    shown = lim[["parameter", "lower", "upper", "restricted", "qp_lower", "qp_upper"]].copy()
    for c in ("lower", "upper", "qp_lower", "qp_upper"):
        shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:.4g}")
    lines += ["", markdown_table(shown), "",
              "qp values: quasi-p values of each restriction (a binomial test of the density with and without it; "
              "large values mean the restriction adds little).", ""]
    traj = t[["box", "coverage", "density", "mass", "res_dim", "n", "k"]].copy()
    for c in ("coverage", "density", "mass"):
        traj[c] = traj[c].map(lambda v: f"{v:.3f}")
    lines += ["## Peeling trajectory", "", markdown_table(traj), ""]
    for note in d.notes:
        lines.append(f"- note: {note}")
    lines += ["", "## Figures", ""] + [f"![{f.stem}](figures/{f.name})" for f in figures]
    lines += ["", "Files: `peeling.csv` (the trajectory), `box_limits.csv` (every box's limits with coverage and "
              "density), `cases.csv` (the cases PRIM saw), `report.md`, `figures/`.", ""]
    return "\n".join(lines)


def write_discovery(d: Discovery, out: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write the discovery into ``out`` under the output-directory rules of
    :mod:`ruralabm.scenarios.outputs` (owner record, refuse or ``overwrite``, files staged and
    renamed into place)."""
    from ruralabm.scenarios.outputs import claim, clear, record, staged

    out = Path(out)
    mode = claim(out, "discover", d.settings, overwrite=overwrite)
    if mode == "overwrite":
        clear(out)
    with staged(out) as tmp:
        d.trajectory.to_csv(tmp / "peeling.csv", index=False)
        d.limits.to_csv(tmp / "box_limits.csv", index=False)
        cases = d.x.copy()
        cases[d.settings["outcome"]] = d.values
        cases["of_interest"] = d.y
        cases.to_csv(tmp / "cases.csv", index=False)
        figs = discovery_figures(d, tmp / "figures")
        (tmp / "report.md").write_text(discovery_report(d, figs))
    record(out, "discover", d.settings)
    return [out / f for f in ("peeling.csv", "box_limits.csv", "cases.csv", "report.md")] + \
        [out / "figures" / f.name for f in figs]


__all__ = ["UNCERTAINTIES", "LEVERS", "model", "parameter", "experiment", "ema_name", "discover", "Discovery",
           "write_discovery", "discovery_figures", "discovery_report", "default_direction"]
