"""County exits against the official schedule and the 76-county statistics over replications.

    python benchmarks/county_exit_check.py [--reps 10] [--households 40000] [--counties N]
        [--scenario calibrated] [--set section.key=value ...]
"""
import argparse
import time

from ruralabm.analysis.studies.campaign import county_exit_check

ap = argparse.ArgumentParser()
ap.add_argument("--scenario", default="calibrated")
ap.add_argument("--reps", type=int, default=10)
ap.add_argument("--households", type=int, default=40_000)
ap.add_argument("--counties", type=int, default=None,
                help="default: enough for a 76-county sample of poor counties (at least 100)")
ap.add_argument("--redraws", type=int, default=5, help="replications with assessment re-draws")
ap.add_argument("--set", dest="overrides", action="append", default=[])
a = ap.parse_args()
t0 = time.perf_counter()
res = county_exit_check(a.scenario, reps=a.reps, households=a.households, counties=a.counties,
                        assessment_redraws=a.redraws, overrides=a.overrides)
print(res.text)
print(f"\n({time.perf_counter() - t0:.0f} s)")
