"""The papers' specifications run end to end on simulated surveys and report every statistic."""
import numpy as np
import pandas as pd
import pytest

from ruralabm.analysis import papers, resilience, survey
from ruralabm.model import Params, RuralModel
from ruralabm.model.processes.outcomes import RESILIENCE_INDICATORS


@pytest.fixture(scope="module")
def model():
    p = Params()
    p.population.n_households = 15_000
    p.population.n_counties = 80
    return RuralModel(p, seed=3, household_agents=False).run()


@pytest.fixture(scope="module")
def lines(model):
    pv = model.params.poverty
    return {"1.9": pv.line_1_9, "national": pv.line_national, "3.1": pv.line_3_1}


def test_clds_tables_have_every_cell(model, lines):
    sample = survey.clds_sample(model.household_panel(), n=1200, seed=2)
    st = papers.clds_statistics(sample, lines)
    keys = set(st.table["key"])
    for line in papers.LINE_NAMES:
        for spec in ("nocov", "cov"):
            assert f"clds.t2.did.{line}.{spec}" in keys
        for method in papers.PSM_METHODS:
            for region in papers.REGIONS:
                assert f"clds.t4.att.{method}.{line}.{region}" in keys
        for part in ("before", "after", "did"):
            assert f"clds.t5.{part}.{line}" in keys
    assert {"clds.t3.pseudo_r2.unmatched", "clds.t3.pseudo_r2.matched", "clds.t1.mean.age"} <= keys
    assert np.isfinite(st.table["estimate"]).all()
    # Vulnerability is a probability and is ordered by the poverty lines.
    data = st.objects["data"]
    assert data[["Vul1", "Vul2", "Vul3"]].apply(lambda c: c.between(0, 1).all()).all()
    assert data["Vul1"].mean() < data["Vul2"].mean() < data["Vul3"].mean()
    # Table 5's DID equals after minus before.
    for line in papers.LINE_NAMES:
        assert st.get(f"clds.t5.did.{line}") == pytest.approx(st.get(f"clds.t5.after.{line}") - st.get(f"clds.t5.before.{line}"))


def test_vep_on_covariates_only_gives_no_matched_effect_but_the_variant_does(model, lines):
    """With vulnerability a function of X only, PSM on X finds (almost) nothing; with
    participation among the VEP regressors the effect on vulnerability appears."""
    sample = survey.clds_sample(model.household_panel(), n=1200, seed=2)
    plain = papers.clds_statistics(sample, lines, tables=("t4",), methods=("kernel",), regions=("full",))
    variant = papers.clds_statistics(sample, lines, tables=("t4",), methods=("kernel",), regions=("full",),
                                     vep_covariates=papers.CLDS_COVARIATES + ["participating"])
    key = "clds.t4.att.kernel.national.full"
    assert abs(plain.get(key)) < 0.03
    assert variant.get(key) < -0.05


def test_cao_and_counties(model):
    cles = survey.cles_sample(model.household_panel(), n=1500, seed=1)
    index = resilience.fit_index(cles[cles["year"] == 2020], RESILIENCE_INDICATORS)
    st = papers.cao_statistics(cles, index, papers.CLDS_COVARIATES + ["land_area"], instrument="cooperative_in_village",
                               groups=("all", "cooperative", "enterprise"))
    keys = set(st.table["key"])
    for outcome in papers.CAO_OUTCOMES:
        assert f"cao.psm_pct.{outcome}.all" in keys
    assert "cao.cmp.resilience" in keys and "cao.cmp_rho.resilience" in keys
    # Only the whole sample by default (the calibration never pays for per-group CMP) ...
    assert not any(k.startswith("cao.cmp.") and k.endswith(".cooperative") for k in keys)
    assert st.get("cao.cmp.resilience.all") == st.get("cao.cmp.resilience")
    # ... and per group on request, with the group's participants against all non-participants.
    by_group = papers.cao_statistics(cles, index, papers.CLDS_COVARIATES + ["land_area"],
                                     instrument="cooperative_in_village", groups=(), outcomes=(),
                                     cmp_groups=("cooperative", "enterprise", "ecommerce"))
    fitted = {k for k in by_group.table["key"]}
    notes = by_group.objects["notes"]
    for group in ("cooperative", "enterprise", "ecommerce"):
        key = f"cao.cmp.resilience.{group}"
        assert key in fitted or key in notes, group
        if key in fitted:
            # Fitted on the group's households at risk of treatment (all of them unless the
            # group is never treated at some value of a participation regressor).
            sub = papers.cao_group_subset(by_group.objects["data"], group)
            risk = by_group.objects["cmp_samples"][group]
            assert by_group.table.set_index("key").loc[key, "n"] == len(risk.data) <= len(sub)
            assert risk.data["participating"].sum() == sub["participating"].sum()
    assert not any(k.startswith("cao.psm") for k in fitted)
    # A group too small to fit is a note, not an exception.
    tiny = cles[(cles["participating"] == 0) | (cles.index == cles.index[cles["participating"] == 1][0])]
    few = papers.cao_statistics(tiny, index, papers.CLDS_COVARIATES + ["land_area"], instrument="cooperative_in_village",
                                groups=("all",), cmp_groups=("all",))
    assert "too few participants" in few.objects["notes"]["cao.cmp.resilience.all"]
    assert "cao.cmp.resilience.all" not in set(few.table["key"])
    counties = papers.county_statistics(survey.county_sample(model.county_exits(), n=76))
    assert "counties.ols.primary_secondary" in set(counties.table["key"])
    assert 0 <= counties.get("counties.exit_share") <= 1


