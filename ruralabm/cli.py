"""ruralabm command line: simulate, list and show scenarios, compare policies, sweep parameters,
validate the papers' estimators, replicate the papers' tables and calibrate.

Each subcommand group lives in a module of :mod:`ruralabm.commands` with ``register(subparsers)``;
its work is a library function that can be imported and tested without the CLI. Errors in user
input print one line naming the problem and exit with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ruralabm import __version__
from ruralabm.commands import COMMAND_MODULES


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage errors as one line naming the problem and the valid choices (argparse's own message,
    e.g. "argument --design: invalid choice: 'x' (choose from 'grid', 'lhs', ...)"), exit 2."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="ruralabm", description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--version", action="version", version=f"ruralabm {__version__}")
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
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe surfaces here, not in the interpreter's exit flush
        return code
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(getattr(args, "interrupt_message", None) or _interrupt_message(args), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. ``| head``) went away: stop quietly, without a traceback at exit.
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("error: output closed before the command finished (broken pipe)", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory; simulate fewer households or years, or use fewer --workers", file=sys.stderr)
        return 2
    except ValueError as exc:
        # The estimators' EstimationError (data too small or degenerate for an estimate) is a user
        # error: one line. Imported only if an estimator ran (parsing stays light).
        errors = sys.modules.get("ruralabm.analysis.estimators.errors")
        if errors is None or not isinstance(exc, errors.EstimationError):
            raise
        print(f"error: {exc} (the simulated data cannot give this estimate; try more --households or a larger "
              "--sample)", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be read or written: one line, nothing removed
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"error: cannot access{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _interrupt_message(args) -> str:
    out = getattr(args, "resume_dir", None)
    if out is None:
        return "interrupted: results written so far are kept"
    return (f"interrupted: results written so far are kept in {out}; continue with: "
            f"ruralabm {args.command} --resume {out}")

if __name__ == "__main__":
    sys.exit(main())
