"""The sections of a SAL config, typed and validated (``configs/sal_defaults.yaml`` holds the values).

Contract: :func:`load_sal_config` loads a SAL config file (``base:`` chain, ``--set``
overrides: :func:`aher.config.load_yaml_config`) and returns a :class:`SALExperimentConfig`,
the frozen, validated config of one SAL run; every bad key or value is one
:class:`aher.errors.ConfigError` line naming the key, the value and what is allowed.
``SALExperimentConfig.to_dict()`` gives the mapping back for the run folder's ``config.yaml``.
Cross-key rules that need no data are checked here too (fractions of the split, the stream
split inside the feature dimension, the stores); rules that need the dataset (feature
dimension of a store, labels in the class list) stay in :mod:`aher.baselines.sal.data`.
Experiment-level sections have no defaults: every value comes from the YAML chain.
:class:`LossWeights` keeps the YAML's values as defaults so the losses can be used alone
(a test keeps them equal to ``sal_defaults.yaml``).
Limits: no TensorFlow and no data access here, so a bad value is reported before anything
heavy is imported.
"""

import math
from dataclasses import dataclass

from aher.config import schema
from aher.config.loader import load_yaml_config
from aher.config.root import RootSection, build_root
from aher.config.schema import Section, setting, to_dict
from aher.config.sections import SETTINGS, tiou_text

CLASS_LISTS = ("untrimmed", "moment")
VIDEO_STORES = ("untrimmed_train", "oracle_train", "eval")     # stores of whole untrimmed videos
STREAM_MODES = ("split", "duplicate", "single")
SELECT_BY = ("combined", "cas")
INITS = ("torch", "glorot")
SELECT_ON = ("val", "test")

_FRACTION = {"low": 0.0, "high": 1.0, "high_open": True}       # [0, 1)
_UNIT = {"low": 0.0, "high": 1.0}                              # [0, 1]
_POSITIVE = {"low": 0.0, "low_open": True}


def _finite(value):
    if isinstance(value, tuple):
        return None if all(math.isfinite(v) for v in value) else "a list of finite numbers"
    return None if value is None or math.isfinite(value) else "a finite number"


def _finite_non_empty(value):
    return "null or a non-empty list of finite numbers" if value == () else _finite(value)


def _null_or_one_of(choices):
    def check(value):
        return None if value is None or value in choices else "null or one of " + ", ".join(choices)

    return check


@dataclass(frozen=True)
class SALDataConfig(Section):
    source: str = setting(choices=("synthetic", "real"))
    root: str = setting()
    scale: str = setting(choices=("tiny", "small", "paper"))
    seed: int = setting(low=0)
    synthetic_overrides: tuple[str, ...] = setting()
    layouts: tuple[str, ...] = setting()
    dataset_dir: str | None = setting()
    classes: str = setting(choices=CLASS_LISTS)
    train_store: str = setting(choices=VIDEO_STORES)
    test_store: str | None = setting(check=_null_or_one_of(VIDEO_STORES))
    split_seed: int = setting(low=0)
    val_fraction: float = setting(**_FRACTION)
    test_fraction: float = setting(**_FRACTION)
    temporal_length: int = setting(low=1)

    def __post_init__(self):
        super().__post_init__()
        if self.source == "real" and not self.dataset_dir:
            raise ValueError("dataset_dir is null; allowed: a dataset folder when source is real")
        if self.test_store == self.train_store:
            raise ValueError(f"test_store {self.test_store!r} is train_store; allowed: another store or null "
                             "(null: the test videos are hashed out of train_store)")
        if self.val_fraction + self.held_out_test_fraction >= 1.0:
            raise ValueError(f"val_fraction {self.val_fraction:g} + test_fraction {self.test_fraction:g} is not "
                             "allowed; allowed: a sum < 1 (test_fraction counts only when test_store is null)")

    @property
    def held_out_test_fraction(self):
        """The fraction of ``train_store`` hashed into the test split (0 with a ``test_store``)."""
        return 0.0 if self.test_store else self.test_fraction


@dataclass(frozen=True)
class SALModelConfig(Section):
    feature_dim: int = setting(low=1)
    hidden_dim: int = setting(low=1)
    streams: str = setting(choices=STREAM_MODES)
    stream_split: int | None = setting(low=1)
    rgb_weight: float = setting(**_UNIT)
    encoder_kernel: int = setting(low=1)
    stream_kernel: int = setting(low=1)
    dropout: float = setting(**_FRACTION)
    init: str = setting(choices=INITS)
    msl: bool = setting()

    def __post_init__(self):
        super().__post_init__()
        if self.streams == "split" and not 0 < self.split_at < self.feature_dim:
            raise ValueError(f"stream_split {self.split_at} is not allowed with streams: split; allowed: "
                             f"1 ... {self.feature_dim - 1} (RGB channels [0, s), flow [s, feature_dim))")

    @property
    def split_at(self):
        """First flow channel of ``streams: split`` (``stream_split``, null: half of ``feature_dim``)."""
        return self.feature_dim // 2 if self.stream_split is None else self.stream_split


