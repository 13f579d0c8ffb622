"""Estimator validation against the known truth (counterfactual twins).

Each behaviour is checked on a small Monte Carlo with its Monte Carlo error taken into account:
a bias is "zero" when it is within 3 Monte Carlo standard errors of zero, "positive" when it
exceeds 3 of them; coverage is "near 95%" within three binomial standard errors. Settings and
their reasons are in docs/validation.md.
"""
import json
import math

import numpy as np
import pandas as pd
import pytest

from ruralabm.analysis import validation as v
from ruralabm.analysis.estimators.errors import EstimationError
from ruralabm.scenarios.executor import make_executor

PSM = ["psm-nn1", "psm-nn4", "psm-radius", "psm-kernel"]


def _run(tmp_path_factory, name, **kw):
    cfg = v.ValidationConfig(**kw)
    out = tmp_path_factory.mktemp(name)
    with make_executor("processes", 2) as ex:
        rows = v.run(cfg, out, executor=ex)
    return rows, v.summarise(rows)


@pytest.fixture(scope="module")
def observables(tmp_path_factory):
    """'identified' preset, clean design: no spillovers, participation a probit in observed
    baseline covariates plus noise (selection 0), or plus the unobserved drive (selection 1)."""
    return _run(tmp_path_factory, "observables", preset="identified", selection=[0.0, 1.0], designs=["clean"],
                outcomes=["income", "ln_income", "poverty"], estimators=PSM + ["did", "psm-did"], households=8000,
                sample=100_000, batches=1, reps=24, master_seed=11)


@pytest.fixture(scope="module")
def instrument(tmp_path_factory):
    """'instrument' preset: a village cooperative is most households' only way in, placed at
    random; strong selection on drive; the whole population is surveyed."""
    return _run(tmp_path_factory, "instrument", preset="instrument", selection=[1.0], designs=["clean"],
                outcomes=["income"], estimators=["psm-nn1", "psm-kernel", "cmp"], households=8000, sample=100_000,
                batches=1, reps=16, restrict_access=False, master_seed=5)


def _cell(summary, selection, estimator, outcome="income"):
    s = summary[(summary["selection"] == selection) & (summary["estimator"] == estimator)
                & (summary["outcome"] == outcome)]
    assert len(s) == 1, (selection, estimator, outcome)
    return s.iloc[0]


def _paired_errors(rows, estimator, outcome="income"):
    """Estimate minus truth per replication and selection setting (same seeds across settings)."""
    r = rows[(rows["estimator"] == estimator) & (rows["outcome"] == outcome)].copy()
    r["err"] = r["estimate"] - r["truth"]
    return r.pivot_table(index="rep", columns="selection", values="err")


def test_every_replication_and_estimator_ran(observables, instrument):
    for rows, summary in (observables, instrument):
        assert rows["error"].isna().all(), rows["error"].dropna().unique()[:3]
        assert (summary["failed"] == 0).all()
        assert np.isfinite(rows[["estimate", "se", "truth"]].to_numpy()).all()


# Explained failure (2026-12-06), reported in docs/validation.md and the issue notes, not hidden:
# kernel matching at the paper's bandwidth (normal kernel, 0.06) has a smoothing bias here. With
# the treated's propensities high and the controls' density falling steeply with the propensity
# (about 2,100 controls in the lowest decile of the treated's propensity, 14 in the highest), the
# kernel weights controls of lower propensity than the treated: -171 yuan (MC SE 51) on a
# 2,190-yuan effect, shrinking with the bandwidth (-69 at 0.03, -44 at 0.015), while NN 1:1, NN
# 1:4 and radius matching, which do not smooth, pass. benchmarks/psm_bias_check.py reproduces it.
# Those numbers are of the indirect-inference point's world; on the shipped posterior median
# (after the set-up's refit, 2026-12-06): -186 (50) on 2,428 yuan, -80 (48) at 0.03, -49 (46) at
# 0.015 (-180, -90, -67 at the day's first median); on the third median (phased-in support, maturing
# gains, third session): -217 (47) on 1,207 yuan, -108 (44) at 0.03, -77 (44) at 0.015.
# (The NN/radius bias of +210 yuan reported before came from capacity rationing the `identified`
# preset failed to remove; the preset now switches the capacity ramp off.)
_KERNEL_SMOOTHING = pytest.mark.xfail(reason="kernel matching's smoothing bias at the paper's bandwidth 0.06: "
                                             "-217 yuan (MC SE 47) on a 1,207-yuan effect, -77 at bandwidth 0.015 on "
                                             "the shipped third posterior median (-171 and -44 at the "
                                             "indirect-inference point; see comment)",
                                      strict=False)


