"""``python -m aher.data.synthesize``: the synthetic benchmark's command line.

The command is :func:`aher.data.synthetic.cli.main` (flags: ``--help``; model and writer:
:mod:`aher.data.synthetic`); this module only runs it, with one-line user errors.
"""

import sys

from aher.cli import run_main
from aher.data.synthetic.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(run_main(main))
