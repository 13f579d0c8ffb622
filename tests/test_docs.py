"""The documentation site builds with warnings as errors (``mkdocs build --strict``): every page of
the nav, the README and CHANGELOG as pages, and the API reference generated from the docstrings."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _hooks():
    spec = importlib.util.spec_from_file_location("ruralabm_docs_hooks", ROOT / "docs" / "api" / "_build_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mkdocs_available():
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings_handlers") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install the docs packages (the test extra includes them)")
        pytest.skip("needs mkdocs and mkdocstrings[python]: pip install -e '.[docs]'")


def test_site_builds_strictly(mkdocs_available, tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-4000:]
    for page in ("index.html", "architecture.html", "odd.html", "scenarios.html", "changelog.html",
                 "api/model.html", "api/scenarios.html", "api/estimators.html", "api/tools.html"):
        assert (site / page).exists(), page
    model = (site / "api" / "model.html").read_text()
    assert "ruralabm.model.core.RuralModel" in model and "household_panel" in model
    assert "Dotted parameter overrides" in model  # a parameter's description, from the docstring
    tools = (site / "api" / "tools.html").read_text()
    assert "ruralabm.ema.model" in tools and "TwinWorlds" in tools
    index = (site / "index.html").read_text()
    assert "Explore in the browser" in index and 'href="odd.html"' in index.replace("odd.html#", "odd.html")


def test_links_out_of_the_docs_folder_are_rewritten():
    h = _hooks()
    readme = "See [the ODD](docs/odd.md#purpose), [a notebook](notebooks/01_quick_start.ipynb) and [log](CHANGELOG.md)."
    out = h._rewrite(readme, ".", "docs")
    assert "[the ODD](odd.md#purpose)" in out
    assert "a notebook (`notebooks/01_quick_start.ipynb`)" in out
    assert "[log](changelog.md)" in out
    page = "The [patterns file](../calibration/patterns.toml) and [missing](nothere.md)."
    out = h._rewrite(page, "docs", "docs")
    assert "patterns file (`calibration/patterns.toml`)" in out
    assert "[missing](nothere.md)" in out  # left for mkdocs --strict to report


def test_a_paragraph_after_numpydoc_items_becomes_notes():
    h = _hooks()
    doc = ("Summary.\n\nParameters\n----------\nseed : int\n    Master seed.\n**overrides\n    Dotted.\n\n"
           "Mesa's contract: steps count years.\n")
    out = h.trailing_paragraph_as_notes(doc)
    assert "    Dotted.\n\nNotes\n-----\nMesa's contract" in out
    untouched = "Summary.\n\nParameters\n----------\na, b : float\n    Two.\n\nc : int\n    Three.\n"
    assert h.trailing_paragraph_as_notes(untouched) == untouched
