"""Output directories: who wrote them, when writing into one is allowed, and atomic writing.

Every command that writes a result set (``simulate``, ``compare``, ``sweep``, ``validate``,
``calibrate``, ``patterns``, ``replicate``) records in ``DIR/.ruralabm-output.json`` which command wrote the directory and
with which settings (:func:`record`). Before any work, :func:`claim` checks that ``--out`` can
be created and written, and decides:

* a new or empty directory is used as it is;
* a directory of the same command with the same settings is reused (its results are the
  same; the incremental commands continue from what is there);
* a directory of another command, or of the same command with other settings, is refused in
  one line unless ``overwrite`` (``--overwrite``: the old result set is replaced as a whole) or,
  for the resumable commands, ``resume`` (the settings are then the directory's);
* a non-empty directory that holds no ruralabm results is always refused (``--overwrite``
  never deletes files ruralabm did not write).

Directories written before the record existed are recognised by their files (``compare.json``,
``run.json``, a sweep or validation ``manifest.json``, a calibration ``config.json``,
``patterns.json``, a replication's ``PAPER.md`` with its ``PAPER_*.csv``).

Final result files are written into a temporary directory and renamed into place
(:func:`staged`, :func:`replace_dir`), so an interruption never leaves a half-written set.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from ruralabm import raise_if_interrupted
from ruralabm.model.params import ParameterError

OWNER_FILE = ".ruralabm-output.json"
FORMAT = 1


def check_writable(out: Path, what: str = "--out") -> None:
    """Raise ParameterError unless ``out`` is (or can be created as) a writable directory."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{what} {out} is an existing file, not a directory; choose a directory")
    p = out.absolute()
    while not p.exists() and not p.is_symlink():
        p = p.parent
    if not p.is_dir():
        raise ParameterError(f"{what} {out} cannot be created: {p} is a file, not a directory")
    try:
        probe = tempfile.mkdtemp(prefix=".ruralabm-probe-", dir=p)
        os.rmdir(probe)
    except OSError as exc:
        raise ParameterError(f"{what} {out} cannot be created or written ({exc.strerror or exc}); "
                             "choose a writable place") from None


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def read_owner(out: Path) -> dict | None:
    """The record of the command that wrote ``out`` ({"command", "settings", ...}), inferred from
    its files for directories written before the record existed, or None."""
    out = Path(out)
    f = out / OWNER_FILE
    if f.exists():
        try:
            rec = _json(f)
            if not isinstance(rec, dict) or "command" not in rec:
                raise ValueError("no command")
        except (OSError, ValueError, UnicodeDecodeError):
            raise ParameterError(f"{f} is unreadable or corrupted; the other files in {out} are untouched "
                                 f"(delete {f.name} only if you know which command wrote them)") from None
        return rec
    if (out / "compare.json").exists():
        return {"command": "compare", "settings": None}
    if (out / "run.json").exists():
        return {"command": "simulate", "settings": None}
    if (out / "manifest.json").exists():
        try:
            m = _json(out / "manifest.json")
        except (OSError, ValueError, UnicodeDecodeError):
            return {"command": "unknown", "settings": None}
        if isinstance(m, dict) and m.get("kind") == "ruralabm-sweep":
            return {"command": "sweep", "settings": None}
        if isinstance(m, dict) and "config" in m:
            return {"command": "validate", "settings": None}
    if (out / "config.json").exists():
        return {"command": "calibrate", "settings": None}
    if (out / "patterns.json").exists():
        return {"command": "patterns", "settings": None}
    if any((out / f"{paper}.md").exists() and any(out.glob(f"{paper}_*.csv")) for paper in ("clds", "cao", "counties")):
        return {"command": "replicate", "settings": None}
    return None


