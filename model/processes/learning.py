"""Learning: training (organisations and the county budget), technology adoption with
diffusion through village networks, skills from the integration form, information access."""
from __future__ import annotations

import numpy as np

from ..enums import form_trait, org_type_trait
from ..world import World


def learn(world: World, idx) -> None:
    p, hh, d = world.params, world.households, world.draws
    lp = p.learning
    participating = hh.participating[idx] == 1
    org_type = hh.org_type[idx]
    form = np.maximum(hh.form[idx], 0)
    p_org = np.where(org_type_trait("collective_marketing")[org_type], p.cooperative.training_probability,
                     np.where(org_type_trait("contract_farming")[org_type], p.enterprise.training_probability, 0.0))
    multiplier = np.asarray(p.forms.training_multiplier)
    if np.any(multiplier != 1.0):  # how much the form trains (standards, techniques)
        p_org = np.minimum(1.0, p_org * multiplier[form])
    trained_org = participating & (d.org_training_u[idx] < p_org)
    county = hh.county_id[idx]
    p_county = world.counties.training_slots[county] / np.maximum(world.county_households[county], 1)
    trained = trained_org | (d.county_training_u[idx] < p_county)
    hh.trained[idx] = trained
    hh.trained_ever[idx] = hh.trained_ever[idx] | trained
    hh.ability[idx] = hh.ability[idx] | trained
    skills = hh.skills[idx]
    skills = np.where(trained, skills + lp.training_skill_gain * (1.0 - skills), skills * (1.0 - lp.skill_depreciation))
    skills = skills + np.where(participating, np.asarray(p.forms.skill_gain)[form], 0.0) * (1.0 - skills)
    hh.skills[idx] = np.clip(skills, 0.0, 1.0)

    # Technology diffusion: own skills, neighbours' adoption (spillover) and the organisation's push.
    share = world.villages.adoption_share[hh.village_id[idx]]
    pushed = participating & (org_type_trait("technology_push")[org_type] | form_trait("technology_push")[form])
    push = np.where(pushed, lp.technology_push, 0.0)
    p_adopt = np.clip(lp.base_adoption + lp.peer_effect * share + lp.skill_effect * hh.skills[idx] + push, 0.0, 1.0)
    adopted = hh.tech_adopted[idx] == 1
    adopt = ~adopted & (d.adoption_u[idx] < p_adopt)
    abandon = adopted & ~pushed & (d.disadoption_u[idx] < lp.disadoption_probability)
    hh.tech_adopted[idx] = np.where(adopt, 1, np.where(abandon, 0, hh.tech_adopted[idx]))
    info = (hh.info_access[idx] + np.where(participating & form_trait("information")[form], lp.form_information_gain, 0.0)
            + np.where(participating, lp.member_information_gain, 0.0))
    hh.info_access[idx] = np.clip(info, 0.0, 1.0)


def village_adoption(world: World) -> None:
    """Village adoption shares that next year's diffusion sees."""
    hh, v = world.households, world.villages
    adopters = np.bincount(hh.village_id, weights=hh.tech_adopted, minlength=v.n)
    v.adoption_share[:] = adopters / np.maximum(v.households, 1)
