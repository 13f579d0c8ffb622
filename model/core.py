"""``RuralModel``: the Mesa model that holds the state arrays and runs the yearly schedule."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Iterable, Mapping

import mesa
import numpy as np
import pandas as pd

from .draws import draw_year
from .params import FORMS, ORGANISATION_TYPES, PRODUCTS, REGIONS, ParameterError, Params
from .population import build_households, build_organisations, build_places
from .processes.outcomes import county_outcomes, household_outcomes
from .processes.production import normal_revenue
from .recorder import PanelRecorder
from .schedule import SCHEDULE
from .world import World

UNOBSERVABLE_COLUMNS = ("entrepreneurial_drive",)


class RuralModel(mesa.Model):
    """A rural region simulated year by year under an integration policy.

    Parameters
    ----------
    params : Params, optional
        Validated parameters (defaults if omitted).
    seed : int
        Master seed. Every random process draws from ``SeedSequence(seed, (process, year))``.
    household_agents : bool
        Create a Mesa ``Household`` façade per household (``model.households``). Costs ~7 us
        and ~1 kB per household; large vectorised runs can switch it off.
    per_agent : bool
        Step households, organisations and counties one agent at a time through their Mesa
        façades (the same equations; slow, for checking and teaching). Needs household agents.
    participation_override : mapping or array, optional
        Households forced out of (-1) or into (+1) integration; everything else unchanged.
    """

    def __init__(self, params: Params | None = None, seed: int = 0, *, household_agents: bool = True,
                 per_agent: bool = False, participation_override=None):
        super().__init__(seed=seed)
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ParameterError(f"seed = {seed!r} is not allowed: must be a non-negative integer")
        if per_agent and not household_agents:
            raise ParameterError("per_agent = True needs household_agents = True")
        self.params = params if params is not None else Params()
        self.params.validate()
        self.master_seed = int(seed)
        self.per_agent = per_agent
        p = self.params
        villages, counties = build_places(p, self.master_seed)
        households = build_households(p, self.master_seed, villages, counties)
        organisations = build_organisations(p, self.master_seed, villages, counties)
        self.world = World(params=p, seed=self.master_seed, households=households, villages=villages,
                           counties=counties, organisations=organisations)
        w = self.world
        n = households.n
        w.applied_org = np.full(n, -1, dtype=np.int32)
        w.application_score = np.zeros(n)
        w.sales = np.zeros(n)
        w.disaster_value = np.zeros(n)
        w.county_households = np.bincount(households.county_id, minlength=counties.n)
        w.enterprise_for = np.full((counties.n, len(PRODUCTS)), -1, dtype=np.int64)
        w.income_last = self._expected_income()
        w.income_pc_last = w.income_last / households.famsize
        if participation_override is not None:
            self.set_participation_override(participation_override)

        c = p.calendar
        self.calendar_years = list(range(c.start_year, c.end_year + 1))
        n_years = len(self.calendar_years)
        self._households_rec = PanelRecorder(households, n_years)
        self._counties_rec = PanelRecorder(counties, n_years)
        self._organisations_rec = PanelRecorder(organisations, n_years)
        self.year_index = 0

        from ruralabm.agents import Cooperative, County, Household, LeadingEnterprise  # façades import the model package

        County.create_agents(self, counties.n, row=list(range(counties.n)))
        coop_rows = np.flatnonzero(organisations.org_type == 1).tolist()
        ent_rows = np.flatnonzero(organisations.org_type == 2).tolist()
        if coop_rows:
            Cooperative.create_agents(self, len(coop_rows), row=coop_rows)
        if ent_rows:
            LeadingEnterprise.create_agents(self, len(ent_rows), row=ent_rows)
        if household_agents:
            Household.create_agents(self, n, row=list(range(n)))
        self._agent_classes = {"county": [County], "organisation": [Cooperative, LeadingEnterprise],
                               "household": [Household]}
        self._functions = {name: fn for name, _, fn in SCHEDULE}
        self._functions["enterprise_index"] = self._index_enterprises
        self._functions["record_outcomes"] = self._record
        self.phase_log: list[str] = []

    # --- Mesa-facing collections --------------------------------------------------------
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
        return self.year_index >= len(self.calendar_years)

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
        """Simulate one calendar year."""
        if self.finished:
            raise RuntimeError(f"the run has ended at {self.calendar_years[-1]}")
        w = self.world
        w.year = self.calendar_years[self.year_index]
        o = w.organisations
        w.draws = draw_year(self.master_seed, w.year, w.households.n, w.villages.n, w.counties.n, o.n)
        for name, level, _ in SCHEDULE:
            self.phase_log.append(name)
            fn = self._functions[name]
            if level == "world" or not self.per_agent:
                fn(w) if level == "world" else fn(w, slice(None))
            else:
                for cls in self._agent_classes[level]:
                    agents = self.agents_by_type.get(cls)
                    if agents is not None:
                        agents.do("run_phase", fn)
        self.year_index += 1

    def run(self, years: int | None = None, progress: bool = False) -> "RuralModel":
        remaining = len(self.calendar_years) - self.year_index
        steps = remaining if years is None else min(years, remaining)
        iterator: Iterable[int] = range(steps)
        if progress:
            from tqdm.auto import tqdm
            iterator = tqdm(iterator, desc="simulating", unit="year")
        for _ in iterator:
            self.step()
        return self

    def _index_enterprises(self, w: World) -> None:
        """Which active enterprise contracts each (county, product): the lowest-numbered one."""
        o = w.organisations
        w.enterprise_for[:] = -1
        ent = np.flatnonzero((o.org_type == 2) & (o.active == 1))
        # np.unique keeps the first (lowest-numbered) enterprise of each (county, product).
        n_products = w.enterprise_for.shape[1]
        _, first = np.unique(o.county_id[ent].astype(np.int64) * n_products + o.product[ent], return_index=True)
        ent = ent[first]
        w.enterprise_for[o.county_id[ent], o.product[ent]] = ent

    def _record(self, w: World) -> None:
        hh = w.households
        income_pc = hh.income_total / hh.famsize
        county_outcomes(w, income_pc)
        t = self.year_index
        self._households_rec.record(t, w.year, hh)
        self._counties_rec.record(t, w.year, w.counties)
        self._organisations_rec.record(t, w.year, w.organisations)
        w.income_last = hh.income_total.copy()
        w.income_pc_last = income_pc

    def _expected_income(self) -> np.ndarray:
        """A household's income at normal prices and no shocks: what it expects before year 1."""
        w, e = self.world, self.params.economy
        hh = w.households
        idx = slice(None)
        wage = e.wage_per_worker * np.exp(e.wage_return_to_education * hh.edu
                                          + np.asarray(e.region_wage_premium)[hh.region])
        return (normal_revenue(w, idx) * (1 - e.input_cost_share) + hh.twork * wage
                + hh.subsidy * hh.famsize * self.params.policy.subsidy_per_capita
                + hh.productive_assets * e.business_return)

    # --- outputs --------------------------------------------------------------------------
    def household_panel(self, derived: bool = True) -> pd.DataFrame:
        """One row per household-year: ids, CLDS covariates, treatment, capitals, income by
        source, consumption, coping, poverty under the three lines and resilience indicators.

        ``df.attrs["unobservable"]`` lists columns an estimator must not use.
        """
        rec = self._households_rec
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
        df = pd.DataFrame(data, copy=False)
        df["region"] = pd.Categorical.from_codes(df["region"], REGIONS)
        df.attrs["unobservable"] = list(UNOBSERVABLE_COLUMNS)
        df.attrs["seed"] = self.master_seed
        return df

    @property
    def censor_date(self) -> float:
        """``calendar.censor_date``, or the end of the last simulated year if that is earlier:
        the model cannot observe what happens after it stops."""
        rec = self._counties_rec
        last = rec.years[rec.recorded - 1] if rec.recorded else self.params.calendar.start_year - 1
        return float(min(self.params.calendar.censor_date, last + 1))

    def county_panel(self) -> pd.DataFrame:
        """One row per county-year, with exit dates and censoring at :attr:`censor_date`."""
        rec = self._counties_rec
        t, n = rec.recorded, rec.n
        data = {"county_id": np.tile(np.arange(n), t), "year": np.repeat(rec.years[:t].astype(np.int16), n)}
        for c in rec.columns:
            data[c] = rec.flat(c)
        df = pd.DataFrame(data)
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
            "exit_date": exit_date,
            "exited": observed.astype(np.int8),
            "days_to_exit": (end - c.policy_start_year) * 365.25,
        })
        return out.reset_index()

    def organisations_panel(self) -> pd.DataFrame:
        """One row per organisation-year (cooperatives and leading enterprises)."""
        rec = self._organisations_rec
        t, n = rec.recorded, rec.n
        data = {"org_id": np.tile(np.arange(n), t), "year": np.repeat(rec.years[:t].astype(np.int16), n)}
        for c in rec.columns:
            data[c] = rec.flat(c)
        df = pd.DataFrame(data)
        df["org_type"] = pd.Categorical.from_codes(df["org_type"] - 1, ORGANISATION_TYPES)
        df["form"] = pd.Categorical.from_codes(df["form"], FORMS)
        return df

    @property
    def panel_nbytes(self) -> int:
        return self._households_rec.nbytes + self._counties_rec.nbytes + self._organisations_rec.nbytes
