"""The subcommands of the ``ruralabm`` command line, one module per group.

Each module's ``register(subparsers)`` declares its options using only light imports (the
scenario loader, argparse), so that ``--help``, ``scenarios``, ``show`` and every usage error
answer at once; the library code a command runs (mesa, pandas, scipy, the estimators) is imported
by its ``run_*`` function when the command actually runs. Option lists that mirror a library
constant (presets, outcomes, estimators, designs) are checked against it by tests/test_cli.py.
"""
# Modules that contribute subcommands, in the order they appear in --help.
COMMAND_MODULES = [
    "ruralabm.commands.simulate",
    "ruralabm.commands.compare",
    "ruralabm.commands.sweep",
    "ruralabm.commands.validate",
    "ruralabm.commands.calibrate",
    "ruralabm.commands.bayes",
    "ruralabm.commands.patterns",
    "ruralabm.commands.viz",
    "ruralabm.commands.discover",
]
