"""Where the CLDS-like sample's control group gets its dibao recipients (a diagnostic of CLDS Table 3's
unmatched control share of `subsidy`: 0.072 in the paper, 0.17 at the shipped default and 0.18-0.20 in the
posterior predictive checks of the calibrations of 2026-12-07).

    python benchmarks/clds_subsidy_controls.py [--seeds 3] [--scenario mixed] [--households 40000]

The sample is the paper's: households poor (national line) in 2014, observed in 2014 and 2016, T =
participating in 2016. The paper's control group holds few dibao recipients because recipients join
where they can (the participation probit's subsidy term). This prints, for the 2016 controls, the
dibao share split by whether their village has an operating cooperative in 2016 and whether they
were members in 2015: former members whose cooperative closed in 2016 become controls and carry the
members' high dibao share with them. Each seed runs the scenario once (no twins).

It also prints a what-if of the survey, not of the model: the sample's participation and dibao
shares if the members of a cooperative that closed (the panel's ``shell_member``) reported membership, as members of
a dormant ('shell') cooperative may (about 37% of registered cooperatives around 2014 were shells
that stayed on the register; Hu et al., "False prosperity"). Table 1's share, over both waves and
all households, is the same under either reading.
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

from ruralabm import RuralModel, load_scenario
from ruralabm.analysis.specs import CLDS_POST, CLDS_PRE
from ruralabm.analysis.studies.survey import clds_sample


def one_seed(scenario: str, households: int, seed: int, sample: int) -> tuple[pd.DataFrame, pd.Series]:
    sc = load_scenario(scenario, [f"population.n_households={households}", f"calendar.end_year={CLDS_POST}"])
    panel = RuralModel(sc.params, seed=seed, household_agents=False).run().household_panel()
    smp = clds_sample(panel, n=sample, seed=seed)
    post = smp[smp["year"] == CLDS_POST].copy()
    before = panel[panel["year"] == CLDS_POST - 1].set_index("household_id")
    post["member_before"] = before["participating"].reindex(post["household_id"]).to_numpy()
    post["seed"] = seed
    # households (all, not only the sample) in a village with an operating cooperative, by year
    coverage = panel[panel["year"] >= CLDS_PRE].groupby("year")["cooperative_in_village"].mean()
    return post[["seed", "participating", "subsidy", "cooperative_in_village", "member_before", "shell_member"]], coverage


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--scenario", default="mixed")
    ap.add_argument("--households", type=int, default=40_000)
    ap.add_argument("--sample", type=int, default=2_500, help="households poor in 2014 surveyed per seed")
    args = ap.parse_args()
    t0 = time.perf_counter()
    runs = [one_seed(args.scenario, args.households, s, args.sample) for s in range(1, args.seeds + 1)]
    coverage = pd.concat([cov for _, cov in runs], axis=1).mean(axis=1)
    frame = pd.concat([post for post, _ in runs], ignore_index=True)
    controls = frame[frame["participating"] == 0]
    print(f"{args.scenario}, {args.households} households, seeds 1..{args.seeds}, {args.sample} poor of {CLDS_PRE} "
          f"surveyed per seed")
    print(f"participation in {CLDS_POST}: {frame['participating'].mean():.3f}; dibao share: treated "
          f"{frame.loc[frame['participating'] == 1, 'subsidy'].mean():.3f}, controls {controls['subsidy'].mean():.3f} "
          f"(paper 0.706 / 0.072)")
    print("households in a village with an operating cooperative (all households, mean over seeds): "
          + ", ".join(f"{year} {share:.3f}" for year, share in coverage.items()))
    split = (controls.groupby(["cooperative_in_village", "member_before"])["subsidy"]
             .agg(dibao_share="mean", controls="size").reset_index())
    split["share_of_controls"] = split["controls"] / len(controls)
    split["contribution"] = split["dibao_share"] * split["share_of_controls"]
    split = split.rename(columns={"cooperative_in_village": f"cooperative in village {CLDS_POST}",
                                  "member_before": f"member in {CLDS_POST - 1}"})
    print(f"\n{CLDS_POST} controls by their village's cooperative and their membership a year before "
          f"(contribution = dibao share x share of controls; the contributions sum to the controls' share):")
    print(split.round(3).to_string(index=False))
    # the model's shell members (model/processes/participation.py), whatever survey.report_shell_membership says
    shells = frame["shell_member"] == 1
    reported = (frame["participating"] == 1) | shells
    print(f"\nwhat-if, the survey only: if the {shells.sum()} members of a shell cooperative (closed, still on the "
          f"register; {shells.mean():.3f} of the sample) reported membership: participation {reported.mean():.3f} "
          f"(paper 0.7405); dibao share: treated {frame.loc[reported, 'subsidy'].mean():.3f}, controls "
          f"{frame.loc[~reported, 'subsidy'].mean():.3f} (paper 0.706 / 0.072)")
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
