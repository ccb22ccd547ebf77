"""The sections of an AherNet config, typed and validated (``configs/defaults.yaml`` holds the values).

Contract: :class:`Config` is the resolved, validated config of one experiment; ``build_config``
makes it from the merged YAML mapping (one-line ``ConfigError`` for any bad key or value) and
``Config.to_dict()`` gives the mapping back for the run folder's ``config.yaml``.  Each section
is a frozen dataclass; the model-level ones (:class:`ModelConfig`, :class:`TransferConfig`,
:class:`LossConfig`, :class:`ContextConfig`) keep the released code's values as defaults so the
graph modules can be used alone (a test keeps those defaults equal to ``defaults.yaml``); the
experiment-level ones have no defaults: every value comes from the YAML chain.
Limits: no TensorFlow here, so a bad value is reported before anything heavy is imported.
"""

from dataclasses import dataclass

import aher.config.schema as schema
from aher.config.root import RootSection, build_root
from aher.config.schema import Section, setting
from aher.errors import ConfigError
from aher.methods import METHODS

SETTINGS = ("k600", "anet_split", "th14_anet")
ACTIVATION_NAMES = ("none", "relu", "leaky_relu", "elu")
NUM_FC_CHOICES = (1, 2, 3)
CONTEXT_MODES = ("splice", "concat")
#: train.precision: compute type of the convolutions (aher.model.layers.PRECISIONS)
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
OFFSET_TARGETS = ("encoded", "decoded")
OVERLAP_TARGETS = ("anchor", "refined")
CLS_CELLS = ("all", "foreground")
ADVERSARIAL_MASKS = ("joint", "separate")
INFERENCE_MODES = ("transfer", "no_transfer", "snippet")
SCORING_MODES = ("upstream", "paper")
CLIP_MODES = ("upstream", "both")
LABEL_SPACES = ("moment", "untrimmed")
#: generator updates of one iteration are the sub-steps S5b, S5c, ... S5h
MAX_G_STEPS = 7


def _power_of_two(value):
    if value < 8 or value & (value - 1):
        return "a power of two >= 8 (the anchor pyramid halves it down to 4 cells)"
    return None


def tiou_text(value):
    from evaluation.segments import parse_tiou_thresholds   # pandas start-up, only when validating

    try:
        parse_tiou_thresholds(value)
    except ValueError as exc:
        return f"START:STOP:STEP or a comma list of IoUs in (0, 1] ({exc})"
    return None


@dataclass(frozen=True)
class DataConfig(Section):
    source: str = setting(choices=("synthetic", "real"))
    root: str = setting()
    scale: str = setting(choices=("tiny", "small", "paper"))
    seed: int = setting(low=0)
    synthetic_overrides: tuple[str, ...] = setting()
    dataset_dir: str | None = setting()
    max_gt: int = setting(low=1)
    annotation_fraction: float = setting(low=0.0, high=1.0, low_open=True)


@dataclass(frozen=True)
class NumClasses(Section):
    """Class counts of the two label spaces (null: unknown until a dataset is read).

    The dataset's class lists define the counts a model is trained and tested with; a value set
    here states them where no dataset is read (``aher.model.summary``, the upstream-checkpoint
    converter) and must agree with the class lists wherever they are read (:meth:`check`).
    """

    untrimmed: int | None = setting(None, low=1)
    moment: int | None = setting(None, low=1)

    def check(self, counts, origin="config", sources=None):
        """``counts`` (``{label space: classes in the dataset's list}``) when every value set here
        equals them; otherwise a one-line :class:`~aher.errors.ConfigError` naming the key, the
        list (``sources``: label space -> its file) and both counts."""
        for space, found in counts.items():
            want = getattr(self, space)
            if want is not None and int(want) != int(found):
                where = (sources or {}).get(space, f"the dataset's {space} class list")
                raise ConfigError(f"{origin}: model.num_classes.{space} is {want} but {where} lists {found} classes; "
                                  f"set it to {found}, or to null to take the count from the list")
        return counts


@dataclass(frozen=True)
class TransferConfig(Section):
    """Variant of the weight transfer T (Table 1); defaults: released 2-fc ELU, identity init, bias MLP."""

    num_fc: int = setting(2, choices=NUM_FC_CHOICES)
    activation: str = setting("elu", choices=ACTIVATION_NAMES)
    identity_init: bool = setting(True)
    bias_mlp: bool = setting(True)


@dataclass(frozen=True)
class ModelConfig(Section):
    """Shape of the model; ``num_classes`` states the label spaces' sizes (:class:`NumClasses`)."""

    feature_dim: int = setting(2048, low=1)
    temporal_length: int = setting(512, check=_power_of_two)
    conv1_width: int = setting(2048, low=1)
    conv2_width: int = setting(1024, low=1)
    anchor_widths: tuple[int, ...] = setting((256, 256, 512, 512, 1024, 1024, 2048, 2048), low=1)
    prior_scaling: tuple[float, float] = setting((0.1, 0.1), low=0.0, low_open=True)
    num_classes: NumClasses = setting(NumClasses())
    transfer: TransferConfig = setting(TransferConfig())
    num_anchors: int = setting(3, low=1)

    def __post_init__(self):
        super().__post_init__()
        if len(self.anchor_widths) < self.num_layers:
            raise ValueError(f"anchor_widths has {len(self.anchor_widths)} entries; temporal_length "
                             f"{self.temporal_length} has {self.num_layers} anchor layers")

    @property
    def num_layers(self):
        """log2(T) - 1 anchor layers (``aher.model.anchors.num_anchor_layers``)."""
        return int(self.temporal_length).bit_length() - 2

    @property
    def moment_length(self):
        return self.temporal_length // 2


