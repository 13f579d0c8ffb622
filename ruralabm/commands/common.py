"""Options and argument types shared by several subcommands."""
from __future__ import annotations

import argparse
import logging

# The backends of ruralabm.scenarios.executor (kept here so that parsing imports no numpy;
# tests/test_cli.py checks they agree).
BACKENDS = ("serial", "processes", "dask")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be comma-separated numbers, e.g. 0,0.5,1") from None


def names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def add_overrides_option(p: argparse.ArgumentParser, help: str = "override one parameter, e.g. --set "
                         "shocks.disaster_probability=0.2 (repeatable)") -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE", help=help)


def add_scenario_options(p: argparse.ArgumentParser, households_help: str | None = None, seed_default: int | None = 0) -> None:
    add_overrides_option(p)
    p.add_argument("--households", type=positive_int,
                   help=households_help or "number of households (population.n_households)")
    p.add_argument("--years", type=positive_int, help="number of simulated years from calendar.start_year")
    p.add_argument("--seed", type=int, default=seed_default, help="master seed (default 0)")


def add_overwrite_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results of another command, or of other settings, in the output directory")


def set_keys(overrides) -> set[str]:
    """Parameter names given with ``--set section.key=value``."""
    return {str(item).partition("=")[0].strip() for item in overrides or []}


def refuse_replaced_sets(overrides, households=None, years=None) -> None:
    """A ``--set`` that an option of the same command would replace is refused in one line rather
    than silently dropped: ``--households`` sets population.n_households, ``--years`` the end year."""
    from ruralabm.model.params import ParameterError

    keys = set_keys(overrides)
    if "population.n_households" in keys and households is not None:
        raise ParameterError("--set population.n_households contradicts --households; use --households alone")
    if "calendar.end_year" in keys and years is not None:
        raise ParameterError("--set calendar.end_year contradicts --years; give one of them")


def resolve_scenario(name: str, args):
    """The scenario with ``--set``, ``--households`` and ``--years`` applied (validated once)."""
    from ruralabm.scenarios import load

    refuse_replaced_sets(args.overrides, args.households, args.years)
    overrides = list(args.overrides or [])
    if args.households is not None:
        overrides.append(f"population.n_households={args.households}")
    sc = load(name, overrides)
    if args.years is not None:
        sc.params.set("calendar.end_year", sc.params.calendar.start_year + args.years - 1)
    return sc


def add_executor_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("execution")
    g.add_argument("--backend", choices=BACKENDS, default="processes",
                   help="serial, processes (default) or dask")
    g.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: number of CPUs; 1 = run serially)")
    g.add_argument("--dask", metavar="local|tcp://HOST:PORT", default=None,
                   help="run on Dask: 'local' starts a LocalCluster, an address joins a running scheduler")
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def check_executor_args(args) -> None:
    """Refuse execution options that contradict each other; warn about ones that cannot help."""
    import os

    from ruralabm.model.params import ParameterError

    if getattr(args, "_executor_checked", False):
        return
    args._executor_checked = True
    backend, workers, dask = getattr(args, "backend", "processes"), getattr(args, "workers", None), getattr(args, "dask", None)
    if workers is not None and workers < 1:
        raise ParameterError(f"--workers = {workers} is not allowed: must be at least 1")
    if backend == "serial" and workers is not None and workers > 1:
        raise ParameterError(f"--backend serial runs in this process and cannot use --workers {workers}; "
                             "drop --workers, or use --backend processes")
    if backend == "serial" and dask:
        raise ParameterError("--backend serial contradicts --dask; give one of them")
    cpus = os.cpu_count() or 1
    if workers is not None and workers > cpus and not dask:
        logging.getLogger(__name__).warning(
            f"--workers {workers} is more than the {cpus} CPUs of this machine: the extra worker "
            "processes only compete for them (and each holds a model in memory)")


def executor_from_args(args):
    from ruralabm.scenarios.executor import make_executor

    check_executor_args(args)
    return make_executor(getattr(args, "backend", "processes"), getattr(args, "workers", None),
                         getattr(args, "dask", None))


def single_thread_blas() -> None:
    # Small least-squares problems are ~50x slower with a multi-threaded BLAS on 2 cores.
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except Exception:  # pragma: no cover - optional
        pass
