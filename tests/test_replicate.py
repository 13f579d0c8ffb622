"""The papers' tables re-run end to end on simulated data, beside the published numbers."""
import numpy as np
import pandas as pd
import pytest

from ruralabm import RuralModel, load_scenario
from ruralabm.analysis import published, replicate
from ruralabm.analysis.specs import CAO_COVARIATES, CLDS_COVARIATES


def test_published_numbers_are_keyed_like_the_paper_statistics():
    assert published.value("clds.t4.att.nn1.1.9.full") == -0.1194
    assert published.se("clds.t4.att.nn1.1.9.full") == 0.0346
    assert published.value("clds.t5.did.national") == -0.138
    assert published.value("cao.psm_pct.resilience.all") == 17.1
    assert published.value("counties.cox_hr.upgrading_index") == 1.02
    assert "inconsistent" in published.note("counties.cox_hr.upgrading_index").lower()
    assert "10%" in published.note("clds.t2.did.1.9.cov")
    # The paper's own arithmetic: DID = after - before, mean of the four methods.
    for line in ("1.9", "national", "3.1"):
        d = published.value(f"clds.t5.after.{line}") - published.value(f"clds.t5.before.{line}")
        assert d == pytest.approx(published.value(f"clds.t5.did.{line}"), abs=1e-9)
        four = [published.value(f"clds.t4.att.{m}.{line}.full") for m in ("nn1", "nn4", "radius", "kernel")]
        assert np.mean(four) == pytest.approx(published.value(f"clds.t4.att.mean.{line}.full"), abs=6e-5)
    assert all(isinstance(v, tuple) and len(v) == 2 for v in published.PUBLISHED.values())


@pytest.fixture(scope="module")
def clds(tmp_path_factory):
    out = tmp_path_factory.mktemp("clds")
    return replicate.replicate_clds(households=12_000, sample=1500, batches=2, seed=1, out=out), out


def test_clds_tables_end_to_end(clds):
    res, out = clds
    assert set(res.tables) == {"descriptive", "t1", "t2", "t3", "t4", "t5"}
    t4 = res.tables["t4"]
    # Every published Table 4 cell has a simulated number and a truth beside it.
    for key in [k for k in published.PUBLISHED if k.startswith("clds.t4.")]:
        row = t4[t4["key"] == key]
        assert len(row) == 1, key
        assert np.isfinite(row[["simulated", "variant", "truth"]].to_numpy(dtype=float)).all(), key
    # The truth is the effect on next year's poverty: negative. (Whether the VEP on X alone barely
    # moves with participation while the variant does is tested with power in
    # tests/test_validation.py::test_vulnerability_truth_and_the_vep_variant: on this survey of 1,500
    # households the estimates' sampling SD, about 0.03, is as large as the effects themselves.)
    full = t4[t4["key"] == "clds.t4.att.kernel.national.full"].iloc[0]
    assert full["truth"] < 0
    assert np.isfinite(full["truth_vep_variant"]) and np.isfinite(full["truth_vep_paper"])
    t5 = res.tables["t5"].set_index("key")
    assert t5.loc["clds.t5.before.national", "truth"] == 0
    assert "published" in res.text and "Table 4" in res.text
    assert (out / "clds_t4.csv").exists() and (out / "clds.md").exists()
    back = pd.read_csv(out / "clds_t4.csv")
    assert len(back) == len(t4)


