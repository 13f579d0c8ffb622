"""A trial of compiled kernels for the speed target (issues "world" and "counties": 1 million
household-years per second at 100,000 households on the shipped default).

    pip install numba        # not a dependency of ruralabm: this script is the measurement
    python benchmarks/kernel_trial.py [--households 100000] [--check-households 40000]

The vectorised processes spend their time in several hundred numpy passes over the household
arrays a year, none of which dominates (a line profile of the shipped default). A compiled kernel
makes one pass per process. The trial compiles two processes with numba, ``update_capitals``
(model/processes/capitals.py: float32 stocks, integer states) and ``cope``
(model/processes/coping.py: float64 flows over float32 stocks), with the same arithmetic in the
same order and the same precision as numpy gives it (a float32 array with a Python-float
parameter computes in float32, NEP 50, so the parameter is passed as float32; an integer array
with a Python float, or any float64 term, computes in float64; numpy's ``maximum``/``minimum``
keep the first argument on ties). For each process it

1. checks that the panels of four scenarios are identical with the kernel in place of the
   process (SHA-256 of ``pandas.util.hash_pandas_object`` over the household, county and
   organisation panels, 40,000 households, 2 threads);
2. times the process and the kernel on a year of the shipped default (best of 20 calls, one
   thread).

It answers how much a kernel buys on this host and whether identical outputs are within reach,
before the processes are ported (the porting is the open work of those issues).
"""
from __future__ import annotations

import argparse
import hashlib
import time

import numpy as np
import pandas as pd

try:
    from numba import njit
except ImportError as exc:  # pragma: no cover - the script's one extra requirement
    raise SystemExit("benchmarks/kernel_trial.py needs numba: pip install numba") from exc

from ruralabm.model import RuralModel
from ruralabm.model.enums import form_trait, org_type_trait
from ruralabm.model.processes import capitals, coping
from ruralabm.scenarios import load

f32 = np.float32


@njit(nogil=True, cache=True)
def _kernel(lo, hi, age, shock, health, u_health, job, u_job, machine, u_scrap, assets, housing, debt,
            participating, form, membership_years, ties, org_id, org_type, mgmt, trust, reneged,
            dage, per_year, base, after, improve, ret_age, ret_prob, dep_mach, m_assets, m_housing, m_debt,
            ties_seasons, retention, ties_gain, coop_gain_scalar, collective, contracting, trust_loss, trust_gain,
            reversion, anchor, linkage, collective_action, tourism_gain):
    """``capitals.update_capitals`` for households lo..hi-1, element by element; every branch a
    select (as numpy's ``where``), so that the loop can be vectorised."""
    one32 = np.float32(1.0)
    zero32 = np.float32(0.0)
    for i in range(lo, hi):
        a = age[i] + one32
        age[i] = a
        s = shock[i]
        t = a - dage
        t = t if (t >= zero32 or t != t) else zero32  # np.maximum(0.0, t)
        pdec = np.float64(base + per_year * t) + after * np.float64(s)
        pdec = min(max(pdec, 0.0), 1.0)
        pimp = 0.0 if s == 1 else improve
        u = u_health[i]
        ch = -1 if u < pdec else (1 if u > 1.0 - pimp else 0)
        health[i] = min(max(health[i] + ch, 1), 5)
        job[i] = 0 if (a > ret_age and u_job[i] < ret_prob) else job[i]
        machine[i] -= 1 if (machine[i] > 0 and u_scrap[i] < dep_mach) else 0
        assets[i] = assets[i] * m_assets
        housing[i] = housing[i] * m_housing
        debt[i] = debt[i] * m_debt
        part = participating[i] == 1
        fm = max(form[i], 0)
        meeting = part and (ties_seasons <= 0 or membership_years[i] < ties_seasons)
        ties[i] = np.float32(np.float64(ties[i] * retention) + (ties_gain[fm] if meeting else 0.0))
        tr = trust[i]
        ot = org_type[i]
        coop = np.float64(tr + coop_gain_scalar * mgmt[max(org_id[i], 0)] * (one32 - tr))
        ec = -trust_loss if reneged[i] == 1 else trust_gain
        contract = np.float64(tr) + ec * np.float64((one32 - tr) if ec > 0 else one32)
        revert = np.float64(tr + reversion * (anchor - tr))
        newt = coop if (part and collective[ot]) else (contract if (part and contracting[ot]) else revert)
        if linkage:
            newt = newt + (tourism_gain * (1.0 - newt) if (part and collective_action[fm]) else 0.0)
        trust[i] = np.float32(min(max(newt, 0.0), 1.0))
        membership_years[i] += 1 if part else 0


