#!/usr/bin/env python
"""Train AherNet in the ANet-UN (87 classes) -> ANet-AM (113 classes) setting."""

import sys

from aher.cli import stub_entry_point

if __name__ == "__main__":
    sys.exit(stub_entry_point(__doc__, "the localization-core and Algorithm-1 issues (#4, #5)"))
