"""Run records: the results of finished runs kept in one committed file, so a sweep outlives its run folders.

  python -m aher.reproduce.records save    [--runs runs/reproduce] [--file reports/reproduce/run_records.json]
  python -m aher.reproduce.records restore [--runs runs/reproduce] [--file reports/reproduce/run_records.json]

Contract: a run folder is finished when it holds ``metrics.json`` and ``config.yaml`` (tests of a run,
``<run>/eval_<space>``, belong to their run).  Its record is what ``python -m aher.reproduce ...
--no-train``, ``python -m aher.reproduce.curves --no-train`` and ``python -m aher.reproduce.verdict``
read of it: ``config.yaml``, ``metrics.json``, ``diagnostics.json`` and the first two lines of
``reproduce.log`` (the command; exit code and duration), and the same files of each ``eval_*`` folder
in it; never checkpoints, detections, event files or the rest of the logs.  Records are keyed by the
folder's path below ``--runs`` (``small/k600/ahernet/seed0``), JSON files stored parsed, the file
written sorted with a stable layout so that its diff shows runs added or changed.

``save`` adds the record of every finished run under ``--runs`` to the file (replacing a record of
the same folder that differs) and keeps the records whose folders are not here.  ``record_run`` does
the same for one run as soon as it (or one of its tests) finishes: ``python -m aher.reproduce`` and
``python -m aher.reproduce.curves`` call it through ``recorder`` (see their ``--records``), so a sweep
whose machine stops keeps every run finished before that in the file.  Writers of one file take an
exclusive lock on ``<runs>/.records.lock`` (``fcntl``), so invocations sharing a runs folder do not
drop each other's records.  ``restore`` writes
every record into its folder under ``--runs`` unless that folder holds a finished run already (kept;
counted as "differs" when it is not the record's) or is held by a live claim or trainer (left out);
``metrics.json`` is written last, so a restore that stops halfway leaves no folder that looks finished.
A restored folder is reused like any finished run: tables, curves and the verdict come out as from
the folders that were saved, and the plan trains only what no record covers.
Limits: one file for all runs; the records carry no detections, so the detection-length diagnostics
(``python -m aher.diagnostics lengths``) need the runs themselves.
"""

import argparse
import contextlib
import fcntl
import json
import os
from pathlib import Path

from aher.cli import run_main
from aher.errors import UserError
from aher.paths import PROJECT_ROOT
from aher.reproduce.claim import busy_reason
from aher.reproduce.process import display_path
from evaluation.cli_common import write_text_atomic

FORMAT = 1
DEFAULT_FILE = PROJECT_ROOT / "reports" / "reproduce" / "run_records.json"
DEFAULT_RUNS = PROJECT_ROOT / "runs" / "reproduce"
JSON_FILES = ("metrics.json", "diagnostics.json")
TEXT_FILES = ("config.yaml",)
LOG_FILE = "reproduce.log"
LOG_LINES = 2
TEST_PREFIX = "eval_"
LOCK_FILE = ".records.lock"


# ----------------------------------------------------------------------------------------------
# One folder


def _log_head(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readline() for _ in range(LOG_LINES))


def _folder_files(folder, prefix=""):
    """{relative name: content} of the recorded files directly in ``folder``."""
    files = {}
    for name in JSON_FILES:
        path = folder / name
        if path.is_file():
            try:
                files[prefix + name] = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise UserError(f"{display_path(path)}: unreadable JSON ({exc})") from None
    for name in TEXT_FILES:
        path = folder / name
        if path.is_file():
            files[prefix + name] = path.read_text()
    if (folder / LOG_FILE).is_file():
        files[prefix + LOG_FILE] = _log_head(folder / LOG_FILE)
    return files


def is_finished(folder):
    """Whether ``folder`` holds a finished run (not a run's test folder)."""
    folder = Path(folder)
    return (not folder.name.startswith(TEST_PREFIX) and (folder / "metrics.json").is_file()
            and (folder / "config.yaml").is_file())


