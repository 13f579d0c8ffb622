"""Struct-of-arrays state held by the model: one numpy array per variable.

Households, villages, counties and organisations each have a state object whose attributes
are equal-length arrays. Agents (``agents/``) are façades that read and write one row; the
yearly processes (``model/processes``) are functions over these arrays, so both paths see
the same numbers.
"""
from __future__ import annotations

import numpy as np

# name -> (dtype, unit / meaning). The order is the order of the household panel's columns.
HOUSEHOLD_VARIABLES: dict[str, tuple[str, str]] = {
    # identity and place
    "region": ("int8", "0 east, 1 central, 2 west"),
    "county_id": ("int32", "county index"),
    "village_id": ("int32", "village index"),
    # CLDS covariates (names and codings of the CLDS paper, Table 1)
    "age": ("float32", "age of household head, years"),
    "health": ("int8", "head's self-rated health, 1 very unhealthy .. 5 very healthy"),
    "job": ("int8", "head works (1/0)"),
    "famsize": ("int16", "household members"),
    "machine": ("int16", "agricultural machines owned (count)"),
    "subsidy": ("int8", "receives the low-income subsidy (dibao) (1/0)"),
    "distance": ("float32", "km to the nearest commercial centre (village)"),
    "hroad": ("float32", "% of village roads hardened (village)"),
    "lamp": ("int8", "village has street lights (1/0)"),
    "edu": ("int8", "head's schooling, coded 0/3/6/9/12/13/16"),
    "ability": ("int8", "a member received skills training (1/0)"),
    "twork": ("int16", "members with stable non-farm jobs (count)"),
    # members and their work (population.design 'national'; demography and labour processes)
    "children": ("int16", "members under 16"),
    "adults": ("int16", "members aged 16-59 (the head included when under 60; migrants included)"),
    "elderly": ("int16", "members aged 60 and over (the head included when 60 or over)"),
    "migrants": ("int16", "adults working away most of the year: not usual residents (their earnings arrive as remittances)"),
    "local_workers": ("int16", "resident adults with a local non-farm job (organisation jobs not included)"),
    "org_jobs": ("int16", "resident adults employed by the household's organisation (processing, services)"),
    "residents": ("int16", "usual residents: members less migrants (the per-capita denominator of income)"),
    "remittance_share": ("float32", "share of a migrant's earnings sent home (household trait)"),
    # unobserved trait: known to the simulation, never to an estimator
    "entrepreneurial_drive": ("float32", "UNOBSERVED: standard-normal entrepreneurial drive"),
    # human capital
    "labour": ("float32", "adult-equivalent workers available for the farm"),
    "skills": ("float32", "skills index 0-1"),
    # natural capital
    "land_area": ("float32", "contracted land, mu (1 mu = 1/15 ha)"),
    "land_quality": ("float32", "land quality index 0-1"),
    "land_farmed": ("float32", "land farmed this year, mu: contracted - rented out - let to organisations + rented in"),
    "land_rented_in": ("float32", "land rented in from other households this year, mu"),
    "land_rented_out": ("float32", "land rented out to other households this year, mu"),
    "land_to_organisation": ("float32", "land leased to the household's organisation (enterprise base or cooperative land shares), mu"),
    "product": ("int8", "main product: 0 grain, 1 cash crop, 2 livestock, 3 horticulture"),
    # physical capital
    "productive_assets": ("float32", "non-machinery productive assets, yuan"),
    "housing": ("float32", "housing value, yuan"),
    # financial capital
    "savings": ("float32", "savings, yuan"),
    "debt": ("float32", "outstanding debt, yuan"),
    # social capital
    "network_ties": ("float32", "kin and village ties a household can call on (count)"),
    "trust": ("float32", "trust in organisations and neighbours, 0-1"),
    "membership_years": ("int16", "years of organisation membership so far"),
    # learning state
    "tech_adopted": ("int8", "uses an improved technology (1/0)"),
    "trained": ("int8", "trained this year (1/0)"),
    "trained_ever": ("int8", "trained since the start of the run (1/0)"),
    "info_access": ("float32", "market-information access index 0-1"),
    # treatment
    "participating": ("int8", "participates in integration this year (1/0)"),
    "org_id": ("int32", "organisation index, -1 if none"),
    "org_type": ("int8", "0 none, 1 cooperative, 2 leading enterprise"),
    "form": ("int8", "-1 none, 0 vertical chain, 1 technology diffusion, 2 agritourism, 3 e-commerce"),
    "start_year": ("int16", "first year of participation, 0 if never"),
    "registered_poor": ("int8", "registered as poor under the targeted poverty-alleviation policy (1/0)"),
    "cooperative_in_village": ("int8", "the village has an operating cooperative this year (1/0)"),
    "shell_member": ("int8", "still a registered member of a cooperative that stopped operating (a 'shell'), until the shells' clean-up or joining another organisation (1/0)"),
    "forced": ("int8", "participation override: -1 forced out, 0 free, 1 forced in"),
    # shocks this year
    "health_shock": ("int8", "serious illness or injury this year (1/0)"),
    "disaster_loss": ("float32", "share of yield lost to natural disaster this year"),
    "contract_reneged": ("int8", "enterprise reneged on this household's contract this year (1/0)"),
    "side_sold": ("int8", "household side-sold contracted output this year (1/0)"),
    # income by source, yuan per year (net of production costs)
    "income_farm": ("float64", "net farm income, yuan"),
    "income_wage": ("float64", "wage income, yuan"),
    "income_business": ("float64", "non-farm business income (tourism, online sales, own business), yuan"),
    "income_transfers": ("float64", "subsidy, targeted transfers and network transfers received, yuan"),
    "income_dividends": ("float64", "cooperative surplus returned, risk-fund payouts and interest, yuan"),
    "income_total": ("float64", "sum of the five sources, yuan"),
    # detail of the sources (each is part of one of the five above)
    "remittances": ("float64", "remittances from migrant members (part of income_transfers), yuan"),
    "pension": ("float64", "rural pension of elderly members (part of income_transfers), yuan"),
    "ag_subsidy": ("float64", "agricultural subsidies on contracted land (part of income_transfers), yuan"),
    "land_rent_received": ("float64", "rent and land-share dividends received (part of income_dividends), yuan"),
    "land_rent_paid": ("float64", "rent paid for land rented in (a cost in income_farm), yuan"),
    "share_dividends": ("float64", "cooperative dividends on share capital (part of income_dividends), yuan"),
    "org_wages": ("float64", "pay of organisation jobs (part of income_wage), yuan"),
    "medical_cost": ("float64", "out-of-pocket medical spending (part of consumption), yuan"),
    "consumption": ("float64", "consumption incl. medical spending, yuan"),
    "saving": ("float64", "income_total - consumption, yuan"),
    "investment": ("float64", "productive investment incl. machinery, yuan"),
    # coping this year
    "savings_drawdown": ("float64", "savings used to defend consumption, yuan"),
    "network_transfer": ("float64", "transfers from kin and village network, yuan"),
    "borrowing": ("float64", "new borrowing to defend consumption, yuan"),
    "distress_sales": ("float64", "proceeds of distress asset sales, yuan"),
    "consumption_shortfall": ("float64", "subsistence need not met, yuan"),
}


