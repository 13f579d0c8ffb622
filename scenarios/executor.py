"""Execution backends behind one interface: serial, local processes, Dask distributed.

Everything that runs many independent simulations (``compare``, ``sweep``, and later the
estimator validation and calibration) goes through :func:`make_executor`::

    from ruralabm.scenarios.executor import make_executor, replication_seeds

    seeds = replication_seeds(master_seed, reps)          # common random numbers
    tasks = [{"params": params_dict, "seed": s} for s in seeds]
    with make_executor("processes", workers=2) as ex:
        for i, outcome in ex.run(my_task_function, tasks):   # as they complete
            if outcome.ok:
                use(i, outcome.value)
            else:
                log(i, outcome.error)                        # the task raised; others go on

Rules for task functions: a *top-level* (importable, picklable) function of one small,
picklable task spec (a dict of parameters and an integer seed) returning compact results
(a dict of numbers or a small DataFrame). Workers never receive pickled models and never keep
state between tasks, except for caches that are pure functions of their arguments.

Backends
--------
``serial``      in this process, one task at a time (lazy: nothing runs before it is consumed).
``processes``   a reused :class:`concurrent.futures.ProcessPoolExecutor` (``forkserver`` start
                method on Linux, with numpy, pandas and the model preloaded, so a worker starts
                in milliseconds); BLAS/OpenMP are limited to one thread per worker.
``dask``        a Dask ``distributed`` client: ``dask="local"`` starts a ``LocalCluster`` of
                single-threaded worker processes; ``dask="tcp://host:port"`` joins an existing
                scheduler (its workers must have this package importable). Needs the optional
                extra ``ruralabm[dask]``.

Results do not depend on the backend or the number of workers: tasks carry their own seeds
(from :func:`replication_seeds`), and :meth:`Executor.run` reports every result with the index
of its task, so callers store them by index, not by completion order.
"""
from __future__ import annotations

import abc
import concurrent.futures as cf
import multiprocessing
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ruralabm import raise_if_interrupted
from ruralabm.model.params import ParameterError

BACKENDS = ("serial", "processes", "dask")
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
              "NUMEXPR_NUM_THREADS", "RURALABM_HOUSEHOLD_THREADS")
# Imported once by the forkserver, inherited by every worker it forks.
PRELOAD = ["numpy", "pandas", "scipy.special", "ruralabm.model", "ruralabm.scenarios.runner", "ruralabm.analysis.vep", "ruralabm.analysis.resilience"]


# ---------------------------------------------------------------------------------------------
# Seeds


def replication_seeds(master_seed: int, n: int) -> list[int]:
    """``n`` integer seeds for ``RuralModel`` from ``SeedSequence(master_seed).spawn(n)``.

    Seed ``i`` depends only on (master_seed, i): the same for every scenario or design point at
    replication ``i`` (common random numbers), for every backend and worker count, and a longer
    run (larger ``n``) extends a shorter one without changing its seeds.
    """
    if isinstance(master_seed, bool) or not isinstance(master_seed, (int, np.integer)) or master_seed < 0:
        raise ParameterError(f"--seed = {master_seed!r} is not allowed: must be a non-negative integer")
    children = np.random.SeedSequence(int(master_seed)).spawn(int(n))
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


# ---------------------------------------------------------------------------------------------
# Outcomes of guarded tasks


@dataclass
class Outcome:
    """What one task produced: ``value`` if ``ok``, else ``error`` (one line) and ``traceback``."""

    ok: bool
    value: Any = None
    error: str | None = None
    traceback: str | None = None


def _guarded(fn: Callable, task: Any) -> Outcome:
    """Run ``fn(task)`` in a worker; an exception becomes a failed :class:`Outcome`."""
    try:
        return Outcome(True, fn(task))
    except Exception as exc:  # noqa: BLE001 - the failure is recorded, the sweep goes on
        message = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        return Outcome(False, None, message, traceback.format_exc())


