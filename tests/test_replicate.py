"""The papers' tables re-run end to end on simulated data, beside the published numbers."""
import numpy as np
import pandas as pd
import pytest

from analysis import published, replicate


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
    # The truth is the effect on next year's poverty: negative; the VEP on X alone barely
    # moves with participation, the variant does.
    full = t4[t4["key"] == "clds.t4.att.kernel.national.full"].iloc[0]
    assert full["truth"] < 0 and full["truth_vep_variant"] < 0
    assert abs(full["simulated"]) < abs(full["variant"])
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
    for key in ("cao.psm_pct.resilience.all", "cao.psm.learning.cooperative", "cao.cmp.resilience"):
        assert np.isfinite(eff.loc[key, ["simulated", "truth"]].to_numpy(dtype=float)).all(), key
    assert "cooperative > enterprise" in cao.text
    counties = replicate.replicate_counties(households=8000, seed=3, out=tmp_path)
    t = counties.tables["table1"].set_index("key")
    assert t.loc["counties.ols.primary_secondary", "published"] == -152.85
    assert np.isfinite(t.loc["counties.ols.primary_secondary", "simulated"])
    assert (tmp_path / "counties_table1.csv").exists() and (tmp_path / "cao_effects.csv").exists()


def test_cli_replicate(tmp_path, capsys):
    import run

    code = run.main(["replicate", "counties", "--households", "8000", "--out", str(tmp_path)])
    assert code == 0
    assert "primary_secondary" in capsys.readouterr().out
    assert run.main(["replicate", "clds", "--households", "2000", "--set", "shocks.nonsense=1",
                     "--out", str(tmp_path)]) == 2
