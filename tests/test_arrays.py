"""The faster gather and select of model/processes/arrays.py give numpy's numbers bit for bit,
with numpy's result type."""
import numpy as np
import pytest

from ruralabm.model.processes.arrays import at_least, form_code, form_value, select


def _same(got, expected):
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()  # bit for bit: signed zeros and NaN payloads too


@pytest.mark.parametrize("share", [0.0, 0.03, 0.5, 0.97, 1.0])
def test_select_is_numpys_where(share):
    rng = np.random.default_rng(7)
    n = 1001
    cond = rng.random(n) < share
    a64, b64 = rng.normal(size=n), rng.normal(size=n)
    a64[::17] = -0.0
    b64[::19] = np.nan
    a32 = a64.astype(np.float32)
    i8 = rng.integers(-3, 4, n).astype(np.int8)
    cases = [(a64, b64), (a64, 0.0), (0.0, b64), (-0.0, 1.5), (a32, 1.0), (1.0, a32), (a32, b64), (i8, 0), (1, i8),
             (1, 0), (-1, 1), (i8, 2.5), (a64, np.float32(2.0))]
    for a, b in cases:
        _same(select(cond, a, b), np.where(cond, a, b))
    # a condition of integer codes (nonzero is true), as numpy reads it
    codes = (rng.random(n) < share).astype(np.int8) * rng.integers(1, 3, n).astype(np.int8)
    _same(select(codes, a64, b64), np.where(codes, a64, b64))


def test_select_of_empty_and_single_rows():
    _same(select(np.zeros(0, dtype=bool), np.zeros(0), 1.0), np.where(np.zeros(0, dtype=bool), np.zeros(0), 1.0))
    for flag in (True, False):
        cond = np.array([flag])
        _same(select(cond, np.array([2.0]), np.array([3.0])), np.where(cond, np.array([2.0]), np.array([3.0])))


def test_form_value_is_the_members_form_entry_and_zero_for_the_rest():
    rng = np.random.default_rng(3)
    n = 500
    table = [0.05, -0.0, 0.2, 1e-3]
    form = rng.integers(0, 4, n).astype(np.int8)
    for participating in (rng.random(n) < 0.4, (rng.random(n) < 0.4).astype(np.int8)):
        code = form_code(participating, form)
        _same(form_value(table, code), np.where(participating, np.asarray(table)[form], 0.0))
    # a table of integers gives the float64 numbers numpy's where gives
    code = form_code(rng.random(n) < 0.5, form)
    _same(form_value([1, 0, 2, 3], code), np.where(code > 0, np.asarray([1, 0, 2, 3])[form], 0.0))


def test_at_least_is_numpys_maximum_for_integer_arrays():
    rng = np.random.default_rng(5)
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        values = rng.integers(-3, 5, 777).astype(dtype)
        for floor in (0, 1):
            _same(at_least(values, floor), np.maximum(values, floor))
    _same(at_least(np.zeros(0, dtype=np.int8), 0), np.maximum(np.zeros(0, dtype=np.int8), 0))
