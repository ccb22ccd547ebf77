"""The paper's tables as specifications: their rows, settings and metrics.

Contract: ``TABLE_SPECS[name]`` is a :class:`TableSpec` for every name of ``TABLE_NAMES``.  A row
is (our label, ``train.method``, extra config overrides ((key, value), ...), the paper's row name,
or None for a row the paper does not have, such as AherNet with the paper's side of the §11.1
switches, ``PAPER_SWITCHES``); every row is run on every setting of its table.  Table 1 also has
the rows of the text's comparison on the untrimmed-set classes (``untrimmed_rows``); Fig. 6 has AherNet* at each
annotation fraction of ``FRACTIONS`` beside AherNet.  ``committed_seeds`` is how many seeds of a
table's runs the committed tables need (Table 1 and Fig. 6: 1, their other runs are shown with the
seeds that exist; every other table: all of ``--seeds``).
Limits: plain data; the paper's numbers are in ``aher.paper_numbers``.
"""

from dataclasses import dataclass

from aher import paper_numbers

TABLE_NAMES = ("table1", "table2", "table3", "table4", "fig6")
FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Row:
    """One row of a table: our label, the method, extra overrides ((key, value), ...), the paper's row."""

    name: str
    method: str
    extra: tuple = ()
    paper: str | None = None


@dataclass(frozen=True)
class TableSpec:
    key: str
    title: str
    settings: tuple
    metrics: tuple
    rows: tuple
    untrimmed_rows: tuple = ()     # rows of the text's comparison on the untrimmed-set classes (average mAP)
    committed_seeds: int | None = None   # seeds the committed tables need of this table's runs (None: all)

    @property
    def columns(self):
        return [(s, m) for s in self.settings for m in self.metrics]


def _transfer(num_fc, activation):
    return (("model.transfer.num_fc", str(num_fc)), ("model.transfer.activation", activation))


def _fraction(f):
    return () if f == 1.0 else (("data.annotation_fraction", repr(f)),)


def fig6_row_name(fraction):
    """Fig. 6's row of AherNet* trained with ``fraction`` of the temporal annotations."""
    return f"AherNet* ({100 * fraction:g} % annotations)"


# AherNet with the paper's side of every discrepancy of the reference §11.1 that is a config switch
# (item number in the comment); the upstream defaults stay the AherNet row.  Left out: pre-training M
# (item 12: the paper gives no length for it) and what no switch changes (items 5, 13-15).
PAPER_SWITCHES = (
    ("train.lr_counter", "iterations"),         # 1: decay at iteration boundaries, not sample counts
    ("model.prior_scaling", "[1.0,1.0]"),       # 2: alpha1 = alpha2 = 1.0
    ("loss.offset_target", "decoded"),          # 3: smooth L1 on the decoded box
    ("loss.overlap_target", "refined"),         # 4: IoU of the refined proposal
    ("loss.cls_cells", "foreground"),           # 6: anchor classification of proposals only
    ("inference.scoring", "paper"),             # 7: max(p) * y_ov per proposal
    ("context.mode", "concat"),                 # 8: concat(G1, f_m, G2), Eq. 2
    ("adversarial.g_steps", "1"),               # 9: one generator update with L_adG
    ("adversarial.mask", "separate"),           # 10: separate background sets b_u, b_m
    ("train.s1_updates_backbone", "false"),     # 11: step 3 learns W~_regv only
)
# extras that are named as a whole in run folders and labels: (slug part, label part)
NAMED_EXTRAS = {PAPER_SWITCHES: ("paper-switches", "paper switches")}
PAPER_SWITCHES_ROW = "AherNet (paper switches)"


TABLE_SPECS = {
    "table1": TableSpec("table1", paper_numbers.TABLE1["title"], ("anet_split", "th14_anet"), ("average_mAP",), (
        Row("AherNet^0", "zero", (), "AherNet^0"),
        Row("AherNet^-", "minus", (), "AherNet^-"),
        Row("1-fc, none", "algorithm1", _transfer(1, "none"), "1-fc, none"),
        Row("1-fc, ReLU", "algorithm1", _transfer(1, "relu"), "1-fc, ReLU"),
        Row("1-fc, LeakyReLU", "algorithm1", _transfer(1, "leaky_relu"), "1-fc, LeakyReLU"),
        Row("1-fc, ELU", "algorithm1", _transfer(1, "elu"), "1-fc, ELU"),
        Row("2-fc, LeakyReLU", "algorithm1", _transfer(2, "leaky_relu"), "2-fc, LeakyReLU"),
        Row("2-fc, ELU (= AherNet)", "algorithm1", (), "2-fc, ELU"),   # the defaults: the AherNet run
        Row("3-fc, ELU", "algorithm1", _transfer(3, "elu"), "3-fc, ELU"),
        Row("AherNet*", "oracle", (), "AherNet* (oracle)"),
    ), untrimmed_rows=(
        Row("AherNet", "algorithm1", (), "AherNet"),
        Row("AherNet*", "oracle_untrimmed", (), "AherNet*"),
    ), committed_seeds=1),
    "table2": TableSpec("table2", paper_numbers.TABLE2["title"], ("anet_split", "th14_anet"), ("AUC", "average_mAP"), (
        Row("AherNet^0", "zero", (), "AherNet^U"),
        Row("AherNet^-", "minus", (), "AherNet^-"),
        Row("AherNet_M", "moments_only", (), "AherNet_M"),
        Row("AherNet_A-", "no_adversary", (), "AherNet_A-"),
        Row("AherNet", "algorithm1", (), "AherNet"),
        Row(PAPER_SWITCHES_ROW, "algorithm1", PAPER_SWITCHES),
        Row("AherNet*", "oracle", (), "AherNet*"),
    )),
    "table3": TableSpec("table3", paper_numbers.TABLE3["title"], ("th14_anet",),
                        ("mAP@0.5", "mAP@0.75", "mAP@0.95", "average_mAP"), (
        Row("AherNet (partial)", "algorithm1", (), "AherNet (partial)"),
    )),
    "table4": TableSpec("table4", paper_numbers.TABLE4["title"], ("k600",),
                        ("mAP@0.5", "mAP@0.75", "mAP@0.95", "average_mAP"), (
        Row("AherNet^0", "zero", (), "AherNet^0"),
        Row("AherNet^-", "minus", (), "AherNet^-"),
        Row("AherNet_M", "moments_only", (), "AherNet_M"),
        Row("AherNet_A-", "no_adversary", (), "AherNet_A-"),
        Row("AherNet", "algorithm1", (), "AherNet"),
        Row(PAPER_SWITCHES_ROW, "algorithm1", PAPER_SWITCHES),
    )),
    "fig6": TableSpec("fig6", paper_numbers.FIG6["title"], ("anet_split", "th14_anet"), ("average_mAP", "AUC"), (
        *(Row(fig6_row_name(f), "oracle", _fraction(f)) for f in FRACTIONS),
        Row("AherNet", "algorithm1", ()),
    ), committed_seeds=1),
}


def expand_tables(names):
    """Table names in the order given, ``all`` expanded to ``TABLE_NAMES``, without repeats."""
    out = []
    for name in names:
        for t in (TABLE_NAMES if name == "all" else (name,)):
            if t not in out:
                out.append(t)
    return out


def settings_needed(tables):
    """The settings of ``tables``, in order of first use."""
    out = []
    for t in tables:
        for s in TABLE_SPECS[t].settings:
            if s not in out:
                out.append(s)
    return out
