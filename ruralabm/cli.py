"""ruralabm command line: simulate, list and show scenarios, compare policies, sweep parameters,
validate the papers' estimators, replicate the papers' tables and calibrate.

Each subcommand group lives in a module of :mod:`ruralabm.commands` with ``register(subparsers)``;
its work is a library function that can be imported and tested without the CLI. Errors in user
input print one line naming the problem and exit with status 2.

Warnings and progress notes of the library go through :mod:`logging` (loggers under ``ruralabm``);
:func:`configure_logging` sends them to stderr: warnings by default, ``-v`` adds progress notes
(INFO), ``-vv`` debugging detail, ``--quiet`` only errors (and no progress bars). Results are
printed to stdout whatever the level.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from ruralabm import INTERRUPT, __version__
from ruralabm.commands import COMMAND_MODULES


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage errors as one line naming the problem and the valid choices (argparse's own message,
    e.g. "argument --design: invalid choice: 'x' (choose from 'grid', 'lhs', ...)"), exit 2."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="ruralabm", description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--version", action="version", version=f"ruralabm {__version__}")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-v", "--verbose", action="count", default=0,
                      help="also log progress notes to stderr (-vv: debugging detail)")
    loud.add_argument("-q", "--quiet", dest="log_quiet", action="store_true",
                      help="log only errors to stderr (no warnings, no progress bars)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


_redelivery = None  # the pending re-delivery of a swallowed Ctrl-C (a thread), if any
_in_unraisable_hook = False  # the main thread is still inside the hook below


def _interrupt_main_once_the_hook_returned() -> None:
    # An interrupt raised while the main thread is still in the hook would be swallowed again
    # ("Exception ignored in sys.unraisablehook"): wait until it has left.
    import _thread
    import time

    while _in_unraisable_hook:
        time.sleep(0.0005)
    _thread.interrupt_main()


def _redeliver_interrupts(unraisable) -> None:
    """``sys.unraisablehook``: a Ctrl-C that lands while Python runs a weakref or ``__del__``
    callback (the garbage collector can run one at any moment) is swallowed there and printed as
    "Exception ignored in ..." with a traceback, and the command would go on as if nothing had
    happened. Deliver it again to the main thread instead, so that the command stops the way
    Ctrl-C always stops it (results written so far kept, one line, exit 130). The re-delivery comes
    from another thread once the main thread has left the hook: raised in the hook, it would be
    swallowed again. The thread is a daemon and :func:`main` waits for it before returning, so a
    re-delivery can never arrive after the command (a traceback at interpreter exit)."""
    global _redelivery, _in_unraisable_hook
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        import threading

        _in_unraisable_hook = True
        thread = threading.Thread(target=_interrupt_main_once_the_hook_returned, daemon=True)
        _redelivery = thread
        thread.start()
        # The last statement: no pending-signal check between this store and the return.
        _in_unraisable_hook = False
        return
    sys.__unraisablehook__(unraisable)


def _no_op() -> None:
    """A Python call: a pending interrupt is raised at a call's entry."""


def _settle_redelivery() -> None:
    """Let a re-delivered Ctrl-C that is still on its way arrive here (or never)."""
    global _redelivery
    thread, _redelivery = _redelivery, None
    if thread is not None:
        thread.join()  # it has fired (the interrupt is pending) or it is about to
        _no_op()


def _on_sigint(signum, frame) -> None:
    """Ctrl-C: remember it (:data:`ruralabm.INTERRUPT`, checked by the executors and the final
    writes) and raise KeyboardInterrupt, as Python's default handler does."""
    INTERRUPT.set()
    raise KeyboardInterrupt


def _install_sigint_handler():
    import signal

    try:
        return signal.signal(signal.SIGINT, _on_sigint)
    except ValueError:  # not the main thread (an embedding application): keep its handling
        return None


def _restore_sigint_handler(previous) -> None:
    import signal

    if previous is not None:
        signal.signal(signal.SIGINT, previous)


def main(argv: list[str] | None = None) -> int:
    INTERRUPT.clear()
    previous_sigint = _install_sigint_handler()
    previous_hook, sys.unraisablehook = sys.unraisablehook, _redeliver_interrupts
    try:
        try:
            return _run_command(argv)
        finally:
            sys.unraisablehook = previous_hook
            try:
                _settle_redelivery()  # may raise the re-delivered KeyboardInterrupt (handled below)
            finally:
                _restore_sigint_handler(previous_sigint)
                INTERRUPT.clear()
    except KeyboardInterrupt:
        # A Ctrl-C swallowed by a callback just before the command finished, re-delivered after it.
        print("interrupted as the command finished: everything it wrote is complete", file=sys.stderr)
        return 130


def _run_command(argv: list[str] | None) -> int:
    from ruralabm.model.params import ParameterError

    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.log_quiet)
    if args.log_quiet:  # no progress bars either
        for name in ("progress", "quiet"):
            if hasattr(args, name):
                setattr(args, name, name == "quiet")
    try:
        code = int(args.func(args) or 0)
        if INTERRUPT.is_set():
            # Ctrl-C was pressed but library code swallowed it and the command went on to the end:
            # everything it wrote is complete, but the user asked it to stop.
            raise KeyboardInterrupt
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
        text = str(exc)
        # A message that already says what to simulate keeps its own advice.
        hint = "" if "simulate more" in text else (" (the simulated data cannot give this estimate; try more "
                                                   "--households or a larger --sample)")
        print(f"error: {text}{hint}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be read or written: one line, nothing removed
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"error: cannot access{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2


class _StderrHandler(logging.StreamHandler):
    """Writes to the *current* ``sys.stderr`` (which tests and notebooks may replace)."""

    def __init__(self):
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


class _Formatter(logging.Formatter):
    """One line per record, prefixed as the CLI has always printed them: ``warning: ...``,
    ``error: ...``; progress notes (INFO) bare; DEBUG with the logger name."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.levelno >= logging.ERROR:
            return msg if msg.startswith("error:") else f"error: {msg}"
        if record.levelno >= logging.WARNING:
            return msg if msg.startswith("warning:") else f"warning: {msg}"
        if record.levelno >= logging.INFO:
            return msg
        return f"debug: {record.name}: {msg}"


def configure_logging(verbose: int = 0, quiet: bool = False) -> None:
    """Route the ``ruralabm`` loggers to stderr at WARNING (default), INFO (``verbose=1``),
    DEBUG (``verbose>=2``) or ERROR (``quiet``). Idempotent: calling it again replaces the handler."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO)[verbose] if verbose < 2 else logging.DEBUG
    logger = logging.getLogger("ruralabm")
    for h in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(_Formatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def _interrupt_message(args) -> str:
    out = getattr(args, "resume_dir", None)
    if out is None:
        return "interrupted: results written so far are kept"
    return (f"interrupted: results written so far are kept in {out}; continue with: "
            f"ruralabm {args.command} --resume {out}")

if __name__ == "__main__":
    sys.exit(main())
