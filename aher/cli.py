"""Helpers shared by the command-line entry points: one-line user errors.

User errors (bad files, bad flags) are reported as a single line on stderr and exit code 2,
never as a traceback.  Programming errors still raise normally.
"""

import sys
from typing import NoReturn

from aher.errors import UserError
from evaluation.cli_common import OutputError


def fail(message: str, code: int = 2, label: str = "error") -> NoReturn:
    """Print ``<label>: <message>`` on stderr and exit with ``code``."""
    print(f"{label}: {message}", file=sys.stderr)
    raise SystemExit(code)


def run_main(main, argv=None) -> int:
    """Run ``main(argv)``; turn a :class:`UserError` into a one-line message with exit code 2 (or the
    error's own ``exit_code``, e.g. 130/143 for a training stopped by a signal)."""
    try:
        return main(argv) or 0
    except UserError as exc:
        fail(str(exc), code=getattr(exc, "exit_code", 2), label=exc.label)
    except OutputError as exc:          # an output file cannot be written (full disk, permissions)
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", code=130)
