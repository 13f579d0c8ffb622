"""The papers' tables re-run on simulated data, each cell beside the published number and the
simulated truth.

* :func:`replicate_clds` — Tables 1-5 of the CLDS paper (descriptives, TWFE DID with and without
  covariates, pstest balance, PSM ATT by method x line x region, kernel PSM-DID) on a
  CLDS-like sample, twice: with vulnerability estimated on X as the paper did, and with the
  variant whose VEP regressors include participation.
* :func:`replicate_cao` — PSM and CMP effects of participation on the resilience index and its
  capacities, by organisation type and integration form (Cao et al.).
* :func:`replicate_counties` — OLS and Cox models of days to poverty exit (76-county paper).

Truth (see docs/validation.md): for an ATT on vulnerability under line L, the mean over the
sample's treated of P(poor_L next year | factual) - P(poor_L next year | direct twin), i.e. the
twin difference of being poor in the year after the post wave; beside it the twin difference
of the VEP-predicted vulnerability (the factual VEP coefficients applied to the twin's
covariates). For resilience, the twin difference of the index with the entropy weights fixed on
the factual first CLES wave. Descriptive cells (Table 1, Table 3) have no truth.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ruralabm.model import RuralModel
from ruralabm.model.params import ParameterError, Params
from ruralabm.model.truth import policy_absent, counterfactual_twins
from ruralabm.scenarios import load

from ..specs import (CAO_COVARIATES, CAO_FORM_CODES, CAO_GROUPS, CAO_ORG_CODES, CAO_OUTCOMES, CLDS_COVARIATES,
                     CLDS_POST, CLDS_PRE, CLDS_SAMPLE, CLES_SAMPLE, CLES_WAVES, COUNTY_REGRESSORS, LINE_NAMES,
                     LINE_PARAMS, POOR_COLUMNS, PSM_METHODS, REGIONS, poverty_lines)
from . import published as pub
from .campaign import county_exit_check
from .papers import cao_statistics, clds_statistics, county_statistics, drop_separating_covariates
from .survey import clds_eligible, clds_sample, cles_sample, counties_for_sample, county_sample, survey_options
from .validation import (ResilienceDeriver, _ln_income, first_participation, sample_truth, to_markdown,
                         vep_twin_differences)

LINES = LINE_PARAMS

CLDS_DEFAULTS = dict(households=45_000, sample=CLDS_SAMPLE)
CAO_DEFAULTS = dict(households=20_000, sample=CLES_SAMPLE)
COUNTY_DEFAULTS = dict(households=40_000, sample=76, counties=100)
FORM_CODES = CAO_FORM_CODES


@dataclass
class ReplicationResult:
    paper: str
    tables: dict[str, pd.DataFrame]
    text: str
    files: list[Path] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def _params(scenario: str, overrides, households: int) -> Params:
    p = load(scenario, list(overrides or [])).params
    p.set("population.n_households", int(households))
    return p


def _fmt(v, digits=4) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def _published_columns(keys) -> tuple[list, list]:
    return [pub.value(k) for k in keys], [pub.se(k) for k in keys]


def _render(title: str, frame: pd.DataFrame, cols: list[str]) -> str:
    show = frame[cols].copy()
    for c in cols[1:]:
        show[c] = [_fmt(v) if not isinstance(v, str) else v for v in show[c]]
    return f"{title}\n" + show.to_string(index=False) + "\n"


def _write(out: Path | None, name: str, tables: dict[str, pd.DataFrame], text: str) -> list[Path]:
    return [] if out is None else write_tables(out, name, tables, text)


def write_tables(out: Path, name: str, tables: dict[str, pd.DataFrame], text: str) -> list[Path]:
    """One CSV per table and ``NAME.md`` in ``out``, written into a temporary folder first and
    renamed into place (an interruption leaves the earlier files as they were)."""
    from ruralabm.scenarios.outputs import staged

    out = Path(out)
    names = []
    with staged(out) as tmp:
        for tname, frame in tables.items():
            frame.to_csv(tmp / f"{name}_{tname}.csv", index=False)
            names.append(f"{name}_{tname}.csv")
        md = [f"# Replication: {name}\n", "```", text, "```", ""]
        for tname, frame in tables.items():
            md += [f"## {tname}", "", to_markdown(frame), ""]
        (tmp / f"{name}.md").write_text("\n".join(md))
        names.append(f"{name}.md")
    return [out / n for n in names]


# ---------------------------------------------------------------------------------------------
# CLDS


def replicate_clds(scenario: str = "mixed", overrides=None, households: int | None = None, seed: int = 0,
                   sample: int | None = None, batches: int = 10, out: Path | None = None,
                   pre: int = CLDS_PRE, post: int = CLDS_POST) -> ReplicationResult:
    households = households or CLDS_DEFAULTS["households"]
    n = sample or CLDS_DEFAULTS["sample"]
    params = _params(scenario, overrides, households)
    if params.calendar.end_year > post + 1:
        params.set("calendar.end_year", post + 1)  # later years cannot change the waves
    lines = poverty_lines(params)
    poor_cols = dict(POOR_COLUMNS)
    outcomes = list(poor_cols.values()) + ["income_per_capita", "ln_income"] + list(CLDS_COVARIATES) + ["participating"]
    tw = counterfactual_twins(params, seed, outcomes=outcomes, years=[pre, post, post + 1], batches=batches,
                              derive=_ln_income, keep_factual=True)
    panel = tw.factual_panel
    options = survey_options(params)  # the survey's recall error of income, if any
    eligible = clds_eligible(panel, pre, seed=seed, **options)
    if eligible < 100:
        raise ParameterError(f"only {eligible} households are poor in {pre}; simulate more (--households)")
    n = min(n, eligible)
    smp = clds_sample(panel, n=n, pre=pre, post=post, seed=seed, **options)
    separation: list[str] = []
    paper = drop_separating_covariates(
        lambda cov: clds_statistics(smp, lines, pre=pre, post=post, covariates=cov), CLDS_COVARIATES, separation)
    variant = drop_separating_covariates(
        lambda cov: clds_statistics(smp, lines, pre=pre, post=post, covariates=cov,
                                    vep_covariates=list(CLDS_COVARIATES) + ["participating"]),
        CLDS_COVARIATES, separation)

    # Truth over the sample's treated (T = participating in the post wave).
    postw = smp[smp["year"] == post]
    treated = postw.loc[postw["T"] == 1, ["household_id", "region"]]
    truth = sample_truth(tw.potential, treated["household_id"].to_numpy())
    east_ids = set(treated.loc[treated["region"].astype(str) == "east", "household_id"])
    region_ids = {"full": set(treated["household_id"]), "east": east_ids,
                  "central_west": set(treated["household_id"]) - east_ids}
    next_poor = {name: truth.y1[(col, post + 1)] - truth.y0[(col, post + 1)] for name, col in poor_cols.items()}
    vep_twin = {}
    for label, st, cov in (("paper", paper, list(CLDS_COVARIATES)),
                           ("variant", variant, list(CLDS_COVARIATES) + ["participating"])):
        data = st.objects["data"]
        for name in LINE_NAMES:
            d = data.copy()
            vep_twin[(label, name)] = vep_twin_differences(d, truth, cov, post, lines[name])

    def truth_of(line, region="full"):
        ids = list(region_ids[region])
        return float(next_poor[line].loc[ids].mean()) if ids else np.nan

    def vep_truth(label, line, region="full"):
        ids = list(region_ids[region])
        return float(vep_twin[(label, line)].loc[ids].mean()) if ids else np.nan

    sp, sv = paper.table.set_index("key"), variant.table.set_index("key")
    rows = []
    for key in paper.table["key"]:
        parts = key.split(".")
        table = parts[1] if parts[1].startswith("t") else "descriptive"
        row = {"table": table, "key": key, "published": pub.value(key), "published_se": pub.se(key),
               "simulated": sp.loc[key, "estimate"], "simulated_se": sp.loc[key, "se"],
               "variant": sv.loc[key, "estimate"] if key in sv.index else np.nan,
               "variant_se": sv.loc[key, "se"] if key in sv.index else np.nan,
               "truth": np.nan, "truth_vep_paper": np.nan, "truth_vep_variant": np.nan}
        line = next((ln for ln in LINE_NAMES if f".{ln}." in f".{'.'.join(parts[2:])}."), None)
        if table == "t2" and line:
            row.update(truth=truth_of(line), truth_vep_paper=vep_truth("paper", line),
                       truth_vep_variant=vep_truth("variant", line))
        elif table == "t4" and line:
            region = parts[-1]
            row.update(truth=truth_of(line, region), truth_vep_paper=vep_truth("paper", line, region),
                       truth_vep_variant=vep_truth("variant", line, region))
        elif table == "t5" and line:
            part = parts[2]
            if part == "before":
                row.update(truth=0.0, truth_vep_paper=0.0, truth_vep_variant=0.0)
            else:
                row.update(truth=truth_of(line), truth_vep_paper=vep_truth("paper", line),
                           truth_vep_variant=vep_truth("variant", line))
        rows.append(row)
    # Table 4 "mean" rows: the paper's average over the four matching methods.
    for line in LINE_NAMES:
        for region in REGIONS:
            ks = [f"clds.t4.att.{m}.{line}.{region}" for m in PSM_METHODS]
            key = f"clds.t4.att.mean.{line}.{region}"
            rows.append({"table": "t4", "key": key, "published": pub.value(key), "published_se": None,
                         "simulated": sp.loc[ks, "estimate"].mean(), "simulated_se": np.nan,
                         "variant": sv.loc[ks, "estimate"].mean(), "variant_se": np.nan,
                         "truth": truth_of(line, region), "truth_vep_paper": vep_truth("paper", line, region),
                         "truth_vep_variant": vep_truth("variant", line, region)})
    full = pd.DataFrame(rows)
    full["cell"] = full["key"].str.replace("clds.", "", regex=False)
    tables = {}
    texts = [f"CLDS paper (seed 001) on a simulated CLDS-like sample: scenario {scenario}, {households} households, "
             f"seed {seed}, n = {n} households poor in {pre} (x 2 waves), twins in {batches} batches.",
             "simulated = vulnerability estimated on X as the paper did; variant = VEP regressors include "
             "participation. truth = ATT on P(poor next year) (factual - direct twin); truth_vep = twin difference "
             "of the VEP-predicted vulnerability (paper / variant VEP).",
             ""]
    titles = {"descriptive": "Participation and mean vulnerability", "t1": "Table 1: descriptive statistics",
              "t2": "Table 2: two-way FE DID (P x T)", "t3": "Table 3: balance (pstest, NN 1:1, $1.9 line, full sample)",
              "t4": "Table 4: PSM ATT on vulnerability", "t5": "Table 5: kernel PSM-DID"}
    for table in ("descriptive", "t1", "t2", "t3", "t4", "t5"):
        frame = full[full["table"] == table].drop(columns=["table"]).reset_index(drop=True)
        if table == "t4":
            order = {m: i for i, m in enumerate(list(PSM_METHODS) + ["mean"])}
            parts = [k.split(".") for k in frame["key"]]
            frame["_o"] = [(LINE_NAMES.index(".".join(p[4:-1])), REGIONS.index(p[-1]), order[p[3]]) for p in parts]
            frame = frame.sort_values("_o").drop(columns="_o")
        tables[table] = frame
        cols = ["cell", "published", "simulated", "variant"]
        if table in ("t2", "t4", "t5"):
            cols += ["truth", "truth_vep_paper", "truth_vep_variant"]
        texts.append(_render(titles[table], frame, cols))
    for k in ("clds.t2", "clds.t4", "clds.t5", "clds.t3"):
        texts.append(f"note {k}: {pub.NOTES[k]}")
    for note in dict.fromkeys(separation):
        texts.append(f"note propensity model: {note}; the other covariates are matched on (Stata would also drop "
                     f"the perfectly predicted observations)")
    text = "\n".join(texts)
    files = _write(out, "clds", tables, text)
    return ReplicationResult("clds", tables, text, files, {"paper": paper, "variant": variant, "sample": smp})


# ---------------------------------------------------------------------------------------------
# Cao et al.


def replicate_cao(scenario: str = "mixed", overrides=None, households: int | None = None, seed: int = 0,
                  sample: int | None = None, batches: int = 10, out: Path | None = None,
                  waves=CLES_WAVES) -> ReplicationResult:
    households = households or CAO_DEFAULTS["households"]
    n = sample or CAO_DEFAULTS["sample"]
    params = _params(scenario, overrides, households)
    if params.calendar.end_year > max(waves):
        params.set("calendar.end_year", max(waves))
    n = min(n, households)

    def base(panel: pd.DataFrame) -> np.ndarray:
        # The index is fitted on the survey's first wave (as the papers fit on their own data).
        ids = cles_sample(panel, n=n, waves=waves, seed=seed)["household_id"].unique()
        return ((panel["year"] == waves[0]) & panel["household_id"].isin(ids)).to_numpy()

    deriver = ResilienceDeriver(base)
    outcomes = list(CAO_OUTCOMES) + ["income_per_capita"]
    tw = counterfactual_twins(params, seed, outcomes=outcomes, years=list(waves), batches=batches, derive=deriver,
                              keep_factual=True)
    smp = cles_sample(tw.factual_panel, n=n, waves=waves, seed=seed)
    separation: list[str] = []
    st = drop_separating_covariates(
        lambda cov: cao_statistics(smp, deriver.index, cov, instrument="cooperative_in_village",
                                   groups=CAO_GROUPS, cmp_outcomes=CAO_OUTCOMES, cmp_groups=CAO_GROUPS),
        CAO_COVARIATES, separation)
    table = st.table.set_index("key")
    notes = st.objects.get("notes", {})
    cmp_samples = st.objects.get("cmp_samples", {})

    # The published orderings each row belongs to (capacities of the whole sample; resilience by
    # organisation type; resilience by integration form).
    families = {"capacities": ([(c, "all") for c in ("buffering", "self_organisation", "learning")],
                               pub.ORDERINGS["cao.capacities"]),
                "organisation": ([("resilience", g) for g in CAO_ORG_CODES], pub.ORDERINGS["cao.org_type"]),
                "form": ([("resilience", g) for g in FORM_CODES], pub.ORDERINGS["cao.form"])}
    family_of = {member: name for name, (members, _) in families.items() for member in members}

    def published_ordering(kind: str, outcome: str, group: str) -> str:
        fam = family_of.get((outcome, group))
        if fam is not None:
            return families[fam][1]
        if (outcome, group) == ("resilience", "all"):
            return "17.1% net impact (PSM)" if kind == "psm_pct" else "> 0 (sign of the 17.1% net impact)"
        return ""

    # Truth over the sample's participating household-years, by current organisation type / form.
    pot = tw.potential
    pot = pot[pot["household_id"].isin(smp["household_id"].unique())]
    treated_rows = smp.loc[smp["participating"] == 1, ["household_id", "year", "org_type", "form"]]
    control_rows = smp.loc[smp["participating"] == 0, ["household_id", "year"]]
    joined = first_participation(tw.factual_panel)
    rows = []
    for outcome in CAO_OUTCOMES:
        d = pot[pot["outcome"] == outcome][["household_id", "year", "y1", "y0"]]
        merged = treated_rows.merge(d, on=["household_id", "year"], how="left")
        # The paper's "net impact" compares current participants with current non-participants,
        # some of them former members who keep part of the effect: its truth is the treated's
        # effect minus the controls' own effect of past participation (truth_current).
        ctrl = control_rows.merge(d, on=["household_id", "year"], how="left")
        # only a household that has participated by that year carries an effect of its own (the
        # twin difference of one that joins later is its batch-mates' exit, docs/estimands.md)
        first = joined.reindex(ctrl["household_id"].to_numpy()).to_numpy(dtype=float)
        own = np.isfinite(first) & (first <= ctrl["year"].to_numpy())
        carried = float(np.where(own, ctrl["y1"] - ctrl["y0"], 0.0).mean()) if len(ctrl) else 0.0
        for group in CAO_GROUPS:
            if group == "all":
                g = merged
            elif group in CAO_ORG_CODES:
                g = merged[merged["org_type"] == CAO_ORG_CODES[group]]
            else:
                g = merged[merged["form"] == FORM_CODES[group]]
            risk = cmp_samples.get(group)
            if risk is not None:
                # The CMP's at-risk restriction drops only never-treatable controls: its treated
                # are the group's, so the twin ATT over them stays the truth beside the cell.
                assert int(risk.data["participating"].sum()) == len(g), (group, outcome)
            att = float((g["y1"] - g["y0"]).mean()) if len(g) else np.nan
            pct = float(100 * (g["y1"] - g["y0"]).mean() / g["y0"].mean()) if len(g) else np.nan
            cur = att - carried
            pct_cur = float(100 * cur / (g["y1"].mean() - cur)) if len(g) else np.nan
            # CMP's coefficient of participation is an effect on the participants too: the same
            # twin truth (in index points) as the PSM ATT of the group.
            for kind, true_v, true_c in (("psm", att, cur), ("psm_pct", pct, pct_cur), ("cmp", att, cur),
                                         ("cmp_rho", np.nan, np.nan)):
                key = f"cao.{kind}.{outcome}.{group}"
                rows.append({"key": key, "estimator": kind, "outcome": outcome, "group": group,
                             "published": pub.value(key), "simulated": table["estimate"].get(key, np.nan),
                             "se": table["se"].get(key, np.nan), "truth": true_v, "truth_current": true_c,
                             "n_treated": table["n"].get(key, np.nan) if kind.startswith("psm") else len(g),
                             "ordering": family_of.get((outcome, group), ""),
                             "published_ordering": "" if kind == "cmp_rho" else published_ordering(kind, outcome, group),
                             "note": notes.get(key, "")})
    full = pd.DataFrame(rows)
    full["cell"] = full["key"].str.replace("cao.", "", regex=False)
    # Rank of each row within its ordering family, per estimator (1 = largest effect).
    full["rank"], full["rank_truth"] = np.nan, np.nan
    ranked = full[(full["ordering"] != "") & full["estimator"].isin(["psm", "psm_pct", "cmp"])]
    for _, idx in ranked.groupby(["estimator", "ordering"]).groups.items():
        for col in ("simulated", "truth"):
            target = "rank" if col == "simulated" else "rank_truth"
            full.loc[idx, target] = full.loc[idx, col].astype(float).rank(ascending=False, method="min")
    tables = {"effects": full}

    def order(label: str, estimator: str, labels, col: str) -> str:
        vals = {}
        for outcome, group in labels:
            v = full.loc[(full["estimator"] == estimator) & (full["outcome"] == outcome) & (full["group"] == group), col]
            vals[(outcome, group)] = float(v.iloc[0]) if len(v) and pd.notna(v.iloc[0]) else np.nan
        ranked = sorted(vals, key=lambda l: -vals[l] if np.isfinite(vals[l]) else np.inf)
        unit = "%" if estimator == "psm_pct" else ""
        digits = 1 if estimator == "psm_pct" else 4
        return " > ".join(f"{l[0] if label == 'capacities' else l[1]} "
                          + (f"({vals[l]:.{digits}f}{unit})" if np.isfinite(vals[l]) else "(not estimated)")
                          for l in ranked)

    orderings = ["Orderings (PSM: net impact, % of matched controls' mean; CMP: coefficient of participation, "
                 "index points; each beside its twin truth):"]
    for label, (labs, published) in families.items():
        orderings.append(f"  {label}: published {published}")
        for estimator, name in (("psm_pct", "PSM"), ("cmp", "CMP")):
            orderings.append(f"    {name} simulated: {order(label, estimator, labs, 'simulated')}")
            orderings.append(f"    {name} truth:     {order(label, estimator, labs, 'truth')}")
    failed = full[(full["note"] != "") & (full["estimator"] != "cmp_rho")]  # cmp_rho shares cmp's note
    failures = [f"  {k}: {msg}" for k, msg in zip(failed["cell"], failed["note"])]
    text = "\n".join([
        f"Cao et al. (seed 000) on a simulated CLES-like sample: scenario {scenario}, {households} households, seed "
        f"{seed}, n = {n} farm households x {len(waves)} waves ({waves[0]}-{waves[-1]}), pooled household-years; "
        f"PSM = NN 1:1 on {', '.join(CAO_COVARIATES)}; CMP instrument = cooperative_in_village (a group never "
        f"treated at one value of a participation regressor is fitted on the households at risk, see the notes); "
        f"entropy weights "
        f"fixed on the first wave; truth = factual - direct twin over the participating household-years "
        f"(participating since the policy start vs never participating); truth_current = the estimand of the "
        f"paper's comparison of current participants with current non-participants: truth minus the effect the "
        f"non-participant household-years (former members among them) carry from past participation.",
        "",
        _render("PSM and CMP effects of participation (psm_pct = net impact in %; rank within the published "
                "ordering, 1 = largest)", _with_rank_labels(full),
                ["cell", "published", "simulated", "se", "truth", "truth_current", "rank", "rank_truth"]),
        *orderings,
        *(["", "Cells not estimated or flagged:", *failures] if failures else []),
        "", f"note: {pub.NOTES['cao']}",
        *[f"note propensity model: {s}; the other covariates are matched on" for s in dict.fromkeys(separation)]])
    files = _write(out, "cao", tables, text)
    return ReplicationResult("cao", tables, text, files, {"statistics": st, "sample": smp})


def _with_rank_labels(full: pd.DataFrame) -> pd.DataFrame:
    """Ranks shown as "1/3" (rank / size of the ordering family) for the text table."""
    show = full.copy()
    size = show.groupby(["estimator", "ordering"])["key"].transform("size")
    for col in ("rank", "rank_truth"):
        show[col] = [f"{int(r)}/{int(n)}" if pd.notna(r) else "" for r, n in zip(show[col], size)]
    return show


# ---------------------------------------------------------------------------------------------
# 76 counties


def replicate_counties(scenario: str = "mixed", overrides=None, households: int | None = None, seed: int = 0,
                       sample: int | None = None, batches: int = 10, out: Path | None = None,
                       spread_reps: int = 10) -> ReplicationResult:
    """Table 1 of the 76-county paper on one simulated sample, beside the published numbers; with
    ``spread_reps`` > 1 also the spread over that many replications (seeds ``seed ..``) of the
    exit schedule and the primary-secondary coefficients (:func:`county_exit_check`)."""
    del batches
    households = households or COUNTY_DEFAULTS["households"]
    n = sample or COUNTY_DEFAULTS["sample"]
    params = _params(scenario, overrides, households)
    need = counties_for_sample(params, n)  # the sample is drawn from the designated poor counties
    if params.population.n_counties < need:
        params.set("population.n_counties", max(COUNTY_DEFAULTS["counties"], need))
    m = RuralModel(params.copy(), seed=seed, household_agents=False).run()
    exits = m.county_exits()
    smp = county_sample(exits, n=n, seed=seed)
    st = county_statistics(smp)
    table = st.table.set_index("key")
    rows = []
    ols, cox = st.objects.get("ols"), st.objects.get("cox")
    for var in COUNTY_REGRESSORS + ["const"]:
        for kind in ("ols", "cox", "cox_hr"):
            key = f"counties.{kind}.{var}"
            if var == "const":
                if kind != "ols":
                    continue
                sim = float(ols.params["_cons"]) if ols is not None else np.nan
                sim_se = float(ols.bse["_cons"]) if ols is not None else np.nan
            else:
                sim, sim_se = table["estimate"].get(key, np.nan), table["se"].get(key, np.nan)
            rows.append({"key": key, "model": kind, "variable": var, "published": pub.value(key),
                         "published_se": pub.se(key), "simulated": sim, "simulated_se": sim_se})
    rows.append({"key": "counties.ols.r2", "model": "ols", "variable": "R2", "published": pub.value("counties.ols.r2"),
                 "published_se": None, "simulated": float(ols.rsquared) if ols is not None else np.nan,
                 "simulated_se": np.nan})
    ph = float(cox.ph_test.loc["global", "p"]) if cox is not None else np.nan
    rows.append({"key": "counties.cox.ph_test_p", "model": "cox", "variable": "PH test p", "published": 0.669,
                 "published_se": None, "simulated": ph, "simulated_se": np.nan})
    rows.append({"key": "counties.exit_share", "model": "descriptive", "variable": "exited by censoring",
                 "published": None, "published_se": None, "simulated": st.get("counties.exit_share"),
                 "simulated_se": np.nan})
    full = pd.DataFrame(rows)
    full["cell"] = full["model"] + "." + full["variable"]
    # Context for the truth: what the policy did to county exits in the same world.
    nop = RuralModel(policy_absent(params), seed=seed, household_agents=False).run().county_exits()
    both = exits.merge(nop[["county_id", "exited", "days_to_exit"]], on="county_id", suffixes=("", "_nopolicy"))
    context = {
        "exit_share_policy": float(both["exited"].mean()),
        "exit_share_nopolicy": float(both["exited_nopolicy"].mean()),
        "mean_days_policy": float(both["days_to_exit"].mean()),
        "mean_days_nopolicy": float(both["days_to_exit_nopolicy"].mean()),
    }
    tables = {"table1": full, "policy_effect": pd.DataFrame([context])}
    inconsistent = []
    for var in COUNTY_REGRESSORS:
        b, hr = pub.value(f"counties.cox.{var}"), pub.value(f"counties.cox_hr.{var}")
        if abs(np.exp(b) - hr) > 0.05 * hr:
            inconsistent.append(f"{var}: exp({b}) = {np.exp(b):.2f}, printed HR {hr}")
    paper_notes = [
        "The paper's inconsistencies (shown as published, not corrected):",
        "  printed hazard ratios that are not exp(coef): " + ("; ".join(inconsistent) or "none"),
        "  ethnic area: OLS +153.45 days (slower exit) but Cox coef 1.01 / HR 2.73 (faster exit): the signs disagree.",
    ]
    spread_text = []
    if spread_reps and spread_reps > 1:
        check = county_exit_check(scenario, reps=spread_reps, households=households,
                                  counties=params.population.n_counties, sample=n, seed=seed, assessment_redraws=0,
                                  overrides=overrides)
        tables["spread"] = check.statistics
        tables["exit_shares"] = check.shares
        spread_text = ["", f"Replication spread ({spread_reps} replications, seeds {seed}..{seed + spread_reps - 1}):",
                       *check.text.splitlines()[2:]]
    text = "\n".join([
        f"76-county paper (seed 003), Table 1, on simulated counties: scenario {scenario}, {households} households in "
        f"{params.population.n_counties} counties, seed {seed}, sample of {n} counties; days from 1 Jan "
        f"{params.calendar.policy_start_year} to exit, censored at {params.calendar.censor_date:g}.",
        "",
        _render("OLS on days to exit (robust SE) and Cox model of the exit hazard", full,
                ["cell", "published", "published_se", "simulated", "simulated_se"]),
        "Truth (no regression truth exists for these associations): in the same world, all counties",
        f"  exited by the censoring date: {context['exit_share_policy']:.2f} with the policy, "
        f"{context['exit_share_nopolicy']:.2f} without it;",
        f"  mean (censored) days to exit: {context['mean_days_policy']:.0f} with, {context['mean_days_nopolicy']:.0f} without.",
        *spread_text, "", *paper_notes, "", f"note: {pub.NOTES['counties']}"])
    files = _write(out, "counties", tables, text)
    return ReplicationResult("counties", tables, text, files, {"statistics": st, "sample": smp})


def replicate(paper: str, **kwargs) -> ReplicationResult:
    fn = {"clds": replicate_clds, "cao": replicate_cao, "counties": replicate_counties}.get(paper)
    if fn is None:
        raise ParameterError(f"unknown paper {paper!r}; choose clds, cao or counties")
    kwargs = {k: v for k, v in kwargs.items() if v is not None or k in ("out",)}
    return fn(**kwargs)
