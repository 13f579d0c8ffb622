"""Demography (``demography.enabled``, design 'national'): members age between the groups, are
born and die, young adults leave home, and the head is succeeded by the next generation.

Year end, after the capitals (the head has aged a year). Events of a household in a year, each
at most once and decided by its own uniform of the stream ``members`` (drawn for every household
whatever its state, so households never shift each other's draws):

0. a birth, in a household with a head under 45 and at least two adults (``birth_rate``);
1. a child turns 16 (children / 16 per year);
2. an adult other than the head turns 60 (per such adult, ``adult_to_elderly_rate``);
3. an elderly member other than the head dies (per such member, ``elderly_mortality``);
4. a young adult leaves home: marries out, divides off or settles in town (per adult beyond
   the head and spouse, ``leave_home_rate``); a migrant more likely than a resident, in
   proportion to their numbers;
5. the head dies (Gompertz: ``head_mortality_60`` x exp(``head_mortality_slope`` (age - 60)));
6. an old head hands over (``succession_rate`` per decade above ``succession_age``).

On succession, or when the head dies, a resident adult takes over: a new head one generation
younger (``generation_gap``), schooled like the younger cohort (``successor_edu_probs``),
healthy and working. The old head, if alive, stays as an elderly member. When the head dies and
no adult lives at home, the elderly spouse (if any) heads on. A household left with no member is
re-founded by a young couple (the village re-allocates its contracted land and house): the panel
keeps the household id, as a panel survey replacing an attrited household would.

The head changes group (adult to elderly) when the head turns 60. Members of a household keep
working as they were (the labour process moves them); members who die or leave are taken from
the resident farm adults first, then local workers, then migrants (a leaver from the migrants
with probability migrants / adults).
"""
from __future__ import annotations

import numpy as np

from ..population import EDU_CODES
from ..world import World
from .arrays import at_least
from .labour import update_members


def _edu_codes(probs, u: np.ndarray) -> np.ndarray:
    return EDU_CODES[np.searchsorted(np.cumsum(probs)[:-1], u, side="right")]


def _take_adult(hh, idx, mask, prefer_migrant_u=None) -> None:
    """Remove one adult member where ``mask``: a migrant (with probability migrants / adults when
    ``prefer_migrant_u`` is given), else a farm adult, else a local worker, else a migrant."""
    # The events are rare: work on the households they hit only.
    hit = np.flatnonzero(mask)
    if hit.size == 0:
        return
    rows = np.arange(hh.n)[idx].take(hit)
    adults = hh.adults.take(rows).astype(np.int64)
    migrants = hh.migrants.take(rows).astype(np.int64)
    local = hh.local_workers.take(rows).astype(np.int64)
    org = hh.org_jobs.take(rows).astype(np.int64)
    farm = at_least(adults - migrants - local - org, 0)
    if prefer_migrant_u is None:
        is_migrant = np.zeros(adults.shape, dtype=bool)
    else:
        is_migrant = (migrants > 0) & (prefer_migrant_u.take(hit) * at_least(adults, 1) < migrants)
    from_migrants = is_migrant | ((farm == 0) & (local == 0) & (org == 0) & (migrants > 0))
    rest = ~from_migrants
    from_farm = rest & (farm > 0)
    from_local = rest & ~from_farm & (local > 0)
    from_org = rest & ~from_farm & ~from_local & (org > 0)
    hh.migrants[rows] = migrants - from_migrants
    hh.local_workers[rows] = local - from_local
    hh.org_jobs[rows] = org - from_org
    hh.adults[rows] = adults - 1