@pytest.mark.parametrize("estimator", [pytest.param(e, marks=_KERNEL_SMOOTHING) if e == "psm-kernel" else e
                                       for e in PSM])
def test_psm_unbiased_and_covers_under_selection_on_observables(observables, estimator):
    rows, summary = observables
    c = _cell(summary, 0.0, estimator)
    assert c["true_att"] > 300  # participation raises income by several hundred yuan per head
    assert abs(c["bias"]) < 3 * c["mc_se_bias"], c.to_dict()
    # Bias small relative to the effect as well, not only to a large Monte Carlo error.
    assert abs(c["bias"]) < 0.15 * c["true_att"], c.to_dict()
    tol = 3 * math.sqrt(0.95 * 0.05 / c["reps"])
    assert 0.95 - tol <= c["coverage"] <= 1.0, c.to_dict()


@pytest.mark.parametrize("estimator", PSM)
def test_psm_biased_as_the_construction_implies_under_unobserved_selection(observables, estimator):
    """Drive raises participation and farm and business returns: matching on observables
    overstates the income gain and overstates the fall in poverty."""
    rows, summary = observables
    inc = _cell(summary, 1.0, estimator, "income")
    assert inc["bias"] > 3 * inc["mc_se_bias"], inc.to_dict()
    assert inc["bias"] > 0.3 * inc["true_att"]
    assert inc["coverage"] < 0.5
    pov = _cell(summary, 1.0, estimator, "poverty")
    assert pov["bias"] < -3 * pov["mc_se_bias"], pov.to_dict()


# Marked xfail from the indirect-inference point to the second posterior median (2026-12-06): it
# failed there (the change ratio 0.235 at the point; DID's selection-1 log-income bias 0.158 and 0.171
# of PSM's at the first two medians). On the third median
# (phased-in support, maturing gains) it is 0.070 (-0.019 against +0.269 log points) and the
# selection-induced change of DID's error -0.11 of PSM's: the test passes, so the mark is gone.
def test_did_removes_time_invariant_unobserved_selection(observables):
    """Household fixed effects difference out drive's time-invariant effect: DID's bias barely
    moves from selection 0 to selection 1 while PSM's grows by most of the effect size.

    In the national world drive's effect is not exactly time-invariant, in yuan or in logs: incomes
    grow (about 6% a year), drive multiplies only farm and business income while wages and
    transfers grow faster, and high-drive households accumulate more assets. So DID removes most,
    not all, of the selection (docs/validation.md gives the numbers). Tested on log income: the
    selection-induced change of DID's error (paired by replication) is under a fifth of PSM's,
    and DID's bias and RMSE at selection 1 are small against PSM's. DID is not exactly unbiased
    even at selection 0 (the sample is drawn in the year before a targeted transfer to the
    registered poor starts, so treated and controls trend differently).
    """
    rows, summary = observables
    did_err = _paired_errors(rows, "did", "ln_income")
    psm_err = _paired_errors(rows, "psm-kernel", "ln_income")
    change = did_err[1.0] - did_err[0.0]
    psm_change = psm_err[1.0] - psm_err[0.0]
    assert psm_change.mean() > 0 and abs(change.mean()) < 0.2 * psm_change.mean(), (change.mean(), psm_change.mean())
    psm_sel1 = _cell(summary, 1.0, "psm-kernel", "ln_income")
    did_sel1 = _cell(summary, 1.0, "did", "ln_income")
    assert abs(did_sel1["bias"]) < 0.15 * abs(psm_sel1["bias"]), (did_sel1.to_dict(), psm_sel1.to_dict())
    assert did_sel1["rmse"] < 0.3 * psm_sel1["rmse"]


