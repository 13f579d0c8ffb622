"""Model parameters: a tree of dataclasses with units, allowed ranges, defaults and sources.

A scenario file (TOML) sets any subset of these keys, section by section
(``[shocks] disaster_probability = 0.2``). Loading validates every key: an unknown key, a
value of the wrong type or one outside its allowed range raises :class:`ParameterError`
naming the key, the value and what is allowed. Money is in 2014 yuan (real, no inflation),
time in calendar years.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field, fields
import re
from typing import Any, Iterable, Mapping

from .enums import FORMS, ORGANISATION_TYPES, PRODUCTS, REGIONS  # names of the enumerations in model/enums.py


_INDEXED_KEY = re.compile(r"^(.*)\[(\d+)\]$")


class ParameterError(ValueError):
    """A scenario key is unknown, mistyped or out of range."""


def param(default, unit: str, low=None, high=None, doc: str = "", source: str = "", choices=None,
          keys: tuple[str, ...] | None = None, fill: float | None = None):
    """A parameter field carrying its unit, allowed range or choices, meaning and source.

    ``keys`` names the entries of a list parameter (one per form, product or region): a scenario
    may then give it as a table ``{name = value}``; entries it leaves out take ``fill`` (or the
    default entry when ``fill`` is None)."""
    meta = {"unit": unit, "low": low, "high": high, "doc": doc, "source": source, "choices": choices,
            "keys": keys, "fill": fill}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: copy.deepcopy(d), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class PopulationParams:
    n_households: int = param(10_000, "households", 1, 50_000_000, "Households simulated.",
                              "assumption: simulated sample size (runtime vs sampling noise), not a real population")
    n_counties: int = param(40, "counties", 1, 100_000, "Counties in the simulated region.",
                            "assumption: size of the simulated region (runtime), not an empirical count")
    villages_per_county: int = param(10, "villages", 1, 1000, "Administrative villages per county.",
                                     "assumption: gives 25 households per village at the default size; real counties have many more villages")
    share_east: float = param(0.30, "share", 0.0, 1.0, "Share of counties in the east.",
                              "assumption: about a third of rural counties are eastern (CLDS Table 4 splits east vs central-west without sample shares)")
    share_central: float = param(0.35, "share", 0.0, 1.0, "Share of counties in the centre; west is the rest.",
                                 "assumption: non-eastern counties split about evenly between centre (0.35) and west (0.35)")
    ethnic_minority_share: float = param(0.40, "share", 0.0, 1.0,
                                         "Share of western/central counties that are ethnic-minority areas.",
                                         "Liu (seed 003): ethnic-area dummy among 76 poor counties")
    design: str = param("table1", "rule", doc="How households are generated: 'table1' (the old generator: every household drawn from the CLDS Table 1 marginals of POOR households, seed 001) or 'national' (a national rural population: members by age group and work, regions differing in wages, farm productivity, market access and infrastructure, poor counties designated; the CLDS-like sample is then the households below the line, as the paper drew it). 'national' is needed by the demography, labour, land, region and linkage processes. Module: model/population_national.py.",
                        source="design choice (issue 'A world that looks like rural China'); 'national' in scenarios/calibrated.toml", choices=("table1", "national"))
    poor_county_share: float = param(0.42, "share of counties", 0.0, 1.0,
                                     "Design 'national': share of counties designated national poor counties (the lowest expected income per capita at set-up); the exit campaign, the poor-area income series and the 76-county sample concern them.",
                                     "832 national poor counties (State Council LGOP 2012 list) among about 2,000 county-level units with a rural population (NBS)")
    head_age_mean: float = param(50.0, "years", 18.0, 90.0, "Design 'national': mean age of household heads at set-up.",
                                 "assumption: rural heads average about 50 (CFPS/CHIP rural samples 2012-2014); the CLDS poor sample's 51.9 (seed 001) is the check")
    head_age_sd: float = param(11.0, "years", 0.0, 40.0, "Design 'national': sd of heads' age at set-up.",
                               "CLDS Table 1 (seed 001): sd 10.2 among the poor; a little wider nationally")
    head_edu_probs: list = param([0.10, 0.28, 0.42, 0.16, 0.035, 0.004, 0.001], "shares of schooling codes 0/3/6/9/12/13/16", 0.0, 1.0,
                                 "Design 'national': heads' schooling at set-up, shares of the CLDS codes 0, 3, 6, 9, 12, 13, 16 (must sum to 1).",
                                 "assumption: rural heads born 1950-1975 mostly have primary or junior schooling (2010 census); the CLDS poor sample's mean code 4.66 (seed 001) is the check", keys=("none", "some_primary", "primary", "junior", "senior", "vocational", "college"))
    famsize_mean: float = param(4.5, "members", 1.0, 15.0, "Design 'national': mean registered household members (migrants included).",
                                "assumption: registered rural households of 4-4.5 members (CLDS 2014 rural households; seed 001 reports 4.67 among the poor)")
    famsize_sd: float = param(1.6, "members", 0.0, 10.0, "Design 'national': sd of registered household members.",
                              "CLDS Table 1 (seed 001): sd 1.82 among the poor")
    nonfarm_workers_mean: float = param(1.45, "members per household", 0.0, 10.0,
                                        "Design 'national': mean members in stable non-farm work (migrants and local non-farm workers) at set-up.",
                                        "NBS Migrant Worker Monitoring Report 2012: 263 million migrant workers (163 m away, 99 m local) over about 190 million rural households")
    migrant_share: list = param([0.35, 0.65, 0.62], "share of non-farm workers", 0.0, 1.0,
                                "Design 'national': share of the stable non-farm workers who work away from home most of the year (not usual residents), by region.",
                                "NBS Migrant Worker Monitoring Report 2014: most eastern migrant workers work locally, most central and western ones away", keys=REGIONS)
    remittance_share_mean: float = param(0.18, "share of migrant earnings", 0.0, 1.0,
                                         "Design 'national': mean share of a migrant's earnings sent home (a household trait, Beta distributed).",
                                         "assumption: 2014 rural transfer income (NBS: 1,877 yuan per capita, 17.9% of income) net of pensions, subsidies and dibao leaves about 5,000 yuan per migrant, under a fifth of 31,000 yuan of earnings")
    remittance_share_concentration: float = param(1.5, "Beta a + b", 0.1, 1000.0,
                                                  "Design 'national': concentration of the Beta distribution of remittance shares (small: many households receive almost nothing, a few a lot).",
                                                  "assumption: remittances are very unequal across migrant households (RUMiC: a third of migrants remit little or nothing)")
    region_income_factor: list = param([1.22, 0.96, 0.80], "ratio to the national mean", 0.05, 20.0,
                                       "Design 'national': farm productivity, local non-farm wages and own-business returns of each region relative to the nation.",
                                       "NBS 2014 rural per-capita disposable income by region (east 13,145, central 10,011, west 8,295, northeast 10,802 yuan; national 10,489), northeast merged with the centre", keys=REGIONS)
    region_distance_factor: list = param([0.65, 1.0, 1.45], "multiplier of km to the commercial centre", 0.05, 20.0,
                                         "Design 'national': villages' distance to the nearest commercial centre by region relative to the centre (market access).",
                                         "assumption: denser eastern towns, sparse western ones (county seats per 10,000 km2 about 3x as many in the east)", keys=REGIONS)
    region_hroad_shift: list = param([12.0, 0.0, -12.0], "% points of hardened road", -100.0, 100.0,
                                     "Design 'national': road hardening of villages by region, in points above the centre.",
                                     "assumption: eastern villages had mostly hardened roads by 2014, western ones least (MOT village road statistics)", keys=REGIONS)
    region_lamp_shift: list = param([0.15, 0.0, -0.1], "share of villages with street lights", -1.0, 1.0,
                                    "Design 'national': share of villages with street lights by region, relative to the centre.",
                                    "assumption: village street lighting follows village wealth", keys=REGIONS)
    region_disaster_factor: list = param([0.8, 1.0, 1.3], "multiplier of the disaster probabilities", 0.0, 10.0,
                                         "Design 'national': natural-disaster risk by region relative to the centre.",
                                         "assumption: drought and geological hazards concentrate in the west (MCA disaster statistics)", keys=REGIONS)
    region_quality_shift: list = param([0.08, 0.0, -0.08], "management-quality units", -1.0, 1.0,
                                       "Design 'national': mean management quality of cooperatives and enterprises by region, relative to the parameter means.",
                                       "assumption: organisations in the east are better run (older, larger, closer to markets)", keys=REGIONS)
    distance_mean: float = param(15.5, "km", 0.1, 1000.0,
                                 "Design 'national': mean distance of villages to the nearest commercial centre in the centre region (times region_distance_factor).",
                                 "assumption: the CLDS poor sample's 19.08 km (seed 001), concentrated in the west, is the check")
    hroad_mean: float = param(66.0, "% of roads hardened", 0.0, 100.0,
                              "Design 'national': mean road hardening of central villages (plus region_hroad_shift).",
                              "assumption: the CLDS poor sample's 63.8% (seed 001) is the check")
    lamp_share: float = param(0.38, "share of villages", 0.0, 1.0,
                              "Design 'national': share of central villages with street lights (plus region_lamp_shift).",
                              "assumption: the CLDS poor sample's 0.353 (seed 001) is the check")
    ability_share: float = param(0.66, "share of households", 0.0, 1.0,
                                 "Design 'national': households with a member who received skills training at set-up.",
                                 "assumption: the CLDS poor sample's 0.690 (seed 001) is the check")
    job_share: float = param(0.88, "share of heads", 0.0, 1.0, "Design 'national': heads who work at set-up.",
                             "assumption: the CLDS poor sample's 0.866 (seed 001) is the check")
    assets_mean: float = param(6000.0, "yuan", 0.0, 1e7,
                               "Design 'national': mean productive assets (farm and non-farm business) at set-up, times the county's income factor.",
                               "assumption: the 'table1' generator's 6,000 yuan; the NBS 2014 non-farm business income of 1,239 yuan per capita is the check")
    assets_sd: float = param(0.9, "sd of log productive assets", 0.0, 5.0,
                             "Design 'national': dispersion of productive assets at set-up (mean-one lognormal times assets_mean); a heavy tail stands for the minority running a shop, workshop or transport business.",
                             "assumption: NBS 2014 non-farm business income of 1,239 yuan per capita comes from a minority of households")
    machine_mean: float = param(0.55, "machines per household", 0.0, 100.0,
                                "Design 'national': mean agricultural machines owned at set-up (negative binomial with the CLDS sd).",
                                "assumption: a little above the CLDS poor sample's 0.429 (seed 001), the check")


@dataclass
class CalendarParams:
    start_year: int = param(2012, "year", 1950, 2100, "First simulated calendar year.",
                            "assumption: three pre-policy years before 2015, covering the CLDS 2014 wave (seed 001)")
    end_year: int = param(2022, "year", 1950, 2150, "Last simulated calendar year (inclusive).",
                          "Cao et al. (seed 000): CLES waves 2020-2022")
    policy_start_year: int = param(2015, "year", 1950, 2150,
                                   "Year the integration policy starts (organisations appear).",
                                   "CLDS paper: 2015 cut-off (2014 pre, 2016 post)")
    censor_date: float = param(2020.0, "decimal year", 1950.0, 2151.0,
                               "County exit dates after this are right-censored.",
                               "Liu (seed 003): censored at January 2020")


@dataclass
class ShockParams:
    health_probability: float = param(0.08, "per household-year", 0.0, 1.0,
                                      "Probability of a serious illness or injury in the household.",
                                      "Illness is the leading cause of poverty in registered-poor files (~42%); "
                                      "CHARLS hospitalisation rates ~8-10%/yr")
    health_labour_loss: float = param(0.5, "workers", 0.0, 5.0,
                                      "Adult-equivalent workers lost for the year after a health shock.",
                                      "assumption: a serious illness costs about half an adult worker for the year")
    medical_cost_mean: float = param(6000.0, "yuan", 0.0, 1e6, "Mean gross medical cost of a health shock.",
                                     "Rural inpatient cost per stay ~5-7k yuan (China Health Statistics Yearbook 2015)")
    medical_cost_sd: float = param(0.8, "sd of log cost", 0.0, 3.0,
                                   "Dispersion of the gross medical cost of a health shock (lognormal with mean medical_cost_mean).",
                                   "assumption: right-skewed medical bills, a few stays cost several times the mean")
    medical_reimbursement: float = param(0.5, "share", 0.0, 1.0,
                                         "Share of medical cost reimbursed (new rural cooperative medical scheme).",
                                         "NCMS effective inpatient reimbursement ~50%")
    disaster_probability: float = param(0.10, "per village-year", 0.0, 1.0,
                                        "Probability a village suffers a natural disaster (drought, flood, hail).",
                                        "China: ~20% of sown area affected per year, concentrated in hit villages")
    county_disaster_probability: float = param(0.03, "per county-year", 0.0, 1.0,
                                               "Probability a disaster strikes a whole county at once.",
                                               "assumption: county-wide disasters (e.g. regional drought) are rarer than village ones")
    disaster_class_probabilities: list = param([0.6, 0.3, 0.1], "shares of light/moderate/severe", 0.0, 1.0,
                                               "Distribution of disaster severity classes (must sum to 1).",
                                               "MCA classification: affected >=10%, disaster >=30%, total loss >=80%")
    disaster_yield_loss: list = param([0.2, 0.5, 0.85], "share of yield", 0.0, 1.0,
                                      "Yield lost in each severity class.",
                                      "midpoints of MCA loss classes 10-30%, 30-80%, >=80%")
    disaster_relief_share: float = param(0.0, "share of the loss", 0.0, 1.0,
                                         "Share of a household's disaster loss (output lost, at spot prices) made good by public relief and policy crop insurance, paid as transfer income the same year.",
                                         "MCA relief funds and policy agricultural insurance (indemnities about 21 bn yuan in 2014) against direct agricultural losses of about 100 bn yuan a year: roughly a quarter to a third; 0.3 in scenarios/calibrated.toml")
    price_persistence: float = param(0.5, "AR(1) coefficient", -0.99, 0.99,
                                     "Persistence of log product prices.",
                                     "assumption: moderate year-to-year persistence of farm-gate price deviations")
    price_volatility: list = param([0.06, 0.15, 0.12, 0.18], "sd of log price innovation", 0.0, 2.0,
                                   "Per product (grain, cash crop, livestock, horticulture).",
                                   "NBS farm-gate price indices 2005-2019, yearly log changes", keys=PRODUCTS)
    grain_price_floor: float = param(0.92, "share of normal price", 0.0, 1.0,
                                     "Minimum purchase price for grain relative to the normal price.",
                                     "China's minimum purchase price policy for wheat and rice")


@dataclass
class EconomyParams:
    land_per_capita: float = param(1.6, "mu per person", 0.01, 100.0, "Mean contracted land per household member.",
                                   "Rural China ~1.5-2 mu per capita (Third Agricultural Census)")
    farm_revenue_per_mu: list = param([1100.0, 2200.0, 1800.0, 3000.0], "yuan per mu", 0.0, 1e5,
                                      "Gross revenue per mu at normal prices, per product.",
                                      "NDRC farm-product cost-benefit survey 2014, approx.", keys=PRODUCTS)
    input_cost_share: float = param(0.45, "share of revenue", 0.0, 0.95, "Input costs as a share of normal revenue.",
                                    "assumption: purchased inputs a little under half of gross revenue at normal prices")
    wage_per_worker: float = param(16000.0, "yuan per year", 0.0, 1e6, "Annual earnings of a stable non-farm worker.",
                                   "NBS migrant worker monitoring report 2014 (local jobs, net of costs)")
    wage_return_to_education: float = param(0.04, "log points per year of schooling", 0.0, 0.3,
                                            "Return to education in non-farm wages.",
                                            "Mincer returns in rural China, 3-6%")
    region_wage_premium: list = param([0.15, 0.0, -0.05], "log points", -1.0, 1.0,
                                      "Wage premium by region (east, central, west).",
                                      "assumption: east > centre > west gradient of non-farm wages; magnitudes not estimated", keys=REGIONS)
    business_return: float = param(0.10, "yuan per yuan of assets", 0.0, 2.0,
                                   "Return on productive assets in own non-farm business.",
                                   "assumption: 10% yearly return on household business assets")
    business_returns_elasticity: float = param(1.0, "elasticity", 0.05, 1.0,
                                               "Own-business income = business_return x K0 x (assets / K0) ** elasticity, K0 = 6,000 yuan: 1 is a constant return on assets; below 1 returns diminish as assets grow.",
                                               "assumption: household businesses have diminishing returns (small shops and workshops); 0.5 in scenarios/calibrated.toml")
    business_return_sd: float = param(0.3, "sd of log return", 0.0, 3.0,
                                      "Year-to-year dispersion of own-business income (lognormal, mean one).",
                                      "assumption: business returns vary by about 30% from year to year")
    wage_sd: float = param(0.3, "sd of log wage", 0.0, 3.0,
                           "Year-to-year dispersion of non-farm earnings around the Mincer wage (lognormal, mean one).",
                           "assumption: earnings vary by about 30% around the Mincer prediction")
    farm_output_sd: float = param(0.25, "sd of log output", 0.0, 3.0,
                                  "Idiosyncratic dispersion of farm output (lognormal, mean one), on top of disasters and prices.",
                                  "assumption: household-level yield noise of about 25%")
    land_quality_base: float = param(0.7, "revenue multiplier", 0.0, 10.0,
                                     "Revenue per mu on the worst land (quality 0) relative to normal: land value = area x (base + range x quality).",
                                     "assumption: the worst land yields 70% of normal, the best 130%")
    land_quality_range: float = param(0.6, "revenue multiplier per unit quality", 0.0, 10.0,
                                      "Revenue per mu gained from the worst to the best land (quality 0 to 1).",
                                      "assumption: the worst land yields 70% of normal, the best 130%")
    mu_per_worker: float = param(8.0, "mu per adult-equivalent worker", 0.1, 1000.0,
                                 "Land one adult-equivalent worker farms: the farm's labour need is land / mu_per_worker.",
                                 "assumption: one worker farms about 8 mu (half a hectare) with small-farm technology")
    min_labour_need: float = param(0.25, "workers", 0.0, 100.0,
                                   "Smallest labour need of a farm, however small its land.",
                                   "assumption: a quarter worker to keep even a tiny plot")
    min_farm_labour: float = param(0.2, "workers", 0.0, 100.0,
                                   "Farm labour left to a household after a health shock, at least.",
                                   "assumption: relatives or the elderly keep a fifth of a worker on the farm")
    labour_elasticity: float = param(0.4, "elasticity", 0.0, 5.0,
                                     "Elasticity of farm output to labour below the labour need: (labour / need) ** elasticity.",
                                     "assumption: farm output falls less than proportionally with labour")
    machine_yield_gain: float = param(0.06, "share of output per machine", 0.0, 2.0,
                                      "Output gained per machine owned (up to machines_used_max machines).",
                                      "assumption: each small machine adds about 6% to output")
    machines_used_max: int = param(3, "machines", 0, 100, "Machines that still add to output; more are idle.",
                                   "assumption: a small farm cannot use more than three machines")
    mu_per_machine: float = param(8.0, "mu per machine", 0.1, 1000.0,
                                  "Land one machine needs: a household buys a machine only while it owns fewer than land / mu_per_machine.",
                                  "assumption: a small machine pays on about 8 mu")
    farm_productivity_growth: float = param(0.0, "share per year", -0.5, 0.5,
                                            "Growth per year of farm productivity (yields, varieties, mechanisation services) since 2014; 0 keeps it constant.",
                                            "NBS: rural per-capita net income from primary industry grew about 2-3% a year in real terms 2014-2020; 0.02 in scenarios/calibrated.toml")
    drive_effect: float = param(0.25, "log points per sd of drive", 0.0, 2.0,
                                "Effect of unobserved entrepreneurial drive on farm and business returns.",
                                "assumption: size of an unobserved trait's effect, not measured in any survey; calibrated (scenarios/calibrated.toml)")
    subsistence_per_capita: float = param(1800.0, "yuan per person-year", 0.0, 1e5,
                                          "Consumption floor a household defends by coping.",
                                          "assumption: consumption floor below the 2014 national poverty line of 2800 yuan (poverty.line_national)")
    marginal_propensity_to_consume: float = param(0.65, "share", 0.0, 1.0,
                                                  "Share of cash on hand above subsistence that is consumed.",
                                                  "assumption: about two thirds of income above subsistence consumed, the rest saved")
    savings_target_years: float = param(0.5, "years of income", 0.0, 10.0,
                                        "Savings held as a buffer before investing in productive assets.",
                                        "assumption: precautionary buffer of half a year's income")
    investment_share: float = param(0.5, "share", 0.0, 1.0, "Share of savings above the buffer invested each year.",
                                    "assumption: half of savings above the buffer invested each year")
    machine_price: float = param(8000.0, "yuan", 1.0, 1e6, "Price of one agricultural machine.",
                                 "assumption: order-of-magnitude price of a small farm machine (e.g. walking tractor)")
    deposit_rate: float = param(0.02, "per year", 0.0, 0.5, "Interest on savings.",
                                "PBoC one-year benchmark deposit rate, approx. (3% in 2012-14, cut to 1.5% by late 2015)")
    loan_rate: float = param(0.08, "per year", 0.0, 1.0, "Interest on debt.",
                             "assumption: above the PBoC one-year benchmark lending rate (6% in 2012-14), for rural lending markups")
    credit_limit_assets: float = param(0.3, "yuan per yuan of assets", 0.0, 5.0,
                                       "Borrowing limit relative to physical assets.",
                                       "assumption: collateral-based borrowing limit of 30% of asset value")
    collateral_housing_share: float = param(0.2, "yuan of collateral per yuan of housing", 0.0, 1.0,
                                            "Share of housing value that counts as collateral (rural homesteads can hardly be mortgaged); productive assets and machines count in full.",
                                            "assumption: rural housing is weak collateral (homestead land cannot be sold freely)")
    group_lending_multiplier: float = param(2.0, "multiple of the credit limit", 1.0, 10.0,
                                            "Members of an organisation borrow up to this multiple of the collateral-based limit (group lending).",
                                            "assumption: membership gives access to group lending that doubles the collateral value of assets")
    distress_sale_discount: float = param(0.5, "share of value lost", 0.0, 1.0,
                                          "Value lost when assets are sold in distress.",
                                          "assumption: fire sales fetch about half of asset value")
    network_transfer_share: float = param(0.3, "share of shortfall", 0.0, 1.0,
                                          "Share of a consumption shortfall covered by village network transfers at full ties and trust.",
                                          "assumption: kin and village networks cover up to 30% of a shortfall")
    ties_half_saturation: float = param(5.0, "ties", 0.01, 1000.0,
                                        "Network ties at which their value is half the maximum (ties / (ties + half)), in network transfers and the social-capital composite.",
                                        "assumption: a handful of ties gives half of what a network can do")
    depreciation_assets: float = param(0.08, "per year", 0.0, 1.0, "Depreciation of productive assets.",
                                       "assumption: productive assets last about 12 years")
    depreciation_machinery: float = param(0.10, "per year", 0.0, 1.0, "Probability a machine is scrapped each year.",
                                          "assumption: a farm machine lasts about 10 years")
    depreciation_housing: float = param(0.02, "per year", 0.0, 1.0, "Depreciation of housing.",
                                        "assumption: rural housing lasts about 50 years")


@dataclass
class ParticipationParams:
    base_rate: float = param(0.6, "probability", 0.001, 0.999,
                             "Participation probability of a household at the Table 1 means, not registered poor and expecting no gain, with an organisation nearby.",
                             "assumption: reference probability; overall participation is targeted to CLDS Table 1 T = 0.7405 (seed 001)")
    subsidy_effect: float = param(1.6, "probit index", -10.0, 10.0,
                                  "Targeting: registered low-income (subsidy) households are enrolled first.",
                                  "CLDS Table 3: subsidy 0.706 treated vs 0.072 control; calibrated (scenarios/calibrated.toml)")
    machine_effect: float = param(0.35, "probit index per machine", -10.0, 10.0,
                                  "Machinery owners are preferred contract partners.",
                                  "CLDS Table 3: machine 0.529 vs 0.144")
    job_effect: float = param(0.5, "probit index", -10.0, 10.0, "Working heads participate more.",
                              "CLDS Table 3: job 0.901 vs 0.765")
    age_effect: float = param(0.015, "probit index per year of age", -1.0, 1.0, "Older heads participate more.",
                              "CLDS Table 3: age 52.47 vs 50.21")
    health_effect: float = param(-0.12, "probit index per health step", -10.0, 10.0,
                                 "Less healthy households are targeted.", "CLDS Table 3: health 3.571 vs 3.802")
    edu_effect: float = param(-0.02, "probit index per schooling code unit", -10.0, 10.0,
                              "Less educated households participate more.", "CLDS Table 3: edu 4.580 vs 4.884")
    distance_effect: float = param(0.008, "probit index per km to the commercial centre", -1.0, 1.0,
                                   "Poverty-alleviation programmes target remote villages.",
                                   "CLDS Table 3: distance 19.80 treated vs 17.01 control")
    famsize_effect: float = param(0.0, "probit index per member", -10.0, 10.0,
                                  "Larger households participate more (more hands for the organisation's work); 0 in the 'table1' world.",
                                  "CLDS Table 3: famsize 4.698 treated vs 4.605 control (seed 001); fitted by benchmarks/fit_world.py in scenarios/world.toml")
    registered_poor_effect: float = param(1.5, "probit index", -10.0, 10.0,
                                          "Registered-poor households are enrolled by the targeted programme.",
                                          "assumption: targeted enrolment of registered-poor households; with the other terms it reproduces the CLDS participation mean T = 0.7405 (Table 1, both waves)")
    infrastructure_effect: float = param(-0.006, "probit index per % hardened road", -1.0, 1.0,
                                         "Remote villages are targeted.", "CLDS Table 3: hroad 62.4 vs 67.7")
    membership_cost: float = param(300.0, "yuan per year", 0.0, 1e5,
                                   "Cost of participating (fees, share capital, meetings, compliance), paid from farm income.",
                                   "assumption: fees, share capital and time worth about 300 yuan a year")
    maturity_years: float = param(0.0, "years", 0.0, 20.0,
                                  "Years of membership over which a member's gains from the organisation's services build up: the price premium (cooperative marketing, the form's price gain), the market access the form recovers, the yield gains (contract technology, the form's yield gain) and the form's business income are at the share min(1, t / (maturity_years + 1)) of their full level in the t-th year of membership (t = 1 the joining year). Wages of organisation jobs, dividends, the input discount and the contract price are paid in full from the start. 0: full gains from the joining year (the old behaviour).",
                                  "assumption: a member needs seasons to adopt the organisation's standards and varieties and to build its sales channels (certification, brand, buyers); 2 in scenarios/world.toml (full gains from the third season)")
    expected_gain_effect: float = param(0.5, "probit index per unit log expected gain", 0.0, 10.0,
                                        "Weight of the expected income gain in the decision.",
                                        "assumption: moderate weight on the expected gain, which has no counterpart in the CLDS probit (seed 001)")
    selection_on_unobservables: float = param(0.0, "probit index per sd of drive", 0.0, 5.0,
                                              "Strength of selection on unobserved entrepreneurial drive: the probit index gains this times drive (sd units). With gain_income = 'expected' (the calibrated scenario) the expected gain is scaled by drive-free expected income, so at 0 participation does not depend on drive given the household's observed state (docs/odd.md); with 'last' drive also reaches participation through last year's income (the old behaviour) and, under any setting, through poverty registration.",
                                              "assumption: off by default, the selection-on-observables premise of the PSM in seeds 000/001")
    gain_income: str = param("last", "rule", doc="Income the expected gain is scaled by in the decision: 'expected' (the household's income at normal prices and yields with no drive component, processes/production.py::expected_income, so selection_on_unobservables = 0 means no selection on drive given the observed state) or 'last' (last year's realised income, which contains the drive component of farm and business returns: the old behaviour, a hidden channel of selection on drive).",
                             source="design choice (docs/odd.md, participation); 'expected' in scenarios/calibrated.toml, 'last' (the literature default) reproduces the behaviour before it", choices=("expected", "last"))
    exit_probability: float = param(0.05, "per member-year", 0.0, 1.0, "Probability a member leaves voluntarily.",
                                    "assumption: about one member in twenty leaves each year")
    trust_exit_effect: float = param(2.0, "probit index per unit of lost trust", 0.0, 20.0,
                                     "Low trust in the organisation raises exit.",
                                     "assumption: exit rises steeply as trust falls below 0.5")
    org_choice_noise: float = param(0.2, "log expected gain per sd", 0.0, 10.0,
                                    "Idiosyncratic preference between the village cooperative and the county enterprise when both are within reach.",
                                    "assumption: small taste noise in the choice of organisation")
    income_floor: float = param(1000.0, "yuan per year", 1.0, 1e6,
                                "Last year's income below this counts as this much when the expected gain is scaled by income.",
                                "assumption: keeps the relative gain finite for households with negative or tiny income")
    gain_ratio_floor: float = param(0.05, "ratio", 1e-6, 1.0,
                                    "Lower bound of 1 + expected gain / income inside the log (net losses are capped).",
                                    "assumption: a joining cost of 95% of income is as bad as it gets")


@dataclass
class CooperativeParams:
    villages_share: float = param(0.6, "share of villages", 0.0, 1.0, "Share of villages that get a cooperative.",
                                  "assumption: a cooperative in most villages once the policy starts; calibrated (scenarios/calibrated.toml)")
    capacity: int = param(60, "member households", 1, 100000, "Maximum members of one cooperative.",
                          "assumption: a small village cooperative of a few dozen households")
    marketing_premium: float = param(0.08, "share of price", 0.0, 1.0, "Price premium from collective marketing.",
                                     "Cooperative price premia of 5-15% in Chinese studies")
    input_discount: float = param(0.10, "share of input cost", 0.0, 1.0, "Input cost saved by bulk purchase.",
                                  "assumption: 10% saved by bulk purchase of inputs")
    margin: float = param(0.05, "share of members' sales", 0.0, 1.0, "Cooperative trading margin on members' sales (surplus from its downstream marketing, not deducted from members' prices).",
                          "assumption: 5% trading margin on downstream marketing")
    surplus_returned_share: float = param(0.6, "share of surplus", 0.6, 1.0,
                                          "Share of surplus returned to members by transactions.",
                                          "Farmer Specialised Cooperatives Law (2006/2017): at least 60%")
    risk_fund_share: float = param(0.5, "share of retained surplus", 0.0, 1.0,
                                   "Share of retained surplus put in the risk-pooling fund.",
                                   "assumption: half of retained surplus set aside for risk pooling")
    training_probability: float = param(0.35, "per member-year", 0.0, 1.0, "Probability a member is trained.",
                                        "assumption: members trained every few years; calibrated (scenarios/calibrated.toml)")
    social_capital_gain: float = param(0.05, "trust units per year", 0.0, 1.0,
                                       "Trust gain per year of membership at average management quality: trust += 2 x quality x gain x (1 - trust).",
                                       "assumption: trust builds slowly through membership")
    management_quality_mean: float = param(0.6, "0-1 index", 0.01, 0.99, "Mean management quality.",
                                           "assumption: middling average management quality on a 0-1 scale")
    failure_probability: float = param(0.04, "per year at average quality", 0.0, 1.0,
                                       "Yearly failure probability of a cooperative of average quality.",
                                       "Many registered cooperatives are dormant ('shell' cooperatives)")
    shell_cleanup_year: int = param(2019, "year", 1950, 2150,
                                    "A cooperative that fails stops operating but stays on the register, a dormant ('shell') cooperative, until this year's clean-up; until then its former members are still registered members (household state shell_member), which the CLDS-like survey reads as participation when survey.report_shell_membership is on. No process reads it otherwise.",
                                    "Central Rural Work Leading Group Office, MARA and 9 other departments, Zhongnongfa [2019] No. 3: the 2019 special clean-up of 'shell' cooperatives, among them those stopped for two years or more through poor management; about 37% of registered cooperatives were shells around 2014 (Hu et al., 'False prosperity', 504 cooperatives in Jiangsu, Jilin and Sichuan), and the registered number grew every year to 2019")
    failure_quality_sensitivity: float = param(2.0, "relative risk per unit quality gap", 0.0, 100.0,
                                               "Failure risk = failure_probability x (1 + sensitivity x (mean quality - quality)).",
                                               "assumption: badly managed cooperatives fail much more often")
    trust_quality_multiplier: float = param(2.0, "per unit management quality", 0.0, 10.0,
                                            "Trust gain of a member = social_capital_gain x multiplier x management quality x (1 - trust); 2 makes average quality 0.5 the reference.",
                                            "assumption: trust grows with management quality, proportionally")
    risk_fund_cover: float = param(0.5, "share of disaster loss", 0.0, 1.0,
                                   "Share of members' disaster losses the risk-pooling fund pays (pro rata when it cannot cover all claims).",
                                   "assumption: the fund pays half of a member's disaster loss")


@dataclass
class EnterpriseParams:
    per_county: int = param(1, "enterprises", 0, 100, "Leading enterprises per county.",
                            "assumption: one leading enterprise per county, serving one product")
    capacity: int = param(400, "contracted households", 1, 10_000_000, "Contracts one enterprise can hold.",
                          "assumption: a county leading enterprise contracts a few hundred households")
    reach_km: float = param(80.0, "km", 0.0, 1000.0, "Enterprises sit at the county commercial centre: households farther than this from it (their distance) are not served.",
                            "assumption: about a county's radius, beyond most CLDS Table 1 distances (mean 19.08 km, sd 18.33; seed 001)")
    contract_premium: float = param(0.10, "share of normal price", -0.5, 2.0, "Contract price above the normal price.",
                                    "assumption: 10% contract price premium over the normal price")
    floor_price_share: float = param(0.95, "share of normal price", 0.0, 2.0,
                                     "Protective floor price of contracts: what a reneging enterprise still pays when spot is below it.",
                                     "assumption: protective floor a little below the normal price")
    renege_sensitivity: float = param(4.0, "per unit relative price gap", 0.0, 100.0,
                                      "Reneging probability per unit gap when spot falls below contract.",
                                      "assumption: reneging probability rises steeply with the gap below contract")
    side_sell_sensitivity: float = param(3.0, "per unit relative price gap", 0.0, 100.0,
                                         "Side-selling probability per unit gap when spot exceeds contract (scaled by distrust).",
                                         "assumption: side-selling rises with the spot premium over the contract price")
    technology_yield_gain: float = param(0.12, "share of yield", 0.0, 2.0, "Yield gain from the enterprise's technology.",
                                         "assumption: 12% yield gain from the enterprise's technology package")
    training_probability: float = param(0.2, "per contract-year", 0.0, 1.0, "Probability a contract farmer is trained.",
                                        "assumption: contract farmers trained less often than cooperative members; calibrated (scenarios/calibrated.toml)")
    trust_gain: float = param(0.05, "trust units", 0.0, 1.0, "Trust gained when a contract is honoured.",
                              "assumption: trust builds slowly while contracts are honoured")
    trust_loss: float = param(0.25, "trust units", 0.0, 1.0, "Trust lost when the enterprise reneges.",
                              "assumption: one reneging costs far more trust than an honoured contract adds")


@dataclass
class FormParams:
    """How each integration form acts (vertical chain, technology diffusion, agritourism, e-commerce)."""

    price_gain: list = param([0.10, 0.03, 0.0, 0.06], "share of price", 0.0, 2.0,
                             "Value added per unit sold (processing, brand, market access), per form.",
                             "assumption: largest for vertical chains; mechanisms (processing, brands, market access) as in Zhou & Li (seed 002)", keys=FORMS)
    yield_gain: list = param([0.03, 0.12, 0.0, 0.0], "share of yield", 0.0, 2.0, "Yield gain per form.",
                             "assumption: technology diffusion carries the yield gain; magnitudes not estimated", keys=FORMS)
    business_income: list = param([0.0, 0.0, 2500.0, 1800.0], "yuan per year", 0.0, 1e6,
                                  "Non-farm business income opened up per form (tourism, online shop).",
                                  "assumption: a few thousand yuan a year from tourism or an online shop", keys=FORMS)
    skill_gain: list = param([0.03, 0.08, 0.02, 0.05], "skill units per year", 0.0, 1.0, "Skill growth per form.",
                             "assumption: technology diffusion builds skills fastest; magnitudes not estimated", keys=FORMS)
    ties_gain: list = param([1.0, 1.0, 2.0, 1.0], "ties per year", 0.0, 50.0, "New network ties per year per form.",
                            "assumption: agritourism brings more outside contacts (2 ties a year vs 1)", keys=FORMS)
    ties_seasons: int = param(0, "seasons", 0, 100,
                              "Seasons of membership in which a member gains the form's ties_gain (the organisation's circle is met in the first seasons; the ties then decay like any others at capitals.ties_retention). 0: every season of membership (the old behaviour).",
                              "assumption: a cooperative or contract scheme has a few dozen member households, met within the first seasons; 3 in scenarios/world.toml (the seasons over which the services mature, participation.maturity_years = 2)")
    training_multiplier: list = param([1.0, 1.0, 1.0, 1.0], "multiple of the type's training probability", 0.0, 10.0,
                                      "How much an organisation of each form trains its members, as a multiple of its type's training probability (cooperative.training_probability, enterprise.training_probability), capped at 1: a processing chain trains in its standards, a technology programme in its techniques.",
                                      "issue 'A world that looks like rural China': the vertical chain acts through processing jobs, a value-added share and skills, technology diffusion through yields and learning (seed 002: standards and brands); assumption on the sizes, in scenarios/world.toml", keys=FORMS)
    business_skill_base: float = param(0.5, "multiplier", 0.0, 10.0,
                                       "A member's form business income is business_income x (base + skills), skills 0-1.",
                                       "assumption: the most skilled earn three times the least skilled (1.5 vs 0.5)")


@dataclass
class LearningParams:
    base_adoption: float = param(0.02, "per household-year", 0.0, 1.0,
                                 "Probability a household adopts improved technology on its own.",
                                 "assumption: slow spontaneous adoption of improved technology")
    peer_effect: float = param(0.15, "per unit village adoption share", 0.0, 1.0,
                               "Adoption probability added by neighbours' adoption (spillovers through village networks; 0 = none).",
                               "assumption: moderate spillover of adoption through village networks")
    skill_effect: float = param(0.05, "per unit skills", 0.0, 1.0, "Adoption probability added by skills.",
                                "assumption: skills add modestly to adoption")
    technology_yield_gain: float = param(0.10, "share of yield", 0.0, 2.0, "Yield gain from improved technology.",
                                         "assumption: 10% yield gain from improved technology; calibrated (scenarios/calibrated.toml)")
    training_skill_gain: float = param(0.10, "skill units", 0.0, 1.0, "Skills gained from one training.",
                                       "assumption: one training closes 10% of the skill gap")
    skill_depreciation: float = param(0.03, "per year", 0.0, 1.0, "Skills lost per year without practice.",
                                      "assumption: skills decay slowly without practice")
    disadoption_probability: float = param(0.05, "per year", 0.0, 1.0, "Probability an adopter abandons the technology.",
                                           "assumption: about one adopter in twenty abandons the technology each year")
    technology_push: float = param(0.25, "adoption probability", 0.0, 1.0,
                                   "Adoption probability added for members of an organisation that pushes technology (enterprises, the technology-diffusion form); they also do not abandon it.",
                                   "assumption: a technology package raises adoption by a quarter a year")
    form_information_gain: float = param(0.10, "index units per year", 0.0, 1.0,
                                         "Market-information access gained per year by members of a form with the information trait (e-commerce).",
                                         "assumption: online sales open market information quickly")
    member_information_gain: float = param(0.02, "index units per year", 0.0, 1.0,
                                           "Market-information access gained per year by any member.",
                                           "assumption: membership opens some market information")


@dataclass
class CapitalParams:
    """Ageing, health and job transitions, and the drift of network ties and trust."""

    health_decline_base: float = param(0.03, "per year", 0.0, 1.0,
                                       "Probability self-rated health falls one step in a year, before age 50 and without a shock.",
                                       "assumption: slow health decline of the household head")
    health_decline_age: float = param(50.0, "years", 0.0, 120.0,
                                      "Age above which the health decline probability rises.",
                                      "assumption: health declines faster after 50")
    health_decline_per_year: float = param(0.004, "per year of age", 0.0, 1.0,
                                           "Decline probability added per year of age above health_decline_age.",
                                           "assumption: +4 points per decade above 50")
    health_decline_after_shock: float = param(0.3, "probability", 0.0, 1.0,
                                              "Decline probability added in a year with a health shock.",
                                              "assumption: a serious illness often leaves lasting damage")
    health_improve_probability: float = param(0.08, "per year", 0.0, 1.0,
                                              "Probability health improves one step in a year without a shock.",
                                              "assumption: recovery is possible but rarer than decline at older ages")
    retirement_age: float = param(65.0, "years", 0.0, 120.0, "Heads older than this may stop working.",
                                  "assumption: rural heads work well past the urban retirement age")
    retirement_probability: float = param(0.05, "per year", 0.0, 1.0,
                                          "Probability a working head above retirement_age stops working in a year.",
                                          "assumption: gradual withdrawal from work")
    ties_retention: float = param(0.98, "share per year", 0.0, 1.0,
                                  "Share of network ties kept from one year to the next.",
                                  "assumption: ties decay slowly (2% a year) unless renewed")
    trust_reversion: float = param(0.05, "share per year", 0.0, 1.0,
                                   "Speed at which non-members' trust reverts to trust_anchor.",
                                   "assumption: trust drifts slowly back to a neutral level outside organisations")
    trust_anchor: float = param(0.5, "0-1 index", 0.0, 1.0, "Trust level non-members' trust reverts to.",
                                "assumption: neutral trust")


@dataclass
class PolicyParams:
    cooperatives: bool = param(True, "switch", doc="Cooperatives are promoted from the policy start year.",
                               source="Seeds 000/001: integration runs through cooperatives and leading enterprises; both on by default")
    enterprises: bool = param(True, "switch", doc="Leading enterprises contract farmers from the policy start year.",
                              source="Seeds 000/001: integration runs through cooperatives and leading enterprises; both on by default")
    form_shares: list = param([0.25, 0.25, 0.25, 0.25], "shares", 0.0, 1.0,
                              "Shares of organisations by integration form (vertical chain, technology diffusion, agritourism, e-commerce), a list in that order or a table {form = share} (forms left out get 0).",
                              "assumption: equal shares, no data on the mix (Cao et al., seed 000, compare effects by form only)", keys=FORMS, fill=0.0)
    subsidy_per_capita: float = param(1200.0, "yuan per person-year", 0.0, 1e5,
                                      "Low-income subsidy (dibao) payment per household member.",
                                      "MCA: rural dibao average payment ~1,400 yuan/person-year in 2014")
    subsidy_growth: float = param(0.0, "real share per year", -0.5, 1.0,
                                  "Real growth per year of the low-income subsidy payment after 2014 (0: constant).",
                                  "MCA: average rural dibao standard 2,777 yuan a year in 2014, 5,962 in 2020 (nominal), about 11% a year real; 0.1 in scenarios/calibrated.toml")
    region_subsidy_factor: list = param([1.0, 1.0, 1.0], "ratio to subsidy_per_capita", 0.0, 20.0,
                                        "Design 'national': the low-income subsidy (dibao) payment of each region relative to subsidy_per_capita (provinces set their own dibao standards and pay the gap to them); the means test's threshold stays national.",
                                        "MCA, China Civil Affairs Statistical Yearbook 2014 (UNICEF China atlas, figures 2.19-2.20): provinces set their own rural dibao lines, eastern provinces' generally higher, 9 provinces' above the national poverty line in 2013; the central government's dibao funds go mostly to the central and western regions (MCA 2007). Magnitude an assumption: 1.3 / 1 / 1 tried in the world with a re-calibration and not shipped (docs/odd.md section 8.4), the east above the centre by about its rural income relative to the centre's (NBS 2014: 13,145 / ~10,230 yuan = 1.28), centre and west equal (the central funds); all ones in Params() and the world (one national payment)", keys=REGIONS)
    subsidy_targeting_error: float = param(0.4, "sd of log-income noise", 0.0, 5.0,
                                           "Noise in the means test for the low-income subsidy.",
                                           "assumption: imperfect means test; noise level not estimated")
    subsidy_review_rate: float = param(0.2, "share of households per year", 0.0, 1.0,
                                       "Share of households whose subsidy status is re-assessed each year.",
                                       "assumption: each household re-assessed about every five years")
    subsidy_threshold: float = param(6000.0, "yuan per capita", 0.0, 1e6,
                                     "Per-capita income below which households are targeted for the subsidy.",
                                     "assumption: cut-off above the national poverty line; CLDS Table 1 subsidy share 0.5413 (seed 001) is the target; calibrated (scenarios/calibrated.toml)")
    training_budget_per_capita: float = param(20.0, "yuan per resident-year", 0.0, 1e5,
                                              "County budget for skills training; it pays for budget/cost training slots, filled by an independent draw per household (the expected number trained equals the slots).",
                                              "assumption: small county training budget (about 15 slots per county at the default size)")
    training_cost: float = param(1500.0, "yuan per trainee", 1.0, 1e6, "Cost of training one person.",
                                 "assumption: cost of one short vocational course per trainee")
    infrastructure_budget_per_capita: float = param(60.0, "yuan per resident-year", 0.0, 1e5,
                                                    "County infrastructure budget.",
                                                    "assumption: modest county road budget")
    infrastructure_cost_per_point: float = param(2_000_000.0, "yuan per % road point per village", 1.0, 1e12,
                                                 "Cost of hardening one percent of a village's roads.",
                                                 "assumption: cost of hardening 1% of a village's roads")
    poverty_alleviation_transfer: float = param(1500.0, "yuan per poor person-year", 0.0, 1e5,
                                                "Targeted transfers to registered-poor persons after the policy start, at full scale: the transfer of a year is this times support_index of the year.",
                                                "assumption: targeted transfers of the order of the dibao payment; calibrated (scenarios/calibrated.toml)")
    support_index: list = param([1.0] * 8, "real index, 2020 = 1", 0.0, 100.0,
                                "Scale of the targeted transfers to registered-poor persons by year 2015-2022 (support as it phased in); years outside hold the nearest value. All ones: the same transfer every year (the old behaviour).",
                                "MOF, central special poverty-alleviation funds: 46.09 / 66.10 / 86.10 / 106.10 / 126.10 / 146.10 billion yuan (2015-2020; Xinhua 2017-05-28: 86.1 billion, +30.3%; 2019-05-19: 126.1 billion, +20 billion a year for the fourth year), continued as the funds for consolidating poverty alleviation 156.10 / 165.00 (2021-2022), deflated by the rural CPI (calibration/patterns.toml [deflator]) and divided by 2020: 0.353 / 0.497 / 0.640 / 0.772 / 0.889 / 1 / 1.061 / 1.100 in scenarios/world.toml",
                                keys=tuple(f"y{y}" for y in range(2015, 2023)))
    support_index_first_year: int = param(2015, "year", 1950, 2150, "Calendar year of the first entry of support_index.", "as support_index")


@dataclass
class CountyParams:
    exit_threshold: list = param([0.02, 0.02, 0.03], "poverty incidence", 0.0, 1.0,
                                 "Incidence below which a county exits poverty (east, central, west).",
                                 "State Council: 2% (3% in the west)", keys=REGIONS)
    budget_per_capita: float = param(300.0, "yuan per resident-year", 0.0, 1e6, "County discretionary budget (recorded as the county's budget; training and infrastructure are funded by their own lines in [policy]).",
                                     "assumption: recorded only; no process uses it")
    # --- industrial structure and its causal channels (all off at the Params() defaults) -----------
    structure_channels: bool = param(False, "switch", doc="County industrial structure is a state with causal channels: machinery power (primary-secondary integration) and agricultural services (primary-tertiary) evolve with investment and organisations and feed farm productivity, local jobs and incomes; resource endowment (GDP per capita) raises wages and budgets. Off: the old descriptive indices (machines per 10 residents, tourism income).",
                                     source="Liu (seed 003), section 3.1: machinery power per capita and output of agricultural services per capita as the integration indices; on in scenarios/calibrated.toml")
    endowment_sd: float = param(0.0, "sd of log GDP per capita", 0.0, 2.0,
                                "Dispersion of the counties' resource endowment (a county factor multiplying local wages and budgets; GDP per capita follows incomes).",
                                "assumption: GDP per capita of poor counties varies by a factor of about 2 between quartiles (county statistical bulletins, seed 003's data source); 0.3 in scenarios/calibrated.toml")
    ethnic_endowment_gap: float = param(0.0, "log points", 0.0, 2.0,
                                        "Ethnic-minority areas start poorer: their endowment factor is lower by this many log points.",
                                        "assumption: rural incomes in the eight ethnic provinces ran 10-20% below the poor-area average (Poverty Monitoring Report of Rural China 2016); 0.15 in scenarios/calibrated.toml")
    ethnic_support: float = param(0.0, "share", 0.0, 5.0,
                                  "Ethnic-minority areas receive more support: targeted transfers and campaign support per registered-poor person are higher by this share.",
                                  "assumption: extra central transfers to ethnic and 'three regions, three prefectures' areas (State Council 2017 deep-poverty plan); 0.3 in scenarios/calibrated.toml")
    endowment_wage_elasticity: float = param(0.0, "elasticity", 0.0, 2.0,
                                             "Elasticity of local non-farm wages to the county endowment factor.",
                                             "assumption: local wages track local GDP per capita less than one for one; 0.5 in scenarios/calibrated.toml")
    endowment_budget_elasticity: float = param(0.0, "elasticity", 0.0, 3.0,
                                               "Elasticity of the county training and infrastructure budgets to the endowment factor.",
                                               "assumption: county own revenue scales with GDP per capita; 1.0 in scenarios/calibrated.toml")
    machinery_power_mean: float = param(1.0, "kW per resident", 0.0, 100.0,
                                        "Mean agricultural machinery power per resident in the policy start year (the primary-secondary integration index).",
                                        "China Statistical Yearbook 2015: about 1.1e9 kW over about 600 million rural residents (1.8 kW); poor counties lower, about 1 kW")
    machinery_power_sd: float = param(0.35, "sd of log", 0.0, 3.0,
                                      "Dispersion of machinery power per resident across counties (correlated with the endowment).",
                                      "assumption: mechanisation differs by a factor of 2 between plains and mountain counties")
    machinery_growth: float = param(0.02, "share per year", -0.5, 1.0,
                                    "Trend growth of machinery power per resident.",
                                    "China Statistical Yearbook: total machinery power grew about 2% a year 2014-2019 while rural population fell")
    machinery_org_growth: float = param(0.15, "share per year per member share", 0.0, 10.0,
                                        "Extra growth of machinery power and processing capacity per share of the county's households in technology-push or contract organisations (investment follows the organisations present).",
                                        "assumption: leading enterprises and technology cooperatives invest in machinery services and processing")
    machinery_farm_gain: float = param(0.0, "share per kW per resident", 0.0, 2.0,
                                       "Farm productivity gain per kW per resident above machinery_power_mean (primary-secondary integration raises yields and labour productivity).",
                                       "assumption: output elasticity of machinery power about 0.1-0.2 in Chinese county production functions; 0.2 in scenarios/calibrated.toml")
    machinery_job_gain: float = param(0.0, "share per kW per resident", 0.0, 2.0,
                                      "Local non-farm earnings gain per kW per resident above the mean (processing capacity creates local jobs).",
                                      "assumption: agro-processing jobs rise with processing capacity; 0.15 in scenarios/calibrated.toml")
    services_mean: float = param(1.0, "100 yuan per resident", 0.0, 1e4,
                                 "Mean output of agricultural services per resident in the policy start year (primary-tertiary integration index).",
                                 "assumption: agricultural services output of a few hundred yuan per resident in poor counties")
    services_sd: float = param(0.5, "sd of log", 0.0, 3.0, "Dispersion of agricultural services output across counties.",
                               "assumption")
    services_org_growth: float = param(0.3, "share per year per member share", 0.0, 10.0,
                                       "Growth of agricultural services per share of households in tertiary-income forms (agritourism, e-commerce).",
                                       "assumption: services grow where tourism and online-sales organisations operate")
    services_gain: float = param(0.0, "share per unit", 0.0, 2.0,
                                 "Non-farm business income gain per unit of services output above the mean, once matured.",
                                 "assumption: a slower, smaller payoff than primary-secondary integration (seed 003, conclusion); 0.05 in scenarios/calibrated.toml")
    services_maturity: float = param(6.0, "years", 0.5, 50.0,
                                     "Years after the policy start for the services channel to pay off in full (linear ramp).",
                                     "seed 003: the tertiary industry 'has a long development cycle'; assumption on the length")


@dataclass
class CampaignParams:
    exit_rule: str = param("threshold", "rule", doc="How counties leave the poor-county list: 'threshold' (the old rule: the simulated headcount crosses the regional threshold) or 'campaign' (provincial plans, application, third-party assessment survey, 2020 deadline).",
                           source="State Council 2016 opinions on poor-county exit; 'campaign' in scenarios/calibrated.toml", choices=("threshold", "campaign"))
    plan_shares: list = param([0.034, 0.150, 0.340, 0.413, 0.063], "shares of poor counties", 0.0, 1.0,
                              "Provincial plans: share of counties scheduled to exit in each year from plan_first_year (the provinces rank their counties by measured incidence in the policy start year, least poor first). A POLICY INPUT: the per-year exit shares it produces are not a reproduced pattern.",
                              "provinces' published exit plans; shares = the official 2016-2020 exits 28/125/283/344/52 of 832")
    plan_first_year: int = param(2016, "year", 1950, 2150, "Assessment year of the first planned batch.",
                                 "official: the first 28 counties exited for 2016")
    deadline_year: int = param(2020, "year", 1950, 2150, "Every remaining county is assessed in this year (the deadline binds).",
                               "Central Committee and State Council 2015 decision: all poor counties out by 2020")
    incidence_income_sd: float = param(0.25, "sd of log income", 0.0, 3.0,
                                       "Survey weights: each simulated household stands for many real ones whose per-capita market incomes (all but transfers) scatter lognormally around its own with this sd; the county incidence is the weighted share of those real residents below the line (0: the simulated headcount).",
                                       "assumption: within-cell income dispersion of rural households (CLDS log-income residual sd about 0.8, of which about half is within county-profile cells)")
    assessment_persons: int = param(800, "persons", 10, 1_000_000,
                                    "Persons sampled by the third-party exit assessment survey of one county.",
                                    "assumption: several hundred households per county in the 2016-2020 third-party evaluations")
    design_effect: float = param(2.0, "ratio", 1.0, 20.0,
                                 "Design effect of the clustered assessment sample (variance relative to simple random sampling); represents misidentification and satisfaction-rate errors too.",
                                 "assumption: village-cluster sampling, design effect about 2")
    application_margin: float = param(0.9, "share of the threshold", 0.1, 2.0,
                                      "In its plan year or later a county applies when its own monitored incidence (the survey-weighted incidence of the year) is below this share of the threshold; in the deadline year it applies whatever its incidence.",
                                      "assumption: counties applied early only when well below the bar (a failed assessment was costly)")
    plan_support: float = param(0.0, "yuan per registered-poor person-year", 0.0, 1e5,
                                "Support concentrated on a county's registered poor from the year before its plan year on (and continued after exit: 'no policy withdrawn on exit').",
                                "assumption: provinces concentrated poverty funds on the counties due to exit (provincial battle plans); central special poverty funds rose from 46 bn (2015) to 146 bn yuan (2020); 600 in scenarios/calibrated.toml")
    floor_start_year: int = param(2019, "year", 1950, 2150,
                                  "From this year, lagging counties (not yet exited) cover their remaining registered poor by the social-security floor.",
                                  "State Council 2019-2020: 'doudi' social-security coverage and listed supervision of the 52 remaining counties")
    floor_share: float = param(0.0, "share of the national line", 0.0, 3.0,
                               "The floor: registered-poor persons in lagging counties are topped up to this share of the national line (0: no floor).",
                               "MCA 2019: rural dibao standard above the national poverty line in all provinces; 1.05 in scenarios/calibrated.toml")
    monitoring_year: int = param(2150, "year", 1950, 2150,
                                 "From this year the floor of lagging counties also covers households found poor by the dynamic monitoring (not only the registered poor); 2150: never.",
                                 "State Council Leading Group, March 2020: monitoring and assistance of households at risk of (re)falling into poverty; 2020 in scenarios/calibrated.toml")
    announce_lag: list = param([0.15, 0.6], "years after the assessment year", 0.0, 1.0,
                               "Announcement date of an exit: uniformly between these fractions of the year after the assessment year.",
                               "provincial announcements of 2016-2019 batches fell between February and August of the following year", keys=("earliest", "latest"))
    assessment_replicate: int = param(0, "replicate index", 0, 1_000_000,
                                      "Replicate of the assessment-survey draws: 0 is the model's own; another index re-draws only the assessment samples and announcement dates (to measure how much the sampling error moves a county's exit year).",
                                      "assumption: measurement device, no behavioural content")
    deadline_announce: float = param(0.89, "fraction of the deadline year", 0.0, 1.0,
                                     "Announcement date of the deadline batch, within the deadline year.",
                                     "the last 52 counties were announced on 23 November 2020")


@dataclass
class RegistrationParams:
    rule: str = param("ever_poor", "rule", doc="Who is on the poverty register that targeted transfers follow: 'ever_poor' (the old rule: every household once below the national line after the policy start, never removed) or 'assessment' (the 2014 'archiving and carding' campaign: a noisy assessment within county quotas, yearly additions, exit after verified above-line income, support continued for support_years after exit). Process: model/processes/registration.py.",
                     source="State Council LGOP 2014 work plan for registration ('jian dang li ka'); 'assessment' in scenarios/calibrated.toml", choices=("ever_poor", "assessment"))
    assessment_error: float = param(0.5, "sd of log-income noise", 0.0, 5.0,
                                    "Noise of the registration assessment (village democratic appraisal of visible living conditions, not a measurement of income): households are ranked by income per capita x exp(sd z).",
                                    "assumption: cruder than the dibao means test (policy.subsidy_targeting_error = 0.4); registration and income poverty differ in both directions (LGOP 89 m registered vs NBS 70 m poor, 2014)")
    quota_multiple: float = param(1.1, "registered persons per estimated poor person", 0.0, 10.0,
                                  "Scale control: each county registers up to this multiple of its income-poor persons of the year before the campaign, the lowest-assessed households first.",
                                  "LGOP 2014: quotas ('scale control') allocated down from the NBS estimate of the rural poor; assumption: about 10% allowance above it (89 m registered vs 82.5 m NBS poor in 2013)")
    exclusion_error: float = param(0.1, "probability", 0.0, 1.0,
                                   "Chance that the assessment of a year does not reach a household (away, not applying, not nominated): it cannot enter the register that year whatever its assessment.",
                                   "assumption: exclusion errors of the 2014 campaign (later 'look-back' reviews added missed households)")
    entry_review: bool = param(True, "switch", doc="After the campaign year, households assessed (same noise) below the national line enter the register each year (the yearly 'dynamic adjustment').",
                               source="LGOP: yearly dynamic adjustment of the register from 2015")
    exit_income_multiple: float = param(1.0, "multiple of the national line", 0.0, 10.0,
                                        "A registered household exits when its verified income per capita of the year before is at least this multiple of the national line.",
                                        "State Council 2016 opinions on exit: household income stably above the national line, verified and publicised; verification taken as exact (household income survey)")
    exit_min_years: int = param(1, "years", 0, 100, "Years on the register before a household can exit.",
                                "assumption: exits verified from the year after registration (first exits in 2016 in the model; officially 2015 onwards)")
    support_years: int = param(10, "years", 0, 100,
                               "Targeted transfers continue for this many years after a household exits the register ('support continues after exit').",
                               "State Council 2016 opinions on the exit mechanism ('exit without withdrawing policies') and the 2021 "
                               "No. 1 Document's five-year transition period to 2025: households that exited from 2016 kept their "
                               "support through 2025; assumption: 10 years, so no household simulated to 2022 loses it on exit")


@dataclass
class DemographyParams:
    """Ageing of members, births, deaths, leaving home and succession of the head (design 'national')."""

    enabled: bool = param(False, "switch", doc="Members age between the groups children (under 16), adults (16-59) and elderly (60+), children are born, members die, young adults leave home, and an old or deceased head is succeeded by the next generation; an emptied household is re-founded by a young couple (the panel keeps its id). Needs population.design = 'national'. Module: model/processes/demography.py.",
                          source="issue 'A world that looks like rural China' (demography); on in scenarios/calibrated.toml")
    birth_rate: float = param(0.11, "births per household-year", 0.0, 1.0,
                              "Probability of a birth in a household with a young couple: a head under 45 with a spouse, or a head of 45 or more with a married adult child (two adults besides head and spouse).",
                              "NBS: crude birth rate about 12 per 1,000 (2014), about 0.05 births per rural household-year, in the half of households with a couple of childbearing age")
    child_to_adult_rate: float = param(1.0 / 16.0, "per child-year", 0.0, 1.0,
                                       "Probability that one child turns 16 in a year, per child (children span 16 years).",
                                       "arithmetic: a uniform age spread over 0-15")
    adult_to_elderly_rate: float = param(0.004, "per adult-year", 0.0, 1.0,
                                         "Probability that one adult other than the head and spouse turns 60 in a year, per such adult (the spouse turns 60 with the head).",
                                         "assumption: the other adults are mostly the head's children, decades from 60")
    elderly_mortality: float = param(0.04, "per elderly member-year", 0.0, 1.0,
                                     "Mortality of elderly members other than the head.",
                                     "China life tables 2010: rural mortality about 1% at 60, 3% at 70, 8% at 80; about 4% averaged over the rural 60+")
    head_mortality_60: float = param(0.012, "per year at age 60", 0.0, 1.0,
                                     "Mortality of the head at 60 (Gompertz: times exp(head_mortality_slope x (age - 60))).",
                                     "China life tables 2010, rural men")
    head_mortality_slope: float = param(0.09, "per year of age", 0.0, 1.0,
                                        "Gompertz slope of the head's mortality (doubling about every 7.7 years).",
                                        "China life tables 2010, rural men 60-85")
    leave_home_rate: float = param(0.03, "per adult beyond the second, per year", 0.0, 1.0,
                                   "Probability that one young adult leaves (marries out, divides off or settles in town) in a year, per adult beyond the head and spouse.",
                                   "assumption: household division at marriage, around 25, about once per young adult (rural household size fell from 3.95 to 3.89 usual residents 2010-2014, NBS)")
    succession_age: float = param(62.0, "years", 30.0, 100.0,
                                  "Age from which an ageing head may hand over to the next generation.",
                                  "assumption: rural heads hand over the farm in their sixties (CHARLS: most heads over 70 live with a married son who heads the household)")
    succession_rate: float = param(0.25, "per year per decade above succession_age", 0.0, 1.0,
                                   "Probability of handing over in a year, per decade of age above succession_age, when an adult successor lives in the household.",
                                   "assumption: succession usually within a few years after 65 (keeps the heads' mean age near 52, CLDS 2014 and 2016, seed 001)")
    generation_gap: float = param(27.0, "years", 10.0, 50.0, "Age difference between the head and the successor.",
                                  "assumption: rural age at first birth about 24-27 (2010 census)")
    successor_edu_probs: list = param([0.02, 0.08, 0.35, 0.43, 0.09, 0.025, 0.005], "shares of schooling codes 0/3/6/9/12/13/16", 0.0, 1.0,
                                      "Schooling of a new head (the generation born 1975-1995), shares of the CLDS codes 0, 3, 6, 9, 12, 13, 16 (must sum to 1).",
                                      "2010 census: rural adults aged 20-40 mostly completed junior middle school", keys=("none", "some_primary", "primary", "junior", "senior", "vocational", "college"))


@dataclass
class LabourParams:
    """Members' work: farm, local non-farm jobs or migrant work; earnings, remittances, pensions (design 'national')."""

    enabled: bool = param(False, "switch", doc="Adults work on the farm, in local non-farm jobs (usual residents: their pay is wage income) or away as migrants (not usual residents, as the household survey counts them: their earnings reach the household as remittances, transfer income); pay follows the official migrant-wage path; elderly members draw the rural pension; contracted land draws the agricultural subsidy. Income per capita is per usual resident. Needs population.design = 'national'. Module: model/processes/labour.py.",
                          source="issue 'A world that looks like rural China' (labour and migration); NBS household-survey income definitions; on in scenarios/calibrated.toml")
    migrant_earnings: float = param(31_080.0, "yuan per migrant-year in 2014", 0.0, 1e6,
                                    "Earnings of a migrant worker in 2014 (before remittances), for the national average schooling.",
                                    "NBS Migrant Worker Monitoring Report 2014: migrants working away earned 3,108 yuan a month, about 10 months a year")
    local_earnings: float = param(23_450.0, "yuan per worker-year in 2014", 0.0, 1e6,
                                  "Earnings of a local non-farm worker in 2014, national average (times the county's income factor).",
                                  "NBS Migrant Worker Monitoring Report 2014: local migrant workers earned 2,606 yuan a month; about 9 months a year (local jobs are more seasonal)")
    wage_index: list = param([0.837, 0.927, 1.0, 1.059, 1.108, 1.164, 1.217, 1.256, 1.253, 1.354, 1.382], "real index, 2014 = 1", 0.0, 100.0,
                             "Real (2014 prices) migrant-wage path 2012-2022; years outside hold the nearest value. Local earnings follow it too.",
                             "NBS Migrant Worker Monitoring Reports: monthly income 2,290 / 2,609 / 2,864 / 3,072 / 3,275 / 3,485 / 3,721 / 3,962 / 4,072 / 4,432 / 4,615 yuan (2012-2022), deflated by the rural CPI (calibration/patterns.toml [deflator])",
                             keys=tuple(f"y{y}" for y in range(2012, 2023)))
    wage_index_first_year: int = param(2012, "year", 1950, 2150, "Calendar year of the first entry of wage_index.", "as wage_index")
    earnings_sd: float = param(0.3, "sd of log earnings", 0.0, 3.0,
                               "Year-to-year dispersion of a household's non-farm earnings around the expectation (lognormal, mean one).",
                               "assumption, as economy.wage_sd")
    migrate_rate: float = param(0.07, "per household-year", 0.0, 1.0,
                                "Probability that one resident adult without a stable job leaves to work away in a year (at the national mean schooling, scaled by exp(0.1 x (edu - 6)) and the trend).",
                                "assumption: with return_rate it keeps about 60% of non-farm workers away (NBS 2014)")
    return_rate: float = param(0.06, "per household-year", 0.0, 1.0,
                               "Probability that one migrant returns to live at home in a year (plus health_return after a health shock).",
                               "assumption: migrants stay away about 8 years on average (NBS: average migrant age rose as returns lagged departures)")
    health_return: float = param(0.4, "probability", 0.0, 1.0,
                                 "Extra probability that a migrant returns in a year the household suffers a serious illness (care, or the migrant's own illness).",
                                 "issue: 'health shocks can end migration'; assumption on the size")
    local_job_rate: float = param(0.06, "per household-year", 0.0, 1.0,
                                  "Probability that one resident adult without a stable job finds a local non-farm job in a year (times the county's job factor and market access).",
                                  "assumption: with local_job_loss it keeps local non-farm work at about 40% of non-farm workers (NBS 2014)")
    local_job_loss: float = param(0.12, "per household-year", 0.0, 1.0,
                                  "Probability that one local non-farm worker loses the job in a year (local jobs are less stable).",
                                  "assumption: short and informal local contracts")
    job_trend: float = param(0.03, "share per year", -0.5, 0.5,
                             "Growth per year of the probabilities of finding non-farm work (structural change), from 2014 = 1.",
                             "NBS: migrant workers grew 1-2% a year 2012-2019 while the rural population fell about 1.5% a year")
    casual_days: float = param(60.0, "days per adult-year", 0.0, 365.0,
                               "Days of casual local wage work (harvests, construction, odd jobs) of a resident adult without a stable job, on average; the year's days scatter with casual_days_sd. Wage income.",
                               "assumption: NBS counts casual and seasonal local work as wage income; rural adults without stable jobs work a couple of months a year for others")
    casual_days_sd: float = param(0.6, "sd of log days", 0.0, 3.0,
                                  "Year-to-year dispersion of a household's casual work days (lognormal, mean one).",
                                  "assumption: casual work comes and goes")
    casual_day_wage: float = param(100.0, "yuan per day in 2014", 0.0, 1e5,
                                   "Daily wage of casual local work in 2014, national average (times the county's income factor and the wage path).",
                                   "NDRC farm-product cost-benefit survey 2014: hired farm labour about 80-110 yuan a day")
    remittance_sd: float = param(0.8, "sd of log remittances", 0.0, 5.0,
                                 "Year-to-year dispersion of what migrants send home around the household's share (lognormal, mean one): unpaid wages, job changes, the migrant's own needs.",
                                 "assumption: remittances are far more volatile than earnings (wage arrears of migrant workers were widespread until 2016)")
    elderly_farm_labour: float = param(0.6, "adult equivalents", 0.0, 1.0,
                                       "Farm labour of an elderly member (the elderly keep farming).",
                                       "assumption: farming is increasingly done by the over-60s (Third Agricultural Census 2016: a third of farm operators over 55)")
    pension: float = param(1_100.0, "yuan per elderly member-year in 2014", 0.0, 1e6,
                           "Rural (urban-rural residents') pension of a member over 60 in 2014.",
                           "MOHRSS statistical bulletin 2014: basic pension raised to 70 yuan a month plus local top-ups, about 90 yuan a month on average")
    pension_growth: float = param(0.08, "real share per year", -0.5, 1.0,
                                  "Real growth per year of the pension after 2014.",
                                  "MOHRSS: average residents' pension benefit about 90 yuan a month in 2014 and 170 in 2020 (nominal)")
    ag_subsidy_per_mu: float = param(90.0, "yuan per mu-year", 0.0, 1e4,
                                     "Agricultural subsidies paid on contracted land (direct grain, seed and input subsidies; support and protection subsidy from 2016), a transfer.",
                                     "MOF: about 140 bn yuan of the three subsidies on about 1.6 bn mu of contracted land")


