"""The ``ruralabm viz`` browser app: a Mesa SolaraViz over :class:`ruralabm.viz.TwinWorlds`.

Served by ``ruralabm viz`` (``solara run ruralabm.viz_app``); imported only then, because it
imports solara and Mesa's visualisation (the ``viz`` extra). Each browser session gets its own
model. The sidebar is Mesa's (Reset, play/pause, Step, play interval, the model parameters of
:func:`ruralabm.viz.model_params`); the page shows the calendar year, poverty under the three
lines, participation by organisation type, the five capitals, the resilience capacities and the
villages of one county, each with its twin without the policy drawn beside it (dashed lines; the
right-hand map) when the twin is on. Figures are drawn with matplotlib on the server, so the
page needs nothing from the internet.

The starting values can be set before the server starts through the environment variables
``RURALABM_VIZ_SCENARIO``, ``RURALABM_VIZ_HOUSEHOLDS``, ``RURALABM_VIZ_SEED`` and
``RURALABM_VIZ_TWIN`` (``ruralabm viz --scenario ... --households ... --seed ... --no-twin``
sets them).
"""
from __future__ import annotations

import html
import math
import os

import matplotlib
import numpy as np
import solara
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from ruralabm.model.reporters import CAPITALS, REPORTERS

from .viz import CAPACITIES, LINE_LABELS, POVERTY_LINES, TwinWorlds, model_params

matplotlib.use("Agg")

POLICY_STYLE = {"linestyle": "-", "linewidth": 2.0}
TWIN_STYLE = {"linestyle": "--", "linewidth": 1.6, "alpha": 0.85}
COLOURS = {"poor_1_9": "#b2182b", "poor_national": "#ef8a62", "poor_3_1": "#67a9cf",
           "cooperative": "#1b7837", "enterprise": "#2166ac", "participation": "#444444",
           "resilience": "#444444", "buffering": "#e08214", "self_organisation": "#8073ac", "learning": "#1b7837"}
CAPACITY_LABELS = {"resilience": "overall index", "buffering": "buffering", "self_organisation": "self-organisation",
                   "learning": "learning"}
CAPITAL_UNITS = {"human_capital": "composite", "natural_capital": "quality-weighted mu",
                 "physical_capital": "yuan", "financial_capital": "yuan (savings - debt)",
                 "social_capital": "composite, 0-1"}
FIGSIZE = (6.4, 3.6)
DPI = 100


def _start() -> dict:
    """Starting values from the environment (set by ``ruralabm viz``), else the defaults."""
    out = {}
    if os.environ.get("RURALABM_VIZ_SCENARIO"):
        out["scenario"] = os.environ["RURALABM_VIZ_SCENARIO"]
    if os.environ.get("RURALABM_VIZ_HOUSEHOLDS"):
        out["households"] = int(os.environ["RURALABM_VIZ_HOUSEHOLDS"])
    if os.environ.get("RURALABM_VIZ_SEED"):
        out["seed"] = int(os.environ["RURALABM_VIZ_SEED"])
    if os.environ.get("RURALABM_VIZ_TWIN"):
        out["twin"] = os.environ["RURALABM_VIZ_TWIN"] not in ("0", "false", "no")
    return out


def _years_axis(ax, model: TwinWorlds) -> None:
    years = model.calendar_years
    ax.set_xlim(years[0] - 0.3, years[-1] + 0.3)
    ax.set_xticks(years[::2] if len(years) > 8 else years)
    ax.set_xlabel("calendar year")
    start = model.params.calendar.policy_start_year
    if years[0] <= start <= years[-1]:
        ax.axvline(start - 0.5, color="#999999", linewidth=0.8, linestyle=":")
        ax.text(start - 0.45, 0.98, "policy starts", transform=ax.get_xaxis_transform(), fontsize=7,
                va="top", color="#666666")
    ax.grid(alpha=0.3)


def _twin_note(model: TwinWorlds) -> str:
    return "solid: with the policy; dashed: twin without it" if model.twin is not None else "twin off"


def _legend(ax, model: TwinWorlds, loc: str) -> None:
    """The series' legend plus what solid and dashed mean."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="black", **POLICY_STYLE))
    labels.append("with the policy")
    if model.twin is not None:
        handles.append(Line2D([], [], color="black", **TWIN_STYLE))
        labels.append("twin without it")
    ax.legend(handles, labels, fontsize=7, loc=loc, ncol=2)


def _lines(ax, model: TwinWorlds, columns, scale: float = 1.0, labels=None) -> None:
    policy, twin = model.frame("policy"), model.frame("twin")
    for c in columns:
        label = (labels or {}).get(c, c)
        if len(policy):
            ax.plot(policy["year"], policy[c] * scale, color=COLOURS.get(c), label=label, marker="o", markersize=3,
                    **POLICY_STYLE)
        else:  # nothing simulated yet: keep the legend entry
            ax.plot([], [], color=COLOURS.get(c), label=label, **POLICY_STYLE)
        if len(twin):
            ax.plot(twin["year"], twin[c] * scale, color=COLOURS.get(c), **TWIN_STYLE)


def _figure(draw, model: TwinWorlds, key: str):
    """Draw with ``draw(fig)`` and show it; redrawn when the model or its year changes."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    draw(fig)
    return solara.FigureMatplotlib(fig, format="png", dependencies=[id(model), model.steps, key])


