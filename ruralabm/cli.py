"""ruralabm command line: simulate, list and show scenarios, compare policies, sweep parameters.

Each subcommand lives in its own module with ``register(subparsers)``; its work is a library
function that can be imported and tested without the CLI. Errors in user input print one line
naming the problem and exit with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules that contribute subcommands, in the order they appear in --help.
COMMAND_MODULES = [
    "ruralabm.scenarios.cli",
    "ruralabm.scenarios.compare",
    "ruralabm.scenarios.sweep",
    "ruralabm.analysis.cli",
    "ruralabm.calibration.cli",
]


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage errors as one line naming the problem and the valid choices (argparse's own message,
    e.g. "argument --design: invalid choice: 'x' (choose from 'grid', 'lhs', ...)"), exit 2."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="ruralabm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ruralabm.model.params import ParameterError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: results written so far are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
