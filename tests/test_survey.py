"""Survey samples: who is sampled, which variables a researcher sees."""
import numpy as np
import pytest

from ruralabm.analysis.errors import EstimationError
from ruralabm.analysis.survey import CLDS_COVARIATES, clds_sample, cles_sample, county_sample
from ruralabm.model import Params, RuralModel


@pytest.fixture(scope="module")
def model():
    p = Params()
    p.population.n_households = 12_000
    p.population.n_counties = 80
    return RuralModel(p, seed=7, household_agents=False).run()


def test_clds_sample_is_poor_in_pre_wave_and_two_waves(model):
    panel = model.household_panel()
    s = clds_sample(panel, n=1000, seed=1)
    assert len(s) == 2000 and s["household_id"].nunique() == 1000
    assert (s.loc[s["year"] == 2014, "poor_national"] == 1).all()
    assert set(CLDS_COVARIATES) <= set(s.columns) and "entrepreneurial_drive" not in s.columns
    # T is the post-wave status, constant within household; nobody participates before 2015.
    assert (s.groupby("household_id")["T"].nunique() == 1).all()
    assert (s.loc[s["year"] == 2014, "participating"] == 0).all()
    post = s[s["year"] == 2016]
    assert np.array_equal(post["T"].to_numpy(), post["participating"].to_numpy())
    assert 0 < s["T"].mean() < 1
    # Deterministic in the seed, different across seeds.
    assert clds_sample(panel, n=1000, seed=1).equals(s)
    assert not clds_sample(panel, n=1000, seed=2)["household_id"].equals(s["household_id"])
    assert "entrepreneurial_drive" in clds_sample(panel, n=50, seed=1, keep_truth=True).columns


def test_clds_sample_too_large_is_a_clear_error(model):
    with pytest.raises(EstimationError, match="fewer than n = 100000"):
        clds_sample(model.household_panel(), n=100_000)
    with pytest.raises(EstimationError, match=r"waves \[2030\]"):
        clds_sample(model.household_panel(), n=10, post=2030)


def test_cles_sample_three_waves(model):
    s = cles_sample(model.household_panel(), n=500, seed=3)
    assert sorted(s["year"].unique()) == [2020, 2021, 2022]
    assert (s.groupby("household_id").size() == 3).all()


def test_county_sample_censored(model):
    exits = model.county_exits()
    s = county_sample(exits, n=76, seed=0)
    assert len(s) == 76
    censor = model.params.calendar.censor_date
    max_days = (censor - model.params.calendar.policy_start_year) * 365.25
    assert (s["days_to_exit"] <= max_days + 1e-9).all()
    assert (s.loc[s["exited"] == 0, "days_to_exit"] == max_days).all()
    with pytest.raises(EstimationError, match="fewer than n = 100"):
        county_sample(exits, n=100)


def test_clds_recall_error_selects_on_reported_income(model):
    """With the survey's recall error (params.survey, design 'national' worlds): households are
    selected on reported income, the sample's ln income and poverty statuses are the reported ones,
    the error is mean-one in levels, persistent in part, and deterministic in the seed."""
    from ruralabm.analysis.studies.survey import clds_eligible, survey_options

    panel = model.household_panel()
    p = model.params.copy()
    p.survey.clds_income_error_sd = 0.8
    p.survey.clds_error_persistence = 0.3
    options = survey_options(p)
    assert options["income_error_sd"] == 0.8 and options["poverty_lines"]["poor_national"] == p.poverty.line_national
    assert survey_options(model.params) == {}  # no error: the survey sees true income
    true_poor = int(panel.loc[panel["year"] == 2014, "poor_national"].sum())
    reported_poor = clds_eligible(panel, 2014, seed=1, **options)
    assert reported_poor != true_poor
    s = clds_sample(panel, n=800, seed=1, keep_truth=True, **options)
    pre, post = s[s["year"] == 2014], s[s["year"] == 2016]
    assert (pre["poor_national"] == 1).all() and (pre["income_per_capita"] < p.poverty.line_national).all()
    assert not (pre["poor_national_true"] == 1).all()  # some are not truly poor
    assert np.allclose(s["ln_income"], np.log(np.maximum(s["income_per_capita"], 1.0)))
    ratio = np.log(s["income_per_capita"] / s["income_per_capita_true"])
    assert abs(ratio.std() - 0.8) < 0.1
    # persistence: a household's errors in the two waves are correlated (about 0.3)
    w = s.pivot_table(index="household_id", columns="year", values="income_per_capita")
    wt = s.pivot_table(index="household_id", columns="year", values="income_per_capita_true")
    e = np.log(w / wt)
    assert 0.1 < np.corrcoef(e[2014], e[2016])[0, 1] < 0.5
    # a researcher never sees the truth columns
    plain = clds_sample(panel, n=800, seed=1, **options)
    assert not [c for c in plain.columns if c.endswith("_true")]
    assert plain.equals(clds_sample(panel, n=800, seed=1, **options))
