#!/usr/bin/env python
"""Train AherNet in the ANet-UN (87 classes) -> ANet-AM (113 classes) setting, then test and score it.

  python aher_anet_split_train.py --config configs/anet_split_synthetic_small.yaml [--set key=value] [--out RUN_DIR] [--resume]
"""

import sys

from aher.experiment import main

if __name__ == "__main__":
    sys.exit(main("anet_split", __doc__, "configs/anet_split_synthetic_small.yaml"))
