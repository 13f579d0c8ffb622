"""Bayesian calibration (issue #13): the emulator and sampler against an exact posterior, held-out
targets never in the likelihood, the small recovery check on the model (coverage of the 90%
credible intervals), resume, the fit table, the posterior sample's use in compare and validate, and
one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ruralabm.calibration import bayes, bayes_check, bayes_report, emulator
from ruralabm.scenarios.posterior import apply_draw, decompose, load_posterior
from ruralabm.model.params import ParameterError
from ruralabm.scenarios.executor import SerialExecutor, make_executor

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "ruralabm", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


# --- held-out targets and patterns ---------------------------------------------------------

def test_held_out_targets_and_patterns_never_enter_the_likelihood():
    f = bayes.Fitting.load(None)
    held = {t.key for t in f.held_out_targets}
    assert {"clds.vul_mean.3.1", "clds.t4.att.kernel.3.1.full", "counties.cox.primary_secondary"} <= held
    assert all(t.info.get("held_out_reason") for t in f.held_out_targets)
    fitted = {t.key for t in f.fitted}
    assert not held & fitted
    assert not {f"patterns.{p.key}" for p in f.held_out_patterns} & fitted
    assert len(f.held_out_patterns) >= 15
    # the orderings' statistics are emulated, the held-out ones are not
    keys = set(f.emulated_keys())
    assert not held & keys and "cao.psm_pct.learning.all" in keys
    # the fit table's statistics include the held-out ones (posterior predictive check)
    assert held <= set(f.all_keys())


# --- emulator and sampler against an exact posterior --------------------------------------

def _toy(tmp_path, noise=0.02):
    """Three linear statistics of two parameters, published values at u* = (0.4, 0.6)."""
    B = np.array([[1.0, 0.2], [0.3, 1.0], [0.5, -0.5]])
    a = np.array([0.1, -0.2, 0.3])
    sd = np.array([0.05, 0.08, 0.06])
    truth = np.array([0.4, 0.6])
    published = a + B @ truth + np.array([0.03, -0.05, 0.02])
    path = tmp_path / "toy.toml"
    lines = ["[settings]", 'scenario = "uncalibrated"', ""]
    for k in range(3):
        lines += ["[[target]]", f'key = "toy.s{k}"', f"value = {float(published[k])!r}", f"scale = {float(sd[k])!r}", "weight = 1.0", ""]
    path.write_text("\n".join(lines))
    rng = np.random.default_rng(1)
    u = rng.random((300, 2))
    Y = {f"toy.s{k}": a[k] + u @ B[k] + noise * rng.standard_normal(len(u)) for k in range(3)}
    return path, B, a, sd, published, u, Y


def test_emulator_recovers_a_linear_model_and_its_noise(tmp_path):
    _, B, a, _, _, u, Y = _toy(tmp_path)
    em = emulator.fit(u, Y, SerialExecutor(), seed=0)
    x = np.random.default_rng(2).random((400, 2))
    m, v = em.predict(x)
    exact = a + x @ B.T
    assert np.sqrt(np.mean((m - exact) ** 2)) < 0.01
    assert np.all(np.sqrt(em.nuggets()) == pytest.approx(0.02, rel=0.3))  # the replication noise, not emulator error
    assert np.all(v >= 0) and np.sqrt(v).mean() < 0.02


def test_emcee_posterior_matches_the_exact_gaussian_posterior(tmp_path):
    path, B, a, sd, published, u, Y = _toy(tmp_path)
    fitting = bayes.Fitting.load(str(path))
    assert [t.key for t in fitting.fitted] == ["toy.s0", "toy.s1", "toy.s2"]
    em = emulator.fit(u, Y, SerialExecutor(), seed=0)
    lik = bayes.Likelihood(fitting, em)
    draws, ll, diag = bayes.sample_posterior(lik, 2, u, 1.0, seed=3, walkers=16, steps=1500, burn=300, size=6000)
    # Exact posterior under a flat prior (the mode is far inside the unit square): Gaussian with
    # precision B' S^-1 B, S = diag(sd^2), mean the GLS estimate.
    P = B.T @ np.diag(1 / sd ** 2) @ B
    cov = np.linalg.inv(P)
    mean = cov @ B.T @ np.diag(1 / sd ** 2) @ (published - a)
    assert np.all(np.abs(draws.mean(0) - mean) < 0.15 * np.sqrt(np.diag(cov)) + 0.005)
    assert np.sqrt(np.diag(np.cov(draws.T))) == pytest.approx(np.sqrt(np.diag(cov)), rel=0.12)
    assert 0.1 < diag["acceptance_fraction"] < 0.9
    # tempering widens it: beta = 0.25 doubles the posterior SD
    wide, _, _ = bayes.sample_posterior(lik, 2, u, 0.25, seed=3, walkers=16, steps=1500, burn=300, size=6000)
    assert np.std(wide[:, 0]) == pytest.approx(2 * np.std(draws[:, 0]), rel=0.2)


def test_a_likelihood_that_ignores_the_data_would_fail_the_exact_check(tmp_path):
    """The exact-posterior test can fail: with the published values moved by 3 sd the posterior
    mean moves away from the one the test expects."""
    path, B, a, sd, published, u, Y = _toy(tmp_path)
    fitting = bayes.Fitting.load(str(path))
    em = emulator.fit(u, Y, SerialExecutor(), seed=0)
    moved = {t.key: t.value + 3 * s for t, s in zip(fitting.fitted, sd)}
    draws, _, _ = bayes.sample_posterior(bayes.Likelihood(fitting, em, observed=moved), 2, u, 1.0, seed=3,
                                         walkers=16, steps=800, burn=300, size=3000)
    cov = np.linalg.inv(B.T @ np.diag(1 / sd ** 2) @ B)
    mean = cov @ B.T @ np.diag(1 / sd ** 2) @ (published - a)
    assert np.any(np.abs(draws.mean(0) - mean) > 0.5 * np.sqrt(np.diag(cov)))


# --- the small recovery check on the model (CI) --------------------------------------------

@pytest.mark.slow
def test_small_recovery_covers_the_truth(tmp_path):
    """Every calibrated parameter of the small check, at four known truths: the 90% credible
    intervals cover the truth at least 6 times in 8 (a correct method fails this with probability
    0.04) and are informative (mean width under 40% of the box)."""
    with make_executor("processes", workers=2) as ex:
        frame = bayes_check.run(tmp_path / "check", ex)
    assert len(frame) == len(bayes_check.TRUTHS_UNIT) * 2
    assert frame["covered"].sum() >= 6, frame.to_string()
    assert frame["width_share"].mean() < 0.4, frame.to_string()
    for name, g in frame.groupby("parameter"):
        assert g["width_share"].mean() < 0.6, (name, frame.to_string())


# --- a small calibration end to end: storage, resume, report --------------------------------

def _small_config(tmp_path):
    from ruralabm.calibration import recovery
    recovery_targets = tmp_path / "targets.toml"
    bayes_check.write_targets(recovery_targets)
    text = recovery_targets.read_text().replace("value = 0.0", "value = 0.3", 1)
    recovery_targets.write_text(text)
    return bayes.make_config(params=recovery.BOXES, targets=str(recovery_targets), waves=[24, 12], seed=5,
                             walkers=8, steps=200, burn=100, posterior_size=400, ppc_draws=3,
                             settings_overrides={"households": 3000})


@pytest.mark.slow
def test_calibration_stores_every_run_resumes_identically_and_reports(tmp_path):
    cfg = _small_config(tmp_path)
    with make_executor("processes", workers=2) as ex:
        cal = bayes.start(cfg, tmp_path / "a", ex, progress=False, log=None)
        first = (tmp_path / "a" / bayes.POSTERIOR).read_bytes()
        lines = (tmp_path / "a" / bayes.SIMS).read_text().splitlines()
        assert len(lines) == 36 and len((tmp_path / "a" / bayes.PPC).read_text().splitlines()) == 3
        # an interruption in wave 2: the posterior, the predictive runs and some runs are gone
        (tmp_path / "a" / bayes.POSTERIOR).unlink()
        (tmp_path / "a" / bayes.RESULT).unlink()
        (tmp_path / "a" / bayes.WAVES / "posterior-mcmc.json").unlink()
        (tmp_path / "a" / bayes.PPC).unlink()
        (tmp_path / "a" / bayes.SIMS).write_text("\n".join(lines[:30]) + "\n" + lines[30][:20])  # a cut line
        again = bayes.start(None, None, ex, resume=tmp_path / "a", progress=False, log=None)
        assert (tmp_path / "a" / bayes.POSTERIOR).read_bytes() == first
        assert again.result["simulations"] == 36
        # a different setting on resume is refused
        with pytest.raises(ParameterError, match="waves"):
            bayes.start(None, None, ex, resume=tmp_path / "a", progress=False, log=None, requested={"waves": [30, 12]})
        rep = bayes_report.write(again)
    ident = rep["identification"]
    assert list(ident.columns) == [n.split("=")[0] for n in cfg.params]
    assert "posterior_sd_over_prior_sd" in ident.index and (tmp_path / "a" / "identification.csv").exists()
    assert (ident.loc["posterior_sd_over_prior_sd"] > 0).all()
    fit = rep["fit"]
    assert list(fit.columns[:8]) == ["key", "role", "published", "se_or_tolerance", "simulated_mean", "simulated_sd",
                                     "z", "met"]
    assert set(fit["role"]) >= {"fitted", "held_out", "monitored"}
    held = fit[fit["role"] == "held_out"]
    assert held["key"].str.startswith("patterns.").all() and held["simulated_mean"].notna().all()
    row = fit.set_index("key").loc["clds.participation"]
    assert row["z"] == pytest.approx((row["simulated_mean"] - row["published"]) / row["se_or_tolerance"])
    assert row["met"] == (abs(row["z"]) <= 2)
    for name in ("posterior_marginals.png", "posterior_pairs.png", "posterior_predictive.png"):
        assert (tmp_path / "a" / "figures" / name).stat().st_size > 5000
    # ship: the posterior with its provenance beside it
    written = bayes_report.ship(again, rep, posterior=tmp_path / "ship" / "posterior.parquet",
                                provenance=tmp_path / "ship" / "posterior.json", fit_csv=tmp_path / "ship" / "fit.csv")
    prov = json.loads((tmp_path / "ship" / "posterior.json").read_text())
    assert prov["rows"] == len(pd.read_parquet(tmp_path / "ship" / "posterior.parquet"))
    assert prov["config"]["waves"] == [24, 12] and len(written) >= 3
    post = load_posterior(tmp_path / "ship" / "posterior.parquet")
    assert post.names == [n.split("=")[0] for n in cfg.params]
    # The report command with its recovery check on a process pool of its own (the report refits
    # the final emulator on the pool: it must still be open then).
    from ruralabm import cli
    assert cli.main(["calibration-bayes-report", str(tmp_path / "a"), "--recovery", "1", "--workers", "2",
                     "--no-progress", "--scenario-out", str(tmp_path / "median.toml")]) == 0
    rec = pd.read_csv(tmp_path / "a" / "recovery.csv")
    assert len(rec) == len(cfg.params) and rec["covered"].isin([True, False]).all()
    assert "## Recovery on synthetic truth" in (tmp_path / "a" / "report.md").read_text()
    # --scenario-out: the posterior median as a scenario on the calibration's base, stated as such
    from ruralabm.calibration.objective import current_value
    from ruralabm.scenarios import SCENARIO_DIR, load
    text = (tmp_path / "median.toml").read_text()
    assert text.startswith("# Calibrated parameters: the posterior median") and "90% credible interval" in text
    median = json.loads((tmp_path / "a" / bayes.RESULT).read_text())["median"]
    params = load(str(tmp_path / "median.toml")).params
    for name, value in median.items():
        assert current_value(params, name) == pytest.approx(value, abs=1e-6)
    assert load(str(tmp_path / "median.toml")).chain[-2] == again.settings["scenario"]
    # ... and never over a shipped scenario without --overwrite (refused before any work)
    assert cli.main(["calibration-bayes-report", str(tmp_path / "a"), "--workers", "1",
                     "--scenario-out", str(SCENARIO_DIR / "calibrated.toml")]) == 2
    assert "Monte Carlo uncertainty of these verdicts" in (tmp_path / "a" / "report.md").read_text()
    assert pd.read_csv(tmp_path / "a" / "fit.csv")["p_met"].between(0, 1).all()

    # Extending a finished calibration. More predictive runs: the posterior is untouched and the
    # stored runs stay the first ones.
    a = tmp_path / "a"
    ppc_before = (a / bayes.PPC).read_text().splitlines()
    with make_executor("processes", workers=2) as ex:
        more = bayes.start(None, None, ex, resume=a, progress=False, log=None, requested={"ppc_draws": 5})
        assert (a / bayes.POSTERIOR).read_bytes() == first and more.result["ppc_simulations"] == 5
        ppc_after = (a / bayes.PPC).read_text().splitlines()
        assert len(ppc_after) == 5 and ppc_after[:3] == ppc_before
        assert more.result["ppc_index"][:3] == json.loads((a / bayes.RESULT).read_text())["ppc_index"][:3]
        # Another wave: the old posterior, its predictive runs and its reports move aside, kept.
        longer = bayes.start(None, None, ex, resume=a, progress=False, log=None, requested={"waves": [24, 12, 12]})
    kept = a / "superseded" / "waves-2"
    assert (kept / bayes.POSTERIOR).read_bytes() == first
    assert len((kept / bayes.PPC).read_text().splitlines()) == 5 and (kept / "fit.csv").exists()
    cfg3 = json.loads((a / bayes.CONFIG).read_text())
    assert cfg3["waves"] == [24, 12, 12] and cfg3["tempering"] == cfg.tempering + [1.0] and cfg3["ppc_draws"] == 5
    assert longer.result["simulations"] == 48 and len(bayes.SimStore(a / bayes.SIMS).runs([3])) == 12
    assert (a / bayes.POSTERIOR).read_bytes() != first and longer.result["ppc_simulations"] == 5
    assert (a / bayes.WAVES / "design-3.json").exists()
    # a resume of the extended calibration is an ordinary resume (nothing new to run or move)
    with make_executor("serial") as ex:
        same = bayes.start(None, None, ex, resume=a, progress=False, log=None)
    assert same.result["simulations"] == 48 and not (a / "superseded" / "waves-3").exists()


@pytest.mark.slow
def test_calibration_on_dask_gives_the_same_posterior(tmp_path):
    """The simulations and the emulator fits are executor tasks: a Dask LocalCluster runs them
    unchanged and the posterior is byte-identical to the process pool's."""
    pytest.importorskip("distributed")
    cfg = _small_config(tmp_path)
    with make_executor("processes", workers=2) as ex:
        bayes.start(cfg, tmp_path / "p", ex, progress=False, log=None)
    with make_executor("dask", workers=2, dask="local") as ex:
        bayes.start(_small_config(tmp_path), tmp_path / "d", ex, progress=False, log=None)
    assert (tmp_path / "p" / bayes.POSTERIOR).read_bytes() == (tmp_path / "d" / bayes.POSTERIOR).read_bytes()


