"""Members' work: farm, local non-farm jobs or migrant work (``labour.enabled``, design 'national').

Each year, before anything is produced, a household's adults move between three states:

* a migrant may come back to live at home (``return_rate``; ``health_return`` more in a year after
  a serious illness in the household, the issue's "health shocks can end migration");
* a local non-farm worker may lose the job (``local_job_loss``: local jobs are less stable);
* a resident adult without a stable job may leave to work away (``migrate_rate``) or find a
  local job (``local_job_rate`` x the county's income factor x market access), both rising with
  schooling and with the structural trend ``job_trend``.

At most one move of each kind per household and year (one uniform each, stream ``labour``), so a
household's draws never depend on another's or on the policy (common random numbers).

Income is counted the way the household survey counts it: a migrant is not a usual resident, so
migrants' earnings are not the household's wages; what they send home (``remittance_share`` of
their earnings) is transfer income. Local workers' and organisation jobs' pay is wage income.
Elderly members draw the rural pension and contracted land the agricultural subsidies (transfer
income). Earnings follow the official migrant-wage path (``wage_index``, 2014 prices).
"""
from __future__ import annotations

import numpy as np

from ..world import World
from .arrays import at_least

SCHOOLING_CENTRE = 6.0  # CLDS code of completed primary school: earnings are relative to it
# every value of the int8 schooling code, in the order of its bytes read as uint8 (0 .. 127, -128 .. -1)
_EDU_CODES = np.arange(256, dtype=np.uint8).view(np.int8)


def schooling_factor(rate: float, edu: np.ndarray) -> np.ndarray:
    """``exp(rate * (edu - SCHOOLING_CENTRE))`` for int8 schooling codes, looked up in a table of
    the 256 codes: the same numbers as computing it per household (the table is computed by the
    same operations), at a fifth of the time."""
    table = np.exp(rate * (_EDU_CODES - SCHOOLING_CENTRE))
    return table.take(edu.view(np.uint8))


def path_value(path, first_year: int, year: int) -> float:
    """The entry of a yearly path (``path[0]`` is ``first_year``) for a calendar year; years
    outside the path hold the nearest value."""
    i = min(max(int(year) - first_year, 0), len(path) - 1)
    return float(path[i])


def year_index(lp, year: int) -> float:
    """The real wage index of a calendar year (2014 = 1)."""
    return path_value(lp.wage_index, lp.wage_index_first_year, year)


def pension_level(lp, year: int) -> float:
    """Pension per elderly member in a calendar year (2014 prices)."""
    return lp.pension * (1.0 + lp.pension_growth) ** (int(year) - 2014)


def job_trend(lp, year: int) -> float:
    return (1.0 + lp.job_trend) ** (int(year) - 2014)


def local_factor(world: World, idx) -> np.ndarray:
    """The county's multiplier of local earnings: its income factor and (with the county structure
    channels) processing jobs and endowment."""
    c = world.counties
    factor = c.income_factor
    if world.params.county.structure_channels:
        factor = factor * c.wage_factor  # per county first: one gather instead of two
    return np.take(factor, world.households.county_id[idx])


def local_pay(world: World, idx, z: np.ndarray | None = None) -> np.ndarray:
    """Pay of one local non-farm worker of the household this year (its expectation without ``z``)."""
    lp, hh = world.params.labour, world.households
    pay = lp.local_earnings * year_index(lp, world.year) * local_factor(world, idx)
    pay = pay * schooling_factor(world.params.economy.wage_return_to_education, hh.edu[idx])
    if z is not None:
        pay = pay * np.exp(lp.earnings_sd * z - lp.earnings_sd**2 / 2)
    return pay


def migrant_pay(world: World, idx, z: np.ndarray | None = None) -> np.ndarray:
    """Earnings of one migrant of the household this year: set in the cities, the same across
    regions, with the return to schooling."""
    lp, hh = world.params.labour, world.households
    pay = lp.migrant_earnings * year_index(lp, world.year)
    pay = pay * schooling_factor(world.params.economy.wage_return_to_education, hh.edu[idx])
    if z is not None:
        pay = pay * np.exp(lp.earnings_sd * z - lp.earnings_sd**2 / 2)
    return pay


def available_adults(hh, idx) -> np.ndarray:
    """Resident adults without a stable non-farm job."""
    return at_least(hh.adults[idx] - hh.migrants[idx] - hh.local_workers[idx] - hh.org_jobs[idx], 0)


