#!/usr/bin/env python
"""Thin wrapper for people who cloned the repository: ``python run.py ...`` is ``ruralabm ...``."""
import sys

from ruralabm.cli import main

if __name__ == "__main__":
    sys.exit(main())
