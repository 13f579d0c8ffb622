"""Entropy-weight resilience index: hand-computed weights, direction reversal, base weights,
constant indicators and bad input."""
import math

import numpy as np
import pandas as pd
import pytest

from ruralabm.analysis.errors import EstimationError
from ruralabm.analysis.resilience import entropy_weights, fit_index, index

TINY = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10.0, 10.0, 40.0], "c": [5.0, 3.0, 1.0]})


def test_entropy_weights_by_hand():
    # a (+): normalised [0, .5, 1] -> p = [0, 1/3, 2/3]
    # b (+): normalised [0, 0, 1]  -> p = [0, 0, 1]        -> e = 0
    # c (-): normalised [0, .5, 1] (reversed)              -> same as a
    e_a = -(1 / math.log(3)) * (1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3))
    d = [1 - e_a, 1.0, 1 - e_a]
    w = [x / sum(d) for x in d]
    spec = {"buffering": [("a", "+"), ("b", "+")], "learning": [("c", "-")]}
    fitted = fit_index(TINY, spec)
    np.testing.assert_allclose(fitted.entropy.to_numpy(), [e_a, 0.0, e_a], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fitted.weights.to_numpy(), w, rtol=1e-12)
    assert fitted.weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(fitted.capacity_weights.to_numpy(), [w[0] + w[1], w[2]])
    out = fitted.transform(TINY)
    za, zb, zc = np.array([0, 0.5, 1]), np.array([0, 0, 1.0]), np.array([0, 0.5, 1])
    np.testing.assert_allclose(out["resilience"], w[0] * za + w[1] * zb + w[2] * zc)
    np.testing.assert_allclose(out["buffering"], (w[0] * za + w[1] * zb) / (w[0] + w[1]))
    np.testing.assert_allclose(out["learning"], zc)
    # resilience = sum_c W_c * capacity_c
    W = fitted.capacity_weights
    np.testing.assert_allclose(out["resilience"], W["buffering"] * out["buffering"] + W["learning"] * out["learning"])
    # the function on a matrix directly
    e, w2 = entropy_weights(np.column_stack([za, zb, zc]))
    np.testing.assert_allclose(w2, w)


def test_direction_reversal():
    df = TINY.assign(neg_a=-TINY["a"])
    f1 = fit_index(df, {"x": [("a", "+")], "y": [("b", "+")]})
    f2 = fit_index(df, {"x": [("neg_a", "-")], "y": [("b", "+")]})
    np.testing.assert_allclose(f1.weights.to_numpy(), f2.weights.to_numpy())
    np.testing.assert_allclose(f1.transform(df).to_numpy(), f2.transform(df).to_numpy())
    z = fit_index(df, {"x": [("c", "-")]}).normalise(df)["c"]
    np.testing.assert_allclose(z, (5.0 - TINY["c"]) / 4.0)


def _panel(seed=0, n=300):
    rng = np.random.default_rng(seed)
    waves = []
    for year, shift in ((2020, 0.0), (2022, 0.6)):
        waves.append(
            pd.DataFrame(
                {
                    "year": year,
                    "income": rng.lognormal(8 + shift, 0.5, n),
                    "debt": rng.exponential(1.0, n),
                    "coop": rng.integers(0, 2, n).astype(float),
                    "social": rng.poisson(3, n).astype(float),
                    "training": rng.integers(0, 2, n).astype(float),
                    "edu": rng.choice([0, 3, 6, 9, 12, 16], n).astype(float),
                }
            )
        )
    return pd.concat(waves, ignore_index=True)


SPEC = {
    "buffering": [("income", "+"), ("debt", "-")],
    "self_organisation": [("coop", "+"), ("social", "+")],
    "learning": [("training", "+"), ("edu", "+")],
}


