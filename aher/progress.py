"""Progress bars that also show in logs: ``progress_bar`` is ``tqdm`` on a terminal; when stderr
is not one (``nohup``, Slurm, a pipe), work that lasts longer than ``LOG_INTERVAL`` seconds gets a
newline-ended line every ``LOG_INTERVAL`` seconds and a last one at the end, and shorter work
prints nothing."""

import sys
import time

from tqdm import tqdm

#: seconds between two progress lines when stderr is not a terminal (and before the first)
LOG_INTERVAL = 30.0


class _Lines:
    """A stream for tqdm: each refresh as one newline-ended line, from ``LOG_INTERVAL`` seconds on."""

    def __init__(self, stream):
        self.stream = stream
        self.since = time.monotonic()
        self.started = False

    def write(self, text):
        text = text.replace("\r", "").strip("\n")
        if not text.strip():
            return
        if not self.started and time.monotonic() - self.since < LOG_INTERVAL:
            return
        self.started = True
        self.stream.write(text + "\n")

    def flush(self):
        self.stream.flush()


def progress_bar(iterable=None, *, enabled=True, **kwargs):
    """``tqdm(iterable, **kwargs)`` when ``enabled``; on a non-terminal stderr, lines as the module
    docstring says."""
    if not enabled:
        return tqdm(iterable, disable=True, **kwargs)
    stream = sys.stderr
    if hasattr(stream, "isatty") and stream.isatty():
        return tqdm(iterable, file=stream, **kwargs)
    return tqdm(iterable, file=_Lines(stream), mininterval=LOG_INTERVAL, maxinterval=LOG_INTERVAL, ncols=100,
                **{k: v for k, v in kwargs.items() if k != "dynamic_ncols"})
