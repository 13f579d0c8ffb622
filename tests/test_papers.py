"""The papers' specifications run end to end on simulated surveys and report every statistic."""
import numpy as np
import pytest

from analysis import papers, resilience, survey
from model import Params, RuralModel
from model.processes.outcomes import RESILIENCE_INDICATORS


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
    counties = papers.county_statistics(survey.county_sample(model.county_exits(), n=76))
    assert "counties.ols.primary_secondary" in set(counties.table["key"])
    assert 0 <= counties.get("counties.exit_share") <= 1
