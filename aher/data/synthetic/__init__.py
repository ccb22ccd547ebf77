"""Synthetic AherNet benchmark: a generative model of clip features and the dataset writer.

Nobody can ship the real P3D features of ActivityNet / Kinetics-600 / THUMOS14, so this package
makes the project's default data: untrimmed videos, foreground segments, moments and evaluation
videos laid out exactly like the real benchmark (``docs/data_layer_contract.md``), with features
built from a latent state that is a sum of interpretable parts (so that the paper's mechanisms
can be tested), passed through a fixed random ReLU "extractor" (so that the features have the
statistics of real clip features).

Contract
--------
``build_dataset(setting, scale, out_root, *, seed=0, overrides=(), layouts=(), force=False,
progress=True, log=print, check_disk=True) -> BuildResult(path, reused, seconds, manifest)``
    writes ``out_root/<setting>_<scale>/`` atomically, reuses an identical one, regenerates one
    of an older generator version, refuses a different one unless ``force`` (:mod:`.writer`).
    Same request => identical bytes of every file.
``resolve_config(setting, scale, overrides)``  scale preset + ``knob=value`` overrides (:mod:`.knobs`).
``load_layout(path, domain=None)``             a real annotation file as temporal templates (:mod:`.layout`).
``World`` / ``LayoutSource`` / ``render_features``  the generative model (:mod:`.world`,
    :mod:`.layout`, :mod:`.render`; videos and their plans: :mod:`.plan`).
``python -m aher.data.synthesize``  the command line (:mod:`.cli`): writes datasets and the
    sanity report (:mod:`.report`: :mod:`.diagnostics` and :mod:`.realism`, on the linear
    models of :mod:`.probes` and the store samples of :mod:`.samples`).

Modules: ``settings`` (settings, domains, generator version), ``streams`` (the seeded random
streams), ``knobs`` (knobs, scales, resolved config), ``world`` (taxonomy, classes, scenes,
domains, extractor), ``layout`` (temporal layouts: fitted or real), ``plan`` (roles and the plan
of each video), ``render`` (features of one video), ``manifest`` (``dataset.yaml`` and the
request identity), ``writer`` (the folder).

Settings (paper_vs_code §1.5, paper_vs_code §11.2)
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
``eval_untrimmed.h5`` + ``gt_untrimmed.json`` hold held-out videos of the *untrimmed-set*
classes (their domain, subset ``validation``) for the paper's text comparison of AherNet and
AherNet* on those classes; they are generated last, with their own per-video generators, so
every other file is the same with or without them (tested).

Feature statistics
------------------
Real clip features (P3D / I3D pool5) are averages of post-ReLU activations: non-negative, with
many (near-)zero entries, and an action changes *which* units respond rather than *how much*
the network responds.  Two properties decide results: features must be non-negative (a context
generator with a final ReLU, as upstream's, must be able to represent background), and the
energy of a step must not give actionness away (with a linear embedding plus Gaussian noise,
the per-step L2 norm alone separates action from background with ROC AUC 0.93-0.95, and an
all-zero "empty context" is a near-perfect stand-in for background).  Hence: the latent content
is normalised per sub-step before a fixed-energy noise is added (mixing weights such as
``amplitude``, ``scene_in_action``, ``context_strength``, ``clutter_strength``, ``pause_depth``
say *what* is visible, not how much), the state passes a fixed random two-layer ReLU network
with a per-frame normalisation layer and sensor noise, and a feature pools the activations of
its window's four sub-steps (as an extractor does; averaging the latent would not).

Measured at ``small`` (``reports/synthetic_*_small.md``, section "Realism"): no negative entry,
42-48 % exact zeros, norm and mean-activation AUCs 0.47-0.55 (limit: max(AUC, 1 - AUC) <=
0.70), linear actionness probe 0.77-0.87, effective rank ~100 of 128; linear moment-class
probes 33 % (k600), 47 % (anet_split), 50 % (th14_anet), chance 3-7 %: class identity is read
through two ReLU layers.  At ``tiny`` scale (D=32, a handful of videos) the realism AUCs are
noisy (up to ~0.75); the test checks them at D=128 with 40 videos per role.

Why the defaults (calibrated on the report's numbers at ``small``, never on a method's results)
-----------------------------------------------------------------------------------------------
A benchmark whose moment and foreground probes reach 98-100 % and whose start/end detectors
reach AUC 0.90-0.98 is trivial; one where actionness learned on some classes transfers to new
groups at chance is unrealistic (real class-agnostic proposals transfer: AherNet^- vs AherNet*,
Table 2).  Each default has a realistic reason: a low-rank latent space (difficulty independent
of D, like real features); ``action_shared`` 0.6 (a class-agnostic "something happens"
component: with the energy cue gone, actions must stay recognisable from their content; at 0.3
the linear actionness probe falls to 0.64-0.74 held-out AUC on ``k600``); ``group_weight`` 0.8
and ``style_std`` 1.2 (fine-grained, confusable classes with large intra-class variation);
``phase_strength`` 0.5 (boundaries visible but subtle); clutter 3/min at 0.8 (unlabelled
action-like background); context and far background correlated with the group (YouTube scenes
hint at the activity).  ``python -m aher.data.synthesize --list-knobs`` lists every knob.

Scales: ``tiny`` (tests: D=32, 4/6 classes, tens of videos; lengths stay 512/256 -- pass
``--set length_untrimmed=128 --set length_moment=64`` for faster model tests, as
``configs/synthetic_tiny.yaml`` does), ``small`` (CPU demo: D=128, 10-40 classes per set, a few
hundred videos, 0.5-2 min to write on 2 cores), ``paper`` (D=2048, the real class and video
counts).

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
  clip on 2 CPU cores (rendering only, measured on a loaded machine), but it is large: ``k600``
  ~510 GB (the moments), the others ~50 GB; :func:`estimate_bytes` is checked against the free
  disk before anything is written.
"""

from aher.data.synthetic.knobs import KNOBS, SCALE_PRESETS, SCALES, resolve_config
from aher.data.synthetic.layout import LAYOUT_PARAMS, LayoutSource, load_layout, load_layout_params
from aher.data.synthetic.manifest import FILES, canonical_command, read_manifest
from aher.data.synthetic.plan import Plan, Role, make_plan, roles_for
from aher.data.synthetic.render import render_features
from aher.data.synthetic.settings import DOMAINS, FORMAT_NAME, GENERATOR_VERSION, SETTINGS, SettingSpec
from aher.data.synthetic.streams import video_rng
from aher.data.synthetic.world import ClassSet, World
from aher.data.synthetic.writer import (FOREGROUND_MIN_FEATURES, MOMENT_MIN_FEATURES, BuildResult, build_dataset,
                                        estimate_bytes, write_folder_atomically)

__all__ = ["BuildResult", "ClassSet", "DOMAINS", "FILES", "FOREGROUND_MIN_FEATURES", "FORMAT_NAME",
           "GENERATOR_VERSION", "KNOBS", "LAYOUT_PARAMS", "LayoutSource", "MOMENT_MIN_FEATURES", "Plan", "Role",
           "SCALES", "SCALE_PRESETS", "SETTINGS", "SettingSpec", "World", "build_dataset", "canonical_command",
           "estimate_bytes", "load_layout", "load_layout_params", "make_plan", "read_manifest", "render_features",
           "resolve_config", "roles_for", "video_rng", "write_folder_atomically"]
