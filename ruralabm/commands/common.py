"""Options and argument types shared by several subcommands."""
from __future__ import annotations

import argparse

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


def add_scenario_options(p: argparse.ArgumentParser, households_help: str | None = None) -> None:
    add_overrides_option(p)
    p.add_argument("--households", type=positive_int,
                   help=households_help or "number of households (population.n_households)")
    p.add_argument("--years", type=positive_int, help="number of simulated years from calendar.start_year")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")


def resolve_scenario(name: str, args):
    """The scenario with ``--set``, ``--households`` and ``--years`` applied (validated once)."""
    from ruralabm.scenarios import load

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


def executor_from_args(args):
    from ruralabm.scenarios.executor import make_executor

    return make_executor(getattr(args, "backend", "processes"), getattr(args, "workers", None),
                         getattr(args, "dask", None))


def single_thread_blas() -> None:
    # Small least-squares problems are ~50x slower with a multi-threaded BLAS on 2 cores.
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except Exception:  # pragma: no cover - optional
        pass
