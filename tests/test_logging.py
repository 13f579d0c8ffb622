"""Warnings and progress notes go through logging; ``-v`` and ``--quiet`` on the top-level command
change what reaches stderr, never what reaches stdout."""
import logging

from ruralabm import cli

SWEEP = ["sweep", "--scenario", "baseline", "--param", "shocks.disaster_probability=0.05:0.3", "--design", "lhs",
         "--samples", "3", "--reps", "1", "--households", "500", "--years", "3", "--backend", "serial"]
COMPARE = ["compare", "--scenarios", "baseline,mixed", "--reps", "1", "--households", "500", "--years", "3",
           "--backend", "serial", "--workers", "1"]


def _run(capsys, argv):
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out, captured.err


def _timeless(text: str) -> str:
    """The report's wall-clock timings, e.g. "(0.3 s)", differ between two runs; nothing else may."""
    import re

    return re.sub(r"\d+(\.\d+)? s\b", "T s", text)


def test_verbose_and_quiet_change_stderr_only(tmp_path, capsys):
    out0, err0 = _run(capsys, SWEEP + ["--out", str(tmp_path / "a"), "--no-progress"])
    assert err0.strip() == "warning: only 3 design points: rank correlations are not meaningful below 5 or so"
    outq, errq = _run(capsys, ["--quiet"] + SWEEP + ["--out", str(tmp_path / "b")])
    assert errq == ""  # neither the warning nor a progress bar
    assert _timeless(outq.replace(str(tmp_path / "b"), "X")) == _timeless(out0.replace(str(tmp_path / "a"), "X"))

    _, errd = _run(capsys, COMPARE + ["--out", str(tmp_path / "c"), "--no-progress"])
    assert "warning: --reps 1: one replication gives no intervals" in errd
    assert "runs in" not in errd  # progress notes are INFO
    outv, errv = _run(capsys, ["-v"] + COMPARE + ["--out", str(tmp_path / "d"), "--no-progress"])
    assert "warning: --reps 1" in errv and f"wrote {tmp_path / 'd'}" in errv and "runs in" in errv
    outq, errq = _run(capsys, ["-q"] + COMPARE + ["--out", str(tmp_path / "e")])
    assert errq == ""
    assert _timeless(outq.replace(str(tmp_path / "e"), "X")) == _timeless(outv.replace(str(tmp_path / "d"), "X"))

def test_user_errors_stay_one_line_whatever_the_level(tmp_path, capsys):
    for flag in ([], ["-v"], ["--quiet"]):
        assert cli.main(flag + ["compare", "--scenarios", "baseline,utopia", "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err


def test_configure_logging_levels():
    logger = logging.getLogger("ruralabm")
    for kwargs, level in (({}, logging.WARNING), ({"verbose": 1}, logging.INFO), ({"verbose": 3}, logging.DEBUG),
                          ({"quiet": True}, logging.ERROR)):
        cli.configure_logging(**kwargs)
        assert logger.level == level
        assert sum(isinstance(h, cli._StderrHandler) for h in logger.handlers) == 1
    cli.configure_logging()
