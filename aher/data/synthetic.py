"""Synthetic AherNet benchmark: a generative model of clip features and the dataset writer.

Nobody can ship the real P3D features of ActivityNet / Kinetics-600 / THUMOS14, so this module
makes the project's default data: untrimmed videos, foreground segments, moments and evaluation
videos laid out exactly like the real benchmark (``docs/data_layer_contract.md``), with features
built from a latent state that is a sum of interpretable parts (so that the paper's mechanisms
can be tested), passed through a fixed random ReLU "extractor" (so that the features have the
statistics of real clip features).

Contract
--------
``build_dataset(setting, scale, out_root, *, seed=0, overrides=(), layouts=(), force=False,
progress=True, log=print, check_disk=True) -> BuildResult(path, reused, seconds, manifest)``
    writes ``out_root/<setting>_<scale>/`` (``dataset.yaml``, ``gt.json``, ``gt_untrimmed.json``,
    ``classes_*.txt`` and the six feature stores of the contract) atomically: everything goes to a hidden temporary
    folder next to the target, renamed at the end.  An existing folder made from the same request
    (same generator version, setting, scale, seed, resolved config and layout inputs, every file
    present) is reused; one made from the same request by an older ``GENERATOR_VERSION`` is
    regenerated; a different one is a :class:`aher.cli.UserError` unless ``force``.  A folder
    without ``dataset.yaml`` is never replaced, even with ``force``.
    Same request => identical bytes of every file (HDF5 written with fixed settings, no
    timestamps; numpy ``Generator``s seeded per video; tested).
``resolve_config(setting, scale, overrides)``  scale preset + ``key=value`` overrides.
``load_layout(path, domain=None)``             a real annotation file as temporal templates.
``World`` / ``LayoutSource`` / ``render_features``  the generative model (below).

Settings (reference §1.5, §11.2)
--------------------------------
``k600``        untrimmed set ANet-like (200 classes at paper scale) -> moment set K600-like
                (600): ~10 s clips; evaluation on K600-like untrimmed validation videos.
``anet_split``  ANet-UN (87) -> ANet-AM (113): classes of disjoint taxonomy groups; moments =
                foreground of the moment classes' training videos; evaluation on validation
                videos of those classes.
``th14_anet``   THUMOS-like (20) -> ANet-FG (200): THUMOS classes come from a subset of the
                groups; moments = foreground of all ANet-like training videos; evaluation on
                ANet-like validation videos.
In every setting ``oracle_train.h5`` holds the untrimmed training videos of the moment classes
(for AherNet*); in ``anet_split``/``th14_anet`` the moments are cut from exactly those videos.
``eval_untrimmed.h5`` + ``gt_untrimmed.json`` (generator v3) hold held-out videos of the
*untrimmed-set* classes (their domain, subset ``validation``) for the paper's text comparison of
AherNet and AherNet* on those classes; they are generated last, with their own per-video
generators, so every other file is the same with or without them (tested).

Generator v4: realistic feature statistics
------------------------------------------
Real clip features (P3D / I3D pool5) are averages of post-ReLU activations: non-negative, with
many (near-)zero entries, and an action changes *which* units respond rather than *how much*
the network responds.  The v3 features (a linear embedding of the latent sum plus Gaussian noise)
were unlike them in two ways that decide results:

1. they were signed and zero-mean (50-51 % negative entries), so a context generator with a
   final ReLU (as upstream's) could not represent background at all;
2. action steps carried more energy than background (L2 norm 22.7 vs 17.1 at ``small``): the
   per-step norm alone separated action from background with ROC AUC 0.93-0.95, so an all-zero
   "empty context" was a near-perfect stand-in for background.

v4 changes (everything else -- layouts, moments, domains, knobs, determinism -- is kept):

* energy balance: the latent content (background + context + action + clutter) is normalised
  per sub-step to norm ``sqrt(latent_dim)`` before the noise (``noise_std``, fixed energy) is
  added, and the noisy, domain-shifted state is normalised again: mixing weights
  (``amplitude``, ``scene_in_action``, ``context_strength``, ``clutter_strength``,
  ``pause_depth``) now say *what* is visible, not how much;
* the extractor: a fixed random two-layer ReLU network latent -> ``hidden_dim`` -> D (weights
  drawn once per seed, like v3's fixed embedding; one network for every setting) whose output
  pre-activations are standardised per frame (a normalisation layer), shifted by
  ``output_bias`` and disturbed by sensor noise (``white_std``) before the final ReLU;
* the extractor's temporal pooling: the latent is drawn on 4-frame sub-steps (two per feature)
  and feature ``k`` is the mean of the activations of the four sub-steps of its 16-frame window
  (v3 averaged the *latent* over the window, which a nonlinear extractor does not do);
* ``action_shared`` 0.3 -> 0.6: with the energy cue gone, the linear actionness probe of the
  sanity report fell to 0.64-0.74 held-out AUC (``k600``, first v4 draft); 0.6 brings it back
  to v3's level (v3: 0.79-0.85 on ``k600``; v4: 0.77-0.87 over all settings and stores):
  actions must stay recognisable from their content, class-agnostically.  This was the only
  knob calibrated, against the realism criteria of the report, not against any method's results.

Result at ``small`` (``reports/synthetic_*_small.md``, section "Realism"): no negative entry,
42-48 % exact zeros, norm and mean-activation AUCs 0.47-0.55 (limit: max(AUC, 1 - AUC) <=
0.70), linear actionness probe 0.77-0.87, effective rank ~100 of 128.  Side effect, not
calibrated away: the linear moment-class probes fell (k600 64 -> 33 %, anet_split 74 -> 47 %,
th14_anet 72 -> 50 %; chance 3-7 %), class identity now being read through two ReLU layers.
At ``tiny`` scale (D=32, a handful of videos) the realism AUCs are noisy (up to ~0.75); the
test checks them at D=128 with 40 videos per role.

Generative model (semantic vectors live in a ``latent_dim``-dimensional space, scale 1 per
latent dimension; the fixed extractor maps the latent state to the D feature dimensions, so
the difficulty does not grow with D -- real features are also of low effective rank)
------------------------------------------------------------------------------------------
* Taxonomy: groups with a group vector ``G_g`` and a context vector ``C_g`` (correlated with
  ``G_g``: ``context_group_corr``); class prototype ``P_c = unit(sqrt(w) G_g + sqrt(1-w) h_c)``
  (``w = group_weight``), so classes of one group are confusable.  The untrimmed and moment
  sets have different classes.
* Phases of an instance ``[s, e]``: an onset signature ``O_c`` (first ``onset_s`` seconds,
  at most ``phase_max_frac`` of the instance, linearly fading) and an offset signature ``F_c``
  (last ``offset_s`` seconds), weighted by ``phase_strength``; ``O_c = unit(sqrt(1-b^2) O +
  b o_c)`` with ``O`` shared by all classes and datasets and ``b = phase_class_mix`` small
  (likewise ``F_c``).  The middle is ``P_c + a A + style_i + drift_i(t)``: ``A`` is a
  class-agnostic "something is happening" vector (``a = action_shared``; what lets actionness
  transfer to new classes), a per-instance style offset (``style_std``) and an
  Ornstein-Uhlenbeck drift (``drift_std``, ``drift_tau_s``); all scaled by a per-instance
  amplitude (``amplitude``).  Short pauses (``pause_rate`` per minute, ``pause_len_s``) fade
  the action to ``pause_depth``.  The scene stays visible under the action (``scene_in_action``).
* Context: bands of ``context_frac`` x instance length before and after the instance ramp the
  background from the scene towards the group's context vector (``context_strength``).
* Far background: the video's scene vector (a per-domain pool of ``n_scenes`` + per-video
  jitter ``scene_jitter``) plus a little of the video's group vector (``background_group``),
  with occasional cuts to another scene (``scene_cut_rate`` per minute); clutter bursts
  (``clutter_rate`` per minute, ``clutter_len_s``) resembling random class prototypes
  (``clutter_strength``), without onset/offset signatures, are the hard negatives.
* Energy balance (v4): the content above is normalised per sub-step (what is visible changes,
  not how much); then AR(1) noise in the latent space with time constant ``noise_tau_s``
  (``noise_std``).
* Domain shift: per domain (anet / k600 / thumos) a fixed ``z -> z + s z R_d + o b_d``
  (``domain_shift``, ``domain_offset``), plus the domain's own scene pool; the result is
  normalised again.
* Extractor (v4): ``relu(norm(relu(z W1) W2) + output_bias + white_std * eps)`` with fixed random
  ``W1`` [latent, ``hidden_dim``], ``W2`` [``hidden_dim``, D], ``norm`` a per-frame
  standardisation across the D units and ``eps`` white sensor noise per unit and sub-step.
* Temporal layout: real annotation files when given (``load_layout``; real durations, fps,
  instance counts and boundaries, real labels remapped onto the synthetic classes
  of the set by a seeded many-to-one map), otherwise the parametric distributions of
  ``data/meta/layout_params.json`` (fitted by ``aher.data.layout_fit``).  K600-like moments are
  ``moment_len_s`` clips whose action boundaries are jittered by ``moment_jitter_s`` around the
  clip ends (so some clips show a little context, others start inside the action).
* Features are made at the extractor rate (one per 8 frames at the video's fps; feature k is
  centred at ``(k + 0.5) * 8 / fps``; each feature sees a 16-frame window: the mean of the
  extractor's activations on the window's four 4-frame sub-steps) over the whole video:
  frame counts are multiples of 8, so ``covered_seconds == duration`` and ``gt.json`` (which
  cannot carry frame counts) aligns exactly with the grid (a real file's ``feature_frame`` <
  ``duration_frame`` quirk is not reproduced); then they are resized with
  :func:`aher.data.features.resize` / cut with :func:`aher.data.moments.extract_segments`,
  exactly as real features would be.

Calibration of the defaults (``--report`` at ``small`` scale, ``reports/synthetic_*_small.md``)
----------------------------------------------------------------------------------------------
(v1 -> v3; v4's one change, ``action_shared``, is explained above.)  The first version (vectors spanning all D dimensions, group_weight 0.5, style_std 0.6,
phase_strength 1.0, clutter 1.5/min at 0.6, no shared action vector, context/background
independent of the group) was trivial and in one respect impossible: moment and foreground
probes 98-100 %, start/end detector AUC 0.90-0.98, but actionness learned on ANet-UN transferred
to the disjoint ANet-AM groups at chance (AUC 0.55, oracle 0.96) -- real class-agnostic
proposals do transfer across classes (AherNet^- vs AherNet*, Table 2).  Changes, each for a
realistic reason: a low-rank latent space (difficulty independent of D, like real features);
``action_shared`` (a class-agnostic "something happens" component); ``group_weight`` 0.8 and
``style_std`` 1.2 (fine-grained, confusable classes with large intra-class variation);
``phase_strength`` 0.5 (boundaries visible but subtle); clutter 3/min at 0.8 (unlabelled
action-like background); context and far background correlated with the group (YouTube scenes
hint at the activity).  Result: probes 64-86 % (chance 3-20 %), per-step actionness AUC
0.87-0.93 on held-out videos of the same classes, 0.72-0.79 when transferred to new classes
(oracle 0.83-0.90), linear start/end detectors 0.81-0.85, unsupervised change score 0.69-0.76
(v3 numbers; v4's are in the reports).  No knob was tuned against any localisation method's
ranking.

Scales: ``tiny`` (tests: D=32, 4/6 classes, tens of videos; lengths stay 512/256 -- pass
``--set length_untrimmed=128 --set length_moment=64`` for faster model tests, as
``configs/synthetic_tiny.yaml`` does), ``small`` (CPU demo: D=128, 10-40 classes per set, a few
hundred videos, 0.5-2 min to write on 2 cores with v4 -- 33-105 s measured on a shared,
loaded machine), ``paper`` (D=2048, the real class and video counts).

Limits
------
* Synthetic layouts never overlap; with a real layout, overlapping/duplicate instances are kept
  as in the file (times clipped to ``[0, duration]``).  Parametric instance counts are capped at
  ``max_instances`` (25, the GT slots); real layouts keep their counts (THUMOS has videos with
  > 25 instances; the input pipeline keeps the 25 longest).
* Real-layout templates are drawn independently per role (one template may serve several
  roles), and real labels map many-to-one onto the set's synthetic classes (the real 87/113
  membership of a template is not used).
* Byte-identical output assumes the same numpy/scipy/h5py versions and platform.
* ``paper`` scale follows the real counts (``data/meta/layout_params.json`` ``counts``: ANet
  training 9,649 / 4,455 of the 87 classes / 5,194 of the 113, validation 4,728 / 2,530 of the
  113, THUMOS validation 200 (the paper says 220), K600 validation 6,461 ids (the paper says
  6,459)); two counts have no file behind them: 390,000 K600 moments (the paper's "about 390K"
  training clips) and 6,000 K600-like oracle videos (invented, ~10 per class).  It is written
  video by video (~270 MB RSS at D=2048) at ~0.1 s per untrimmed video and ~0.03-0.06 s per
  clip on 2 CPU cores (v4's extractor costs about 2-3x v3's rendering; measured on a loaded
  machine, rendering only), but it is large: ``k600`` ~510 GB (the moments), the others ~50 GB;
  :func:`estimate_bytes` is checked against the free disk before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from scipy.signal import lfilter
from tqdm import tqdm

from aher.cli import UserError
from aher.data.annotations import Instance, Video, load_videos, write_activitynet_gt, write_class_list
from aher.data.features import FEATURE_STRIDE, FeatureStoreWriter, resize
from aher.data.moments import extract_segments
from aher.paths import PROJECT_ROOT
from aher.datasets import FILES as DATASET_FILES

#: bump whenever the bytes written for an unchanged request change (older datasets are then
#: regenerated on the next request instead of being reused)
GENERATOR_VERSION = 4
FORMAT_NAME = "aher-synthetic"
LAYOUT_PARAMS = PROJECT_ROOT / "data" / "meta" / "layout_params.json"
DOMAINS = ("anet", "k600", "thumos")
SCALES = ("tiny", "small", "paper")

FILES = {"manifest": "dataset.yaml", **DATASET_FILES}   # the dataset layout of aher.datasets + the manifest
#: minimum features of a kept segment (contract: foreground 32, moments 8)
FOREGROUND_MIN_FEATURES = 32
MOMENT_MIN_FEATURES = 8


@dataclass(frozen=True)
class SettingSpec:
    name: str
    untrimmed_domain: str
    moment_domain: str           # domain of the moment set's untrimmed videos (eval, oracle)
    moments_from: str            # "clips" (Kinetics-like) or "foreground" (of oracle videos)
    groups: str                  # "shared" | "disjoint" | "subset" (untrimmed groups within)
    prefixes: tuple[str, str]    # class-name prefixes (untrimmed set, moment set)
    description: str


SETTINGS = {
    "k600": SettingSpec("k600", "anet", "k600", "clips", "shared", ("anet", "k600"),
                        "ANet-like untrimmed set -> K600-like moments (~10 s clips); evaluation on "
                        "K600-like untrimmed validation videos"),
    "anet_split": SettingSpec("anet_split", "anet", "anet", "foreground", "disjoint", ("anetun", "anetam"),
                              "ANet-UN -> ANet-AM: classes of disjoint taxonomy groups; moments = foreground "
                              "of the moment classes' training videos; evaluation on their validation videos"),
    "th14_anet": SettingSpec("th14_anet", "thumos", "anet", "foreground", "subset", ("th14", "anetfg"),
                             "THUMOS-like untrimmed set (classes from a subset of the groups) -> ANet-FG "
                             "moments (foreground of all ANet-like training videos); evaluation on "
                             "ANet-like validation videos"),
}
_SETTING_IDS = {"k600": 1, "anet_split": 2, "th14_anet": 3}
_ROLE_IDS = {"untrim": 1, "clip": 2, "mtrain": 3, "eval": 4, "ueval": 5}
_WORLD_KEY, _TEMPLATE_KEY, _LABELMAP_KEY, _CLASS_KEY, _EXTRACTOR_KEY = 101, 102, 103, 104, 105

# ------------------------------------------------------------------------------ configuration

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
    """Defaults <- scale preset <- ``overrides`` (``"key=value"`` strings or ``(key, value)``
    pairs; values parsed as YAML).  Unknown keys and wrongly typed values are user errors."""
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
        if isinstance(item, str):
            if "=" not in item:
                raise UserError(f"--set {item!r}: expected key=value")
            key, text = item.split("=", 1)
            key = key.strip()
            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError:
                raise UserError(f"--set {item!r}: value is not valid YAML") from None
        else:
            key, value = item
        if key not in KNOBS:
            raise UserError(f"--set {key}: unknown key (known: {', '.join(KNOBS)})")
        cfg[key] = _coerce(key, value, KNOBS[key][0])
    _validate(cfg)
    return cfg


def _coerce(key, value, default):
    bad = UserError(f"--set {key}={value!r}: expected {type(default).__name__}"
                    + (f" of {len(default)} numbers" if isinstance(default, list) else ""))
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise bad
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad
        return float(value)
    if isinstance(default, list):
        if (not isinstance(value, list) or len(value) != len(default)
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            raise bad
        return [float(v) for v in value]
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad
        return value
    raise bad


def _validate(cfg):
    def need(cond, msg):
        if not cond:
            raise UserError(f"--set: {msg}")
    need(cfg["dim"] >= 1, "dim must be >= 1")
    need(cfg["latent_dim"] >= 1, "latent_dim must be >= 1")
    need(cfg["hidden_dim"] >= 1, "hidden_dim must be >= 1")
    need(cfg["length_untrimmed"] >= 1 and cfg["length_moment"] >= 1, "lengths must be >= 1")
    need(cfg["dtype"] in ("float16", "float32"), "dtype must be float16 or float32")
    need(cfg["n_groups"] >= 1, "n_groups must be >= 1")
    need(0.0 < cfg["untrimmed_group_frac"] < 1.0, "untrimmed_group_frac must be in (0, 1)")
    need(cfg["n_classes_untrimmed"] >= 1 and cfg["n_classes_moment"] >= 1, "class counts must be >= 1")
    for key in ("n_untrimmed_train", "n_moments", "n_oracle_train", "n_eval", "n_eval_untrimmed", "n_scenes"):
        need(cfg[key] >= (1 if key == "n_scenes" else 0), f"{key} must be >= 0")
    need(cfg["max_instances"] >= 1, "max_instances must be >= 1")
    need(0.0 <= cfg["group_weight"] < 1.0, "group_weight must be in [0, 1)")
    need(0.0 <= cfg["phase_class_mix"] <= 1.0, "phase_class_mix must be in [0, 1]")
    need(0.0 <= cfg["context_group_corr"] <= 1.0, "context_group_corr must be in [0, 1]")
    need(0.0 < cfg["phase_max_frac"] <= 0.5, "phase_max_frac must be in (0, 0.5]")
    need(cfg["drift_tau_s"] > 0 and cfg["noise_tau_s"] > 0, "time constants must be > 0")
    need(cfg["moment_len_s"] > 0, "moment_len_s must be > 0")
    for key in ("amplitude", "pause_len_s", "context_frac", "clutter_len_s"):
        need(0.0 <= cfg[key][0] <= cfg[key][1], f"{key} must be [low, high] with 0 <= low <= high")
    for key in ("style_std", "drift_std", "pause_rate", "pause_depth", "scene_jitter", "scene_cut_rate",
                "scene_in_action", "context_strength", "clutter_rate", "clutter_strength", "noise_std",
                "white_std", "action_shared", "background_group", "domain_shift", "domain_offset", "moment_jitter_s", "onset_s", "offset_s",
                "phase_strength"):
        need(cfg[key] >= 0.0, f"{key} must be >= 0")


# ------------------------------------------------------------------------------ layout params


_PARAMS_CACHE: dict = {}


def load_layout_params(path=LAYOUT_PARAMS) -> dict:
    """The fitted parametric layouts (``data/meta/layout_params.json``)."""
    path = Path(path)
    key = str(path)
    if key not in _PARAMS_CACHE:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{path}: layout parameters not found (run python -m aher.data.layout_fit)") from None
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
        if data.get("format") != "aher-layout-params":
            raise UserError(f"{path}: not an aher layout-parameter file")
        _PARAMS_CACHE[key] = (data, hashlib.md5(path.read_bytes()).hexdigest())
    return _PARAMS_CACHE[key][0]


def _layout_params_md5(path=LAYOUT_PARAMS) -> str:
    load_layout_params(path)
    return _PARAMS_CACHE[str(Path(path))][1]


# ------------------------------------------------------------------------------ helpers


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows scaled to norm sqrt(D) (per-dimension scale 1)."""
    v = np.asarray(v, dtype=np.float64)
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(norm, 1e-12) * math.sqrt(v.shape[-1])


