"""Counterfactual twins: the estimands are exact differences between runs sharing all draws."""
import numpy as np
import pytest

from ruralabm.model.truth import counterfactual_twins


@pytest.fixture(scope="module")
def truth(small_params):
    p = small_params.copy()
    p.population.n_households = 3000
    p.calendar.end_year = 2018
    return counterfactual_twins(p, seed=4, batches=5)


def test_no_effect_before_the_policy(truth):
    est = truth.estimands()
    pre = est[est["year"] < 2015]
    for col in ("att", "att_all_out", "total_effect", "spillover_nonparticipants"):
        assert np.allclose(pre[col], 0.0), col


def test_participation_raises_income_of_the_treated(truth):
    est = truth.estimands().set_index(["outcome", "year"])
    assert est.loc[("income_per_capita", 2017), "att"] > 0
    assert est.loc[("poor_3_1", 2017), "att"] < 0


def test_never_treated_twins_are_factual(truth):
    pot = truth.potential
    never = pot[pot["treated"] == 0]
    # A never-treated household's direct twin is the factual run itself.
    assert np.array_equal(never["y1"].to_numpy(), never["y0"].to_numpy())


def test_one_batch_equals_all_treated_out(small_params):
    p = small_params.copy()
    p.population.n_households = 1500
    p.calendar.end_year = 2016
    r = counterfactual_twins(p, seed=2, batches=1, outcomes=["income_per_capita"])
    np.testing.assert_array_equal(r.potential["y0"].to_numpy(), r.potential["y0_all"].to_numpy())


def test_estimands_by_group(truth):
    by_type = truth.estimands(by=["org_type"])
    assert set(by_type["org_type"].astype(str)) >= {"cooperative", "none"}
    by_region = truth.estimands(by=["region"])
    assert len(by_region) > 0