@dataclass
class LandParams:
    """The rental market for contracted land among households and to organisations (design 'national')."""

    market: bool = param(False, "switch", doc="Households short of farm labour rent land out, households with labour and machines rent it in, within the village at a regional rent; organisations lease members' land (enterprises pay rent, cooperatives dividends on land shares). Farmed land (natural capital) then changes year by year. Needs population.design = 'national'. Module: model/processes/land.py.",
                        source="issue 'A world that looks like rural China' (land); on in scenarios/calibrated.toml")
    rent_per_mu: list = param([750.0, 500.0, 350.0], "yuan per mu-year", 0.0, 1e5,
                              "Rent of one mu of contracted land by region.",
                              "assumption: land transfer rents of 2014 (Ministry of Agriculture rural management statistics; CLES Jiangsu 600-900 yuan)", keys=REGIONS)
    rent_in_rule: str = param("reach", "rule", doc="Who asks for land: 'reach' (every household whose farm labour and machines could work more than rent_in_slack x its land: the rule of 0.4) or 'profit' (only those whose expected margin on a rented mu, at normal prices and their own productivity, known to them, covers the rent: revenue per mu x (drive x machines x technology - input cost share) >= rent).",
                              source="textbook tenancy: land is rented in by those who farm it more profitably than the rent (Deininger & Jin 2005, land rental markets in China); tried in the world and not shipped (docs/odd.md section 8.4)", choices=("reach", "profit"))
    allocation: str = param("pro_rata", "rule", doc="How a village's land offered for rent is shared among the households that ask: 'pro_rata' (every asker gets the same share of its ask) or 'margin' (the askers with the highest expected margin on a rented mu are served first and in full, the last one in part: land goes to those who farm it best, and a village's supply makes a few tenants, not many small ones).",
                            source="Deininger & Jin (2005): China's rental markets move land to more productive farmers; assumption: rationing by the tenant's margin; tried in the world and not shipped (docs/odd.md section 8.4)", choices=("pro_rata", "margin"))
    rent_out_slack: float = param(1.5, "ratio", 1.0, 10.0,
                                  "A household rents out the land beyond slack x what its farm labour can work.",
                                  "assumption: households keep some land they cannot fully work (insurance value of land)")
    rent_in_slack: float = param(1.2, "ratio", 1.0, 10.0,
                                 "A household with farm labour for more than slack x its land asks for the difference.",
                                 "assumption: transaction costs deter small rentals")
    machine_mu: float = param(6.0, "mu per machine", 0.0, 1000.0,
                              "Land a machine lets a household work on top of its labour's reach.",
                              "assumption, as economy.mu_per_machine")
    organisation_land_share: float = param(0.5, "share of members' land to let", 0.0, 1.0,
                                           "Share of the land members offer that their organisation takes first (enterprise production bases at rent; cooperative land shares paid a dividend).",
                                           "assumption: land transferred to cooperatives and enterprises was about a third of all transferred land in 2014 (MOA)")
    rent_free_share: float = param(0.0, "share of land rented between households", 0.0, 1.0,
                                   "Share of the land households rent to one another that carries no rent (lent to kin and neighbours for nothing, or for the upkeep of the land); the rest pays rent_per_mu. Land let to organisations always pays. 0 in Params() and the world: 0.4 was tried and not shipped (docs/odd.md section 8.4).",
                                   "Wang, Xin, Zhang & Li (2019, Sustainability 11:3161): 30-50% of transferred land, by parcels and by area, received no rent (1986-2015, several national surveys; over 70% in mountainous areas); 0.4 the midpoint")
    share_dividend_premium: float = param(0.15, "share of rent", 0.0, 5.0,
                                          "Dividend on land shares in a cooperative above the regional rent.",
                                          "assumption: 'guaranteed rent plus dividend' land-share schemes")


