"""``RuralModel``: the Mesa model that holds the state arrays and runs the yearly schedule."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Iterable, Mapping

import mesa
import numpy as np
import pandas as pd

from .draws import DrawPrefetcher
from .enums import ORG_TYPE_OFFSET, OrgType
from .parallel import HouseholdBlocks
from .params import FORMS, ORGANISATION_TYPES, PRODUCTS, REGIONS, ParameterError, Params, parameter_spec
from .population import build_households, build_organisations, build_places
from .population_national import build_households_national, build_places_national
from .processes.policy import initial_subsidy
from .processes.outcomes import household_outcomes
from .processes.production import expected_income
from .recorder import PanelRecorder
from .reporters import make_datacollector, year_summary
from .scenario_files import scenario_params
from .schedule import SCHEDULE
from .state import check_memory
from .world import World, build_world

UNOBSERVABLE_COLUMNS = ("entrepreneurial_drive",)
# Money in the panels: real yuan at 2014 prices (official nominal series are deflated with the rural
# CPI to compare: calibration/patterns.toml [deflator]).
PRICE_BASIS = "constant 2014 yuan (real; official nominal series deflated with the NBS rural CPI)"


def _resolve_params(params, scenario, overrides: dict) -> Params:
    """``params`` or ``scenario`` (name or TOML path), then dotted ``overrides`` applied together
    with one validation of the whole set. ``params`` itself is not changed by overrides."""
    if params is not None and scenario is not None:
        raise ParameterError("give either params or scenario, not both")
    if params is not None and not isinstance(params, Params):
        raise ParameterError(f"params = {params!r} must be a Params (use scenario= for a scenario name or file)")
    for key in overrides:
        section, dot, name = key.partition(".")
        if not dot or not section or not name:
            raise ParameterError(f"unknown keyword argument '{key}': RuralModel takes params, seed, scenario, "
                                 f"household_agents, per_agent, participation_override and dotted parameter "
                                 f"overrides such as population.n_households")
        parameter_spec(key.partition("[")[0])  # an unknown key is an error naming it
    if scenario is not None:
        params = scenario_params(scenario)
    elif params is None:
        params = Params()
    elif overrides:
        params = params.copy()
    if overrides:
        params.set_many(overrides)  # every key checked, then the whole set validated once
    return params


def _draw_sizes(p: Params, households, villages, counties, organisations) -> tuple:
    """What a year's draws depend on besides seed and year (model/draws.py ``draw_year``)."""
    return (households.n, villages.n, counties.n, organisations.n, p.labour.enabled, p.demography.enabled,
            p.registration.rule == "assessment")


