"""Calibration (issue #6): targets file, parameter boxes, distance, storage and resume, scenario
output, CLI errors, and the recovery check (known parameters found again)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ruralabm.calibration import recovery
from ruralabm.calibration.objective import (ParamSpace, Targets, apply_values, mean_stats, param_bounds, simulate_statistics,
                                   split_name)
from ruralabm.model.params import ParameterError, Params


# --- targets file --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def targets():
    return Targets.load()


def test_targets_file_holds_every_required_target(targets):
    by_key = {t.key: t for t in targets.targets}
    assert by_key["clds.participation"].value == pytest.approx(0.7405)
    assert by_key["clds.t3.pseudo_r2.unmatched"].value == pytest.approx(0.362)
    for line, v in (("1.9", 0.3744), ("national", 0.4024), ("3.1", 0.5238)):
        assert by_key[f"clds.vul_mean.{line}"].value == pytest.approx(v)
    assert by_key["clds.t4.att.kernel.1.9.full"].value == pytest.approx(-0.1472)
    assert by_key["clds.t4.att.kernel.1.9.full"].se == pytest.approx(0.0276)
    assert by_key["cao.psm_pct.resilience.all"].value == pytest.approx(17.1)
    assert by_key["counties.cox_hr.primary_secondary"].value == pytest.approx(2.89)
    assert by_key["counties.cox.primary_secondary"].se == pytest.approx(0.32)
    counts = [28, 125, 283, 344, 52]
    for year, c in zip(range(2016, 2021), counts):
        assert by_key[f"counties.exit_share.{year}"].value == pytest.approx(c / 832, abs=1e-6)
    assert by_key["counties.not_exited.2020"].value == 0.0
    for var in ("age", "health", "job", "famsize", "machine", "subsidy", "distance", "hroad", "lamp", "edu",
                "ability", "twork"):
        assert f"clds.t1.mean.{var}" in by_key
    names = {o.name for o in targets.orderings}
    assert {"cao.learning_gt_buffering", "cao.learning_gt_self_organisation", "cao.cooperative_gt_enterprise",
            "cao.chain_and_technology_gt_other_forms", "clds.east_gt_central_west"} <= names
    # every target names its estimator specification
    # (official patterns fitted as targets name the statistic, what it compares and the source instead)
    for t in targets.targets:
        fields = (("stat", "estimator", "source") if t.key.startswith("patterns.") else
                  ("estimator", "outcome", "line", "sample", "region", "method", "source"))
        for field in fields:
            assert field in t.info, (t.key, field)
    # known inconsistencies are recorded, including the VEP-on-X problem, with their treatment
    keys = {i["key"] for i in targets.inconsistencies}
    assert {"clds.t4", "clds.t2", "counties.cox_hr.upgrading_index", "cao"} <= keys
    assert all(i.get("treatment") for i in targets.inconsistencies)
    assert targets.meta["vep_variant"] == "participation" and targets.settings["vep_variant"] == "participation"


# Published numbers the targets file leaves out on purpose: analysis.papers does not compute them
# (analysis.replicate reports them beside its own estimates).
NOT_COMPUTED_BY_PAPERS = {"clds.t2.r2.cov", "counties.ols.const", "counties.ols.r2", "counties.cox.ph_test_p"}


def _not_a_target(key: str) -> bool:
    """Standard deviations (Table 1) and sample sizes are descriptions, not targets."""
    return ".sd." in key or key.endswith(".n") or key in NOT_COMPUTED_BY_PAPERS


def test_targets_agree_with_published_module(targets):
    from ruralabm.analysis import published as pub

    assert NOT_COMPUTED_BY_PAPERS <= set(pub.PUBLISHED)  # the exclusions name real published numbers
    by_key = {t.key: t for t in targets.targets}
    wanted = [k for k in pub.PUBLISHED if not _not_a_target(k)]
    assert not [k for k in wanted if k not in by_key], "published numbers missing from targets.toml"
    for key in wanted:
        v, se = pub.PUBLISHED[key]
        t = by_key[key]
        assert t.value == pytest.approx(v), key
        if se is not None:
            assert t.se == pytest.approx(se), key
        else:
            assert t.se is None and t.scale > 0, key
    assert len(wanted) > 130
    # monitored only (weight 0, the objective is unchanged): the Table 1 twins of fitted targets,
    # Table 2, the matched Table 3 statistics, the OLS coefficients and the printed hazard ratios
    fitted = {t.key for t in targets.active()}
    assert not [k for k in fitted if k.startswith(("clds.t1.mean.Vul", "clds.t2.", "counties.ols.", "counties.cox_hr."))
                or k == "clds.t1.mean.T" or (k.startswith("clds.t3.") and k.endswith(".matched"))]


def test_every_target_is_a_statistic_the_objective_computes(targets):
    """needed_keys(all_targets=True) asks only for keys analysis.papers (or, for the county exit
    shares, calibration.objective.simulate_statistics) produces."""
    import re

    from ruralabm.analysis.papers import CAO_OUTCOMES, COUNTY_REGRESSORS, LINE_NAMES, PSM_METHODS, REGIONS, VUL_COLUMNS
    from ruralabm.analysis.survey import CLDS_COVARIATES

    def alt(xs):
        return "(" + "|".join(re.escape(x) for x in xs) + ")"

    lines, samples = alt(LINE_NAMES), alt(["unmatched", "matched"])
    cao_groups = alt(["all", "cooperative", "enterprise", "vertical_chain", "technology_diffusion", "agritourism",
                      "ecommerce"])
    patterns = [
        rf"clds\.participation", rf"clds\.vul_mean\.{lines}",
        rf"clds\.t1\.(mean|sd)\.{alt(list(VUL_COLUMNS.values()) + ['T'] + CLDS_COVARIATES)}",
        rf"clds\.t2\.did\.{lines}\.(nocov|cov)",
        rf"clds\.t3\.(pseudo_r2|lr_chi2|mean_bias)\.{samples}",
        rf"clds\.t3\.(mean_treated|mean_control|bias)\.{alt(CLDS_COVARIATES)}\.{samples}",
        rf"clds\.t4\.att\.{alt(list(PSM_METHODS) + ['mean'])}\.{lines}\.{alt(REGIONS)}",
        rf"clds\.t5\.(before|after|did)\.{lines}",
        rf"cao\.(psm|psm_pct)\.{alt(CAO_OUTCOMES)}\.{cao_groups}",
        rf"counties\.(ols|cox|cox_hr)\.{alt(COUNTY_REGRESSORS)}",
        rf"counties\.(exit_share|not_exited)\.20[12]\d",
    ]
    # official patterns: only fittable ones, each a statistic ruralabm.calibration.patterns computes
    from ruralabm.calibration.patterns import load_patterns

    fittable = {p.key: p for p in load_patterns().fittable()}
    held_out = {p.key for p in load_patterns().patterns if p.held_out}
    patterns.append(rf"patterns\.{alt(sorted(fittable))}")
    rx = re.compile("|".join(f"({p})" for p in patterns))
    keys = targets.needed_keys(all_targets=True)
    assert not sorted(k for k in keys if not rx.fullmatch(k))
    assert not [k for k in keys if k.startswith("patterns.") and k[len("patterns."):] in held_out]
    by_key = {t.key: t for t in targets.targets}
    for k in (k for k in keys if k.startswith("patterns.")):
        assert by_key[k].info["stat"] == fittable[k[len("patterns."):]].stat


def test_distance_and_ordering_penalty(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("""
[[target]]
key = "a"
value = 1.0
se = 0.5
weight = 2.0