def test_fixed_base_weights_reproduce():
    panel = _panel()
    base = panel[panel.year == 2020]
    fitted = fit_index(base, SPEC)
    out = index(panel, SPEC, base=panel.year == 2020)
    assert list(out.columns) == ["buffering", "self_organisation", "learning", "resilience"]
    pd.testing.assert_series_equal(out.attrs["weights"], fitted.weights)
    pd.testing.assert_frame_equal(out, fitted.transform(panel), check_flags=False)
    assert "buffering" in str(out.attrs["index"].summary())
    pd.testing.assert_frame_equal(out.attrs["index"].to_frame(), fitted.to_frame())
    # the base rows equal the index computed on the base alone
    np.testing.assert_allclose(out.loc[base.index].to_numpy(), index(base, SPEC).to_numpy())
    # a later wave is scored with the base bounds and weights: income above the base max > 1
    later = panel[panel.year == 2022]
    z = fitted.normalise(later)["income"]
    lo, hi = base["income"].min(), base["income"].max()
    np.testing.assert_allclose(z, (later["income"] - lo) / (hi - lo))
    assert z.max() > 1  # not clipped by default
    assert out.loc[later.index, "buffering"].mean() > out.loc[base.index, "buffering"].mean()
    clipped = index(panel, SPEC, base=base, clip=True)
    assert clipped[["buffering", "self_organisation", "learning", "resilience"]].to_numpy().max() <= 1.0
    # refitting on the same base gives identical weights (deterministic)
    pd.testing.assert_series_equal(fit_index(base, SPEC).weights, fitted.weights)


def test_constant_indicator_and_capacity():
    panel = _panel().assign(const=7.0, also_const=1.0)
    spec = dict(SPEC, buffering=SPEC["buffering"] + [("const", "+")], other=["also_const"])
    fitted = fit_index(panel, spec)
    assert fitted.weights["const"] == 0.0 and fitted.weights["also_const"] == 0.0
    assert fitted.entropy["const"] == 1.0
    assert fitted.capacity_weights["other"] == 0.0
    out = fitted.transform(panel.assign(const=9.0))  # differs from base constant: still no NaN
    assert not out.isna().any().any()
    assert (out["other"] == 0).all()
    np.testing.assert_allclose(out["buffering"], index(panel, SPEC)["buffering"])


def test_all_constant_raises():
    df = pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]})
    with pytest.raises(EstimationError, match="constant"):
        fit_index(df, {"x": ["a", "b"]})


def test_indicator_forms_equivalent_and_contribution_mode():
    panel = _panel()
    f1 = fit_index(panel, SPEC)
    dict_form = {cap: {col: d for col, d in items} for cap, items in SPEC.items()}
    f2 = fit_index(panel, dict_form)
    pd.testing.assert_series_equal(f1.weights, f2.weights)
    bare = {"learning": ["training", "edu"]}
    pd.testing.assert_series_equal(fit_index(panel, bare).weights, fit_index(panel, {"learning": SPEC["learning"]}).weights)
    contrib = index(panel, SPEC, capacity_scores="contribution")
    np.testing.assert_allclose(contrib[["buffering", "self_organisation", "learning"]].sum(axis=1), contrib["resilience"])
    assert "Capacity weights" in str(f1.summary())
    assert {"weight", "within_weight", "min", "max", "entropy"} <= set(f1.weight_table().columns)


def test_input_not_mutated():
    panel = _panel()
    copy = panel.copy()
    index(panel, SPEC, base=panel.year == 2020)
    pd.testing.assert_frame_equal(panel, copy)


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"x": [("nope", "+")]}, "nope"),
        ({"x": [("income", "up")]}, "direction"),
        ({"x": ["income"], "y": ["income"]}, "more than once"),
        ({}, "non-empty"),
        ({"resilience": ["income"]}, "resilience"),
    ],
)
def test_bad_spec(spec, match):
    with pytest.raises(EstimationError, match=match):
        fit_index(_panel(), spec)


def test_nan_indicator():
    panel = _panel()
    panel.loc[4, "edu"] = np.nan
    with pytest.raises(EstimationError, match="edu"):
        index(panel, SPEC)