def population_dynamics(world: World, idx) -> None:
    p, hh = world.params, world.households
    dp = p.demography
    if not dp.enabled:
        return
    u = world.draws.members_u[idx]
    z = world.draws.members_z[idx]
    age = hh.age[idx].astype(np.float64)

    # The head (and the spouse, when there is a second adult) crossing 60 move to the elderly.
    turned = (age >= 60.0) & (age - 1.0 < 60.0) & (hh.adults[idx] > 0)
    _take_adult(hh, idx, turned)
    spouse = turned & (hh.adults[idx] > 0)
    _take_adult(hh, idx, spouse)
    hh.elderly[idx] += turned.astype(np.int16) + spouse.astype(np.int16)

    head_adult = age < 60.0
    adults = hh.adults[idx].astype(np.int64)
    other_adults = at_least(adults - head_adult, 0)
    elderly = hh.elderly[idx].astype(np.int64)
    other_elderly = at_least(elderly - ~head_adult, 0)
    children = hh.children[idx].astype(np.int64)

    # 0 birth, 1 child -> adult, 2 adult -> elderly, 3 elderly death, 4 leaving home.
    young_couple = ((age < 45.0) & (adults >= 2)) | ((age >= 45.0) & (other_adults - head_adult >= 2))
    birth = young_couple & (u[:, 0] < dp.birth_rate)
    grows_up = (children > 0) & (u[:, 1] < np.minimum(1.0, children * dp.child_to_adult_rate))
    ages = (other_adults > 0) & (u[:, 2] < np.minimum(1.0, other_adults * dp.adult_to_elderly_rate))  # rare
    dies = (other_elderly > 0) & (u[:, 3] < np.minimum(1.0, other_elderly * dp.elderly_mortality))
    spare = at_least(other_adults - 1, 0)  # adults beyond the head and a spouse
    leaves = (spare > 0) & (u[:, 4] < np.minimum(1.0, spare * dp.leave_home_rate))
    hh.children[idx] = children + birth - grows_up
    hh.adults[idx] = adults + grows_up  # the new adult lives at home and farms
    _take_adult(hh, idx, ages)
    hh.elderly[idx] += ages.astype(np.int16)
    hh.elderly[idx] -= dies.astype(np.int16)
    _take_adult(hh, idx, leaves & (hh.adults[idx] > head_adult), prefer_migrant_u=u[:, 7])

    # 5 the head dies, 6 the head hands over.
    head_death = u[:, 5] < np.minimum(1.0, dp.head_mortality_60 * np.exp(dp.head_mortality_slope * (age - 60.0)))
    resident_adults = at_least(hh.adults[idx] - hh.migrants[idx] - head_adult, 0)
    any_adult = at_least(hh.adults[idx] - head_adult, 0) > 0
    hands_over = (~head_death & (resident_adults > 0) & (age >= dp.succession_age)
                  & (u[:, 6] < np.minimum(1.0, dp.succession_rate * (age - dp.succession_age) / 10.0)))
    # The dead head leaves the household (an adult head from whatever work the household's adults do).
    _take_adult(hh, idx, head_death & head_adult & (hh.adults[idx] > 0))
    hh.elderly[idx] -= (head_death & ~head_adult & (hh.elderly[idx] > 0)).astype(np.int16)
    successor = hands_over | (head_death & any_adult)
    spouse_heads = head_death & ~any_adult & (hh.elderly[idx] > 0)
    rows = np.arange(hh.n)[idx]
    new_rows = rows.compress(successor)
    if new_rows.size:
        zs = z.compress(successor, axis=0)
        gap = dp.generation_gap + 4.0 * zs[:, 0]
        hh.age[new_rows] = np.clip(age.compress(successor) - gap, 22.0, 59.0)
        hh.edu[new_rows] = _edu_codes(dp.successor_edu_probs, _uniform(zs[:, 1]))
        hh.health[new_rows] = np.where(zs[:, 2] > -0.5, 4, 3) + (zs[:, 2] > 0.8)
        hh.job[new_rows] = 1
        # with no other adult at home, a migrant comes back to take over
        back = rows.compress(successor & (resident_adults == 0) & (hh.migrants[idx] > 0))
        hh.migrants[back] -= 1
    if np.any(spouse_heads):
        hh.age[rows.compress(spouse_heads)] -= 2.0  # the (younger) spouse heads on
    hh.famsize[idx] = hh.children[idx] + hh.adults[idx] + hh.elderly[idx]
    emptied = hh.famsize[idx] <= 0
    empty = rows.compress(emptied)
    if empty.size:
        refound(world, empty, z.compress(emptied, axis=0))
    update_members(world, idx)


def _uniform(z: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr
    return ndtr(z)


def refound(world: World, rows: np.ndarray, z: np.ndarray) -> None:
    """A young couple takes over an emptied household's land and house."""
    hh, dp = world.households, world.params.demography
    hh.age[rows] = np.clip(27.0 + 3.0 * z[:, 0], 22.0, 40.0)
    hh.edu[rows] = _edu_codes(dp.successor_edu_probs, _uniform(z[:, 1]))
    hh.health[rows] = 4
    hh.job[rows] = 1
    hh.adults[rows] = 2
    hh.children[rows] = (z[:, 2] > 0).astype(np.int16)
    hh.elderly[rows] = 0
    hh.migrants[rows] = 0
    hh.local_workers[rows] = 0
    hh.org_jobs[rows] = 0
    hh.famsize[rows] = hh.adults[rows] + hh.children[rows]
    hh.savings[rows] = 2000.0
    hh.debt[rows] = 0.0
    hh.productive_assets[rows] *= 0.5
    hh.machine[rows] = 0
    hh.membership_years[rows] = 0
    hh.trained_ever[rows] = 0
    hh.registered_poor[rows] = 0
