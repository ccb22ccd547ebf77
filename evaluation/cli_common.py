"""Command-line plumbing shared by the two evaluation scripts.

Contract: argument types, JSON output and the error policy (user errors -> one line on stderr,
exit code 2, no traceback).  Output files are written atomically (:func:`write_text_atomic`),
with the umask's mode, and never over an input file (:func:`refuse_overwriting_inputs`); a
failed write is an :class:`OutputError` naming the file.  Limits: no metric code here.
"""

import errno
import json
import os
import secrets
import sys
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


class OutputError(OSError):
    """An output file cannot be written (full disk, no permission, ...); ``str`` is one line naming it."""

    def __init__(self, path, exc):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            reason = "no space left on the device (disk or quota full)"
        else:
            reason = exc.strerror or str(exc)
        super().__init__(exc.errno, reason)
        self.path = Path(path)
        self.message = f"{path}: cannot write: {reason}; the previous file, if any, is unchanged"

    def __str__(self):
        return self.message


def same_file(a, b):
    """True when the paths ``a`` and ``b`` name one file (after symlinks; hard links too when both exist)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def refuse_overwriting_inputs(out, inputs, flag="--json-out"):
    """:class:`EvaluationError` when the output file ``out`` is one of the ``inputs`` (it would be replaced)."""
    if not out:
        return
    for path in inputs:
        if path is not None and same_file(out, path):
            raise EvaluationError(f"{flag} {out} is the input file {path}: it would be overwritten; "
                                  "choose another output file")


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8) to ``path`` via a temp file in the same folder, flushed to the disk and
    renamed over ``path`` (the folder flushed too).

    The file gets the mode of any newly created file (``0o666`` less the umask).  Any failure
    (a full disk included) leaves ``path`` as it was, removes the temp file and raises
    :class:`OutputError`, one line naming ``path``.
    """
    path = Path(path)
    data = text.encode("utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _sync_folder(path.parent)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(path, exc) from None
        raise


def _sync_folder(folder):
    """Flush the folder's entry of a renamed file to the disk (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(path, payload):
    """Write ``payload`` as JSON (indent 1, final newline) like :func:`write_text_atomic`."""
    write_text_atomic(path, json.dumps(payload, indent=1) + "\n")


def run_cli(main, argv=None):
    """Run ``main(argv)``; evaluation errors become ``error: ...`` and exit code 2."""
    try:
        return main(argv)
    except (EvaluationError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