@dataclass
class LinkageParams:
    """Interest linkage: wages, share dividends and the channels of each form (design 'national')."""

    enabled: bool = param(False, "switch", doc="Organisations employ members (processing and service jobs, wage income), cooperatives pay dividends on share capital besides transaction rebates, e-commerce opens market access for remote members, and contract demand and cooperative marketing move the county's local price (a spillover to non-members). Needs population.design = 'national'. Module: model/processes/linkage.py.",
                          source="Zhou & Li (seed 002): interest-linkage through wages, rents, share capital and dividends; issue 'A world that looks like rural China'; on in scenarios/calibrated.toml")
    jobs_per_member: list = param([0.08, 0.03, 0.05, 0.03], "jobs per member household", 0.0, 5.0,
                                  "Jobs an organisation of each form offers per member household (vertical chain: processing and cold chain; agritourism: guest-house and catering jobs).",
                                  "assumption: processing plants of a vertical chain employ about one member household in twelve, the other forms fewer (MOA 2017: leading enterprises employed about 14 million against about 125 million contracted households)", keys=FORMS)
    job_wage_factor: float = param(0.9, "share of local earnings", 0.0, 5.0,
                                   "Pay of an organisation job relative to a local non-farm job.",
                                   "assumption: agro-processing pays a little under other local work")
    share_capital: float = param(1_000.0, "yuan per member", 0.0, 1e6,
                                 "Share capital a cooperative member holds (paid in from the membership cost over the first years).",
                                 "assumption: member shares of a few hundred to a few thousand yuan")
    share_dividend_share: float = param(0.3, "share of surplus", 0.0, 0.4,
                                        "Share of the cooperative surplus paid as dividends on share capital and land shares (the law allows up to 40% beside the 60% returned by transactions).",
                                        "Farmer Specialised Cooperatives Law (2017): at least 60% returned by transactions, the rest may be paid on shares")
    remoteness_price_penalty: float = param(0.12, "share of price at infinite distance", 0.0, 1.0,
                                            "Farm-gate price lost to remoteness: price x (1 - penalty x distance / (distance + 20 km)); members of a form with the market-access trait (e-commerce) and cooperative members recover market_access_recovery of it.",
                                            "assumption: remote villages sell 5-10% below market-town prices (transport and middlemen)")
    market_access_recovery: list = param([0.5, 0.2, 0.3, 1.0], "share of the remoteness penalty recovered", 0.0, 1.0,
                                         "Share of the remoteness penalty an organisation of each form recovers for its members (e-commerce sells online from the village).",
                                         "assumption: online sales remove the distance penalty; a processing chain collects at the farm gate", keys=FORMS)
    price_spillover: float = param(0.1, "share of price per share contracted", 0.0, 5.0,
                                   "Rise of the county's spot price of a product per share of its growers in contracts or cooperative marketing (demand competition): every grower of the product, member or not, sells at the higher price.",
                                   "assumption: contract and cooperative demand bid up local farm-gate prices by a few percent (SUTVA fails for real)")
    cooperative_capacity_share: float = param(0.55, "share of the village's households", 0.01, 1.0,
                                              "Cooperative capacity as a share of its village's households (replaces cooperative.capacity when linkage is on: organisations fill up).",
                                              "assumption: a village cooperative can serve about half of the village (MOA 2019: about half of rural households in cooperatives)")
    enterprise_capacity_share: float = param(0.12, "share of the county's households", 0.001, 1.0,
                                             "Contracts of one leading enterprise as a share of its county's households (replaces enterprise.capacity when linkage is on).",
                                             "assumption: a county leading enterprise contracts about one farm in eight (MOA 2017: about 125 million households in contract farming with leading enterprises, about half of the farm households)")
    capacity_ramp: bool = param(False, "switch", doc="Organisations grow into their capacity as the number of registered farmer cooperatives grew: in a year up to 2019 an organisation accepts members only up to capacity x registered(year) / registered(2019), registered interpolated linearly between registered_cooperatives (2012, 2019); members above it are not expelled. Off: full capacity from the policy start.",
                                source="literature.md, official statistics: farmer cooperatives registered about 0.69 million (2012) to about 2.2 million (2019); linear interpolation between them; on in scenarios/world.toml")
    registered_cooperatives: list = param([0.69, 2.2], "million cooperatives", 0.0, 100.0,
                                          "Farmer cooperatives registered in 2012 and in 2019 (the capacity ramp).",
                                          "literature.md, official statistics (NBS / SAMR registrations)", keys=("y2012", "y2019"))
    tourism_trust_gain: float = param(0.03, "trust units per year", 0.0, 1.0,
                                      "Trust gained each year by members of a form with collective action (agritourism: villagers run the scenic village together).",
                                      "assumption: collective tourism ventures build village trust")


