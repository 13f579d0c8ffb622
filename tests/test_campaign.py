"""The county exit campaign: assessment survey, deadline, censoring, and the off switch."""
import numpy as np
import pytest

from ruralabm import RuralModel, load_scenario

SMALL = ["population.n_households=6000", "population.n_counties=30"]


@pytest.fixture(scope="module")
def campaign_model():
    sc = load_scenario("calibrated", SMALL)
    assert sc.params.campaign.exit_rule == "campaign" and sc.params.county.structure_channels
    return RuralModel(sc.params, seed=11, household_agents=False).run()


def test_deadline_binds_and_exits_follow_assessment(campaign_model):
    cp = campaign_model.county_panel()
    last = cp[cp.year == cp.year.max()]
    p = campaign_model.params
    # Only the designated poor counties are on the list; the others never apply nor exit.
    assert (last.poor_county == 0).any() and (last.loc[last.poor_county == 0, "exit_year"] == 0).all()
    assert (cp.loc[cp.poor_county == 0, "applied"] == 0).all()
    last = last[last.poor_county == 1]
    # Every poor county is out by the deadline (the floor and monitoring lever), none before the first batch.
    assert (last.exit_year > 0).all()
    assert last.exit_year.between(p.campaign.plan_first_year, p.campaign.deadline_year).all()
    # An exit happens only in a year the county applied and its assessed incidence was under the threshold.
    thr = np.asarray(p.county.exit_threshold)
    for _, row in last.iterrows():
        yr = cp[(cp.county_id == row.county_id) & (cp.year == row.exit_year)].iloc[0]
        assert yr.applied == 1
        assert yr.assessed_incidence < thr[list(("east", "central", "west")).index(str(yr.region))]
        assert row.exit_year >= row.plan_year
    # Announcements: batches before the deadline in the following year, the deadline batch within it.
    early = last[last.exit_year < p.campaign.deadline_year]
    assert ((early.exit_date > early.exit_year + 1) & (early.exit_date < early.exit_year + 2)).all()
    late = last[last.exit_year == p.campaign.deadline_year]
    assert np.allclose(late.exit_date, p.campaign.deadline_year + p.campaign.deadline_announce)


def test_censoring_at_the_survey_date(campaign_model):
    ex = campaign_model.county_exits()
    censor = campaign_model.censor_date
    assert ((ex.exited == 1) == (ex.exit_date <= censor)).all()
    assert np.allclose(ex.loc[ex.exited == 0, "days_to_exit"], (censor - 2015) * 365.25)
    # The 2019 batch is announced in 2020, after the January-2020 censoring: censored like the paper's.
    cp = campaign_model.county_panel()
    last = cp[cp.year == cp.year.max()].set_index("county_id")
    assert (ex.set_index("county_id").loc[last.exit_year >= 2019, "exited"] == 0).all()


def test_assessment_sampling_error():
    sc = load_scenario("calibrated", SMALL)
    m = RuralModel(sc.params, seed=2, household_agents=False)
    m.run()
    w = m.world
    cp = m.county_panel()
    rows = cp[cp.applied == 1]
    assert len(rows) > 0
    diff = rows.assessed_incidence - rows.poverty_incidence
    n_eff = sc.params.campaign.assessment_persons / sc.params.campaign.design_effect
    se = np.sqrt(rows.poverty_incidence * (1 - rows.poverty_incidence) / n_eff)
    inside = rows.poverty_incidence > 0.002
    # Standardised errors look standard normal (mean ~0, sd ~1) where the clip at 0 does not bite.
    zs = (diff / se)[inside]
    assert abs(zs.mean()) < 0.5 and 0.6 < zs.std() < 1.4
    # A huge assessment sample measures the incidence exactly; re-drawing the survey moves only it.
    big = sc.params.copy()
    big.set("campaign.assessment_persons", 1_000_000)
    big.set("campaign.design_effect", 1.0)
    cp2 = RuralModel(big, seed=2, household_agents=False).run().county_panel()
    r2 = cp2[cp2.applied == 1]
    assert np.allclose(r2.assessed_incidence, r2.poverty_incidence, atol=0.002)
    assert w.counties.n == 30


def test_weighted_incidence_is_headcount_at_zero_sd():
    sc = load_scenario("calibrated", SMALL + ["campaign.incidence_income_sd=0", "campaign.floor_share=0"])
    m = RuralModel(sc.params, seed=4, household_agents=False).run()
    cp = m.county_panel()
    assert np.allclose(cp.poverty_incidence, cp.poverty_headcount)


def test_off_switch_keeps_threshold_rule():
    sc = load_scenario("calibrated", SMALL + ["campaign.exit_rule=threshold", "county.structure_channels=false"])
    m = RuralModel(sc.params, seed=5, household_agents=False).run()
    cp = m.county_panel()
    assert (cp.plan_year == 0).all() and (cp.exit_year == 0).all() and (cp.applied == 0).all()
    assert (cp.farm_factor == 1).all()


def test_plan_follows_incidence_ranking():
    sc = load_scenario("calibrated", SMALL)
    m = RuralModel(sc.params, seed=6, household_agents=False).run()
    cp = m.county_panel()
    base = cp[cp.year == 2015]
    assert (base.loc[base.poor_county == 0, "plan_year"] == 0).all()  # only poor counties are planned
    base = base[base.poor_county == 1]
    shares = np.asarray(sc.params.campaign.plan_shares)
    counts = base.plan_year.value_counts().sort_index()
    assert counts.index.min() >= 2016 and counts.index.max() <= 2020
    rel = base.poverty_incidence / np.asarray(sc.params.county.exit_threshold)[base.region.cat.codes]
    # Earlier batches are the less poor counties.
    assert np.corrcoef(rel, base.plan_year)[0, 1] > 0.5
    assert abs(counts.get(2019, 0) / len(base) - shares[3]) < 0.1
