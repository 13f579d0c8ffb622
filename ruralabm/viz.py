"""What ``ruralabm viz`` shows, without the browser: the model behind the app and its controls.

:class:`TwinWorlds` is the Mesa model the SolaraViz app (:mod:`ruralabm.viz_app`) steps. It
holds two :class:`~ruralabm.model.core.RuralModel` worlds built from one parameter set and one
seed: the scenario as chosen ("with the policy") and, when ``twin`` is on, its twin without the
integration policy (``policy.cooperatives = false`` and ``policy.enterprises = false``, which is
how ``scenarios/baseline.toml`` differs from the policy scenarios). Every random number is drawn
from streams keyed by (seed, process, year) whatever the policy (common random numbers), so the
two worlds see the same households, prices and disasters and every difference between them is
the policy's doing: identical until the policy starts, then the gap builds up year by year.

Each step simulates one calendar year in both worlds and records, per world:

* the person-weighted poverty rate under the three lines (``poor_1_9``, ``poor_national``,
  ``poor_3_1``, the model's DataCollector reporters);
* participation by organisation type: the share of households that are cooperative members
  and the share under a leading-enterprise contract;
* the household means of the five capitals (the DataCollector's reporters, in their units);
* the three resilience capacities and the overall index: household means of the capacity
  scores of the entropy-weight index ``ruralabm compare`` reports
  (:func:`ruralabm.scenarios.runner.reference_index`: weights and min-max bounds fixed once on
  a reference run, so the numbers are comparable across years, worlds and with compare's).

The controls (:func:`model_params`) are a scenario dropdown, the twin switch, the size and seed,
and sliders for the main policy and shock parameters whose labels and ranges come from the
parameter metadata (:func:`ruralabm.model.params.parameter_spec`): the label is the key, the range the parameter's allowed range, narrowed to a display window where the allowed
range is open-ended (yuan amounts allowed up to 100,000, years from 1950); the units are in the
page's table of settings. A slider left where it
started keeps the chosen scenario's value; a moved slider overrides it (``frequent_disasters``
keeps its disaster probability until the slider is moved). :attr:`TwinWorlds.settings` says
which value came from where.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np
import pandas as pd

from ruralabm.model import RuralModel
from ruralabm.model.enums import OrgType
from ruralabm.model.params import ParameterError, Params, parameter_spec
from ruralabm.model.processes.outcomes import household_outcomes
from ruralabm.model.reporters import CAPITALS
from ruralabm.scenarios import available, load
from ruralabm.scenarios.runner import RESILIENCE_METRICS, reference_index

# The app's starting point: small enough that a year of both worlds takes a few milliseconds.
DEFAULT_SCENARIO = "mixed"
DEFAULT_HOUSEHOLDS = 2_000
HOUSEHOLDS_RANGE = (500, 20_000)  # the households slider
SEEDS = (0, 99)  # the seed slider
# Ten counties of ten villages: 20 households per village at the default size, enough to see a
# village's poverty rate in the county view (the scenarios' 40 counties would leave 5).
VIZ_COUNTIES = 10
POVERTY_LINES = ("poor_1_9", "poor_national", "poor_3_1")
LINE_LABELS = {"poor_1_9": "$1.90 line", "poor_national": "national line", "poor_3_1": "$3.10 line"}
CAPACITIES = RESILIENCE_METRICS  # resilience, buffering, self_organisation, learning
NO_POLICY = {"policy.cooperatives": False, "policy.enterprises": False}


@dataclass(frozen=True)
class SliderSpec:
    """A slider over one parameter: its metadata range intersected with a display window."""

    name: str  # dotted parameter name
    window: tuple[float, float]  # display window (the metadata's range is narrowed to it)
    steps: int = 100  # slider positions across the range

    def spec(self) -> dict:
        return parameter_spec(self.name)

    @property
    def integer(self) -> bool:
        return self.spec()["type"] == "int"

    @property
    def bounds(self) -> tuple[float, float]:
        s = self.spec()
        low = self.window[0] if s["low"] is None else max(s["low"], self.window[0])
        high = self.window[1] if s["high"] is None else min(s["high"], self.window[1])
        return low, high

    @property
    def step(self) -> float:
        low, high = self.bounds
        if self.integer:
            return max(1, int(round((high - low) / self.steps)))
        raw = (high - low) / self.steps
        magnitude = 10 ** math.floor(math.log10(raw))
        return min((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), default=raw)

    @property
    def label(self) -> str:
        return self.name.split(".")[1].replace("_", " ")


# The main policy and shock parameters.
SLIDERS = (
    SliderSpec("cooperative.villages_share", (0.0, 1.0)),
    SliderSpec("enterprise.per_county", (0, 5)),
    SliderSpec("calendar.policy_start_year", (2013, 2022)),
    SliderSpec("policy.poverty_alleviation_transfer", (0.0, 5000.0)),
    SliderSpec("policy.subsidy_per_capita", (0.0, 5000.0)),
    SliderSpec("policy.training_budget_per_capita", (0.0, 200.0)),
    SliderSpec("shocks.disaster_probability", (0.0, 0.5)),
    SliderSpec("shocks.health_probability", (0.0, 0.3)),
    SliderSpec("shocks.price_persistence", (-0.9, 0.9)),
)
SLIDER_NAMES = tuple(s.name for s in SLIDERS)


def scenario_names() -> list[str]:
    """The shipped scenarios (the dropdown's choices)."""
    return list(available())


def start_values(scenario: str = DEFAULT_SCENARIO) -> dict[str, float]:
    """Where the sliders start: the values of ``scenario``, clipped into the slider's range."""
    params = load(scenario).params
    out = {}
    for s in SLIDERS:
        low, high = s.bounds
        value = min(max(params.get(s.name), low), high)
        out[s.name] = int(value) if s.integer else float(value)
    return out


def model_params(scenario: str = DEFAULT_SCENARIO, households: int = DEFAULT_HOUSEHOLDS, seed: int = 0,
                 twin: bool = True) -> dict:
    """Mesa SolaraViz ``model_params``: the controls of the app and their starting values."""
    n_spec = parameter_spec("population.n_households")
    out = {
        "slider_origin": scenario,  # fixed: where the sliders start (TwinWorlds applies the moved ones)
        "scenario": {"type": "Select", "value": scenario, "values": scenario_names(), "label": "Scenario"},
        "twin": {"type": "Checkbox", "value": bool(twin),
                 "label": "Twin: the same world (same seed) without the integration policy"},
        "households": {"type": "SliderInt", "value": int(households), "min": HOUSEHOLDS_RANGE[0],
                       "max": min(HOUSEHOLDS_RANGE[1], n_spec["high"]), "step": 500,
                       "label": "households"},
        "seed": {"type": "SliderInt", "value": int(seed), "min": SEEDS[0], "max": SEEDS[1], "step": 1, "label": "seed"},
    }
    starts = start_values(scenario)
    for s in SLIDERS:
        low, high = s.bounds
        out[s.name] = {"type": "SliderInt" if s.integer else "SliderFloat", "value": starts[s.name],
                       "min": int(low) if s.integer else float(low), "max": int(high) if s.integer else float(high),
                       "step": s.step, "label": s.label}
    return out


def resolve(scenario: str = DEFAULT_SCENARIO, households: int = DEFAULT_HOUSEHOLDS,
            moved: dict | None = None) -> tuple[Params, dict[str, str]]:
    """The parameters of the world with the policy, and where each slider's value came from.

    ``moved`` holds the slider values that differ from where the sliders started; they override
    the scenario, the others keep the scenario's value."""
    sc = load(scenario)
    params = sc.params
    overrides = {"population.n_households": int(households), "population.n_counties": VIZ_COUNTIES}
    overrides.update(moved or {})
    params.set_many(overrides)
    sources = {name: ("slider" if name in (moved or {}) else f"scenario {sc.name}") for name in SLIDER_NAMES}
    return params, sources


def twin_params(params: Params) -> Params:
    """The same parameters without the integration policy (how the baseline scenario differs)."""
    return params.copy().set_many(NO_POLICY)


def world_row(model: RuralModel, reference) -> dict[str, float]:
    """The charted numbers of the year just simulated in ``model``."""
    hh = model.world.households
    row = {k: float(model.year_summary[k]) for k in ("year", *POVERTY_LINES, "participation", *CAPITALS)}
    row["year"] = int(row["year"])
    member = hh.participating == 1
    row["cooperative"] = float(np.mean(member & (hh.org_type == OrgType.COOPERATIVE)))
    row["enterprise"] = float(np.mean(member & (hh.org_type == OrgType.ENTERPRISE)))
    outcomes = household_outcomes(model.world)
    indicators = pd.DataFrame({c: np.asarray(outcomes[c], dtype=float) for c in reference.spec.index})
    scores = reference.transform(indicators)
    for c in CAPACITIES:
        row[c] = float(scores[c].mean())
    return row


class TwinWorlds(mesa.Model):
    """A scenario and, with ``twin``, the same world without the policy, stepped together.

    Parameters are flat keyword arguments, as Mesa's SolaraViz passes them: ``scenario``,
    ``seed``, ``households``, ``twin`` and slider values by dotted parameter name (applied when
    they differ from where the sliders started, the values of scenario ``slider_origin``, see
    :func:`resolve`). ``history["policy"]`` and ``history["twin"]`` hold one row per simulated
    year (:func:`world_row`); ``policy`` and ``twin`` are the two RuralModel worlds (``twin`` is
    None when off).
    """

    def __init__(self, scenario: str = DEFAULT_SCENARIO, seed: int = 0, households: int = DEFAULT_HOUSEHOLDS,
                 twin: bool = True, slider_origin: str = DEFAULT_SCENARIO, **kwargs):
        unknown = sorted(set(kwargs) - set(SLIDER_NAMES))
        if unknown:
            raise ParameterError(f"TwinWorlds: unknown control(s) {', '.join(unknown)}; "
                                 f"sliders are {', '.join(SLIDER_NAMES)}")
        super().__init__(seed=int(seed))
        starts = start_values(slider_origin)
        moved = {k: v for k, v in kwargs.items() if not math.isclose(float(v), float(starts[k]), rel_tol=1e-9, abs_tol=1e-12)}
        self.scenario = scenario
        self.master_seed = int(seed)
        self.params, self.sources = resolve(scenario, households, moved)
        self.policy = RuralModel(self.params, seed=self.master_seed, household_agents=False)
        self.twin = RuralModel(twin_params(self.params), seed=self.master_seed, household_agents=False) if twin else None
        self.calendar_years = list(self.policy.calendar_years)
        self.reference = reference_index()
        self.history: dict[str, list[dict]] = {"policy": [], "twin": []}

    @property
    def settings(self) -> dict[str, tuple[object, str, str]]:
        """Each slider parameter's value in this run, its unit and where the value came from
        (the scenario or a slider)."""
        return {name: (self.params.get(name), parameter_spec(name)["unit"], self.sources[name]) for name in SLIDER_NAMES}

    @property
    def year(self) -> int | None:
        """The calendar year last simulated (None before the first step)."""
        return self.calendar_years[self.steps - 1] if self.steps else None

    def frame(self, world: str = "policy") -> pd.DataFrame:
        """The recorded rows of ``world`` ("policy" or "twin"), one per simulated year."""
        return pd.DataFrame(self.history[world])

    def step(self) -> None:
        """Simulate the next calendar year in both worlds."""
        if self.steps > len(self.calendar_years):
            self.steps -= 1  # Mesa counted a year that is not simulated
            self.running = False
            return
        for name, world in (("policy", self.policy), ("twin", self.twin)):
            if world is not None:
                world.step()
                self.history[name].append(world_row(world, self.reference))
        self.running = self.policy.running

    def village_view(self, county: int, world: str = "policy") -> dict:
        """The villages of one county in ``world`` now: per village the person-weighted poverty
        rate (national line) and participation, the households (poor, organisation type), and
        the organisations operating there (``cooperative_villages``; ``enterprises`` active in
        the county)."""
        m = self.policy if world == "policy" else self.twin
        if m is None:
            raise ValueError("the twin is off")
        w = m.world
        hh, v, o = w.households, w.villages, w.organisations
        villages = np.flatnonzero(v.county_id == county)
        if villages.size == 0:
            raise ParameterError(f"county = {county} is not allowed: counties are 0..{w.counties.n - 1}")
        income_pc = hh.income_total / hh.famsize
        poor = income_pc < self.params.poverty.line_national
        member = hh.participating == 1
        rows = []
        for vid in villages:
            sel = np.flatnonzero(hh.village_id == vid)
            fam = hh.famsize[sel].astype(float)
            rows.append({
                "village": int(vid),
                "poverty": float(np.average(poor[sel], weights=fam)) if sel.size else math.nan,
                "participation": float(member[sel].mean()) if sel.size else math.nan,
                "households_poor": poor[sel].copy(),
                "households_org": np.where(member[sel], hh.org_type[sel], 0).astype(int),
            })
        coops = (o.org_type == OrgType.COOPERATIVE) & (o.active == 1)
        ents = (o.org_type == OrgType.ENTERPRISE) & (o.active == 1) & (o.county_id == county)
        return {"villages": rows, "cooperative_villages": set(int(x) for x in o.village_id[coops]),
                "enterprises": int(ents.sum()), "simulated": self.steps > 0}
