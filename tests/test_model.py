"""The simulation core: determinism, common random numbers, the per-agent path, accounting,
schedule order, shocks, organisations, counties and the panels."""
import json
import time

import numpy as np
import pandas as pd
import pytest

from ruralabm import cli as run
from ruralabm.model import RuralModel
from ruralabm.model.schedule import PHASES


def numeric(df):
    return df.select_dtypes("number")


def test_same_seed_identical_different_seed_differs(small_params):
    a = RuralModel(small_params.copy(), seed=5, household_agents=False).run().household_panel()
    b = RuralModel(small_params.copy(), seed=5, household_agents=False).run().household_panel()
    c = RuralModel(small_params.copy(), seed=6, household_agents=False).run().household_panel()
    pd.testing.assert_frame_equal(a, b)
    assert not numeric(a).equals(numeric(c))


def test_per_agent_path_gives_the_same_panel(small_params):
    p = small_params.copy()
    p.population.n_households = 600
    p.population.n_counties = 3
    p.calendar.end_year = 2017
    fast = RuralModel(p, seed=3, household_agents=True).run()
    slow = RuralModel(p.copy(), seed=3, household_agents=True, per_agent=True).run()
    pd.testing.assert_frame_equal(fast.household_panel(), slow.household_panel(), rtol=1e-12, atol=1e-9)
    pd.testing.assert_frame_equal(fast.county_panel(), slow.county_panel(), rtol=1e-12, atol=1e-9)
    pd.testing.assert_frame_equal(fast.organisations_panel(), slow.organisations_panel(), rtol=1e-12, atol=1e-9)
    assert fast.household_panel()["participating"].sum() > 0


def test_common_random_numbers_across_policies(small_params):
    from ruralabm import scenarios

    runs = {}
    for name in ("baseline", "cooperative", "enterprise"):
        p = scenarios.load(name).params
        p.population.n_households = small_params.population.n_households
        p.population.n_counties = small_params.population.n_counties
        runs[name] = RuralModel(p, seed=9, household_agents=False).run().household_panel()
    base = runs["baseline"]
    for name in ("cooperative", "enterprise"):
        other = runs[name]
        # Shocks and pre-policy years are identical; outcomes after the policy differ.
        for col in ("health_shock", "disaster_loss"):
            assert np.array_equal(base[col], other[col]), (name, col)
        pre = base["year"] < 2015
        pd.testing.assert_frame_equal(base[pre], other[pre])
        assert other.loc[~pre, "participating"].mean() > 0.05
        assert base["participating"].sum() == 0


