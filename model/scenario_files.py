"""Scenario files as parameter sets: find a scenario by name or path, follow its ``extends``
chain and build the :class:`Params` it describes.

The files live in the ``scenarios`` folder (``ruralabm/scenarios/*.toml``); reading them is a
model-layer concern so that ``RuralModel(scenario="cooperative")`` works without the scenarios
layer. ``ruralabm.scenarios.load`` adds overrides and the :class:`~ruralabm.scenarios.Scenario`
record on top.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .params import ParameterError, Params

# model/ and scenarios/ are siblings both in the source tree and installed (ruralabm/model, ruralabm/scenarios)
SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
META_KEYS = {"description", "extends"}


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
        if path.is_dir():
            raise ParameterError(f"scenario '{text}' is a directory; give a scenario name or a .toml file")
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
    except UnicodeDecodeError:
        raise ParameterError(f"scenario file '{path}' is not UTF-8 text (binary or another encoding); "
                             "a scenario is a UTF-8 TOML file") from None
    except IsADirectoryError:
        raise ParameterError(f"scenario '{path}' is a directory; give a .toml file") from None
    except OSError as exc:
        raise ParameterError(f"scenario file '{path}' cannot be read: {exc.strerror or exc}") from None


# The scenario a user file without ``extends`` builds on: the calibrated parameters are the
# default everywhere (README). Shipped files name their parent; ``uncalibrated`` is the root.
USER_DEFAULT_PARENT = "calibrated"


def is_shipped(path: Path) -> bool:
    return path.resolve().parent == SCENARIO_DIR.resolve()


def read_chain(name_or_path: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """The scenario file and the files it extends, in that order (the base last)."""
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
            if is_shipped(path):
                break
            # a user file without extends builds on the calibrated parameters
            path = SCENARIO_DIR / f"{USER_DEFAULT_PARENT}.toml"
            continue
        if not isinstance(parent, str):
            raise ParameterError(f"{path}: extends = {parent!r} must be a scenario name")
        path = _resolve_parent(parent, path)
    return chain


def chain_params(chain: list[tuple[Path, dict[str, Any]]]) -> Params:
    """The parameters of a :func:`read_chain` chain: defaults, then each file from the base."""
    params = Params()
    for p, data in reversed(chain):
        sections = {k: v for k, v in data.items() if k not in META_KEYS}
        try:
            params.update(sections)
        except ParameterError as exc:
            raise ParameterError(f"{p.name}: {exc}") from None
    return params


def scenario_params(name_or_path: str | Path) -> Params:
    """The parameters of a shipped scenario (by name) or a scenario TOML file."""
    return chain_params(read_chain(name_or_path))
