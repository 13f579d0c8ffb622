import os

from pathlib import Path

import pytest


# Keep BLAS single-threaded in tests: the suite runs on 2 cores and parallel tests use processes.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def small_params():
    from ruralabm.model import Params

    p = Params()
    p.population.n_households = 4000
    p.population.n_counties = 8
    return p


@pytest.fixture(scope="session")
def small_run(small_params):
    from ruralabm.model import RuralModel

    return RuralModel(small_params.copy(), seed=11, household_agents=False).run()
