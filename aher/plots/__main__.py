"""``python -m aher.plots <figure> ...`` (see :mod:`aher.plots.cli`)."""

import sys

from aher.cli import run_main
from aher.plots.cli import main

sys.exit(run_main(main))
