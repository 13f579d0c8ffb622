"""Shipped scenario files, the scenarios/show commands and the documented schema."""
from pathlib import Path

import pytest

from ruralabm import cli as run
from ruralabm import scenarios
from ruralabm.model import FORMS, ParameterError
from ruralabm.model.params import all_parameter_specs

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ["baseline", "cooperative", "enterprise", "mixed", *FORMS, "frequent_disasters", "volatile_prices"]


def test_required_scenarios_exist_and_load_with_descriptions():
    names = scenarios.available()
    for name in REQUIRED:
        assert name in names, name
        assert names[name], f"{name} has no description"
        scenarios.load(name)  # validates every key


def test_policy_switches_and_forms():
    p = {n: scenarios.load(n).params.policy for n in ("baseline", "cooperative", "enterprise", "mixed")}
    assert (p["baseline"].cooperatives, p["baseline"].enterprises) == (False, False)
    assert (p["cooperative"].cooperatives, p["cooperative"].enterprises) == (True, False)
    assert (p["enterprise"].cooperatives, p["enterprise"].enterprises) == (False, True)
    assert (p["mixed"].cooperatives, p["mixed"].enterprises) == (True, True)
    for i, form in enumerate(FORMS):
        sc = scenarios.load(form)
        assert sc.chain == ["uncalibrated", "world", "calibrated", "mixed", form]
        assert sc.params.policy.form_shares == [1.0 if j == i else 0.0 for j in range(len(FORMS))]
        assert sc.params.policy.cooperatives and sc.params.policy.enterprises


def test_calibrated_parameters_are_the_shipped_default():
    import tomllib

    from ruralabm.commands.calibrate import DEFAULT_PARAMS
    from ruralabm.model import Params

    calibrated = tomllib.loads((scenarios.SCENARIO_DIR / "calibrated.toml").read_text())
    assert calibrated["extends"] == "world"  # the national world, on which the calibration ran
    assert tomllib.loads((scenarios.SCENARIO_DIR / "world.toml").read_text())["extends"] == "uncalibrated"
    assert scenarios.load("uncalibrated").params.to_dict() == Params().to_dict()
    names = [item.split("=")[0] for item in DEFAULT_PARAMS]
    for scenario in ("baseline", "cooperative", "enterprise", "mixed", "vertical_chain", "frequent_disasters"):
        sc = scenarios.load(scenario)
        assert sc.chain[:3] == ["uncalibrated", "world", "calibrated"], scenario
        for name in names:
            section, key = name.split(".")
            assert sc.params.get(name) == calibrated[section][key], (scenario, name)


def test_shock_regimes_are_harsher_than_mixed():
    mixed = scenarios.load("mixed").params.shocks
    fd = scenarios.load("frequent_disasters").params.shocks
    vp = scenarios.load("volatile_prices").params.shocks
    assert fd.disaster_probability > mixed.disaster_probability
    assert fd.county_disaster_probability > mixed.county_disaster_probability
    assert all(a > b for a, b in zip(vp.price_volatility, mixed.price_volatility))
    assert vp.price_volatility != mixed.price_volatility and fd.price_volatility == mixed.price_volatility


def test_user_file_extends_a_shipped_scenario_and_cli_override(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('description = "mine"\nextends = "agritourism"\n[learning]\npeer_effect = 0.3\n')
    sc = scenarios.load(str(f), ["shocks.disaster_probability=0.2"])
    assert sc.chain == ["uncalibrated", "world", "calibrated", "mixed", "agritourism", "mine"]
    assert sc.params.learning.peer_effect == 0.3 and sc.params.shocks.disaster_probability == 0.2
    assert sc.params.policy.form_shares == [0.0, 0.0, 1.0, 0.0]


def test_scenarios_and_show_commands(capsys):
    assert run.main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for name in REQUIRED:
        assert any(line.split()[0] == name for line in out.splitlines()), name
    assert run.main(["show", "frequent_disasters", "--set", "learning.peer_effect=0.3"]) == 0
    out = capsys.readouterr().out
    assert "disaster_probability = 0.25" in out and "changed from default" in out
    assert "peer_effect = 0.3" in out


def test_unknown_scenario_lists_choices(capsys):
    assert run.main(["show", "utopia"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown scenario 'utopia'; available: ") and "frequent_disasters" in err
    with pytest.raises(ParameterError):
        scenarios.load("utopia")


def test_docs_document_every_parameter_and_scenario():
    from ruralabm.scenarios.report import SCHEMA_BEGIN, SCHEMA_END, schema_markdown

    doc = (ROOT / "docs" / "scenarios.md").read_text()
    block = doc[doc.index(SCHEMA_BEGIN):doc.index(SCHEMA_END) + len(SCHEMA_END)]
    assert block == schema_markdown(), "docs/scenarios.md is stale: run python -m scenarios.report --schema"
    for spec in all_parameter_specs():
        assert f"| `{spec['name'].split('.')[1]}` | {spec['unit']} |" in block
    for name in scenarios.available():
        assert f"`{name}`" in doc, name


def test_relative_extends_resolves_beside_the_extending_file(tmp_path, monkeypatch):
    sub = tmp_path / "mine"
    sub.mkdir()
    (sub / "a.toml").write_text('extends = "cooperative"\n[shocks]\ndisaster_probability = 0.2\n')
    (sub / "b.toml").write_text('extends = "a.toml"\n[learning]\npeer_effect = 0.3\n')
    monkeypatch.chdir(tmp_path)  # not the files' folder
    sc = scenarios.load(sub / "b.toml")
    assert sc.chain[-2:] == ["a", "b"]
    assert sc.params.shocks.disaster_probability == 0.2 and sc.params.learning.peer_effect == 0.3
    assert sc.params.policy.enterprises is False


@pytest.mark.parametrize("argv, names", [
    (["sweep", "--design", "halton"], ["--design", "grid", "lhs", "sobol", "morris"]),
    (["compare", "--backend", "mpi"], ["--backend", "serial", "processes", "dask"]),
    (["replicate", "nope"], ["clds", "cao", "counties"]),
])
def test_usage_errors_are_one_line_naming_the_choices(argv, names, capsys):
    from ruralabm import cli as run
    with pytest.raises(SystemExit) as exc:
        run.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")
    assert all(n in err for n in names)
