"""docs/scenario.schema.json: current, and every shipped scenario file validates against it."""
from __future__ import annotations

import json
import tomllib

import pytest

jsonschema = pytest.importorskip("jsonschema")

from ruralabm.scenarios import SCENARIO_DIR  # noqa: E402
from ruralabm.scenarios.schema import DOC_PATH, json_schema, schema_text  # noqa: E402


def test_schema_file_is_current():
    assert DOC_PATH.read_text() == schema_text(), "stale: run python -m ruralabm.scenarios.schema"
    jsonschema.Draft202012Validator.check_schema(json.loads(DOC_PATH.read_text()))


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_scenarios_validate(path):
    with path.open("rb") as fh:
        jsonschema.validate(tomllib.load(fh), json_schema())


@pytest.mark.parametrize("text, where", [
    ("[shocks]\ndisaster_probabilty = 0.2\n", "disaster_probabilty"),       # misspelt key
    ("[shocks]\ndisaster_probability = 1.5\n", "1.5"),                      # out of range
    ("[population]\nn_households = 2.5\n", "2.5"),                          # not an integer
    ("[policy]\nform_shares = { agritourism = 1.0, hub = 0.0 }\n", "hub"),  # unknown form
    ("[nosuchsection]\nx = 1\n", "nosuchsection"),
])
def test_schema_rejects_what_the_loader_rejects(text, where, tmp_path):
    from ruralabm.model.params import ParameterError
    from ruralabm.scenarios import load

    with pytest.raises(jsonschema.ValidationError) as schema_error:
        jsonschema.validate(tomllib.loads(text), json_schema())
    assert where in str(schema_error.value)
    path = tmp_path / "bad.toml"
    path.write_text('extends = "mixed"\n' + text)
    with pytest.raises(ParameterError):
        load(path)