class _IdentityIndex:
    """Stands in for a fitted EntropyIndex: the synthetic data carry their own outcome."""

    def transform(self, data):
        return data[["resilience"]]


def test_cmp_restricts_a_group_never_treated_where_the_instrument_is_zero():
    rng = np.random.default_rng(7)
    n = 3000
    x = rng.normal(size=n)
    z = (rng.random(n) < 0.5).astype(int)
    u = rng.normal(size=n)
    e = 0.4 * u + np.sqrt(1 - 0.4 ** 2) * rng.normal(size=n)
    coop = (z == 1) & (0.5 * x + u > 0.3)          # cooperatives only where z == 1
    ent = ~coop & (0.3 * x + rng.normal(size=n) > 1.0)  # enterprises anywhere
    org = np.where(coop, 1, np.where(ent, 2, 0))
    d = (org > 0).astype(int)
    data = pd.DataFrame({"x": x, "z": z, "participating": d, "org_type": org, "form": 0,
                         "resilience": 1.0 + 0.5 * d + x + e})
    coop_rows = papers.cao_group_subset(data, "cooperative")
    assert coop_rows.loc[coop_rows["z"] == 0, "participating"].eq(0).all()

    risk = papers.cmp_at_risk_sample(coop_rows, "participating", ["x"], "z")
    assert risk.restrictions == [("z", 1.0)] and (risk.data["z"] == 1).all()
    assert len(risk.data) == (coop_rows["z"] == 1).sum() < len(coop_rows)
    assert risk.participation == ["x"] and risk.covariates == ["x"] and risk.instrument_dropped
    assert risk.data.index[risk.data["participating"] == 1].equals(coop_rows.index[coop_rows["participating"] == 1])
    assert "z == 1" in risk.note and f"N = {len(risk.data)}" in risk.note and "functional form only" in risk.note
    # Nothing to restrict where the group is treated at both values of the instrument.
    assert papers.cmp_at_risk_sample(papers.cao_group_subset(data, "enterprise"), "participating", ["x"], "z").note == ""

    st = papers.cao_statistics(data, _IdentityIndex(), ["x"], instrument="z", groups=(), outcomes=(),
                               cmp_groups=("cooperative", "enterprise"))
    table, notes = st.table.set_index("key"), st.objects["notes"]
    for kind in ("cmp", "cmp_rho"):
        assert np.isfinite(table.loc[f"cao.{kind}.resilience.cooperative", ["estimate", "se"]].astype(float)).all()
        assert "functional form only" in notes[f"cao.{kind}.resilience.cooperative"]
    assert table.loc["cao.cmp.resilience.cooperative", "n"] == len(risk.data)
    assert st.objects["cmp.resilience.cooperative"].params.index.str.startswith("participating:z").sum() == 0
    assert "cao.cmp.resilience.enterprise" not in notes
    assert table.loc["cao.cmp.resilience.enterprise", "n"] == len(papers.cao_group_subset(data, "enterprise"))
    assert table.loc["cao.cmp.resilience.cooperative", "estimate"] == pytest.approx(0.5, abs=0.3)