def test_fit_table_orderings_and_contradictions():
    f = bayes.Fitting.load(None)
    rng = np.random.default_rng(0)
    ppc = pd.DataFrame({k: rng.normal(0.0, 1.0, 10) for k in f.all_keys()})
    ppc["cao.psm_pct.learning.all"] = 30 + rng.normal(0, 1, 10)
    ppc["cao.psm_pct.buffering.all"] = 5 + rng.normal(0, 1, 10)
    fit = bayes_report.fit_table(f, ppc).set_index("key")
    row = fit.loc["ordering.cao.learning_gt_buffering"]
    assert row["role"] == "ordering" and row["met"] and row["p_holds"] == 1.0
    assert row["simulated_mean"] == pytest.approx(ppc["cao.psm_pct.learning.all"].mean()
                                                 - ppc["cao.psm_pct.buffering.all"].mean())
    # a row of a table the paper contradicts says so
    assert "inconsistency" in fit.loc["clds.t2.did.1.9.cov", "note"]
    assert fit.loc["clds.vul_mean.3.1", "role"] == "held_out"
    assert fit.loc["patterns.county_exits.2018", "role"] == "monitored"
    acc = bayes_report.acceptance(fit.reset_index())
    assert acc["orderings"][1] == 5


def test_a_resume_may_add_waves_and_predictive_runs_but_change_nothing_else(tmp_path):
    cfg = bayes.make_config(params=["cooperative.villages_share=0.3:0.9"], waves=[40, 20], seed=3)
    # nothing new asked: an ordinary resume
    assert bayes.extension(cfg, {"waves": [40, 20], "ppc_draws": 40}, tmp_path) is None
    ext = bayes.extension(cfg, {"waves": [40, 20, 20, 30]}, tmp_path)
    assert ext.waves == [40, 20, 20, 30] and ext.tempering == cfg.tempering + [1.0, 1.0]
    assert ext.ppc_draws == cfg.ppc_draws and cfg.waves == [40, 20]  # the stored config is not touched
    ext = bayes.extension(cfg, {"waves": [40, 20, 20], "tempering": cfg.tempering + [0.7]}, tmp_path)
    assert ext.tempering[-1] == 0.7
    assert bayes.extension(cfg, {"ppc_draws": 100}, tmp_path).ppc_draws == 100
    refused = [
        ({"waves": [40]}, "must come first"),
        ({"waves": [40, 30, 20]}, "must come first"),
        ({"waves": [40, 20, 20], "tempering": [0.3, 1.0]}, "--tempering"),
        ({"waves": [40, 20, 20], "tempering": cfg.tempering}, "--tempering needs one value per wave"),
        ({"ppc_draws": 10}, "below the stored 40"),
        ({"seed": 4}, "seed differ"),
        ({"waves": [40, 20, 20], "walkers": 80}, "walkers differ"),
    ]
    for requested, message in refused:
        with pytest.raises(ParameterError, match=message):
            bayes.extension(cfg, requested, tmp_path)


