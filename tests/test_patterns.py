"""The official patterns (calibration/patterns.toml) and the ``patterns`` command."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ruralabm.calibration import patterns as P


@pytest.fixture(scope="module")
def pset():
    return P.load_patterns()


def test_every_pattern_has_source_official_tolerance_and_reason(pset):
    assert len(pset.patterns) >= 30
    for p in pset.patterns:
        assert p.source.strip() and p.compares.strip() and p.tolerance_reason.strip(), p.key
        assert math.isfinite(p.official), p.key
        assert p.tolerance > 0, p.key
        assert p.why.strip(), p.key  # held_out_reason or fit_reason


def test_held_out_share_is_at_least_a_third(pset):
    assert pset.held_out_share() >= 1 / 3
    assert not any(p.held_out for p in pset.fittable())


def test_every_group_of_the_issue_is_covered(pset):
    groups = {p.group for p in pset.patterns}
    assert {"income_level", "income_growth", "composition", "headcount", "region", "registration",
            "county_exits"} <= groups
    keys = {p.key for p in pset.patterns}
    assert {f"poverty.national.{y}" for y in range(2012, 2021)} <= keys
    assert {f"county_exits.{y}" for y in range(2016, 2021)} <= keys


def test_deflation_arithmetic(pset):
    idx = pset.price_index
    assert idx[2014] == 1.0
    # literature.md: cumulative rural CPI 2014->2020 about +13%, 2014->2022 about +17%.
    assert idx[2020] == pytest.approx(1.13, abs=0.01)
    assert idx[2022] == pytest.approx(1.17, abs=0.01)
    assert idx[2015] == pytest.approx(1.013)
    assert idx[2013] == pytest.approx(1 / 1.018)
    assert P.deflate(11_348.43, 2020, idx) == pytest.approx(10_000, rel=1e-6)
    by_key = {p.key: p for p in pset.patterns}
    assert by_key["income.poor_areas.2020"].official == pytest.approx(12_588 / idx[2020])
    assert by_key["income.poor_areas.2020"].official_nominal == 12_588
    assert by_key["income.poor_areas.2013"].official == pytest.approx(6_079 * 1.018)
    g = by_key["income.growth.poor_areas.2014_2020"].official
    assert g == pytest.approx((12_588 / idx[2020] / 6_852) ** (1 / 6) - 1)
    assert by_key["poverty.national.2014"].official == 0.072  # shares are not deflated


def test_price_index_chains_both_ways():
    idx = P.price_index({2013: 110.0, 2014: 105.0, 2015: 120.0}, 2014)
    assert idx == pytest.approx({2014: 1.0, 2015: 1.2, 2013: 1 / 1.05, 2012: 1 / 1.05 / 1.1})


def test_pattern_table_columns_and_verdicts(pset):
    stats = pd.DataFrame({"rep": [0, 1], "seed": [1, 2], "stat": ["poverty.2014"] * 2, "value": [0.07, 0.08]})
    run = P.PatternRun("x", None, 2, 0, [1, 2], stats, [], "serial", 0.0)
    table = P.summarise(run, pset)
    assert list(table.columns) == P.COLUMNS
    row = table.set_index("key").loc["poverty.national.2014"]
    assert row["sim_mean"] == pytest.approx(0.075) and bool(row["met"])
    assert row["low"] == pytest.approx(0.052) and row["high"] == pytest.approx(0.092)
    # Patterns without simulated values are reported as not met, not dropped.
    assert len(table) == len(pset.patterns)
    assert not table.set_index("key").loc["income.poor_areas.2014", "met"]


def test_p_met_says_which_verdicts_more_replications_could_turn(pset):
    # poverty.national.2014: official 7.2%, band 5.2-9.2%
    def row(values):
        n = len(values)
        stats = pd.DataFrame({"rep": range(n), "seed": range(n), "stat": ["poverty.2014"] * n, "value": values})
        run = P.PatternRun("x", None, n, 0, list(range(n)), stats, [], "serial", 0.0)
        return P.summarise(run, pset).set_index("key").loc["poverty.national.2014"]

    rng = np.random.default_rng(0)

    def z(n):  # mean 0, sd 1 exactly
        v = rng.standard_normal(n)
        return (v - v.mean()) / v.std(ddof=1)

    edge = row(0.092 + 0.01 * z(8))  # the mean on the upper bound: a coin flip
    assert edge["sim_se"] == pytest.approx(0.01 / np.sqrt(8)) and edge["p_met"] == pytest.approx(0.5, abs=1e-6)
    near = row(0.090 + 0.01 * z(8))  # met, but 0.2 points inside with a standard error of 0.35
    assert near["met"] and 0.5 < near["p_met"] < 0.95
    sure = row(0.090 + 0.01 * z(400))  # the same mean, 50 times the replications: decided
    assert sure["met"] and sure["p_met"] > 0.99
    assert row(0.120 + 0.01 * z(8))["p_met"] < 1e-6 and row(0.072 + 0.01 * z(8))["p_met"] > 0.999
    one = row([0.07])
    assert np.isnan(one["sim_se"]) and np.isnan(one["p_met"])


def test_patterns_command_end_to_end(tmp_path):
    out = tmp_path / "pat"
    res = subprocess.run([sys.executable, "-m", "ruralabm", "patterns", "--reps", "2", "--households", "600",
                          "--set", "population.n_counties=6", "--backend", "serial", "--no-progress",
                          "--out", str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    table = pd.read_csv(out / "patterns.csv")
    assert list(table.columns) == P.COLUMNS
    assert len(table) == len(P.load_patterns().patterns)
    assert table["n_reps"].max() == 2
    assert table["sim_mean"].notna().all()
    report = (out / "report.md").read_text()
    assert "patterns met" in report and "Failed patterns" in report
    assert "Verdicts within the Monte Carlo noise" in report and table["p_met"].between(0, 1).all()
    for f in ("income.png", "poverty.png", "composition.png", "regions_exits.png"):
        assert (out / "figures" / f).stat().st_size > 1000


def test_command_defaults_mirror_the_library():
    from ruralabm.commands import patterns as cmd

    assert (cmd.DEFAULT_SCENARIO, cmd.DEFAULT_REPS, cmd.DEFAULT_HOUSEHOLDS, cmd.DEFAULT_OUT) == (
        P.DEFAULT_SCENARIO, P.DEFAULT_REPS, P.DEFAULT_HOUSEHOLDS, P.DEFAULT_OUT)


def test_runs_of_the_same_world_pool_and_others_are_refused(tmp_path, pset):
    def finished(name, master, seeds, values, **meta):
        d = tmp_path / name
        d.mkdir()
        n = len(seeds)
        pd.DataFrame({"rep": range(n), "seed": seeds, "stat": ["poverty.2014"] * n, "value": values}).to_csv(
            d / "replications.csv", index=False)
        info = {"scenario": "mixed", "reps": n, "seed": master, "seeds": seeds, "households": 600, "version": "v",
                "commit": "c", "params_sha256": "p", "failures": [], "wall_seconds": 1.0}
        (d / "patterns.json").write_text(json.dumps({**info, **meta}))
        return d

    a = finished("a", 0, [11, 12], [0.090, 0.094])
    b = finished("b", 1, [21, 22, 23], [0.091, 0.095, 0.093], failures=[[1, "boom"]])
    run, metas = P.pooled([a, b])
    assert run.reps == 5 and sorted(run.stats["rep"]) == [0, 1, 2, 3, 4] and len(metas) == 2
    assert run.failures == [(3, "boom")]  # the second run's replication 1 is the pool's replication 3
    row = P.summarise(run, pset).set_index("key").loc["poverty.national.2014"]
    values = np.array([0.090, 0.094, 0.091, 0.095, 0.093])
    assert row["n_reps"] == 5 and row["sim_mean"] == pytest.approx(values.mean())
    assert row["sim_se"] == pytest.approx(values.std(ddof=1) / np.sqrt(5))
    # The same replications twice would fake precision; another world's would mix two models.
    with pytest.raises(P.ParameterError, match="replication seed 11"):
        P.pooled([a, finished("a2", 0, [11, 12], [0.090, 0.094])])
    with pytest.raises(P.ParameterError, match="params_sha256"):
        P.pooled([a, finished("c", 2, [31], [0.09], params_sha256="q")])
    with pytest.raises(P.ParameterError, match="not a finished patterns run"):
        P.pooled([a, tmp_path])
    with pytest.raises(P.ParameterError, match="at least 2"):
        P.pooled([a])
