"""Dormant ('shell') cooperatives: a failed cooperative's members stay registered members until the
clean-up year, and the CLDS-like survey can read that as participation (params
cooperative.shell_cleanup_year, survey.report_shell_membership)."""
import numpy as np
import pandas as pd
import pytest

from ruralabm.analysis.errors import EstimationError
from ruralabm.analysis.survey import clds_sample, survey_options
from ruralabm.model import Params, RuralModel
from ruralabm.model.enums import OrgType


def _params(failure: float = 0.3, cleanup: int = 2019) -> Params:
    p = Params()
    p.population.n_households = 3000
    p.population.n_counties = 6
    p.cooperative.failure_probability = failure
    p.cooperative.shell_cleanup_year = cleanup
    return p


@pytest.fixture(scope="module")
def run():
    return RuralModel(_params(), seed=4, household_agents=False).run()


def test_shell_members_are_exactly_the_members_of_failed_cooperatives_until_the_clean_up(run):
    panel = run.household_panel().set_index(["household_id", "year"]).sort_index()
    failed_year = run.world.organisations.failed_year
    shell = panel["shell_member"].unstack("year")
    part = panel["participating"].unstack("year")
    org = panel["org_id"].unstack("year")
    org_type = panel["org_type"].unstack("year").astype(int)
    assert not ((shell == 1) & (part == 1)).any().any(), "a household is a shell's member and a participant at once"
    assert (shell.loc[:, [y for y in shell.columns if y >= 2019]] == 0).all().all(), "shell members after the clean-up"
    new_shells = 0
    for year in range(2016, 2019):
        before_coop = (part[year - 1] == 1) & (org_type[year - 1] == int(OrgType.COOPERATIVE))
        closed = failed_year[np.maximum(org[year - 1].to_numpy(), 0)]
        failed = before_coop & (closed > 0) & (closed <= year) & (part[year] == 0)
        new = (shell[year] == 1) & (shell[year - 1] == 0)
        # every new shell member was a member of a cooperative that failed, and every such member
        # who did not join another organisation is one
        assert (new <= failed).all(), year
        assert (failed <= (shell[year] == 1)).all(), year
        # a shell member stays one while it joins nothing
        stays = (shell[year - 1] == 1) & (part[year] == 0)
        assert (shell.loc[stays, year] == 1).all(), year
        new_shells += int(new.sum())
    assert new_shells > 20  # the test has something to check


def test_no_failures_no_shells_and_an_earlier_clean_up_ends_them_earlier():
    none = RuralModel(_params(failure=0.0), seed=4, household_agents=False).run().household_panel()
    assert none["shell_member"].sum() == 0
    early = RuralModel(_params(cleanup=2017), seed=4, household_agents=False).run().household_panel()
    assert early.loc[early["year"] >= 2017, "shell_member"].sum() == 0
    assert early.loc[early["year"] == 2016, "shell_member"].sum() > 0


def test_shells_do_not_change_what_the_model_does(run):
    """The state is bookkeeping: the same seed with the clean-up before the policy (no shell ever)
    gives the same panel but for shell_member."""
    never = RuralModel(_params(cleanup=2000), seed=4, household_agents=False).run().household_panel()
    panel = run.household_panel()
    assert panel["shell_member"].sum() > 0 and never["shell_member"].sum() == 0
    pd.testing.assert_frame_equal(panel.drop(columns="shell_member"), never.drop(columns="shell_member"))


def test_per_agent_path_keeps_the_same_shells():
    p = _params()
    p.population.n_households = 600
    p.population.n_counties = 3
    p.calendar.end_year = 2018
    fast = RuralModel(p, seed=3, household_agents=True).run().household_panel()
    slow = RuralModel(p.copy(), seed=3, household_agents=True, per_agent=True).run().household_panel()
    assert fast["shell_member"].sum() > 0
    pd.testing.assert_frame_equal(fast, slow, rtol=1e-12, atol=1e-9)


def test_the_survey_reads_shell_membership_as_participation_only_when_asked(run):
    panel = run.household_panel()
    shells_2016 = int(panel.loc[panel["year"] == 2016, "shell_member"].sum())
    assert shells_2016 > 0
    plain = clds_sample(panel, n=400, seed=1)
    read = clds_sample(panel, n=400, seed=1, shell_members_report=True)
    assert plain["household_id"].equals(read["household_id"])  # the same households
    assert plain["participating"].equals(panel.set_index(["household_id", "year"]).loc[
        list(zip(plain["household_id"], plain["year"])), "participating"].reset_index(drop=True).astype(plain["participating"].dtype))
    post = read["year"] == 2016
    reported = (plain["participating"] | plain["shell_member"]).astype(np.int8)
    assert read["participating"].equals(reported)
    assert read.loc[post, "T"].equals(reported[post].astype(read["T"].dtype))
    assert read.loc[post, "T"].sum() >= plain.loc[post, "T"].sum()
    with pytest.raises(EstimationError, match="shell_member"):
        clds_sample(panel.drop(columns="shell_member"), n=400, seed=1, shell_members_report=True)


def test_survey_options_carry_the_switch():
    p = Params()
    assert "shell_members_report" not in survey_options(p)
    p.survey.report_shell_membership = True
    assert survey_options(p)["shell_members_report"] is True