@dataclass(frozen=True)
class MILConfig(Section):
    topk_divisor: int = setting(low=1)
    select_by: str = setting(choices=SELECT_BY)
    combined_weights: tuple[float, float, float] | None = setting(low=0.0)


@dataclass(frozen=True)
class AALConfig(Section):
    enabled: bool = setting()
    actionness_topk_extra: int = setting(low=0)
    actionness_topk_fraction: float | None = setting(low=0.0, high=1.0, low_open=True)
    confidence_gate: bool = setting()
    gate_divisor: int = setting(low=1)
    mask: bool = setting()
    mask_momentum: float = setting(**_UNIT)
    mask_variance_factor: float = setting(**_POSITIVE)
    mixup: bool = setting()


@dataclass(frozen=True)
class LossWeights(Section):
    """Weights of sal_paper_vs_code §6.7 and the GCE exponent q (defaults: ``sal_defaults.yaml``, THUMOS)."""

    mil: float = setting(1.0, low=0.0)
    consistency: float = setting(5.0, low=0.0)
    background: float = setting(10.0, low=0.0)
    gce: float = setting(1.0, low=0.0)
    mixup: float = setting(1.0, low=0.0)
    second_order: float = setting(3.0, low=0.0)
    gce_q: float = setting(0.5, low=0.0, high=1.0, low_open=True)


@dataclass(frozen=True)
class SALTrainConfig(Section):
    batch_size: int = setting(low=1)
    iterations: int = setting(low=1)
    learning_rate: float = setting(**_POSITIVE)
    weight_decay: float = setting(low=0.0)
    adam_beta1: float = setting(**_FRACTION)
    adam_beta2: float = setting(**_FRACTION)
    adam_epsilon: float = setting(**_POSITIVE)
    seed: int = setting(low=0)
    select_on: str = setting(choices=SELECT_ON)
    eval_every: int = setting(low=1)
    eval_after_epochs: int = setting(low=0)
    snapshot_every: int = setting(low=1)
    keep_snapshots: int = setting(low=1)
    log_every: int = setting(low=1)


@dataclass(frozen=True)
class SALInferenceConfig(Section):
    beta: float = setting(**_UNIT)


@dataclass(frozen=True)
class SALPostprocessSection(Section):
    """The ``postprocess`` keys of :class:`aher.model.snippet_grouping.SALPostprocessConfig`; null = its default."""

    class_threshold: float | None = setting(**_UNIT, check=_finite)
    act_thresholds: tuple[float, ...] | None = setting(check=_finite_non_empty)
    upsample: int | None = setting(low=1)
    oic_lambda: float | None = setting(low=0.0, check=_finite)
    oic_gamma: float | None = setting(check=_finite)
    nms_threshold: float | None = setting(**_UNIT, check=_finite)
    nms_alpha: float | None = setting(**_POSITIVE, check=_finite)
    one_pass_decay: bool | None = setting()
    nms_iou_plus_one: bool | None = setting()
    keep_top_k: int | None = setting(low=1)
    index0_quirk: bool | None = setting()

    def resolved(self):
        """The :class:`aher.model.snippet_grouping.SALPostprocessConfig` of this section (null keys: its defaults)."""
        from aher.model.snippet_grouping import SALPostprocessConfig   # imports TensorFlow (box coder)

        return SALPostprocessConfig(**{k: v for k, v in to_dict(self).items() if v is not None})


@dataclass(frozen=True)
class SALEvalConfig(Section):
    tiou_thresholds: str = setting(check=tiou_text)


@dataclass(frozen=True)
class SALExperimentConfig(RootSection):
    """One SAL run's resolved config; ``source`` is the file it was loaded from."""

    setting: str = schema.setting(choices=SETTINGS)
    data: SALDataConfig = schema.setting()
    model: SALModelConfig = schema.setting()
    mil: MILConfig = schema.setting()
    aal: AALConfig = schema.setting()
    loss: LossWeights = schema.setting()
    train: SALTrainConfig = schema.setting()
    inference: SALInferenceConfig = schema.setting()
    postprocess: SALPostprocessSection = schema.setting()
    eval: SALEvalConfig = schema.setting()
    source: str | None = schema.setting(None)



def build_sal_config(raw):
    """A validated :class:`SALExperimentConfig` from the merged YAML mapping (``_source`` optional)."""
    return build_root(SALExperimentConfig, raw)


def load_sal_config(path, overrides=()):
    """Load a SAL config ``path`` (with its ``base`` chain), apply ``overrides`` and validate."""
    return build_sal_config(load_yaml_config(path, overrides))
