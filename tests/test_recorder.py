"""The panel buffers (model/recorder.py): one aligned block in 4 kB pages; a row mapped ahead
reads as zeros, and a recorded year is an exact copy of the state."""
import sys

import numpy as np
import pytest

from ruralabm.model.recorder import PanelRecorder, _allocate


class _State:
    def __init__(self, n):
        rng = np.random.default_rng(0)
        self.n = n
        self.income = rng.normal(size=n)
        self.age = rng.integers(18, 90, size=n).astype(np.float32)
        self.member = rng.integers(0, 2, size=n).astype(np.int8)
        self.names = ["income", "age", "member"]


def test_prepared_rows_read_as_zeros_and_record_exactly():
    state = _State(5003)  # rows that start and end inside pages
    rec = PanelRecorder(state, n_years=3)
    rec._touch(1)
    assert all((b[1] == 0).all() for b in rec.buffers.values())
    rec.record(1, 2015, state)
    for name in state.names:
        np.testing.assert_array_equal(rec.buffers[name][1], getattr(state, name))
        assert rec.buffers[name].dtype == getattr(state, name).dtype
        assert (rec.buffers[name][[0, 2]] == 0).all()
    assert rec.recorded == 2 and rec.years[1] == 2015


def test_buffers_share_one_aligned_block():
    buffers = _allocate({"a": np.float64, "b": np.int8, "c": np.float32}, (4, 1001))
    addresses = [b.ctypes.data for b in buffers.values()]
    assert all(a % 64 == 0 for a in addresses)
    assert addresses == sorted(addresses)
    assert all((b == 0).all() for b in buffers.values())  # an anonymous mapping reads as zeros


def _vm_flags(address: int) -> list[str]:
    with open("/proc/self/smaps") as f:
        inside = False
        for line in f:
            head = line.split()[0]
            if "-" in head and ":" not in head:
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= address < hi
            elif inside and head == "VmFlags:":
                return line.split()[1:]
    raise AssertionError(f"no mapping holds {address:#x}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc/self/smaps")
def test_the_block_is_not_in_huge_pages():
    buffers = _allocate({"income": np.float64}, (10, 1_000_000))  # 80 MB: numpy would ask for huge pages
    assert "nh" in _vm_flags(buffers["income"].ctypes.data)  # MADV_NOHUGEPAGE
