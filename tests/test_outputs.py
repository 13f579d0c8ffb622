"""Issue "Nothing lost, nothing silently wrong": output directories (owner record, refusal,
overwrite, resume, atomic writing), one-line errors instead of tracebacks, and warnings for
designs that run but cannot mean what they seem to.

Every refusal is checked for exit status 2, a one-line ``error: ...`` message and earlier files
byte-identical afterwards (:func:`snapshot`)."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ruralabm import cli
from ruralabm.model.params import ParameterError

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--households", "600", "--years", "6", "--backend", "serial", "--no-progress"]
COMPARE = ["compare", "--reps", "2", *SMALL]
SWEEP = ["sweep", "--param", "shocks.disaster_probability=0.05:0.3", "--design", "lhs", "--samples", "3",
         "--reps", "1", "--outputs", "poverty_rate", "--chunk-size", "1", *SMALL]
VALIDATE = ["validate", "--preset", "identified", "--reps", "2", "--selection-on-unobservables", "0",
            "--outcome", "income", "--estimators", "psm-kernel,did", "--households", "3000", "--sample", "400",
            "--batches", "1", "--no-figures", "--backend", "serial", "--no-progress"]
PATTERNS = ["patterns", "--reps", "2", "--households", "1000", "--no-figures", "--backend", "serial", "--no-progress"]
REPLICATE = ["replicate", "cao", "--households", "5000", "--sample", "1200", "--batches", "2"]
CALIBRATE = ["calibrate", "--budget", "4", "--reps", "1", "--households", "3000", "--clds-n", "600", "--cles-n", "400",
             "--params", "cooperative.villages_share=0.3:1", "--no-report", "--backend", "serial", "--no-progress"]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) -> sha256 of its bytes."""
    folder = Path(folder)
    if folder.is_file():
        return {folder.name: hashlib.sha256(folder.read_bytes()).hexdigest()}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(argv, capsys, *protected: Path, match: str | None = None) -> str:
    """Run ``argv`` in-process; assert exit 2, one line ``error: ...``, protected files unchanged."""
    before = [snapshot(p) for p in protected]
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    lines = [x for x in err.splitlines() if not x.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    if match is not None:
        assert match in lines[0], lines[0]
    for p, snap in zip(protected, before):
        assert snapshot(p) == snap, f"{p} changed"
    return lines[0]


def ok(argv, capsys) -> str:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out + captured.err


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    """One small result directory of each command (written once, never changed by the tests)."""
    base = tmp_path_factory.mktemp("owners")
    out = {name: base / name for name in ("compare", "sweep", "validate", "calibrate", "simulate", "patterns",
                                          "replicate")}
    assert cli.main([*COMPARE, "--out", str(out["compare"])]) == 0
    assert cli.main([*SWEEP, "--out", str(out["sweep"])]) == 0
    assert cli.main([*VALIDATE, "--out", str(out["validate"])]) == 0
    assert cli.main([*CALIBRATE, "--out", str(out["calibrate"])]) == 0
    assert cli.main(["simulate", "--scenario", "baseline", "--households", "600", "--years", "4", "--quiet",
                     "--out", str(out["simulate"])]) == 0
    assert cli.main([*PATTERNS, "--out", str(out["patterns"])]) == 0
    assert cli.main([*REPLICATE, "--out", str(out["replicate"])]) == 0
    return out


# --- data loss: owner record, refusal, overwrite -----------------------------------------------


def test_every_output_directory_records_its_command_and_settings(dirs):
    for name, d in dirs.items():
        rec = json.loads((d / ".ruralabm-output.json").read_text())
        assert rec["command"] == name and rec["settings"], name


@pytest.mark.parametrize("cmd,target", [
    (VALIDATE, "compare"),   # validate --out of a compare directory would replace summary.csv
    (SWEEP, "compare"),      # sweep and compare would replace each other's report.md
    (COMPARE, "sweep"),
    (COMPARE, "validate"),
    (SWEEP, "simulate"),
    (CALIBRATE, "compare"),
    (["simulate", "--households", "600", "--years", "4", "--quiet"], "compare"),
    (PATTERNS, "compare"),   # patterns would replace compare's report.md
    (REPLICATE, "compare"),
    (COMPARE, "patterns"),
    (VALIDATE, "replicate"),
    (REPLICATE, "patterns"),
])
def test_writing_into_another_commands_directory_is_refused(dirs, capsys, cmd, target):
    refused([*cmd, "--out", dirs[target]], capsys, dirs[target], match=f"holds the results of `ruralabm {target}`")


def test_same_command_other_settings_is_refused_and_overwrite_replaces_the_whole_set(dirs, tmp_path, capsys):
    out = tmp_path / "c"
    ok(["compare", "--scenarios", "baseline,cooperative,enterprise", "--save-panels", *COMPARE[1:], "--out", out],
       capsys)
    assert (out / "panels" / "enterprise").is_dir()
    # fewer scenarios: other settings, refused, nothing changed
    argv = ["compare", "--scenarios", "baseline,cooperative", "--save-panels", *COMPARE[1:], "--out", out]
    refused(argv, capsys, out, match="different configuration")
    # --overwrite: the whole set is replaced, no stale panels or parts of the old scenarios
    ok([*argv, "--overwrite"], capsys)
    assert sorted(p.name for p in (out / "panels").iterdir()) == ["baseline", "cooperative"]
    assert sorted(p.name for p in (out / "parts").iterdir()) == ["baseline", "cooperative"]
    assert not [p for p in out.iterdir() if p.name.startswith(".final-")]


def test_simulate_over_an_earlier_run(dirs, tmp_path, capsys):
    out = tmp_path / "sim"
    base = ["simulate", "--scenario", "baseline", "--households", "600", "--years", "4", "--quiet", "--out", out]
    ok(base, capsys)
    first = snapshot(out)
    refused([*base, "--seed", "5"], capsys, out, match="different configuration (settings.seed differ)"
            if False else "different configuration")
    ok([*base, "--seed", "5", "--overwrite"], capsys)
    assert json.loads((out / "run.json").read_text())["seed"] == 5
    assert set(snapshot(out)) == set(first)
    assert not list(tmp_path.glob(".sim.*"))  # no temporary folder left beside it


def test_replicate_and_patterns_refuse_other_settings_and_overwrite_replaces_the_whole_set(dirs, tmp_path, capsys):
    import shutil

    out = tmp_path / "r"
    shutil.copytree(dirs["replicate"], out)
    (out / "cao_old_table.csv").write_text("a table of an earlier set\n")
    refused([*REPLICATE, "--seed", "1", "--out", out], capsys, out, match="different configuration (seed")
    ok([*REPLICATE, "--seed", "1", "--out", out, "--overwrite"], capsys)
    assert not (out / "cao_old_table.csv").exists()  # the whole earlier set is replaced
    assert json.loads((out / ".ruralabm-output.json").read_text())["settings"]["seed"] == 1
    assert (out / "cao.md").exists() and not [p for p in out.iterdir() if p.name.startswith(".final-")]
    pat = tmp_path / "p"
    shutil.copytree(dirs["patterns"], pat)
    refused([*PATTERNS, "--seed", "3", "--out", pat], capsys, pat, match="different configuration (seed")
    ok([*PATTERNS, "--out", pat], capsys)  # the same settings reuse the directory
    assert not [p for p in pat.iterdir() if p.name.startswith(".final-")]


@pytest.mark.parametrize("argv, message", [
    (["simulate", "--households", "600", "--set", "population.n_households=1.5"], "contradicts --households"),
    (["simulate", "--years", "3", "--set", "calendar.end_year=2020"], "contradicts --years"),
    (["compare", "--households", "600", "--set", "population.n_households=700"], "contradicts --households"),
    (["compare", "--scenarios", ""], "--scenarios is empty"),
    (["compare", "--years-of-interest", ""], "--years-of-interest is empty"),
    (["sweep", "--param", "shocks.disaster_probability=0.1:0.2", "--set", "shocks.disaster_probability=0.3"],
     "which sweeps it"),
    (["patterns", "--set", "population.n_households=700"], "contradicts --households"),
])
def test_options_that_would_silently_replace_each_other_are_refused(tmp_path, capsys, argv, message):
    """A --set that another option of the same command replaces (or an empty list that would
    quietly mean the default) is refused before any work, not dropped."""
    refused([*argv, "--out", tmp_path / "o"], capsys, match=message)
    assert not (tmp_path / "o").exists()


def test_a_non_empty_foreign_directory_is_never_overwritten(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("precious")
    refused([*COMPARE, "--out", tmp_path, "--overwrite"], capsys, tmp_path, match="holds no ruralabm results")


@pytest.mark.parametrize("cmd", [COMPARE, SWEEP, VALIDATE, CALIBRATE,
                                 ["simulate", "--households", "600", "--years", "4", "--quiet"], PATTERNS, REPLICATE],
                         ids=["compare", "sweep", "validate", "calibrate", "simulate", "patterns", "replicate"])
def test_out_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys, cmd):
    f = tmp_path / "file"
    f.write_text("x")
    t0 = time.perf_counter()
    refused([*cmd, "--out", f], capsys, f, match="is an existing file")
    refused([*cmd, "--out", f / "out"], capsys, f, match="cannot be created")
    refused([*cmd, "--out", "/proc/ruralabm-out"], capsys, match="cannot be created")
    assert time.perf_counter() - t0 < 20  # refused at once, not after the runs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_compare_interrupted_keeps_its_runs_and_resumes(tmp_path, capsys):
    out = tmp_path / "c"
    ok([*COMPARE, "--out", out], capsys)
    full = snapshot(out)
    # an interruption after some runs: drop two stored runs and the final files, resume
    for f in ["runs.parquet", "summary.csv", "report.md", "compare.json"]:
        (out / f).unlink()
    (out / "parts" / "enterprise" / "rep-0001.pkl").unlink()
    (out / "parts" / "baseline" / "rep-0000.pkl").write_bytes(b"truncated")  # a half-written file is redone
    text = ok(["compare", "--resume", out, "--backend", "serial", "--no-progress"], capsys)
    assert "resuming: 4 of 6 runs already done" in text
    assert _comparable(snapshot(out)) == _comparable(full)
    # a resume takes its settings from the directory: another setting is refused
    refused(["compare", "--resume", out, "--reps", "3"], capsys, out, match="take")


def test_interrupt_message_is_true(tmp_path):
    from types import SimpleNamespace

    msg = cli._interrupt_message(SimpleNamespace(command="compare", resume_dir=tmp_path))
    assert "kept in" in msg and f"ruralabm compare --resume {tmp_path}" in msg


def test_calibrate_resume_takes_its_settings_from_the_directory(dirs, tmp_path, capsys):
    import shutil

    out = tmp_path / "cal"
    shutil.copytree(dirs["calibrate"], out)
    config = (out / "config.json").read_bytes()
    ok(["calibrate", "--resume", out, "--no-report", "--backend", "serial", "--no-progress"], capsys)
    assert (out / "config.json").read_bytes() == config  # no --budget: the stored 4, not argparse's 200
    assert json.loads((out / "result.json").read_text())["evaluated_vectors"] == 4
    refused(["calibrate", "--resume", out, "--reps", "2", "--no-report"], capsys, out, match="reps")
    refused(["calibrate", "--resume", out, "--budget", "3", "--no-report"], capsys, out, match="only extend")
    text = ok(["calibrate", "--resume", out, "--budget", "5", "--no-report", "--backend", "serial", "--no-progress"],
              capsys)
    assert "extending the calibration from 4 to 5" in text
    assert json.loads((out / "config.json").read_text())["budget"] == 5


def test_scenario_out_does_not_overwrite_a_shipped_scenario(dirs, capsys):
    from ruralabm.calibration import report
    from ruralabm.scenarios import SCENARIO_DIR

    shipped = SCENARIO_DIR / "calibrated.toml"
    with pytest.raises(ParameterError, match="shipped scenario 'calibrated'"):
        report.check_scenario_out(shipped)
    refused(["calibration-report", dirs["calibrate"], "--no-jacobian", "--report-reps", "1", "--scenario-out",
             shipped, "--backend", "serial"], capsys, shipped, dirs["calibrate"], match="--overwrite")


def test_truncated_sweep_chunk_is_redone_on_resume(dirs, tmp_path, capsys):
    import shutil

    out = tmp_path / "s"
    shutil.copytree(dirs["sweep"], out)
    full = (out / "results.parquet").read_bytes()
    chunk = out / "chunks" / "chunk-00001.parquet"
    chunk.write_bytes(chunk.read_bytes()[:40])  # truncated: the file exists but is not a chunk
    (out / "results.parquet").unlink()
    text = ok(["sweep", "--resume", out, "--backend", "serial", "--no-progress"], capsys)
    assert "(2 already done)" in text
    assert (out / "results.parquet").read_bytes() == full
    # valid Parquet files that do not match the manifest are redone too: another chunk's runs
    # (row count and schema right, run ids wrong), a chunk with an output column missing
    import pandas as pd

    chunks = out / "chunks"
    (chunks / "chunk-00002.parquet").write_bytes((chunks / "chunk-00000.parquet").read_bytes())
    pd.read_parquet(chunks / "chunk-00001.parquet").drop(columns="poverty_national").to_parquet(
        chunks / "chunk-00001.parquet", index=False)
    (out / "results.parquet").unlink()
    text = ok(["sweep", "--resume", out, "--backend", "serial", "--no-progress"], capsys)
    assert "(1 already done)" in text
    assert (out / "results.parquet").read_bytes() == full


def test_corrupted_manifest_rep_file_and_config_are_one_line_errors(dirs, tmp_path, capsys):
    import shutil

    s, v, c = tmp_path / "s", tmp_path / "v", tmp_path / "c"
    shutil.copytree(dirs["sweep"], s)
    shutil.copytree(dirs["validate"], v)
    shutil.copytree(dirs["calibrate"], c)
    (s / "manifest.json").write_text('{"kind": "ruralabm-sw')
    refused(["sweep", "--resume", s], capsys, s, match="manifest.json")
    rep = next(v.glob("reps/*/rep-0001.json"))
    rep.write_text('{"rows": [')
    line = refused(["validate", "--resume", v], capsys, v, match=str(rep))
    assert "other replications" in line
    (v / "manifest.json").write_bytes(b"\x00\xff")
    refused(["validate", "--resume", v], capsys, v, match="manifest.json is corrupted")
    (c / "config.json").write_text("{")
    line = refused(["calibrate", "--resume", c], capsys, c, match="config.json is corrupted")
    assert "evaluations.jsonl" in line


# --- tracebacks that are now one-line errors ---------------------------------------------------


def test_unreadable_scenarios_are_one_line_errors(tmp_path, capsys):
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('description = "caf\xe9"\n'.encode("latin-1"))
    typed = tmp_path / "typed.toml"
    typed.write_text("description = 5\n[shocks]\ndisaster_probability = 0.2\n")  # a wrong type is not ignored
    for bad, what in [(binary, "not UTF-8"), (latin, "not UTF-8"), (tmp_path, "is a directory"),
                      (typed, "description = 5 must be a string")]:
        refused(["show", bad], capsys, match=what)
        refused(["simulate", "--scenario", bad, "--years", "2"], capsys, match=what)
        refused(["compare", "--scenarios", f"baseline,{bad}", "--out", tmp_path / "c"], capsys, match=what)
    assert not (tmp_path / "c").exists()


def test_validate_resume_of_a_sweep_directory(dirs, capsys):
    refused(["validate", "--resume", dirs["sweep"]], capsys, dirs["sweep"], match="`ruralabm sweep`")
    refused(["sweep", "--resume", dirs["validate"]], capsys, dirs["validate"])
    refused(["compare", "--resume", dirs["sweep"]], capsys, dirs["sweep"], match="`ruralabm sweep`")
    refused(["calibrate", "--resume", dirs["compare"]], capsys, dirs["compare"], match="config.json")


def test_calibration_report_of_a_missing_or_foreign_directory(dirs, tmp_path, capsys):
    refused(["calibration-report", tmp_path / "nothing"], capsys, match="no such directory")
    refused(["calibration-report", dirs["compare"]], capsys, dirs["compare"], match="`ruralabm compare`")


def test_replicate_on_too_few_households_is_one_line(tmp_path, capsys):
    refused(["replicate", "clds", "--households", "500", "--out", tmp_path / "r"], capsys)


def test_negative_seed_is_a_parameter_error():
    from ruralabm import RuralModel

    with pytest.raises(ParameterError, match="non-negative"):
        RuralModel(seed=-1)
    with pytest.raises(ParameterError, match="non-negative"):
        RuralModel(seed=1.5)


@pytest.mark.parametrize("command", ["scenarios", "show mixed", "--help", "compare --help"])
def test_output_piped_into_head_has_no_traceback(command):
    res = subprocess.run(f"{sys.executable} -m ruralabm {command} | head -1", shell=True, cwd=ROOT,
                         capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr, res.stderr
    assert len(res.stdout.splitlines()) == 1


def test_runs_that_cannot_fit_in_memory_are_refused_before_allocating(tmp_path, capsys):
    from ruralabm import RuralModel
    from ruralabm.model.state import HOUSEHOLD_WORKING_BYTES, check_memory, estimate_bytes, household_bytes

    assert estimate_bytes(1000, 10) == 1000 * (household_bytes() * 11 + HOUSEHOLD_WORKING_BYTES)
    with pytest.raises(ParameterError, match=r"need about .* GiB of memory, but only .* GiB is available"):
        RuralModel(**{"population.n_households": 50_000_000})
    small = RuralModel(**{"population.n_households": 600, "population.n_counties": 4}).params
    with pytest.raises(ParameterError, match="0.0 GiB is available"):
        check_memory(small, available=1000)
    refused(["simulate", "--households", "50000000", "--out", tmp_path / "s"], capsys, match="GiB")
    refused(["sweep", "--param", "population.n_households=1000:50000000", "--samples", "2", "--out", tmp_path / "w"],
            capsys, match="largest run")
    assert not (tmp_path / "s").exists() and not (tmp_path / "w").exists()


# --- silently wrong or misleading ------------------------------------------------------------


def test_a_user_file_without_extends_builds_on_the_calibrated_parameters(tmp_path):
    from ruralabm.scenarios import load

    f = tmp_path / "mine.toml"
    f.write_text("[shocks]\ndisaster_probability = 0.2\n")
    sc = load(f)
    expected = load("calibrated", ["shocks.disaster_probability=0.2"]).params
    assert sc.params.to_dict() == expected.to_dict()
    assert sc.chain == ["uncalibrated", "world", "calibrated", "mine"]
    assert load("uncalibrated").chain == ["uncalibrated"]  # the shipped root stays the root


def test_degenerate_compare_designs_warn_and_findings_follow_the_table(tmp_path, capsys):
    out = tmp_path / "one"
    text = ok([*COMPARE, "--reps", "1", "--out", out], capsys) if False else None
    argv = ["compare", "--reps", "1", *SMALL, "--out", out]
    text = ok(argv, capsys)
    assert "warning: --reps 1" in text
    report = (out / "report.md").read_text()
    assert "no interval" in report and "distinguishable from noise too" not in report
    assert "**Warning:** --reps 1" in report
    out2 = tmp_path / "late"
    text = ok(["compare", "--reps", "2", *SMALL, "--set", "calendar.policy_start_year=2019", "--out", out2], capsys)
    assert "before the policy starts in 2019" in text


def test_findings_never_contradict_each_other():
    """'no difference distinguishable in YEAR' and 'every other difference is distinguishable too'
    cannot both be said of one scenario."""
    import pandas as pd

    from ruralabm.scenarios.compare import plan, summarise
    from ruralabm.scenarios.report import compare_report

    p = plan(["baseline", "cooperative"], reps=2, households=600, years=6, seed=0)
    rows = []
    for sc in p.scenarios:
        for r in range(2):
            for y in p.years_of_interest:
                rows.append({"scenario": sc.name, "rep": r, "seed": p.seeds[r], "year": y, "metric": "poverty_national",
                             "value": 0.1 if sc.name == "baseline" or y < max(p.years_of_interest) else 0.1})
    from types import SimpleNamespace
    result = SimpleNamespace(plan=p, runs=pd.DataFrame(rows), failures=[], backend="serial", wall_seconds=0.0)
    summary = summarise(result)
    text = compare_report(result, summary, [], [], Path("."), None)
    assert not ("no difference distinguishable from noise in" in text
                and "every other difference after the policy start is distinguishable from noise too" in text)


def test_sweep_designs_too_small_warn_and_contradictory_execution_is_refused(tmp_path, capsys):
    text = ok(["sweep", "--param", "shocks.disaster_probability=0.05:0.3", "--design", "sobol", "--samples", "3",
               "--reps", "1", "--outputs", "poverty_rate", *SMALL, "--out", tmp_path / "s"], capsys)
    assert "warning: Sobol with --samples 3" in text
    assert "not meaningful" in (tmp_path / "s" / "report.md").read_text()
    refused([*SWEEP[:-3], "--backend", "serial", "--workers", "2", "--out", tmp_path / "x"], capsys,
            match="--backend serial")
    refused([*COMPARE[:-3], "--backend", "serial", "--workers", "2", "--out", tmp_path / "x"], capsys,
            match="--backend serial")
    assert not (tmp_path / "x").exists()
    from types import SimpleNamespace

    from ruralabm.commands.common import check_executor_args
    check_executor_args(SimpleNamespace(backend="processes", workers=1000, dask=None))
    assert "warning: --workers 1000" in capsys.readouterr().err


# --- byte identity across backends and worker counts -----------------------------------------

# Files that legitimately differ between two identical runs, each with the reason:
NOT_BYTE_IDENTICAL = {
    "compare.json": "records the backend and the wall time",
    "report.md": "compare's and patterns' reports state the backend and the wall time (sweep's is compared)",
    "manifest.json": "sweep and validation manifests carry creation and update timestamps",
    "rows.csv": "validate's per-estimator 'seconds' column is wall time",
    ".ruralabm-output.json": "compared as JSON below: only its settings must agree",
    "config.json": "the calibration's creation time",
    "evaluations.jsonl": "each evaluation's wall time and timestamp; appended as evaluations finish (resume state)",
    "result.json": "the calibration's wall time and finish time",
    "patterns.json": "records the backend, the wall time and the command line",
}
# What those files may differ in; everything else in them must agree (compared as JSON).
VOLATILE_KEYS = {"created", "updated", "finished", "time", "seconds", "seconds_simulation", "wall_seconds", "backend",
                 "command"}


def _without_volatile(value):
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def _json_content(path: Path):
    text = path.read_text()
    if path.suffix == ".jsonl":  # an append-only store, in the order evaluations finish: compared as a set
        return sorted(json.dumps(_without_volatile(json.loads(line)), sort_keys=True) for line in text.splitlines())
    return _without_volatile(json.loads(text))


def _comparable(snap: dict[str, str], command: str = "compare") -> dict[str, str]:
    out = {}
    for k, v in snap.items():
        name = Path(k).name
        if name in NOT_BYTE_IDENTICAL and not (name == "report.md" and command == "sweep"):
            continue
        if k.startswith("reps/"):  # validation replications carry their wall time ("seconds")
            continue
        if k.startswith("parts/"):  # compare's pickled per-run summaries: pickle bytes depend on object
            continue               # layout; their content is compared through runs.parquet etc.
        out[k] = v
    return out


@pytest.mark.parametrize("command", ["compare", "sweep", "calibrate", "patterns"])
def test_outputs_are_byte_identical_across_backends_and_worker_counts(tmp_path, command, capsys):
    """Every output file is byte-identical between the serial backend and two worker processes,
    except the files that record the backend, wall times or timestamps (NOT_BYTE_IDENTICAL, each
    with its reason), whose other content must agree."""
    base = {"compare": ["compare", "--reps", "2", "--households", "600", "--years", "6", "--no-progress"],
            "sweep": SWEEP[:-3] + ["--no-progress"],
            "calibrate": CALIBRATE[:-3] + ["--no-progress"],
            "patterns": ["patterns", "--reps", "3", "--households", "1000", "--no-progress"]}[command]
    snaps, outs = [], []
    for i, ex in enumerate([["--backend", "serial"], ["--backend", "processes", "--workers", "2"]]):
        out = tmp_path / f"{command}{i}"
        ok([*base, *ex, "--out", out], capsys)
        snaps.append(snapshot(out))
        outs.append(out)
    assert any(k.startswith("figures/") for k in snaps[0]) or command == "calibrate"
    assert _comparable(snaps[0], command) == _comparable(snaps[1], command)
    assert "resilience_quantiles.parquet" in snaps[0] or command != "compare"
    assert {"calibrate": "history.csv", "patterns": "replications.csv"}.get(command, "summary.csv") in \
        _comparable(snaps[0], command) or command == "sweep"
    for name in snaps[0]:
        if name.endswith((".json", ".jsonl")) and not name.startswith(("parts/", "reps/")):
            assert _json_content(outs[0] / name) == _json_content(outs[1] / name), name


def test_validate_outputs_are_identical_across_backends(tmp_path, capsys):
    import pandas as pd

    outs = []
    for i, ex in enumerate([["--backend", "serial"], ["--backend", "processes", "--workers", "2"]]):
        out = tmp_path / f"v{i}"
        ok([*VALIDATE[:-3], "--no-progress", *ex, "--out", out], capsys)
        outs.append(out)
    a, b = (snapshot(o) for o in outs)
    assert _comparable(a, "validate") == _comparable(b, "validate")
    ra, rb = (pd.read_csv(o / "rows.csv").drop(columns="seconds") for o in outs)
    pd.testing.assert_frame_equal(ra, rb, check_exact=True)
    # the manifest and every stored replication agree but for timestamps and wall times
    for name in a:
        if name.endswith(".json"):
            assert _json_content(outs[0] / name) == _json_content(outs[1] / name), name


# --- kill and resume, as a property -------------------------------------------------------------

KILL_SEED = 20261202


def _progress_count(command: str, out: Path) -> int:
    if command == "sweep":
        return len(list((out / "chunks").glob("chunk-*.parquet"))) if (out / "chunks").exists() else 0
    if command == "validate":
        return len(list(out.glob("reps/*/rep-*.json")))
    if command == "compare":
        return len(list(out.glob("parts/*/rep-*.pkl")))
    f = out / "evaluations.jsonl"
    return len(f.read_text().splitlines()) if f.exists() else 0


KILL_RUNS = {
    # command: (argv, units of progress, files compared after the final resume)
    "sweep": (["sweep", "--param", "shocks.disaster_probability=0.05:0.3", "--design", "lhs", "--samples", "8",
               "--reps", "1", "--outputs", "poverty_rate", "--chunk-size", "1", "--households", "600", "--years", "5"],
              8, ["results.parquet", "points.csv", "sensitivity.csv", "report.md"]),
    "validate": (VALIDATE[:-3] + ["--reps", "4", "--households", "2000", "--sample", "300"], 4, ["summary.csv"]),
    "compare": (["compare", "--reps", "2", "--households", "600", "--years", "5"], 6,
                ["runs.parquet", "exits.parquet", "resilience_quantiles.parquet", "summary.csv"]),
    "calibrate": (["calibrate", "--budget", "5", "--reps", "1", "--households", "2000", "--clds-n", "500",
                   "--cles-n", "300", "--params", "cooperative.villages_share=0.3:1", "--no-report"], 5,
                  ["history.csv"]),
}


@pytest.mark.parametrize("command", list(KILL_RUNS))
def test_killed_and_resumed_runs_give_byte_identical_outputs(tmp_path, command):
    """Kill a run at random points (a fixed seed draws them) with SIGINT and SIGKILL, resume each
    time, and compare the final outputs with an uninterrupted run's, byte for byte."""
    argv, units, files = KILL_RUNS[command]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = [sys.executable, "-m", "ruralabm"]
    ex = ["--backend", "serial", "--no-progress"]  # (test_sweep.py kills the processes backend too)
    ref = tmp_path / "ref"
    assert cli.main([*argv, *ex, "--out", str(ref)]) == 0  # the uninterrupted reference, in-process
    rng = np.random.default_rng([KILL_SEED, len(command)])
    points = sorted(rng.choice(np.arange(1, units), size=min(3, units - 1), replace=False).tolist())
    out = tmp_path / "killed"
    sigs = [signal.SIGINT, signal.SIGKILL, signal.SIGINT]
    interrupted = 0
    for k, (point, sig) in enumerate(zip(points, sigs)):
        cmd = [*run, *argv, *ex, "--out", str(out)] if k == 0 else [*run, command, "--resume", str(out), *ex]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and _progress_count(command, out) < point:
            time.sleep(0.005)
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
        interrupted += proc.returncode != 0
        assert "Traceback" not in err.decode() or sig == signal.SIGKILL, err.decode()[-2000:]
        if sig == signal.SIGINT and proc.returncode == 130:
            assert f"--resume {out}" in err.decode()
    assert interrupted >= 1, "no kill landed before the run finished"
    res = subprocess.run([*run, command, "--resume", str(out), *ex], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    for f in files:
        assert (out / f).read_bytes() == (ref / f).read_bytes(), f


@pytest.mark.parametrize("command", ["compare", "sweep"])
def test_a_ctrl_c_that_library_code_swallows_still_stops_and_records_nothing_false(tmp_path, monkeypatch, capsys,
                                                                                 command):
    """A Ctrl-C during the import of an extension module comes out as ImportError ("initialization
    failed", pybind11), which a task records as its failure; other library code may swallow it.
    The CLI's handler remembers the Ctrl-C: the command stops (exit 130, the resume line), the
    run it interrupted is not recorded as failed, and the resume gives the uninterrupted result."""
    import signal

    from ruralabm.scenarios import compare, sweep

    module, attribute = {"compare": (compare, "run_task"), "sweep": (sweep, "sweep_task")}[command]
    argv = {"compare": COMPARE, "sweep": SWEEP}[command]
    ref, out = tmp_path / "ref", tmp_path / "out"
    ok([*argv, "--out", ref], capsys)
    real, calls = getattr(module, attribute), []

    def interrupted_on_the_third_call(task):
        calls.append(1)
        if len(calls) == 3:
            try:
                signal.raise_signal(signal.SIGINT)  # Ctrl-C, handled by the CLI's handler
            except KeyboardInterrupt:
                raise ImportError("initialization failed") from None  # what pybind11 makes of it
        return real(task)

    monkeypatch.setattr(module, attribute, interrupted_on_the_third_call)
    code = cli.main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 130 and f"--resume {out}" in err and "failed" not in err, err
    if command == "sweep":
        assert not json.loads((out / "manifest.json").read_text())["failed_runs"]
        assert len(list((out / "chunks").glob("chunk-*.parquet"))) == 2
    else:
        assert len(list(out.glob("parts/*/rep-*.pkl"))) == 2
    monkeypatch.setattr(module, attribute, real)
    ok([command, "--resume", out, "--backend", "serial", "--no-progress"], capsys)
    files = {"compare": ["runs.parquet", "summary.csv", "resilience_quantiles.parquet"],
             "sweep": ["results.parquet", "points.csv", "sensitivity.csv"]}[command]
    for f in files:
        assert (out / f).read_bytes() == (ref / f).read_bytes(), f


def test_what_a_killed_process_left_half_written_is_removed_on_the_next_run(dirs, tmp_path, capsys):
    """SIGKILL (or a power cut) leaves temporary files and folders behind (a part being written,
    the final set being staged); the next run or resume in that directory removes those of
    processes that are gone, and nothing else."""
    import shutil

    out = tmp_path / "c"
    shutil.copytree(dirs["compare"], out)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = [out / f".final-{dead}-abc123", out / "parts" / "baseline" / f".rep-0000.pkl.{dead}.tmp",
             tmp_path / f".c.tmp-{dead}-xyz"]
    stale[0].mkdir()
    (stale[0] / "summary.csv").write_text("half")
    for p in stale[1:]:
        p.mkdir() if p.name.startswith(".c.tmp") else p.write_bytes(b"half")
    live = out / f".summary.csv.{os.getpid()}.tmp"  # a process that is still running: kept
    live.write_text("in progress")
    ok(["compare", "--resume", out, "--backend", "serial", "--no-progress"], capsys)
    assert not any(p.exists() for p in stale), [p for p in stale if p.exists()]
    assert live.exists()


def test_validate_resume_refuses_settings_it_would_ignore(dirs, tmp_path, capsys):
    """`validate --resume DIR` takes its settings from DIR: another value of a setting would have
    been ignored without a word, so it is refused; the same value, and a larger --reps, are fine."""
    import shutil

    v = tmp_path / "v"
    shutil.copytree(dirs["validate"], v)
    refused(["validate", "--resume", v, "--households", "5000"], capsys, v, match="--households differ")
    refused(["validate", "--resume", v, "--estimators", "psm-nn1", "--outcome", "poverty"], capsys, v,
            match="--outcome, --estimators differ")
    refused(["validate", "--resume", v, "--out", tmp_path / "elsewhere"], capsys, v, match="give either --out or --resume")
    text = ok(["validate", "--resume", v, "--households", "3000", "--estimators", "psm-kernel,did", "--reps", "3",
               "--no-figures", "--backend", "serial", "--no-progress"], capsys)
    assert "resuming: 2 of 3 replications already done" in text and (v / "reps" / "sel0" / "rep-0002.json").exists()


def test_household_parquet_keeps_key_statistics_for_filtering(tmp_path):
    """Min/max statistics are written for the keys only (the value columns' cost 14% of the
    writing); a reader's year filter still skips the other years' row groups."""
    import pyarrow.parquet as pq

    from ruralabm.model.parquet import write_row_groups

    groups = [{"household_id": np.arange(50, dtype=np.int64), "year": np.full(50, y, dtype=np.int16),
               "income": np.linspace(0, 1, 50) + y} for y in (2014, 2015, 2016)]
    path = tmp_path / "h.parquet"
    write_row_groups(path, groups)
    meta = pq.ParquetFile(path).metadata
    rg = meta.row_group(1)
    names = [rg.column(i).path_in_schema for i in range(rg.num_columns)]
    year = rg.column(names.index("year")).statistics
    assert year is not None and year.has_min_max and year.min == year.max == 2015
    income = rg.column(names.index("income")).statistics
    assert income is None or not income.has_min_max
    import pandas as pd

    back = pd.read_parquet(path, filters=[("year", "==", 2015)])
    assert len(back) == 50 and set(back["year"]) == {2015}
