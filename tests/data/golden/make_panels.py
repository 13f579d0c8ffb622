"""Write the golden panel references from the reference commit 65e9d62, in-process, on this host.

    git worktree add --detach /tmp/golden-ref 65e9d62
    python tests/data/golden/make_panels.py /tmp/golden-ref tests/data/golden/noavx512

The panels do not touch BLAS, but numpy's float64 exp and log do depend on the CPU: on a CPU with
AVX-512 numpy computes them with its own AVX512F kernels, elsewhere with the C library, and the
two differ in the last bit. tests/test_golden.py therefore compares the panels with the references
of the host's class: ``tests/data/golden/*.parquet`` (written on an AVX-512 host) or
``tests/data/golden/noavx512/*.parquet`` (written with this script on an AMD EPYC without AVX-512,
2026-12-06). Run it with the project's virtual environment active; the reference commit's modules
are imported from the worktree, not the installed package.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(reference: str, out: str) -> None:
    sys.path.insert(0, str(Path(reference).resolve()))
    from model import RuralModel  # the reference commit's package layout (before "one house")
    from scenarios import load

    dest = Path(out)
    dest.mkdir(parents=True, exist_ok=True)
    # as tests/test_golden.py::golden_model (the later mechanisms' switches did not exist yet)
    sc = load(str(HERE / "scenarios" / "mixed.toml"), {"population.n_counties": 6, "population.n_households": 1500})
    model = RuralModel(sc.params, seed=7).run()
    for name, panel in (("households", "household_panel"), ("counties", "county_panel"),
                        ("county_exits", "county_exits"), ("organisations", "organisations_panel")):
        getattr(model, panel)().to_parquet(dest / f"{name}.parquet")
    # as tests/test_golden.py::test_per_agent_panel_identical_to_golden
    sc = load("uncalibrated", {"population.n_counties": 3, "population.n_households": 300, "calendar.end_year": 2017})
    RuralModel(sc.params, seed=3, per_agent=True).run().household_panel().to_parquet(dest / "households_per_agent.parquet")
    print(f"golden panel references written in {dest}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