@njit(inline="always")
def _maximum(a, b):
    """np.maximum of two numbers (NaN-free): a where a >= b, so +0.0 beats -0.0 as in numpy."""
    return a if a >= b else b


@njit(inline="always")
def _minimum(a, b):
    return a if a <= b else b


@njit(nogil=True, cache=True)
def _cope_kernel(lo, hi, farm, wage, business, transfers, dividends, residents, medical, savings, ties, trust,
                 participating, productive_assets, machine, housing, debt, drawdown_out, network_out, borrowing_out,
                 sales_out, shortfall_out, subsistence, network_share, half_saturation, machine_price,
                 housing_share, credit_limit, group_multiplier, sale_keep, sale_keep64, sale_possible):
    """``coping.cope`` for households lo..hi-1 (see it for the order of the means)."""
    for i in range(lo, hi):
        income = farm[i] + wage[i] + business[i] + transfers[i] + dividends[i]
        need = subsistence * np.float64(residents[i]) + medical[i]
        gap = _maximum(0.0, need - income)
        drawdown = _minimum(gap, np.float64(savings[i]))
        gap = gap - drawdown
        tie = ties[i]
        network = np.float64(network_share * trust[i] * tie / (tie + half_saturation)) * gap
        gap = gap - network
        assets = (np.float64(productive_assets[i]) + np.float64(machine[i]) * machine_price
                  + np.float64(housing_share * housing[i]))
        limit = credit_limit * assets * (group_multiplier if participating[i] == 1 else 1.0)
        borrow = _minimum(gap, _maximum(0.0, limit - np.float64(debt[i])))
        gap = gap - borrow
        sale = _minimum(gap, np.float64(sale_keep * productive_assets[i]))
        gap = gap - sale
        arrears = _maximum(0.0, gap - need)
        borrow = borrow + arrears
        gap = gap - arrears
        drawdown_out[i] = drawdown
        network_out[i] = network
        borrowing_out[i] = borrow
        sales_out[i] = sale
        shortfall_out[i] = gap
        transfers[i] = transfers[i] + network
        debt[i] = np.float32(np.float64(debt[i]) + borrow)
        if sale_possible:
            productive_assets[i] = np.float32(np.float64(productive_assets[i]) - sale / sale_keep64)
        savings[i] = np.float32(np.float64(savings[i]) + (borrow + sale))


def _span(hh, idx) -> tuple[int, int]:
    if isinstance(idx, slice):
        lo, hi, _ = idx.indices(hh.n)
        return lo, hi
    return int(idx[0]), int(idx[0]) + 1


def cope(world, idx) -> None:
    hh, e = world.households, world.params.economy
    lo, hi = _span(hh, idx)
    _cope_kernel(lo, hi, hh.income_farm, hh.income_wage, hh.income_business, hh.income_transfers,
                 hh.income_dividends, hh.residents, hh.medical_cost, hh.savings, hh.network_ties, hh.trust,
                 hh.participating, hh.productive_assets, hh.machine, hh.housing, hh.debt, hh.savings_drawdown,
                 hh.network_transfer, hh.borrowing, hh.distress_sales, hh.consumption_shortfall,
                 float(e.subsistence_per_capita), f32(e.network_transfer_share), f32(e.ties_half_saturation),
                 float(e.machine_price), f32(e.collateral_housing_share), float(e.credit_limit_assets),
                 float(e.group_lending_multiplier), f32(1.0 - e.distress_sale_discount),
                 float(1.0 - e.distress_sale_discount), bool(e.distress_sale_discount < 1))


