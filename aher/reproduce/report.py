"""Writing the tables: ``<out>/<table>.json`` and ``<out>/<table>.md`` per table, and Fig. 6's plot.

Contract: both files of a table are replaced atomically (temp file + rename); the JSON keeps
non-ASCII text as is.  Fig. 6 is drawn by ``aher.plots.fig6`` from the written ``fig6.json`` into
``<out>/fig6.png`` and the document is written again with the plot's link (``plot``); a failing
plot is reported in the table and counts as a failure, the numbers stay.
Limits: no plotting of its own.
"""

import json
from pathlib import Path

from aher.reproduce.document import collect_table
from aher.reproduce.markdown import render_markdown
from aher.reproduce.runner import display_path
from evaluation.cli_common import write_text_atomic


def write_table(doc, out_dir):
    """Write ``<out_dir>/<table>.json`` and ``.md``; return their paths."""
    out_dir = Path(out_dir)
    json_path, md_path = out_dir / f"{doc['table']}.json", out_dir / f"{doc['table']}.md"
    write_text_atomic(json_path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    write_text_atomic(md_path, render_markdown(doc))
    return json_path, md_path


def plot_fig6(json_path, png_path):
    """Draw Fig. 6 with ``aher.plots.fig6(json_path, png_path)``; return (text for the report, ok)."""
    from aher.plots import fig6                 # imported here: matplotlib is needed for Fig. 6 only
    try:
        fig6(str(json_path), str(png_path))
    except Exception as exc:  # the plot is another module's: report it, keep the numbers
        return f"failed: aher.plots.fig6 raised {type(exc).__name__}: {exc}", False
    return f"[{Path(png_path).name}]({Path(png_path).name})", True


def write_tables(tables, seeds, results, meta, out_dir, log=print):
    """Collect and write every table of ``tables`` (Fig. 6 with its plot); True when any failed."""
    out_dir = Path(out_dir)
    failed = False
    for table in tables:
        doc = collect_table(table, seeds, results, meta)
        failed |= bool(doc["failures"])
        json_path, md_path = write_table(doc, out_dir)
        if table == "fig6":
            doc["plot"], ok = plot_fig6(json_path, out_dir / "fig6.png")
            failed |= not ok
            json_path, md_path = write_table(doc, out_dir)
        log(f"wrote {display_path(md_path)} and {json_path.name}"
            + (f" ({len(doc['failures'])} failed runs)" if doc["failures"] else ""), flush=True)
        if table == "fig6":
            log(f"    Fig. 6 plot: {doc['plot']}")
    return failed