def test_cmp_with_a_valid_instrument_beats_psm_under_unobserved_selection(instrument):
    rows, summary = instrument
    cmp_ = _cell(summary, 1.0, "cmp")
    cmp_err = _paired_errors(rows, "cmp")[1.0]
    for est in ("psm-nn1", "psm-kernel"):
        psm_ = _cell(summary, 1.0, est)
        assert psm_["bias"] > 3 * psm_["mc_se_bias"]  # PSM is biased upward here
        assert cmp_["rmse"] < psm_["rmse"], (cmp_.to_dict(), psm_.to_dict())
        # |bias| smaller by more than the Monte Carlo error of the paired difference.
        diff = _paired_errors(rows, est)[1.0].abs() - cmp_err.abs()
        assert abs(psm_["bias"]) - abs(cmp_["bias"]) > 3 * diff.std(ddof=1) / math.sqrt(len(diff))


def test_results_are_written_per_replication_and_resume(tmp_path):
    cfg = v.ValidationConfig(preset="identified", selection=[0.0], designs=["paper"], outcomes=["income"],
                             estimators=["psm-kernel", "did"], households=3000, sample=400, batches=1, reps=2)
    calls = []
    rows = v.run(cfg, tmp_path, log=calls.append)
    files = sorted(tmp_path.glob("reps/sel0/rep-*.json"))
    assert [f.name for f in files] == ["rep-0000.json", "rep-0001.json"]
    assert json.loads((tmp_path / "manifest.json").read_text())["config"]["reps"] == 2
    assert len(rows) == 4
    # Remove one replication and ask for three: only the two missing ones run.
    files[1].unlink()
    cfg.reps = 3
    rows2 = v.run(cfg, tmp_path, log=calls.append)
    assert any("1 of 3 replications already done" in c for c in calls)
    assert len(rows2) == 6
    again = rows2[rows2["rep"] == 1]["estimate"].to_numpy()
    assert np.allclose(np.sort(again), np.sort(rows[rows["rep"] == 1]["estimate"].to_numpy()))
    # A different configuration in the same directory is refused.
    other = v.ValidationConfig(**{**cfg.__dict__, "households": 3500})
    with pytest.raises(v.ParameterError, match="different configuration"):
        v.run(other, tmp_path)
    summary = v.write_report(rows2, tmp_path)
    assert (tmp_path / "summary.csv").exists() and (tmp_path / "figures" / "paper-income.png").exists()
    assert set(summary["estimator"]) == {"psm-kernel", "did"}


def test_vulnerability_truth_and_the_vep_variant():
    """The VEP on X alone gives a near-zero PSM effect and a near-zero VEP-implied (twin) effect,
    while the truth (poverty next year) is clearly negative. With participation among the VEP
    regressors PSM recovers what the VEP model implies (its twin difference), which is negative
    here; in small samples the sign of that VEP-implied effect is not reliable (docs).

    Tested on the mean of 6 replications of 20,000 households: one replication's gap between the
    variant's estimate and its twin difference has an SD of about 0.026 in the shipped world (8
    replications, 2026-12-06), so a single draw cannot carry a tolerance of 0.03; the mean's gap must
    be within 3 Monte Carlo SEs of zero."""
    cfg = v.ValidationConfig(selection=[0.0], designs=["paper"], outcomes=["vulnerability", "vulnerability-participating"],
                             estimators=["psm-kernel"], households=20_000, sample=100_000, batches=2, reps=6)
    rows = pd.DataFrame([row for task in cfg.tasks() for row in v.replicate(task)["rows"]])
    plain = rows[rows["outcome"] == "vulnerability"].reset_index(drop=True)
    variant = rows[rows["outcome"] == "vulnerability-participating"].reset_index(drop=True)
    assert len(plain) == len(variant) == 6 and (plain["truth"] == variant["truth"]).all()
    # The truth in the calibrated national world is about -0.034 (docs/validation.md: 20
    # replications of 40,000 households). "Clearly negative": below -0.01 and at least 0.015 below
    # what PSM on the VEP of X estimates.
    truth, estimate = plain["truth"].mean(), plain["estimate"].mean()
    assert truth < -0.01 and truth < estimate - 0.015
    assert abs(estimate) < 0.02 and abs(plain["truth_vep_twin"].mean()) < 0.02
    gap = variant["estimate"] - variant["truth_vep_twin"]
    assert abs(gap.mean()) < 3 * gap.std(ddof=1) / np.sqrt(len(gap)), gap.tolist()
    assert variant["estimate"].mean() < estimate - 0.03