def test_verdict_uncertainty_shows_which_verdicts_the_predictive_runs_decide():
    f = bayes.Fitting.load(None)
    rng = np.random.default_rng(1)
    n = 40
    fit0 = bayes_report.fit_table(f, pd.DataFrame({k: np.zeros(n) for k in f.all_keys()}))
    published = fit0.set_index("key")["published"]
    sd = fit0.set_index("key")["se_or_tolerance"]
    # every statistic far inside its band, then three rows placed on purpose
    ppc = pd.DataFrame({k: published.get(k, 0.0) + rng.normal(0, 1e-6, n) for k in f.all_keys()})
    edge, far, noisy = "clds.participation", "clds.vul_mean.1.9", "clds.vul_mean.national"
    z = rng.standard_normal(n)
    ppc[edge] = published[edge] + 2.0 * sd[edge] + (z - z.mean()) * sd[edge]  # mean exactly on the edge
    ppc[far] = published[far] + 5.0 * sd[far] + rng.normal(0, 0.1 * sd[far], n)
    ppc[noisy] = published[noisy] + 1.0 * sd[noisy] + rng.normal(0, 0.1 * sd[noisy], n)
    # cooperative > enterprise: a mean difference of one standard error of the mean
    ppc["cao.psm_pct.resilience.cooperative"] = 20 + 5 / np.sqrt(n) + rng.normal(0, 5, n)
    ppc["cao.psm_pct.resilience.enterprise"] = 20.0
    ppc["cao.psm_pct.learning.all"], ppc["cao.psm_pct.buffering.all"] = 30.0, 5.0
    fit = bayes_report.fit_table(f, ppc)
    p_met, holds = bayes_report.verdict_uncertainty(f, ppc, fit, resamples=2000, seed=0)
    assert 0.3 < p_met[edge] < 0.7  # on the edge: a coin flip
    assert p_met[far] == 0.0 and p_met[noisy] == 1.0
    assert p_met["ordering.cao.learning_gt_buffering"] == 1.0
    assert 0.6 < p_met["ordering.cao.cooperative_gt_enterprise"] < 0.98
    # away from the edge the bootstrap agrees with the fit table's own verdict
    sure = p_met[(p_met == 0) | (p_met == 1)]
    assert (fit.set_index("key").loc[sure.index, "met"] == (sure == 1)).all()
    assert set(holds) == {"fitted_80pct", "held_out_70pct", "orderings_4_of_5", "all", "resamples"}
    assert holds["all"] <= min(holds["fitted_80pct"], holds["held_out_70pct"], holds["orderings_4_of_5"])
    # deterministic
    assert bayes_report.verdict_uncertainty(f, ppc, fit, resamples=2000, seed=0)[1] == holds


