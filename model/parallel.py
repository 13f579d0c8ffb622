"""Household-level processes over blocks of households in parallel threads.

A household-level process works on each household from the world's state at the start of the
phase, and writes only that household's rows: that is what lets the per-agent path call it one
household at a time and give the panel of the vectorised path. The same property lets it run on
contiguous blocks of households at once. numpy releases the GIL inside its array loops, so on a
machine with three cores or more the blocks of a phase run side by side (on two, one block:
below). Every household's numbers are computed by the same element-wise operations whatever the
blocking, so the outputs are identical with any number of threads (tests/test_model.py checks it).

Below ``MIN_HOUSEHOLDS`` the hand-over between threads costs more than it saves. The number of
threads is ``RuralModel.household_threads``, else the environment variable
``RURALABM_HOUSEHOLD_THREADS`` (worker processes of the process and Dask executors set it to 1:
their cores are taken by the other workers), else the cores available, at most 4.

Of those threads, one does the work that can run ahead of the year's processes (``background``):
mapping and copying the panel row the year will record (model/recorder.py), beside the drawing of
next year's numbers (model/draws.py). The households are split into one block fewer than the
threads. On 2 cores that means one block, in the calling thread, and the reason is measured: a
numpy operation on a block of 50,000 households lasts 20-60 µs, and handing the GIL between two
block threads around each one costs about as much on the CI VMs, so two blocks ran no faster than
one while taking CPU from the work ahead. Ten years of 100,000 households on the shipped default,
6 fresh processes each, interleaved: two blocks 0.92-1.16 s (median 1.03), one block and the
work ahead 0.81-1.10 s (median 0.95; docs/architecture.md).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

from .params import ParameterError

ENV = "RURALABM_HOUSEHOLD_THREADS"


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def lower_priority() -> None:
    """Give the calling thread a lower scheduling priority (Linux: a thread's nice value is its
    own). Work that runs ahead of the year (drawing next year's numbers, mapping memory) then
    takes the cores the household blocks leave idle instead of slowing a block down."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # no per-thread priorities here: run at normal priority
        pass


def default_threads() -> int:
    value = os.environ.get(ENV, "").strip()
    if not value:
        return min(available_cores(), 4)
    if not value.isdigit() or int(value) < 1:
        raise ParameterError(f"{ENV} = {value!r} is not allowed: must be a positive integer")
    return int(value)


class HouseholdBlocks:
    MIN_HOUSEHOLDS = 20_000

    def __init__(self, n_households: int, threads: int | None = None):
        if threads is None:
            threads = default_threads()
        elif not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ParameterError(f"household_threads = {threads!r} is not allowed: must be a positive integer or None")
        if n_households < self.MIN_HOUSEHOLDS:
            threads = 1
        self.threads = threads
        n_blocks = max(1, threads - 1)  # one thread works ahead (``background``)
        bounds = [n_households * k // n_blocks for k in range(n_blocks + 1)]
        self.blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        self._pool: ThreadPoolExecutor | None = None
        self._background: ThreadPoolExecutor | None = None

    def background(self) -> ThreadPoolExecutor | None:
        """A one-thread executor for work ahead of the processes (None when the blocks run in one thread)."""
        if self.threads > 1 and self._background is None:
            self._background = ThreadPoolExecutor(1, thread_name_prefix="ruralabm-ahead", initializer=lower_priority)
        return self._background

    def run(self, fn, world) -> None:
        """``fn(world, block)`` for every block; the calling thread takes the first block."""
        if len(self.blocks) == 1:
            fn(world, slice(None))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(len(self.blocks) - 1, thread_name_prefix="ruralabm-households")
        others = [self._pool.submit(fn, world, block) for block in self.blocks[1:]]
        try:
            fn(world, self.blocks[0])
        finally:
            wait(others)  # never leave a block writing the state while an error propagates
        for future in others:
            future.result()  # re-raises a block's error
