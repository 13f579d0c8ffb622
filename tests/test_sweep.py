"""Sweeps: parameter ranges, designs, failed runs, sensitivity indices, kill-and-resume, bad input."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ruralabm import cli as run
from ruralabm.model import ParameterError
from ruralabm.scenarios.sweep import build_design, design_size, make_spec, open_sweep, parse_param, run_sweep

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(households=500, years=4)


# --- parameters ---------------------------------------------------------------------------------

def test_parse_param_float_int_and_list_entry():
    r = parse_param("shocks.disaster_probability=0.05:0.3")
    assert (r.key, r.index, r.low, r.high, r.integer) == ("shocks.disaster_probability", None, 0.05, 0.3, False)
    r = parse_param("cooperative.capacity=20:80")
    assert r.integer
    r = parse_param("shocks.price_volatility[1]=0.05:0.3")
    assert (r.name, r.key, r.index) == ("shocks.price_volatility[1]", "shocks.price_volatility", 1)


@pytest.mark.parametrize("text, message", [
    ("shocks.disaster_probabilty=0:1", r"unknown parameter 'shocks.disaster_probabilty'; keys of \[shocks\] are: .*disaster_probability"),
    ("shock.disaster_probability=0:1", "unknown parameter 'shock.disaster_probability'; sections are: .*shocks"),
    ("shocks.disaster_probability=0.1:1.5", r"outside the allowed domain of shocks.disaster_probability, \[0, 1\]"),
    ("shocks.disaster_probability=0.3:0.1", "LOW < HIGH"),
    ("shocks.disaster_probability", "must look like section.key=LOW:HIGH"),
    ("policy.cooperatives=0:1", "true/false switch"),
    ("policy.form_shares[0]=0:1", "must sum to 1"),
    ("shocks.price_volatility=0:1", r"sweep one entry with shocks.price_volatility\[i\], i in 0..3"),
    ("shocks.price_volatility[4]=0:1", "index out of range"),
])
def test_parse_param_errors_name_problem_and_choices(text, message):
    with pytest.raises(ParameterError, match=message):
        parse_param(text)


def test_unknown_output_and_design_list_the_choices():
    with pytest.raises(ParameterError, match="unknown output 'povety'; choose from: poverty_1_9, .*resilience"):
        make_spec("mixed", ["shocks.disaster_probability=0:1"], outputs=["povety"], **SMALL)
    with pytest.raises(ParameterError, match="unknown design 'halton'; choose one of: grid, lhs, sobol, morris"):
        make_spec("mixed", ["shocks.disaster_probability=0:1"], design="halton", **SMALL)
    with pytest.raises(ParameterError, match="unknown scenario 'nope'"):
        make_spec("nope", ["shocks.disaster_probability=0:1"], **SMALL)


# --- designs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("design, samples", [("grid", 3), ("lhs", 7), ("sobol", 4), ("morris", 3)])
def test_designs_have_documented_size_stay_in_range_and_are_seeded(design, samples):
    ranges = [parse_param("shocks.disaster_probability=0.05:0.3"), parse_param("cooperative.capacity=20:80")]
    X = build_design(ranges, design, samples, seed=5)
    assert X.shape == (design_size(design, samples, 2), 2)
    assert (X[:, 0] >= 0.05).all() and (X[:, 0] <= 0.3).all()
    assert (X[:, 1] == np.round(X[:, 1])).all() and X[:, 1].min() >= 20 and X[:, 1].max() <= 80
    np.testing.assert_array_equal(X, build_design(ranges, design, samples, seed=5))
    if design == "grid":
        assert sorted(set(X[:, 0])) == pytest.approx([0.05, 0.175, 0.3])


# --- running ------------------------------------------------------------------------------------

def test_apply_values_sets_a_whole_point_including_list_entries():
    from ruralabm.model import Params
    from ruralabm.scenarios.sweep import apply_values

    ranges = [{"name": "shocks.price_volatility[1]", "integer": False}, {"name": "cooperative.capacity", "integer": True},
              {"name": "population.share_east", "integer": False}, {"name": "population.share_central", "integer": False}]
    p = apply_values(Params(), ranges, [0.3, 20.4, 0.6, 0.4])  # 0.6 + default 0.35 > 1 if set one by one
    assert p.shocks.price_volatility == [0.06, 0.3, 0.12, 0.18] and p.cooperative.capacity == 20
    assert (p.population.share_east, p.population.share_central) == (0.6, 0.4)


def test_failed_runs_are_recorded_and_the_sweep_goes_on(tmp_path):
    # share_east + share_central > 1 is invalid: those design points raise in the worker
    spec = make_spec("mixed", ["population.share_east=0.2:0.8", "population.share_central=0.2:0.6"],
                     design="grid", samples=2, reps=1, outputs=["poverty_rate", "participation"], **SMALL)
    sweep, manifest = run_sweep(spec, tmp_path / "s")
    assert manifest["complete"]
    res = pd.read_parquet(tmp_path / "s" / "results.parquet")
    bad = res[(res["population.share_east"] + res["population.share_central"]) > 1]
    assert len(bad) == 1 and (bad["status"] == "failed").all()
    assert bad["error"].iloc[0].startswith("ParameterError: population.share_east + population.share_central")
    assert bad["poverty_national"].isna().all()
    assert (res.drop(bad.index)["status"] == "ok").all()
    assert manifest["counts"] == {"ok": 3, "failed": 1, "pending": 0}
    assert manifest["failed_runs"] == {str(int(bad["run_id"].iloc[0])): bad["error"].iloc[0]}
    assert manifest["run_status"][int(bad["run_id"].iloc[0])] == "f" and manifest["run_status"].count("o") == 3
    assert "Failed runs" in (tmp_path / "s" / "report.md").read_text()


def test_sobol_and_morris_give_indices_with_intervals_and_figures(tmp_path):
    for design, cols in [("sobol", ["S1", "S1_conf", "ST", "ST_conf"]), ("morris", ["mu_star", "sigma", "mu_star_conf"])]:
        spec = make_spec("mixed", ["shocks.disaster_probability=0.0:0.5", "learning.peer_effect=0:0.5"],
                         design=design, samples=4, reps=1, outputs=["poverty_rate", "resilience"], **SMALL)
        run_sweep(spec, tmp_path / design)
        idx = pd.read_csv(tmp_path / design / "sensitivity.csv")
        assert set(cols) <= set(idx.columns)
        assert len(idx) == 4 and idx[cols].notna().all().all()
        assert (tmp_path / design / "figures" / "sensitivity.png").exists()
        assert (tmp_path / design / "figures" / "response.png").exists()


def test_resume_refuses_a_different_design_and_deletes_nothing(tmp_path):
    spec = make_spec("mixed", ["shocks.disaster_probability=0.05:0.3"], design="lhs", samples=2, reps=1,
                     outputs=["poverty_rate"], **SMALL)
    run_sweep(spec, tmp_path / "s")
    before = {p: p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file()}
    other = dict(spec, design="grid")
    with pytest.raises(ParameterError, match=r"holds a different sweep: design = \"lhs\" there, \"grid\" requested"):
        open_sweep(tmp_path / "s", other, resume=True)
    with pytest.raises(ParameterError, match="already holds a sweep.*--resume"):
        open_sweep(tmp_path / "s", spec, resume=False)
    with pytest.raises(ParameterError, match="no sweep there"):
        open_sweep(tmp_path / "empty", None, resume=True)
    after = {p: p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file()}
    assert before == after


def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "never"
    cases = [
        ["sweep", "--param", "shocks.nope=0:1", "--out", str(out)],
        ["sweep", "--param", "shocks.disaster_probability=0:2", "--out", str(out)],
        ["sweep", "--param", "shocks.disaster_probability=0:1", "--outputs", "wealth", "--out", str(out)],
        ["sweep", "--scenario", "utopia", "--param", "shocks.disaster_probability=0:1", "--out", str(out)],
        ["sweep", "--resume", str(out)],
    ]
    for argv in cases:
        assert run.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err
    assert not out.exists()


def _sweep_cmd(out, *extra):
    return [sys.executable, "-m", "ruralabm", "sweep", "--scenario", "mixed",
            "--param", "shocks.disaster_probability=0.05:0.3", "--param", "cooperative.marketing_premium=0:0.2",
            "--design", "lhs", "--samples", "16", "--reps", "2", "--households", "1500", "--years", "6",
            "--outputs", "poverty_rate,resilience,exit_share", "--chunk-size", "2", "--seed", "4",
            "--no-progress", "--out", str(out), *(extra or ("--backend", "serial"))]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference: the same sweep as _sweep_cmd, run in-process without interruption."""
    spec = make_spec("mixed", ["shocks.disaster_probability=0.05:0.3", "cooperative.marketing_premium=0:0.2"],
                     design="lhs", samples=16, reps=2, households=1500, years=6, seed=4,
                     outputs=["poverty_rate", "resilience", "exit_share"], chunk_size=2)
    out = tmp_path_factory.mktemp("full")
    run_sweep(spec, out)
    return pd.read_parquet(out / "results.parquet")


