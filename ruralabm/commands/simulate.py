"""Subcommands ``simulate``, ``scenarios`` and ``show``."""
from __future__ import annotations

import json
from pathlib import Path

from .common import add_overrides_option, add_overwrite_option, add_scenario_options, resolve_scenario


def run_simulate(args) -> int:
    from ruralabm.scenarios.simulate import simulate, summary_table

    sc = resolve_scenario(args.scenario, args)
    out = Path(args.out) if args.out else None
    if out is not None:
        args.interrupt_message = f"interrupted: nothing was written; earlier results in {out} are as they were"
    model = simulate(sc, args.seed, out, progress=not args.quiet, overwrite=args.overwrite)
    print(f"scenario {sc.name}: {model.params.population.n_households} households, "
          f"{model.calendar_years[0]}-{model.calendar_years[-1]}, seed {args.seed}")
    print("poverty rates are person-weighted; capitals are household means (units in docs/odd.md)")
    print(summary_table(model))
    if out is not None:
        print(f"wrote {out}/households.parquet, counties.parquet, county_exits.parquet, organisations.parquet, run.json")
    return 0


def run_scenarios(args) -> int:
    from ruralabm.scenarios import available

    listing = available()
    width = max(len(n) for n in listing)
    for name, text in listing.items():
        print(f"{name.ljust(width)}  {text}")
    return 0


def run_show(args) -> int:
    from ruralabm.model.params import all_parameter_specs
    from ruralabm.scenarios import load

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
    p = sub.add_parser("simulate", help="simulate one scenario and write household and county panels",
                       description="Simulate one scenario; print poverty, participation and capitals per year; "
                                   "with --out write the panels as Parquet and run.json.")
    p.add_argument("--scenario", default="mixed", help="scenario name or path to a .toml file (default mixed)")
    p.add_argument("--out", help="output directory for Parquet panels and run.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_overwrite_option(p)
    add_scenario_options(p)
    p.set_defaults(func=run_simulate)

    p = sub.add_parser("scenarios", help="list the shipped scenarios with one-line descriptions",
                       description="List the shipped scenarios with one-line descriptions.")
    p.set_defaults(func=run_scenarios)

    p = sub.add_parser("show", help="print every resolved parameter of a scenario, marking changes from the defaults",
                       description="Print every resolved parameter of a scenario with its unit, marking changes "
                                   "from the defaults.")
    p.add_argument("name", help="scenario name or path")
    add_overrides_option(p)
    p.set_defaults(func=run_show)