@dataclass
class SurveyParams:
    """How the simulated surveys measure (read by ruralabm.analysis.studies.survey; no process uses them)."""

    clds_income_error_sd: float = param(0.0, "sd of log reported income", 0.0, 5.0,
                                        "Recall error of income in the CLDS-like survey: reported income = true income x a mean-one lognormal error; the sample is the households whose REPORTED income per capita is below the line, and its ln income is the reported one. 0: the survey sees true income (the 'table1' world).",
                                        "assumption: interview surveys of rural income (CLDS, CFPS, CHIP) find far more households below the line than the NBS diary survey; the CLDS paper's 6,124 poor among a national sample, and its mean vulnerability of 0.40 (seed 001), need a large recall error; fitted to the CLDS Table 1 means in scenarios/calibrated.toml")
    clds_error_persistence: float = param(0.3, "share of the error variance", 0.0, 1.0,
                                          "Share of the recall error's variance that is the household's own (the same in both waves); the rest is new each wave.",
                                          "assumption: reporting habits persist, recall errors of a given year do not")
    report_shell_membership: bool = param(False, "switch",
                                          doc="The CLDS-like survey counts a registered member of a dormant ('shell') cooperative (household state shell_member, until cooperative.shell_cleanup_year) as participating, as a member asked about membership may answer. Off: the survey sees participation in an operating organisation only.",
                                          source="Hu et al., 'False prosperity' (about 37% of registered cooperatives were shells around 2014; policy support raised the nominal coverage ratio, not the cooperatives' function); an assumption that members of a shell report membership")


