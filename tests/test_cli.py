"""The command line and the packaging: one import name, a console script, fast start-up."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "mesa", "scipy", "matplotlib", "statsmodels", "sklearn", "pyarrow")


def _ruralabm(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "ruralabm", *args], capture_output=True, text=True,
                          cwd=cwd or Path.home(), env=env, timeout=120)


def test_version_and_python_m(tmp_path):
    import ruralabm

    res = _ruralabm("--version", cwd=tmp_path)
    assert res.returncode == 0
    assert res.stdout.strip() == f"ruralabm {ruralabm.__version__}"
    from importlib.metadata import version
    assert version("ruralabm") == ruralabm.__version__


def test_top_level_help_lists_every_subcommand_with_one_line():
    res = _ruralabm("--help")
    assert res.returncode == 0
    for command in ("simulate", "scenarios", "show", "compare", "sweep", "validate", "replicate", "calibrate",
                    "calibration-report"):
        assert f"    {command}" in res.stdout, command


@pytest.mark.parametrize("argv", [["--help"], ["scenarios"], ["show", "cooperative"], ["compare", "--help"],
                                  ["validate", "--preset", "x"], ["sweep", "--design", "x"],
                                  ["calibrate", "--budget", "0"], ["replicate", "x"]])
def test_parsing_and_light_commands_import_no_heavy_library(argv):
    """Start-up stays fast because nothing heavy is imported to parse or to list/show scenarios
    (the timing itself is measured by benchmarks/bench_startup.py)."""
    code = ("import sys\nfrom ruralabm.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
            "print('HEAVY', ','.join(heavy), file=sys.stderr)\n")
    res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    line = [ln for ln in res.stderr.splitlines() if ln.startswith("HEAVY")][-1]
    assert line.strip() == "HEAVY", f"{argv} imported {line[6:]}"


def test_usage_error_is_one_line_exit_2():
    res = _ruralabm("validate", "--preset", "bogus")
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "invalid choice: 'bogus'" in res.stderr


def test_cli_option_mirrors_agree_with_the_library():
    from ruralabm.analysis import validation
    from ruralabm.commands import common, compare, sweep, validate
    from ruralabm.scenarios import compare as lib_compare
    from ruralabm.scenarios import executor, runner
    from ruralabm.scenarios import sweep as lib_sweep

    assert common.BACKENDS == executor.BACKENDS
    assert (compare.DEFAULT_SCENARIOS, compare.DEFAULT_REPS, compare.DEFAULT_HOUSEHOLDS, compare.DEFAULT_OUT) == (
        lib_compare.DEFAULT_SCENARIOS, lib_compare.DEFAULT_REPS, lib_compare.DEFAULT_HOUSEHOLDS, lib_compare.DEFAULT_OUT)
    assert sweep.DESIGNS == lib_sweep.DESIGNS and sweep.DEFAULT_OUTPUTS == lib_sweep.DEFAULT_OUTPUTS
    assert sweep.METRICS == runner.METRICS
    assert validate.PRESETS is validation.PRESETS and validate.ESTIMATORS is validation.ESTIMATORS
    assert validate.OUTCOMES is validation.OUTCOMES and validate.LINE_NAMES == tuple(validation.LINES)


def test_run_py_is_a_thin_wrapper(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / "run.py"), "scenarios"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert res.returncode == 0 and "cooperative" in res.stdout


def test_broken_pipe_is_not_a_traceback():
    proc = subprocess.Popen(f"{sys.executable} -m ruralabm show cooperative | head -1", shell=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=60)
    assert out.startswith("# scenario cooperative")
    assert "Traceback" not in err


def _source_copy(tmp_path) -> Path:
    """The project's sources in a fresh folder, so that building does not leave build/ in the
    checkout (and no stale build/lib from an earlier build can end up in the package)."""
    import shutil

    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", ".venv", "runs")
    for folder in ("ruralabm", "model", "agents", "analysis", "calibration", "scenarios"):
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    return src


def test_install_puts_only_ruralabm_at_top_level(tmp_path):
    """``pip install .`` (here into a target folder, without dependencies) installs one top-level
    package, ``ruralabm``, with every subpackage and the shipped TOML files; imported from another
    directory, the installed copy works (not the checkout)."""
    target = tmp_path / "site"
    res = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target",
                          str(target), str(_source_copy(tmp_path))], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    top = sorted(p.name for p in target.iterdir() if not p.name.endswith((".dist-info", ".egg-info"))
                 and p.name not in ("bin", "__pycache__"))
    assert top == ["ruralabm"], top
    dist_info = next(target.glob("ruralabm-*.dist-info"))
    record = (dist_info / "RECORD").read_text()
    for must in ("ruralabm/model/core.py", "ruralabm/analysis/psm.py", "ruralabm/scenarios/cooperative.toml",
                 "ruralabm/calibration/targets.toml", "ruralabm/commands/compare.py", "ruralabm/agents/household.py"):
        assert must in record, must
    # every package folder of the checkout is in the install
    for folder in ("ruralabm", "model", "agents", "analysis", "calibration", "scenarios"):
        for init in (ROOT / folder).glob("**/__init__.py"):
            rel = init.relative_to(ROOT)
            sub = rel.parent if folder == "ruralabm" else Path("ruralabm") / rel.parent
            assert (target / sub / "__init__.py").exists(), f"{rel.parent} is not installed"
    env = dict(os.environ, PYTHONPATH=str(target))
    code = ("import json, ruralabm, ruralabm.model.core, ruralabm.scenarios as s; "
            "print(json.dumps([ruralabm.model.core.__file__, sorted(s.available())]))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    core_file, names = json.loads(res.stdout)
    assert core_file.startswith(str(target))
    assert "cooperative" in names and "calibrated" in names


def test_wheel_top_level_txt(tmp_path):
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(_source_copy(tmp_path))],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    wheel = next(tmp_path.glob("ruralabm-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        tops = {n.split("/")[0] for n in zf.namelist()}
        top_level = [n for n in zf.namelist() if n.endswith("top_level.txt")]
        assert tops - {n.split("/")[0] for n in zf.namelist() if ".dist-info/" in n} == {"ruralabm"}
        assert top_level, "the wheel has no top_level.txt"
        assert zf.read(top_level[0]).decode().split() == ["ruralabm"]


def test_every_option_of_every_subcommand_has_help_text():
    import argparse

    from ruralabm.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {action.option_strings or action.dest}" for name, sp in sub.choices.items()
               for action in sp._actions if not action.help]
    assert not missing, missing


def test_citation_and_changelog_name_the_current_version():
    import re

    import ruralabm

    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(r"^version: (\S+)$", cff, re.M).group(1) == ruralabm.__version__
    assert f"## {ruralabm.__version__} " in (ROOT / "CHANGELOG.md").read_text()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_run_json_records_the_environment(tmp_path):
    import platform

    out = tmp_path / "one"
    res = _ruralabm("simulate", "--households", "1000", "--years", "2", "--set", "population.n_counties=4",
                    "--quiet", "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    env = json.loads((out / "run.json").read_text())["environment"]
    assert env["python"] == platform.python_version()
    assert env["platform"] and env["dependencies"]["numpy"] and env["dependencies"]["mesa"]
    assert "git_dirty" in env and env["package_version"]


def test_ctrl_c_inside_a_weakref_callback_still_stops_the_command():
    """A SIGINT that lands while the garbage collector runs a weakref callback is swallowed there by
    Python ("Exception ignored in ...", a traceback, and the command goes on). The CLI's unraisable
    hook delivers it again, so the command stops as Ctrl-C always stops it."""
    import weakref

    from ruralabm import cli

    class Thing:
        pass

    def callback(_ref):
        raise KeyboardInterrupt

    import signal

    # As under the CLI, SIGINT raises KeyboardInterrupt (whatever an earlier test left installed).
    previous_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous, sys.unraisablehook = sys.unraisablehook, cli._redeliver_interrupts
    try:
        with pytest.raises(KeyboardInterrupt):
            thing = Thing()
            ref = weakref.ref(thing, callback)
            del thing  # the callback runs here; its KeyboardInterrupt is swallowed and re-raised
            # the re-delivered interrupt arrives within milliseconds on a quiet machine
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                time.sleep(0.01)
        assert ref() is None
    finally:
        sys.unraisablehook = previous
        signal.signal(signal.SIGINT, previous_handler)


def test_ctrl_c_swallowed_just_before_the_command_returns_never_escapes_main(monkeypatch, capsys):
    """The re-delivered Ctrl-C can be on its way when the command returns: main() waits for it, so
    it arrives inside main (one line, exit 130), never after it (a traceback at interpreter exit)."""
    import weakref

    from ruralabm import cli
    from ruralabm.commands import simulate

    class Thing:
        pass

    def finish_with_a_swallowed_interrupt(args):
        thing = Thing()
        ref = weakref.ref(thing, lambda _ref: (_ for _ in ()).throw(KeyboardInterrupt))
        del thing  # the callback's KeyboardInterrupt goes to the unraisable hook
        assert ref() is None
        return 0  # ... and the command returns at once, before the re-delivery fires

    monkeypatch.setattr(simulate, "run_simulate", finish_with_a_swallowed_interrupt)
    code = cli.main(["simulate"])
    deadline = time.monotonic() + 0.2  # nothing may arrive after main() has returned
    while time.monotonic() < deadline:
        pass
    err = capsys.readouterr().err
    assert code == 130 and "Traceback" not in err and "Exception ignored" not in err
    # one line: usually the re-delivery arrives after the command returned; on a busy machine the
    # 1 ms timer can fire before, and the command stops as any Ctrl-C stops it
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0] in ("interrupted as the command finished: everything it wrote is complete",
                                            "interrupted: results written so far are kept"), err
    assert cli._redelivery is None and sys.unraisablehook is not cli._redeliver_interrupts
    import signal

    from ruralabm import INTERRUPT
    assert not INTERRUPT.is_set() and signal.getsignal(signal.SIGINT) is not cli._on_sigint
