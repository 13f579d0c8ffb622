"""One simulation written to disk: the library side of ``ruralabm simulate``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ruralabm import raise_if_interrupted
from ruralabm.model import RuralModel
from ruralabm.model.core import PRICE_BASIS
from ruralabm.model.params import ParameterError

from .outputs import claim, record, replace_dir, staging_dir
from .provenance import environment, git_commit, package_version


def simulate(scenario, seed: int, out: Path | None, progress: bool = True, overwrite: bool = False):
    """Run one simulation; write panels (Parquet) and run.json to ``out`` if given.

    ``out`` is claimed before the run (:func:`scenarios.outputs.claim`: another command's results,
    or another simulation's, are refused unless ``overwrite``). The files are written into a
    temporary sibling folder and renamed to ``out`` when complete, replacing the earlier set as
    a whole: an interrupted run leaves the earlier results as they were."""
    if not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"--seed = {seed} is not allowed: must be a non-negative integer")
    settings = {"scenario": scenario.name, "parameters": scenario.params.to_dict(), "seed": seed}
    if out is not None:
        out = Path(out)
        claim(out, "simulate", settings, overwrite=overwrite)
    # Household façades are built only if something asks for them (simulate does not).
    model = RuralModel(scenario.params, seed=seed)
    if out is None:
        model.run(progress=progress)
        return model
    stage = staging_dir(out)
    try:
        with model.stream_panels(stage) as panels:  # each year's rows are written while the next runs
            model.run(progress=progress)
        files = panels.files
        meta = {
            "scenario": scenario.name,
            "scenario_source": scenario.source,
            "extends_chain": scenario.chain,
            "seed": seed,
            "price_basis": PRICE_BASIS,
            "parameters": scenario.params.to_dict(),
            "package_version": package_version(),
            "git_commit": git_commit(),
            "numpy_version": np.__version__,
            "environment": environment(),
            "files": files,
        }
        (stage / "run.json").write_text(json.dumps(meta, indent=2))
        record(stage, "simulate", settings)
        raise_if_interrupted()  # a Ctrl-C swallowed during the run: not a complete run
        replace_dir(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return model


SUMMARY_COLUMNS = {  # summary label -> model reporter (model/reporters.py)
    "participation": "participation",
    "poor $1.9": "poor_1_9",
    "poor national": "poor_national",
    "poor $3.1": "poor_3_1",
    "income pc": "income_per_capita",
    "human": "human_capital",
    "natural": "natural_capital",
    "physical": "physical_capital",
    "financial": "financial_capital",
    "social": "social_capital",
}


def summary_table(model) -> str:
    """Per-year participation, person-weighted poverty under the three lines, income per capita
    and the mean capitals (the model's DataCollector reporters), and county exits."""
    reported = model.datacollector.get_model_vars_dataframe()
    frame = pd.DataFrame({label: reported[name].to_numpy() for label, name in SUMMARY_COLUMNS.items()},
                         index=pd.Index(reported["year"].to_numpy(), name="year"))
    exits = model.county_exits()
    lines = [frame.to_string(float_format=lambda v: f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"),
             "",
             f"counties exited by the censoring date: {int(exits['exited'].sum())} of {len(exits)}"]
    return "\n".join(lines)
