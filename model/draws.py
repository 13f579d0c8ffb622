"""Pre-drawn random numbers of one year, for every household, village, county and organisation.

Each process has its own stream keyed by (seed, process, year) and draws fixed-size arrays in
a fixed order, whatever the state of the world. A household's draws therefore never depend on
the policy or on other households' choices (common random numbers).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .parallel import lower_priority
from .rng import stream


@dataclass
class YearDraws:
    # prices
    price_innovation: np.ndarray      # (4,) standard normal per product
    # disasters
    village_disaster_u: np.ndarray    # (villages,)
    village_class_u: np.ndarray       # (villages,)
    county_disaster_u: np.ndarray     # (counties,)
    county_class_u: np.ndarray        # (counties,)
    # health
    health_shock_u: np.ndarray        # (n,)
    medical_cost_z: np.ndarray        # (n,)
    # participation
    participation_eps: np.ndarray     # (n,) standard normal taste shock
    org_choice_z: np.ndarray          # (n,) preference between cooperative and enterprise
    exit_u: np.ndarray                # (n,)
    # production
    farm_z: np.ndarray                # (n,)
    wage_z: np.ndarray                # (n,)
    business_z: np.ndarray            # (n,)
    # contracts
    renege_u: np.ndarray              # (organisations,)
    side_sell_u: np.ndarray           # (n,)
    # learning
    org_training_u: np.ndarray        # (n,)
    county_training_u: np.ndarray     # (n,)
    adoption_u: np.ndarray            # (n,)
    disadoption_u: np.ndarray         # (n,)
    # demography and assets
    health_change_u: np.ndarray       # (n,)
    job_u: np.ndarray                 # (n,)
    machine_scrap_u: np.ndarray       # (n,)
    # policy
    subsidy_review_u: np.ndarray      # (n,)
    targeting_z: np.ndarray           # (n,)
    failure_u: np.ndarray             # (organisations,)
    # members' work (labour process; drawn only when labour.enabled): uniforms for a migrant
    # returning, an adult leaving to work away, a local job lost, a local job found; normals of
    # this year's migrant and local earnings
    labour_u: np.ndarray | None = None     # (n, 4) float32
    labour_z: np.ndarray | None = None     # (n, 4) float32: migrant earnings, local earnings, remittances, casual days
    # demography (drawn only when demography.enabled): uniforms of the member events and normals
    # of a successor's or re-founded household's traits (model/processes/demography.py)
    members_u: np.ndarray | None = None    # (n, 8) float32
    members_z: np.ndarray | None = None    # (n, 4) float32
    # the poverty register's assessment noise and exclusion uniforms (stream ``registration``; drawn
    # only with registration.rule = 'assessment'; model/processes/registration.py)
    registration_z: np.ndarray | None = None  # (n,)
    registration_u: np.ndarray | None = None  # (n,)


def draw_year(seed: int, year: int, n_households: int, n_villages: int, n_counties: int,
              n_organisations: int, labour: bool = False, demography: bool = False,
              registration: bool = False) -> YearDraws:
    n = n_households
    g = stream(seed, "prices", year)
    price_innovation = g.standard_normal(4)
    g = stream(seed, "disasters", year)
    village_disaster_u, village_class_u = g.random(n_villages), g.random(n_villages)
    county_disaster_u, county_class_u = g.random(n_counties), g.random(n_counties)
    g = stream(seed, "health", year)
    health_shock_u, medical_cost_z = g.random(n), g.standard_normal(n)
    g = stream(seed, "participation", year)
    participation_eps, org_choice_z, exit_u = g.standard_normal(n), g.standard_normal(n), g.random(n)
    g = stream(seed, "production", year)
    farm_z, wage_z, business_z = g.standard_normal(n), g.standard_normal(n), g.standard_normal(n)
    g = stream(seed, "contracts", year)
    renege_u, side_sell_u = g.random(n_organisations), g.random(n)
    g = stream(seed, "learning", year)
    org_training_u, county_training_u = g.random(n), g.random(n)
    adoption_u, disadoption_u = g.random(n), g.random(n)
    g = stream(seed, "demography", year)
    health_change_u, job_u, machine_scrap_u = g.random(n), g.random(n), g.random(n)
    g = stream(seed, "policy", year)
    subsidy_review_u, targeting_z, failure_u = g.random(n), g.standard_normal(n), g.random(n_organisations)
    extra = {}
    if labour:  # streams of their own: the draws above never move
        g = stream(seed, "labour", year)
        extra["labour_u"] = g.random((n, 4), dtype=np.float32)
        extra["labour_z"] = g.standard_normal((n, 4), dtype=np.float32)
    if demography:
        g = stream(seed, "members", year)
        extra["members_u"] = g.random((n, 8), dtype=np.float32)
        extra["members_z"] = g.standard_normal((n, 4), dtype=np.float32)
    if registration:
        g = stream(seed, "registration", year)
        extra["registration_z"] = g.standard_normal(n)
        extra["registration_u"] = g.random(n)
    arrays = {k: v for k, v in locals().items() if isinstance(v, np.ndarray)}
    return YearDraws(**arrays, **extra)


class DrawPrefetcher:
    """Draws next year's random numbers in a background thread while this year is simulated.

    A year's draws depend only on (seed, year, array sizes), never on the state, so drawing them
    early gives the very same numbers. numpy's generators release the GIL while they fill an
    array, so on two cores the drawing (about a sixth of a simulated year) overlaps the year's
    processes. A prefetch whose sizes no longer match is discarded and the year drawn again.
    Below ``MIN_HOUSEHOLDS`` the thread costs more than it saves.
    """

    MIN_HOUSEHOLDS = 10_000

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._thread: threading.Thread | None = None
        self._key: tuple | None = None
        self._result = None

    def get(self, *key) -> YearDraws:
        """The draws of ``draw_year(*key)``: the prefetched ones if they were made for ``key``."""
        if self._thread is not None:
            self._thread.join()
            made_for, result = self._key, self._result
            self._thread, self._key, self._result = None, None, None
            if made_for == key and isinstance(result, YearDraws):
                return result
        return draw_year(*key)

    def prefetch(self, *key) -> None:
        """Start drawing ``draw_year(*key)`` in the background (nothing if disabled or small)."""
        if not self.enabled or key[2] < self.MIN_HOUSEHOLDS or self._thread is not None:
            return

        def work():
            lower_priority()
            try:
                self._result = draw_year(*key)
            except BaseException as exc:  # noqa: BLE001 - re-raised by get()'s own draw_year
                self._result = exc

        self._key = key
        self._thread = threading.Thread(target=work, name="ruralabm-draws", daemon=True)
        self._thread.start()
