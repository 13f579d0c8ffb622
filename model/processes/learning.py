"""Learning: training (organisations and the county budget), technology adoption with
diffusion through village networks, skills from the integration form, information access."""
from __future__ import annotations

import numpy as np

from ..enums import form_trait, org_type_trait
from ..world import World
from .arrays import at_least, form_code, form_value, select


def learn(world: World, idx) -> None:
    p, hh, d = world.params, world.households, world.draws
    lp = p.learning
    participating = hh.participating[idx] == 1
    org_type = hh.org_type[idx]
    form = at_least(hh.form[idx], 0)
    by_type = np.where(org_type_trait("collective_marketing"), p.cooperative.training_probability,
                       np.where(org_type_trait("contract_farming"), p.enterprise.training_probability, 0.0))
    p_org = by_type.take(org_type)  # the probability of each organisation type, gathered
    multiplier = np.asarray(p.forms.training_multiplier)
    if np.any(multiplier != 1.0):  # how much the form trains (standards, techniques)
        p_org = np.minimum(1.0, p_org * multiplier.take(form))
    trained_org = participating & (d.org_training_u[idx] < p_org)
    per_county = world.counties.training_slots / np.maximum(world.county_households, 1)
    p_county = per_county.take(hh.county_id[idx])
    trained = trained_org | (d.county_training_u[idx] < p_county)
    hh.trained[idx] = trained
    hh.trained_ever[idx] = hh.trained_ever[idx] | trained
    hh.ability[idx] = hh.ability[idx] | trained
    skills = hh.skills[idx]
    skills = select(trained, skills + lp.training_skill_gain * (1.0 - skills), skills * (1.0 - lp.skill_depreciation))
    member_form = form_code(participating, form)
    skills = skills + form_value(p.forms.skill_gain, member_form) * (1.0 - skills)
    hh.skills[idx] = np.clip(skills, 0.0, 1.0)

    # Technology diffusion: own skills, neighbours' adoption (spillover) and the organisation's push.
    share = world.villages.adoption_share.take(hh.village_id[idx])
    pushed = participating & (org_type_trait("technology_push").take(org_type) | form_trait("technology_push").take(form))
    push = select(pushed, lp.technology_push, 0.0)
    p_adopt = np.clip(lp.base_adoption + lp.peer_effect * share + lp.skill_effect * hh.skills[idx] + push, 0.0, 1.0)
    adopted = hh.tech_adopted[idx] == 1
    adopt = ~adopted & (d.adoption_u[idx] < p_adopt)
    abandon = adopted & ~pushed & (d.disadoption_u[idx] < lp.disadoption_probability)
    hh.tech_adopted[idx] = select(adopt, 1, select(abandon, 0, hh.tech_adopted[idx]))
    # the form's information gain (forms with the trait) and every member's, by form code
    form_gain = np.where(form_trait("information"), lp.form_information_gain, 0.0)
    member_gain = np.full(form_gain.size, lp.member_information_gain)
    info = hh.info_access[idx] + form_value(form_gain, member_form) + form_value(member_gain, member_form)
    hh.info_access[idx] = np.clip(info, 0.0, 1.0)


def village_adoption(world: World) -> None:
    """Village adoption shares that next year's diffusion sees."""
    hh, v = world.households, world.villages
    adopters = np.bincount(hh.village_id, weights=hh.tech_adopted, minlength=v.n)
    v.adoption_share[:] = adopters / np.maximum(v.households, 1)