@solara.component
def YearCard(model: TwinWorlds):
    """The calendar year, the run's settings and the effect so far."""
    update_counter.get()
    years = model.calendar_years
    if model.year is None:
        title = f"Start of {years[0]}: no year simulated yet"
    else:
        title = f"Year {model.year}"
    lines = [f'<div class="ruralabm-year" style="font-size: 28px; font-weight: 600">{html.escape(title)}</div>',
             f'<div class="ruralabm-run">scenario <b>{html.escape(model.scenario)}</b>, '
             f'{model.params.population.n_households:,} households in {model.params.population.n_counties} counties, '
             f'seed {model.master_seed}; {model.steps} of {len(years)} years ({years[0]}-{years[-1]}); '
             f'twin {"on" if model.twin is not None else "off"}</div>']
    if model.steps and model.twin is not None:
        p, t = model.history["policy"][-1], model.history["twin"][-1]
        lines.append(f'<div class="ruralabm-effect">Effect of the policy in {model.year} (with minus twin): poverty, '
                     f'national line {100 * (p["poor_national"] - t["poor_national"]):+.1f} points; participation '
                     f'{100 * (p["participation"] - t["participation"]):+.1f} points; resilience index '
                     f'{p["resilience"] - t["resilience"]:+.3f}</div>')
    td = '<td style="padding: 0 6px; font-size: 11px">'
    rows = "".join(f"<tr>{td}{html.escape(name)}</td>{td}{value:g}</td>{td}{html.escape(unit)}</td>"
                   f"{td}{html.escape(source)}</td></tr>" for name, (value, unit, source) in model.settings.items())
    lines.append('<table style="margin-top: 6px; border-collapse: collapse"><tr>' + "".join(
        f"{td}<b>{h}</b></td>" for h in ("parameter", "value", "unit", "from")) + f"</tr>{rows}</table>"
        "<div style=\"font-size: 11px\">A slider left where it started keeps the scenario's value; Reset applies "
        "the controls.</div>")
    with solara.Card():
        solara.HTML(tag="div", unsafe_innerHTML="".join(lines))


@solara.component
def PovertyChart(model: TwinWorlds):
    update_counter.get()

    def draw(fig):
        ax = fig.subplots()
        _lines(ax, model, POVERTY_LINES, 100.0, LINE_LABELS)
        ax.set_ylabel("poverty rate (% of persons)")
        ax.set_ylim(bottom=0)
        ax.set_title("Poverty under the three lines", fontsize=10)
        _years_axis(ax, model)
        _legend(ax, model, "upper right")

    return _figure(draw, model, "poverty")


@solara.component
def ParticipationChart(model: TwinWorlds):
    update_counter.get()

    def draw(fig):
        ax = fig.subplots()
        _lines(ax, model, ("cooperative", "enterprise", "participation"), 100.0,
               {"cooperative": "cooperative members", "enterprise": "enterprise contracts",
                "participation": "all participants"})
        ax.set_ylabel("share of households (%)")
        ax.set_ylim(bottom=0)
        ax.set_title("Participation by organisation type", fontsize=10)
        _years_axis(ax, model)
        _legend(ax, model, "upper left")

    return _figure(draw, model, "participation")


@solara.component
def CapitalsChart(model: TwinWorlds):
    update_counter.get()

    def draw(fig):
        axes = fig.subplots(2, 3).ravel()
        policy, twin = model.frame("policy"), model.frame("twin")
        for ax, cap in zip(axes, CAPITALS):
            if len(policy):
                ax.plot(policy["year"], policy[cap], color="#1b7837", marker="o", markersize=2, **POLICY_STYLE)
            if len(twin):
                ax.plot(twin["year"], twin[cap], color="#1b7837", **TWIN_STYLE)
            ax.set_title(f"{cap.replace('_', ' ')}\n({CAPITAL_UNITS[cap]})", fontsize=8)
            years = model.calendar_years
            ax.set_xlim(years[0] - 0.3, years[-1] + 0.3)
            ax.set_xticks([years[0], years[-1]])
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        axes[-1].axis("off")
        axes[-1].text(0.0, 0.5, "The five capitals:\nhousehold means\nper calendar year\n\n" + _twin_note(model)
                      .replace("; ", ";\n"), fontsize=8, va="center")

    return _figure(draw, model, "capitals")


