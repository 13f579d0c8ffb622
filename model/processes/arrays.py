"""Faster forms of numpy's gather and select on a year's household arrays, giving the same numbers.

On arrays of a year's households, numpy's ``np.where`` and boolean-mask indexing branch on every
element. A mask like "participates" or "was struck" is close to random, so about half of those
branches are mispredicted. A gather by fancy index (``table[ids]``) goes through numpy's general
indexing machinery. On the 2-core CI machine, over 100,000 households:

* ``np.where(mask, a, b)`` takes about 390 µs; ``a[mask]`` takes 500 µs.
* ``a.compress(mask)`` takes 86 µs; ``table[ids]`` 160 µs; ``table.take(ids)`` 85 µs.

Gathers and compressions in the processes therefore use ``take`` and ``compress``, the same
operation by another route. The pattern "the member's form's value, 0 for non-members" is one
gather from a table with a leading 0 (below). tests/test_arrays.py checks each helper against
numpy's form.

Integer ``np.maximum(a, 0)`` is written ``at_least(a, 0)``: numpy's integer maximum against a
scalar has no SIMD loop (89 µs over 100,000 int8 codes against 5 µs against an array).
"""
from __future__ import annotations

import numpy as np


def form_code(participating: np.ndarray, form: np.ndarray) -> np.ndarray:
    """1 + the form code (0 .. n_forms - 1) of members, 0 for non-members: the index of
    :func:`form_value`'s table."""
    return (form.astype(np.intp) + 1) * (participating != 0)


def form_value(table, code: np.ndarray) -> np.ndarray:
    """``np.where(participating, np.asarray(table)[form], 0.0)`` for ``code = form_code(participating, form)``."""
    values = np.asarray(table, dtype=np.float64)
    extended = np.zeros(values.size + 1, dtype=values.dtype)
    extended[1:] = values
    return extended.take(code)


def select(condition: np.ndarray, a, b) -> np.ndarray:
    """``np.where(condition, a, b)`` for a 1-D ``condition`` and ``a``, ``b`` each an array of
    its shape or a scalar, without a branch per element: two scalars are a table of two entries
    gathered by the condition's bytes; otherwise the side that holds fewer elements is put into a
    copy of the other."""
    dtype = np.result_type(a, b)
    chosen = condition if condition.dtype == np.bool_ else condition != 0
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        return np.array([b, a], dtype=dtype).take(chosen.view(np.uint8))
    out = np.empty(np.shape(condition), dtype=dtype)
    if 2 * np.count_nonzero(chosen) > chosen.size:
        chosen, a, b = ~chosen, b, a
    out[...] = b
    rows = np.flatnonzero(chosen)
    out[rows] = np.take(a, rows) if np.ndim(a) else a
    return out


def at_least(values: np.ndarray, floor: int) -> np.ndarray:
    """``np.maximum(values, floor)`` for an integer array and an integer floor, as the maximum
    against an array of the floor (the loop numpy vectorises)."""
    return np.maximum(values, np.full(np.shape(values), floor, dtype=values.dtype))
