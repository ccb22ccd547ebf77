#!/usr/bin/env python
"""Test a trained AherNet: run inference, write the result JSON and score it."""

import sys

from aher.cli import stub_entry_point

if __name__ == "__main__":
    sys.exit(stub_entry_point(__doc__, "the localization-core issue (#4)"))