@solara.component
def ResilienceChart(model: TwinWorlds):
    update_counter.get()

    def draw(fig):
        ax = fig.subplots()
        _lines(ax, model, CAPACITIES, 1.0, CAPACITY_LABELS)
        ax.set_ylabel("mean score (0-1 on the reference run)")
        ax.set_title("Resilience capacities (entropy index of ruralabm compare)", fontsize=10)
        _years_axis(ax, model)
        _legend(ax, model, "upper left")

    return _figure(draw, model, "resilience")


@solara.component
def VillageMap(model: TwinWorlds):
    """The villages of one county: each square a village coloured by its poverty rate or
    participation, each dot a household (filled: poor under the national line; colour: its
    organisation), a triangle where a cooperative operates; with the twin beside it."""
    update_counter.get()
    county, set_county = solara.use_state(0)
    colour_by, set_colour_by = solara.use_state("poverty")
    n_counties = model.params.population.n_counties
    county = min(county, n_counties - 1)
    with solara.Column():
        with solara.Row():
            solara.SliderInt("county", value=county, min=0, max=n_counties - 1, on_value=set_county)
            solara.Select("colour villages by", value=colour_by, values=["poverty", "participation"],
                          on_value=set_colour_by)

        def draw(fig):
            worlds = ["policy"] + (["twin"] if model.twin is not None else [])
            axes = np.atleast_1d(fig.subplots(1, len(worlds)))
            cmap = matplotlib.colormaps["OrRd" if colour_by == "poverty" else "Greens"]
            norm = Normalize(0, 100 if colour_by == "participation" else 50)
            for ax, world in zip(axes, worlds):
                _draw_villages(ax, model.village_view(county, world), colour_by, cmap, norm)
                ax.set_title(("with the policy" if world == "policy" else "twin without the policy")
                             + f": county {county}", fontsize=9)
            bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=list(axes), shrink=0.8)
            bar.set_label("village poverty rate, national line (% of persons)" if colour_by == "poverty"
                          else "village participation (% of households)", fontsize=7)
            bar.ax.tick_params(labelsize=7)

        _figure(draw, model, f"villages-{county}-{colour_by}")
        solara.Text("Dots are households: filled = poor (national line); green = cooperative member, "
                    "blue = enterprise contract, grey = neither. Triangle: a cooperative operates in the village.",
                    style={"font-size": "12px"})


def _draw_villages(ax, view: dict, colour_by: str, cmap, norm) -> None:
    villages = view["villages"]
    n = len(villages)
    cols = math.ceil(math.sqrt(n))
    org_colour = {0: "#888888", 1: "#1b7837", 2: "#2166ac"}
    for i, v in enumerate(villages):
        x, y = i % cols, -(i // cols)
        value = v[colour_by]
        face = "#f0f0f0" if not view["simulated"] or math.isnan(value) else cmap(norm(100 * value))
        ax.add_patch(matplotlib.patches.Rectangle((x + 0.04, y + 0.04), 0.92, 0.92, facecolor=face,
                                                  edgecolor="#555555", linewidth=0.6))
        k = len(v["households_poor"])
        side = max(1, math.ceil(math.sqrt(k)))
        for j, (poor, org) in enumerate(zip(v["households_poor"], v["households_org"])):
            hx = x + 0.2 + 0.6 * ((j % side) + 0.5) / side
            hy = y + 0.14 + 0.6 * ((j // side) + 0.5) / side
            colour = org_colour.get(int(org), "#888888")
            ax.plot(hx, hy, "o", markersize=3.2, markeredgewidth=0.8, markeredgecolor=colour,
                    markerfacecolor=colour if (poor and view["simulated"]) else "white")
        if v["village"] in view["cooperative_villages"]:
            ax.plot(x + 0.13, y + 0.85, marker="^", markersize=6, color="#1b7837", markeredgecolor="black",
                    markeredgewidth=0.5)
    ax.set_xlim(0, cols)
    ax.set_ylim(-math.ceil(n / cols) + 1, 1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"{n} villages; leading enterprises active in the county: {view['enterprises']}", fontsize=7)


COMPONENTS = [(YearCard, 0), (PovertyChart, 0), (ParticipationChart, 0), (ResilienceChart, 0), (CapitalsChart, 0),
              (VillageMap, 0)]


@solara.component
def Page():
    """One model per browser session, with Mesa's controls and the charts above."""
    start = solara.use_memo(_start, [])
    model = solara.use_memo(lambda: TwinWorlds(**start), [])
    SolaraViz(model, components=COMPONENTS, model_params=model_params(**start), play_interval=400,
              name="ruralabm: a rural region year by year, with its twin without the policy")


__all__ = ["Page", "COMPONENTS", "REPORTERS"]
