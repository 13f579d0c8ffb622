"""The poverty register by assessment (model/processes/registration.py): its accounting."""
from __future__ import annotations

import numpy as np
import pytest

from ruralabm import RuralModel, load_scenario
from ruralabm.model.processes.registration import quota_register

BASE = ["population.n_counties=6", "population.n_households=3000", "registration.rule=assessment"]


def _run(extra=(), seed=5):
    sc = load_scenario("uncalibrated", BASE + list(extra))
    m = RuralModel(sc.params, seed=seed, household_agents=False).run()
    hp = m.household_panel().sort_values(["household_id", "year"]).reset_index(drop=True)
    return m, hp


def _wide(hp, col):
    return hp.pivot(index="household_id", columns="year", values=col)


@pytest.fixture(scope="module")
def exact():
    """No assessment noise, no exclusion, no other transfers, and a support period short enough
    to end inside the run: every rule is visible in the panel."""
    return _run(["registration.assessment_error=0", "registration.exclusion_error=0", "policy.subsidy_per_capita=0",
                 "economy.network_transfer_share=0", "registration.support_years=3"])


def test_nobody_registered_before_the_policy(exact):
    m, hp = exact
    start = m.params.calendar.policy_start_year
    assert hp.loc[hp["year"] < start, "registered_poor"].eq(0).all()


def test_campaign_respects_county_quotas(exact):
    m, hp = exact
    start = m.params.calendar.policy_start_year
    before = hp[hp["year"] == start - 1].set_index("household_id")
    first = hp[hp["year"] == start].set_index("household_id")
    fam = before["famsize"].astype(float)
    poor_persons = (fam * before["poor_national"]).groupby(before["county_id"]).sum()
    reg_persons = (fam * first["registered_poor"]).groupby(before["county_id"]).sum()
    quota = m.params.registration.quota_multiple * poor_persons
    # Filled up to the quota: at most one household's members beyond it.
    assert (reg_persons <= quota + fam.max()).all()
    assert (reg_persons >= np.minimum(quota, fam.groupby(before["county_id"]).sum()) - 1e-9).all()
    # Without assessment noise the lowest incomes are registered first.
    for c, g in before.groupby("county_id"):
        r = first.loc[g.index, "registered_poor"] == 1
        if r.any() and (~r).any():
            assert g.loc[r, "income_per_capita"].max() <= g.loc[~r, "income_per_capita"].min()


def test_exits_only_after_verified_above_line_income_and_entries_below(exact):
    m, hp = exact
    line = m.params.poverty.line_national
    start = m.params.calendar.policy_start_year
    reg = _wide(hp, "registered_poor")
    inc = _wide(hp, "income_per_capita")
    years = [y for y in reg.columns if y > start]
    n_exits = n_entries = 0
    for y in years:
        exited = (reg[y - 1] == 1) & (reg[y] == 0)
        entered = (reg[y - 1] == 0) & (reg[y] == 1)
        assert (inc.loc[exited, y - 1] >= line).all()
        assert (inc.loc[entered, y - 1] < line).all()
        # Exactly the registered with verified income above the line exit (exit_min_years = 1).
        assert ((reg[y - 1] == 1) & (inc[y - 1] >= line)).sum() == exited.sum()
        n_exits += exited.sum()
        n_entries += entered.sum()
    assert n_exits > 0 and n_entries > 0


def test_support_continues_for_the_stated_years_after_exit(exact):
    m, hp = exact
    k = m.params.registration.support_years
    assert k == 3
    start = m.params.calendar.policy_start_year
    reg = _wide(hp, "registered_poor")
    tr = _wide(hp, "income_transfers")
    fam = _wide(hp, "famsize")
    pay = m.params.policy.poverty_alleviation_transfer
    checked = 0
    last = max(reg.columns)
    for y in [y for y in reg.columns if y > start and y + k <= last]:
        exited = (reg[y - 1] == 1) & (reg[y] == 0)
        # off the register for the whole support period and the year after
        stays_off = exited & (reg.loc[:, y:y + k].sum(axis=1) == 0)
        for j in range(k):
            assert np.allclose(tr.loc[stays_off, y + j], fam.loc[stays_off, y + j] * pay)
        assert (tr.loc[stays_off, y + k] == 0).all()
        checked += stays_off.sum()
    assert checked > 0


