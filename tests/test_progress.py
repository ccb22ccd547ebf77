"""``aher.progress.progress_bar``: a tqdm bar on a terminal, newline-ended lines in a log."""

import io

from aher import progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_whole_lines_and_the_final_count(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", log)
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)            # work longer than the interval
    for _ in progress.progress_bar(range(5), desc="prepare", unit="video"):
        pass
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and lines and all(line.strip() for line in lines)
    assert lines[0].startswith("prepare:   0%") and lines[-1].startswith("prepare: 100%") and "5/5" in lines[-1]


def test_short_work_prints_nothing_in_a_log(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", log)
    assert list(progress.progress_bar(range(5), desc="prepare")) == list(range(5))
    assert log.getvalue() == ""


def test_a_terminal_gets_tqdm_and_disabled_writes_nothing(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(progress.sys, "stderr", terminal)
    with progress.progress_bar(total=3, desc="test", dynamic_ncols=True) as bar:
        bar.update(3)
    assert "\r" in terminal.getvalue() and "3/3" in terminal.getvalue()
    quiet = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", quiet)
    assert list(progress.progress_bar(range(3), enabled=False, desc="x")) == [0, 1, 2]
    assert quiet.getvalue() == ""