class RuralModel(mesa.Model):
    """A rural region simulated year by year under an integration policy.

    Parameters
    ----------
    params : Params, optional
        Validated parameters (defaults if omitted).
    seed : int
        Master seed. Every random process draws from ``SeedSequence(seed, (process, year))``.
    scenario : str or path, optional
        A shipped scenario name or a scenario TOML file, instead of ``params``.
    household_agents : bool
        Whether ``model.households`` has a Mesa ``Household`` façade per household. They are
        built in bulk on first use (``model.households``, ``model.agents``,
        ``model.agents_by_type``; ~1.5 us per household), so a run that never touches them pays
        nothing. ``False`` means there are none.
    per_agent : bool
        Step households, organisations and counties one agent at a time through their Mesa
        façades (the same equations; slow, for checking and teaching). Needs household agents.
    participation_override : mapping or array, optional
        Households forced out of (-1) or into (+1) integration; everything else unchanged.
    **overrides
        Dotted parameter overrides applied on top of ``params`` or ``scenario``, validated
        together: ``RuralModel(scenario="cooperative", seed=1, **{"population.n_households": 2000})``.
        This is the flat form ``mesa.batch_run`` passes.

    Notes
    -----
    Mesa's contract: ``model.steps`` counts simulated years (Mesa's own counter), ``running``
    turns False after the last calendar year, ``run_model()`` runs the calendar to its end, and
    ``model.datacollector`` holds the yearly reporters (model/reporters.py). Stepping a finished
    model raises ``RuntimeError`` and leaves ``steps`` unchanged.
    """

    # Draw next year's random numbers in a background thread (model/draws.py DrawPrefetcher);
    # the numbers are the same either way.
    prefetch_draws: bool = True
    # Threads of a run (None: the cores available, at most 4; model/parallel.py): one works ahead
    # (panel rows), the others take a block of households each in the household-level processes;
    # the outputs are the same with any number.
    household_threads: int | None = None

    def __init__(self, params: Params | None = None, seed: int = 0, *, scenario=None, household_agents: bool = True,
                 per_agent: bool = False, participation_override=None, **overrides):
        # Checked before Mesa's own seeding, which raises numpy's error for a negative seed.
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ParameterError(f"seed = {seed!r} is not allowed: must be a non-negative integer")
        super().__init__(seed=seed)
        if per_agent and not household_agents:
            raise ParameterError("per_agent = True needs household_agents = True")
        self.params = _resolve_params(params, scenario, overrides)
        self.params.validate()
        check_memory(self.params, "RuralModel")  # refuse before allocating arrays that cannot fit
        self.master_seed = int(seed)
        self.per_agent = per_agent
        p = self.params
        if p.population.design == "national":
            villages, counties = build_places_national(p, self.master_seed)
            households = build_households_national(p, self.master_seed, villages, counties)
        else:
            villages, counties = build_places(p, self.master_seed)
            households = build_households(p, self.master_seed, villages, counties)
        organisations = build_organisations(p, self.master_seed, villages, counties)
        c = p.calendar
        self.calendar_years = list(range(c.start_year, c.end_year + 1))
        # The first year's draws depend only on the sizes, known from here: drawn in the background
        # while the world is assembled (the later years' while the year before runs).
        self._draws = DrawPrefetcher(enabled=self.prefetch_draws)
        self._draws.prefetch(self.master_seed, self.calendar_years[0],
                             *_draw_sizes(p, households, villages, counties, organisations))
        self.world = build_world(p, self.master_seed, households, villages, counties, organisations)
        w = self.world
        w.income_last = expected_income(w)
        w.income_pc_last = w.income_last / households.residents
        if p.population.design == "national":
            initial_subsidy(w)  # the means test reads expected income, which includes the subsidy
            w.income_last = expected_income(w)
            w.income_pc_last = w.income_last / households.residents
        if participation_override is not None:
            self.set_participation_override(participation_override)

        # The panel buffers live on the world (the record_outcomes process writes them).
        self._households_rec = w.recorders.households
        self._counties_rec = w.recorders.counties
        self._organisations_rec = w.recorders.organisations
        self.year_index = 0
        self._blocks = HouseholdBlocks(households.n, self.household_threads)
        w.blocks = self._blocks

        from ruralabm.agents import Cooperative, County, Household, LeadingEnterprise  # façades import the model package

        County.create_rows(self, range(counties.n))
        Cooperative.create_rows(self, np.flatnonzero(organisations.org_type == OrgType.COOPERATIVE).tolist())
        LeadingEnterprise.create_rows(self, np.flatnonzero(organisations.org_type == OrgType.ENTERPRISE).tolist())
        # Household façades are built in bulk on first use (_ensure_households), eagerly only for
        # the per-agent path, which steps them every year.
        self._households_pending = bool(household_agents)
        if per_agent:
            self._ensure_households()
        self.datacollector = make_datacollector()
        self.year_summary: dict[str, float] = {}
        self._year_listeners: list = []  # called with the panel row t of each recorded year
        self._agent_classes = {"county": [County], "organisation": [Cooperative, LeadingEnterprise],
                               "household": [Household]}
        self.phase_log: list[str] = []

    # --- Mesa-facing collections --------------------------------------------------------
    def _ensure_households(self) -> None:
        """Build the household façades (in bulk) the first time anything asks for agents."""
        if self.__dict__.get("_households_pending"):
            self._households_pending = False
            from ruralabm.agents import Household
            Household.create_rows(self, range(self.world.households.n))

    @property
    def agents(self) -> mesa.agent.AgentSet:
        """All agents, as Mesa's ``Model.agents`` (household façades included, built on first use)."""
        self._ensure_households()
        return self._all_agents

    @agents.setter
    def agents(self, agents) -> None:
        mesa.Model.agents.fset(self, agents)  # Mesa forbids it; keep its message

    @property
    def agent_types(self) -> list[type]:
        self._ensure_households()
        return list(self._agents_by_type.keys())

    @property
    def agents_by_type(self) -> dict:
        """Mesa's ``Model.agents_by_type`` (household façades included, built on first use)."""
        self._ensure_households()
        return self._agents_by_type

    def remove_all_agents(self) -> None:
        self._ensure_households()
        super().remove_all_agents()

    @property
    def households(self) -> mesa.agent.AgentSet:
        from ruralabm.agents import Household
        return self.agents_by_type.get(Household, mesa.agent.AgentSet([], random=self.random))

    @property
    def cooperatives(self):
        from ruralabm.agents import Cooperative
        return self.agents_by_type.get(Cooperative, mesa.agent.AgentSet([], random=self.random))

    @property
    def enterprises(self):
        from ruralabm.agents import LeadingEnterprise
        return self.agents_by_type.get(LeadingEnterprise, mesa.agent.AgentSet([], random=self.random))

    @property
    def counties(self):
        from ruralabm.agents import County
        return self.agents_by_type[County]

    @property
    def current_year(self) -> int:
        return self.calendar_years[min(self.year_index, len(self.calendar_years) - 1)]

    @property
    def finished(self) -> bool:
        return self.steps >= len(self.calendar_years)

    # --- overrides ------------------------------------------------------------------------
    def set_participation_override(self, override) -> None:
        """Force households out of (-1) or into (+1) integration; 0 frees them.

        ``override`` is a mapping {household_id: -1|0|1} or an array of length n_households.
        """
        forced = self.world.households.forced
        if isinstance(override, Mapping):
            ids = np.fromiter(override.keys(), dtype=np.int64, count=len(override))
            vals = np.fromiter(override.values(), dtype=np.int64, count=len(override))
        else:
            vals = np.asarray(override, dtype=np.int64)
            if vals.shape != forced.shape:
                raise ParameterError(
                    f"participation_override has shape {vals.shape}; must be ({forced.size},) or a mapping of household ids")
            ids = np.arange(forced.size)
        if ids.size and (ids.min() < 0 or ids.max() >= forced.size):
            raise ParameterError(f"participation_override names household ids outside 0..{forced.size - 1}")
        if not np.isin(vals, (-1, 0, 1)).all():
            raise ParameterError("participation_override values must be -1 (forced out), 0 (free) or 1 (forced in)")
        forced[ids] = vals

    # --- stepping -------------------------------------------------------------------------
    def step(self) -> None:
        """Simulate one calendar year.

        Mesa wraps this method and has already counted the year in ``self.steps``: the year being
        simulated is ``calendar_years[steps - 1]``. After the last calendar year ``running`` is
        False; stepping a finished model raises ``RuntimeError`` (and takes the count back).
        """
        t = self.steps - 1
        if t >= len(self.calendar_years):
            self.steps = t  # Mesa counted a year that is not simulated
            self.running = False
            raise RuntimeError(f"the run has ended at {self.calendar_years[-1]} "
                               f"({len(self.calendar_years)} years simulated; model.running is False)")
        self.year_index = t
        w = self.world
        w.year = self.calendar_years[self.year_index]
        sizes = _draw_sizes(self.params, w.households, w.villages, w.counties, w.organisations)
        w.draws = self._draws.get(self.master_seed, w.year, *sizes)
        if self.year_index + 1 < len(self.calendar_years):
            self._draws.prefetch(self.master_seed, self.calendar_years[self.year_index + 1], *sizes)
        ahead = self._blocks.background()
        if ahead is not None:
            self._households_rec.prepare(w.record_index, ahead)
        for name, level, fn in SCHEDULE:
            self.phase_log.append(name)
            if level == "world":
                fn(w)
            elif not self.per_agent:
                self._blocks.run(fn, w) if level == "household" else fn(w, slice(None))
            else:
                for cls in self._agent_classes[level]:
                    agents = self.agents_by_type.get(cls)
                    if agents is not None:
                        agents.do("run_phase", fn)
        self.year_index = self.steps
        self._collect(w)

    def _collect(self, w: World) -> None:
        """The year's reporters into ``datacollector``; ``running`` off after the last year."""
        self.year_summary = year_summary(self.params, w.households, w.year)
        self.datacollector.collect(self)
        for listener in self._year_listeners:
            listener(self.steps - 1)
        if self.steps >= len(self.calendar_years):
            self.running = False

    def run(self, years: int | None = None, progress: bool = False) -> "RuralModel":
        remaining = len(self.calendar_years) - self.steps
        steps = remaining if years is None else min(years, remaining)
        iterator: Iterable[int] = range(steps)
        if progress:
            from tqdm.auto import tqdm
            iterator = tqdm(iterator, desc="simulating", unit="year")
        for _ in iterator:
            self.step()
        return self

    # --- outputs --------------------------------------------------------------------------
    def household_panel(self, derived: bool = True) -> pd.DataFrame:
        """One row per household-year: ids, CLDS covariates, treatment, capitals, income by
        source, consumption, coping, poverty under the three lines and resilience indicators.

        ``df.attrs["unobservable"]`` lists columns an estimator must not use.
        """
        data = self._household_columns(derived)
        df = pd.DataFrame(data, copy=False)
        df["region"] = pd.Categorical.from_codes(df["region"], REGIONS)
        df.attrs.update(self._household_attrs())
        return df

    def _recorder(self, name: str) -> PanelRecorder:
        """The panel buffers of ``households`` / ``counties`` / ``organisations``."""
        return getattr(self.world.recorders, name)

    def _household_columns(self, derived: bool = True) -> dict[str, np.ndarray]:
        """The household panel's columns as numpy arrays, in order (region as its int8 codes):
        views of the recorded buffers plus ids, years and the derived outcomes, computed once."""
        rec = self._recorder("households")
        t = rec.recorded
        n = rec.n
        data = {
            "household_id": np.tile(np.arange(n, dtype=np.int64), t),
            "year": np.repeat(rec.years[:t].astype(np.int16), n),
        }
        for c in rec.columns:
            data[c] = rec.flat(c)
        if derived and t:
            ns = SimpleNamespace(params=self.params, households=SimpleNamespace(**data))
            data.update(household_outcomes(ns))
        return data

    def _household_year_group(self, t: int) -> dict[str, np.ndarray]:
        """The columns of :meth:`_household_columns` for the rows of recorded year ``t`` only
        (the derived outcomes are elementwise, so they are the same numbers; a year at a time
        keeps the arrays in cache)."""
        rec = self._recorder("households")
        n = rec.n
        data = {"household_id": np.arange(n, dtype=np.int64), "year": np.full(n, rec.years[t], dtype=np.int16)}
        for c in rec.columns:
            data[c] = rec.buffers[c][t]
        ns = SimpleNamespace(params=self.params, households=SimpleNamespace(**data))
        data.update(household_outcomes(ns))
        return data

    def _household_attrs(self) -> dict:
        return {"unobservable": list(UNOBSERVABLE_COLUMNS), "seed": self.master_seed, "price_basis": PRICE_BASIS}

    def write_panels(self, out_dir) -> list[str]:
        """Write households, counties, county_exits and organisations ``.parquet`` to ``out_dir``.

        Each file reads back (``pd.read_parquet``) as exactly the DataFrame of the matching method
        (:meth:`household_panel`, :meth:`county_panel`, :meth:`county_exits`,
        :meth:`organisations_panel`), columns, dtypes, categoricals and ``attrs`` included. The
        household file, the large one, goes straight from the recorded buffers to Arrow (no
        DataFrame). Returns the file names written.
        """
        with self.stream_panels(out_dir) as stream:
            pass
        return stream.files

    def stream_panels(self, out_dir):
        """A context manager that writes the same files as :meth:`write_panels`, encoding each
        year's household rows in a worker thread as soon as the year is recorded::

            with model.stream_panels(out):
                model.run()

        The writing overlaps the simulation of the next years; the small panels are written on
        leaving the block (model/panels.py)."""
        from .panels import PanelStream
        return PanelStream(self, out_dir)

    def _recorded_frame(self, name: str, id_column: str) -> pd.DataFrame:
        """One row per unit-year of the ``name`` recorder: the id, the year and every column."""
        rec = self._recorder(name)
        t, n = rec.recorded, rec.n
        data = {id_column: np.tile(np.arange(n), t), "year": np.repeat(rec.years[:t].astype(np.int16), n)}
        for c in rec.columns:
            data[c] = rec.flat(c)
        return pd.DataFrame(data)

    @property
    def censor_date(self) -> float:
        """``calendar.censor_date``, or the end of the last simulated year if that is earlier:
        the model cannot observe what happens after it stops."""
        rec = self._recorder("counties")
        last = rec.years[rec.recorded - 1] if rec.recorded else self.params.calendar.start_year - 1
        return float(min(self.params.calendar.censor_date, last + 1))

    def county_panel(self) -> pd.DataFrame:
        """One row per county-year, with exit dates and censoring at :attr:`censor_date`."""
        df = self._recorded_frame("counties", "county_id")
        df["exit_observed"] = (df["exit_date"] <= self.censor_date).astype(np.int8)
        df["region"] = pd.Categorical.from_codes(df["region"], REGIONS)
        return df

    def county_exits(self) -> pd.DataFrame:
        """One row per county: time from the policy start to exit, right-censored.

        ``days_to_exit`` counts days from 1 January of the policy start year to the exit date or
        the censoring date (:attr:`censor_date`); ``exited`` is 1 if the exit is observed by then.
        Covariates are the county's indices in the policy start year (the 76-county paper's
        regressors).
        """
        panel = self.county_panel()
        c = self.params.calendar
        base_year = c.policy_start_year if c.policy_start_year in self.calendar_years else self.calendar_years[0]
        base = panel[panel["year"] == base_year].set_index("county_id")
        last = panel[panel["year"] == panel["year"].max()].set_index("county_id")
        exit_date = last["exit_date"]
        censor = self.censor_date
        observed = exit_date <= censor
        end = np.where(observed, exit_date, censor)
        out = pd.DataFrame({
            "region": base["region"],
            "ethnic_minority": base["ethnic_minority"],
            "main_industry": base["main_industry"],
            "resource_endowment": base["resource_endowment"],
            "upgrading_index": base["upgrading_index"],
            "primary_secondary": base["primary_secondary"],
            "primary_tertiary": base["primary_tertiary"],
            "poverty_headcount_start": base["poverty_headcount"],
            "poor_county": base["poor_county"],
            "exit_date": exit_date,
            "exited": observed.astype(np.int8),
            "days_to_exit": (end - c.policy_start_year) * 365.25,
        })
        return out.reset_index()

    def organisations_panel(self) -> pd.DataFrame:
        """One row per organisation-year (cooperatives and leading enterprises)."""
        df = self._recorded_frame("organisations", "org_id")
        df["org_type"] = pd.Categorical.from_codes(df["org_type"] - ORG_TYPE_OFFSET, ORGANISATION_TYPES)
        df["form"] = pd.Categorical.from_codes(df["form"], FORMS)
        return df

    @property
    def panel_nbytes(self) -> int:
        return sum(self._recorder(name).nbytes for name in ("households", "counties", "organisations"))
