"""Command-line plumbing shared by the two evaluation scripts.

Contract: argument types, JSON output and the error policy (user errors -> one line on stderr,
exit code 2, no traceback).  Limits: no metric code here.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

from evaluation.io import EvaluationError
from evaluation.segments import parse_tiou_thresholds


def tiou_thresholds_arg(text):
    """argparse type: ``START:STOP:STEP`` or a comma list (see ``parse_tiou_thresholds``)."""
    import argparse

    try:
        return parse_tiou_thresholds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_common_arguments(parser):
    """Options both evaluation command lines take (subset, thresholds, ties, output)."""
    from evaluation.segments import DEFAULT_TIOU_THRESHOLDS

    parser.add_argument("--subset", default="validation", help="ground-truth subset to evaluate (default: validation)")
    parser.add_argument("--tiou-thresholds", type=tiou_thresholds_arg,
                        default=tiou_thresholds_arg(DEFAULT_TIOU_THRESHOLDS),
                        help="START:STOP:STEP or a comma list (default 0.5:0.95:0.05; THUMOS: 0.3:0.7:0.1)")
    parser.add_argument("--tie-break", choices=["later_first", "earlier_first"], default="later_first",
                        help="order of rows with equal scores (default later_first, see README)")
    parser.add_argument("--json-out", metavar="FILE", help="write the result as JSON")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def write_json_atomic(path, payload):
    """Write ``payload`` as JSON to ``path`` via a temp file in the same folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8) to ``path`` via a temp file in the same folder.

    Unlike ``write_json_atomic``'s ``mkstemp`` file, the temp file gets the umask's usual mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def run_cli(main, argv=None):
    """Run ``main(argv)``; evaluation errors become ``error: ...`` and exit code 2."""
    try:
        return main(argv)
    except (EvaluationError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
