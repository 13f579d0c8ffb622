"""Named policy scenarios (TOML files in this folder) and their loader.

A scenario file has an optional ``description``, an optional ``extends = "other"`` and any
parameter sections of :class:`model.Params` (``[policy]``, ``[shocks]`` ...). Keys it does not
set keep the values of the scenario it extends, or the defaults.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ruralabm.model.params import ParameterError, Params

# Finding and reading the files (and following ``extends``) is the model layer's, so that
# RuralModel(scenario=...) needs nothing from this layer; re-exported here.
from ruralabm.model.scenario_files import (META_KEYS, SCENARIO_DIR, _read, _resolve_parent,  # noqa: F401
                                           _resolve_path, available, chain_params, read_chain)


@dataclass
class Scenario:
    name: str
    description: str
    params: Params
    source: str  # file path the scenario came from
    chain: list[str]  # the extends chain, base first


def load(name_or_path: str | Path, overrides: Iterable[str] | dict | None = None) -> Scenario:
    """Load a scenario by name or path, following ``extends``, then apply overrides.

    ``overrides`` is a mapping {"section.key": value} or strings "section.key=value" (the value
    parsed as TOML, so ``0.2``, ``true``, ``[0.5, 0.5, 0, 0]`` and ``"text"`` all work).
    """
    chain = read_chain(name_or_path)
    for path, data in chain:
        if not isinstance(data.get("description", ""), str):
            raise ParameterError(f"{path.name}: description = {data['description']!r} must be a string (text in quotes)")
    params = chain_params(chain)
    # All overrides at once: cross-field checks (sums to one, households per village) see the set.
    params.set_many(_parse_overrides(overrides))
    path0, data0 = chain[0]
    return Scenario(name=path0.stem, description=str(data0.get("description", "")).strip(), params=params,
                    source=str(path0), chain=[p.stem for p, _ in reversed(chain)])


def _parse_overrides(overrides) -> list[tuple[str, Any]]:
    if not overrides:
        return []
    if isinstance(overrides, dict):
        return list(overrides.items())
    out = []
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"override '{item}' must look like section.key=value, e.g. shocks.disaster_probability=0.2")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()  # a bare word: treat as a string and let validation judge it
        out.append((key.strip(), value))
    return out