def record_of(folder):
    """The record of the finished run in ``folder``: {"files": {relative name: content}}."""
    folder = Path(folder)
    files = _folder_files(folder)
    for test in sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith(TEST_PREFIX)):
        if (test / "metrics.json").is_file():                 # a test still running is left for a later save
            files.update(_folder_files(test, prefix=f"{test.name}/"))
    return {"files": files}


def finished_runs(runs_root):
    """{key below ``runs_root``: folder} of every finished run under it, sorted by key."""
    runs_root = Path(runs_root)
    found = {}
    for metrics in runs_root.rglob("metrics.json"):
        folder = metrics.parent
        if is_finished(folder):
            found[folder.relative_to(runs_root).as_posix()] = folder
    return dict(sorted(found.items()))


def write_record(folder, record):
    """Write ``record``'s files into ``folder``, ``metrics.json`` last."""
    folder = Path(folder)
    names = sorted(record["files"], key=lambda name: (name == "metrics.json", name))
    for name in names:
        content = record["files"][name]
        path = folder / name
        write_text_atomic(path, content if isinstance(content, str) else json.dumps(content, indent=1) + "\n")


# ----------------------------------------------------------------------------------------------
# The file


def _valid_name(name):
    """Whether ``name`` is a recorded file: one of the recorded names, directly or in one ``eval_*`` folder."""
    parts = name.split("/")
    return (parts[-1] in (*JSON_FILES, *TEXT_FILES, LOG_FILE)
            and (len(parts) == 1 or (len(parts) == 2 and parts[0].startswith(TEST_PREFIX) and parts[0] != TEST_PREFIX)))


