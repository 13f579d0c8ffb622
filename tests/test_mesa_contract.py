"""RuralModel keeps Mesa's contract: Mesa's step counter, ``running``, ``run_model()``, a
DataCollector, flat keyword arguments for ``mesa.batch_run``, cheap household façades; and the
Parquet panels written straight from the buffers read back as the panel DataFrames."""
import mesa
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ruralabm.agents import County, Household
from ruralabm.model import RuralModel
from ruralabm.model.params import ParameterError, Params

SMALL = {"population.n_households": 600, "population.n_counties": 3, "calendar.end_year": 2016}
REPORTERS = ["year", "poor_1_9", "poor_national", "poor_3_1", "participation", "income_per_capita",
             "human_capital", "natural_capital", "physical_capital", "financial_capital", "social_capital"]


def test_batch_run_over_scenarios_and_seeds():
    results = mesa.batch_run(RuralModel, parameters={"scenario": ["baseline", "cooperative"],
                                                     "population.n_households": 2000, "seed": [1, 2]},
                             iterations=1, max_steps=50, display_progress=False)
    frame = pd.DataFrame(results)
    assert len(frame) == 4
    assert set(zip(frame["scenario"], frame["seed"])) == {(s, k) for s in ("baseline", "cooperative") for k in (1, 2)}
    calendar = Params().calendar
    n_years = calendar.end_year - calendar.start_year + 1
    assert (frame["year"] == calendar.end_year).all()  # every run went to the end of the calendar and stopped
    assert (frame["Step"] == n_years - 1).all()  # batch_run reports the data of step steps - 1: the last year
    for name in REPORTERS:
        assert frame[name].notna().all(), name
    assert (frame.loc[frame["scenario"] == "baseline", "participation"] == 0).all()
    assert (frame.loc[frame["scenario"] == "cooperative", "participation"] > 0).all()
    # the same seed gives the same pre-policy world, a different seed a different one
    assert frame.loc[(frame["scenario"] == "baseline") & (frame["seed"] == 1), "poor_national"].item() != \
        frame.loc[(frame["scenario"] == "baseline") & (frame["seed"] == 2), "poor_national"].item()


def test_steps_running_and_stepping_after_the_end():
    model = RuralModel(seed=2, **SMALL)
    n_years = len(model.calendar_years)
    assert model.running and model.steps == 0
    model.step()
    assert model.steps == 1 and model.year_index == 1 and model.running
    model.run_model()
    assert not model.running
    assert model.steps == n_years == model.year_index
    assert model.finished
    with pytest.raises(RuntimeError, match="has ended"):
        model.step()
    assert model.steps == n_years and not model.running  # the refused step is not counted
    assert model.run() is model  # nothing left to run
    frame = model.datacollector.get_model_vars_dataframe()
    assert list(frame.columns) == REPORTERS
    assert list(frame["year"]) == model.calendar_years


def test_run_returns_self_and_partial_runs():
    model = RuralModel(seed=2, **SMALL)
    assert model.run(years=2) is model
    assert model.steps == 2 and model.running
    model.run()
    assert model.steps == len(model.calendar_years) and not model.running


def test_datacollector_equals_the_panel():
    model = RuralModel(seed=4, scenario="cooperative", **SMALL).run()
    panel = model.household_panel()
    reported = model.datacollector.get_model_vars_dataframe().set_index("year")
    for year in (2013, model.calendar_years[-1]):
        d = panel[panel["year"] == year]
        residents = d["residents"].to_numpy()  # person-weighted over usual residents
        row = reported.loc[year]
        for line in ("poor_1_9", "poor_national", "poor_3_1"):
            assert row[line] == np.average(d[line].to_numpy(), weights=residents), line
        assert row["participation"] == np.mean(d["participating"].to_numpy())
        for col in ("income_per_capita", "human_capital", "natural_capital", "physical_capital",
                    "financial_capital", "social_capital"):
            assert row[col] == np.mean(d[col].to_numpy()), col
        # and agrees with a pandas groupby over the panel (to rounding)
        assert row["poor_national"] == pytest.approx((d["poor_national"] * d["residents"]).sum() / d["residents"].sum())
        assert row["human_capital"] == pytest.approx(d["human_capital"].mean(), rel=1e-6)