def test_cli_validate_and_errors(tmp_path, capsys):
    from ruralabm import cli as run

    out = tmp_path / "v"
    code = run.main(["validate", "--reps", "1", "--households", "3000", "--sample", "300", "--batches", "1",
                     "--selection-on-unobservables", "0", "--estimators", "psm-nn1,did", "--outcome", "income",
                     "--backend", "serial", "--no-progress", "--no-figures", "--out", str(out)])
    assert code == 0
    assert (out / "summary.csv").exists() and (out / "reps" / "sel0" / "rep-0000.json").exists()
    assert "psm-nn1" in capsys.readouterr().out
    code = run.main(["validate", "--resume", str(out), "--reps", "2", "--backend", "serial", "--no-progress",
                     "--no-figures"])
    assert code == 0 and (out / "reps" / "sel0" / "rep-0001.json").exists()
    assert run.main(["validate", "--estimators", "psm-nn9", "--out", str(tmp_path / "x")]) == 2
    assert "unknown estimator" in capsys.readouterr().err
    assert run.main(["validate", "--resume", str(tmp_path / "nothing")]) == 2


# The two channels through which drive reaches participation whatever the knob (docs/validation.md):
# registration targets households assessed poor, and drive raises income, so registered households
# have less drive given the CLDS covariates; organisations that fill up ration slots by the
# application score, which favours the registered.
NO_REGISTRATION_CHANNEL = ["participation.registered_poor_effect=0", "linkage.cooperative_capacity_share=1",
                           "linkage.enterprise_capacity_share=1"]


def _drive_gaps(selection: float, seeds, gain_income: str | None = None, households: int = 12_000,
                overrides=()) -> pd.DataFrame:
    """Realised drive gaps (validation.drive_gaps) in the calibrated world's paper-design sample."""
    from ruralabm.model import RuralModel

    over = ([f"participation.gain_income={gain_income}"] if gain_income else []) + list(overrides)
    cfg = v.ValidationConfig(households=households, overrides=over)
    rows = []
    for seed in seeds:
        panel = RuralModel(cfg.params_for(selection), seed=seed, household_agents=False).run().household_panel()
        sample, covariates = v.build_sample(panel, cfg, "paper", seed)
        rows.append(v.drive_gaps(panel, sample, covariates, cfg.post))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("selection", [0.0, 1.0])
def test_the_decision_reads_drive_only_through_the_knob(selection):
    """The definition of selection_on_unobservables = 0 (docs/odd.md 7.5): given everything the
    participation rule reads -- the household's covariates, registration, the options within reach
    and their expected gains (scaled by drive-free expected income) -- the decision does not depend
    on drive. Re-deciding the same year, from the same state and draws, with drive shuffled
    across households changes no application at 0, and changes them at 1."""
    import copy

    from ruralabm.model import RuralModel
    from ruralabm.model.processes import participation
    from ruralabm.scenarios import load

    sc = load("calibrated", ["population.n_counties=8", "population.n_households=3000", "calendar.end_year=2016",
                             f"participation.selection_on_unobservables={selection}"])
    world = RuralModel(sc.params, seed=3, household_agents=False).run().world
    assert world.policy_active
    as_is, shuffled = copy.deepcopy(world), copy.deepcopy(world)
    drive = shuffled.households.entrepreneurial_drive
    drive[:] = np.random.default_rng(0).permutation(drive)
    participation.decide(as_is, slice(None))
    participation.decide(shuffled, slice(None))
    assert (as_is.scratch.applied_org >= 0).sum() > 100
    same = np.array_equal(as_is.scratch.applied_org, shuffled.scratch.applied_org)
    assert same == (selection == 0.0)
    if selection == 0.0:
        assert np.array_equal(as_is.scratch.application_score, shuffled.scratch.application_score)


