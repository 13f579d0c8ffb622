"""The papers' published numbers, keyed like :mod:`analysis.papers` statistics.

``PUBLISHED`` maps a statistic key to ``(value, se)``; ``se`` is ``None`` where the paper gives
no standard error. ``NOTES`` maps a key (or a table prefix such as ``"clds.t2"``) to a remark on
the number: internal inconsistencies of the paper, derived rather than printed values, and so
on. Every number comes from ``../shared/literature.md`` (the papers in ``seeds/``); nothing here
is estimated. Replication tables (:mod:`analysis.replicate`) and calibration read this module.

Keys follow :mod:`analysis.papers`:

* ``clds.t1.mean.<var>``, ``clds.t1.sd.<var>`` (Vul1, Vul2, Vul3, T and the 12 covariates);
* ``clds.t2.did.<line>.<nocov|cov>``;
* ``clds.t3.mean_treated.<var>.<unmatched|matched>``, ``clds.t3.mean_control.<var>.<...>``,
  ``clds.t3.pseudo_r2.<...>``, ``clds.t3.lr_chi2.<...>``;
* ``clds.t4.att.<nn1|nn4|radius|kernel|mean>.<line>.<full|east|central_west>``;
* ``clds.t5.<before|after|did>.<line>``;
* ``cao.psm_pct.resilience.all`` (the 17.1% net impact);
* ``counties.ols.<var>``, ``counties.cox.<var>``, ``counties.cox_hr.<var>``, plus the constant,
  R-squared and the proportional-hazards test.

Lines are ``1.9``, ``national``, ``3.1``.
"""
from __future__ import annotations

from typing import Optional

from ..specs import LINE_NAMES

PUBLISHED: dict[str, tuple[float, Optional[float]]] = {}
NOTES: dict[str, str] = {}

# Qualitative findings (orderings) that have no single number.
ORDERINGS: dict[str, str] = {
    "cao.capacities": "learning > buffering and learning > self_organisation (effect of participation)",
    "cao.org_type": "cooperative > enterprise",
    "cao.form": "vertical_chain and technology_diffusion > agritourism and ecommerce",
    "clds.t4.region": "east (about -0.18) more negative than central_west (about -0.12)",
}

LINES = LINE_NAMES

# --- CLDS paper (seed 001), Table 1: mean (sd) ----------------------------------------------
_T1 = {
    "Vul1": (0.3744, 0.3572), "Vul2": (0.4024, 0.3591), "Vul3": (0.5238, 0.3471),
    "T": (0.7405, 0.4384), "age": (51.88, 10.17), "health": (3.631, 1.023), "job": (0.8656, None),
    "famsize": (4.674, 1.818), "machine": (0.4289, 1.1157), "subsidy": (0.5413, None),
    "distance": (19.08, 18.33), "hroad": (63.80, 24.76), "lamp": (0.3532, None), "edu": (4.659, 2.581),
    "ability": (0.6896, None), "twork": (1.2552, 1.0227),
}
for _var, (_m, _sd) in _T1.items():
    PUBLISHED[f"clds.t1.mean.{_var}"] = (_m, None)
    if _sd is not None:
        PUBLISHED[f"clds.t1.sd.{_var}"] = (_sd, None)
NOTES["clds.t1"] = ("Table 1 of the CLDS paper (N = 6124). SDs of the binary covariates are not "
                    "listed in the literature notes (they follow from the mean).")

# --- Table 2: two-way FE DID (household and year effects) -----------------------------------
for _line, _v in zip(LINES, (-0.0223, -0.0229, -0.0348)):
    PUBLISHED[f"clds.t2.did.{_line}.nocov"] = (_v, None)
for _line, _v, _se in zip(LINES, (-0.1697, -0.1801, -0.1917), (0.0045, 0.0107, 0.0105)):
    PUBLISHED[f"clds.t2.did.{_line}.cov"] = (_v, _se)
NOTES["clds.t2"] = ("Inconsistent: with covariates the reported SEs (0.0045, 0.0107, 0.0105) give |t| > 15, "
                    "yet the coefficients are marked significant at 10% only. R^2 = 0.74 with covariates.")
PUBLISHED["clds.t2.r2.cov"] = (0.74, None)

