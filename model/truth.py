"""Known truth by counterfactual twins.

For a scenario and seed the same world is re-run with participation overridden; common random
numbers make every shock, price and idiosyncratic draw identical across the runs, so outcome
differences are caused by the override alone. The estimands (see docs/estimands.md):

* **ATT (direct)** — for each ever-treated household, its outcome in the factual world minus
  its outcome when *it* is forced out of integration while every other household's
  participation is as in the factual world. Forcing one household out at a time would need one
  run per household; instead the treated are split at random into ``batches`` groups and each
  group is forced out in its own run (with never-treated households held out, as they were), so
  each household's twin differs from the factual world by its own exit and that of ~1/batches
  of the other participants. This is the estimand PSM targets.
* **ATT (all treated out)** — all treated forced out together: the direct effect plus the
  spillovers among participants (village technology diffusion, organisation scale).
* **Total policy effect** — the factual world minus the same world with the integration policy
  absent (no cooperatives or enterprises), averaged over all households.
* **Spillover on non-participants** — for never-treated households, their outcome in the
  factual world minus their outcome with the policy absent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .core import RuralModel
from .enums import Form, OrgType
from .params import FORMS, ORGANISATION_TYPES, REGIONS, Params
from .rng import stream

DEFAULT_OUTCOMES = ("income_per_capita", "poor_1_9", "poor_national", "poor_3_1", "consumption")


@dataclass
class TruthResult:
    """Potential outcomes and the estimands built from them."""

    potential: pd.DataFrame  # one row per household-year: y1 (factual), y0 (direct twin), y0_all, y_nopolicy
    outcomes: list[str]
    years: list[int]
    batches: int
    seed: int
    factual_panel: pd.DataFrame = field(repr=False, default=None)

    def estimands(self, by: Sequence[str] | None = None) -> pd.DataFrame:
        """ATT (direct), ATT (all treated out), total policy effect and spillover, per outcome
        and year, optionally by grouping columns (e.g. ``["org_type"]``, ``["region"]``)."""
        pot = self.potential
        rows = []
        keys = list(by or [])
        for outcome in self.outcomes:
            d = pot[pot["outcome"] == outcome]
            groups = d.groupby(keys + ["year"], observed=True) if keys else d.groupby(["year"])
            for key, g in groups:
                key = key if isinstance(key, tuple) else (key,)
                treated = g["treated"] == 1
                row = dict(zip(keys + ["year"], key))
                row.update({
                    "outcome": outcome,
                    "att": (g.loc[treated, "y1"] - g.loc[treated, "y0"]).mean(),
                    "att_all_out": (g.loc[treated, "y1"] - g.loc[treated, "y0_all"]).mean(),
                    "total_effect": (g["y1"] - g["y_nopolicy"]).mean(),
                    "spillover_nonparticipants": (g.loc[~treated, "y1"] - g.loc[~treated, "y_nopolicy"]).mean(),
                    "n_treated": int(treated.sum()),
                    "n": len(g),
                })
                rows.append(row)
        return pd.DataFrame(rows)


def policy_absent(params: Params) -> Params:
    """The same world with no integration policy: no cooperatives and no leading enterprises."""
    p = params.copy()
    p.policy.cooperatives = False
    p.policy.enterprises = False
    return p


def counterfactual_twins(params: Params, seed: int, outcomes: Sequence[str] = DEFAULT_OUTCOMES,
                         years: Sequence[int] | None = None, batches: int = 10,
                         derive: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
                         keep_factual: bool = False) -> TruthResult:
    """Run the factual world and its twins; return potential outcomes per household-year.

    ``derive`` may add outcome columns to every panel (e.g. a resilience index with weights
    fixed from the factual base wave) before potential outcomes are taken.
    """
    if batches < 1:
        raise ValueError(f"batches = {batches} must be at least 1")
    factual = RuralModel(params.copy(), seed=seed, household_agents=False).run()
    panel1 = factual.household_panel()
    if derive is not None:
        panel1 = derive(panel1)
    n = factual.params.population.n_households
    hh = factual.world.households
    ever = hh.start_year > 0
    treated_ids = np.flatnonzero(ever)
    years = list(years) if years is not None else sorted(panel1["year"].unique())
    missing = [o for o in outcomes if o not in panel1.columns]
    if missing:
        raise KeyError(f"outcomes not in the household panel: {missing}")

    def outcome_matrix(panel: pd.DataFrame) -> dict[str, np.ndarray]:
        sel = panel[panel["year"].isin(years)]
        return {o: sel[o].to_numpy(dtype=float).reshape(len(years), n) for o in outcomes}

    y1 = outcome_matrix(panel1)
    # Direct twins: batches of treated forced out, never-treated held out as in the factual world.
    assign = stream(seed, "survey", 0).permutation(treated_ids.size) % batches
    y0 = {o: np.array(v, copy=True) for o, v in y1.items()}
    for b in range(batches):
        batch = treated_ids[assign == b]
        if batch.size == 0:
            continue
        override = np.where(ever, 0, -1)
        override[batch] = -1
        twin = RuralModel(params.copy(), seed=seed, household_agents=False, participation_override=override).run()
        panel = twin.household_panel()
        if derive is not None:
            panel = derive(panel)
        ym = outcome_matrix(panel)
        for o in outcomes:
            y0[o][:, batch] = ym[o][:, batch]
    all_out = RuralModel(params.copy(), seed=seed, household_agents=False,
                         participation_override=np.full(n, -1)).run().household_panel()
    nopolicy = RuralModel(policy_absent(params), seed=seed, household_agents=False).run().household_panel()
    if derive is not None:
        all_out, nopolicy = derive(all_out), derive(nopolicy)
    y0_all, y_np = outcome_matrix(all_out), outcome_matrix(nopolicy)

    org_type = np.full(n, OrgType.NONE, dtype=np.int8)
    form = np.full(n, Form.NONE, dtype=np.int8)
    # Treatment descriptors: the organisation type and form a household first joined.
    first = panel1[(panel1["participating"] == 1)].drop_duplicates("household_id")
    org_type[first["household_id"].to_numpy()] = first["org_type"].to_numpy()
    form[first["household_id"].to_numpy()] = first["form"].to_numpy()
    frames = []
    for o in outcomes:
        frames.append(pd.DataFrame({
            "household_id": np.tile(np.arange(n), len(years)),
            "year": np.repeat(years, n),
            "outcome": o,
            "treated": np.tile(ever.astype(np.int8), len(years)),
            "org_type": pd.Categorical.from_codes(np.tile(org_type, len(years)), ("none",) + ORGANISATION_TYPES),
            # Never-joiners are labelled "none", after the real forms (whatever their number).
            "form": pd.Categorical.from_codes(np.tile(np.where(form < 0, len(FORMS), form), len(years)), FORMS + ("none",)),
            "region": pd.Categorical.from_codes(np.tile(hh.region, len(years)), REGIONS),
            "y1": y1[o].ravel(),
            "y0": y0[o].ravel(),
            "y0_all": y0_all[o].ravel(),
            "y_nopolicy": y_np[o].ravel(),
        }))
    return TruthResult(potential=pd.concat(frames, ignore_index=True), outcomes=list(outcomes), years=years,
                       batches=batches, seed=seed, factual_panel=panel1 if keep_factual else None)
