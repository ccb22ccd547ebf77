"""Helpers shared by the command-line entry points: one-line user errors and stubs.

User errors (bad files, bad flags) are reported as a single line on stderr and exit code 2,
never as a traceback.  Programming errors still raise normally.
"""

import argparse
import sys


class UserError(Exception):
    """An error caused by the user's input (file, field, flag); printed as one line."""


def fail(message: str, code: int = 2) -> "NoReturn":  # noqa: F821
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


def stub_entry_point(description: str, issue: str, argv=None) -> int:
    """Entry point for a script whose implementation has not landed yet: it parses the flags
    it will take (so ``--help`` works) and exits with a clear message."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", help="YAML config from configs/")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config key (repeatable)")
    parser.add_argument("--out", help="run directory")
    parser.add_argument("--resume", action="store_true", help="resume from the latest checkpoint in --out")
    parser.parse_args(argv)
    print(f"not implemented yet: this entry point arrives with {issue}.", file=sys.stderr)
    return 2