# --- parameter uncertainty downstream ------------------------------------------------------

def test_decompose_separates_parameter_from_stochastic_variance():
    rng = np.random.default_rng(4)
    K, R = 400, 6
    effect = rng.normal(1.0, 0.5, K)  # parameter uncertainty: sd 0.5
    values = effect[:, None] + rng.normal(0, 2.0, (K, R))  # stochastic: sd 2
    frame = pd.DataFrame({"draw": np.repeat(np.arange(K), R), "value": values.ravel()})
    d = decompose(frame)
    assert d["sd_param"] == pytest.approx(0.5, rel=0.15)
    assert d["sd_stoch"] == pytest.approx(2.0, rel=0.05)
    # the combined interval covers a new draw's mean 95% of the time: its half-width ~ 1.96 sd(d_k)
    assert (d["high"] - d["low"]) / 2 == pytest.approx(1.96 * np.sqrt(0.25 + 4 / R), rel=0.1)
    assert d["stoch_high"] - d["stoch_low"] < d["high"] - d["low"]


def _posterior_file(tmp_path, names=("cooperative.villages_share", "policy.poverty_alleviation_transfer")):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"draw": np.arange(50), names[0]: rng.uniform(0.4, 0.9, 50),
                          names[1]: rng.uniform(500, 2500, 50), "loglik": rng.normal(size=50)})
    path = tmp_path / "post.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_posterior_draws_are_stratified_and_applied_only_where_the_scenario_keeps_the_calibrated_value(tmp_path):
    from ruralabm.scenarios import load
    post = load_posterior(_posterior_file(tmp_path))
    draws = post.draws(5, seed=1)
    assert len({i for i, _ in draws}) == 5 and draws == post.draws(5, seed=1)
    ref = load("calibrated").params
    p = load("calibrated").params
    kept = apply_draw(p, draws[0][1], ref)
    assert not kept and p.cooperative.villages_share == pytest.approx(draws[0][1]["cooperative.villages_share"])
    q = load("baseline", ["cooperative.villages_share=0.2"]).params
    assert apply_draw(q, draws[0][1], ref) == ["cooperative.villages_share"]
    assert q.cooperative.villages_share == 0.2
    with pytest.raises(ParameterError, match="posterior sample"):
        post.draws(51)