def _ar1(rng, n: int, dim: int, rho: float) -> np.ndarray:
    """Stationary AR(1) rows with unit variance and lag-1 correlation ``rho``."""
    white = rng.standard_normal((n, dim))
    if n == 0 or rho <= 0.0:
        return white
    c = math.sqrt(1.0 - rho * rho)
    zi = ((1.0 - c) * white[0])[None, :]
    out, _ = lfilter([c], [1.0, -rho], white, axis=0, zi=zi)
    return out


def _overlap(t: np.ndarray, half: float, start: float, end: float) -> np.ndarray:
    """Fraction of each window ``[t - half, t + half]`` inside ``[start, end]``."""
    lo = np.maximum(t - half, start)
    hi = np.minimum(t + half, end)
    return np.clip(hi - lo, 0.0, None) / (2.0 * half)


# ------------------------------------------------------------------------------ the world


@dataclass
class ClassSet:
    names: list[str]
    groups: np.ndarray           # group index per class
    protos: np.ndarray           # [K, D]
    onsets: np.ndarray           # [K, D]
    offsets: np.ndarray          # [K, D]


class World:
    """Every fixed random quantity of one (setting, config, seed): taxonomy, prototypes,
    signatures, scene pools, domain maps, clutter pool (all in the latent space), and the
    fixed ReLU network latent -> features (the "extractor", :meth:`activations`)."""

    def __init__(self, setting: str, cfg: dict, seed: int):
        spec = SETTINGS[setting]
        rng = np.random.default_rng([int(seed), _WORLD_KEY, _SETTING_IDS[setting]])
        self.dim = int(cfg["dim"])
        dim = self.latent = min(int(cfg["latent_dim"]), self.dim)
        # the extractor (v4): a fixed random two-layer ReLU network latent -> hidden -> D (see
        # activations()); with a latent of norm sqrt(latent) every hidden pre-activation has
        # variance ~1.  Its own generator, without the setting: one extractor for every dataset
        # of a seed, as one real network extracts every benchmark's features
        ext = np.random.default_rng([int(seed), _EXTRACTOR_KEY])
        hidden = int(cfg["hidden_dim"])
        self.w1 = ext.standard_normal((dim, hidden)) / math.sqrt(dim)               # [latent, H]
        self.w2 = ext.standard_normal((hidden, self.dim)) / math.sqrt(0.5 * hidden)  # [H, D]
        self.b2 = float(cfg["output_bias"])
        self.action = _unit(rng.standard_normal(dim))
        self.onset = _unit(rng.standard_normal(dim))
        self.offset = _unit(rng.standard_normal(dim))
        n_groups = int(cfg["n_groups"])
        self.group_vec = _unit(rng.standard_normal((n_groups, dim)))
        rho = float(cfg["context_group_corr"])
        self.context_vec = _unit(math.sqrt(rho) * self.group_vec
                                 + math.sqrt(1 - rho) * _unit(rng.standard_normal((n_groups, dim))))
        all_groups = list(range(n_groups))
        n_u = min(max(1, round(n_groups * cfg["untrimmed_group_frac"])), n_groups)
        if spec.groups == "shared":
            g_u, g_m = all_groups, all_groups
        elif spec.groups == "disjoint":
            if n_groups < 2:
                raise UserError(f"--set n_groups: setting {setting} needs at least 2 groups (disjoint)")
            n_u = min(n_u, n_groups - 1)
            g_u, g_m = all_groups[:n_u], all_groups[n_u:]
        else:
            g_u, g_m = all_groups[:n_u], all_groups
        self.group_names = [f"group{g:02d}" for g in all_groups]
        gw = float(cfg["group_weight"])
        beta = float(cfg["phase_class_mix"])

        def make_set(prefix, n_classes, groups):
            groups = np.array([groups[j % len(groups)] for j in range(n_classes)], dtype=np.int64)
            h = rng.standard_normal((n_classes, dim))
            protos = _unit(math.sqrt(gw) * self.group_vec[groups] + math.sqrt(1 - gw) * _unit(h))
            on = _unit(math.sqrt(1 - beta ** 2) * self.onset + beta * _unit(rng.standard_normal((n_classes, dim))))
            off = _unit(math.sqrt(1 - beta ** 2) * self.offset + beta * _unit(rng.standard_normal((n_classes, dim))))
            names = [f"{prefix}_{j:03d}" for j in range(n_classes)]
            return ClassSet(names, groups, protos, on, off)

        self.sets = {"untrimmed": make_set(spec.prefixes[0], int(cfg["n_classes_untrimmed"]), g_u),
                     "moment": make_set(spec.prefixes[1], int(cfg["n_classes_moment"]), g_m)}
        self.scenes = {d: _unit(rng.standard_normal((int(cfg["n_scenes"]), dim))) for d in DOMAINS}
        self.domain_map = {d: rng.standard_normal((dim, dim)) / math.sqrt(dim) for d in DOMAINS}
        self.domain_bias = {d: _unit(rng.standard_normal(dim)) for d in DOMAINS}
        n_distractors = max(4, n_groups)
        dg = rng.integers(n_groups, size=n_distractors)
        distractors = _unit(math.sqrt(gw) * self.group_vec[dg]
                            + math.sqrt(1 - gw) * _unit(rng.standard_normal((n_distractors, dim))))
        self.clutter_pool = np.concatenate([self.sets["untrimmed"].protos, self.sets["moment"].protos, distractors])

    def activations(self, z: np.ndarray, rng=None, white_std: float = 0.0) -> np.ndarray:
        """The fixed extractor on latent states ``z`` ``[N, latent]`` (norm ``sqrt(latent)``):
        ``relu(norm(relu(z W1) W2) + b2 + white_std * eps)`` ``[N, D]`` -- non-negative and
        sparse.  ``norm`` standardises each row across the D units (a normalisation layer: the
        response energy does not depend on what is seen; per-unit offsets, from the positive mean
        of the hidden layer, survive it, so some units are mostly on and others mostly off);
        ``eps`` is per-unit sensor noise drawn from ``rng``."""
        y = np.maximum(z @ self.w1, 0.0) @ self.w2
        y -= y.mean(1, keepdims=True)
        y /= np.maximum(y.std(1, keepdims=True), 1e-12)
        y += self.b2
        if white_std > 0 and rng is not None:
            y += white_std * rng.standard_normal(y.shape)
        return np.maximum(y, 0.0, out=y)

    def taxonomy(self) -> list[dict]:
        """ActivityNet-style taxonomy nodes: root -> groups -> classes of both sets."""
        nodes = [{"nodeId": 0, "nodeName": "Root", "parentId": None, "parentName": None}]
        for g, name in enumerate(self.group_names):
            nodes.append({"nodeId": g + 1, "nodeName": name, "parentId": 0, "parentName": "Root"})
        next_id = len(nodes)
        for key in ("untrimmed", "moment"):
            cs = self.sets[key]
            for name, g in zip(cs.names, cs.groups):
                nodes.append({"nodeId": next_id, "nodeName": name, "parentId": int(g) + 1,
                              "parentName": self.group_names[int(g)]})
                next_id += 1
        return nodes


