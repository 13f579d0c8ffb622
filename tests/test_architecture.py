"""The layers of docs/architecture.md hold: no module imports upward, and no two modules import
each other (directly or through others), whether the import is at the top or inside a function."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# folder -> import name (pyproject.toml's package-dir)
FOLDERS = {"ruralabm": "ruralabm", "model": "ruralabm.model", "agents": "ruralabm.agents",
           "analysis": "ruralabm.analysis", "scenarios": "ruralabm.scenarios", "calibration": "ruralabm.calibration"}
# The estimator API modules that re-export ruralabm.analysis.estimators under their short names.
ESTIMATOR_FACADES = {"psm", "did", "cmp", "vep", "survival", "resilience", "propensity", "errors", "results"}
# layer -> the layers it may import from (besides ``root``: ``ruralabm.__version__``)
ALLOWED = {
    "model": {"model"},
    "estimators": {"estimators"},
    "scenarios": {"model", "estimators", "scenarios"},
    "studies": {"model", "estimators", "scenarios", "studies"},
    "calibration": {"model", "estimators", "scenarios", "studies", "calibration"},
    "cli": {"model", "estimators", "scenarios", "studies", "calibration", "cli"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for folder, name in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([name, *parts])] = path
    return out


MODULES = _modules()


def layer(module: str) -> str:
    if module == "ruralabm":
        return "root"
    if module.startswith(("ruralabm.model", "ruralabm.agents")):
        return "model"
    if module.startswith("ruralabm.analysis.estimators"):
        return "estimators"
    if module.startswith("ruralabm.analysis.studies"):
        return "studies"
    if module.startswith("ruralabm.analysis"):
        last = module.rsplit(".", 1)[-1]
        return "estimators" if module == "ruralabm.analysis" or last in ESTIMATOR_FACADES else "studies"
    if module.startswith("ruralabm.scenarios"):
        return "scenarios"
    if module.startswith("ruralabm.calibration"):
        return "calibration"
    return "cli"  # ruralabm.cli, ruralabm.commands, ruralabm.__main__


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """Project modules imported by ``module`` (anywhere in the file), with line numbers."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target]
            # ``from pkg import submodule`` imports the submodule too
            names += [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
        else:
            continue
        for name in names:
            if name == "ruralabm" or name.startswith("ruralabm."):
                # the nearest known module (an attribute import resolves to its module)
                while name not in MODULES and "." in name:
                    name = name.rsplit(".", 1)[0]
                if name in MODULES and name != module:
                    found.append((name, node.lineno))
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def test_no_module_imports_from_a_higher_layer():
    bad = []
    for module, imports in GRAPH.items():
        mine = layer(module)
        if mine == "root":
            continue  # ruralabm/__init__.py: lazy shortcuts only
        for target, line in imports:
            theirs = layer(target)
            if theirs != "root" and theirs not in ALLOWED[mine]:
                bad.append(f"{MODULES[module].relative_to(ROOT)}:{line} ({mine}) imports {target} ({theirs})")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_estimators_import_no_private_name_of_each_other():
    bad = []
    for module, path in MODULES.items():
        if layer(module) != "estimators":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("ruralabm")):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {alias.name}")
    assert not bad, "\n".join(bad)


def test_no_import_cycles_between_modules():
    # Tarjan's strongly connected components on the module graph.
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w, _ in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    # A package's __init__ may re-export its own submodules; that is not a cycle between layers.
    real = [c for c in cycles if not all(m.startswith(c[0].rsplit(".", 1)[0]) for m in c)
            or not any(MODULES[m].name == "__init__.py" for m in c)]
    assert not real, "import cycles: " + "; ".join(" <-> ".join(c) for c in real)