def test_compare_under_posterior_draws(tmp_path):
    from ruralabm.scenarios.compare import execute, plan, summarise, summarise_posterior, write
    path = _posterior_file(tmp_path)
    p = plan(["baseline", "cooperative"], reps=2, households=600, years=5, seed=3, posterior=3, posterior_file=path)
    assert p.reps == 6 and p.posterior["k"] == 3 and len(p.tasks) == 12
    # common random numbers within a draw, different seeds and parameters across draws
    by = {(name, r): t for (name, r), t in zip(p.keys, p.tasks)}
    assert by[("baseline", 0)]["seed"] == by[("cooperative", 0)]["seed"] != by[("baseline", 2)]["seed"]
    assert by[("cooperative", 0)]["params"] == by[("cooperative", 1)]["params"] != by[("cooperative", 2)]["params"]
    result = execute(p, SerialExecutor(), progress=False)
    ps = summarise_posterior(result)
    assert {"sd_param", "sd_stoch", "low", "high", "diff_low", "diff_high", "survives",
            "distinguishable_stochastic"} <= set(ps.columns)
    pre = ps[(ps["year"] == 2014) & (ps["scenario"] == "cooperative")]
    assert (pre["diff"] == 0).all() and pre["survives"].isna().all()  # before the policy: identical, no verdict
    part = ps[(ps["metric"] == "participation") & (ps["scenario"] == "cooperative") & (ps["year"] == 2016)].iloc[0]
    assert part["low"] <= part["mean"] <= part["high"] and part["distinguishable_stochastic"]
    assert part["survives"] == (part["diff_low"] > 0 or part["diff_high"] < 0)
    # three draws of this wide made-up posterior: the combined interval is wider than the stochastic one
    assert part["diff_high"] - part["diff_low"] > part["diff_stoch_high"] - part["diff_stoch_low"]
    out = tmp_path / "cmp"
    out.mkdir()
    write(result, summarise(result), out)
    assert (out / "posterior_summary.csv").exists() and "survive parameter uncertainty" in (out / "report.md").read_text()