def _is_empty(out: Path) -> bool:
    return not out.exists() or not any(out.iterdir())


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in list(old) + [k for k in new if k not in old]:
            out += _differences(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if old == new else [prefix or "settings"]


def describe_differences(old: Any, new: Any, limit: int = 3) -> str:
    diffs = _differences(old, new)
    shown = ", ".join(diffs[:limit]) + (f" and {len(diffs) - limit} more" if len(diffs) > limit else "")
    return shown or "settings"


def claim(out: Path, command: str, settings: Any, *, overwrite: bool = False, resume: bool = False,
          what: str = "--out") -> str:
    """Check ``out`` before any work; returns "new", "same", "resume" or "overwrite".

    ``settings`` is JSON-compatible; None means "not known yet" (a resume takes the directory's).
    Raises ParameterError (one line, nothing touched) when the directory may not be used."""
    out = Path(out)
    check_writable(out, what)
    if resume:
        if _is_empty(out):
            raise ParameterError(f"--resume {out}: nothing to resume there (no {command} results)")
        owner = read_owner(out)
        if owner is None or owner["command"] != command:
            held = "no ruralabm results" if owner is None else f"the results of `ruralabm {owner['command']}`"
            raise ParameterError(f"--resume {out} holds {held}, not a {command} to continue; "
                                 f"give the directory of an interrupted `ruralabm {command}`")
        remove_stale_temporaries(out)
        return "resume"
    if _is_empty(out):
        return "new"
    owner = read_owner(out)
    if owner is None:
        raise ParameterError(f"{what} {out} is not empty and holds no ruralabm results; choose a new or empty "
                             "directory (--overwrite never deletes files ruralabm did not write)")
    if owner["command"] != command:
        if overwrite:
            return "overwrite"
        raise ParameterError(f"{what} {out} holds the results of `ruralabm {owner['command']}`; choose another "
                             f"{what}, or pass --overwrite to replace them")
    if settings is not None and owner.get("settings") != _normalise(settings):
        if overwrite:
            return "overwrite"
        detail = ("settings not recorded (written by an earlier version)" if owner.get("settings") is None
                  else "a different configuration (" + describe_differences(owner.get("settings"), _normalise(settings))
                  + " differ)")
        raise ParameterError(f"{what} {out} holds `ruralabm {command}` results with {detail}; choose another "
                             f"{what}, or pass --overwrite to replace them")
    if not overwrite:
        remove_stale_temporaries(out)
    return "overwrite" if overwrite else "same"


def _normalise(settings: Any) -> Any:
    return json.loads(json.dumps(settings, default=str))


def record(out: Path, command: str, settings: Any, **extra) -> None:
    """Write (atomically) the owner record of ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rec = {"format": FORMAT, "command": command, "settings": _normalise(settings), **extra}
    atomic_write_text(out / OWNER_FILE, json.dumps(rec, indent=1, default=str))


def clear(out: Path) -> None:
    """Remove a result set ruralabm wrote (``--overwrite`` of an incremental command), so that
    no stale file of the old set survives. The directory itself is kept."""
    out = Path(out)
    if not out.exists():
        return
    if read_owner(out) is None:  # pragma: no cover - claim refuses these
        raise ParameterError(f"{out} holds no ruralabm results; not removing anything")
    for child in list(out.iterdir()):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def staging_dir(out: Path) -> Path:
    """A fresh hidden sibling of ``out`` (same file system, so it can be renamed into place)."""
    out = Path(out)
    out.absolute().parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.absolute().parent))


# Temporary entries carry the writing process's id: ``.NAME.PID.tmp`` files (atomic writes),
# ``.final-PID-*`` folders (:func:`staged`), ``.NAME.tmp-PID-*`` / ``.NAME.old-PID-*`` folders
# (:func:`staging_dir`, :func:`replace_dir`). A process killed outright (SIGKILL, power loss)
# leaves them behind; :func:`remove_stale_temporaries` removes those of processes that are gone.
_TEMPORARY = re.compile(r"^\.(?:final-(\d+)-.+|.+\.(\d+)\.tmp|.+\.(?:tmp|old)-(\d+)-.+)$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours to signal
        return True
    return True


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Remove what killed ruralabm processes left half-written in ``out`` (and its own staging
    siblings): temporary files and folders whose writer is no longer running. Returns them."""
    out = Path(out)
    found = []
    if out.is_dir():
        found += [p for p in out.rglob(".*") if _TEMPORARY.match(p.name)]
    parent = out.absolute().parent
    if parent.is_dir():
        found += [p for p in parent.glob(f".{glob_escape(out.name)}.*-*") if _TEMPORARY.match(p.name)]
    removed = []
    for p in sorted(found, key=lambda q: len(q.parts)):
        m = _TEMPORARY.match(p.name)
        pid = int(next(g for g in m.groups() if g))
        if _alive(pid) or not (p.exists() or p.is_symlink()):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def replace_dir(staging: Path, out: Path) -> None:
    """Rename ``staging`` to ``out``, replacing the whole of an earlier ``out``."""
    out = Path(out)
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.absolute().parent))
        os.rmdir(old)
        os.rename(out, old)
    os.rename(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Write final files into a temporary folder inside ``out``; on success move each entry into
    ``out`` (a folder entry replaces the old folder as a whole). On error nothing in ``out``
    changes and the temporary folder is removed."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".final-{os.getpid()}-", dir=out))
    try:
        yield tmp
        raise_if_interrupted()  # a Ctrl-C swallowed while writing: the set may be incomplete
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for entry in sorted(tmp.iterdir()):
        target = out / entry.name
        if entry.is_dir():
            if target.exists():
                replace_dir(entry, target)
            else:
                os.rename(entry, target)
        else:
            os.replace(entry, target)
    shutil.rmtree(tmp, ignore_errors=True)


def available_memory() -> int | None:
    """Bytes the kernel reports available (MemAvailable of /proc/meminfo), or None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"
