"""All estimator speed targets of issue #3 in one run.

    python benchmarks/bench_estimators.py

Targets: nearest-neighbour matching (k=4) on 200,000 observations < 2 s; exact normal-kernel
matching on 50,000 treated x 50,000 controls < 10 s; a two-equation CMP on 100,000 observations
< 10 s; VEP on 100,000 observations < 1 s. Each part prints its own figures.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import bench_cmp, bench_psm, bench_vep  # noqa: E402


def main() -> None:
    for name, module in (("PSM", bench_psm), ("CMP", bench_cmp), ("VEP", bench_vep)):
        print(f"== {name} ==")
        module.main()
        print()


if __name__ == "__main__":
    main()
