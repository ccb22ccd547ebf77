"""The run plan: the deduplicated training runs that the chosen tables need, and their folders.

Contract: a run is (setting, ``train.method``, extra overrides, seed), a :class:`RunSpec`.  Every
row of the chosen tables becomes one run per seed (``--set train.seed=k``), deduplicated across
tables (AherNet on anet_split serves Tables 1, 2 and Fig. 6: one run per seed); the plan is
seed-major.  A run lives in ``<runs>/<scale>/<setting>/<slug>/seed<k>``; a test on another label
space goes to ``<run>/eval_<space>``.  Passthrough overrides come first, the row's own win.
Method labels, run-folder slugs and label spaces come from ``aher.methods``.
Limits: plans only; nothing is read or run here.
"""

from dataclasses import dataclass, field
from pathlib import Path

from aher.config import parse_override
from aher.methods import METHODS
from aher.reproduce.tables import NAMED_EXTRAS, TABLE_SPECS

UNTRIMMED = "untrimmed"                      # the label space of the text's comparison


@dataclass(frozen=True)
class RunSpec:
    """One training run: the unit of deduplication (setting, method, extra overrides, seed)."""

    setting: str
    method: str
    extra: tuple
    seed: int

    @property
    def slug(self):
        parts = [METHODS[self.method].slug]
        if self.extra in NAMED_EXTRAS:
            return "-".join([*parts, NAMED_EXTRAS[self.extra][0]])
        for key, value in self.extra:
            leaf = key.rsplit(".", 1)[-1]
            parts.append({"num_fc": f"fc{value}", "activation": value.replace("_", ""),
                          "annotation_fraction": f"frac{value}"}.get(leaf, f"{leaf}{value}"))
        return "-".join(parts)

    @property
    def label(self):
        text = METHODS[self.method].label
        if self.extra in NAMED_EXTRAS:
            return f"{text} ({NAMED_EXTRAS[self.extra][1]})"
        if self.extra:
            text += " (" + ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in self.extra) + ")"
        return text

    def overrides(self):
        return [f"train.method={self.method}", *(f"{k}={v}" for k, v in self.extra), f"train.seed={self.seed}"]


@dataclass
class PlannedRun:
    spec: RunSpec
    config: Path
    out: Path
    overrides: list                              # the effective --set list (passthrough first, then the row's)
    uses: list = field(default_factory=list)     # [(table, row name)]
    evals: list = field(default_factory=list)    # label spaces tested besides the run's own (in <out>/eval_<space>)


def effective_overrides(row_overrides, passthrough=()):
    """Passthrough overrides first, then the row's (a key set by both keeps the row's value)."""
    by_key = {}
    for text in [*passthrough, *row_overrides]:
        keys, _ = parse_override(text)
        by_key.pop(".".join(keys), None)
        by_key[".".join(keys)] = text
    return list(by_key.values())


def own_label_space(method):
    """The label space a method's run is tested on when it is trained (``eval.label_space: auto``)."""
    return METHODS[method].label_space


def run_folder(runs_root, scale_dir, spec):
    """``<runs>/<scale>/<setting>/<slug>/seed<k>``."""
    return Path(runs_root) / scale_dir / spec.setting / spec.slug / f"seed{spec.seed}"


def eval_dir(out, space):
    """Where a run's test on the label space ``space`` (not its own) is written."""
    return Path(out) / f"eval_{space}"


def _row_uses(table):
    """(setting, row, use, tested on the untrimmed-set classes) for every row of ``table``."""
    spec = TABLE_SPECS[table]
    for setting in spec.settings:
        for row in spec.rows:
            yield setting, row, (table, row.name), False
        for row in spec.untrimmed_rows:
            yield setting, row, (table, f"{row.name} (untrimmed-set classes)"), True


def build_plan(tables, seeds, configs, runs_root, scale_dir, passthrough=()):
    """The deduplicated list of runs the tables need, seed-major (all of seed 0 first)."""
    plan = {}
    for seed in seeds:
        for table in tables:
            for setting, row, use, untrimmed in _row_uses(table):
                spec = RunSpec(setting, row.method, tuple(row.extra), seed)
                if spec not in plan:
                    plan[spec] = PlannedRun(spec, Path(configs[setting]), run_folder(runs_root, scale_dir, spec),
                                            effective_overrides(spec.overrides(), passthrough))
                run = plan[spec]
                if use not in run.uses:
                    run.uses.append(use)
                if untrimmed and own_label_space(row.method) != UNTRIMMED and UNTRIMMED not in run.evals:
                    run.evals.append(UNTRIMMED)
    _check_folders(plan.values())
    return list(plan.values())


def _check_folders(runs):
    """Two different runs in one folder would overwrite each other: a bug in the slugs."""
    owners = {}
    for run in runs:
        other = owners.setdefault(run.out, run.spec)
        if other != run.spec:
            raise AssertionError(f"two runs share the folder {run.out}: {other} and {run.spec}")
