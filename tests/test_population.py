"""The synthetic population reproduces CLDS Table 1 and plausible dependence."""
import numpy as np
import pytest

from ruralabm.model import Params
from ruralabm.model.population import TABLE1, build_households, build_places


@pytest.fixture(scope="module")
def large():
    p = Params()
    p.population.n_households = 200_000
    p.population.n_counties = 50
    villages, counties = build_places(p, seed=2)
    return build_households(p, 2, villages, counties), villages


@pytest.mark.parametrize("name", list(TABLE1))
def test_table1_moments_within_5_percent(large, name):
    hh, _ = large
    x = getattr(hh, name).astype(float)
    mean, sd = TABLE1[name]
    assert abs(x.mean() / mean - 1) < 0.05, (name, x.mean(), mean)
    assert abs(x.std() / sd - 1) < 0.05, (name, x.std(), sd)


def test_codings(large):
    hh, _ = large
    assert set(np.unique(hh.edu)) <= {0, 3, 6, 9, 12, 13, 16}
    assert set(np.unique(hh.health)) <= {1, 2, 3, 4, 5}
    for name in ("job", "subsidy", "lamp", "ability"):
        assert set(np.unique(getattr(hh, name))) <= {0, 1}
    assert (hh.twork <= hh.famsize).all() and (hh.famsize >= 1).all() and (hh.machine >= 0).all()


def test_plausible_correlations(large):
    hh, _ = large
    corr = lambda a, b: np.corrcoef(getattr(hh, a).astype(float), getattr(hh, b).astype(float))[0, 1]
    assert corr("age", "health") < -0.2
    assert corr("edu", "twork") > 0.1
    assert corr("age", "edu") < -0.2
    assert corr("famsize", "twork") > 0.2
    assert corr("distance", "hroad") < -0.1


def test_village_variables_shared_within_village(large):
    hh, villages = large
    for name in ("distance", "hroad", "lamp"):
        values = getattr(hh, name)
        assert np.array_equal(values, getattr(villages, name)[hh.village_id])
    assert np.array_equal(hh.county_id, villages.county_id[hh.village_id])