def test_selection_zero_means_no_selection_on_drive_given_covariates():
    """At selection_on_unobservables = 0 (calibrated world, drive-free expected income in the
    decision) the coefficient of T in a regression of drive on T and the CLDS covariates in the
    survey sample is within 2 SE of 0 (pooled over seeds) once the registration channel is
    neutralised; it grows with the knob. With the registration channel on, drive still reaches
    participation at 0 (the realised gap the validation reports; docs/validation.md)."""
    seeds = [1, 2, 3, 4, 5]
    by_sel = {s: _drive_gaps(s, seeds, overrides=NO_REGISTRATION_CHANNEL) for s in (0.0, 0.5, 1.0)}
    pooled = {s: (g["drive_gap_conditional"].mean(), math.sqrt((g["drive_gap_conditional_se"] ** 2).sum()) / len(g))
              for s, g in by_sel.items()}
    coef0, se0 = pooled[0.0]
    assert abs(coef0) < 2 * se0, pooled
    assert pooled[0.5][0] > coef0 + 3 * se0 and pooled[1.0][0] > pooled[0.5][0] + 2 * pooled[0.5][1], pooled
    # The raw gap (no conditioning) is not zero at 0: targeting on observed covariates that
    # correlate with drive (poverty, subsidy, schooling) selects low-drive households.
    assert by_sel[0.0]["drive_gap_population"].mean() < 0
    # The registration channel: in the shipped world the conditional gap at 0 is negative.
    shipped = _drive_gaps(0.0, seeds)
    assert shipped["drive_gap_conditional"].mean() < 0


def test_parameter_changes_are_stated():
    """Every parameter the validation changes from the scenario is listed with its reason; the
    default runs in the calibrated world (only size, calendar cut and selection change)."""
    none = v.parameter_changes(v.ValidationConfig(selection=[0.0, 1.0]))
    assert set(none["parameter"]) == {"population.n_households", "calendar.end_year",
                                      "participation.selection_on_unobservables"}
    from ruralabm.scenarios import load

    shipped = load("mixed").params.participation.subsidy_effect
    ident = v.parameter_changes(v.ValidationConfig(preset="identified", selection=[0.0])).set_index("parameter")
    row = ident.loc["participation.subsidy_effect"]
    assert row["scenario"] == pytest.approx(shipped) and row["used"] == 1.6 and row["why"] == "preset identified"
    inst = v.parameter_changes(v.ValidationConfig(preset="instrument", selection=[0.0])).set_index("parameter")
    assert inst.loc["cooperative.villages_share", "used"] == 0.6
    text = v.format_changes(v.parameter_changes(v.ValidationConfig(preset="identified")), v.ValidationConfig(preset="identified"))
    assert f"participation.subsidy_effect: {shipped!r} -> 1.6" in text and "learning.peer_effect" in text


def test_overlap_diagnostics_of_weights():
    t = np.array([1, 1, 1, 0, 0, 0, 0])
    w = np.array([1, 1, 1, 2.0, 1.0, 0.0, np.nan])
    d = v.weight_diagnostics(t, w, n_off=1)
    assert d["off_support_share"] == pytest.approx(1 / 3) and d["n_controls_used"] == 2
    assert d["ess_controls"] == pytest.approx(9 / 5)  # (2 + 1)^2 / (4 + 1)