def test_flat_overrides_scenario_and_errors():
    a = RuralModel(scenario="cooperative", seed=1, **{"population.n_households": 700, "population.n_counties": 2})
    assert a.params.population.n_households == 700 and a.params.population.n_counties == 2
    # overrides validated as one set: 200 households are too few for the default 40 counties,
    # enough for 2
    b = RuralModel(seed=1, **{"population.n_households": 200, "population.n_counties": 2})
    assert b.params.population.n_households == 200
    # params= stays the first positional argument; overrides do not change the caller's object
    p = Params()
    c = RuralModel(p, 1, **{"population.n_households": 500, "population.n_counties": 2})
    assert c.params.population.n_households == 500 and p.population.n_households == Params().population.n_households
    with pytest.raises(ParameterError, match="population.n_houses"):
        RuralModel(**{"population.n_houses": 10})
    with pytest.raises(ParameterError, match="nosuch.key"):
        RuralModel(**{"nosuch.key": 10})
    with pytest.raises(ParameterError, match="'households'"):
        RuralModel(households=10)
    with pytest.raises(ParameterError, match="shocks.disaster_probability"):
        RuralModel(**{"shocks.disaster_probability": 7})
    with pytest.raises(ParameterError, match="unknown scenario"):
        RuralModel(scenario="nope")
    with pytest.raises(ParameterError, match="either params or scenario"):
        RuralModel(Params(), scenario="baseline")


def test_household_facades_are_lazy_bulk_and_real_mesa_agents():
    model = RuralModel(seed=1, **SMALL)
    assert Household not in model._agents_by_type  # nothing built yet
    model.run(years=1)
    assert Household not in model._agents_by_type  # the vectorised path does not build them
    households = model.households
    assert len(households) == 600
    assert all(isinstance(a, mesa.Agent) for a in households)
    assert [a.row for a in households] == list(range(600))
    ids = [a.unique_id for a in model.agents]
    assert ids == list(range(1, len(ids) + 1))  # sequential, unique within the model
    assert len(model.agents) == len(model.agents_by_type[County]) + len(model.cooperatives) \
        + len(model.enterprises) + 600
    agent = households[10]
    assert agent.household_id == 10 and agent.model is model
    agent.savings = 4321.0
    assert model.world.households.savings[10] == pytest.approx(4321.0)
    assert np.array_equal(agent.idx, [10])
    seen = []
    households.do("run_phase", lambda w, idx: seen.append(int(idx[0])))
    assert seen == list(range(600))
    agent.remove()
    assert len(model.households) == 599 and agent not in model.agents
    off = RuralModel(seed=1, household_agents=False, **SMALL)
    assert len(off.households) == 0 and Household not in off.agents_by_type


def test_written_parquet_reads_back_as_the_panels(tmp_path):
    model = RuralModel(seed=5, scenario="mixed", **SMALL).run()
    files = model.write_panels(tmp_path / "out")
    methods = {"households.parquet": model.household_panel, "counties.parquet": model.county_panel,
               "county_exits.parquet": model.county_exits, "organisations.parquet": model.organisations_panel}
    assert files == list(methods)
    for name, method in methods.items():
        got = pd.read_parquet(tmp_path / "out" / name)
        expected = method()
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert got.attrs == expected.attrs, name
        # the same Arrow schema (types, pandas metadata) as DataFrame.to_parquet writes
        expected.to_parquet(tmp_path / "ref.parquet", index=False)
        assert pq.read_schema(tmp_path / "out" / name).equals(pq.read_schema(tmp_path / "ref.parquet"),
                                                              check_metadata=True), name
    assert isinstance(pd.read_parquet(tmp_path / "out" / "households.parquet")["region"].dtype, pd.CategoricalDtype)


def test_written_parquet_before_any_year(tmp_path):
    model = RuralModel(seed=5, **SMALL)
    model.write_panels(tmp_path)
    # as DataFrame.to_parquet does (an empty categorical comes back without its categories)
    model.household_panel().to_parquet(tmp_path / "ref.parquet", index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "households.parquet"),
                                  pd.read_parquet(tmp_path / "ref.parquet"), check_exact=True)


def test_streamed_parquet_equals_written_after_the_run(tmp_path):
    model = RuralModel(seed=6, scenario="cooperative", **SMALL)
    model.run(years=2)  # years recorded before the stream opens are written too
    with model.stream_panels(tmp_path / "s") as stream:
        model.run()
    assert stream.files == ["households.parquet", "counties.parquet", "county_exits.parquet", "organisations.parquet"]
    assert model._year_listeners == []
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s" / "households.parquet"), model.household_panel(),
                                  check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s" / "county_exits.parquet"), model.county_exits(),
                                  check_exact=True)
    assert pq.ParquetFile(tmp_path / "s" / "households.parquet").num_row_groups == len(model.calendar_years)
