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

SCENARIO_DIR = Path(__file__).resolve().parent
META_KEYS = {"description", "extends"}


@dataclass
class Scenario:
    name: str
    description: str
    params: Params
    source: str  # file path the scenario came from
    chain: list[str]  # the extends chain, base first


def available() -> dict[str, str]:
    """Names and one-line descriptions of the shipped scenarios."""
    out = {}
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            out[path.stem] = str(tomllib.load(fh).get("description", "")).strip().splitlines()[0]
    return out


def _resolve_path(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    path = Path(text)
    if path.suffix == ".toml" or path.exists():
        if not path.exists():
            raise ParameterError(f"scenario file '{text}' does not exist")
        return path
    candidate = SCENARIO_DIR / f"{text}.toml"
    if not candidate.exists():
        raise ParameterError(
            f"unknown scenario '{text}'; available: {', '.join(available())} (or give a path to a .toml file)")
    return candidate


def _resolve_parent(parent: str, child: Path) -> Path:
    """``extends`` names a shipped scenario or a file; a relative file path is taken relative to
    the extending file's folder first (so a set of user files can extend each other from
    anywhere), then to the current directory."""
    candidate = Path(parent)
    if not candidate.is_absolute() and (candidate.suffix == ".toml" or "/" in parent):
        beside = child.parent / candidate
        if beside.exists():
            return beside
    return _resolve_path(parent)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"scenario file '{path}' is not valid TOML: {exc}") from None


def load(name_or_path: str | Path, overrides: Iterable[str] | dict | None = None) -> Scenario:
    """Load a scenario by name or path, following ``extends``, then apply overrides.

    ``overrides`` is a mapping {"section.key": value} or strings "section.key=value" (the value
    parsed as TOML, so ``0.2``, ``true``, ``[0.5, 0.5, 0, 0]`` and ``"text"`` all work).
    """
    chain: list[tuple[Path, dict]] = []
    path = _resolve_path(name_or_path)
    seen = set()
    while True:
        if path.resolve() in seen:
            raise ParameterError(f"scenario '{path.stem}' extends itself through {' -> '.join(p.stem for p, _ in chain)}")
        seen.add(path.resolve())
        data = _read(path)
        chain.append((path, data))
        parent = data.get("extends")
        if parent is None:
            break
        if not isinstance(parent, str):
            raise ParameterError(f"{path}: extends = {parent!r} must be a scenario name")
        path = _resolve_parent(parent, path)
    params = Params()
    for p, data in reversed(chain):
        sections = {k: v for k, v in data.items() if k not in META_KEYS}
        try:
            params.update(sections)
        except ParameterError as exc:
            raise ParameterError(f"{p.name}: {exc}") from None
    for key, value in _parse_overrides(overrides):
        params.set(key, value)
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