# ------------------------------------------------------------------------------ layouts


@dataclass
class Plan:
    """One video to synthesise: its GT record and what is rendered."""

    video_id: str
    role: str                    # untrim | clip | mtrain | eval
    class_set: str               # untrimmed | moment
    domain: str
    subset: str
    duration: float
    fps: float                   # effective frame rate = duration_frame / duration
    duration_frame: int
    feature_frame: int
    instances: list[tuple[float, float, int]]           # GT (start, end, class index)
    render: list[tuple[float, float, int]] = field(default_factory=list)  # action spans drawn
    template: str = ""

    @property
    def n_features(self) -> int:
        return max(1, self.feature_frame // FEATURE_STRIDE)

    def video(self, names: list[str]) -> Video:
        return Video(self.video_id, self.duration, self.subset,
                     [Instance(s, e, names[c]) for s, e, c in self.instances],
                     fps=self.fps, duration_frame=self.duration_frame, feature_frame=self.feature_frame)


def _draw_positive(rng, fit: dict) -> float:
    """A draw of a fitted positive distribution, resampled inside ``[min, max]``."""
    lo, hi = float(fit["min"]), float(fit["max"])
    for _ in range(100):
        if fit["dist"] == "lognormal":
            x = float(rng.lognormal(fit["mu"], fit["sigma"]))
        else:
            x = lo + (hi - lo) * float(rng.beta(fit["a"], fit["b"]))
        if lo <= x <= hi:
            return x
    return min(max(x, lo), hi)


def _draw_count(rng, fit: dict, duration: float | None, cap: int) -> int:
    log_mu = fit["log_mean"]
    if duration is not None and fit.get("duration_slope"):
        log_mu += fit["duration_slope"] * math.log(duration / fit["duration_ref"])
    mu = math.exp(log_mu)
    r = float(fit["dispersion"])
    extra = int(rng.negative_binomial(r, r / (r + mu))) if mu > 0 else 0
    return int(min(1 + extra, cap))


def _draw_coverage(rng, fit: dict, n: int) -> float:
    for (lo, hi), ab in zip(fit["buckets"], fit["beta"]):
        if lo <= n <= hi:
            return float(np.clip(rng.beta(ab["a"], ab["b"]), 0.01, 0.99))
    ab = fit["beta"][-1]
    return float(np.clip(rng.beta(ab["a"], ab["b"]), 0.01, 0.99))


def _draw_fps(rng, fit: dict | None) -> float:
    if not fit:
        return 30.0
    return float(fit["values"][int(rng.choice(len(fit["values"]), p=np.asarray(fit["probs"]) / sum(fit["probs"])))])


def _frames(duration: float, fps: float) -> tuple[float, int, int]:
    """``(effective fps, duration_frame, feature_frame)``.  The frame count is rounded to a
    multiple of the feature stride and the features cover every frame, so ``covered_seconds ==
    duration``: the GT in ``gt.json`` (which cannot carry frame counts) lines up exactly with
    the features on the grid.  The effective fps is ``frames / duration``, the rate that
    :func:`aher.data.features.resize` assumes."""
    frames = max(FEATURE_STRIDE, FEATURE_STRIDE * int(round(duration * fps / FEATURE_STRIDE)))
    return frames / duration, frames, frames


def load_layout(path, domain: str | None = None) -> tuple[str, list[Video], str]:
    """Read a real annotation file (any format of :func:`aher.data.annotations.load_videos`) as
    layout templates.  Returns ``(domain, annotated videos, md5 of the file)``.

    The domain is ``domain`` when given, else inferred: a ``training`` subset -> ``anet``; fps
    on every video -> ``thumos``; otherwise ``k600``.
    """
    path = Path(path)
    videos = [v for v in load_videos(path) if v.instances]
    if not videos:
        raise UserError(f"{path}: no annotated videos to use as layouts")
    if domain is None:
        subsets = {v.subset for v in videos}
        if "training" in subsets:
            domain = "anet"
        elif all(v.fps for v in videos):
            domain = "thumos"
        else:
            domain = "k600"
    if domain not in DOMAINS:
        raise UserError(f"{path}: unknown layout domain {domain!r} (choose from {', '.join(DOMAINS)})")
    return domain, videos, hashlib.md5(path.read_bytes()).hexdigest()


#: role -> preferred template subsets, per domain
_TEMPLATE_SUBSETS = {
    "anet": {"train": ("training",), "eval": ("validation",)},
    "thumos": {"train": ("validation",), "eval": ("test",)},
    "k600": {"train": ("validation",), "eval": ("validation",)},
}


class LayoutSource:
    """Temporal layouts of one domain: real templates if given, else the fitted distributions."""

    def __init__(self, domain: str, params: dict, seed: int, templates: list[Video] | None = None):
        self.domain = domain
        self.params = params["domains"][domain]
        self.fps_fallback = params["domains"]["anet"].get("fps")
        self.seed = int(seed)
        self.templates = templates
        self._pools: dict = {}
        self._labelmaps: dict = {}

    def _pool(self, role: str) -> tuple[list[Video], np.ndarray]:
        if role not in self._pools:
            kind = "eval" if role in ("eval", "ueval") else "train"
            want = _TEMPLATE_SUBSETS[self.domain][kind]
            pool = [v for v in self.templates if v.subset in want] or list(self.templates)
            perm = np.random.default_rng([self.seed, _TEMPLATE_KEY, _ROLE_IDS[role]]).permutation(len(pool))
            self._pools[role] = (pool, perm)
        return self._pools[role]

    def _labelmap(self, class_set: str, n_classes: int) -> dict[str, int]:
        key = (class_set, n_classes)
        if key not in self._labelmaps:
            labels = sorted({i.label for v in self.templates for i in v.instances})
            perm = np.random.default_rng([self.seed, _LABELMAP_KEY, 1 if class_set == "untrimmed" else 2]
                                         ).permutation(len(labels))
            self._labelmaps[key] = {lab: int(perm[k]) % n_classes for k, lab in enumerate(labels)}
        return self._labelmaps[key]

    def sample(self, rng, role: str, index: int, class_set: ClassSet, set_key: str, primary: int, cfg: dict):
        """``(duration, fps, duration_frame, feature_frame, instances, template_id)``."""
        if self.templates:
            return self._from_template(rng, role, index, set_key, len(class_set.names))
        return self._parametric(rng, class_set, primary, cfg)

    def _from_template(self, rng, role, index, set_key, n_classes):
        pool, perm = self._pool(role)
        tpl = pool[int(perm[index % len(pool)])]
        labelmap = self._labelmap(set_key, n_classes)
        duration = float(tpl.duration)
        fps = float(tpl.fps) if tpl.fps else _draw_fps(rng, self.params.get("fps") or self.fps_fallback)
        fps, duration_frame, feature_frame = _frames(duration, fps)
        inst = [(min(max(i.start, 0.0), duration), min(max(i.end, 0.0), duration), labelmap[i.label])
                for i in tpl.instances]
        return duration, fps, duration_frame, feature_frame, inst, tpl.video_id

    def _parametric(self, rng, class_set: ClassSet, primary: int, cfg: dict):
        p = self.params
        cap = int(cfg["max_instances"])
        if p["mode"] == "duration":
            duration = _draw_positive(rng, p["duration"])
            n = _draw_count(rng, p["instances"], duration, cap)
            covered = duration * _draw_coverage(rng, p["coverage"], n)
            lengths = covered * rng.dirichlet(np.full(n, p["length_alpha"]))
        else:
            n = _draw_count(rng, p["instances"], None, cap)
            lengths = np.array([_draw_positive(rng, p["length"]) for _ in range(n)])
            cover = _draw_coverage(rng, p["coverage"], n)
            total = float(lengths.sum())
            duration = total / max(cover, total / max(600.0, total / 0.99))
        min_len = min(0.5, duration / (4 * n))
        lengths = np.maximum(lengths, min_len)
        if lengths.sum() > 0.99 * duration:
            lengths *= 0.99 * duration / lengths.sum()
        gaps = (duration - lengths.sum()) * rng.dirichlet(np.full(n + 1, p["gap_alpha"]))
        fps = _draw_fps(rng, p.get("fps") or self.fps_fallback)
        duration = round(duration, 2)
        classes = [primary]
        q = float(p.get("other_class_prob", 0.0))
        same_group = np.flatnonzero(class_set.groups == class_set.groups[primary])
        for _ in range(n - 1):
            if rng.random() < q and len(class_set.names) > 1:
                choices = same_group[same_group != primary]
                if choices.size == 0:
                    choices = np.array([c for c in range(len(class_set.names)) if c != primary])
                classes.append(int(rng.choice(choices)))
            else:
                classes.append(primary)
        inst, t = [], 0.0
        for k in range(n):
            t += gaps[k]
            s, e = round(t, 2), round(min(t + lengths[k], duration), 2)
            t += lengths[k]
            inst.append((min(s, duration), min(max(e, s), duration), classes[k]))
        fps, duration_frame, feature_frame = _frames(duration, fps)
        return duration, fps, duration_frame, feature_frame, inst, ""


# ------------------------------------------------------------------------------ rendering


def render_features(world: World, plan: Plan, cfg: dict, rng) -> np.ndarray:
    """Features ``[plan.n_features, D]`` float32 at the extractor rate (one per 8 frames).

    The latent state is drawn on a grid of 4-frame sub-steps (two per feature, plus one beyond
    each end), energy-balanced, mapped through the world's fixed ReLU network
    (:meth:`World.activations`), and feature ``k`` is the mean of the four sub-steps of its
    16-frame window (sub-steps ``2k .. 2k+3``), as an extractor pools its activations."""
    dim = world.latent
    n = plan.n_features
    m = 2 * n + 2
    fps_eff = plan.duration_frame / plan.duration            # the rate resize() assumes
    step = FEATURE_STRIDE / fps_eff                           # seconds per feature (8 frames)
    dt = step / 2.0                                           # seconds per sub-step (4 frames)
    t = (np.arange(m) - 1 + 0.5) * dt                         # sub-step centres (first and last outside)
    half = dt / 2.0                                           # a sub-step sees 4 frames
    cset = world.sets[plan.class_set]

    # far background: scene segments separated by cuts
    n_cuts = int(rng.poisson(cfg["scene_cut_rate"] * plan.duration / 60.0))
    cuts = np.sort(rng.uniform(0.0, plan.duration, n_cuts))
    scene_ids = rng.integers(len(world.scenes[plan.domain]), size=n_cuts + 1)
    scenes = world.scenes[plan.domain][scene_ids] + cfg["scene_jitter"] * rng.standard_normal(dim)
    bg = scenes[np.searchsorted(cuts, t)]
    if plan.render and cfg["background_group"] > 0:
        bg = bg + cfg["background_group"] * world.group_vec[int(cset.groups[plan.render[0][2]])]

    # context bands and actions
    ctx_w = np.zeros(m)
    ctx_g = np.zeros(m, dtype=np.int64)
    act = np.zeros((m, dim))
    act_w = np.zeros(m)
    a_lo, a_hi = cfg["amplitude"]
    for s, e, c in plan.render:
        length = max(e - s, 1e-6)
        group = int(cset.groups[c])
        for side in (0, 1):
            band = length * rng.uniform(*cfg["context_frac"])
            if band <= 0:
                continue
            if side == 0:
                w = np.clip((t - (s - band)) / band, 0.0, 1.0) * (t < s)
            else:
                w = np.clip(1.0 - (t - e) / band, 0.0, 1.0) * (t > e)
            better = w > ctx_w
            ctx_w[better] = w[better]
            ctx_g[better] = group
        mask = _overlap(t, half, s, e)
        idx = np.flatnonzero(mask > 0)
        if idx.size == 0:
            continue
        tt = t[idx]
        on_len = min(cfg["onset_s"], cfg["phase_max_frac"] * length)
        off_len = min(cfg["offset_s"], cfg["phase_max_frac"] * length)
        w_on = np.clip(1.0 - (tt - s) / on_len, 0.0, 1.0) if on_len > 0 else np.zeros_like(tt)
        w_off = np.clip(1.0 - (e - tt) / off_len, 0.0, 1.0) if off_len > 0 else np.zeros_like(tt)
        w_on, w_off = w_on * cfg["phase_strength"], w_off * cfg["phase_strength"]
        w_mid = np.clip(1.0 - w_on - w_off, 0.0, 1.0)
        style = cfg["style_std"] * rng.standard_normal(dim)
        drift = cfg["drift_std"] * _ar1(rng, idx.size, dim, math.exp(-dt / cfg["drift_tau_s"]))
        amp = rng.uniform(a_lo, a_hi)
        content = amp * (w_on[:, None] * cset.onsets[c] + w_off[:, None] * cset.offsets[c]
                         + w_mid[:, None] * (cset.protos[c] + cfg["action_shared"] * world.action + style + drift))
        n_pauses = int(rng.poisson(cfg["pause_rate"] * length / 60.0))
        for _ in range(n_pauses):
            p_len = rng.uniform(*cfg["pause_len_s"])
            p_start = rng.uniform(s + on_len, max(s + on_len, e - off_len - p_len))
            mask[idx] *= 1.0 - (1.0 - cfg["pause_depth"]) * _overlap(tt, half, p_start, p_start + p_len)
        act[idx] += mask[idx, None] * content
        act_w[idx] += mask[idx]
    over = act_w > 1.0
    act[over] /= act_w[over, None]
    act_w = np.minimum(act_w, 1.0)

    cs = cfg["context_strength"] * ctx_w
    background = (1.0 - cs)[:, None] * bg + cs[:, None] * world.context_vec[ctx_g]
    x = (1.0 - act_w * (1.0 - cfg["scene_in_action"]))[:, None] * background + act

    # clutter bursts (outside the actions)
    n_clutter = int(rng.poisson(cfg["clutter_rate"] * plan.duration / 60.0))
    for _ in range(n_clutter):
        c_len = rng.uniform(*cfg["clutter_len_s"])
        c_start = rng.uniform(-c_len / 2, plan.duration - c_len / 2)
        proto = world.clutter_pool[int(rng.integers(len(world.clutter_pool)))]
        amp = cfg["clutter_strength"] * rng.uniform(a_lo, a_hi)
        if any(c_start < e and c_start + c_len > s for s, e, _ in plan.render):
            continue
        w = _overlap(t, half, c_start, c_start + c_len)
        idx = np.flatnonzero(w > 0)
        x[idx] += amp * w[idx, None] * proto

    # v4 energy balance: the visible content has the same energy everywhere (what is visible
    # changes at an action, not how much), then temporally smooth noise of fixed energy
    x = _unit(x)
    x += cfg["noise_std"] * _ar1(rng, m, dim, math.exp(-dt / cfg["noise_tau_s"]))

    # dataset / domain shift, the extractor's normalisation, its ReLU layers, its temporal pooling
    x = x + cfg["domain_shift"] * (x @ world.domain_map[plan.domain]) + cfg["domain_offset"] * world.domain_bias[plan.domain]
    g = world.activations(_unit(x), rng, cfg["white_std"])
    feats = (g[0:2 * n:2] + g[1:2 * n + 1:2] + g[2:2 * n + 2:2] + g[3:2 * n + 3:2]) * 0.25
    return feats.astype(np.float32)


# ------------------------------------------------------------------------------ planning


@dataclass(frozen=True)
class Role:
    name: str          # untrim | clip | mtrain | eval | ueval
    class_set: str     # untrimmed | moment
    domain: str
    subset: str
    count: int


def roles_for(setting: str, cfg: dict) -> list[Role]:
    spec = SETTINGS[setting]
    roles = [Role("untrim", "untrimmed", spec.untrimmed_domain, "training", int(cfg["n_untrimmed_train"]))]
    if spec.moments_from == "clips":
        roles.append(Role("clip", "moment", spec.moment_domain, "training", int(cfg["n_moments"])))
    roles.append(Role("mtrain", "moment", spec.moment_domain, "training", int(cfg["n_oracle_train"])))
    roles.append(Role("eval", "moment", spec.moment_domain, "validation", int(cfg["n_eval"])))
    # last, so that adding it left every earlier file byte-identical (each video has its own generator)
    roles.append(Role("ueval", "untrimmed", spec.untrimmed_domain, "validation", int(cfg["n_eval_untrimmed"])))
    return roles


def _video_rng(seed: int, setting: str, role: str, index: int):
    return np.random.default_rng([int(seed), _SETTING_IDS[setting], _ROLE_IDS[role], int(index)])


def make_plan(world: World, layouts: dict, setting: str, role: Role, index: int, cfg: dict, seed: int, rng) -> Plan:
    """The layout of video ``index`` of ``role`` (uses ``rng``, the video's own generator)."""
    cset = world.sets[role.class_set]
    n_classes = len(cset.names)
    order = np.random.default_rng([int(seed), _CLASS_KEY, _ROLE_IDS[role.name]]).permutation(n_classes)
    primary = int(order[index % n_classes])
    video_id = f"{role.domain}_{role.name}_{index:06d}"
    if role.name == "clip":
        duration = round(float(cfg["moment_len_s"]), 2)
        fps = _draw_fps(rng, layouts[role.domain].params.get("fps") or layouts[role.domain].fps_fallback)
        fps, duration_frame, feature_frame = _frames(duration, fps)
        j = cfg["moment_jitter_s"]
        a = float(np.clip(rng.normal(0.0, j), -0.3 * duration, 0.3 * duration)) if j > 0 else 0.0
        b = float(np.clip(rng.normal(0.0, j), -0.3 * duration, 0.3 * duration)) if j > 0 else 0.0
        return Plan(video_id, role.name, role.class_set, role.domain, role.subset, duration, fps,
                    duration_frame, feature_frame, [(0.0, duration, primary)],
                    render=[(a, duration + b, primary)])
    duration, fps, duration_frame, feature_frame, inst, template = layouts[role.domain].sample(
        rng, role.name, index, cset, role.class_set, primary, cfg)
    return Plan(video_id, role.name, role.class_set, role.domain, role.subset, duration, fps,
                duration_frame, feature_frame, inst, render=list(inst), template=template)


# ------------------------------------------------------------------------------ writing


def estimate_bytes(setting: str, cfg: dict) -> int:
    """Rough size of the dataset on disk (feature stores only)."""
    item = 2 if cfg["dtype"] == "float16" else 4
    lu, lm, dim = cfg["length_untrimmed"], cfg["length_moment"], cfg["dim"]
    spec = SETTINGS[setting]
    inst = 1.5 if spec.untrimmed_domain != "thumos" else 3.0        # kept foreground per video
    total = (cfg["n_untrimmed_train"] * (1 + inst) + cfg["n_oracle_train"] + cfg["n_eval"] + cfg["n_eval_untrimmed"]) * lu
    total += (cfg["n_moments"] if spec.moments_from == "clips" else 1.5 * cfg["n_oracle_train"]) * lm
    return int(total * dim * item * 1.05)


def _request(setting, scale, seed, cfg, layout_info) -> dict:
    return {"generator_version": GENERATOR_VERSION, "setting": setting, "scale": scale, "seed": int(seed),
            "config": cfg, "layouts": layout_info}


def _request_hash(request: dict) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


#: knobs whose default changed: key -> (generator version that changed it, previous default).
#: A folder of an older version made with the previous default (not set by ``--set``) counts as
#: the same request, so it is regenerated rather than refused.
_DEFAULT_CHANGES = {"action_shared": (4, 0.3)}


def _same_request_older_version(old: dict, request: dict) -> bool:
    """Whether ``old`` (a manifest) was made by another generator version from the same request.

    Knobs a newer version added are absent from an older manifest's config and are ignored;
    knobs whose default a newer version changed (``_DEFAULT_CHANGES``) match when the old
    folder used the old default and the request uses the new one; files a newer version added
    may be missing (so completeness is not required)."""
    if old.get("generator_version") == request["generator_version"]:
        return False
    if any(old.get(k) != request[k] for k in ("setting", "scale", "seed", "layouts")):
        return False
    old_cfg = old.get("config")
    if not isinstance(old_cfg, dict):
        return False
    version = old.get("generator_version")
    command = str(old.get("command", ""))

    def same(key, value) -> bool:
        if request["config"].get(key) == value:
            return True
        change = _DEFAULT_CHANGES.get(key)
        return (change is not None and isinstance(version, int) and version < change[0] and value == change[1]
                and request["config"].get(key) == KNOBS[key][0] and f"--set {key}=" not in command)

    return all(same(k, v) for k, v in old_cfg.items())


def canonical_command(setting, scale, seed, layout_args=(), overrides=()) -> str:
    """The command line that makes this dataset (without ``--out``, which does not change it)."""
    parts = ["python -m aher.data.synthesize", f"--setting {setting}", f"--scale {scale}", f"--seed {seed}"]
    parts += [f"--layout {a}" for a in layout_args]
    parts += [f"--set {o}" if isinstance(o, str) else f"--set {o[0]}={o[1]}" for o in overrides]
    return " ".join(parts)


@dataclass
class BuildResult:
    path: Path
    reused: bool
    seconds: float
    manifest: dict


def read_manifest(folder) -> dict | None:
    path = Path(folder) / FILES["manifest"]
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def build_dataset(setting: str, scale: str, out_root, *, seed: int = 0, overrides=(), layouts=(),
                  force: bool = False, progress: bool = True, log=print, check_disk: bool = True) -> BuildResult:
    """Write (or reuse) ``out_root/<setting>_<scale>``; see the module docstring.

    ``layouts``: ``"[domain=]path"`` strings (or ``(domain or None, path)`` pairs) of real
    annotation files; domains a setting does not use are ignored (logged).
    """
    t0 = time.perf_counter()
    if not isinstance(seed, int) or seed < 0:
        raise UserError(f"--seed must be a non-negative integer, got {seed!r}")
    cfg = resolve_config(setting, scale, overrides)
    spec = SETTINGS[setting]
    params = load_layout_params()
    used_domains = {spec.untrimmed_domain, spec.moment_domain}

    layout_args, templates, layout_info = [], {}, {}
    for item in layouts:
        if isinstance(item, str):
            head, sep, tail = item.partition("=")
            dom, p = (head, tail) if sep and head in DOMAINS else (None, item)
        else:
            dom, p = item
        domain, videos, md5 = load_layout(p, dom)
        layout_args.append(f"{domain}={p}" if dom else str(p))
        if domain in templates:
            raise UserError(f"{p}: a second layout file for domain {domain}")
        if domain not in used_domains:
            log(f"note: layout {p} ({domain}) is not used by setting {setting}")
            continue
        templates[domain] = videos
        layout_info[domain] = {"file": Path(p).name, "md5": md5, "videos": len(videos)}
    for domain in sorted(used_domains):
        layout_info.setdefault(domain, {"file": "parametric", "params_md5": _layout_params_md5()})

    request = _request(setting, scale, seed, cfg, layout_info)
    digest = _request_hash(request)
    out_root = Path(out_root)
    target = out_root / f"{setting}_{scale}"
    if target.exists():
        old = read_manifest(target)
        complete = old is not None and all((target / name).is_file() for name in FILES.values())
        if old is not None and old.get("request_sha256") == digest and complete:
            log(f"{target}: identical dataset already present (reused)")
            return BuildResult(target, True, time.perf_counter() - t0, old)
        stale = old is not None and _same_request_older_version(old, request)
        if stale:
            log(f"{target}: made by generator v{old.get('generator_version')}, regenerating with v{GENERATOR_VERSION}")
        elif old is None or old.get("format") != FORMAT_NAME:
            if not target.is_dir() or any(target.iterdir()):
                raise UserError(f"{target}: exists and is not a synthetic dataset (no {FILES['manifest']}); "
                                "remove it or choose another --out")
        elif not force:
            why = "was made from a different request" if complete else "is incomplete"
            raise UserError(f"{target}: exists and {why}; pass --force to replace it")

    out_root.mkdir(parents=True, exist_ok=True)
    need = estimate_bytes(setting, cfg)
    free = shutil.disk_usage(out_root).free
    if check_disk and need > free:
        raise UserError(f"{out_root}: dataset {setting}/{scale} needs about {need / 1e9:.1f} GB, only "
                        f"{free / 1e9:.1f} GB free (reduce counts with --set, e.g. --set n_moments=...)")
    tmp = out_root / f".{target.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        manifest = _write(tmp, setting, scale, seed, cfg, params, templates, layout_info, digest,
                          canonical_command(setting, scale, seed, layout_args, overrides), progress)
        if target.exists():
            old_tmp = out_root / f".{target.name}.old-{os.getpid()}"
            os.replace(target, old_tmp)
            os.replace(tmp, target)
            shutil.rmtree(old_tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildResult(target, False, time.perf_counter() - t0, manifest)


def _write(folder: Path, setting, scale, seed, cfg, params, templates, layout_info, digest,
           command, progress) -> dict:
    spec = SETTINGS[setting]
    world = World(setting, cfg, seed)
    layouts = {d: LayoutSource(d, params, seed, templates.get(d)) for d in DOMAINS}
    roles = roles_for(setting, cfg)
    lu, lm, dim, dtype = int(cfg["length_untrimmed"]), int(cfg["length_moment"]), int(cfg["dim"]), cfg["dtype"]
    common = {"generator": FORMAT_NAME, "generator_version": GENERATOR_VERSION, "setting": setting,
              "scale": scale, "seed": int(seed)}

    def writer(key, kind, length, domain):
        return FeatureStoreWriter(folder / FILES[key], dim, dtype,
                                  attrs={**common, "kind": kind, "length": length, "domain": domain})

    moment_domain = spec.moment_domain
    stores = {
        "untrimmed_train": writer("untrimmed_train", "untrimmed", lu, spec.untrimmed_domain),
        "foreground_train": writer("foreground_train", "foreground", lu, spec.untrimmed_domain),
        "moments_train": writer("moments_train", "moments", lm, moment_domain),
        "eval": writer("eval", "eval", lu, moment_domain),
        "oracle_train": writer("oracle_train", "oracle", lu, moment_domain),
        "eval_untrimmed": writer("eval_untrimmed", "eval", lu, spec.untrimmed_domain),
    }
    videos: list[Video] = []            # gt.json
    untrimmed_eval: list[Video] = []    # gt_untrimmed.json (kept apart: other label space, same subset name)
    instances = {"untrimmed_train": 0, "eval": 0, "oracle_train": 0, "eval_untrimmed": 0, "moments_source": 0}
    try:
        total = sum(r.count for r in roles)
        with tqdm(total=total, desc=f"synthesize {setting}/{scale}", unit="video",
                  disable=None if progress else True) as bar:
            for role in roles:
                names = world.sets[role.class_set].names
                for i in range(role.count):
                    rng = _video_rng(seed, setting, role.name, i)
                    plan = make_plan(world, layouts, setting, role, i, cfg, seed, rng)
                    feats = render_features(world, plan, cfg, rng)
                    video = plan.video(names)
                    (untrimmed_eval if role.name == "ueval" else videos).append(video)
                    meta = {"duration": plan.duration, "n_frames": plan.duration_frame, "fps": plan.fps,
                            "feature_frame": plan.feature_frame, "n_features": plan.n_features,
                            "label": video.instances[0].label if video.instances else "",
                            "subset": plan.subset, "n_instances": len(plan.instances),
                            "domain": plan.domain, "template": plan.template}
                    if role.name == "untrim":
                        stores["untrimmed_train"].add(video.video_id, _resized(feats, plan, lu), **meta)
                        _add_segments(stores["foreground_train"], feats, video, FOREGROUND_MIN_FEATURES, lu)
                        instances["untrimmed_train"] += len(plan.instances)
                    elif role.name == "clip":
                        _add_segments(stores["moments_train"], feats, video, MOMENT_MIN_FEATURES, lm)
                    elif role.name == "mtrain":
                        stores["oracle_train"].add(video.video_id, _resized(feats, plan, lu), **meta)
                        instances["oracle_train"] += len(plan.instances)
                        if spec.moments_from == "foreground":
                            _add_segments(stores["moments_train"], feats, video, MOMENT_MIN_FEATURES, lm)
                    elif role.name == "ueval":
                        stores["eval_untrimmed"].add(video.video_id, _resized(feats, plan, lu), **meta)
                        instances["eval_untrimmed"] += len(plan.instances)
                    else:
                        stores["eval"].add(video.video_id, _resized(feats, plan, lu), **meta)
                        instances["eval"] += len(plan.instances)
                    bar.update(1)
        counts = {key: len(w) for key, w in stores.items()}
        for w in stores.values():
            w.close()
    except BaseException:
        for w in stores.values():
            w.abort()
        raise

    write_activitynet_gt(videos, folder / FILES["gt"], taxonomy=world.taxonomy())
    write_activitynet_gt(untrimmed_eval, folder / FILES["gt_untrimmed"], taxonomy=world.taxonomy())
    write_class_list(world.sets["untrimmed"].names, folder / FILES["classes_untrimmed"])
    write_class_list(world.sets["moment"].names, folder / FILES["classes_moment"])
    manifest = {
        "format": FORMAT_NAME,
        "format_version": 1,
        "generator_version": GENERATOR_VERSION,
        "setting": setting,
        "scale": scale,
        "seed": int(seed),
        "description": spec.description,
        "command": command,
        "dim": dim,
        "dtype": dtype,
        "feature_stride": FEATURE_STRIDE,
        "lengths": {"untrimmed": lu, "moment": lm},
        "min_features": {"foreground": FOREGROUND_MIN_FEATURES, "moments": MOMENT_MIN_FEATURES},
        "domains": {"untrimmed": spec.untrimmed_domain, "moment": moment_domain,
                    "eval": moment_domain, "oracle": moment_domain, "eval_untrimmed": spec.untrimmed_domain},
        "moments_from": "k600-like clips" if spec.moments_from == "clips" else "foreground of oracle_train videos",
        "files": {k: v for k, v in FILES.items() if k != "manifest"},
        "gt_subsets": {"training": sum(v.subset == "training" for v in videos),
                       "validation": sum(v.subset == "validation" for v in videos)},
        "counts": {"classes_untrimmed": len(world.sets["untrimmed"].names),
                   "classes_moment": len(world.sets["moment"].names),
                   "groups": len(world.group_names),
                   **counts,
                   "instances": {k: v for k, v in instances.items() if k != "moments_source"}},
        "classes": {"untrimmed": world.sets["untrimmed"].names, "moment": world.sets["moment"].names},
        "class_groups": {"untrimmed": [int(g) for g in world.sets["untrimmed"].groups],
                         "moment": [int(g) for g in world.sets["moment"].groups]},
        "layouts": layout_info,
        "config": cfg,
        "request_sha256": digest,
    }
    text = yaml.safe_dump(manifest, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)
    (folder / FILES["manifest"]).write_text(text, encoding="utf-8")
    return manifest


def _resized(feats: np.ndarray, plan: Plan, length: int) -> np.ndarray:
    return resize(feats, plan.duration_frame, plan.duration, length)


def _add_segments(store: FeatureStoreWriter, feats: np.ndarray, video: Video, min_features: int, length: int):
    """Cut the kept instances of ``video`` with ``extract_segments``; ids ``"<video>#<k>"`` with
    ``k`` the instance's index in ``video.instances`` (as ``write_segment_store`` does)."""
    covered = video.covered_seconds
    for inst, seg in extract_segments(feats, video, video.duration_frame, min_features, length):
        k = next(j for j, other in enumerate(video.instances) if other is inst)
        seconds = min(inst.end, covered) - max(inst.start, 0.0)
        store.add(f"{video.video_id}#{k}", seg, label=inst.label, video=video.video_id,
                  start=float(inst.start), end=float(inst.end), duration=float(seconds))