@dataclass
class PovertyParams:
    line_1_9: float = param(2427.0, "yuan per capita-year", 1.0, 1e6,
                            "World Bank $1.90/day at 3.5 yuan per PPP dollar (2011 ICP).",
                            "World Bank international poverty line")
    line_national: float = param(2800.0, "yuan per capita-year", 1.0, 1e6,
                                 "National line: 2300 yuan in 2010 prices = 2800 yuan in 2014.",
                                 "NBS 2014 rural poverty line")
    line_3_1: float = param(3960.0, "yuan per capita-year", 1.0, 1e6,
                            "World Bank $3.10/day at 3.5 yuan per PPP dollar.",
                            "World Bank lower-middle-income line")


@dataclass
class Params:
    population: PopulationParams = field(default_factory=PopulationParams)
    calendar: CalendarParams = field(default_factory=CalendarParams)
    shocks: ShockParams = field(default_factory=ShockParams)
    economy: EconomyParams = field(default_factory=EconomyParams)
    participation: ParticipationParams = field(default_factory=ParticipationParams)
    cooperative: CooperativeParams = field(default_factory=CooperativeParams)
    enterprise: EnterpriseParams = field(default_factory=EnterpriseParams)
    forms: FormParams = field(default_factory=FormParams)
    learning: LearningParams = field(default_factory=LearningParams)
    capitals: CapitalParams = field(default_factory=CapitalParams)
    policy: PolicyParams = field(default_factory=PolicyParams)
    county: CountyParams = field(default_factory=CountyParams)
    campaign: CampaignParams = field(default_factory=CampaignParams)
    registration: RegistrationParams = field(default_factory=RegistrationParams)
    demography: DemographyParams = field(default_factory=DemographyParams)
    labour: LabourParams = field(default_factory=LabourParams)
    land: LandParams = field(default_factory=LandParams)
    linkage: LinkageParams = field(default_factory=LinkageParams)
    survey: SurveyParams = field(default_factory=SurveyParams)
    poverty: PovertyParams = field(default_factory=PovertyParams)

    # --- construction and validation -------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Params":
        """Build validated parameters from nested sections (unknown keys are errors)."""
        params = cls()
        params.update(data)
        return params

    def update(self, data: Mapping[str, Any], prefix: str = "") -> None:
        """Set keys from nested sections in place, validating each one."""
        sections = {f.name: f for f in fields(self)}
        for section_name, values in data.items():
            if section_name not in sections:
                raise ParameterError(
                    f"unknown parameter section '{prefix}{section_name}'; allowed sections: {', '.join(sections)}"
                )
            if not isinstance(values, Mapping):
                raise ParameterError(
                    f"parameter section '{prefix}{section_name}' must be a table of keys, got {values!r}"
                )
            section = getattr(self, section_name)
            for key, value in values.items():
                set_parameter(section, key, value, f"{prefix}{section_name}")
        self.validate()

    def set(self, dotted_key: str, value: Any) -> None:
        """Set one parameter by its dotted name, e.g. ``shocks.disaster_probability``."""
        section, _, key = dotted_key.partition(".")
        if not key:
            raise ParameterError(f"parameter '{dotted_key}' must be written as section.key, e.g. shocks.disaster_probability")
        self.update({section: {key: value}})

    def set_many(self, values: "Mapping[str, Any] | Iterable[tuple[str, Any]]") -> "Params":
        """Set several parameters by dotted name and validate the whole set once.

        Keys are ``section.key`` or ``section.key[i]`` (one entry of a list parameter). The
        cross-field checks (sums to one, households per village, ...) see all the new values
        together, so a set that is valid as a whole never trips on a half-applied state. All or
        nothing: if any key or the set is invalid, nothing changes. Returns ``self``.
        """
        items = list(values.items()) if isinstance(values, Mapping) else list(values)
        sections: dict[str, dict[str, Any]] = {}
        for dotted, value in items:
            m = _INDEXED_KEY.match(dotted)
            key = m.group(1) if m else dotted
            section, _, name = key.partition(".")
            if not name:
                raise ParameterError(f"parameter '{dotted}' must be written as section.key, e.g. shocks.disaster_probability")
            if m:
                i = int(m.group(2))
                current = sections.get(section, {}).get(name, self.get(key))
                if not isinstance(current, list):
                    raise ParameterError(f"{dotted}: {key} is not a list parameter")
                if i >= len(current):
                    raise ParameterError(f"{dotted}: {key} has {len(current)} entries")
                current = list(current)
                current[i] = value
                value = current
            sections.setdefault(section, {})[name] = value
        saved = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)}
        try:
            self.update(sections)
        except ParameterError:
            for k, v in saved.items():
                setattr(self, k, v)
            raise
        return self

    def get(self, dotted_key: str) -> Any:
        section, _, key = dotted_key.partition(".")
        spec = parameter_spec(dotted_key)  # raises with the valid names
        del spec
        return getattr(getattr(self, section), key)

    def validate(self) -> None:
        """Cross-field checks that single-key ranges cannot express."""
        c = self.calendar
        if c.end_year < c.start_year:
            raise ParameterError(f"calendar.end_year = {c.end_year} is before calendar.start_year = {c.start_year}")
        p = self.population
        if p.share_east + p.share_central > 1.0 + 1e-12:
            raise ParameterError(
                f"population.share_east + population.share_central = {p.share_east + p.share_central:g}; must be <= 1 (west is the rest)"
            )
        if p.n_counties * p.villages_per_county > p.n_households:
            raise ParameterError(
                f"population.n_households = {p.n_households} is fewer than the {p.n_counties * p.villages_per_county} villages "
                f"(n_counties x villages_per_county); use more households or fewer places"
            )
        lengths = {
            "shocks.disaster_class_probabilities": (self.shocks.disaster_class_probabilities, 3),
            "shocks.disaster_yield_loss": (self.shocks.disaster_yield_loss, 3),
            "shocks.price_volatility": (self.shocks.price_volatility, len(PRODUCTS)),
            "economy.farm_revenue_per_mu": (self.economy.farm_revenue_per_mu, len(PRODUCTS)),
            "economy.region_wage_premium": (self.economy.region_wage_premium, len(REGIONS)),
            "forms.price_gain": (self.forms.price_gain, len(FORMS)),
            "forms.yield_gain": (self.forms.yield_gain, len(FORMS)),
            "forms.business_income": (self.forms.business_income, len(FORMS)),
            "forms.skill_gain": (self.forms.skill_gain, len(FORMS)),
            "forms.ties_gain": (self.forms.ties_gain, len(FORMS)),
            "forms.training_multiplier": (self.forms.training_multiplier, len(FORMS)),
            "policy.form_shares": (self.policy.form_shares, len(FORMS)),
            "county.exit_threshold": (self.county.exit_threshold, len(REGIONS)),
            "campaign.plan_shares": (self.campaign.plan_shares, 5),
            "campaign.announce_lag": (self.campaign.announce_lag, 2),
            "population.head_edu_probs": (self.population.head_edu_probs, 7),
            "demography.successor_edu_probs": (self.demography.successor_edu_probs, 7),
            "population.migrant_share": (self.population.migrant_share, len(REGIONS)),
            "land.rent_per_mu": (self.land.rent_per_mu, len(REGIONS)),
            "policy.region_subsidy_factor": (self.policy.region_subsidy_factor, len(REGIONS)),
            "linkage.jobs_per_member": (self.linkage.jobs_per_member, len(FORMS)),
            "linkage.market_access_recovery": (self.linkage.market_access_recovery, len(FORMS)),
            "linkage.registered_cooperatives": (self.linkage.registered_cooperatives, 2),
        }
        for name, (value, n) in lengths.items():
            if len(value) != n:
                raise ParameterError(f"{name} = {value!r} must have {n} entries")
        cp = self.campaign
        if not cp.announce_lag[0] <= cp.announce_lag[1]:
            raise ParameterError(f"campaign.announce_lag = {cp.announce_lag!r}: earliest must not be after latest")
        if cp.deadline_year < cp.plan_first_year:
            raise ParameterError(f"campaign.deadline_year = {cp.deadline_year} is before campaign.plan_first_year = {cp.plan_first_year}")
        if sum(cp.plan_shares) > 1.0 + 1e-9:
            raise ParameterError(f"campaign.plan_shares = {cp.plan_shares!r} must sum to at most 1 (the rest are planned for the deadline)")
        if self.population.design != "national":
            needs = [name for name, on in (("demography.enabled", self.demography.enabled),
                                           ("labour.enabled", self.labour.enabled), ("land.market", self.land.market),
                                           ("linkage.enabled", self.linkage.enabled)) if on]
            if needs:
                raise ParameterError(f"{', '.join(needs)} = true needs population.design = 'national' "
                                     f"(population.design = {self.population.design!r})")
        for name in ("shocks.disaster_class_probabilities", "policy.form_shares", "population.head_edu_probs",
                     "demography.successor_edu_probs"):
            total = sum(self.get(name))
            if abs(total - 1.0) > 1e-9:
                raise ParameterError(f"{name} = {self.get(name)!r} must sum to 1 (sums to {total:g})")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def copy(self) -> "Params":
        return copy.deepcopy(self)


