"""Random streams for common random numbers.

Every stochastic process draws from its own generator keyed by (master seed, process, year):
``SeedSequence(seed, spawn_key=(process_id, year))``. Draws are made for *all* households (or
villages, counties, organisations) at once, whatever their state, so the numbers a household
receives never depend on the policy or on other households' decisions. Two runs with the same
seed and different policies therefore see identical shocks, prices and idiosyncratic draws.
"""
from __future__ import annotations

import numpy as np

# Fixed process identifiers: never renumber (that would reshuffle every stream).
PROCESSES = {
    "population": 1,
    "places": 2,
    "organisations": 3,
    "prices": 4,
    "disasters": 5,
    "health": 6,
    "participation": 7,
    "production": 8,
    "contracts": 9,
    "learning": 10,
    "demography": 11,
    "policy": 12,
    "survey": 13,
    "counties": 14,   # county structure at set-up (year 0)
    "campaign": 15,   # exit assessment surveys and announcement dates (per year)
    "registration": 16,  # poverty-register assessment noise and exclusion (per year)
    "labour": 17,     # members' moves between farm, local and migrant work; earnings (per year)
    "members": 18,    # demography: births, ageing, deaths, leaving home, succession (per year)
}


def stream(seed: int, process: str, year: int = 0) -> np.random.Generator:
    """The generator of one process in one year (year 0 for set-up draws)."""
    if process not in PROCESSES:
        raise KeyError(f"unknown random process {process!r}; known: {', '.join(PROCESSES)}")
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(PROCESSES[process], int(year)))
    return np.random.Generator(np.random.PCG64(ss))