def _run_batch(batch: tuple[Callable, list]) -> list[Outcome]:
    """Several guarded tasks in one worker call (fewer scheduler round trips for small runs)."""
    fn, tasks = batch
    return [_guarded(fn, t) for t in tasks]


def _run_batch_timed(batch: tuple[Callable, list]) -> tuple[list[Outcome], float]:
    """:func:`_run_batch` and the seconds it took in the worker (for adaptive batch sizes)."""
    t0 = time.perf_counter()
    outcomes = _run_batch(batch)
    return outcomes, time.perf_counter() - t0


BATCH_SECONDS = 0.25  # target worker time per Dask task: scheduler overhead stays a few %


def _init_worker() -> None:
    """Worker initialiser: one BLAS/OpenMP thread per worker process, and Ctrl-C is left to the
    main process (which cancels queued runs, lets running ones finish and keeps what is written)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for key in THREAD_ENV:
        os.environ[key] = "1"
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except Exception:  # pragma: no cover - threadpoolctl is optional
        pass


class _one_thread:
    """Context: one BLAS/OpenMP thread in *this* process (serial runs then compute exactly what a
    single-threaded worker computes, so results are bit-identical across backends)."""

    def __enter__(self):
        try:
            from threadpoolctl import threadpool_limits
            self._limits = threadpool_limits(1)
        except Exception:  # pragma: no cover
            self._limits = None
        return self

    def __exit__(self, *exc):
        if self._limits is not None:
            self._limits.restore_original_limits()
        return False


def _ping(_: Any = None) -> int:
    return os.getpid()


# ---------------------------------------------------------------------------------------------
# Executors


class Executor(abc.ABC):
    """Common interface: ``submit``/``map``/``as_completed`` like :mod:`concurrent.futures`,
    plus :meth:`run`, the windowed, failure-tolerant loop used by compare and sweep."""

    backend = "base"

    def __init__(self, workers: int):
        self.workers = int(workers)

    # concurrent.futures-style API ------------------------------------------------------
    @abc.abstractmethod
    def submit(self, fn: Callable, *args, **kwargs):
        """Schedule ``fn(*args, **kwargs)``; return a future."""

    def as_completed(self, futures: Iterable) -> Iterator:
        return cf.as_completed(list(futures))

    def _wait_any(self, pending: set) -> set:
        done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        return set(done)

    def map(self, fn: Callable, tasks: Iterable) -> Iterator:
        """Results in task order; the first exception is re-raised (like ``Executor.map``)."""
        futures = [self.submit(fn, t) for t in tasks]
        try:
            for f in futures:
                value = f.result()
                raise_if_interrupted()
                yield value
        finally:
            for f in futures:
                f.cancel()

    # the loop compare and sweep use ------------------------------------------------------
    def run(self, fn: Callable, tasks: Sequence, *, window: int | None = None) -> Iterator[tuple[int, Outcome]]:
        """Yield ``(task index, Outcome)`` as tasks complete.

        At most ``window`` tasks (default 4 x workers) are in flight, so memory stays flat
        and an interruption loses little. A task that raises yields a failed Outcome; it does
        not stop the others. If the consumer stops early (or Ctrl-C), queued tasks are cancelled.
        """
        tasks = list(tasks)
        window = max(1, window or 4 * self.workers)
        pending: dict[Any, int] = {}
        nxt = 0
        try:
            while nxt < len(tasks) or pending:
                while nxt < len(tasks) and len(pending) < window:
                    pending[self.submit(_guarded, fn, tasks[nxt])] = nxt
                    nxt += 1
                for fut in self._wait_any(set(pending)):
                    i = pending.pop(fut)
                    outcome = self._outcome(fut)
                    raise_if_interrupted()  # nothing finished after a Ctrl-C is used
                    yield i, outcome
        finally:
            for fut in pending:
                fut.cancel()

    def _outcome(self, fut) -> Outcome:
        try:
            return fut.result()
        except Exception as exc:  # the worker itself died (not an exception inside the task)
            if isinstance(exc, KeyboardInterrupt):  # pragma: no cover
                raise
            raise WorkerCrashed(f"a worker process died ({type(exc).__name__}: {exc}); "
                                "finished results are kept, resume to redo the rest") from exc

    def shutdown(self) -> None:
        pass

    def describe(self) -> str:
        return f"{self.backend} ({self.workers} worker{'s' if self.workers != 1 else ''})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
        return False


class WorkerCrashed(RuntimeError):
    """A worker process died; the pool cannot continue."""


class SerialExecutor(Executor):
    backend = "serial"

    def __init__(self):
        super().__init__(1)

    def submit(self, fn, *args, **kwargs):
        fut: cf.Future = cf.Future()
        try:
            with _one_thread():
                fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            fut.set_exception(exc)
        return fut

    def run(self, fn, tasks, *, window=None):
        for i, t in enumerate(tasks):  # lazy: a task runs when the consumer asks for it
            with _one_thread():
                outcome = _guarded(fn, t)
            # A Ctrl-C during the task may have been swallowed or turned into the task's failure
            # (an extension module interrupted while imported raises ImportError): not an outcome.
            raise_if_interrupted()
            yield i, outcome

    def map(self, fn, tasks):
        for t in tasks:
            with _one_thread():
                value = fn(t)
            raise_if_interrupted()
            yield value


class ProcessExecutor(Executor):
    backend = "processes"

    def __init__(self, workers: int | None = None, start_method: str | None = None):
        workers = workers or os.cpu_count() or 1
        super().__init__(workers)
        method = start_method or os.environ.get("RURALABM_START_METHOD")
        if method is None:
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(PRELOAD)
        # Children (and the forkserver) inherit these before numpy is imported there.
        for key in THREAD_ENV:
            os.environ.setdefault(key, "1")
        self.start_method = method
        self._pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker)

    def submit(self, fn, *args, **kwargs):
        return self._pool.submit(fn, *args, **kwargs)

    def warm_up(self) -> None:
        """Start every worker now (otherwise they start with the first tasks)."""
        list(self._pool.map(_ping, range(self.workers)))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    backend = "dask"

    def __init__(self, address: str = "local", workers: int | None = None):
        try:
            import logging

            from distributed import Client, LocalCluster
        except ImportError:
            raise ParameterError("--dask needs the optional extra: pip install 'ruralabm[dask]' "
                                 "(dask[distributed])") from None
        self._cluster = None
        if address == "local":
            n = workers or os.cpu_count() or 1
            import dask

            env = {key: "1" for key in THREAD_ENV}
            # Dask sets MALLOC_TRIM_THRESHOLD_ in its workers, which switches off glibc's adaptive
            # mmap threshold: every large numpy temporary is then mmapped and page-faulted afresh,
            # slowing the model ~30%. Keep the thread limits, drop that one; no profiler sampling.
            spawn_env = {k: v for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {}).items()
                         if k != "MALLOC_TRIM_THRESHOLD_"}
            # On a small machine the workers' event loops (20 ms ticks, 100 ms memory checks,
            # system monitor) steal GIL and CPU from the runs themselves: tick them slowly.
            quiet = {"distributed.admin.tick.interval": "1s",
                     "distributed.admin.system-monitor.interval": "2s",
                     "distributed.worker.memory.monitor-interval": "1s"}
            with dask.config.set({"distributed.nanny.pre-spawn-environ": spawn_env,
                                  "distributed.worker.profile.enabled": False, **quiet}):
                self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=logging.ERROR, env=env)
            self._client = Client(self._cluster)
        else:
            if not address.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://", "ucx://")):
                raise ParameterError(f"--dask {address!r}: give 'local' or a scheduler address like tcp://HOST:8786")
            try:
                self._client = Client(address, timeout="10s")
            except OSError as exc:
                raise ParameterError(f"--dask {address}: cannot reach the scheduler ({exc})") from None
            n = sum(w.get("nthreads", 1) for w in self._client.scheduler_info()["workers"].values()) or 1
        super().__init__(n)
        self.address = address

    @property
    def client(self):
        return self._client

    def submit(self, fn, *args, **kwargs):
        return self._client.submit(fn, *args, pure=False, **kwargs)

    def as_completed(self, futures):
        from distributed import as_completed
        return as_completed(list(futures))

    def _wait_any(self, pending: set) -> set:
        from distributed import wait
        done, _ = wait(list(pending), return_when="FIRST_COMPLETED")
        return set(done)

    def run(self, fn, tasks, *, window=None, batch: int | None = None):
        """As :meth:`Executor.run`. Each Dask task costs a few milliseconds of scheduler and
        transfer work on top of the run, so runs are sent in batches. By default the batch size
        adapts: the first runs go one by one, then each batch is sized to take about
        ``BATCH_SECONDS`` at the measured time per run, never so large that the last batches
        leave a worker idle (at most remaining / (2 x workers)). ``batch`` fixes the size.
        Results do not depend on the batching (each run has its own seed)."""
        tasks = list(tasks)
        window = max(1, window or 2 * self.workers)  # batches in flight
        pending: dict[Any, list[int]] = {}
        per_run: float | None = None
        nxt = 0

        def size() -> int:
            if batch is not None:
                return max(1, int(batch))
            if per_run is None:
                return 1
            cap = max(1, (len(tasks) - nxt) // (2 * self.workers))
            return max(1, min(int(BATCH_SECONDS / max(per_run, 1e-4)), cap, 64))

        from distributed import as_completed

        completed = as_completed()

        def refill() -> None:
            nonlocal nxt
            while nxt < len(tasks) and len(pending) < window:
                idx = list(range(nxt, min(nxt + size(), len(tasks))))
                nxt = idx[-1] + 1
                fut = self.submit(_run_batch_timed, (fn, [tasks[i] for i in idx]))
                pending[fut] = idx
                completed.add(fut)

        try:
            refill()
            for fut in completed:
                idx = pending.pop(fut)
                outcomes, seconds = self._outcome(fut)
                rate = seconds / len(idx)
                per_run = rate if per_run is None else 0.5 * (per_run + rate)
                refill()  # keep the workers busy while the caller handles these results
                for i, outcome in zip(idx, outcomes):
                    raise_if_interrupted()
                    yield i, outcome
        finally:
            for fut in pending:
                fut.cancel()

    def _outcome(self, fut) -> Outcome:
        try:
            return fut.result()
        except Exception as exc:
            raise WorkerCrashed(f"a Dask task was lost ({type(exc).__name__}: {exc}); "
                                "finished results are kept, resume to redo the rest") from exc

    def describe(self) -> str:
        where = "LocalCluster" if self.address == "local" else self.address
        return f"dask {where} ({self.workers} worker thread{'s' if self.workers != 1 else ''})"

    def shutdown(self) -> None:
        try:
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


def make_executor(backend: str = "processes", workers: int | None = None, dask: str | None = None) -> Executor:
    """An executor for ``backend`` ('serial', 'processes', 'dask'); ``dask`` ('local' or a
    scheduler address) implies the Dask backend. ``workers`` defaults to the number of CPUs."""
    if dask:
        backend = "dask"
    if backend not in BACKENDS:
        raise ParameterError(f"unknown backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise ParameterError(f"--workers = {workers!r} is not allowed: must be at least 1")
    if backend == "serial" or (backend == "processes" and workers == 1):
        return SerialExecutor()
    if backend == "processes":
        return ProcessExecutor(workers)
    return DaskExecutor(dask or "local", workers)


def progress_bar(total: int, desc: str, enabled: bool = True):
    """A tqdm bar on stderr (a no-op object when disabled)."""
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="run", disable=not enabled, file=sys.stderr, dynamic_ncols=True)
