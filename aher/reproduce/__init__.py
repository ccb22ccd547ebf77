"""Rerun the paper's tables: plan the runs, train the missing ones, write our numbers beside the paper's.

  python -m aher.reproduce table1|table2|table3|table4|fig6|all [...] --data synthetic --scale tiny|small
        [--seeds 3] [--report-dir DIR] [--runs runs/reproduce] [--force] [--dry-run] [--no-train]
  python -m aher.reproduce all --data real [--config-dir DIR] [--config SETTING=FILE ...]

Contract: a table row is (setting, ``train.method``, extra config overrides); every row of the
chosen tables becomes one run per seed, deduplicated across tables, in
``<runs>/<scale>/<setting>/<slug>/seed<k>`` (``<scale>`` is ``real`` with ``--data real``).
Finished runs are reused (when their ``config.yaml`` agrees), interrupted ones resumed, missing
ones trained one after the other as subprocesses of ``python -m aher.experiment`` (``--force``
retrains); a failed run is recorded and the next one starts, and the exit code is 1 when anything
failed.  ``<report-dir>/<table>.md`` and ``.json`` hold our mean ± sample std over the finished
seeds (n), in percent, beside the paper's number, with the references that tell localization from
classification, the run time, and (Table 1) the text's comparison on the untrimmed-set classes.
The report folder is ``reports/reproduce`` (the committed tables) only for the plan they were made
from (``cli.COMMITTED_PLAN``) or when ``--report-dir`` names it; other plans write to
``<runs>/<scale>/tables``.

Where each part lives:

* ``tables``   -- the tables' rows, settings and metrics (``TABLE_SPECS``)
* ``plan``     -- runs, their deduplication and folders (``build_plan``)
* ``runner``   -- reuse / resume / train one run as a subprocess, its tests, the whole plan (``execute``)
* ``stats``    -- percent, mean ± std, orderings with Kendall's tau, run time, the text's gains
* ``document`` -- the JSON document of one table (``collect_table``)
* ``markdown`` -- that document as Markdown (``render_markdown``)
* ``report``   -- writing the tables' files and Fig. 6's plot (``write_tables``)
* ``cli``      -- the command line (``run``, ``main``), where the tables go (``report_destination``);
  ``__main__`` runs it
* ``records``  -- finished runs' results saved to one file and restored into run folders
  (``python -m aher.reproduce.records save|restore``)

Limits: no parallel runs; the plot is ``aher.plots.fig6``'s.
"""
