#!/usr/bin/env python
"""Train AherNet in the THUMOS14 -> ActivityNet-FG setting."""

import sys

from aher.cli import stub_entry_point

if __name__ == "__main__":
    sys.exit(stub_entry_point(__doc__, "the Algorithm-1 issue (#5)"))
