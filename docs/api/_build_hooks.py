"""MkDocs hooks of the documentation site (mkdocs.yml ``hooks``).

* The API reference is read from the source by griffe (mkdocstrings-python), which finds a package
  by its folder: ``ruralabm.model`` is the folder ``model/`` (pyproject.toml's ``package-dir``),
  so the build reads a temporary mirror of the installed layout (symbolic links named as the
  package-dir table says), whatever is installed.
* A paragraph written after the items of a numpydoc section (``Parameters``, ``Returns`` ...),
  separated by a blank line and not indented, is read as the start of a ``Notes`` section
  (:class:`TrailingParagraphAsNotes`): numpydoc ends a section only at the next header, so the
  parser would otherwise take its first words for parameter names (``RuralModel``'s "Mesa's
  contract: ..."; the kernel PSM-DID's "Semantics: ...").
* The README and the CHANGELOG live at the repository root, outside ``docs/``: they become the
  site's ``index.md`` and ``changelog.md`` (virtual pages, so the files stay where GitHub and PyPI
  show them).
* Their links are written for the repository (``docs/odd.md``, ``notebooks/...``): a link into
  ``docs/`` is rewritten to the page, a link to another file of the repository (a notebook, a
  scenario file, ``CITATION.cff``) to its path as code, since the site does not publish it. The
  same holds for links out of ``docs/`` in the other pages (``../calibration/patterns.toml``).
  Links to missing pages inside ``docs/`` are left alone, so that ``mkdocs build --strict``
  still reports them.
"""
from __future__ import annotations

import atexit
import os
import posixpath
import re
import shutil
import tempfile
import tomllib
from pathlib import Path

import griffe
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
ROOT_PAGES = {"README.md": "index.md", "CHANGELOG.md": "changelog.md"}
# [text](target) or ![alt](target), the target without a scheme (http:, mailto: ...)
_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(((?![a-z][a-z0-9+.-]*:)[^)\s#]*)(#[^)\s]*)?\)")


def source_mirror() -> Path:
    """A temporary folder holding ``ruralabm/`` as installed: the folder ``ruralabm/`` with each
    subpackage of pyproject.toml's ``package-dir`` linked in under its import name."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir = pyproject["tool"]["setuptools"]["package-dir"]
    mirror = Path(tempfile.mkdtemp(prefix="ruralabm-docs-src-"))
    atexit.register(shutil.rmtree, mirror, ignore_errors=True)
    top = mirror / "ruralabm"
    top.mkdir()
    for entry in (ROOT / package_dir["ruralabm"]).iterdir():
        if entry.name != "__pycache__":
            os.symlink(entry, top / entry.name)
    for name, folder in sorted(package_dir.items()):
        if name != "ruralabm":
            os.symlink(ROOT / folder, mirror.joinpath(*name.split(".")))
    return mirror


ITEM_SECTIONS = {"Parameters", "Other Parameters", "Returns", "Yields", "Receives", "Raises", "Warns", "Attributes"}
_ITEM = re.compile(r"^\*{0,2}[A-Za-z_][\w.]*(\s*,\s*\*{0,2}[A-Za-z_][\w.]*)*(\s+:\s*.*)?$")


def trailing_paragraph_as_notes(text: str) -> str:
    """Insert a ``Notes`` header before an unindented paragraph that follows the items of an
    item section (after a blank line) and is not itself an item or a section header."""
    lines = text.split("\n")
    out, section = [], None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and nxt.strip() and set(nxt.strip()) == {"-"}:
            section = line.strip()
        elif (section in ITEM_SECTIONS and line.strip() and not line[:1].isspace() and i > 0
              and not lines[i - 1].strip() and not _ITEM.match(line.strip()) and set(line.strip()) != {"-"}):
            out += ["Notes", "-----"]
            section = "Notes"
        out.append(line)
    return "\n".join(out)


class TrailingParagraphAsNotes(griffe.Extension):
    """Griffe extension: :func:`trailing_paragraph_as_notes` on every docstring."""

    def on_object(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = trailing_paragraph_as_notes(obj.docstring.value)


@event_priority(100)  # before mkdocstrings reads its handler options
def on_config(config):
    python = config.plugins["mkdocstrings"].config.handlers.setdefault("python", {})
    python["paths"] = [str(source_mirror())]
    extensions = python.setdefault("options", {}).setdefault("extensions", [])
    extensions.append(f"{Path(__file__).resolve()}:TrailingParagraphAsNotes")
    return config


def on_files(files, config):
    for source, dest in ROOT_PAGES.items():
        files.append(File.generated(config, dest, content=(ROOT / source).read_text(encoding="utf-8")))
    return files


def _rewrite(markdown: str, repo_dir: str, site_dir: str) -> str:
    """Rewrite the links of a page that lives in ``repo_dir`` of the repository and in ``site_dir``
    (``docs/...``) of the site."""

    def fix(m: re.Match) -> str:
        bang, text, target, anchor = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        if not target:
            return m.group(0)
        in_repo = posixpath.normpath(posixpath.join(repo_dir, target))
        if in_repo in ROOT_PAGES:
            in_repo = posixpath.join("docs", ROOT_PAGES[in_repo])
        if in_repo.startswith("docs/"):
            return f"{bang}[{text}]({posixpath.relpath(in_repo, site_dir)}{anchor})"
        if (ROOT / in_repo).exists() and not bang:
            return text if text.strip("`") == in_repo else f"{text} (`{in_repo}`)"
        return m.group(0)

    return _LINK.sub(fix, markdown)


def on_page_markdown(markdown, page, config, files):
    src = page.file.src_uri
    site_dir = posixpath.join("docs", posixpath.dirname(src)).rstrip("/")
    if src in ROOT_PAGES.values():
        return _rewrite(markdown, ".", site_dir)
    return _rewrite(markdown, site_dir, site_dir)
