#!/usr/bin/env python
"""Test a trained run: inference on the evaluation videos, result JSON, mAP and AR@AN.

  python aher_k600_test.py --checkpoint RUN [--config CFG] [--all-snapshots] [--out DIR]
                           [--label-space moment|untrimmed] [--other-data --out DIR]

Same as ``python -m aher.evaluate``; ``--help`` lists every flag.
"""

import sys

from aher.cli import run_main
from aher.evaluate import main

if __name__ == "__main__":
    sys.exit(run_main(main))