def load_records(path):
    """{key: record} of the records file (empty when it does not exist); one-line error when unusable."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{display_path(path)}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("runs"), dict):
        raise UserError(f"{display_path(path)}: not a run records file (want 'format': {FORMAT} and 'runs')")
    for key, record in doc["runs"].items():
        files = record.get("files") if isinstance(record, dict) else None
        if not isinstance(files, dict) or "metrics.json" not in files:
            raise UserError(f"{display_path(path)}: run '{key}' has no 'files' with metrics.json")
        bad = next((name for name in files if not _valid_name(name)), None)
        if bad is not None:
            raise UserError(f"{display_path(path)}: run '{key}': '{bad}' is not a recorded file name")
        if Path(key).is_absolute() or ".." in Path(key).parts:
            raise UserError(f"{display_path(path)}: run '{key}' is not a path below the runs folder")
    return doc["runs"]


def dump_records(path, runs):
    """Write ``runs`` to ``path`` (sorted, one stable layout), atomically."""
    doc = {"format": FORMAT, "runs": dict(sorted(runs.items()))}
    write_text_atomic(path, json.dumps(doc, indent=1, sort_keys=True) + "\n")


@contextlib.contextmanager
def _file_lock(runs_root):
    """Hold the exclusive lock of the records writers of ``runs_root`` (``LOCK_FILE`` in it)."""
    runs_root.mkdir(parents=True, exist_ok=True)
    with open(runs_root / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def save(runs_root, path):
    """Add every finished run under ``runs_root`` to the records file; {"added", "updated", "unchanged", "total"} counts."""
    runs_root = Path(runs_root)
    if not runs_root.is_dir():
        raise UserError(f"{display_path(runs_root)}: no such runs folder")
    with _file_lock(runs_root):
        records = load_records(path)
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        for key, folder in finished_runs(runs_root).items():
            record = record_of(folder)
            if key not in records:
                counts["added"] += 1
            elif records[key] != record:
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
            records[key] = record
        counts["total"] = len(records)
        dump_records(path, records)
    return counts


def record_run(runs_root, folder, path):
    """Put the record of the finished run in ``folder`` (below ``runs_root``) into the records file;
    whether the file changed (False for a folder that holds no finished run)."""
    runs_root, folder = Path(runs_root), Path(folder)
    if not is_finished(folder):
        return False
    key = folder.relative_to(runs_root).as_posix()
    with _file_lock(runs_root):
        records = load_records(path)
        record = record_of(folder)
        if records.get(key) == record:
            return False
        records[key] = record
        dump_records(path, records)
    return True


def recorder(runs_root, path, log=print):
    """``record_run`` of one folder into ``path`` as a callback of a sweep: an unusable records file
    is logged (one line) and the sweep goes on."""
    def record(folder):
        try:
            record_run(runs_root, folder, path)
        except (UserError, OSError) as exc:
            log(f"    {display_path(folder)}: not recorded in {display_path(path)} ({exc})", flush=True)
    return record


def restore(runs_root, path):
    """Write every record into its folder under ``runs_root`` where no finished run is; counts and notes."""
    runs_root = Path(runs_root)
    if not Path(path).is_file():
        raise UserError(f"{display_path(path)}: no such records file")
    records = load_records(path)
    counts = {"restored": 0, "present": 0, "differs": 0, "busy": 0}
    notes = []
    for key, record in sorted(records.items()):
        folder = runs_root / key
        if is_finished(folder):
            same = record_of(folder) == record
            counts["present" if same else "differs"] += 1
            if not same:
                notes.append(f"{display_path(folder)}: holds a finished run unlike its record (kept the folder's)")
            continue
        reason = busy_reason(folder)
        if reason:
            counts["busy"] += 1
            notes.append(f"{display_path(folder)}: left out ({reason})")
            continue
        write_record(folder, record)
        counts["restored"] += 1
    return counts, notes


def add_records_argument(parser):
    """``--records FILE|none`` of the commands that train runs."""
    parser.add_argument("--records", metavar="FILE|none",
                        help="records file that every run finished here is added to as soon as it ends "
                             "(default: reports/reproduce/run_records.json for the committed small synthetic "
                             "float32 runs in runs/reproduce, else none)")


def records_file(args, runs_root, committed_runs):
    """The records file of a sweep (None: none): ``--records`` when given, else the committed file
    when the sweep trains the committed runs (``committed_runs``) in the default runs folder."""
    if args.records:
        return None if args.records == "none" else Path(args.records).resolve()
    return DEFAULT_FILE if committed_runs and Path(runs_root) == DEFAULT_RUNS else None


def sweep_recorder(args, runs_root, committed_runs, log=print):
    """The ``on_finished`` callback of a sweep's runs (None: no records file), announced in one line."""
    path = records_file(args, runs_root, committed_runs)
    if path is None:
        return None
    log(f"records: each run finished here is added to {display_path(path)}", flush=True)
    return recorder(runs_root, path, log)


# ----------------------------------------------------------------------------------------------
# Command line


def build_parser():
    p = argparse.ArgumentParser(prog="python -m aher.reproduce.records", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=("save", "restore"),
                   help="save: finished runs into the file; restore: the file's runs into their folders")
    p.add_argument("--runs", default=str(DEFAULT_RUNS), help="folder of the runs (default: runs/reproduce)")
    p.add_argument("--file", default=str(DEFAULT_FILE),
                   help="records file (default: reports/reproduce/run_records.json)")
    return p


def run(argv=None):
    args = build_parser().parse_args(argv)
    runs_root, path = Path(os.path.abspath(args.runs)), Path(args.file).resolve()
    if args.action == "save":
        c = save(runs_root, path)
        print(f"{display_path(path)}: {c['total']} runs ({c['added']} added, {c['updated']} updated, "
              f"{c['unchanged']} unchanged from {display_path(runs_root)})")
    else:
        c, notes = restore(runs_root, path)
        for note in notes:
            print(note)
        print(f"{display_path(runs_root)}: {c['restored']} runs restored from {display_path(path)}, "
              f"{c['present']} present, {c['differs']} differ (kept), {c['busy']} busy (left out)")
    return 0


def main(argv=None):
    return run_main(run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