def parameter_spec(dotted_key: str) -> dict:
    """Metadata (unit, range, doc, source, default) of one parameter, by dotted name."""
    section_name, _, key = dotted_key.partition(".")
    sections = {f.name: f for f in fields(Params)}
    if section_name not in sections:
        raise ParameterError(f"unknown parameter '{dotted_key}'; sections are: {', '.join(sections)}")
    section_cls = sections[section_name].default_factory
    keys = {f.name: f for f in fields(section_cls)}
    if key not in keys:
        raise ParameterError(
            f"unknown parameter '{dotted_key}'; keys of [{section_name}] are: {', '.join(keys)}"
        )
    f = keys[key]
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    return {**f.metadata, "name": dotted_key, "default": default, "type": type(default).__name__}


def all_parameter_specs() -> list[dict]:
    out = []
    for section in fields(Params):
        for f in fields(section.default_factory):
            out.append(parameter_spec(f"{section.name}.{f.name}"))
    return out


def set_parameter(section: Any, key: str, value: Any, section_name: str) -> None:
    name = f"{section_name}.{key}"
    spec = parameter_spec(name)
    setattr(section, key, _coerce(name, value, spec))


def _coerce(name: str, value: Any, spec: dict) -> Any:
    default = spec["default"]
    low, high = spec["low"], spec["high"]
    allowed = _allowed_text(spec)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ParameterError(f"{name} = {value!r} is not allowed: must be true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise ParameterError(f"{name} = {value!r} is not allowed: must be an integer {allowed}")
        value = int(value)
        _check_range(name, value, low, high, allowed)
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{name} = {value!r} is not allowed: must be a number {allowed}")
        value = float(value)
        if not math.isfinite(value):
            raise ParameterError(f"{name} = {value!r} is not allowed: must be finite {allowed}")
        _check_range(name, value, low, high, allowed)
        return value
    if isinstance(default, list):
        if isinstance(value, Mapping) and spec.get("keys"):
            keys = spec["keys"]
            unknown = [k for k in value if k not in keys]
            if unknown:
                raise ParameterError(f"{name} = {dict(value)!r} is not allowed: unknown entries {unknown}; "
                                     f"entries are {', '.join(keys)}")
            fill = spec.get("fill")
            value = [value[k] if k in value else (fill if fill is not None else d) for k, d in zip(keys, default)]
        if not isinstance(value, (list, tuple)):
            raise ParameterError(f"{name} = {value!r} is not allowed: must be a list of {len(default)} numbers {allowed}")
        if len(value) != len(default):
            raise ParameterError(f"{name} = {value!r} is not allowed: must have {len(default)} entries")
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ParameterError(f"{name} = {value!r} is not allowed: entries must be finite numbers {allowed}")
            _check_range(name, float(v), low, high, allowed, whole=value)
            out.append(float(v))
        return out
    if isinstance(default, str):
        if not isinstance(value, str) or (spec["choices"] and value not in spec["choices"]):
            raise ParameterError(f"{name} = {value!r} is not allowed: must be one of {spec['choices']}")
        return value
    raise ParameterError(f"{name}: unsupported parameter type")  # pragma: no cover


def _allowed_text(spec: dict) -> str:
    low, high = spec["low"], spec["high"]
    if low is not None and high is not None:
        return f"in [{low:g}, {high:g}] ({spec['unit']})"
    return f"({spec['unit']})"


def _check_range(name, value, low, high, allowed, whole=None):
    shown = whole if whole is not None else value
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParameterError(f"{name} = {shown!r} is out of range: allowed {allowed}")