# --- Table 3: pstest balance ------------------------------------------------------------------
_T3 = {  # var: (treated_u, control_u, treated_m, control_m); None where not reported
    "age": (52.47, 50.21, 52.47, 52.41),
    "health": (3.571, 3.802, 3.571, 3.490),
    "job": (0.901, 0.765, 0.901, 0.841),
    "famsize": (4.698, 4.605, None, None),
    "machine": (0.529, 0.144, 0.524, 0.638),
    "subsidy": (0.706, 0.072, 0.706, 0.658),
    "distance": (19.80, 17.01, None, None),
    "hroad": (62.43, 67.71, None, None),
    "lamp": (0.328, 0.425, None, None),
    "edu": (4.580, 4.884, 4.580, 4.986),
    "ability": (0.705, 0.645, None, None),
    "twork": (1.227, 1.337, None, None),
}
for _var, (_tu, _cu, _tm, _cm) in _T3.items():
    PUBLISHED[f"clds.t3.mean_treated.{_var}.unmatched"] = (_tu, None)
    PUBLISHED[f"clds.t3.mean_control.{_var}.unmatched"] = (_cu, None)
    if _tm is not None:
        PUBLISHED[f"clds.t3.mean_treated.{_var}.matched"] = (_tm, None)
        PUBLISHED[f"clds.t3.mean_control.{_var}.matched"] = (_cm, None)
PUBLISHED["clds.t3.pseudo_r2.unmatched"] = (0.362, None)
PUBLISHED["clds.t3.pseudo_r2.matched"] = (0.038, None)
PUBLISHED["clds.t3.lr_chi2.unmatched"] = (2541.0, None)
PUBLISHED["clds.t3.lr_chi2.matched"] = (474.0, None)
PUBLISHED["clds.t3.bias.edu.matched"] = (22.5, None)
NOTES["clds.t3"] = ("Standardised bias after matching < 20% except edu (22.5%). The treated mean of machine "
                    "changes after matching (0.529 -> 0.524) although the treated sample should not change "
                    "unless some treated fall off support. Matched means are not listed for every covariate.")
NOTES["clds.t3.mean_control.machine.matched"] = ("Matched controls have MORE machines than the treated "
                                                 "(0.638 vs 0.524): matching over-corrected machine.")

# --- Table 4: PSM ATT on vulnerability ------------------------------------------------------
_T4 = {
    # line: method: (full (value, se), east (value, se), central_west (value, se))
    "1.9": {
        "nn1": ((-0.1194, 0.0346), (-0.2116, 0.0607), (-0.1446, 0.0398)),
        "nn4": ((-0.1504, 0.0305), (-0.1691, 0.0538), (-0.1307, 0.0373)),
        "radius": ((-0.1480, 0.0288), (-0.1893, 0.0552), (-0.1294, 0.0354)),
        "kernel": ((-0.1472, 0.0276), (-0.1789, 0.0466), (-0.1388, 0.0332)),
        "mean": ((-0.1413, None), (-0.1872, None), (-0.1359, None)),
    },
    "national": {
        "nn1": ((-0.1105, 0.0345), (-0.2098, None), (-0.1306, None)),
        "nn4": ((-0.1449, 0.0305), (-0.1694, None), (-0.1286, None)),
        "radius": ((-0.1396, 0.0288), (-0.1871, None), (-0.1208, None)),
        "kernel": ((-0.1342, 0.0276), (-0.1726, None), (-0.1258, None)),
        "mean": ((-0.1323, None), (None, None), (None, None)),
    },
    "3.1": {
        "nn1": ((-0.1229, 0.0326), (-0.1922, None), (-0.1265, None)),
        "nn4": ((-0.1453, 0.0289), (-0.1787, None), (-0.1164, None)),
        "radius": ((-0.1384, 0.0274), (-0.1901, None), (-0.1138, None)),
        "kernel": ((-0.1299, 0.0262), (-0.1597, None), (-0.1138, None)),
        "mean": ((-0.1341, None), (None, None), (None, None)),
    },
}
for _line, _methods in _T4.items():
    for _method, _cells in _methods.items():
        for _region, (_v, _se) in zip(("full", "east", "central_west"), _cells):
            if _v is not None:
                PUBLISHED[f"clds.t4.att.{_method}.{_line}.{_region}"] = (_v, _se)
