"""Input contract of every estimator: the caller's DataFrame is never modified (values, dtypes,
index, column order, attrs), and a missing value in any column the estimator uses is an
``EstimationError`` that names the column."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from ruralabm.analysis.errors import EstimationError
from ruralabm.analysis.estimators import cmp, did, psm, resilience, survival, vep
from ruralabm.analysis.estimators.propensity import fit_propensity


# --------------------------------------------------------------------------------------------
# data: mixed dtypes (int, bool, float32, float64, string ids) and a non-default, unsorted index
# --------------------------------------------------------------------------------------------
def _cross_section(n: int = 400, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n).astype(np.float32)
    x3 = rng.random(n) < 0.4  # bool covariate
    t = (0.3 * x1 - 0.4 * x2 + 0.3 * x3 + rng.normal(size=n) > 0).astype(np.int64)
    y = 1.0 + 0.5 * t + 0.8 * x1 + 0.2 * x2 + rng.normal(size=n)
    loginc = 8.0 + 0.3 * x1 - 0.2 * x2 + np.exp(0.2 * x1) * 0.5 * rng.normal(size=n)
    dur = np.round(rng.exponential(10.0 * np.exp(-0.3 * x1)) + 1.0)
    ev = (rng.random(n) < 0.7).astype(np.int64)
    sel = (0.4 + 0.6 * x1 + 0.5 * x3 + rng.normal(size=n) > 0).astype(np.int64)
    ysel = np.where(sel == 1, 1.0 + 0.4 * x2 + rng.normal(size=n), np.nan)
    df = pd.DataFrame(
        {
            "name": [f"h{i:04d}" for i in range(n)],
            "t": t,
            "y": y,
            "x1": x1,
            "x2": x2,
            "x3": x3,
            "loginc": loginc,
            "pline": np.full(n, float(np.exp(8.0))),
            "dur": dur,
            "ev": ev,
            "sel": sel,
            "ysel": ysel,
            "cl": rng.integers(0, 20, n),
            "ia": rng.random(n) * 10,
            "ib": rng.random(n),
            "ic": rng.integers(0, 5, n),
        }
    )
    df.index = pd.Index(rng.permutation(np.arange(1000, 1000 + n)), name="hh")
    df.attrs["source"] = "synthetic"
    return df


def _panel(n_units: int = 120, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_units)
    g = (0.5 * x + rng.normal(size=n_units) > 0).astype(np.int64)
    rows = []
    for i in range(n_units):
        for yr in (2010, 2012, 2014):
            post = int(yr >= 2012)
            rows.append(
                {
                    "id": f"u{i:03d}",
                    "year": yr,
                    "g": g[i],
                    "d": g[i] * post,
                    "x": x[i] + 0.1 * rng.normal(),
                    "z": rng.normal(),
                    "vil": i % 12,
                    "y": 1.0 + 0.5 * x[i] + 0.3 * post + 0.7 * g[i] * post + rng.normal(),
                }
            )
    df = pd.DataFrame(rows)
    df.index = pd.Index(rng.permutation(len(df)) * 3 + 5, name="row")
    return df


XS = _cross_section()
PANEL = _panel()

_CMP_EQS = [
    cmp.Equation("ysel", ["x2", "t"], "continuous", indicator="sel"),
    cmp.Equation("sel", ["x1", "x3"], "probit"),
    cmp.Equation("t", ["x1", "x2"], "probit"),
]
_IND = {"economic": {"ia": "+", "ic": "-"}, "social": ["ib"]}


def _weights_for_balance(df: pd.DataFrame) -> np.ndarray:
    r = psm.match(df, "t", "y", ["x1", "x2"], compute_balance=False)
    return r.weights.to_numpy()


# (name, base frame, call, used columns)
CASES = [
    ("propensity", XS, lambda d: fit_propensity(d, "t", ["x1", "x2", "x3"]), ["t", "x1", "x2", "x3"]),
    ("psm.match", XS, lambda d: psm.match(d, "t", "y", ["x1", "x2", "x3"], ties=True), ["t", "y", "x1", "x2", "x3"]),
    ("psm.match(pscore)", XS.assign(ps=np.clip(XS["ib"], 0.05, 0.95)),
     lambda d: psm.match(d, "t", "y", pscore="ps"), ["t", "y", "ps"]),
    ("psm.match(kernel)", XS, lambda d: psm.match(d, "t", "y", ["x1", "x2", "x3"], method="kernel", kernel="epan"),
     ["t", "y", "x1", "x2", "x3"]),
    ("psm.match(radius)", XS, lambda d: psm.match(d, "t", "y", ["x1", "x2", "x3"], method="radius", radius=0.05),
     ["t", "y", "x1", "x2", "x3"]),
    ("psm.balance", XS, lambda d: psm.balance(d, "t", ["x1", "x2", "x3"], _weights_for_balance(XS)), ["t", "x1", "x2", "x3"]),
    ("did.twfe", PANEL, lambda d: did.twfe(d, "y", "d", "id", "year", ["z"], cluster="vil"),
     ["y", "d", "id", "year", "z", "vil"]),
    ("did.psm_did", PANEL, lambda d: did.psm_did(d, "y", "d", "id", "year", ["x"], cluster="vil"),
     ["y", "d", "id", "year", "x", "vil"]),
    ("did.psm_did(pscore)", PANEL.assign(ps=np.clip(0.5 + 0.2 * PANEL["x"], 0.05, 0.95)),
     lambda d: did.psm_did(d, "y", "d", "id", "year", pscore="ps"), ["y", "d", "id", "year", "ps"]),
    ("cmp.fit", XS, lambda d: cmp.fit(d, _CMP_EQS, cluster="cl"), ["ysel", "x2", "t", "sel", "x1", "x3", "cl"]),
    ("vep.vulnerability", XS, lambda d: vep.vulnerability(d, "loginc", ["x1", "x2", "x3"], "pline"),
     ["loginc", "x1", "x2", "x3", "pline"]),
    ("survival.cox", XS, lambda d: survival.cox(d, "dur", "ev", ["x1", "x2", "x3"], time_transform="km"),
     ["dur", "ev", "x1", "x2", "x3"]),
    ("survival.ols", XS, lambda d: survival.ols(d, "y", ["x1", "x2", "x3"]), ["y", "x1", "x2", "x3"]),
    ("resilience.index", XS, lambda d: resilience.index(d, _IND), ["ia", "ib", "ic"]),
    ("resilience.fit_index", XS, lambda d: resilience.fit_index(d, _IND), ["ia", "ib", "ic"]),
    ("resilience.index(base mask)", XS, lambda d: resilience.index(d, _IND, base=(d["cl"] < 10).to_numpy()),
     ["ia", "ib", "ic"]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, base, call, used", CASES, ids=IDS)
def test_does_not_mutate_input(name, base, call, used):
    df = base.copy(deep=True)
    before = copy.deepcopy(df)
    call(df)
    pd.testing.assert_frame_equal(df, before, check_dtype=True, check_index_type=True,
                                  check_column_type=True, check_names=True, check_exact=True)
    pd.testing.assert_index_equal(df.index, before.index, exact=True)
    assert list(df.columns) == list(before.columns)
    assert df.attrs == before.attrs
    assert df.flags.allows_duplicate_labels == before.flags.allows_duplicate_labels


def _nan_cases():
    for name, base, call, used in CASES:
        for col in used:
            kind = base[col].dtype.kind
            # float columns get NaN; integer/bool columns both the float upcast with NaN (what
            # pandas does on assignment) and the nullable Int64/boolean dtypes with pd.NA
            variants = ["nan"] if kind in "fO" else ["nan", "nullable"]
            for v in variants:
                yield pytest.param(name, base, call, col, v, id=f"{name}-{col}-{v}")


def _row_for_nan(name: str, base: pd.DataFrame, col: str):
    """A row where the column is used: for CMP's selected outcome a row that is selected."""
    if name == "cmp.fit" and col in ("ysel", "x2", "t"):
        # ysel's equation (regressors x2, t) is observed where sel == 1; t is also a dependent
        return base.index[np.flatnonzero(base["sel"].to_numpy() == 1)[3]]
    return base.index[5]