def test_accounting_identities_and_signs(small_run):
    df = small_run.household_panel()
    sources = df[["income_farm", "income_wage", "income_business", "income_transfers", "income_dividends"]].sum(axis=1)
    np.testing.assert_allclose(sources, df["income_total"], rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(df["income_total"] - df["consumption"], df["saving"], rtol=1e-12, atol=1e-6)
    for col in ("savings", "debt", "productive_assets", "housing", "consumption", "income_wage", "income_business",
                "income_transfers", "income_dividends", "medical_cost", "investment", "machine", "land_area",
                "savings_drawdown", "network_transfer", "borrowing", "distress_sales", "consumption_shortfall"):
        assert (df[col] >= -1e-6).all(), col
    for col in ("skills", "trust", "land_quality", "info_access"):
        assert df[col].between(0, 1).all(), col
    assert df["health"].between(1, 5).all()
    # Coping never covers more than the gap, and consumption meets the need less the shortfall.
    need = 1800.0 * df["famsize"] + df["medical_cost"]
    assert (df["consumption"] >= need - df["consumption_shortfall"] - 1e-6).all()
    # Poverty lines are nested.
    assert (df["poor_1_9"] <= df["poor_national"]).all() and (df["poor_national"] <= df["poor_3_1"]).all()


def test_schedule_order(small_params):
    m = RuralModel(small_params.copy(), seed=1, household_agents=False)
    m.step()
    assert m.phase_log == PHASES
    # The design card's order: policy -> organisations -> participation -> production -> coping
    # -> consumption -> learning -> capital updates -> outcomes.
    stages = ["county_budgets", "open_and_close", "decide_participation", "produce", "cope", "consume_save_invest",
              "learn", "update_capitals", "record_outcomes"]
    positions = [PHASES.index(s) for s in stages]
    assert positions == sorted(positions)


def test_disaster_reaches_only_its_village(small_params):
    from ruralabm.model.processes.policy import market_and_weather

    m = RuralModel(small_params.copy(), seed=1, household_agents=False)
    w = m.world
    m.step()
    d = w.draws
    d.village_disaster_u[:] = 1.0
    d.county_disaster_u[:] = 1.0
    d.village_disaster_u[7] = 0.0  # village 7 alone is hit
    market_and_weather(w)
    assert w.villages.disaster_loss[7] > 0
    assert np.count_nonzero(w.villages.disaster_loss) == 1
    from ruralabm.model.processes.production import produce
    w.scratch.sales[:] = 0
    produce(w, slice(None))
    hit = w.households.disaster_loss > 0
    assert np.array_equal(np.flatnonzero(hit), np.flatnonzero(w.households.village_id == 7))


def test_county_disaster_hits_all_its_villages(small_params):
    from ruralabm.model.processes.policy import market_and_weather

    m = RuralModel(small_params.copy(), seed=1, household_agents=False)
    m.step()
    w = m.world
    w.draws.village_disaster_u[:] = 1.0
    w.draws.county_disaster_u[:] = 1.0
    w.draws.county_disaster_u[2] = 0.0
    market_and_weather(w)
    hit = np.flatnonzero(w.villages.disaster_loss > 0)
    assert np.array_equal(hit, np.flatnonzero(w.villages.county_id == 2))


def test_grain_price_floor(small_params):
    from ruralabm.model.processes.policy import market_and_weather

    m = RuralModel(small_params.copy(), seed=1, household_agents=False)
    m.step()
    w = m.world
    w.draws.price_innovation[:] = -20.0
    market_and_weather(w)
    assert w.price[0] == pytest.approx(w.params.shocks.grain_price_floor)
    assert (w.price[1:] < w.params.shocks.grain_price_floor).all()  # no floor for other products


def _policy_run(params, seed=4, years=None):
    p = params.copy()
    if years:
        p.calendar.end_year = p.calendar.start_year + years - 1
    return RuralModel(p, seed=seed, household_agents=False)


def test_cooperative_surplus_returned_by_transactions(small_params):
    m = _policy_run(small_params, years=6).run()
    w, o = m.world, m.world.organisations
    coop = np.flatnonzero((o.org_type == 1) & (o.members > 0))
    assert coop.size > 0
    cp = w.params.cooperative
    np.testing.assert_allclose(o.surplus[coop], cp.margin * o.sales[coop])
    np.testing.assert_allclose(o.surplus_returned[coop], cp.surplus_returned_share * o.surplus[coop])
    assert (o.surplus_returned[coop] >= 0.6 * o.surplus[coop] - 1e-9).all()
    # Dividends are proportional to members' sales: re-run the settlement on the final state.
    from ruralabm.model.processes.organisations import settle_cooperatives
    hh = w.households
    hh.income_dividends[:] = 0.0
    fund_before = o.risk_fund.copy()
    w.scratch.disaster_value[:] = 0.0
    settle_cooperatives(w, slice(None))
    k = coop[0]
    members = np.flatnonzero((hh.org_id == k) & (hh.participating == 1))
    sales = w.scratch.sales[members]
    expected = o.surplus_returned[k] * sales / sales.sum()
    np.testing.assert_allclose(hh.income_dividends[members], expected)
    assert hh.income_dividends[hh.org_type != 1].sum() == 0
    np.testing.assert_allclose(o.risk_fund[coop] - fund_before[coop],
                               cp.risk_fund_share * (o.surplus[coop] - o.surplus_returned[coop]))


def test_contract_reneging_and_side_selling(small_params):
    from ruralabm.model.processes.organisations import set_contracts
    from ruralabm.model.processes.production import produce

    from ruralabm import scenarios
    p = scenarios.load("enterprise").params
    p.population.n_households = small_params.population.n_households
    p.population.n_counties = small_params.population.n_counties
    p.calendar.end_year = 2016
    m = RuralModel(p, seed=4, household_agents=False).run()
    w, o, hh = m.world, m.world.organisations, m.world.households
    ent = np.flatnonzero((o.org_type == 2) & (o.active == 1))
    # contract farmers who farm (in the national world some let all their land)
    contracted = (hh.participating == 1) & (hh.org_type == 2) & (hh.land_farmed > 0)
    assert contracted.sum() > 0
    # Spot far below contract: every active enterprise with imperfect management reneges.
    w.price[:] = 0.3
    w.draws.renege_u[:] = 0.0
    set_contracts(w, slice(None))
    assert (o.reneged[ent] == 1).all()
    produce(w, slice(None))
    assert (hh.contract_reneged[contracted] == 1).all() and (hh.side_sold == 0).all()
    # A reneging enterprise still pays the protective floor price, not the collapsed spot price.
    form_gain = np.asarray(p.forms.price_gain)[np.maximum(hh.form, 0)]
    c0 = np.flatnonzero(contracted)
    assert np.allclose(w.scratch.sales[c0] > 0, True)
    full = hh.income_farm[c0].copy()
    p.enterprise.floor_price_share = 0.0
    produce(w, slice(None))
    no_floor = hh.income_farm[c0].copy()
    p.enterprise.floor_price_share = 0.95
    assert (full > no_floor).all()
    assert form_gain is not None
    # Spot far above contract: distrustful farmers side-sell, and are paid spot.
    w.price[:] = 3.0
    w.draws.renege_u[:] = 1.0
    set_contracts(w, slice(None))
    assert (o.reneged[ent] == 0).all()
    hh.trust[:] = 0.0
    w.draws.side_sell_u[:] = 0.5
    produce(w, slice(None))
    assert (hh.side_sold[contracted] == 1).all()
    assert w.scratch.sales[contracted].sum() == 0  # side-sold output does not go through the enterprise
    # Trust: reneging destroys trust, an honoured contract builds it.
    from ruralabm.model.processes.capitals import update_capitals
    hh.trust[:] = 0.5
    hh.contract_reneged[:] = 0
    # (members of a form with collective action also gain trust from it: left out here)
    from ruralabm.model.enums import form_trait
    plain = contracted & ~form_trait("collective_action")[np.maximum(hh.form, 0)]
    hh.contract_reneged[np.flatnonzero(plain)[:1]] = 1
    update_capitals(w, slice(None))
    first, rest = np.flatnonzero(plain)[0], np.flatnonzero(plain)[1:]
    assert hh.trust[first] == pytest.approx(0.5 - p.enterprise.trust_loss)
    assert (hh.trust[rest] > 0.5).all()


def test_county_exit_and_censoring(small_params):
    from ruralabm.model.processes.outcomes import county_outcomes

    m = _policy_run(small_params, years=5)
    m.run(years=4)  # 2012-2015
    w, c = m.world, m.world.counties
    c.exited[:] = 0
    c.exit_date[:] = np.nan
    w.year = 2016
    w.headcount_last = np.full(c.n, 0.05)
    # Make county 0 fully non-poor, everyone else fully poor.
    hh = w.households
    income_pc = np.where(hh.county_id == 0, 1e6, 1.0)
    county_outcomes(w, income_pc)
    assert c.exited[0] == 1 and np.isfinite(c.exit_date[0])
    assert 2017.0 <= c.exit_date[0] < 2018.0
    assert (c.exited[1:] == 0).all() and np.isnan(c.exit_date[1:]).all()
    # Censoring: exits after calendar.censor_date are not observed.
    m.run()
    exit0 = float(c.exit_date[0])
    # The run ends with 2016 (censor_date 2020): county 0's exit, announced in 2017, lies beyond
    # the simulation, so it is censored at the end of the last simulated year, as is everyone.
    assert m.params.calendar.censor_date == 2020.0 and m.censor_date == 2017.0
    exits = m.county_exits().set_index("county_id")
    assert exits.loc[0, "exit_date"] == exit0 and exits["exited"].sum() == 0
    np.testing.assert_allclose(exits["days_to_exit"], 2 * 365.25)
    cp = m.county_panel()
    assert (cp["exit_observed"] == (cp["exit_date"] <= 2017.0)).all() and (cp["exit_date"] > 2017.0).any()
    # An exit before the censoring date is observed with its own duration; a censoring date
    # before it hides it.
    rec = m._counties_rec
    rec.buffers["exit_date"][rec.recorded - 1, 0] = 2016.25
    exits = m.county_exits().set_index("county_id")
    assert exits.loc[0, "exited"] == 1 and exits.loc[0, "days_to_exit"] == pytest.approx(1.25 * 365.25)
    m.params.calendar.censor_date = 2016.0
    exits = m.county_exits().set_index("county_id")
    assert exits["exited"].sum() == 0 and exits.loc[0, "days_to_exit"] == pytest.approx(365.25)


def test_participation_overrides(small_params):
    p = small_params.copy()
    n = p.population.n_households
    free = RuralModel(p, seed=8, household_agents=False).run()
    treated = np.flatnonzero(free.world.households.start_year > 0)
    assert treated.size > 0
    out = RuralModel(p.copy(), seed=8, household_agents=False, participation_override={int(i): -1 for i in treated})
    out.run()
    panel = out.household_panel()
    assert panel.loc[panel["household_id"].isin(treated), "participating"].sum() == 0
    # Shocks are untouched by the override.
    base = free.household_panel()
    assert np.array_equal(base["health_shock"], panel["health_shock"])
    # Forced in: never-treated households whose village has a surviving cooperative all join.
    w = free.world
    coop = w.villages.cooperative_id[w.households.village_id]
    has_coop = (coop >= 0) & (w.organisations.failed_year[np.maximum(coop, 0)] == 0) & (w.organisations.enabled[np.maximum(coop, 0)] == 1)
    never = np.setdiff1d(np.flatnonzero(has_coop), treated)[:50]
    assert never.size >= 20
    forced_in = np.zeros(n, dtype=int)
    forced_in[never] = 1
    inn = RuralModel(p.copy(), seed=8, household_agents=False, participation_override=forced_in).run()
    panel_in = inn.household_panel()
    post = panel_in[(panel_in["year"] >= 2015) & panel_in["household_id"].isin(never)]
    assert post["participating"].all()


def _assert_table3_signs(wave: pd.DataFrame) -> None:
    """Signs of (treated - control) in Table 3 of the CLDS paper."""
    means = wave.groupby("participating")[["age", "health", "job", "machine", "subsidy", "edu", "distance",
                                           "hroad", "twork"]].mean()
    treated, control = means.loc[1], means.loc[0]
    for name in ("age", "job", "machine", "subsidy", "distance"):
        assert treated[name] > control[name], name
    for name in ("health", "edu", "hroad", "twork"):
        assert treated[name] < control[name], name


def test_selection_direction_matches_cldS_table3():
    from ruralabm.model import Params

    p = Params()
    p.population.n_households = 30_000
    p.population.n_counties = 200  # many villages, so village-level differences are not luck of the draw
    p.calendar.end_year = 2016
    panel = RuralModel(p, seed=21, household_agents=False).run().household_panel()
    post = panel[panel["year"] == 2016]
    _assert_table3_signs(post)


def test_selection_direction_under_the_calibrated_default_in_the_clds_population():
    """The shipped (calibrated) parameters keep Table 3's signs where the paper measured them:
    among households poor in 2014, in the 2016 wave. (On the whole population the calibrated
    targeting makes the machine and job gaps ~0.) The job gap is small under calibration
    (+0.004 to +0.023 over seeds 21-24, against +0.136 published; docs/calibration.md)."""
    from ruralabm import scenarios

    from ruralabm.analysis.studies.survey import clds_eligible, clds_sample, survey_options

    p = scenarios.load("mixed").params
    p.population.n_households = 60_000
    p.population.n_counties = 200
    p.calendar.end_year = 2016
    panel = RuralModel(p, seed=21, household_agents=False).run().household_panel()
    # the CLDS-like survey: households it finds poor in 2014 (with its recall error of income)
    options = survey_options(p)
    n = min(6124, clds_eligible(panel, 2014, seed=21, **options))
    sample = clds_sample(panel, n=n, seed=21, **options)
    post = sample[sample["year"] == 2016].rename(columns={"T": "_T"})
    _assert_table3_signs(post)


def test_selection_on_unobservables_knob(small_params):
    def drive_gap(strength):
        p = small_params.copy()
        p.participation.selection_on_unobservables = strength
        p.calendar.end_year = 2016
        panel = RuralModel(p, seed=2, household_agents=False).run().household_panel()
        post = panel[panel["year"] == 2016]
        g = post.groupby("participating")["entrepreneurial_drive"].mean()
        return g.loc[1] - g.loc[0]

    assert abs(drive_gap(0.0)) < 0.1
    assert drive_gap(1.0) > 0.4


def test_panel_columns_and_unobservable_flag(small_run):
    df = small_run.household_panel()
    for col in ("household_id", "year", "age", "health", "job", "famsize", "machine", "subsidy", "distance", "hroad",
                "lamp", "edu", "ability", "twork", "participating", "org_type", "form", "start_year",
                "human_capital", "natural_capital", "physical_capital", "financial_capital", "social_capital",
                "poor_1_9", "poor_national", "poor_3_1", "buffer_savings_pc", "selforg_ties", "learn_skills"):
        assert col in df.columns, col
    assert df.attrs["unobservable"] == ["entrepreneurial_drive"]
    assert len(df) == small_run.params.population.n_households * len(small_run.calendar_years)
    assert set(df["year"]) == set(range(2012, 2023))
    assert len(small_run.organisations_panel()) > 0


def test_household_agent_reads_and_writes_its_row(small_params):
    m = RuralModel(small_params.copy(), seed=1)
    agent = list(m.households)[10]
    assert agent.savings == pytest.approx(float(m.world.households.savings[10]))
    agent.savings = 1234.0
    assert m.world.households.savings[10] == pytest.approx(1234.0)
    caps = agent.capitals()
    assert set(caps) == {"human", "natural", "physical", "financial", "social"}
    assert len(m.counties) == small_params.population.n_counties


def test_cli_simulate_writes_panels_and_run_json(tmp_path, capsys):
    out = tmp_path / "sim"
    rc = run.main(["simulate", "--scenario", "cooperative", "--households", "800", "--years", "6", "--seed", "3",
                   "--out", str(out), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "poor national" in text and "2017" in text
    meta = json.loads((out / "run.json").read_text())
    assert meta["seed"] == 3 and meta["scenario"] == "cooperative"
    assert meta["parameters"]["population"]["n_households"] == 800
    assert "git_commit" in meta and "package_version" in meta
    panel = pd.read_parquet(out / "households.parquet")
    assert len(panel) == 800 * 6
    assert (out / "counties.parquet").exists()


def test_cli_bad_input_is_one_line_error(capsys):
    assert run.main(["simulate", "--scenario", "nope", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown scenario 'nope'" in err[0]
    assert run.main(["simulate", "--set", "shocks.disaster_probability=7", "--quiet"]) == 2
    assert "out of range" in capsys.readouterr().err


def test_finished_models_are_not_kept_alive(small_params):
    import gc
    import weakref

    import mesa
    model = RuralModel(small_params, seed=1)
    ref = weakref.ref(model)
    ids = [a.unique_id for a in model.agents]
    assert len(set(ids)) == len(ids)  # ids stay unique within the model
    del model
    gc.collect()
    assert ref() is None
    assert all(m is not None for m in mesa.Agent._ids)  # nothing of ours in Mesa's registry


def test_prefetched_draws_are_the_draws_of_the_year(monkeypatch):
    """Next year's random numbers are drawn in a background thread; the run must not change."""
    from ruralabm.model.draws import DrawPrefetcher, draw_year

    monkeypatch.setattr(DrawPrefetcher, "MIN_HOUSEHOLDS", 0)
    kw = {"scenario": "calibrated", "population.n_households": 800, "population.n_counties": 4}
    panels = {}
    for flag in (True, False):
        monkeypatch.setattr(RuralModel, "prefetch_draws", flag)
        m = RuralModel(seed=3, household_agents=False, **kw)
        m.run()
        assert m._draws._thread is None  # the last year prefetches nothing
        panels[flag] = m.household_panel()
    pd.testing.assert_frame_equal(panels[True], panels[False])

    # a prefetch made for other sizes is discarded, not used
    pf = DrawPrefetcher()
    pf.prefetch(1, 2015, 50, 3, 2, 1, False, False)
    got = pf.get(1, 2015, 60, 3, 2, 1, False, False)
    assert got.farm_z.shape == (60,)
    assert np.array_equal(got.farm_z, draw_year(1, 2015, 60, 3, 2, 1).farm_z)


def test_household_blocks_in_threads_give_the_same_outputs(monkeypatch):
    """Household-level processes run over blocks of households in threads, and the panel row of
    the year is mapped (and half copied) by a background thread: with 1, 2, 3 or 4 threads (one
    block fewer than threads, at least one; unequal blocks) every panel is identical, and the
    per-agent path still agrees."""
    from ruralabm.model.parallel import HouseholdBlocks

    monkeypatch.setattr(HouseholdBlocks, "MIN_HOUSEHOLDS", 0)
    kw = {"scenario": "calibrated", "population.n_households": 1001, "population.n_counties": 4,
          "calendar.end_year": 2017}
    runs = {}
    for threads in (1, 2, 3, 4):
        monkeypatch.setattr(RuralModel, "household_threads", threads)
        m = RuralModel(seed=5, household_agents=False, **kw).run()
        assert m._blocks.threads == threads and len(m._blocks.blocks) == max(1, threads - 1)
        assert (m._blocks.background() is not None) == (threads > 1)
        runs[threads] = m
    assert runs[2]._blocks.blocks == [slice(0, 1001)] and runs[4]._blocks.blocks[0] == slice(0, 333)
    for threads in (2, 3, 4):
        for panel in ("household_panel", "county_panel", "organisations_panel"):
            pd.testing.assert_frame_equal(getattr(runs[1], panel)(), getattr(runs[threads], panel)(), check_exact=True)
    assert runs[1].household_panel()["participating"].sum() > 0


def test_household_blocks_pass_errors_on_after_every_block_finished(monkeypatch):
    from ruralabm.model.params import ParameterError
    from ruralabm.model.parallel import HouseholdBlocks

    monkeypatch.setattr(HouseholdBlocks, "MIN_HOUSEHOLDS", 0)
    blocks = HouseholdBlocks(10, threads=3)  # two blocks (and a thread working ahead)
    done = []

    def failing_at(start):
        def fn(world, block):
            if block.start == start:
                raise RuntimeError(f"block at {start} failed")
            time.sleep(0.05)
            done.append(block)
        return fn

    with pytest.raises(RuntimeError, match="block at 5 failed"):  # a worker thread's block
        blocks.run(failing_at(5), None)
    assert done == [slice(0, 5)]
    with pytest.raises(RuntimeError, match="block at 0 failed"):  # the calling thread's: the other still finishes
        blocks.run(failing_at(0), None)
    assert done == [slice(0, 5), slice(5, 10)]
    assert HouseholdBlocks(10, threads=4).threads == 4 and HouseholdBlocks(10**6 - 1, threads=1).threads == 1
    monkeypatch.setattr(HouseholdBlocks, "MIN_HOUSEHOLDS", 20_000)
    assert HouseholdBlocks(19_999, threads=4).threads == 1  # small runs stay in one thread
    with pytest.raises(ParameterError, match=r"household_threads = 0 is not allowed: must be a positive integer"):
        HouseholdBlocks(10, threads=0)
    monkeypatch.setenv("RURALABM_HOUSEHOLD_THREADS", "two")
    with pytest.raises(ParameterError, match=r"RURALABM_HOUSEHOLD_THREADS = 'two' is not allowed"):
        HouseholdBlocks(10)
    monkeypatch.setenv("RURALABM_HOUSEHOLD_THREADS", "3")
    assert HouseholdBlocks(30_000).threads == 3
