"""A trial of a compiled kernel for the speed target (issues "world" and "counties": 1 million
household-years per second at 100,000 households on the shipped default).

    pip install numba        # not a dependency of ruralabm: this script is the measurement
    python benchmarks/kernel_trial.py [--households 100000] [--check-households 40000]

The vectorised processes spend their time in several hundred passes over the household arrays a
year (no pass dominates: docs/architecture.md). A compiled kernel makes one pass per process. The
trial compiles one process, ``update_capitals`` (model/processes/capitals.py), with numba, the
same arithmetic in the same order and the same precision as numpy gives it (float32 state with
Python-float parameters computes in float32, NEP 50; a float64 term promotes), and

1. checks that the panels of four scenarios are identical with the kernel in place of the
   process (SHA-256 of ``pandas.util.hash_pandas_object`` over the household, county and
   organisation panels, 2 threads);
2. times the process and the kernel on a year of the shipped default (best of 20 calls).

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
from ruralabm.model.processes import capitals
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


def update_capitals(world, idx) -> None:
    p, hh, d, o = world.params, world.households, world.draws, world.organisations
    e, k = p.economy, p.capitals
    lo, hi, _ = (idx.indices(hh.n) if isinstance(idx, slice) else (int(idx[0]), int(idx[0]) + 1, 1))
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


def _panels(scenario: str, households: int, process) -> tuple[str, str, str]:
    import ruralabm.model.schedule as schedule

    saved = list(schedule.SCHEDULE)
    schedule.SCHEDULE[:] = [(n, lv, process if n == "update_capitals" else f) for n, lv, f in saved]
    try:
        sc = load(scenario, {"population.n_households": households})
        m = RuralModel(sc.params, seed=2, household_agents=False).run()
        return _hash(m.household_panel()), _hash(m.county_panel()), _hash(m.organisations_panel())
    finally:
        schedule.SCHEDULE[:] = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--households", type=int, default=100_000, help="for the timing")
    ap.add_argument("--check-households", type=int, default=40_000, help="for the identity check")
    a = ap.parse_args()
    RuralModel.household_threads = 2
    identical = 0
    for scenario in ("calibrated", "mixed", "cooperative", "baseline"):
        same = _panels(scenario, a.check_households, capitals.update_capitals) == _panels(
            scenario, a.check_households, update_capitals)
        identical += same
        print(f"{scenario:12s} panels with the kernel: {'identical' if same else 'DIFFERENT'}")
    RuralModel.household_threads = 1
    model = RuralModel(scenario="calibrated", seed=1, household_agents=False,
                       **{"population.n_households": a.households})
    model.step()
    world = model.world
    times = {}
    for name, fn in (("numpy process", capitals.update_capitals), ("numba kernel", update_capitals)):
        fn(world, slice(None))  # the kernel compiles (or loads from numba's cache) on its first call
        best = np.inf
        for _ in range(20):
            t0 = time.perf_counter()
            fn(world, slice(None))
            best = min(best, time.perf_counter() - t0)
        times[name] = best
        print(f"{name:14s} {best * 1e3:6.2f} ms a year at {a.households:,} households (best of 20, one thread)")
    print(f"{identical} of 4 scenarios identical; the kernel is {times['numpy process'] / times['numba kernel']:.1f}x "
          f"the numpy process")


if __name__ == "__main__":
    main()
