"""The yearly schedule: the order of the processes in one step (one calendar year).

Each entry is (name, level, function). ``level`` says who runs it: ``world`` once for the
whole region, ``county`` / ``organisation`` for each such agent, ``household`` for each
household. The vectorised path calls each function once over all units; the per-agent path
calls it for one agent at a time, in the same order. World-level functions take ``(world)``,
the others ``(world, idx)``. This list is the whole year: the model adds nothing to it. The
order is the one the design card asks for and is tested in tests/test_model.py.

Shock processes (``prices``, ``disasters``, ``health_shocks``) each live in their own module
and write what production reads; a new shock type is one more module and one entry here (see
docs/architecture.md, "Adding a shock type").
"""
from __future__ import annotations

from .processes import (capitals, consumption, coping, counties, demography, disasters, health, labour, land, learning,
                        linkage, organisations, outcomes, participation, policy, prices, production, registration)

SCHEDULE = [
    # 1. shocks of the year that are known before decisions; county policy and budget
    ("prices", "world", prices.realise_prices),
    ("disasters", "world", disasters.strike_disasters),
    ("county_budgets", "county", policy.county_budgets),
    ("county_structure", "world", counties.county_structure),  # structure indices and their channels
    ("subsidy_review", "household", policy.subsidy_review),
    ("registration", "world", registration.review_register),  # the poverty register (rule 'assessment')
    ("allocate_work", "household", labour.allocate_work),  # farm, local or migrant work (labour.enabled)
    # 2. organisations recruit and contract
    ("open_and_close", "organisation", organisations.open_and_close),
    ("set_contracts", "organisation", organisations.set_contracts),
    ("enterprise_index", "world", organisations.index_enterprises),  # which enterprise serves whom
    # 3. households decide participation; organisations accept up to capacity
    ("decide_participation", "household", participation.decide),
    ("accept_applicants", "organisation", organisations.accept_applicants),
    ("assign_jobs", "world", linkage.assign_jobs),  # organisation jobs for members (linkage.enabled)
    ("land_market", "world", land.clear_land_market),  # rentals among households and to organisations
    ("local_prices", "world", linkage.local_prices),  # contract and cooperative demand move local prices
    # 4. production and income by source, with shocks; organisations settle
    ("health_shocks", "household", health.strike_health),
    ("produce", "household", production.produce),
    ("settle_cooperatives", "organisation", organisations.settle_cooperatives),
    ("record_enterprise_outcomes", "organisation", organisations.record_enterprise_outcomes),
    ("campaign_support", "household", counties.campaign_support),  # exit-campaign support and the floor
    # 5. coping
    ("cope", "household", coping.cope),
    # 6. consumption, saving, investment
    ("consume_save_invest", "household", consumption.consume_save_invest),
    # 7. learning
    ("learn", "household", learning.learn),
    ("village_adoption", "world", learning.village_adoption),
    # 8. depreciation and capital updates
    ("update_capitals", "household", capitals.update_capitals),
    ("demography", "household", demography.population_dynamics),  # births, deaths, leaving home, succession
    # 9. outcomes: the exit campaign's assessment, then the record
    ("county_campaign", "world", counties.county_campaign),
    ("record_outcomes", "world", outcomes.record_outcomes),
]

PHASES = [name for name, _, _ in SCHEDULE]
