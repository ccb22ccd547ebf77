"""The paper's numbers (Tables 1-4 and the text), transcribed from paper_vs_code §12 as data.

Contract: ``TABLES[name]`` (name in ``table1`` .. ``table4``) is a dict with ``title``,
``columns`` (a list of ``(setting, metric)`` pairs, in the paper's column order) and ``rows``
(a list of ``(row name, values)``; ``values`` aligned with ``columns``, ``None`` where the paper
prints a dash).  Row names are the reference's (``AherNet^0``, ``2-fc, ELU``, ``BSN (full)``).
``value(table, row, setting, metric)`` looks one cell up (``KeyError`` when the paper has no
such row or column).  Every number is in percent as printed: mAP (average over tIoU
0.5:0.05:0.95, or at one tIoU) and the proposal AUC of AR@AN.  ``TEXT_*`` hold the numbers the
text reports outside the tables, ``FIG6`` the text's only statement about Fig. 6 (the figure
has no numbers in the text).
Limits: data only; the settings are the project's names (``k600``, ``anet_split``,
``th14_anet``) and the metrics the keys of a run's ``metrics.json``.
"""

SETTING_TITLES = {
    "anet_split": "ANet-UN→ANet-AM",
    "th14_anet": "TH14→ANet-FG",
    "k600": "ANet→K600",
}

METRIC_TITLES = {
    "average_mAP": "average mAP",
    "AUC": "AUC",
    "mAP@0.5": "mAP@0.5",
    "mAP@0.75": "mAP@0.75",
    "mAP@0.95": "mAP@0.95",
}

TABLE1 = {
    "title": "Table 1: average mAP (%) of the weight-transfer variants",
    "columns": [("anet_split", "average_mAP"), ("th14_anet", "average_mAP")],
    "rows": [
        ("AherNet^0", (10.2, 9.3)),
        ("AherNet^-", (12.8, 10.4)),
        ("1-fc, none", (16.1, 23.2)),
        ("1-fc, ReLU", (16.4, 23.4)),
        ("1-fc, LeakyReLU", (16.5, 23.5)),
        ("1-fc, ELU", (16.7, 23.9)),
        ("2-fc, LeakyReLU", (16.9, 24.2)),
        ("2-fc, ELU", (17.2, 24.3)),
        ("3-fc, ELU", (16.8, 24.1)),
        ("AherNet* (oracle)", (22.6, 28.9)),
    ],
}

TABLE2 = {
    "title": "Table 2: proposal AUC (AR@AN) and average mAP (%)",
    "columns": [("anet_split", "AUC"), ("anet_split", "average_mAP"),
                ("th14_anet", "AUC"), ("th14_anet", "average_mAP")],
    "rows": [
        # "AherNet^U" has AherNet^0's numbers of Table 1: presumably a typo (paper_vs_code §11.1 item 16).
        ("AherNet^U", (41.8, 10.2, 11.2, 9.3)),
        ("AherNet^-", (52.6, 12.8, 16.4, 10.4)),
        ("AherNet_M", (53.5, 13.2, 49.7, 17.3)),
        ("AherNet_A-", (54.6, 14.7, 51.0, 19.1)),
        ("AherNet", (58.3, 17.2, 55.5, 24.3)),
        ("AherNet*", (61.1, 22.6, 63.4, 28.9)),
    ],
}

TABLE3 = {
    "title": "Table 3: ActivityNet v1.3 validation, mAP (%) at tIoU; AherNet is the TH14→ANet-FG model",
    "columns": [("th14_anet", "mAP@0.5"), ("th14_anet", "mAP@0.75"), ("th14_anet", "mAP@0.95"),
                ("th14_anet", "average_mAP")],
    "rows": [
        ("Wang et al. [53] (full)", (45.11, 4.11, 0.05, 16.41)),
        ("Singh et al. [47] (full)", (26.01, 15.22, 2.61, 14.62)),
        ("Singh et al. [48] (full)", (22.71, 10.82, 0.33, 11.31)),
        ("CDC (full)", (45.30, 26.00, 0.20, 23.80)),
        ("TAG-D (full)", (39.12, 23.48, 5.49, 23.98)),
        ("Lin et al. [28] (full)", (48.99, 32.91, 7.87, 32.26)),
        ("BSN (full)", (52.50, 33.53, 8.85, 33.72)),
        ("STPN (weak)", (29.30, 16.90, 2.60, None)),
        ("Nguyen et al. [38] (weak)", (36.40, 19.20, 2.90, None)),
        ("AherNet (partial)", (40.33, 25.04, 3.92, 24.31)),
    ],
}

TABLE4 = {
    "title": "Table 4: ANet→K600, Kinetics-600 localization validation set (6,459 videos), mAP (%) at tIoU",
    "columns": [("k600", "mAP@0.5"), ("k600", "mAP@0.75"), ("k600", "mAP@0.95"), ("k600", "average_mAP")],
    "rows": [
        ("AherNet^0", (19.26, 16.72, 0.88, 14.18)),
        ("AherNet^-", (21.76, 17.85, 1.71, 15.96)),
        ("AherNet_M", (28.98, 20.71, 2.95, 19.05)),
        ("AherNet_A-", (32.71, 23.04, 5.08, 21.68)),
        ("AherNet", (36.19, 26.96, 6.55, 24.43)),
    ],
}

TABLES = {"table1": TABLE1, "table2": TABLE2, "table3": TABLE3, "table4": TABLE4}

# The text: average mAP (%) on the *untrimmed-set* classes, AherNet vs the oracle AherNet*.
TEXT_UNTRIMMED_CLASSES = {
    "anet_split": {"AherNet": 25.4, "AherNet*": 25.2},
    "th14_anet": {"AherNet": 27.7, "AherNet*": 26.9},
}

# The text: gains in average mAP (percentage points) between rows of Table 2.
TEXT_GAINS = [
    {"better": "AherNet_A-", "worse": "AherNet_M", "metric": "average_mAP",
     "gain": {"anet_split": 1.5, "th14_anet": 1.8}},
    {"better": "AherNet", "worse": "AherNet_A-", "metric": "average_mAP",
     "gain": {"anet_split": 2.5, "th14_anet": 5.2}},
]

FIG6 = {
    "title": "Fig. 6: AherNet* trained with a fraction of the temporal annotations, against AherNet",
    "numbers": None,
    "text": "The figure has no numbers in the text; AherNet* overtakes AherNet only above 50 % of "
            "the temporal annotations.",
}


def value(table, row, setting, metric):
    """The paper's number of ``row`` in column ``(setting, metric)`` of ``table`` (``None``: a dash)."""
    spec = TABLES[table]
    try:
        col = spec["columns"].index((setting, metric))
    except ValueError:
        raise KeyError(f"{table} has no column {setting}/{metric}") from None
    for name, values in spec["rows"]:
        if name == row:
            return values[col]
    raise KeyError(f"{table} has no row {row!r}")