@dataclass(frozen=True)
class LossConfig(Section):
    """Weights and paper/upstream options of the losses (docs/losses.md); defaults: upstream."""

    match_threshold: float = setting(0.8, low=0.0, high=1.0)
    neg_match_threshold: float = setting(0.3, low=0.0, high=1.0)
    negative_ratio: float = setting(1.0, low=0.0)
    actionness_weight: float = setting(2.0, low=0.0)
    offset_weight: float = setting(1.0, low=0.0)
    cls_weight: float = setting(2.0, low=0.0)
    overlap_weight: float = setting(25.0, low=0.0)
    reg_weight: float = setting(2.0, low=0.0)
    offset_target: str = setting("encoded", choices=OFFSET_TARGETS)
    overlap_target: str = setting("anchor", choices=OVERLAP_TARGETS)
    cls_cells: str = setting("all", choices=CLS_CELLS)


@dataclass(frozen=True)
class TrainConfig(Section):
    method: str = setting(choices=tuple(METHODS))
    batch_size: int = setting(low=1)
    iterations: int = setting(low=1)
    learning_rate: float = setting(low=0.0, low_open=True)
    lr_decay_factor: float = setting(low=0.0, low_open=True)
    lr_boundaries: tuple[int, ...] = setting(low=0)
    lr_counter: str = setting(choices=("samples", "iterations"))
    s1_updates_backbone: bool = setting()
    init_checkpoint: str | None = setting()
    pretrain_iterations: int = setting(low=0)
    adam_beta1: float = setting(low=0.0, high=1.0, high_open=True)
    adam_beta2: float = setting(low=0.0, high=1.0, high_open=True)
    adam_epsilon: float = setting(low=0.0, low_open=True)
    snapshot_every: int = setting(low=1)
    keep_snapshots: int = setting(low=1)
    log_every: int = setting(low=1)
    seed: int = setting(low=0)
    deterministic: bool = setting()
    precision: str = setting("float32", choices=PRECISIONS)


@dataclass(frozen=True)
class ContextConfig(Section):
    """Context generators G1/G2 and the synthetic untrimmed video; defaults: upstream."""

    mode: str = setting("splice", choices=CONTEXT_MODES)
    fix_odd_gt: bool = setting(False)
    hidden_width: int = setting(1024, low=1)


@dataclass(frozen=True)
class AdversarialConfig(Section):
    weight: float = setting(low=0.0)
    learning_rate: float = setting(low=0.0, low_open=True)
    beta1: float = setting(low=0.0, high=1.0, high_open=True)
    g_steps: int = setting(low=1, high=MAX_G_STEPS)
    mask: str = setting(choices=ADVERSARIAL_MASKS)


@dataclass(frozen=True)
class InferenceConfig(Section):
    mode: str = setting(choices=("auto",) + INFERENCE_MODES)
    scoring: str = setting(choices=SCORING_MODES)
    nms_threshold: float = setting(low=0.0, high=1.0)
    keep_top_k: int = setting(low=1)
    select_top_k: int = setting(low=1)
    box_clip: str = setting(choices=CLIP_MODES)


@dataclass(frozen=True)
class EvalConfig(Section):
    tiou_thresholds: str = setting(check=tiou_text)
    snapshots: tuple[int, ...] = setting(low=0)
    label_space: str = setting(choices=("auto",) + LABEL_SPACES)


@dataclass(frozen=True)
class Config(RootSection):
    """One experiment's resolved config; ``source`` is the file it was loaded from."""

    setting: str = schema.setting(choices=SETTINGS)
    data: DataConfig = schema.setting()
    model: ModelConfig = schema.setting()
    loss: LossConfig = schema.setting()
    train: TrainConfig = schema.setting()
    context: ContextConfig = schema.setting()
    adversarial: AdversarialConfig = schema.setting()
    inference: InferenceConfig = schema.setting()
    eval: EvalConfig = schema.setting()
    source: str | None = schema.setting(None)

    @property
    def method(self):
        """The :class:`aher.methods.Method` of ``train.method``."""
        return METHODS[self.train.method]

    @property
    def eval_label_space(self):
        """``eval.label_space``, with ``auto`` resolved through the method."""
        space = self.eval.label_space
        return self.method.label_space if space == "auto" else space

    @property
    def inference_mode(self):
        """``inference.mode``, with ``auto`` resolved through the method."""
        mode = self.inference.mode
        return self.method.inference_mode if mode == "auto" else mode



def build_config(raw):
    """A validated :class:`Config` from the merged YAML mapping (``_source`` optional)."""
    return build_root(Config, raw)