NOTES["clds.t4"] = ("ATT of participation on vulnerability. Regional SEs are listed only for the $1.9 line. "
                    "'mean' is the paper's average over the four matching methods (not an estimator). "
                    "The east effect (~-0.18) is larger than the central-west effect (~-0.12). "
                    "In the paper vulnerability is a function of the covariates X only, so matching on the "
                    "same X can only find an effect through residual imbalance (see docs/validation.md).")

# --- Table 5: kernel PSM-DID ------------------------------------------------------------------
_T5 = {
    "1.9": ((-0.191, 0.012), (-0.336, 0.013), (-0.145, 0.021)),
    "national": ((-0.169, None), (-0.307, None), (-0.138, 0.021)),
    "3.1": ((-0.161, None), (-0.286, None), (-0.125, 0.020)),
}
for _line, _parts in _T5.items():
    for _part, (_v, _se) in zip(("before", "after", "did"), _parts):
        PUBLISHED[f"clds.t5.{_part}.{_line}"] = (_v, _se)
NOTES["clds.t5"] = ("Kernel PSM-DID. DID = after - before holds in every line. A large 'before' gap "
                    "(-0.19) means treated and matched controls differ already before the policy: the "
                    "baseline kernel matching did not balance vulnerability.")

PUBLISHED["clds.participation"] = (0.7405, None)
PUBLISHED["clds.n"] = (6124.0, None)

# --- Cao et al. (seed 000) ---------------------------------------------------------------------
PUBLISHED["cao.psm_pct.resilience.all"] = (17.1, None)
NOTES["cao"] = ("Abstract only: net impact of participation on livelihood resilience 17.1% (PSM); learning "
                "capacity effect > buffering and self-organisation; cooperatives > leading enterprises; "
                "vertical-chain extension and technology diffusion > other forms. CMP confirms the sign. "
                "No table of capacities, groups or CMP coefficients is available, only the orderings.")

# --- Liu, 76 poor counties (seed 003), Table 1 ---------------------------------------------------
_COUNTIES = {  # var: (ols coef, ols se, cox coef, cox se, hazard ratio as printed)
    "upgrading_index": (-2.72, 2.57, 0.23, 0.13, 1.02),
    "primary_secondary": (-152.85, 52.78, 1.06, 0.32, 2.89),
    "primary_tertiary": (5.53, 3.88, -0.06, 0.03, 0.95),
    "ethnic_minority": (153.45, 66.16, 1.01, 0.42, 2.73),
    "main_industry": (-91.03, 126.21, -0.92, 0.64, 0.40),
    "resource_endowment": (-205.09, 80.57, 0.99, 0.44, 2.70),
}
for _var, (_b, _se, _cb, _cse, _hr) in _COUNTIES.items():
    PUBLISHED[f"counties.ols.{_var}"] = (_b, _se)
    PUBLISHED[f"counties.cox.{_var}"] = (_cb, _cse)
    PUBLISHED[f"counties.cox_hr.{_var}"] = (_hr, None)
PUBLISHED["counties.ols.const"] = (4212.99, 1078.93)
PUBLISHED["counties.ols.r2"] = (0.20, None)
PUBLISHED["counties.cox.ph_test_p"] = (0.669, None)
PUBLISHED["counties.n"] = (76.0, None)
NOTES["counties"] = ("Outcome: days from the 2015 policy to the exit announcement, censored January 2020. "
                     "The printed hazard ratios are not all exp(coef): exp(0.23) = 1.26, not 1.02 "
                     "(upgrading). The ethnic-area effect has opposite meanings in OLS (+153 days: slower) "
                     "and Cox (HR 2.73: faster exit).")
NOTES["counties.cox_hr.upgrading_index"] = "Printed HR 1.02 is inconsistent with coef 0.23 (exp = 1.26)."
NOTES["counties.cox.ethnic_minority"] = "Sign contradicts the OLS coefficient (faster exit vs slower exit)."


def value(key: str) -> float | None:
    """The published value of ``key`` (None if the paper gives none)."""
    item = PUBLISHED.get(key)
    return None if item is None else item[0]


def se(key: str) -> float | None:
    item = PUBLISHED.get(key)
    return None if item is None else item[1]


def note(key: str) -> str | None:
    """The note on ``key``, else on its longest dotted prefix that has one."""
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        k = ".".join(parts[:i])
        if k in NOTES:
            return NOTES[k]
    return None
