#!/usr/bin/env python
"""Train AherNet in the THUMOS14 -> ActivityNet-FG setting, then test and score it.

  python aher_th14_anet_train.py --config configs/th14_anet_synthetic_small.yaml [--set key=value] [--out RUN_DIR] [--resume]
"""

import sys

from aher.experiment import main

if __name__ == "__main__":
    sys.exit(main("th14_anet", __doc__, "configs/th14_anet_synthetic_small.yaml"))
