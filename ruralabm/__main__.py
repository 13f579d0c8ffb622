"""``python -m ruralabm``: the same command line as the ``ruralabm`` console script."""
import sys

from ruralabm.cli import main

if __name__ == "__main__":
    sys.exit(main())
