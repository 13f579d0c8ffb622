"""The search box of every parameter a calibration may search, written once: the point
calibration (ruralabm/commands/calibrate.py), the identification screen (calibration/screen.py) and
the Bayesian calibration (calibration/bayes.py, whose uniform priors they are) pick from it by name.
A box is the point calibration's, or about +-50% of the national world's value
(scenarios/world.toml) where the parameter's source gives no range."""
from __future__ import annotations

BOXES: dict[str, str] = {
    "cooperative.villages_share": "0.3:1",
    "cooperative.training_probability": "0.05:0.8",
    "enterprise.training_probability": "0:0.6",
    "learning.technology_yield_gain": "0:0.4",
    # the full-scale (2020) transfer: the old box of a constant transfer, 200:2500, divided by the
    # mean 2015-2022 support index of scenarios/world.toml (0.789)
    "policy.poverty_alleviation_transfer": "250:3200",
    "economy.drive_effect": "0:0.8",
    "linkage.price_spillover": "0:0.4",
    "linkage.share_dividend_share": "0:0.4",
    "cooperative.marketing_premium": "0:0.2",
    "survey.clds_income_error_sd": "0.3:1.5",
    "economy.farm_productivity_growth": "0:0.03",
    "participation.selection_on_unobservables": "0:2",
    "policy.subsidy_per_capita": "300:2500",
    "participation.subsidy_effect": "3:9",
    "participation.machine_effect": "0.5:3.5",
    "participation.job_effect": "1.5:6",
    "participation.registered_poor_effect": "0:3",
    "participation.expected_gain_effect": "0:1.5",
    # widened below 4,500 down to the 2014 national mean rural dibao standard (MCA: 2,777 yuan a year)
    # after two posteriors piled at 4,500
    "policy.subsidy_threshold": "2800:8500",
    "policy.subsidy_growth": "0.04:0.16",
    "labour.migrate_rate": "0.07:0.16",
    "labour.local_job_rate": "0.06:0.14",
    "economy.business_return": "0.4:1",
    "linkage.cooperative_capacity_share": "0.3:0.9",
    "linkage.enterprise_capacity_share": "0.05:0.3",
    "survey.clds_error_persistence": "0:0.7",
    "campaign.application_margin": "0.7:1.1",
    "campaign.deadline_announce": "0.7:1",
    "registration.assessment_error": "0.2:1",
    "learning.form_information_gain": "0.02:0.12",
    "cooperative.social_capital_gain": "0.01:0.1",
    "learning.training_skill_gain": "0.03:0.2",
    "county.machinery_org_growth": "0.05:0.3",
    "enterprise.contract_premium": "0:0.25",
    # a yearly hazard from 0 up to the one that, run from the 2007 law to 2014, leaves the ~37% stock of
    # 'shell' cooperatives of 2014 (Hu et al., "False prosperity", 504 cooperatives in Jiangsu, Jilin and
    # Sichuan): 1 - (1 - h)^7 = 0.37, h = 0.064. An upper bound, since many shells never operated, and
    # registered cooperatives grew every year to 2019 (0.69 to 2.2 million), so few closed outright.
    "cooperative.failure_probability": "0:0.065",
}


# The effect sizes every calibration searches (the point calibration's first ten), in this order:
# the screen and the Bayesian calibration start from them.
EFFECT_SIZES = [
    "cooperative.villages_share",
    "cooperative.training_probability",
    "enterprise.training_probability",
    "learning.technology_yield_gain",
    "policy.poverty_alleviation_transfer",
    "economy.drive_effect",
    "linkage.price_spillover",
    "linkage.share_dividend_share",
    "cooperative.marketing_premium",
    "survey.clds_income_error_sd",
]


def boxed(names: list[str]) -> list[str]:
    """``NAME=LOW:HIGH`` specifications (the command lines' form) of the named parameters."""
    return [f"{name}={BOXES[name]}" for name in names]
