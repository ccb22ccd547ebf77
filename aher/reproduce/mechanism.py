"""The mechanism numbers the reports show of a run, read from its ``diagnostics.json``.

Contract: ``diagnostics_at(record)`` reduces one snapshot's record (``aher.train.mechanism``) to
the ``DIAGNOSTICS``: the discriminator's accuracy (mean over anchor layers; 0.5 = chance) and the
linear probe's held-out AUC of generated context vs real background at the input features and at
anchor layer 1 (0.5 = indistinguishable, 1.0 = linearly separable), each None where the method
or the window has none.  ``generator_at(record)`` gives the ``GENERATOR_STATS``: the mean per-step
L2 norm, the fraction of exact zeros and the temporal std of the generated context beside the
same of the real background steps.  ``final_diagnostics(folder, iteration)`` gives both for the
record of the tested snapshot ``iteration`` (else the last one) of a run folder; None when the
folder has no readable ``diagnostics.json`` or it has no record (records under keys that are not
iteration numbers, or that are not objects, are ignored).
Limits: reads; the diagnostics are measured while training (``aher.train.mechanism``).
"""

import json
import math
from pathlib import Path

DIAGNOSTICS = ("discriminator_accuracy", "probe_auc_input", "probe_auc_layer_1")
GENERATOR_STATS = tuple(f"{side}_{stat}" for stat in ("norm", "zero_fraction", "temporal_std")
                        for side in ("generated", "real"))
DIAGNOSTICS_FILE = "diagnostics.json"


def _mean(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(values) / len(values) if values else None


def diagnostics_at(record):
    """The ``DIAGNOSTICS`` of one ``diagnostics.json`` record (None where the method has none)."""
    layers = (record.get("discriminator") or {}).get("layers") or []
    probe = record.get("probe") or {}
    return {"discriminator_accuracy": _mean([layer.get("accuracy") for layer in layers]),
            "probe_auc_input": (probe.get("input") or {}).get("auc"),
            "probe_auc_layer_1": (probe.get("layer_1") or {}).get("auc")}


def generator_at(record):
    """The ``GENERATOR_STATS`` of one ``diagnostics.json`` record (None where it has none)."""
    generator = record.get("generator") or {}
    sides = {"generated": generator.get("generated") or {}, "real": generator.get("real_background") or {}}
    return {name: sides[name.split("_", 1)[0]].get(name.split("_", 1)[1]) for name in GENERATOR_STATS}


def final_diagnostics(folder, iteration=None):
    """The ``DIAGNOSTICS`` and ``GENERATOR_STATS`` of the run in ``folder`` at the snapshot
    ``iteration`` (else its last)."""
    try:
        records = json.loads((Path(folder) / DIAGNOSTICS_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(records, dict):
        return None
    records = {int(k): v for k, v in records.items() if str(k).isdigit() and isinstance(v, dict)}
    if not records:
        return None
    key = iteration if iteration in records else max(records)
    return {**diagnostics_at(records[key]), **generator_at(records[key])}