def farm_labour(world: World, idx) -> np.ndarray:
    """Adult-equivalent farm workers: resident adults without a stable job and the elderly."""
    hh = world.households
    return available_adults(hh, idx) + world.params.labour.elderly_farm_labour * hh.elderly[idx]


def allocate_work(world: World, idx) -> None:
    """This year's moves between farm, local and migrant work; residents, twork and farm labour."""
    p, hh = world.params, world.households
    lp = p.labour
    if not lp.enabled:
        return
    u = world.draws.labour_u[idx]
    trend = job_trend(lp, world.year)
    schooling = schooling_factor(0.1, hh.edu[idx])
    migrants = hh.migrants[idx].astype(np.int64)
    local = hh.local_workers[idx].astype(np.int64)
    p_return = np.clip(lp.return_rate + lp.health_return * hh.health_shock[idx], 0.0, 1.0)
    migrants = migrants - ((migrants > 0) & (u[:, 0] < p_return))
    local = local - ((local > 0) & (u[:, 2] < lp.local_job_loss))
    hh.migrants[idx] = migrants
    hh.local_workers[idx] = local
    free = available_adults(hh, idx)
    # someone stays at home: the last resident does not leave
    home = hh.famsize[idx].astype(np.int64) - migrants
    leaves = (free > 0) & (home > 1) & (u[:, 1] < np.clip(lp.migrate_rate * schooling * trend, 0.0, 1.0))
    migrants = migrants + leaves
    free = free - leaves
    access = 20.0 / (20.0 + hh.distance[idx])  # local jobs are in the market towns
    p_local = np.clip(lp.local_job_rate * schooling * trend * local_factor(world, idx) * 2.0 * access, 0.0, 1.0)
    local = local + ((free > 0) & (u[:, 3] < p_local))
    hh.migrants[idx] = migrants
    hh.local_workers[idx] = local
    update_members(world, idx)


def update_members(world: World, idx) -> None:
    """Derived counts: usual residents, stable non-farm workers (twork) and farm labour."""
    hh = world.households
    # a household whose last residents died while its migrants were away calls one of them home
    stranded = (hh.famsize[idx] - hh.migrants[idx] < 1) & (hh.migrants[idx] > 0)
    if np.any(stranded):
        rows = np.arange(hh.n)[idx][stranded]
        hh.migrants[rows] -= 1
    hh.residents[idx] = hh.famsize[idx] - hh.migrants[idx]
    hh.twork[idx] = hh.migrants[idx] + hh.local_workers[idx] + hh.org_jobs[idx]
    hh.labour[idx] = np.maximum(0.2, farm_labour(world, idx))


def casual_pay(world: World, idx, z: np.ndarray | None = None) -> np.ndarray:
    """Casual local wage work of the household's resident adults without a stable job this year."""
    lp = world.params.labour
    if lp.casual_days == 0.0:  # the shipped world: no casual work, and no need to price it
        return np.zeros(world.households.local_workers[idx].shape)
    days = lp.casual_days if z is None else lp.casual_days * np.exp(lp.casual_days_sd * z - lp.casual_days_sd**2 / 2)
    day_wage = lp.casual_day_wage * year_index(lp, world.year) * local_factor(world, idx)
    return available_adults(world.households, idx) * days * day_wage


def nonfarm_income(world: World, idx, z: np.ndarray | None = None, pay: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Local wages (stable jobs), casual wages, remittances, pension and agricultural subsidy of the
    household this year (expectations without ``z``, the (n, 4) normals of the labour stream).
    ``pay``: ``local_pay(world, idx, z[:, 1])`` when the caller has computed it."""
    lp, hh = world.params.labour, world.households
    zm, zl, zr, zc = (None, None, None, None) if z is None else (z[:, 0], z[:, 1], z[:, 2], z[:, 3])
    remit = hh.migrants[idx] * migrant_pay(world, idx, zm) * hh.remittance_share[idx]
    if zr is not None:
        remit = remit * np.exp(lp.remittance_sd * zr - lp.remittance_sd**2 / 2)
    return {
        "wages": hh.local_workers[idx] * (local_pay(world, idx, zl) if pay is None else pay),
        "casual": casual_pay(world, idx, zc),
        "remittances": remit,
        "pension": hh.elderly[idx] * pension_level(lp, world.year),
        "ag_subsidy": hh.land_area[idx] * lp.ag_subsidy_per_mu,
    }
