"""Recovery check: make "published" statistics from the model at a known parameter vector, start
the calibration elsewhere, and see whether it finds the known values again.

Small setting (fast enough for CI): 6,000 households in 20 counties, CLDS-like and CLES-like
samples of 600, two parameters (cooperative coverage and the poverty-alleviation transfer),
targets that identify them (participation rate, mean vulnerability under the national line,
the Cao net impact on resilience, and the yearly shares of counties exiting poverty), two
replications with common random numbers, 40 parameter vectors (checked at seeds 3, 7, 11: worst
error 4.3% of the box). Tolerance: every parameter
within 10% of its search box of the truth; the start (the scenario's own values) is farther
than that, so the check can fail.
"""
from __future__ import annotations

from pathlib import Path

from ruralabm.scenarios.executor import replication_seeds

from .objective import ParamSpace, mean_stats, simulate_statistics
from .search import start

TRUTH = {"cooperative.villages_share": 0.75, "policy.poverty_alleviation_transfer": 2000.0}
BOXES = ["cooperative.villages_share=0.3:1", "policy.poverty_alleviation_transfer=500:3500"]
SETTINGS = {"households": 6000, "counties": 20, "clds_n": 600, "cles_n": 600, "county_n": 20}
TARGETS = {  # key: scale (distance unit)
    "clds.participation": 0.02,
    "clds.vul_mean.national": 0.02,
    "cao.psm_pct.resilience.all": 3.0,
    "counties.exit_share.2016": 0.05,
    "counties.exit_share.2017": 0.05,
    "counties.exit_share.2018": 0.05,
    "counties.exit_share.2019": 0.05,
}
TOLERANCE = 0.10  # share of the search box
BUDGET, REPS, SEED = 40, 2, 7


def write_targets(path: Path, executor) -> dict:
    """Simulate at TRUTH with the calibration's seeds and write a targets file of the results."""
    seeds = replication_seeds(SEED, REPS)
    tasks = [{"values": TRUTH, "seed": s, "settings": SETTINGS, "keys": list(TARGETS)} for s in seeds]
    reps = [None] * len(tasks)
    for i, outcome in executor.run(simulate_statistics, tasks):
        if not outcome.ok:
            raise RuntimeError(outcome.error)
        reps[i] = outcome.value["stats"]
    m = mean_stats(reps)
    lines = ['[meta]', 'description = "recovery check: statistics simulated at a known parameter vector"', "",
             "[settings]"]
    lines += [f"{k} = {v!r}" for k, v in SETTINGS.items()]
    lines.append("")
    for key, scale in TARGETS.items():
        lines += ["[[target]]", f'key = "{key}"', f"value = {m[key]!r}", f"scale = {scale!r}", "weight = 1.0", ""]
    Path(path).write_text("\n".join(lines))
    return m


def run(out: Path, executor, progress: bool = False) -> dict:
    """Returns {"estimate", "truth", "error_share" (|estimate - truth| / box width), "ok"}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    targets = out / "recovery_targets.toml"
    write_targets(targets, executor)
    _, result = start(BOXES, str(targets), BUDGET, REPS, SEED, out / "run", executor, progress=progress,
                      global_share=0.5, log=None)
    space = ParamSpace.parse(BOXES)
    err = {n: abs(result["best"][n] - TRUTH[n]) / (hi - lo) for n, lo, hi in zip(space.names, space.low, space.high)}
    return {"estimate": result["best"], "truth": TRUTH, "error_share": err, "J": result["J"],
            "ok": all(e <= TOLERANCE for e in err.values()), "result": result}
