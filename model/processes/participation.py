"""Households decide participation; members may leave; overrides force households in or out.

Non-members with an organisation within reach apply when a probit index is positive:
  index = Phi^-1(base_rate) + targeting and preference terms in the CLDS covariates (centred at
          their Table 1 means) + expected_gain_effect * log(1 + expected gain / income)
          (income: drive-free expected income, or last year's with ``gain_income = "last"``)
          + selection_on_unobservables * entrepreneurial_drive + eps,  eps ~ N(0, 1).
The organisation then accepts applicants up to capacity (``organisations.accept_applicants``).
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from ..enums import Form, OrgType, org_type_trait
from ..world import World
from .arrays import at_least, select
from .labour import available_adults, local_pay
from .linkage import county_product_cell
from .production import expected_income, form_business_income, normal_revenue

# Centring points: Table 1 means of the CLDS paper. base_rate is the probability of a household
# at these means that is not registered poor and expects no gain (those two terms stay uncentred
# because their population means move with the policy and the calibration).
CENTRE = {"distance": 19.08, "subsidy": 0.5413, "machine": 0.4289, "job": 0.8656, "age": 51.88, "health": 3.631, "edu": 4.659, "hroad": 63.80,
          "famsize": 4.674}


def expected_gain(world: World, idx, org_type: OrgType, form: np.ndarray, revenue: np.ndarray | None = None,
                  pay: np.ndarray | None = None) -> np.ndarray:
    """Expected yearly income gain (yuan) of joining an organisation of the given type and form,
    net of the membership cost. ``revenue`` (``normal_revenue``) and ``pay`` (``local_pay`` without
    noise) when the caller has them."""
    p, hh = world.params, world.households
    if revenue is None:
        revenue = normal_revenue(world, idx)
    price_gain = np.asarray(p.forms.price_gain).take(form)
    yield_gain = np.asarray(p.forms.yield_gain).take(form)
    business = np.asarray(p.forms.business_income).take(form)
    if org_type_trait("collective_marketing")[org_type]:
        c = p.cooperative
        gain = revenue * (c.marketing_premium + price_gain + yield_gain
                          + c.input_discount * p.economy.input_cost_share
                          + c.margin * c.surplus_returned_share)
    else:
        e = p.enterprise
        gain = revenue * (e.contract_premium + price_gain + yield_gain + e.technology_yield_gain)
    if p.linkage.enabled:
        # Interest linkage: a job for a resident adult without one, the market access the form
        # recovers, and (cooperatives) dividends on shares.
        lk = p.linkage
        d = hh.distance[idx].astype(np.float64)
        gain = gain + revenue * lk.remoteness_price_penalty * d / (d + 20.0) * np.asarray(lk.market_access_recovery).take(form)
        jobs = np.minimum(np.asarray(lk.jobs_per_member).take(form), 1.0) * (available_adults(hh, idx) > 0)
        gain = gain + jobs * lk.job_wage_factor * (local_pay(world, idx) if pay is None else pay)
        if org_type_trait("collective_marketing")[org_type]:
            gain = gain + revenue * p.cooperative.margin * lk.share_dividend_share
    return gain + form_business_income(p, business, hh.skills[idx]) - p.participation.membership_cost


def decide(world: World, idx) -> None:
    hh, o, pp, d = world.households, world.organisations, world.params.participation, world.draws
    n_sel = np.arange(hh.n)[idx]
    scratch = world.scratch
    scratch.applied_org[idx] = -1
    forced_out = hh.forced[idx] == -1
    forced_in = hh.forced[idx] == 1

    # Members leave if their organisation is gone, if forced out, or by choice (low trust).
    member = hh.participating[idx] == 1
    org = hh.org_id[idx]
    org_alive = (org >= 0) & (o.active.take(at_least(org, 0)) == 1)
    chooses_exit = np.zeros(member.shape, dtype=bool)  # drawn for members only (the rest cannot leave)
    members = np.flatnonzero(member)
    p_exit = ndtr(ndtri(pp.exit_probability) + pp.trust_exit_effect * (0.5 - hh.trust[idx].take(members)))
    chooses_exit[members] = d.exit_u[idx].take(members) < p_exit
    leaves = member & (~org_alive | forced_out | (chooses_exit & ~forced_in))
    # A failed cooperative stays on the register as a 'shell' until the clean-up: its members are
    # still registered members (what a survey may read as membership), though nothing operates.
    if world.year >= world.params.cooperative.shell_cleanup_year:
        hh.shell_member[idx] = 0
    else:
        failed = (org >= 0) & (o.failed_year.take(at_least(org, 0)) > 0)
        shell = leaves & ~org_alive & failed & (hh.org_type[idx] == OrgType.COOPERATIVE)
        hh.shell_member[n_sel.compress(shell)] = 1
    _drop(hh, n_sel.compress(leaves))
    if not world.policy_active:
        return

    # Options within reach: the village cooperative and the county enterprise for the product.
    coop = world.villages.cooperative_id.take(hh.village_id[idx])
    coop_ok = (coop >= 0) & (o.active.take(at_least(coop, 0)) == 1)
    hh.cooperative_in_village[idx] = coop_ok
    ent = world.enterprise_for.ravel().take(county_product_cell(world, idx))
    ent_ok = (ent >= 0) & (hh.distance[idx] <= world.params.enterprise.reach_km)
    # Only non-members with an option can apply: the gains and the application score are computed
    # for them alone (members do not re-decide; the score is read only for applicants).
    still_member = hh.participating[idx] == 1
    cand = np.flatnonzero(~still_member & (coop_ok | ent_ok) & ~forced_out)
    rows = n_sel.take(cand)
    coop_c, ent_c, ent_ok_c = coop.take(cand), ent.take(cand), ent_ok.take(cand)
    # The income the gain is scaled by: drive-free expected income (default), or last year's
    # realised income, which carries the drive component of returns (params: gain_income).
    # (revenue and local pay enter the income and both gains: computed once)
    revenue = normal_revenue(world, rows)
    params = world.params
    pay = local_pay(world, rows) if params.labour.enabled or params.linkage.enabled else None
    base_income = (world.income_last.take(rows) if pp.gain_income == "last"
                   else expected_income(world, rows, revenue=revenue, pay=pay))
    income = np.maximum(base_income, pp.income_floor)
    # Net gains can be negative (costs above benefits); the log keeps the scale relative to income.
    gain_coop = np.log(np.maximum(1.0 + expected_gain(world, rows, OrgType.COOPERATIVE, o.form.take(at_least(coop_c, 0)),
                                                      revenue, pay) / income, pp.gain_ratio_floor))
    gain_ent = np.log(np.maximum(1.0 + expected_gain(world, rows, OrgType.ENTERPRISE, o.form.take(at_least(ent_c, 0)),
                                                     revenue, pay) / income, pp.gain_ratio_floor))
    prefer_coop = coop_ok.take(cand) & (~ent_ok_c | (gain_coop - gain_ent + pp.org_choice_noise * d.org_choice_z.take(rows) > 0))
    chosen = select(prefer_coop, coop_c, select(ent_ok_c, ent_c, -1))
    gain = select(prefer_coop, gain_coop, gain_ent)

    score = (ndtri(pp.base_rate)
             + pp.subsidy_effect * (hh.subsidy.take(rows) - CENTRE["subsidy"])
             + pp.machine_effect * (hh.machine.take(rows) - CENTRE["machine"])
             + pp.job_effect * (hh.job.take(rows) - CENTRE["job"])
             + pp.age_effect * (hh.age.take(rows) - CENTRE["age"])
             + pp.health_effect * (hh.health.take(rows) - CENTRE["health"])
             + pp.edu_effect * (hh.edu.take(rows) - CENTRE["edu"])
             + pp.infrastructure_effect * (hh.hroad.take(rows) - CENTRE["hroad"])
             + pp.distance_effect * (hh.distance.take(rows) - CENTRE["distance"])
             + (pp.famsize_effect * (hh.famsize.take(rows) - CENTRE["famsize"]) if pp.famsize_effect else 0.0)
             + pp.registered_poor_effect * hh.registered_poor.take(rows)
             + pp.expected_gain_effect * gain
             + pp.selection_on_unobservables * hh.entrepreneurial_drive.take(rows)
             + d.participation_eps.take(rows))
    applies = (score > 0) | forced_in.take(cand)
    scratch.applied_org[rows] = select(applies, chosen, -1)
    scratch.application_score[rows] = score


def _drop(hh, rows) -> None:
    hh.participating[rows] = 0
    hh.org_id[rows] = -1
    hh.org_type[rows] = OrgType.NONE
    hh.form[rows] = Form.NONE
