"""Start-up time of the command line: wall time of commands that must answer at once.

Target (issue "one house"): ``ruralabm scenarios``, ``ruralabm show NAME``, ``--help`` and every
usage error under 1 s of wall time on the 2-core machine. Each command is run as a fresh
process (the installed ``ruralabm`` console script) several times; the median and the worst
are printed.

    python benchmarks/bench_startup.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = [
    ["--help"],
    ["--version"],
    ["scenarios"],
    ["show", "cooperative"],
    ["simulate", "--help"],
    ["compare", "--help"],
    ["sweep", "--help"],
    ["validate", "--help"],
    ["replicate", "--help"],
    ["calibrate", "--help"],
    # usage errors, one per subcommand
    ["nosuchcommand"],
    ["simulate", "--households", "0"],
    ["show", "nosuchscenario"],
    ["compare", "--reps", "x"],
    ["sweep", "--design", "x"],
    ["validate", "--preset", "x"],
    ["replicate", "nosuchpaper"],
    ["calibrate", "--budget", "-1"],
    ["calibration-report"],
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    exe = shutil.which("ruralabm") or os.path.join(os.path.dirname(sys.executable), "ruralabm")
    cmd0 = [exe] if os.path.exists(exe) else [sys.executable, "-m", "ruralabm"]
    print(f"start-up of {' '.join(cmd0)} (fresh process each time, {args.repeat} repeats; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    worst_overall = 0.0
    for extra in COMMANDS:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = subprocess.run(cmd0 + extra, capture_output=True, text=True, cwd=os.path.expanduser("~"))
            times.append(time.perf_counter() - t0)
        worst_overall = max(worst_overall, max(times))
        status = "ok" if max(times) < 1.0 else "SLOW"
        print(f"  {' '.join(extra):40s} exit {res.returncode}  median {statistics.median(times) * 1000:6.0f} ms  "
              f"worst {max(times) * 1000:6.0f} ms  {status}")
    print(f"worst of all: {worst_overall * 1000:.0f} ms (target < 1000 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
