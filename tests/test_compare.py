"""compare: common random numbers, summary statistics, outputs, bad input."""
import math

import numpy as np
import pandas as pd
import pytest

from ruralabm import cli as run
from ruralabm.model import ParameterError
from ruralabm.scenarios.compare import plan, run_compare, t_interval
from ruralabm.scenarios.runner import METRICS, median_exit_date, summarise_run

SMALL = dict(households=600, years=6)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    result, summary = run_compare(["baseline", "cooperative", "enterprise"], reps=3, seed=2, out=out, **SMALL,
                                  years_of_interest=[2014, 2016, 2017])
    return out, result, summary


def test_every_scenario_uses_the_same_replication_seeds(compared):
    _, result, _ = compared
    seeds = result.runs.groupby(["scenario", "rep"])["seed"].first().unstack("rep")
    assert (seeds.nunique() == 1).all() and seeds.shape == (3, 3)
    assert seeds.iloc[0].nunique() == 3


def test_pre_policy_years_are_identical_across_scenarios(compared):
    _, result, summary = compared
    r = result.runs
    pre = r[r["year"] == 2014].pivot_table(index=["rep", "metric"], columns="scenario", values="value")
    assert (pre["baseline"] == pre["cooperative"]).all() and (pre["baseline"] == pre["enterprise"]).all()
    s = summary[(summary["year"] == 2014) & (summary["scenario"] == "cooperative")]
    assert (s["diff"] == 0).all()
    post = summary[(summary["year"] == 2017) & (summary["scenario"] == "cooperative") &
                   (summary["metric"] == "participation")].iloc[0]
    assert post["diff"] > 0.1 and post["distinguishable"]


def test_summary_has_every_metric_with_paired_intervals(compared):
    _, result, summary = compared
    assert set(summary["metric"]) == set(METRICS)
    assert set(summary["year"].dropna()) == {2014, 2016, 2017}
    row = summary[(summary["scenario"] == "enterprise") & (summary["metric"] == "income_pc") & (summary["year"] == 2016)].iloc[0]
    runs = result.runs[(result.runs["metric"] == "income_pc") & (result.runs["year"] == 2016)]
    x = runs.pivot(index="rep", columns="scenario", values="value")
    d = (x["enterprise"] - x["baseline"]).to_numpy()
    mean, sd, lo, hi, n = t_interval(d)
    assert row["diff"] == pytest.approx(d.mean()) and row["diff_ci_low"] == pytest.approx(lo)
    assert row["diff_ci_high"] == pytest.approx(hi) and n == 3
    assert bool(row["distinguishable"]) == (lo > 0 or hi < 0)
    assert summary[summary["scenario"] == "baseline"]["diff"].isna().all()


def test_outputs_are_written(compared):
    out, _, _ = compared
    for name in ("summary.csv", "summary.md", "report.md", "runs.parquet", "exits.parquet", "compare.json",
                 "resilience_quantiles.parquet", "figures/trajectories.png", "figures/differences.png",
                 "figures/resilience_distribution.png", "figures/county_exits.png"):
        assert (out / name).exists(), name
    report = (out / "report.md").read_text()
    assert "distinguishable from noise" in report and "figures/county_exits.png" in report
    assert "common random numbers" in report
    csv = pd.read_csv(out / "summary.csv")
    assert {"mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high", "distinguishable"} <= set(csv.columns)


def test_t_interval_and_km_median():
    mean, sd, lo, hi, n = t_interval(np.array([1.0, 2.0, 3.0, np.nan]))
    assert (mean, n) == (2.0, 3) and lo == pytest.approx(2 - 4.302653 / math.sqrt(3)) and hi == pytest.approx(2 + 4.302653 / math.sqrt(3))
    assert math.isnan(t_interval(np.array([1.0]))[2])
    dates = np.array([2017.5, 2018.2, 2020.0, 2020.0, 2016.9])
    assert median_exit_date(dates, np.array([1, 1, 0, 0, 1])) == 2018.2
    assert math.isnan(median_exit_date(dates, np.array([1, 1, 0, 0, 0])))


def test_summarise_run_long_format_and_metric_subset():
    from ruralabm.model import Params
    p = Params()
    p.population.n_households = 600
    p.calendar.end_year = 2016
    out = summarise_run(p, 1, years_of_interest=[2016], metrics=["poverty_rate", "exit_share"])
    m = out["metrics"]
    assert list(m.columns) == ["year", "metric", "value"]
    assert set(m["metric"]) == {"poverty_national", "exit_share"}
    assert m.loc[m["metric"] == "exit_share", "year"].isna().all()
    assert len(out["exits"]["duration"]) == p.population.n_counties


def test_default_size_applies_unless_a_scenario_file_sets_it(tmp_path):
    f = tmp_path / "small.toml"
    f.write_text('extends = "cooperative"\n[population]\nn_households = 800\n')
    p = plan(["baseline", str(f)], households=None, default_households=20_000, reps=2, years=3)
    assert [sc.params.population.n_households for sc in p.scenarios] == [20_000, 800]
    p = plan(["baseline", str(f)], households=600, reps=2, years=3)
    assert [sc.params.population.n_households for sc in p.scenarios] == [600, 600]
    assert len(p.tasks) == 4 and [t["seed"] for t in p.tasks[:2]] == [p.seeds[0]] * 2


def test_plan_errors():
    with pytest.raises(ParameterError, match="unknown scenario 'utopia'; available: .*baseline"):
        plan(["baseline", "utopia"], **SMALL)
    with pytest.raises(ParameterError, match="more than once"):
        plan(["baseline", "baseline"], **SMALL)
    with pytest.raises(ParameterError, match=r"--years-of-interest \[2030\] not simulated.*2012-2017"):
        plan(["baseline"], years_of_interest=[2030], **SMALL)
    with pytest.raises(ParameterError, match="shocks.disaster_probability = 2.0 is out of range"):
        plan(["baseline"], overrides=["shocks.disaster_probability=2.0"], **SMALL)


def test_cli_bad_input_exit_2_one_line_nothing_written(tmp_path, capsys):
    out = tmp_path / "never"
    for argv in (["compare", "--scenarios", "baseline,utopia", "--out", str(out)],
                 ["compare", "--set", "shocks.nope=1", "--out", str(out)],
                 ["compare", "--years-of-interest", "1999", "--out", str(out)]):
        assert run.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err
    assert not out.exists()


def test_cli_compare_small_run(tmp_path, capsys):
    out = tmp_path / "c"
    code = run.main(["compare", "--scenarios", "baseline,mixed", "--reps", "2", "--households", "500", "--years", "5",
                     "--backend", "serial", "--no-progress", "--out", str(out),
                     "--set", "shocks.disaster_probability=0.2"])
    assert code == 0
    text = capsys.readouterr().out
    assert "mixed - baseline" in text and "Year 2016" in text and "identical" in text
    assert (out / "report.md").exists()