def test_validate_states_changes_both_truths_overlap_drive_gaps_and_failures(tmp_path, capsys):
    """What `validate` prints and writes besides the table: every parameter it runs with a value
    other than the scenario's (here a --set, the size, the calendar cut and the selection), the
    two truths labelled, the realised drive gap per setting, overlap diagnostics on every
    estimator row, and failed estimator runs counted by reason."""
    from ruralabm import cli as run

    out = tmp_path / "v"
    code = run.main(["validate", "--reps", "2", "--households", "3000", "--sample", "600", "--batches", "1",
                     "--selection-on-unobservables", "0,1", "--design", "paper,clean", "--outcome", "income",
                     "--estimators", "psm-kernel,did", "--set", "shocks.disaster_probability=0.2",
                     "--backend", "serial", "--no-progress", "--no-figures", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    from ruralabm.scenarios import load

    calibrated = load("mixed").params.participation.selection_on_unobservables  # calibrated since 2026-12-06
    for line in ("Parameters changed from scenario 'mixed' (preset none):",
                 "shocks.disaster_probability: 0.1 -> 0.2 (--set)", "population.n_households: 10000 -> 3000",
                 "calendar.end_year: 2022 -> 2017",
                 f"participation.selection_on_unobservables: {calibrated!r} -> 1.0 [selection 1]",
                 f"participation.selection_on_unobservables: {calibrated!r} -> 0.0 [selection 0]",
                 v.TRUTH_LEGEND):
        assert line in text, line
    md = (out / "summary.md").read_text()
    assert md.startswith("Parameters changed from scenario 'mixed'") and "(--set)" in md and v.TRUTH_LEGEND in md
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"parameter": "shocks.disaster_probability", "selection": None, "scenario": 0.1, "used": 0.2,
            "why": "--set"} in manifest["parameter_changes"]
    # the realised drive gaps, one line per (design, selection), equal to the replications' means
    rows = pd.read_csv(out / "rows.csv")
    gaps = pd.read_csv(out / "drive_gaps.csv")
    assert len(gaps) == 4 and "Realised selection on the unobserved drive" in md
    for g in gaps.itertuples():
        reps = rows[(rows["design"] == g.design) & (rows["selection"] == g.selection)].drop_duplicates("rep")
        assert g.reps == 2
        assert g.population == pytest.approx(reps["drive_gap_population"].mean(), rel=1e-12)
        assert g.survey == pytest.approx(reps["drive_gap_sample"].mean(), rel=1e-12)
        assert g.given_covariates == pytest.approx(reps["drive_gap_conditional"].mean(), rel=1e-12)
        assert (f"realised drive gap ({g.design}, selection {g.selection:g}; sd of drive, post wave): "
                f"population {g.population:+.3f}, survey {g.survey:+.3f}") in text
    # both truths on every row: in the clean design no control has ever participated by the
    # post wave (the policy's first year), so they coincide on income; in the paper design the
    # 2016 controls include former members
    clean, paper = rows[rows["design"] == "clean"], rows[rows["design"] == "paper"]
    assert (clean["truth_current"] == clean["truth"]).all()
    assert (paper["truth_current"] != paper["truth"]).all()
    # overlap diagnostics on every estimator result: weights for the matching estimator, the
    # propensity range by arm for every row
    psm_rows, did_rows = rows[rows["estimator"] == "psm-kernel"], rows[rows["estimator"] == "did"]
    failed = psm_rows["error"].notna()
    # (a run that failed has no weights; on 600 surveyed households one can fail: it is counted)
    assert np.isfinite(psm_rows.loc[~failed, list(v.OVERLAP_COLUMNS)].to_numpy()).all()
    assert failed.sum() <= 1, psm_rows.loc[failed, "error"].tolist()
    if failed.any():
        assert "estimator run(s) failed" in text and "psm-kernel: 1 of" in text, text
    assert did_rows[list(v.OVERLAP_COLUMNS)].isna().all().all()
    # the propensity range is a replication's: undefined (NaN on its every row) only where the
    # propensity model itself failed, the one failure allowed above
    keys = ["design", "selection", "rep"]
    # (the error column is all missing, not text, when nothing failed)
    propensity_failed = failed & psm_rows["error"].astype("string").str.contains("propensity model", na=False)
    no_propensity = rows.set_index(keys).index.isin(psm_rows.loc[propensity_failed].set_index(keys).index)
    assert np.isfinite(rows.loc[~no_propensity, list(v.PROPENSITY_COLUMNS)].to_numpy()).all()
    assert rows.loc[no_propensity, list(v.PROPENSITY_COLUMNS)].isna().all().all()
    ranged = rows.loc[~no_propensity]
    assert (ranged["ps_treated_min"] <= ranged["ps_treated_max"]).all()


def test_failed_estimator_runs_are_counted_by_reason():
    rows = pd.DataFrame({"estimator": ["cmp"] * 4 + ["did"] * 4,
                         "error": ["EstimationError: separation", None, "EstimationError: separation",
                                   "ConvergenceError: no", None, None, None, None]})
    lines = v.failure_lines(rows)
    assert lines[0].startswith("3 of 8 estimator run(s) failed")
    assert "  cmp: 2 of 4 - EstimationError: separation" in lines and "  cmp: 1 of 4 - ConvergenceError: no" in lines
    assert v.failure_lines(rows.assign(error=None)) == []


def test_psm_methods_share_one_propensity_fit_with_the_same_numbers():
    """Validation fits a design's propensity once for every PSM method and outcome: each estimate
    and SE equals that of a match that fits its own score; other rows or other treatment values
    get a fit of their own, and a fit that fails fails for every estimator that uses it."""
    rng = np.random.default_rng(3)
    n = 600
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    t = (0.8 * x1 - 0.5 * x2 + rng.normal(size=n) > 0.3).astype(int)
    data = pd.DataFrame({"year": 2016, "T": t, "x1": x1, "x2": x2, "flag": 0,
                         "income": 1000 + 300 * t + 200 * x1 + rng.normal(0, 100, n)})
    shared = v.SharedPropensity()
    for other in (data, data.assign(T=1 - data["T"]), data.iloc[: n // 2]):
        for method in PSM:
            own = v.apply_estimator(method, other, "income", ["x1", "x2", "flag"], (2015, 2016))
            assert v.apply_estimator(method, other, "income", ["x1", "x2", "flag"], (2015, 2016),
                                     propensity=shared) == own
    separated = data.assign(x2=data["T"].astype(float))
    for method in PSM:
        for propensity in (None, shared):
            with pytest.raises(EstimationError, match="separation"):
                v.apply_estimator(method, separated, "income", ["x1", "x2"], (2015, 2016), propensity=propensity)
    # the overlap diagnostic reads the shared fit, and fits a separated sample without the check
    for sample in (data, separated):
        own = v.propensity_overlap(sample, ["x1", "x2"])
        assert v.propensity_overlap(sample, ["x1", "x2"], v.SharedPropensity()) == own
        assert np.isfinite(own["ps_treated_min"])


@pytest.mark.parametrize("argv, message", [
    (["--set", "population.n_households=5000"], "use --households instead"),
    (["--set", "participation.selection_on_unobservables=0.3"], "use --selection-on-unobservables instead"),
    (["--preset", "identified", "--set", "learning.peer_effect=0.1"], "contradicts --preset identified"),
])
def test_a_set_that_validate_would_replace_is_refused(tmp_path, capsys, argv, message):
    from ruralabm import cli as run

    assert run.main(["validate", *argv, "--out", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "v").exists()


def test_controls_carry_only_the_effect_of_their_own_participation():
    """truth_current subtracts what the controls carry from their *own* participation by the
    outcome's year. A control that joins only later (or never, if it were in a batch) differs from
    its twin only by its batch-mates' exit, a spillover of the batch design: not counted."""
    cols = pd.MultiIndex.from_tuples([("income_per_capita", 2016)], names=["outcome", "year"])
    ids = pd.Index([1, 2, 3, 4], name="household_id")
    y1 = pd.DataFrame([[100.0], [200.0], [300.0], [400.0]], index=ids, columns=cols)
    y0 = pd.DataFrame([[90.0], [180.0], [295.0], [400.0]], index=ids, columns=cols)
    truth_c = v.SampleTruth(y1, y0)
    joined = pd.Series({1: 2015, 2: 2016, 3: 2017})  # 4 never participates
    # own effects by 2016: household 1 (a former member, +10) and 2 (joined in 2016, +20); 3 joins
    # in 2017, so its +5 is its batch-mates' exit; 4 has none
    assert v.carried_effect(truth_c, ("income_per_capita", 2016), joined) == pytest.approx((10 + 20) / 4)
    panel = pd.DataFrame({"household_id": [1, 1, 2, 2, 3], "year": [2015, 2016, 2016, 2017, 2017],
                          "participating": [1, 0, 1, 1, 1]})
    pd.testing.assert_series_equal(v.first_participation(panel), pd.Series({1: 2015, 2: 2016, 3: 2017}),
                                   check_names=False)
