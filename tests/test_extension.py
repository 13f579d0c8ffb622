"""Adding an integration form takes what docs/architecture.md says: one enumeration member and
its trait row, one entry in each per-form parameter list, and a scenario file. The test does
exactly that to a copy of the package and runs the model, the twin truth and the CLI on it."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PER_FORM_LISTS = {"price_gain": "0.05", "yield_gain": "0.05", "business_income": "1000.0", "skill_gain": "0.04",
                  "ties_gain": "1.5", "jobs_per_member": "0.04", "market_access_recovery": "0.5",
                  "training_multiplier": "1.0"}


def _copy_with_fifth_form(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "runs")
    for folder in ("ruralabm", "model", "agents", "analysis", "calibration", "scenarios"):
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)

    # 1. model/enums.py: the member and its trait row
    enums = src / "model" / "enums.py"
    text = enums.read_text()
    text, n1 = re.subn(r"(\n    ECOMMERCE = 3\n)", r"\1    HUB = 4\n", text)
    text, n2 = re.subn(r"(\n    Form\.ECOMMERCE: FormTraits\([^\n]*\),\n)",
                       r"\1    Form.HUB: FormTraits(technology_push=False, information=True, tertiary_income=True, "
                       r"collective_action=False),\n", text)
    assert n1 == n2 == 1, "model/enums.py no longer looks as docs/architecture.md describes"
    enums.write_text(text)

    # 2. model/params.py: one entry in every per-form list, and the default form shares
    params = src / "model" / "params.py"
    text = params.read_text()
    for name, value in PER_FORM_LISTS.items():
        text, n = re.subn(rf"(\n    {name}: list = param\(\[[^\]]*)\]", rf"\1, {value}]", text)
        assert n == 1, name
    text, n = re.subn(r"(\n    form_shares: list = param\()\[[^\]]*\]", r"\1[0.2, 0.2, 0.2, 0.2, 0.2]", text)
    assert n == 1
    params.write_text(text)

    # 3. a scenario file
    (tmp_path / "hub.toml").write_text('description = "Only the new form"\nextends = "mixed"\n\n'
                                       "[policy]\nform_shares = { hub = 1.0 }\n")
    return src


def test_a_fifth_form_needs_one_trait_row_the_parameter_table_and_a_scenario_file(tmp_path):
    src = _copy_with_fifth_form(tmp_path)
    target = tmp_path / "site"
    res = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target",
                          str(target), str(src)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    env = dict(os.environ, PYTHONPATH=str(target))
    code = """
import json, sys
from ruralabm import RuralModel
from ruralabm.model import FORMS
from ruralabm.model.truth import counterfactual_twins
m = RuralModel(scenario=sys.argv[1], seed=3, **{"population.n_counties": 4, "population.n_households": 1200})
m.run()
panel = m.household_panel()
orgs = m.organisations_panel()
twins = counterfactual_twins(m.params, seed=3, batches=1)
print(json.dumps({
    "forms": list(FORMS),
    "panel_form_categories": list(panel["form"].cat.categories) if hasattr(panel["form"], "cat") else None,
    "member_forms": sorted(set(panel.loc[panel["participating"] == 1, "form"].astype(int))),
    "org_forms": sorted(set(orgs["form"].astype(str))),
    "truth_forms": sorted(set(twins.potential["form"].astype(str))) if "form" in twins.potential else None,
    "att_rows": int(len(twins.estimands())),
}))
"""
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "hub.toml")], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["forms"][-1] == "hub" and len(out["forms"]) == 5
    assert out["member_forms"] == [4], out          # every member is in the new form
    assert out["org_forms"] == ["hub"], out          # every organisation runs it
    assert out["att_rows"] > 0
    if out["truth_forms"] is not None:               # the truth labels members by their form, never-joiners "none"
        assert set(out["truth_forms"]) <= {"hub", "none"}, out

    show = subprocess.run([sys.executable, "-m", "ruralabm", "show", str(tmp_path / "hub.toml")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert show.returncode == 0, show.stderr
    assert re.search(r"^form_shares = \[0\.0, 0\.0, 0\.0, 0\.0, 1\.0\]", show.stdout, re.M), show.stdout
