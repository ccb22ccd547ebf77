"""The generator's knobs, the scale presets and the resolved config of one request.

``KNOBS`` maps every knob to ``(default, meaning)``; ``SCALE_PRESETS`` overrides some of them
per scale (and per setting); the ``paper`` scale takes its video counts from the fitted layout
file (``data/meta/layout_params.json``).  ``resolve_config(setting, scale, overrides)`` applies
defaults <- preset <- overrides and returns the plain dict stored in the manifest (its key order
and value types are part of the written bytes).

Overrides are ``"knob=value"`` strings, parsed by the project's one override parser
(:func:`aher.config.parse_override`: values are YAML, ``1e-4`` a float), or ``(knob, value)``
pairs.  Each value is checked by :mod:`aher.config.schema` against the knob's type (that of its
default: integer, number, string, or a list of two numbers) and its allowed range
(``_RULES``); an unknown or wrong knob is one :class:`aher.errors.UserError` line naming the
knob, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses

from aher.config import parse_override
from aher.config import schema
from aher.data.synthetic.layout import load_layout_params
from aher.data.synthetic.settings import SETTINGS
from aher.errors import ConfigError, UserError

SCALES = ("tiny", "small", "paper")

#: knob -> (default, meaning).  Scale presets override some of them (``SCALE_PRESETS``).
KNOBS = {
    "dim": (128, "feature dimension D (P3D: 2048)"),
    "length_untrimmed": (512, "steps of the untrimmed / foreground / eval / oracle stores"),
    "length_moment": (256, "steps of the moment store"),
    "dtype": ("float16", "storage dtype of the feature stores"),
    "latent_dim": (64, "rank of the semantic part: every vector lives in a latent space of this size, "
                       "mapped into D by the fixed ReLU extractor (so difficulty does not grow with D); "
                       "capped at dim"),
    "hidden_dim": (256, "hidden ReLU units of the fixed random extractor latent -> hidden -> D"),
    "output_bias": (-0.5, "bias of the extractor's output ReLU (its pre-activations are standardised per "
                          "frame; more negative = sparser features)"),
    "n_groups": (8, "taxonomy groups (like ActivityNet parent nodes)"),
    "untrimmed_group_frac": (0.453, "anet_split/th14_anet: fraction of groups holding the untrimmed "
                                    "classes (ActivityNet: 24 of 53 parents under Sports)"),
    "n_classes_untrimmed": (20, "classes of the untrimmed set"),
    "n_classes_moment": (40, "classes of the moment set"),
    "n_untrimmed_train": (400, "untrimmed-set training videos"),
    "n_moments": (1000, "k600 only: K600-like moment clips"),
    "n_oracle_train": (240, "untrimmed training videos of the moment classes (oracle; in anet_split/"
                            "th14_anet also the source of the moments)"),
    "n_eval": (200, "evaluation videos (moment classes, GT subset 'validation')"),
    "n_eval_untrimmed": (100, "held-out evaluation videos of the untrimmed-set classes (gt_untrimmed.json, "
                              "subset 'validation'; the paper's untrimmed-set comparison)"),
    "max_instances": (25, "cap on parametric instance counts (GT slots)"),
    "group_weight": (0.8, "share of the group vector in a class prototype (class confusability)"),
    "style_std": (1.2, "per-instance deviation from the class prototype"),
    "action_shared": (0.6, "weight of the class-agnostic 'something is happening' vector in every action"),
    "amplitude": ([0.7, 1.2], "range of the per-instance action amplitude (relative to the scene under it: "
                              "the total latent energy is normalised per step)"),
    "onset_s": (2.0, "seconds of the onset signature"),
    "offset_s": (2.0, "seconds of the offset signature"),
    "phase_max_frac": (0.3, "onset/offset at most this fraction of the instance each"),
    "phase_class_mix": (0.3, "class-specific share of the onset/offset signatures"),
    "phase_strength": (0.5, "weight of the onset/offset signatures"),
    "drift_std": (0.4, "intra-instance drift (OU process) standard deviation"),
    "drift_tau_s": (6.0, "drift time constant (s)"),
    "pause_rate": (1.0, "pauses per minute of action"),
    "pause_len_s": ([0.8, 2.5], "pause length range (s)"),
    "pause_depth": (0.25, "action weight left during a pause"),
    "n_scenes": (48, "scenes per domain pool"),
    "scene_jitter": (0.4, "per-video deviation from the pooled scene vector"),
    "scene_cut_rate": (0.5, "scene cuts per minute"),
    "scene_in_action": (0.5, "weight of the scene under an action"),
    "context_frac": ([0.1, 0.4], "context band length range, as a fraction of the instance"),
    "context_strength": (0.6, "weight of the group context vector at the instance boundary"),
    "context_group_corr": (0.5, "correlation of a group's context vector with its group vector"),
    "background_group": (0.3, "weight of the video's group vector in its far background (scenes "
                              "hint at the activity, as on YouTube)"),
    "clutter_rate": (3.0, "clutter bursts per minute"),
    "clutter_len_s": ([1.0, 4.0], "clutter burst length range (s)"),
    "clutter_strength": (0.8, "clutter amplitude relative to an action"),
    "noise_std": (1.0, "AR(1) latent noise standard deviation per dimension (the content has scale 1 per "
                       "dimension after the energy normalisation)"),
    "noise_tau_s": (1.0, "AR(1) noise time constant (s)"),
    "white_std": (0.3, "sensor noise standard deviation per feature dimension and 4-frame sub-step (added "
                       "to the extractor's output pre-activation, before its ReLU)"),
    "domain_shift": (0.3, "strength of the per-domain linear map"),
    "domain_offset": (0.3, "strength of the per-domain offset vector"),
    "moment_len_s": (10.0, "k600: seconds of a moment clip"),
    "moment_jitter_s": (1.0, "k600: std of the action boundaries around the clip ends (s)"),
}


def _ordered(pair) -> str | None:
    return None if pair[0] <= pair[1] else "[low, high] with low <= high"


_AT_LEAST_1 = {"low": 1}
_NON_NEGATIVE = {"low": 0}
_POSITIVE = {"low": 0, "low_open": True}
#: knob -> what its value may be beyond its type (keywords of :func:`aher.config.schema.setting`);
#: knobs not listed take any value of their type
_RULES = {
    **dict.fromkeys(("dim", "latent_dim", "hidden_dim", "length_untrimmed", "length_moment", "n_groups",
                     "n_classes_untrimmed", "n_classes_moment", "n_scenes", "max_instances"), _AT_LEAST_1),
    **dict.fromkeys(("n_untrimmed_train", "n_moments", "n_oracle_train", "n_eval", "n_eval_untrimmed",
                     "style_std", "drift_std", "pause_rate", "pause_depth", "scene_jitter", "scene_cut_rate",
                     "scene_in_action", "context_strength", "clutter_rate", "clutter_strength", "noise_std",
                     "white_std", "action_shared", "background_group", "domain_shift", "domain_offset",
                     "moment_jitter_s", "onset_s", "offset_s", "phase_strength"), _NON_NEGATIVE),
    **dict.fromkeys(("drift_tau_s", "noise_tau_s", "moment_len_s"), _POSITIVE),
    **dict.fromkeys(("amplitude", "pause_len_s", "context_frac", "clutter_len_s"),
                    {"low": 0, "check": _ordered}),
    "dtype": {"choices": ("float16", "float32")},
    "untrimmed_group_frac": {"low": 0, "high": 1, "low_open": True, "high_open": True},
    "group_weight": {"low": 0, "high": 1, "high_open": True},
    "phase_class_mix": {"low": 0, "high": 1},
    "context_group_corr": {"low": 0, "high": 1},
    "phase_max_frac": {"low": 0, "high": 0.5, "low_open": True},
}


def _knob_field(name: str, default):
    """``(name, type, field)`` of the schema section of the knobs (lists are pairs of numbers)."""
    if isinstance(default, list):
        return name, tuple[float, float], schema.setting(tuple(default), **_RULES.get(name, {}))
    return name, type(default), schema.setting(default, **_RULES.get(name, {}))


#: the knobs as an :mod:`aher.config.schema` section (what a value may be)
KnobSchema = dataclasses.make_dataclass("KnobSchema", [_knob_field(k, d) for k, (d, _) in KNOBS.items()],
                                        frozen=True)


def _paper_counts() -> dict:
    counts = load_layout_params()["counts"]
    return {
        "k600": {"n_untrimmed_train": counts["anet_train"], "n_moments": 390_000,
                 "n_oracle_train": 6_000, "n_eval": counts["k600_val"], "n_eval_untrimmed": counts["anet_val"]},
        "anet_split": {"n_untrimmed_train": counts["anet_train_untrimmed_87"],
                       "n_oracle_train": counts["anet_train_moment_113"], "n_eval": counts["anet_val_moment_113"],
                       "n_eval_untrimmed": counts["anet_val"] - counts["anet_val_moment_113"]},
        "th14_anet": {"n_untrimmed_train": counts["thumos_val"], "n_oracle_train": counts["anet_train"],
                      "n_eval": counts["anet_val"], "n_eval_untrimmed": counts["thumos_test"]},
    }


#: scale -> setting -> overrides of KNOBS (paper counts come from layout_params.json)
SCALE_PRESETS = {
    "tiny": {
        "_all": {"dim": 32, "n_groups": 3, "n_scenes": 8, "n_classes_untrimmed": 4, "n_classes_moment": 6,
                 "n_untrimmed_train": 16, "n_moments": 24, "n_oracle_train": 12, "n_eval": 8,
                 "n_eval_untrimmed": 6},
    },
    "small": {
        "_all": {"dim": 128, "n_scenes": 48},
        "k600": {"n_groups": 8, "n_classes_untrimmed": 20, "n_classes_moment": 40,
                 "n_untrimmed_train": 400, "n_moments": 1000, "n_oracle_train": 240, "n_eval": 200,
                 "n_eval_untrimmed": 100},
        "anet_split": {"n_groups": 10, "n_classes_untrimmed": 17, "n_classes_moment": 23,
                       "n_untrimmed_train": 340, "n_oracle_train": 460, "n_eval": 184,
                       "n_eval_untrimmed": 136},
        "th14_anet": {"n_groups": 10, "n_classes_untrimmed": 10, "n_classes_moment": 40,
                      "n_untrimmed_train": 200, "n_oracle_train": 600, "n_eval": 240,
                      "n_eval_untrimmed": 100},
    },
    "paper": {
        "_all": {"dim": 2048, "n_scenes": 512, "n_groups": 53},
        "k600": {"n_classes_untrimmed": 200, "n_classes_moment": 600},
        "anet_split": {"n_classes_untrimmed": 87, "n_classes_moment": 113},
        "th14_anet": {"n_classes_untrimmed": 20, "n_classes_moment": 200},
    },
}


def resolve_config(setting: str, scale: str, overrides=()) -> dict:
    """Defaults <- scale preset <- ``overrides`` (``"knob=value"`` strings or ``(knob, value)``
    pairs); a bad setting, scale, knob or value is a one-line :class:`UserError`."""
    if setting not in SETTINGS:
        raise UserError(f"unknown setting {setting!r} (choose from {', '.join(SETTINGS)})")
    if scale not in SCALES:
        raise UserError(f"unknown scale {scale!r} (choose from {', '.join(SCALES)})")
    cfg = {k: v for k, (v, _) in KNOBS.items()}
    preset = SCALE_PRESETS[scale]
    cfg.update(preset.get("_all", {}))
    cfg.update(preset.get(setting, {}))
    if scale == "paper":
        cfg.update(_paper_counts()[setting])
    for item in overrides:
        key, value = parse_knob_override(item)
        cfg[key] = value
    return cfg


def parse_knob_override(item) -> tuple[str, object]:
    """``"knob=value"`` or ``(knob, value)`` -> ``(knob, checked value)`` as the config stores it
    (numbers of a number knob as floats, pairs as lists of floats)."""
    if isinstance(item, str):
        text = item
        try:
            keys, value = parse_override(item)
        except ConfigError:
            raise UserError(f"--set {item!r}: expected KNOB=VALUE, e.g. noise_std=0.5 (knobs: --list-knobs)") from None
        key = ".".join(keys)
    else:
        key, value = item
        text = f"{key}={value}"
    if key not in KNOBS:
        raise UserError(f"--set {text}: unknown knob {key!r}; knobs: {', '.join(KNOBS)}")
    try:
        checked = getattr(schema.build(KnobSchema, {key: value}), key)
    except ConfigError as exc:
        raise UserError(f"--set {text}: {exc}") from None
    return key, list(checked) if isinstance(checked, tuple) else checked