def update_capitals(world, idx) -> None:
    p, hh, d, o = world.params, world.households, world.draws, world.organisations
    e, k = p.economy, p.capitals
    lo, hi = _span(hh, idx)
    _kernel(lo, hi, hh.age, hh.health_shock, hh.health, d.health_change_u, hh.job, d.job_u, hh.machine,
            d.machine_scrap_u, hh.productive_assets, hh.housing, hh.debt, hh.participating, hh.form,
            hh.membership_years, hh.network_ties, hh.org_id, hh.org_type, o.management_quality, hh.trust,
            hh.contract_reneged,
            f32(k.health_decline_age), f32(k.health_decline_per_year), f32(k.health_decline_base),
            float(k.health_decline_after_shock), float(k.health_improve_probability), f32(k.retirement_age),
            float(k.retirement_probability), float(e.depreciation_machinery), f32(1.0 - e.depreciation_assets),
            f32(1.0 - e.depreciation_housing), f32(1.0 + e.loan_rate), int(p.forms.ties_seasons),
            f32(k.ties_retention), np.asarray(p.forms.ties_gain, dtype=np.float64),
            f32(p.cooperative.social_capital_gain * p.cooperative.trust_quality_multiplier),
            org_type_trait("collective_marketing"), org_type_trait("contract_farming"),
            float(p.enterprise.trust_loss), float(p.enterprise.trust_gain), f32(k.trust_reversion),
            f32(k.trust_anchor), bool(p.linkage.enabled), form_trait("collective_action"),
            float(p.linkage.tourism_trust_gain))


def _hash(df: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=True).values.tobytes()).hexdigest()[:16]


def _panels(scenario: str, households: int, replace: dict) -> tuple[str, str, str]:
    import ruralabm.model.schedule as schedule

    saved = list(schedule.SCHEDULE)
    schedule.SCHEDULE[:] = [(n, lv, replace.get(n, f)) for n, lv, f in saved]
    try:
        sc = load(scenario, {"population.n_households": households})
        m = RuralModel(sc.params, seed=2, household_agents=False).run()
        return _hash(m.household_panel()), _hash(m.county_panel()), _hash(m.organisations_panel())
    finally:
        schedule.SCHEDULE[:] = saved


KERNELS = {  # schedule entry: (the numpy process, its kernel)
    "update_capitals": (capitals.update_capitals, update_capitals),
    "cope": (coping.cope, cope),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--households", type=int, default=100_000, help="for the timing")
    ap.add_argument("--check-households", type=int, default=40_000, help="for the identity check")
    a = ap.parse_args()
    RuralModel.household_threads = 2
    scenarios = ("calibrated", "mixed", "cooperative", "baseline")
    numpy_panels = {sc: _panels(sc, a.check_households, {}) for sc in scenarios}
    identical = {}
    for name, (_, kernel) in KERNELS.items():
        same = [_panels(sc, a.check_households, {name: kernel}) == numpy_panels[sc] for sc in scenarios]
        identical[name] = sum(same)
        print(f"{name:16s} panels with the kernel: "
              + ", ".join(f"{sc} {'identical' if ok else 'DIFFERENT'}" for sc, ok in zip(scenarios, same)))
    RuralModel.household_threads = 1
    model = RuralModel(scenario="calibrated", seed=1, household_agents=False,
                       **{"population.n_households": a.households})
    model.step()
    world = model.world
    for name, (process, kernel) in KERNELS.items():
        times = {}
        for label, fn in (("numpy", process), ("kernel", kernel)):
            fn(world, slice(None))  # the kernel compiles (or loads from numba's cache) on its first call
            best = np.inf
            for _ in range(20):
                t0 = time.perf_counter()
                fn(world, slice(None))
                best = min(best, time.perf_counter() - t0)
            times[label] = best
        print(f"{name:16s} numpy {times['numpy'] * 1e3:6.2f} ms, kernel {times['kernel'] * 1e3:6.2f} ms a year at "
              f"{a.households:,} households (best of 20, one thread): {times['numpy'] / times['kernel']:.1f}x; "
              f"identical in {identical[name]} of {len(scenarios)} scenarios")


if __name__ == "__main__":
    main()
