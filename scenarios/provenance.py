"""Provenance of a run: package version, git commit and whether the tree was dirty, Python,
platform and the versions of the key dependencies; written into run.json, compare.json and the
manifests so that a result can be tied to the code that made it."""
from __future__ import annotations

import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

KEY_DEPENDENCIES = ("mesa", "numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "pyarrow", "linearmodels",
                    "lifelines", "SALib")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_commit() -> str | None:
    out = _git("rev-parse", "HEAD")
    return out.strip() or None if out is not None else None


def git_dirty() -> bool | None:
    """Whether the checkout has uncommitted changes to tracked files (None outside a checkout)."""
    out = _git("status", "--porcelain", "--untracked-files=no")
    return None if out is None else bool(out.strip())


def package_version() -> str:
    from ruralabm import __version__
    return __version__


def environment() -> dict:
    versions = {}
    for name in KEY_DEPENDENCIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {
        "package_version": package_version(),
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": versions,
    }