def test_no_support_after_exit_when_support_years_is_zero():
    m, hp = _run(["registration.assessment_error=0", "registration.exclusion_error=0", "policy.subsidy_per_capita=0",
                  "economy.network_transfer_share=0", "registration.support_years=0"])
    reg = _wide(hp, "registered_poor")
    tr = _wide(hp, "income_transfers")
    start = m.params.calendar.policy_start_year
    for y in [y for y in reg.columns if y > start]:
        exited = (reg[y - 1] == 1) & (reg[y] == 0)
        assert (tr.loc[exited, y] == 0).all()


def test_assessment_errors_go_both_ways():
    m, hp = _run()
    start = m.params.calendar.policy_start_year
    before = hp[hp["year"] == start - 1].set_index("household_id")
    first = hp[hp["year"] == start].set_index("household_id")
    poor = before["poor_national"] == 1
    reg = first["registered_poor"] == 1
    assert (reg & ~poor).sum() > 0  # inclusion errors
    assert (~reg & poor).sum() > 0  # exclusion errors


def test_old_rule_registers_the_ever_poor_and_never_removes():
    sc = load_scenario("uncalibrated", ["population.n_counties=6", "population.n_households=2000"])
    assert sc.params.registration.rule == "ever_poor"
    m = RuralModel(sc.params, seed=5, household_agents=False).run()
    hp = m.household_panel()
    reg = _wide(hp, "registered_poor")
    assert (reg.diff(axis=1).fillna(0) >= 0).all().all()


def test_quota_register_fills_each_county_lowest_first():
    assessed = np.array([5.0, 1.0, 3.0, 2.0, 9.0, 0.5])
    county = np.array([0, 0, 0, 1, 1, 1])
    persons = np.array([2.0, 2.0, 2.0, 1.0, 1.0, 1.0])
    quota = np.array([3.0, 1.0])
    chosen = quota_register(assessed, county, persons, quota, np.array([True, True, True, True, True, False]))
    # county 0: 1.0 (0 before), 3.0 (2 before < 3) registered, 5.0 (4 before) not; county 1: 0.5 not a candidate
    assert chosen.tolist() == [False, True, True, True, False, False]


def test_targeted_transfers_follow_the_support_index():
    """The transfer of a year is the full-scale transfer times the year's support index, on the
    register and in the support period after exit."""
    index = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 0.5, 2.0]  # 2015-2022
    m, hp = _run(["registration.assessment_error=0", "registration.exclusion_error=0", "policy.subsidy_per_capita=0",
                  "economy.network_transfer_share=0", "registration.support_years=3",
                  f"policy.support_index={index}"])
    pp = m.params.policy
    assert pp.support_index_first_year == 2015 == m.params.calendar.policy_start_year
    reg = _wide(hp, "registered_poor")
    tr = _wide(hp, "income_transfers")
    fam = _wide(hp, "famsize")
    checked_years = 0
    for y in [y for y in reg.columns if y >= 2015]:
        level = pp.poverty_alleviation_transfer * index[y - 2015]
        on = reg[y] == 1
        assert on.any()
        assert np.allclose(tr.loc[on, y], fam.loc[on, y] * level)
        # not on the register and never registered: nothing
        never = reg.loc[:, :y].sum(axis=1) == 0
        assert (tr.loc[never, y] == 0).all()
        checked_years += 1
    assert checked_years == len(reg.columns[reg.columns >= 2015])


def test_poverty_transfer_level_reads_the_index_by_year():
    from ruralabm.model.processes.production import poverty_transfer_level
    p = load_scenario("uncalibrated", ["policy.poverty_alleviation_transfer=1000",
                                       "policy.support_index=[0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]"]).params
    assert [poverty_transfer_level(p, y) for y in (2014, 2015, 2018, 2022, 2030)] == pytest.approx(
        [500.0, 500.0, 800.0, 1200.0, 1200.0])
    # the default index is flat: the old constant transfer
    flat = load_scenario("uncalibrated", ["policy.poverty_alleviation_transfer=1000"]).params
    assert {poverty_transfer_level(flat, y) for y in range(2012, 2023)} == {1000.0}


def test_support_index_of_the_wrong_length_is_refused():
    from ruralabm.model.params import ParameterError
    with pytest.raises(ParameterError, match="support_index"):
        load_scenario("uncalibrated", ["policy.support_index=[1.0, 1.0]"])
