"""Parameter validation, scenario files, extends and overrides."""
import pytest

from ruralabm import scenarios
from ruralabm.model import ParameterError, Params
from ruralabm.model.params import all_parameter_specs, parameter_spec


def test_every_parameter_documents_unit_doc_and_source():
    for spec in all_parameter_specs():
        assert spec["unit"], spec["name"]
        assert spec["doc"], spec["name"]
        assert spec["source"].strip(), spec["name"]


def test_unknown_key_names_key_and_choices():
    with pytest.raises(ParameterError, match=r"shocks\.disaster_probabilty.*keys of \[shocks\].*disaster_probability"):
        Params.from_dict({"shocks": {"disaster_probabilty": 0.1}})


def test_unknown_section():
    with pytest.raises(ParameterError, match="unknown parameter section 'shock'.*shocks"):
        Params.from_dict({"shock": {"disaster_probability": 0.1}})


def test_out_of_range_names_value_and_range():
    with pytest.raises(ParameterError, match=r"shocks\.disaster_probability = 1\.5 is out of range: allowed in \[0, 1\]"):
        Params.from_dict({"shocks": {"disaster_probability": 1.5}})


def test_wrong_type():
    with pytest.raises(ParameterError, match=r"population\.n_households = 'many'.*integer"):
        Params.from_dict({"population": {"n_households": "many"}})
    with pytest.raises(ParameterError, match=r"policy\.cooperatives = 1.*true or false"):
        Params.from_dict({"policy": {"cooperatives": 1}})
    with pytest.raises(ParameterError, match=r"must have 4 entries"):
        Params.from_dict({"policy": {"form_shares": [0.5, 0.5]}})


def test_cross_field_checks():
    with pytest.raises(ParameterError, match="must sum to 1"):
        Params.from_dict({"policy": {"form_shares": [0.5, 0.5, 0.5, 0.0]}})
    with pytest.raises(ParameterError, match="end_year"):
        Params.from_dict({"calendar": {"start_year": 2012, "end_year": 2010}})
    with pytest.raises(ParameterError, match="surplus_returned_share = 0.5 is out of range"):
        Params.from_dict({"cooperative": {"surplus_returned_share": 0.5}})


def test_scenario_extends_and_override(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('description = "test"\nextends = "cooperative"\n[shocks]\ndisaster_probability = 0.3\n')
    sc = scenarios.load(str(f), ["cooperative.capacity=10", "shocks.price_volatility=[0.1, 0.1, 0.1, 0.1]"])
    assert sc.chain[-1] == "mine" and "cooperative" in sc.chain
    assert sc.params.policy.enterprises is False  # inherited from cooperative.toml
    assert sc.params.shocks.disaster_probability == 0.3
    assert sc.params.cooperative.capacity == 10
    assert sc.params.shocks.price_volatility == [0.1] * 4


def test_scenario_errors(tmp_path):
    with pytest.raises(ParameterError, match="unknown scenario 'nope'; available: .*baseline"):
        scenarios.load("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text("[shocks]\nhealth_probability = -1\n")
    with pytest.raises(ParameterError, match=r"bad\.toml: shocks\.health_probability = -1\.0 is out of range"):
        scenarios.load(str(bad))
    with pytest.raises(ParameterError, match="must look like section.key=value"):
        scenarios.load("baseline", ["disaster_probability"])


def test_parameter_spec_lookup():
    spec = parameter_spec("cooperative.surplus_returned_share")
    assert spec["low"] == 0.6 and "60%" in spec["source"]


def test_set_many_validates_the_set_once_and_is_all_or_nothing():
    # Each key alone breaks a cross-field check (300 households < 400 villages); together they are valid.
    sc = scenarios.load("mixed", ["population.n_households=300", "population.n_counties=3"])
    assert (sc.params.population.n_households, sc.params.population.n_counties) == (300, 3)
    p = Params()
    p.set_many({"policy.form_shares[0]": 0.5, "policy.form_shares[1]": 0.0})
    assert p.policy.form_shares == [0.5, 0.0, 0.25, 0.25]
    with pytest.raises(ParameterError, match="fewer than the 400 villages"):
        p.set_many({"population.n_households": 300, "shocks.disaster_probability": 0.5})
    assert p.population.n_households == Params().population.n_households  # nothing changed
    assert p.shocks.disaster_probability == Params().shocks.disaster_probability
    with pytest.raises(ParameterError, match="has 4 entries"):
        p.set_many({"forms.price_gain[7]": 0.1})


def test_per_form_lists_as_tables_by_name():
    p = Params.from_dict({"policy": {"form_shares": {"agritourism": 1.0}}, "forms": {"price_gain": {"ecommerce": 0.2}}})
    assert p.policy.form_shares == [0.0, 0.0, 1.0, 0.0]
    assert p.forms.price_gain == Params().forms.price_gain[:3] + [0.2]
    with pytest.raises(ParameterError, match="unknown entries"):
        Params.from_dict({"policy": {"form_shares": {"hub": 1.0}}})


def test_world_declares_its_arrays():
    from ruralabm.model import RuralModel
    p = Params()
    p.set_many({"population.n_households": 800, "population.n_counties": 2, "calendar.end_year": 2013})
    m = RuralModel(p, seed=1, household_agents=False)
    with pytest.raises(AttributeError):
        m.world.salse = 0  # a typo is an error, not a new array
    with pytest.raises(AttributeError):
        m.world.scratch.sale = 0
    assert m._households_rec is m.world.recorders.households
