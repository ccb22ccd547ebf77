"""Helpers shared by the command-line entry points: one-line user errors.

User errors (bad files, bad flags) are reported as a single line on stderr and exit code 2,
never as a traceback.  Programming errors still raise normally.
"""

import sys
from typing import NoReturn

from aher.errors import UserError


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` on stderr and exit with ``code``."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def run_main(main, argv=None) -> int:
    """Run ``main(argv)``; turn :class:`UserError` (and ``ValueError`` subclasses marked as
    user errors) into a one-line message with exit code 2."""
    try:
        return main(argv) or 0
    except UserError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", code=130)
