"""Execution backends: seeds, failure handling, and bit-identical results across backends."""
import math

import numpy as np
import pandas as pd
import pytest

from ruralabm.model import ParameterError
from ruralabm.scenarios.executor import SerialExecutor, make_executor, replication_seeds


def test_replication_seeds_are_spawned_and_prefix_stable():
    s5 = replication_seeds(7, 5)
    s8 = replication_seeds(7, 8)
    assert s8[:5] == s5  # more replications extend, never reshuffle
    assert len(set(s8)) == 8
    expected = [int(c.generate_state(1, dtype=np.uint32)[0]) for c in np.random.SeedSequence(7).spawn(5)]
    assert s5 == expected
    assert replication_seeds(8, 5) != s5
    assert all(isinstance(s, int) and s >= 0 for s in s5)


def test_bad_seed_and_backend_are_one_line_errors():
    with pytest.raises(ParameterError, match="non-negative"):
        replication_seeds(-1, 3)
    with pytest.raises(ParameterError, match="unknown backend 'gpu'; choose one of: serial, processes, dask"):
        make_executor("gpu")
    with pytest.raises(ParameterError, match="--workers"):
        make_executor("processes", workers=0)


def test_failed_task_is_recorded_and_others_continue():
    with SerialExecutor() as ex:
        out = dict(ex.run(math.sqrt, [4.0, -1.0, 9.0]))
    assert out[0].ok and out[0].value == 2.0
    assert not out[1].ok and out[1].error == "ValueError: math domain error" and "Traceback" in out[1].traceback
    assert out[2].ok and out[2].value == 3.0


def test_process_pool_map_submit_and_run():
    with make_executor("processes", workers=2) as ex:
        assert ex.describe() == "processes (2 workers)"
        assert list(ex.map(math.sqrt, [1.0, 4.0, 16.0])) == [1.0, 2.0, 4.0]
        fut = ex.submit(math.sqrt, 25.0)
        assert [f.result() for f in ex.as_completed([fut])] == [5.0]
        out = dict(ex.run(math.sqrt, [float(i) for i in range(-2, 10)], window=3))
    assert sorted(out) == list(range(12))
    assert [o.ok for o in out.values()].count(False) == 2
    assert out[11].value == 3.0


def test_a_dying_worker_is_reported_not_hung():
    import os

    from ruralabm.scenarios.executor import WorkerCrashed

    with make_executor("processes", workers=2) as ex:
        with pytest.raises(WorkerCrashed, match="a worker process died"):
            list(ex.run(os._exit, [3]))


def _small_sweep_spec():
    from ruralabm.scenarios.sweep import make_spec

    return make_spec("mixed", ["shocks.disaster_probability=0.05:0.3", "cooperative.marketing_premium=0:0.2"],
                     design="lhs", samples=3, reps=2, seed=3, households=600, years=5,
                     outputs=["poverty_rate", "vulnerability", "resilience", "exit_share"], chunk_size=2)


@pytest.mark.slow
def test_same_sweep_is_bit_identical_serially_with_processes_and_on_dask(tmp_path):
    pytest.importorskip("distributed")
    from ruralabm.scenarios.sweep import run_sweep

    spec = _small_sweep_spec()
    results = {}
    for name, ex in [("serial", lambda: make_executor("serial")),
                     ("processes", lambda: make_executor("processes", workers=2)),
                     ("dask", lambda: make_executor("dask", workers=2, dask="local"))]:
        with ex() as executor:
            sweep, manifest = run_sweep(spec, tmp_path / name, executor=executor)
            if name == "dask":  # batched submission keeps task indices and failures straight
                out = dict(executor.run(math.sqrt, [float(i) for i in range(-1, 9)], batch=3))
                assert sorted(out) == list(range(10)) and not out[0].ok and out[9].value == math.sqrt(8.0)
        assert manifest["complete"] and manifest["counts"]["ok"] == 6
        results[name] = pd.read_parquet(tmp_path / name / "results.parquet")
    base = results["serial"]
    assert base["vulnerability"].notna().all() and base["resilience"].notna().all()
    for name in ("processes", "dask"):
        pd.testing.assert_frame_equal(results[name], base, check_exact=True)
