"""Subcommand ``viz``: watch a scenario and its twin without the policy in the browser (Mesa
SolaraViz; the ``viz`` extra). The app is :mod:`ruralabm.viz_app`, imported only when the
server starts."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .common import positive_int

# Mirrors of ruralabm.viz, so that parsing imports nothing heavy (tests/test_viz.py checks they agree).
DEFAULT_SCENARIO = "mixed"
DEFAULT_HOUSEHOLDS = 2_000
HOUSEHOLDS_RANGE = (500, 20_000)
SEEDS = (0, 99)
DEFAULT_PORT = 8765
VIZ_MODULES = ("solara", "altair", "networkx", "mesa.visualization")
# The JavaScript bundle the solara page loads; solara-assets ships it under sys.prefix so that it
# is served from this machine instead of a CDN.
OFFLINE_BUNDLE = "@widgetti/solara-vuetify-app@"


def missing_viz_modules() -> list[str]:
    import importlib.util

    missing = []
    for name in VIZ_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name.split(".")[0])
    return missing


def offline_assets() -> Path | None:
    """The folder of CDN files solara serves from this machine (the solara-assets package), or
    None if it is not installed."""
    cdn = Path(sys.prefix) / "share" / "solara" / "cdn"
    return cdn if cdn.is_dir() and any(p.name.startswith("solara-vuetify-app@") for p in (cdn / "@widgetti").glob("*")) \
        else None


def check_port(host: str, port: int) -> int:
    """``port`` if it can be listened on at ``host`` (0: a free one is chosen); else ParameterError."""
    import socket

    from ruralabm.model.params import ParameterError

    if not 0 <= port <= 65535:
        raise ParameterError(f"--port = {port} is not allowed: must be 0 to 65535 (0 picks a free port)")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
            return s.getsockname()[1]
    except OSError as exc:
        raise ParameterError(f"--port {port} on --host {host} cannot be used ({exc.strerror or exc}); choose another "
                             "port, or --port 0 for a free one") from None


def run_viz(args) -> int:
    from ruralabm.model.params import ParameterError
    from ruralabm.scenarios import available

    missing = missing_viz_modules()
    if missing:
        raise ParameterError(f"ruralabm viz needs the viz extra ({', '.join(missing)} not installed): "
                             "pip install -e \".[viz]\"")
    names = list(available())
    if args.scenario not in names:
        raise ParameterError(f"--scenario = {args.scenario!r} is not allowed: choose a shipped scenario "
                             f"({', '.join(names)})")
    lo, hi = HOUSEHOLDS_RANGE
    if not lo <= args.households <= hi:
        raise ParameterError(f"--households = {args.households} is not allowed: the app runs {lo:,} to {hi:,} "
                             "households (the range of its slider)")
    if not SEEDS[0] <= args.seed <= SEEDS[1]:
        raise ParameterError(f"--seed = {args.seed} is not allowed: the app's seeds are {SEEDS[0]} to {SEEDS[1]}")
    port = check_port(args.host, args.port)
    os.environ.update({
        "RURALABM_VIZ_SCENARIO": args.scenario, "RURALABM_VIZ_HOUSEHOLDS": str(args.households),
        "RURALABM_VIZ_SEED": str(args.seed), "RURALABM_VIZ_TWIN": "1" if args.twin else "0",
        # Nothing from the internet: no telemetry, assets from this machine (solara-assets).
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "SOLARA_ASSETS_PROXY": "True",
    })
    if offline_assets() is None:
        import logging
        logging.getLogger(__name__).warning(
            "the solara-assets package is not installed: the page will fetch its JavaScript from a CDN "
            "(install the viz extra: pip install -e \".[viz]\")")
    print(f"ruralabm viz: open http://{args.host}:{port} in a browser (Ctrl-C stops the server)", flush=True)
    import click
    from solara.__main__ import cli

    argv = ["run", "ruralabm.viz_app", "--host", args.host, "--port", str(port), "--production", "--no-open",
            "--no-check-version", "--log-level", "warning"]
    try:
        cli.main(argv, prog_name="solara", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        pass  # Ctrl-C is how a server is stopped: not an error
    from ruralabm import INTERRUPT

    INTERRUPT.clear()  # the stop was asked for and done: the CLI must not report it as an interruption
    print("ruralabm viz: server stopped", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("viz", help="watch a scenario and its twin without the policy year by year in the browser",
                       description="Start a Mesa SolaraViz app: choose a scenario, move the policy and shock "
                                   "sliders, step or play year by year and watch poverty, participation, the five "
                                   "capitals, resilience and the villages of a county, beside the same world "
                                   "without the policy. Needs the viz extra: pip install -e \".[viz]\".")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to serve on (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, help=f"starting scenario (default {DEFAULT_SCENARIO}; the app "
                   "offers every shipped scenario)")
    p.add_argument("--households", type=positive_int, default=DEFAULT_HOUSEHOLDS,
                   help=f"starting number of households (default {DEFAULT_HOUSEHOLDS:,}; {HOUSEHOLDS_RANGE[0]:,} to "
                        f"{HOUSEHOLDS_RANGE[1]:,})")
    p.add_argument("--seed", type=int, default=0, help=f"starting seed (default 0; {SEEDS[0]} to {SEEDS[1]})")
    p.add_argument("--no-twin", dest="twin", action="store_false",
                   help="start without the twin world (it can be switched on in the app)")
    p.set_defaults(func=run_viz)
