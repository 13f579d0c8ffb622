"""ruralabm: an agent-based laboratory for rural industrial-integration policy.

Households, cooperatives, leading enterprises and counties evolve the five livelihood capitals
year by year (``ruralabm.model``, ``ruralabm.agents``); the papers' estimators live in
``ruralabm.analysis``; named policy scenarios, comparisons and sweeps in ``ruralabm.scenarios``;
calibration to the published estimates in ``ruralabm.calibration``.

The most used names are available here and imported on first use, so ``import ruralabm`` (and
the command line) stays fast:

>>> from ruralabm import RuralModel, load_scenario          # doctest: +SKIP
>>> model = RuralModel(load_scenario("cooperative").params, seed=1).run()  # doctest: +SKIP
"""
from __future__ import annotations

import importlib
import threading

__version__ = "0.2.0"

# Set by the command line's Ctrl-C handler (ruralabm.cli). Library code can swallow a
# KeyboardInterrupt or turn it into another exception (an extension module interrupted while it
# is imported raises ImportError; a callback's is only printed); the executors and the final
# writes check this flag (raise_if_interrupted), so the command still stops, and no outcome
# produced after the Ctrl-C is recorded or written.
INTERRUPT = threading.Event()


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed while the command line runs."""
    if INTERRUPT.is_set():
        raise KeyboardInterrupt

# name -> (module, attribute): resolved lazily (PEP 562) so that the CLI and ``import ruralabm``
# do not pay for mesa, pandas and scipy until a model or an estimator is used.
_LAZY = {
    "RuralModel": ("ruralabm.model.core", "RuralModel"),
    "Params": ("ruralabm.model.params", "Params"),
    "ParameterError": ("ruralabm.model.params", "ParameterError"),
    "load_scenario": ("ruralabm.scenarios", "load"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'ruralabm' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
