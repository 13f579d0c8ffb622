"""Subcommands ``simulate``, ``scenarios`` and ``show``."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from ruralabm.model.params import ParameterError

from . import available, load


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def add_scenario_options(p: argparse.ArgumentParser, multiple: bool = False) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one parameter, e.g. --set shocks.disaster_probability=0.2 (repeatable)")
    p.add_argument("--households", type=positive_int, help="number of households (population.n_households)")
    p.add_argument("--years", type=positive_int, help="number of simulated years from calendar.start_year")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")


def resolve(name: str, args) -> "Scenario":
    overrides = list(args.overrides or [])
    sc = load(name, overrides)
    if args.households is not None:
        sc.params.set("population.n_households", args.households)
    if args.years is not None:
        sc.params.set("calendar.end_year", sc.params.calendar.start_year + args.years - 1)
    return sc


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("ruralabm")
    except PackageNotFoundError:
        return "unknown"


def simulate(scenario, seed: int, out: Path | None, progress: bool = True):
    """Run one simulation; write panels (Parquet) and run.json to ``out`` if given."""
    from ruralabm.model import RuralModel

    if seed < 0:
        raise ParameterError(f"--seed = {seed} is not allowed: must be a non-negative integer")
    n = scenario.params.population.n_households
    model = RuralModel(scenario.params, seed=seed, household_agents=n <= 200_000)
    model.run(progress=progress)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        model.household_panel().to_parquet(out / "households.parquet", index=False)
        model.county_panel().to_parquet(out / "counties.parquet", index=False)
        model.county_exits().to_parquet(out / "county_exits.parquet", index=False)
        model.organisations_panel().to_parquet(out / "organisations.parquet", index=False)
        meta = {
            "scenario": scenario.name,
            "scenario_source": scenario.source,
            "extends_chain": scenario.chain,
            "seed": seed,
            "parameters": scenario.params.to_dict(),
            "package_version": package_version(),
            "git_commit": git_commit(),
            "numpy_version": np.__version__,
            "files": ["households.parquet", "counties.parquet", "county_exits.parquet", "organisations.parquet"],
        }
        (out / "run.json").write_text(json.dumps(meta, indent=2))
    return model


def summary_table(model) -> str:
    panel = model.household_panel()
    g = panel.groupby("year")
    famsize = panel["famsize"]
    table = g.apply(lambda d: {
        "participation": d["participating"].mean(),
        "poor $1.9": np.average(d["poor_1_9"], weights=d["famsize"]),
        "poor national": np.average(d["poor_national"], weights=d["famsize"]),
        "poor $3.1": np.average(d["poor_3_1"], weights=d["famsize"]),
        "income pc": d["income_per_capita"].mean(),
        "human": d["human_capital"].mean(),
        "natural": d["natural_capital"].mean(),
        "physical": d["physical_capital"].mean(),
        "financial": d["financial_capital"].mean(),
        "social": d["social_capital"].mean(),
    }, include_groups=False)
    import pandas as pd
    frame = pd.DataFrame(list(table.values), index=table.index)
    del famsize
    exits = model.county_exits()
    lines = [frame.to_string(float_format=lambda v: f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"),
             "",
             f"counties exited by the censoring date: {int(exits['exited'].sum())} of {len(exits)}"]
    return "\n".join(lines)


def cmd_simulate(args) -> int:
    sc = resolve(args.scenario, args)
    out = Path(args.out) if args.out else None
    model = simulate(sc, args.seed, out, progress=not args.quiet)
    print(f"scenario {sc.name}: {model.params.population.n_households} households, "
          f"{model.calendar_years[0]}-{model.calendar_years[-1]}, seed {args.seed}")
    print("poverty rates are person-weighted; capitals are household means (units in docs/odd.md)")
    print(summary_table(model))
    if out is not None:
        print(f"wrote {out}/households.parquet, counties.parquet, county_exits.parquet, organisations.parquet, run.json")
    return 0


def cmd_scenarios(args) -> int:
    names = available()
    width = max(len(n) for n in names)
    for name, text in names.items():
        print(f"{name.ljust(width)}  {text}")
    return 0


def cmd_show(args) -> int:
    from ruralabm.model.params import all_parameter_specs
    sc = load(args.name, args.overrides)
    print(f"# scenario {sc.name} ({' -> '.join(sc.chain)}): {sc.description}")
    current = None
    for spec in all_parameter_specs():
        section, key = spec["name"].split(".")
        if section != current:
            print(f"\n[{section}]")
            current = section
        value = sc.params.get(spec["name"])
        marker = "" if value == spec["default"] else "   # changed from default " + json.dumps(spec["default"])
        print(f"{key} = {json.dumps(value)}   # {spec['unit']}{marker}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate one scenario and write household and county panels")
    p.add_argument("--scenario", default="mixed", help="scenario name or path to a .toml file (default mixed)")
    p.add_argument("--out", help="output directory for Parquet panels and run.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_scenario_options(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("scenarios", help="list the shipped scenarios")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser("show", help="print the fully resolved parameters of a scenario")
    p.add_argument("name", help="scenario name or path")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.set_defaults(func=cmd_show)
