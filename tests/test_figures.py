"""The figures of compare are readable: every panel has axis labels with units, rates in percent,
a legend naming the compared scenarios, and the reference drawn so that it is not hidden."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from ruralabm.scenarios import report  # noqa: E402
from ruralabm.scenarios.compare import execute, plan, summarise  # noqa: E402
from ruralabm.scenarios.executor import SerialExecutor  # noqa: E402


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    p = plan(["baseline", "cooperative"], reps=2, households=500, years=5, seed=0)
    result = execute(p, SerialExecutor(), progress=False)
    kept = {}
    close = plt.close
    plt.close = lambda fig=None: None  # keep the figures open to inspect them
    try:
        paths = report.compare_figures(result, summarise(result), tmp_path_factory.mktemp("figs"))
        for num in plt.get_fignums():
            fig = plt.figure(num)
            kept[paths[len(kept)].name] = fig
    finally:
        plt.close = close
    yield kept
    plt.close("all")


def test_trajectories_have_units_percent_and_one_legend_with_every_line(figures):
    fig = figures["trajectories.png"]
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    assert all(ax.get_xlabel() == "year" and ax.get_ylabel() for ax in panels)
    poverty = next(ax for ax in panels if ax.get_title() == "poverty rate, national line")
    assert poverty.get_ylabel() == "% of persons"
    assert max(max(line.get_ydata()) for line in poverty.get_lines()[:2]) > 1  # percent, not a fraction
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:2] == ["baseline (reference)", "cooperative"] and "policy start" in labels[2]
    ref, other = poverty.get_lines()[:2]
    assert ref.get_zorder() > other.get_zorder() and ref.get_linestyle() != "-"  # visible where they coincide
    assert "coincide" in fig._suptitle.get_text()


def test_other_compare_figures_are_labelled(figures):
    diff = figures["differences.png"]
    assert all(ax.get_xlabel().startswith("difference (") for ax in diff.axes if ax.axison)
    assert diff.legends
    for name in ("resilience_distribution.png", "county_exits.png"):
        for ax in figures[name].axes:
            assert ax.get_xlabel() and ax.get_ylabel().startswith("%") and ax.get_legend() is not None