@pytest.mark.parametrize("name, base, call, col, variant", list(_nan_cases()))
def test_missing_value_in_used_column_is_named_error(name, base, call, col, variant):
    df = base.copy(deep=True)
    kind = df[col].dtype.kind
    if variant == "nullable":
        df[col] = df[col].astype("boolean" if kind == "b" else "Int64")
        na = pd.NA
    else:
        if kind in "iub":
            df[col] = df[col].astype(float)
        na = np.nan
    df.loc[_row_for_nan(name, base, col), col] = na
    with pytest.raises(EstimationError, match=repr(col)):
        call(df)


def test_cmp_missing_outcome_outside_selection_is_fine():
    """The selected-out rows of a selection equation may have any value, NaN included."""
    assert XS.loc[XS["sel"] == 0, "ysel"].isna().all()
    r = cmp.fit(XS, _CMP_EQS)
    assert r.converged and r.nobs_by_equation["ysel"] == int(XS["sel"].sum())


def test_balance_with_a_covariate_constant_among_the_controls_reports_the_ratio_as_undefined():
    """pstest's variance ratio V(T)/V(C) has no value when the controls do not vary: NaN and a
    note, not a ZeroDivisionError (``replicate clds`` on few households met this)."""
    import numpy as np
    import pandas as pd

    from ruralabm.analysis import psm

    rng = np.random.default_rng(4)
    n = 400
    t = (rng.random(n) < 0.5).astype(int)
    age = np.where(t == 1, rng.normal(50, 8, n), 45.0)       # constant among the controls
    edu = rng.normal(6, 2, n) + 0.5 * t
    data = pd.DataFrame({"T": t, "age": age, "edu": edu})
    w = np.where(t == 1, 1.0, 1.0)
    res = psm.balance(data, "T", ["age", "edu"], w)
    table = res.to_frame()
    assert np.isnan(table.loc["age", "var_ratio_u"]) and np.isnan(table.loc["age", "var_ratio_m"])
    assert np.isfinite(table.loc["edu", "var_ratio_u"])
    assert any("variance ratio undefined" in note and "age" in note for note in res.warnings)
    assert "variance ratio undefined" in str(res.summary())