@pytest.mark.slow
def test_validate_under_posterior_draws(tmp_path):
    from ruralabm.analysis import validation as v
    path = _posterior_file(tmp_path)
    cfg = v.ValidationConfig(scenario="mixed", selection=[0.0, 1.0], designs=["paper"], outcomes=["income"],
                             estimators=["did"], households=4000, sample=400, batches=1, reps=2, posterior=2,
                             posterior_file=str(path))
    cfg.check()
    tasks = cfg.tasks()
    assert sorted({t["rep"] for t in tasks}) == [0, 1, v.POSTERIOR_STRIDE, v.POSTERIOR_STRIDE + 1]
    by = {(t["selection"], t["rep"]): t for t in tasks}
    assert by[(0.0, 0)]["seed"] == by[(1.0, 0)]["seed"] != by[(0.0, v.POSTERIOR_STRIDE)]["seed"]  # CRN within a draw
    assert by[(0.0, 0)]["params"]["cooperative"] != by[(0.0, v.POSTERIOR_STRIDE)]["params"]["cooperative"]
    # a larger --reps extends each draw without changing the seeds it had
    more = v.ValidationConfig(**{**cfg.__dict__, "reps": 3}).tasks()
    assert {(t["selection"], t["rep"]): t["seed"] for t in more if (t["selection"], t["rep"]) in by} == \
        {k: t["seed"] for k, t in by.items()}
    rows = v.run(cfg, tmp_path / "val", executor=make_executor("processes", workers=2), log=lambda s: None)
    ps = v.summarise_posterior(rows)
    assert set(ps["draws"]) == {2} and set(ps["runs"]) == {4}
    assert {"bias_sd_param", "bias_sd_stoch", "bias_low", "bias_high", "bias_survives"} <= set(ps.columns)
    v.write_report(rows, tmp_path / "val", figures=False, cfg=cfg)
    assert (tmp_path / "val" / "posterior_summary.csv").exists()
    assert "Parameter uncertainty" in (tmp_path / "val" / "summary.md").read_text()


# --- command line ----------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["calibrate-bayes", "--waves", "10", "--out", "OUT"], "first wave"),
    (["calibrate-bayes", "--waves", "640,480", "--tempering", "0.5,1", "--out", "OUT"], "--tempering"),
    (["calibrate-bayes", "--params", "cooperative.villages_share=0.3:2", "--out", "OUT"], "allowed range"),
    (["compare", "--posterior", "1", "--out", "OUT"], "--posterior 1"),
    (["compare", "--posterior", "2", "--posterior-file", "nope.parquet", "--out", "OUT"], "nope.parquet"),
    (["compare", "--posterior", "2", "--set", "cooperative.villages_share=0.5", "--out", "OUT"], "contradicts --posterior"),
    (["validate", "--posterior", "1", "--out", "OUT"], "--posterior 1"),
    (["calibration-bayes-report", "NOWHERE"], "no such directory"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, args, message):
    args = [a.replace("OUT", str(tmp_path / "out")) for a in args]
    if "--posterior-file" not in args and ("compare" in args or "validate" in args):
        args += ["--posterior-file", str(_posterior_file(tmp_path))]
    res = cli(*args, timeout=120)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
