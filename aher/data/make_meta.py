"""Write the small derived class-name lists of ``data/meta/`` from the reference annotations.

    python -m aher.data.make_meta [--shared PATH] [--out DIR]

``--shared`` is the reference folder (default: ``aher.paths.shared_dir()``, i.e. ``../shared``
or ``$AHER_SHARED``); ``--out`` defaults to ``data/meta`` of the project.  Files written (plain
names, one per line, no header):

  anet_untrimmed_87.txt   leaves under "Sports, Exercise, and Recreation" (anet_class_split of
                          data/activitynet/derived_anet_taxonomy_v1-3.json), sorted
  anet_moment_113.txt     the other 113 leaves, sorted
  anet_classes_200.txt    the distinct labels of data/activitynet/anet_anno_action.json, sorted
  thumos14_classes_20.txt the labels of data/thumos14/thumos14.json in label_id order

The script refuses to write a list that is byte-identical to a file of the reference folder
(the lists are derived, never copies).  Sorting is Python's ``sorted`` (code-point order).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aher.cli import run_main
from aher.errors import UserError
from aher.data.annotations import (anet_class_split, read_actionformer_classes, read_bsn_annotations,
                                   write_class_list)
from aher.paths import PROJECT_ROOT, shared_dir

#: file name -> (source inside the shared folder, how it is derived); also used for the README
SOURCES = {
    "anet_untrimmed_87.txt": ("data/activitynet/derived_anet_taxonomy_v1-3.json",
                              'taxonomy leaves under "Sports, Exercise, and Recreation", sorted'),
    "anet_moment_113.txt": ("data/activitynet/derived_anet_taxonomy_v1-3.json",
                            "the other taxonomy leaves, sorted"),
    "anet_classes_200.txt": ("data/activitynet/anet_anno_action.json (+ video_info_new.csv)",
                             "distinct annotation labels, sorted"),
    "thumos14_classes_20.txt": ("data/thumos14/thumos14.json", "labels in label_id order"),
}


def build_lists(shared: Path) -> dict[str, list[str]]:
    """The four class lists, keyed by output file name."""
    data = Path(shared) / "data"
    untrimmed, moment = anet_class_split(data / "activitynet" / "derived_anet_taxonomy_v1-3.json")
    videos = read_bsn_annotations(data / "activitynet" / "anet_anno_action.json",
                                  data / "activitynet" / "video_info_new.csv")
    anet_200 = sorted({label for video in videos for label in video.labels})
    thumos_20 = read_actionformer_classes(data / "thumos14" / "thumos14.json")
    lists = {
        "anet_untrimmed_87.txt": untrimmed,
        "anet_moment_113.txt": moment,
        "anet_classes_200.txt": anet_200,
        "thumos14_classes_20.txt": thumos_20,
    }
    expected = {"anet_untrimmed_87.txt": 87, "anet_moment_113.txt": 113,
                "anet_classes_200.txt": 200, "thumos14_classes_20.txt": 20}
    for name, names in lists.items():
        if len(names) != expected[name]:
            raise UserError(f"{shared}: {name} would hold {len(names)} names, expected {expected[name]}")
    if set(untrimmed) | set(moment) != set(anet_200):
        raise UserError(f"{shared}: the taxonomy leaves differ from the ActivityNet annotation labels")
    return lists


def identical_shared_files(content: bytes, shared: Path) -> list[Path]:
    """Files under ``shared`` whose bytes equal ``content``."""
    hits = []
    for path in sorted(Path(shared).rglob("*")):
        if path.is_file() and path.stat().st_size == len(content) and path.read_bytes() == content:
            hits.append(path)
    return hits


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aher.data.make_meta", description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=None,
                        help="reference folder holding data/ (default: ../shared or $AHER_SHARED)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "data" / "meta",
                        help="output folder (default: data/meta of the project)")
    args = parser.parse_args(argv)
    shared = (args.shared or shared_dir()).resolve()
    if not (shared / "data").is_dir():
        raise UserError(f"{shared}: reference folder not found (no data/ inside); pass --shared PATH")
    lists = build_lists(shared)
    for name, names in lists.items():
        content = "".join(f"{n}\n" for n in names).encode("utf-8")
        copies = identical_shared_files(content, shared)
        if copies:
            raise UserError(f"{name}: would be byte-identical to {copies[0]}; refusing to copy a shared file")
        write_class_list(names, args.out / name)
        print(f"wrote {args.out / name} ({len(names)} names)")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
