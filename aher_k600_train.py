#!/usr/bin/env python
"""Train AherNet in the ANet -> Kinetics-600 setting, then test and score it.

  python aher_k600_train.py --config configs/k600_synthetic_small.yaml [--set key=value] [--out RUN_DIR] [--resume]
"""

import sys

from aher.experiment import main

if __name__ == "__main__":
    sys.exit(main("k600", __doc__, "configs/k600_synthetic_small.yaml"))