class ArrayState:
    """A bag of equal-length numpy arrays created from a {name: (dtype, doc)} spec."""

    spec: dict[str, tuple[str, str]] = {}

    def __init__(self, n: int, spec: dict[str, tuple[str, str]] | None = None):
        self.n = int(n)
        self._spec = dict(spec if spec is not None else self.spec)
        for name, (dtype, _) in self._spec.items():
            setattr(self, name, np.zeros(self.n, dtype=dtype))

    @property
    def names(self) -> list[str]:
        return list(self._spec)

    def row(self, i: int) -> dict:
        return {name: getattr(self, name)[i].item() for name in self._spec}

    def copy(self) -> "ArrayState":
        new = object.__new__(type(self))
        new.n = self.n
        new._spec = dict(self._spec)
        for name in self._spec:
            setattr(new, name, getattr(self, name).copy())
        return new


class HouseholdState(ArrayState):
    spec = HOUSEHOLD_VARIABLES


VILLAGE_VARIABLES = {
    "county_id": ("int32", "county index"),
    "region": ("int8", "0 east, 1 central, 2 west"),
    "distance": ("float32", "km to the nearest commercial centre"),
    "hroad": ("float32", "% of roads hardened"),
    "lamp": ("int8", "street lights (1/0)"),
    "product": ("int8", "main product of the village"),
    "cooperative_id": ("int32", "the village's cooperative, -1 if none"),
    "disaster_loss": ("float32", "share of yield lost this year"),
    "adoption_share": ("float32", "share of households using improved technology (last year)"),
    "households": ("int32", "number of households"),
}