def _start_and_interrupt(out, sig, *extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(_sweep_cmd(out, *extra), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if (out / "chunks").exists() and len(list((out / "chunks").glob("chunk-*.parquet"))) >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "sweep finished before it could be interrupted: " + proc.stderr.read().decode()
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err.decode()


def test_ctrl_c_stops_cleanly_and_resume_completes(tmp_path, uninterrupted):
    out = tmp_path / "interrupted"
    code, err = _start_and_interrupt(out, signal.SIGINT, "--backend", "processes", "--workers", "2")
    assert code == 130 and "interrupted: results written so far are kept" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert not manifest["complete"]
    sweep, manifest = run_sweep(None, out, resume=True)
    assert manifest["complete"]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), uninterrupted, check_exact=True)


def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path, uninterrupted):
    full = uninterrupted
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    _start_and_interrupt(out, signal.SIGKILL)
    manifest = json.loads((out / "manifest.json").read_text())
    assert not manifest["complete"] and manifest["counts"]["pending"] > 0
    done_before = {p.name: p.stat().st_mtime_ns for p in (out / "chunks").glob("chunk-*.parquet")}
    assert not (out / "results.parquet").exists()

    # resume with only --resume: the stored design is used
    res = subprocess.run([sys.executable, "-m", "ruralabm", "sweep", "--resume", str(out), "--backend", "serial",
                          "--no-progress"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert f"({len(done_before)} already done)" in res.stdout
    for name, mtime in done_before.items():  # finished chunks were not redone
        assert (out / "chunks" / name).stat().st_mtime_ns == mtime
    resumed = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(resumed, full, check_exact=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["run_status"] == "o" * 32

    # resuming with a different design is refused with a one-line error, nothing touched
    bad = subprocess.run(_sweep_cmd(out)[:-4] + ["--design", "sobol", "--resume", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: --resume") and "design" in bad.stderr and bad.stderr.count("\n") == 1


def test_a_sweep_where_every_run_fails_exits_non_zero(tmp_path, capsys, monkeypatch):
    # share_east + share_central > 1 at every design point: refused before anything runs
    argv = ["sweep", "--scenario", "mixed", "--param", "population.share_east=0.7:0.8",
            "--param", "population.share_central=0.4:0.5", "--design", "grid", "--samples", "2",
            "--reps", "1", "--households", "500", "--years", "4", "--workers", "1", "--no-progress"]
    assert run.main([*argv, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "no design point is a valid parameter set" in err and "population.share_east" in err
    assert not (tmp_path / "s").exists()
    # every run raising in the worker: recorded, and the command exits non-zero
    from ruralabm.scenarios import sweep as sweep_module

    def broken(task):
        raise RuntimeError("the model broke")

    monkeypatch.setattr(sweep_module, "sweep_task", broken)
    ok = ["sweep", "--param", "shocks.disaster_probability=0.1:0.2", "--design", "grid", "--samples", "2", "--reps",
          "1", "--households", "500", "--years", "4", "--workers", "1", "--no-progress"]
    assert run.main([*ok, "--out", str(tmp_path / "s2")]) == 1
    assert "every run failed" in capsys.readouterr().err
    assert json.loads((tmp_path / "s2" / "manifest.json").read_text())["counts"]["failed"] == 2


def test_some_invalid_design_points_are_warned_about(tmp_path, capsys):
    """share_east + share_central > 1 at one of four grid points: a warning before the runs (and
    in the report); those runs are recorded as failed, the others run."""
    code = run.main(["sweep", "--param", "population.share_east=0.2:0.8", "--param", "population.share_central=0.2:0.6",
                     "--design", "grid", "--samples", "2", "--reps", "1", "--households", "500", "--years", "4",
                     "--workers", "1", "--no-progress", "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 0 and "warning: 1 of 4 design points are not valid parameter sets (e.g. point 3" in err, err
    assert "1 of 4 design points are not valid" in (tmp_path / "s" / "report.md").read_text()
