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
              registration: bool = False, out: YearDraws | None = None) -> YearDraws:
    """The year's draws; into the arrays of ``out`` (a finished year's draws) where their shapes
    fit, which gives the same numbers without mapping fresh memory every year."""
    n = n_households
    arrays: dict[str, np.ndarray] = {}

    def fill(g: np.random.Generator, name: str, kind: str, shape: tuple, dtype=np.float64) -> None:
        buffer = getattr(out, name, None)
        if not (isinstance(buffer, np.ndarray) and buffer.shape == shape and buffer.dtype == dtype):
            buffer = np.empty(shape, dtype=dtype)
        (g.random if kind == "u" else g.standard_normal)(dtype=dtype, out=buffer)
        arrays[name] = buffer

    # Each stream's arrays in a fixed order (a new array goes last in its stream, or in a new one).
    g = stream(seed, "prices", year)
    fill(g, "price_innovation", "z", (4,))
    g = stream(seed, "disasters", year)
    fill(g, "village_disaster_u", "u", (n_villages,))
    fill(g, "village_class_u", "u", (n_villages,))
    fill(g, "county_disaster_u", "u", (n_counties,))
    fill(g, "county_class_u", "u", (n_counties,))
    g = stream(seed, "health", year)
    fill(g, "health_shock_u", "u", (n,))
    fill(g, "medical_cost_z", "z", (n,))
    g = stream(seed, "participation", year)
    fill(g, "participation_eps", "z", (n,))
    fill(g, "org_choice_z", "z", (n,))
    fill(g, "exit_u", "u", (n,))
    g = stream(seed, "production", year)
    for name in ("farm_z", "wage_z", "business_z"):
        fill(g, name, "z", (n,))
    g = stream(seed, "contracts", year)
    fill(g, "renege_u", "u", (n_organisations,))
    fill(g, "side_sell_u", "u", (n,))
    g = stream(seed, "learning", year)
    for name in ("org_training_u", "county_training_u", "adoption_u", "disadoption_u"):
        fill(g, name, "u", (n,))
    g = stream(seed, "demography", year)
    for name in ("health_change_u", "job_u", "machine_scrap_u"):
        fill(g, name, "u", (n,))
    g = stream(seed, "policy", year)
    fill(g, "subsidy_review_u", "u", (n,))
    fill(g, "targeting_z", "z", (n,))
    fill(g, "failure_u", "u", (n_organisations,))
    if labour:  # streams of their own: the draws above never move
        g = stream(seed, "labour", year)
        fill(g, "labour_u", "u", (n, 4), np.float32)
        fill(g, "labour_z", "z", (n, 4), np.float32)
    if demography:
        g = stream(seed, "members", year)
        fill(g, "members_u", "u", (n, 8), np.float32)
        fill(g, "members_z", "z", (n, 4), np.float32)
    if registration:
        g = stream(seed, "registration", year)
        fill(g, "registration_z", "z", (n,))
        fill(g, "registration_u", "u", (n,))
    return YearDraws(**arrays)


class DrawPrefetcher:
    """Draws next year's random numbers in a background thread while this year is simulated.

    A year's draws depend only on (seed, year, array sizes), never on the state, so drawing them
    early gives the very same numbers. numpy's generators release the GIL while they fill an
    array, so on two cores the drawing (about a sixth of a simulated year) overlaps the year's
    processes. A prefetch whose sizes no longer match is discarded and the year drawn again.
    Below ``MIN_HOUSEHOLDS`` the thread costs more than it saves.

    The arrays are recycled: a year is drawn into those of the year before last, which no
    process reads any more (the year being simulated holds the others).
    """

    MIN_HOUSEHOLDS = 10_000

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._thread: threading.Thread | None = None
        self._key: tuple | None = None
        self._result = None
        self._current: YearDraws | None = None  # handed out last: the year being simulated
        self._spare: YearDraws | None = None    # handed out before that: free to be refilled

    def _hand_out(self, draws: YearDraws) -> YearDraws:
        if draws is not self._current:
            self._spare, self._current = self._current, draws
        return draws

    def _take_spare(self) -> YearDraws | None:
        spare, self._spare = self._spare, None
        return spare

    def get(self, *key) -> YearDraws:
        """The draws of ``draw_year(*key)``: the prefetched ones if they were made for ``key``."""
        if self._thread is not None:
            self._thread.join()
            made_for, result = self._key, self._result
            self._thread, self._key, self._result = None, None, None
            if made_for == key and isinstance(result, YearDraws):
                return self._hand_out(result)
        return self._hand_out(draw_year(*key, out=self._take_spare()))

    def prefetch(self, *key) -> None:
        """Start drawing ``draw_year(*key)`` in the background (nothing if disabled or small)."""
        if not self.enabled or key[2] < self.MIN_HOUSEHOLDS or self._thread is not None:
            return
        out = self._take_spare()

        def work():
            lower_priority()
            try:
                self._result = draw_year(*key, out=out)
            except BaseException as exc:  # noqa: BLE001 - re-raised by get()'s own draw_year
                self._result = exc

        self._key = key
        self._thread = threading.Thread(target=work, name="ruralabm-draws", daemon=True)
        self._thread.start()