def test_cao_and_counties_end_to_end(tmp_path):
    cao = replicate.replicate_cao(households=5000, sample=1200, batches=2, seed=2, out=tmp_path)
    eff = cao.tables["effects"].set_index("key")
    assert eff.loc["cao.psm_pct.resilience.all", "published"] == 17.1
    for key in ("cao.psm_pct.resilience.all", "cao.psm.learning.cooperative", "cao.cmp.resilience.all"):
        assert np.isfinite(eff.loc[key, ["simulated", "truth"]].to_numpy(dtype=float)).all(), key
    assert "cooperative > enterprise" in cao.text
    # CMP by organisation type and integration form, each beside its twin truth (the PSM ATT's
    # truth of the same group) and the published ordering it speaks to; a failed fit is a note.
    for col in ("simulated", "se", "truth", "published", "published_ordering", "ordering", "rank", "rank_truth",
                "note"):
        assert col in eff.columns, col
    fams = {"cooperative": "organisation", "enterprise": "organisation", "vertical_chain": "form",
            "technology_diffusion": "form", "agritourism": "form", "ecommerce": "form"}
    for group, fam in fams.items():
        for outcome in ("resilience", "buffering", "self_organisation", "learning"):
            for kind in ("cmp", "cmp_rho"):
                assert f"cao.{kind}.{outcome}.{group}" in eff.index, (kind, outcome, group)
        row = eff.loc[f"cao.cmp.resilience.{group}"]
        assert row["estimator"] == "cmp" and row["group"] == group and row["ordering"] == fam
        assert row["truth"] == pytest.approx(eff.loc[f"cao.psm.resilience.{group}", "truth"])
        assert row["published_ordering"] == eff.loc[f"cao.psm_pct.resilience.{group}", "published_ordering"] != ""
        if np.isfinite(row["simulated"]):
            assert np.isfinite(row["rank"]) and np.isfinite(row["se"])
        else:
            assert row["note"], group  # not estimated: the reason is recorded
    assert np.isfinite(eff.loc["cao.cmp.resilience.enterprise", "simulated"])
    assert np.isfinite(eff.loc[[f"cao.cmp.resilience.{g}" for g in fams if fams[g] == "form"], "simulated"]).all()
    assert eff.loc["cao.cmp.resilience.cooperative", "published_ordering"] == "cooperative > enterprise"
    # Cooperative members only exist where a village has a cooperative, so the instrument
    # (cooperative_in_village) predicts non-participation perfectly there: the group's CMP is
    # fitted on the villages with a cooperative, identified by the functional form only (a note),
    # beside the same truth (the treated are unchanged).
    samples = cao.extra["statistics"].objects["cmp_samples"]
    assert samples["cooperative"].restrictions == [("cooperative_in_village", 1.0)]
    assert samples["cooperative"].instrument_dropped
    for outcome in ("resilience", "buffering", "self_organisation", "learning"):
        for kind in ("cmp", "cmp_rho"):
            coop = eff.loc[f"cao.{kind}.{outcome}.cooperative"]
            assert np.isfinite(coop[["simulated", "se"]].to_numpy(dtype=float)).all(), (kind, outcome)
            assert "cooperative_in_village == 1" in coop["note"], (kind, outcome)
            assert "identified by the bivariate-normal functional form only" in coop["note"], (kind, outcome)
        assert eff.loc[f"cao.cmp.{outcome}.cooperative", "truth"] == pytest.approx(
            eff.loc[f"cao.psm.{outcome}.cooperative", "truth"])
    assert "cmp.resilience.cooperative: sample restricted to household-years with cooperative_in_village == 1" in cao.text
    assert "CMP simulated:" in cao.text and "cmp.resilience.enterprise" in cao.text
    # Both truths, labelled: since-start vs never (truth) and current vs current (truth_current);
    # former members among the controls carry part of the effect, so the current one is smaller.
    row = eff.loc["cao.psm.resilience.all"]
    assert np.isfinite(row["truth_current"]) and row["truth_current"] < row["truth"]
    assert "truth_current" in cao.text
    counties = replicate.replicate_counties(households=8000, seed=3, out=tmp_path)
    t = counties.tables["table1"].set_index("key")
    assert t.loc["counties.ols.primary_secondary", "published"] == -152.85
    assert np.isfinite(t.loc["counties.ols.primary_secondary", "simulated"])
    assert (tmp_path / "counties_table1.csv").exists() and (tmp_path / "cao_effects.csv").exists()


def test_cli_replicate(tmp_path, capsys):
    from ruralabm import cli as run

    code = run.main(["replicate", "counties", "--households", "8000", "--out", str(tmp_path)])
    assert code == 0
    assert "primary_secondary" in capsys.readouterr().out
    assert run.main(["replicate", "clds", "--households", "2000", "--set", "shocks.nonsense=1",
                     "--out", str(tmp_path)]) == 2


def test_cao_psm_does_not_match_on_what_sets_a_learning_indicator():
    """Organisations train their members, and the training that sets `ability` sets the learning
    capacity's indicator `learn_trained_ever`: Cao's PSM must not match on it (docs/validation.md,
    "Cao's covariates"). The CLDS replication keeps the paper's twelve covariates."""
    sc = load_scenario("calibrated", ["population.n_households=3000", "population.n_counties=20",
                                      "calendar.end_year=2020"])
    panel = RuralModel(sc.params, seed=4, household_agents=False).run().household_panel()
    trained = panel["learn_trained_ever"].astype(bool)
    assert trained.mean() > 0.05
    assert (panel.loc[trained, "ability"] == 1).all()  # ability is at least "ever trained"
    assert "ability" not in CAO_COVARIATES and "ability" in CLDS_COVARIATES
    assert set(CAO_COVARIATES) == set(CLDS_COVARIATES) - {"ability"} | {"land_area"}
