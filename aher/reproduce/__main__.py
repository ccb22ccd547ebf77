"""``python -m aher.reproduce``: the command line of :mod:`aher.reproduce.cli`."""

import sys

from aher.reproduce.cli import main

if __name__ == "__main__":
    sys.exit(main())
