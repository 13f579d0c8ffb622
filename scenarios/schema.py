"""The scenario file format as JSON Schema (draft 2020-12), generated from the ``Params`` metadata,
so that editors with a TOML language server (e.g. Taplo, Even Better TOML) can check scenario
files as they are typed. ``python -m ruralabm.scenarios.schema`` rewrites
docs/scenario.schema.json; tests/test_scenarios.py checks that the file is current and that
every shipped scenario validates against it.

The schema checks keys, types and ranges; cross-key rules (shares summing to 1, enough
households for the villages) are checked by ``Params.validate`` when the file is loaded.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ruralabm.model.params import all_parameter_specs

SCHEMA_ID = "https://ruralabm.invalid/scenario.schema.json"  # a name, not a location to fetch
DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "scenario.schema.json"


def _bounds(spec: dict) -> dict:
    out = {}
    if spec["low"] is not None:
        out["minimum"] = spec["low"]
    if spec["high"] is not None:
        out["maximum"] = spec["high"]
    return out


def _property(spec: dict) -> dict:
    text = f"{spec['doc']} Unit: {spec['unit']}. Source: {spec['source']}"
    kind = spec["type"]
    if spec.get("choices"):
        prop = {"enum": list(spec["choices"])}
    elif kind == "bool":
        prop = {"type": "boolean"}
    elif kind == "int":
        prop = {"type": "integer", **_bounds(spec)}
    elif kind == "float":
        prop = {"type": "number", **_bounds(spec)}
    elif kind == "list":
        item = {"type": "number", **_bounds(spec)}
        as_list = {"type": "array", "items": item, "minItems": len(spec["default"]),
                   "maxItems": len(spec["default"])}
        if spec.get("keys"):
            by_name = {"type": "object", "properties": {k: item for k in spec["keys"]}, "additionalProperties": False}
            prop = {"oneOf": [as_list, by_name]}
            text += f" A list in the order {', '.join(spec['keys'])}, or a table by name."
        else:
            prop = as_list
    else:
        prop = {"type": "string"}
    return {**prop, "default": spec["default"], "description": text}


def json_schema() -> dict:
    sections: dict[str, dict] = {}
    for spec in all_parameter_specs():
        section, key = spec["name"].split(".", 1)
        sections.setdefault(section, {})[key] = _property(spec)
    properties = {
        "description": {"type": "string", "description": "One line shown by `ruralabm scenarios`."},
        "extends": {"type": "string",
                    "description": "A shipped scenario name or a path to a .toml file whose values this file changes."},
    }
    for section, keys in sections.items():
        properties[section] = {"type": "object", "properties": keys, "additionalProperties": False}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "ruralabm scenario file",
        "description": "A scenario: an optional description, an optional extends, and any parameter sections "
                       "(see docs/scenarios.md).",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DOC_PATH
    out.write_text(schema_text())
    print(f"wrote {out}")
