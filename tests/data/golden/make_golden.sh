#!/usr/bin/env bash
# Regenerate the compare and validate golden references from the commit before the "one house"
# restructuring (65e9d62), with OpenBLAS's Haswell kernels pinned so that the last bits of the BLAS
# results do not depend on the CPU (tests/test_golden.py runs the current tree the same way).
# The panel references (households*, counties, county_exits, organisations .parquet) were written
# in-process by RuralModel(...).household_panel() etc. at 65e9d62 and do not depend on BLAS.
# Usage, from the repository root with the project's virtual environment active:
#   bash tests/data/golden/make_golden.sh [DIR]
# DIR defaults to tests/data/golden (the references of hosts with AVX-512); on a host without
# AVX-512 write tests/data/golden/noavx512 (numpy's float64 exp and log differ in the last bit
# between the two, tests/test_golden.py).
set -euo pipefail
root="$(git rev-parse --show-toplevel)"
work="$(mktemp -d)"
trap 'git -C "$root" worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add --detach "$work/src" 65e9d62 >/dev/null
cd "$work/src"
export PYTHONPATH="$work/src" OPENBLAS_CORETYPE=Haswell
python run.py compare --reps 2 --households 2000 --workers 2 --out "$work/compare" --no-progress >/dev/null
python run.py validate --reps 2 --households 4000 --sample 1500 --selection-on-unobservables 0,1 \
    --outcome vulnerability,income --backend serial --no-figures --no-progress --out "$work/validate" >/dev/null
dest="$(cd "$root" && mkdir -p "${1:-tests/data/golden}" && cd "${1:-tests/data/golden}" && pwd)"
cp "$work/compare/runs.parquet" "$dest/compare_runs.parquet"
cp "$work/compare/summary.csv" "$dest/compare_summary.csv"
cp "$work/validate/rows.csv" "$dest/validate_rows.csv"
cp "$work/validate/summary.csv" "$dest/validate_summary.csv"
echo "golden compare/validate references rewritten in $dest"
