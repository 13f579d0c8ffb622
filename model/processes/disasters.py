"""Shock: natural disasters of the year, per village and county-wide.

Reads ``params.shocks`` (disaster_probability, county_disaster_probability,
disaster_class_probabilities, disaster_yield_loss) and the draws ``village_disaster_u``,
``village_class_u``, ``county_disaster_u``, ``county_class_u``; writes
``villages.disaster_loss`` (share of yield lost), which production reads.
"""
from __future__ import annotations

import numpy as np

from ..world import World


def strike_disasters(world: World) -> None:
    p, d = world.params.shocks, world.draws
    v = world.villages
    loss = np.asarray(p.disaster_yield_loss)
    cum = np.cumsum(p.disaster_class_probabilities)[:-1]
    village_p, county_p = p.disaster_probability, p.county_disaster_probability
    pop = world.params.population
    if pop.design == "national":  # disaster risk differs by region
        risk = np.asarray(pop.region_disaster_factor)
        village_p = village_p * risk[v.region]
        county_p = county_p * risk[world.counties.region]
    village_loss = np.where(d.village_disaster_u < village_p,
                            loss[np.searchsorted(cum, d.village_class_u, side="right")], 0.0)
    county_loss = np.where(d.county_disaster_u < county_p,
                           loss[np.searchsorted(cum, d.county_class_u, side="right")], 0.0)
    # A county-wide disaster hits every village of the county; losses do not add up beyond the worst.
    v.disaster_loss[:] = np.maximum(village_loss, county_loss[v.county_id])