COUNTY_VARIABLES = {
    "region": ("int8", "0 east, 1 central, 2 west"),
    "ethnic_minority": ("int8", "ethnic-minority area (1/0)"),
    "main_industry": ("int8", "main industry is agriculture (1) or not (0)"),
    "resource_endowment": ("float64", "GDP per capita proxy, 10k yuan"),
    "budget": ("float64", "discretionary budget this year, yuan"),
    "training_slots": ("int32", "people the training budget pays for this year"),
    "population": ("float64", "residents"),
    "poverty_headcount": ("float64", "share of residents below the national line"),
    "upgrading_index": ("float64", "industrial upgrading index: non-farm share of income x 10"),
    "primary_secondary": ("float64", "primary-secondary integration: machines per 10 residents"),
    "primary_tertiary": ("float64", "primary-tertiary integration: tourism and e-commerce income per resident, 100 yuan"),
    "exited": ("int8", "has exited the poor-county list (1/0)"),
    "exit_date": ("float64", "decimal year of exit, NaN if not (yet)"),
    # industrial structure with causal channels (county.structure_channels) and the exit campaign
    "endowment": ("float64", "county endowment factor (mean one): multiplies local wages and budgets"),
    "machinery_power": ("float64", "agricultural machinery power (and processing capacity), kW per resident"),
    "ag_services": ("float64", "output of agricultural services, 100 yuan per resident"),
    "farm_factor": ("float64", "this year's farm productivity multiplier from primary-secondary integration"),
    "wage_factor": ("float64", "this year's local non-farm earnings multiplier (endowment, processing jobs)"),
    "business_factor": ("float64", "this year's business income multiplier (matured agricultural services)"),
    "poverty_incidence": ("float64", "survey-weighted poverty incidence (share of represented residents below the line)"),
    "plan_year": ("int16", "assessment year the provincial plan schedules, 0 if none"),
    "applied": ("int8", "applied for exit this year (1/0)"),
    "assessed_incidence": ("float64", "incidence measured by this year's third-party assessment, NaN if none"),
    "failed_assessments": ("int16", "assessments failed so far"),
    "exit_year": ("int16", "assessment year of the exit (the official batch year), 0 if not (yet)"),
    # population.design 'national'
    "poor_county": ("int8", "designated national poor county (1/0); with design 'table1' every county is"),
    "income_factor": ("float64", "county level of farm productivity, local wages and business returns (region x county), mean about one"),
}

ORGANISATION_VARIABLES = {
    "org_type": ("int8", "1 cooperative, 2 leading enterprise"),
    "form": ("int8", "0 vertical chain, 1 technology diffusion, 2 agritourism, 3 e-commerce"),
    "county_id": ("int32", "county"),
    "village_id": ("int32", "village (cooperatives), -1 for enterprises"),
    "product": ("int8", "product the organisation markets or contracts"),
    "capacity": ("int32", "maximum members / contracts"),
    "management_quality": ("float32", "0-1"),
    "active": ("int8", "operating this year (1/0)"),
    "enabled": ("int8", "allowed by the policy (1/0)"),
    "failed_year": ("int16", "year of failure, 0 if none"),
    "members": ("int32", "members / contracts this year"),
    "sales": ("float64", "members' sales through the organisation this year, yuan"),
    "surplus": ("float64", "cooperative surplus this year, yuan"),
    "surplus_returned": ("float64", "surplus returned to members this year, yuan"),
    "risk_fund": ("float64", "cooperative risk-pooling fund balance, yuan"),
    "contract_price": ("float64", "enterprise contract price, share of normal price"),
    "reneged": ("int8", "enterprise reneged this year (1/0)"),
    "side_sellers": ("int32", "contract farmers who side-sold this year"),
}


class VillageState(ArrayState):
    spec = VILLAGE_VARIABLES


class CountyState(ArrayState):
    spec = COUNTY_VARIABLES


class OrganisationState(ArrayState):
    spec = ORGANISATION_VARIABLES


# Bytes per household besides the state and its recorder: the year's pre-drawn random numbers
# and the processes' float64 temporaries (measured: about 1 KB at 100,000 households), plus the
# next year's draws, made in the background while a year runs (224 bytes).
HOUSEHOLD_WORKING_BYTES = 1024 + 256
# Columns the household panel derives on top of the recorded ones (float64 each, per year).
PANEL_DERIVED_COLUMNS = 24


def household_bytes() -> int:
    """Bytes of one household's state arrays (model/state.py specs)."""
    return int(sum(np.dtype(d).itemsize for d, _ in HOUSEHOLD_VARIABLES.values()))


def estimate_bytes(n_households: int, n_years: int, panel: bool = False) -> int:
    """Memory a run needs: the state, its (years x households) recorder buffers, working arrays
    and, with ``panel``, the household panel DataFrame built from the buffers."""
    per = household_bytes() * (1 + n_years) + HOUSEHOLD_WORKING_BYTES
    if panel:
        per += (household_bytes() + 8 * PANEL_DERIVED_COLUMNS) * n_years
    return int(n_households) * per


def check_memory(params, what: str = "the run", panel: bool = False, copies: int = 1,
                 available: int | None = None) -> None:
    """Raise ParameterError, before anything is allocated, if the run's arrays cannot fit in the
    memory available (MemAvailable of /proc/meminfo; nothing is checked where it is unknown)."""
    from .params import ParameterError

    if available is None:
        try:
            with open("/proc/meminfo") as fh:
                available = next((int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:")),
                                 None)
        except (OSError, ValueError):
            available = None
    if available is None:
        return
    n = int(params.population.n_households)
    years = int(params.calendar.end_year) - int(params.calendar.start_year) + 1
    need = estimate_bytes(n, years, panel) * max(1, int(copies))
    if need > available:
        per = f" ({copies} at once)" if copies > 1 else ""
        raise ParameterError(
            f"{what}: {n:,} households x {years} years need about {need / 2**30:.1f} GiB of memory{per}, "
            f"but only {available / 2**30:.1f} GiB is available; simulate fewer households or years")