[[target]]
key = "b"
value = 0.0
scale = 0.1
weight = 0.0

[[ordering]]
name = "c_gt_d"
high = ["c"]
low = ["d"]
scale = 2.0
""")
    tg = Targets.load(path)
    assert tg.distance({"a": 2.0, "b": 5.0, "c": 3.0, "d": 1.0}) == pytest.approx(2.0 * 4.0)  # b has weight 0
    assert tg.distance({"a": 1.0, "c": 1.0, "d": 3.0}) == pytest.approx(1.0)  # shortfall 2 / scale 2
    assert tg.distance({"a": float("nan"), "c": 3.0, "d": 1.0}) == pytest.approx(2.0 * 25.0)  # failed statistic
    assert mean_stats([{"x": 1.0}, {"x": 3.0, "y": 2.0}]) == {"x": 2.0, "y": 2.0}


def test_targets_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[target]]\nkey = \"a\"\nvalue = 1.0\n")
    with pytest.raises(ParameterError, match="positive se or scale"):
        Targets.load(bad)
    with pytest.raises(ParameterError, match="does not exist"):
        Targets.load(tmp_path / "none.toml")


# --- parameters ----------------------------------------------------------------------------

def test_param_space_parse_and_indexed_parameters():
    sp = ParamSpace.parse(["participation.base_rate=0.2:0.9", "forms.price_gain[0]=0:0.4"])
    assert sp.names == ["participation.base_rate", "forms.price_gain[0]"]
    vals = sp.to_params(np.array([0.5, 1.0]))
    assert vals == {"participation.base_rate": pytest.approx(0.55), "forms.price_gain[0]": pytest.approx(0.4)}
    assert np.allclose(sp.to_unit(vals), [0.5, 1.0])
    p = apply_values(Params(), vals)
    assert p.forms.price_gain[0] == pytest.approx(0.4) and p.forms.price_gain[1] == Params().forms.price_gain[1]
    assert split_name("forms.ties_gain[2]") == ("forms.ties_gain", 2)
    assert param_bounds("cooperative.villages_share") == (0.0, 1.0)


@pytest.mark.parametrize("item, message", [
    ("participation.base_rate=0:0.5", "outside the allowed range"),
    ("participation.base_rate=0.5", "LOW:HIGH"),
    ("participation.base_rate=0.6:0.4", "LOW must be below HIGH"),
    ("participation.nonsense=0:1", "unknown parameter"),
    ("forms.price_gain=0:1", "list parameter"),
    ("forms.price_gain[7]=0:1", "has 4 entries"),
    ("policy.cooperatives=0:1", "not numeric"),
])
def test_param_space_errors(item, message):
    with pytest.raises(ParameterError, match=message):
        ParamSpace.parse([item])


def test_cli_bad_params_exit_2(capsys):
    from ruralabm.cli import main

    code = main(["calibrate", "--params", "participation.base_rate=0:2", "--out", "/tmp/never_written_cal"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "participation.base_rate" in err


# --- one evaluation ------------------------------------------------------------------------

def test_simulate_statistics_small_common_random_numbers():
    keys = ["clds.participation", "clds.vul_mean.national", "cao.psm_pct.resilience.all", "counties.exit_share.2017"]
    task = {"values": {"cooperative.villages_share": 0.7}, "seed": 3, "settings": recovery.SETTINGS, "keys": keys}
    a = simulate_statistics(task)["stats"]
    b = simulate_statistics(task)["stats"]
    assert set(keys) <= set(a) and a == b  # same seed, same numbers
    assert 0 < a["clds.participation"] < 1 and 0 < a["clds.vul_mean.national"] < 1
    c = simulate_statistics(dict(task, values={"cooperative.villages_share": 0.95}))["stats"]
    assert c["clds.participation"] > a["clds.participation"]  # more cooperatives, more participation


# --- search: storage, resume, scenario output, and recovery --------------------------------

def test_recovery_of_known_parameters(tmp_path):
    """The calibration finds a known parameter vector again within 10% of each search box."""
    from ruralabm.scenarios import load
    from ruralabm.scenarios.executor import make_executor

    base = load("uncalibrated").params
    for name, truth in recovery.TRUTH.items():
        lo, hi = (float(x) for x in next(b for b in recovery.BOXES if b.startswith(name)).split("=")[1].split(":"))
        start = base.get(name)
        assert abs(start - truth) / (hi - lo) > recovery.TOLERANCE  # the start is outside the tolerance

    with make_executor("processes", workers=2) as ex:
        res = recovery.run(tmp_path, ex)
    assert res["ok"], res["error_share"]
    run = tmp_path / "run"
    lines = (run / "evaluations.jsonl").read_text().splitlines()
    n_vectors = json.loads((run / "result.json").read_text())["evaluated_vectors"]
    assert recovery.BUDGET // 2 < n_vectors <= recovery.BUDGET
    assert len(lines) == n_vectors * recovery.REPS  # every evaluation is stored

    # Resume: replaying the finished search reuses every stored evaluation.
    from ruralabm.calibration.search import start
    with make_executor("serial") as ex:
        _, again = start([], None, 0, 0, 0, None, ex, resume=run, progress=False, log=None)
    assert again["best"] == res["result"]["best"]
    assert len((run / "evaluations.jsonl").read_text().splitlines()) == len(lines)

    # Report (no Jacobian, to stay fast) and the scenario file, which loads like any scenario.
    from ruralabm.calibration.report import make_report
    scen = tmp_path / "calibrated.toml"
    with make_executor("serial") as ex:
        rep = make_report(run, ex, jacobian=False, scenario_out=scen, markdown=tmp_path / "report.md",
                          progress=False)
    sc = load(scen)
    assert sc.params.cooperative.villages_share == pytest.approx(res["estimate"]["cooperative.villages_share"], abs=1e-5)
    assert "# Provenance" in scen.read_text()
    assert set(rep["fit"]["key"]) == set(recovery.TARGETS)
    assert math.isfinite(rep["J"]) and (tmp_path / "figures" / "calibration_convergence.png").exists()
    assert "## Fit of each target" in (tmp_path / "report.md").read_text()


def test_report_jacobian_standard_errors_and_identification(tmp_path):
    """A tiny recovery calibration (6 parameter vectors x 1 replication), then the full report:
    Jacobian, indirect-inference SEs, identification table, fit and the calibrated scenario."""
    import pandas as pd

    from ruralabm.calibration.report import REPORT_EVALS, make_report
    from ruralabm.calibration.search import start
    from ruralabm.scenarios import load
    from ruralabm.scenarios.executor import make_executor

    targets_path = tmp_path / "targets.toml"
    run = tmp_path / "run"
    names = [b.split("=")[0] for b in recovery.BOXES]
    with make_executor("serial") as ex:
        recovery.write_targets(targets_path, ex)
        # With one report replication the simulated SD is undefined, so the sandwich's S would be 0;
        # give the recovery targets their tolerance as a "published" SE so that S comes from it.
        targets_path.write_text(targets_path.read_text().replace("\nscale = ", "\nse = "))
        assert all(t.se for t in Targets.load(targets_path).targets)
        start(recovery.BOXES, str(targets_path), 6, 1, recovery.SEED, run, ex, progress=False, log=None)
        rep = make_report(run, ex, jacobian=True, report_reps=1, progress=False)

    # Jacobian: one row per fitted statistic, one column per parameter, finite central differences
    D = pd.read_csv(run / "jacobian.csv", index_col=0)
    assert list(D.columns) == names
    assert set(D.index) == set(recovery.TARGETS)
    assert np.isfinite(D.to_numpy()).all() and (D.abs().sum(axis=0) > 0).all()
    assert len((run / REPORT_EVALS).read_text().splitlines()) == 1 + 2 * len(names)  # best + up/down per parameter

    # identification: one row per target, a 'fitted' flag and one column per parameter
    ident = pd.read_csv(run / "identification.csv", index_col=0)
    assert list(ident.columns) == ["fitted"] + names
    assert set(ident.index) == set(recovery.TARGETS) and ident["fitted"].all()
    assert np.isfinite(ident[names].to_numpy()).all()

    # indirect-inference standard errors: finite and positive for every parameter
    params = pd.read_csv(run / "parameters.csv")
    assert list(params["parameter"]) == names
    assert np.isfinite(params["se"]).all() and (params["se"] > 0).all(), params
    assert ((params["low"] <= params["calibrated"]) & (params["calibrated"] <= params["high"])).all()

    # fit: every target, and the scenario file loads with the calibrated values
    fit = pd.read_csv(run / "fit.csv")
    assert sorted(fit["key"]) == sorted(recovery.TARGETS) and fit["simulated_mean"].notna().all()
    sc = load(run / "calibrated.toml")
    for name, value in zip(params["parameter"], params["calibrated"]):
        assert sc.params.get(name) == pytest.approx(value, rel=1e-5)
    assert math.isfinite(rep["J"]) and rep["identification"] is not None


def test_new_run_refuses_existing_directory(tmp_path):
    from ruralabm.calibration.search import CONFIG, start

    (tmp_path / CONFIG).write_text("{}")
    with pytest.raises(ParameterError, match="already holds a calibration"):
        start(recovery.BOXES, None, 4, 1, 0, tmp_path, executor=None, progress=False, log=None)
