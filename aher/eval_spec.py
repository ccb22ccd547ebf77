"""What a run is tested on and how: the label space and the inference mode of a config.

Contract: ``eval_label_space(config)`` -> ``"moment"`` | ``"untrimmed"`` (``eval.label_space``;
``auto`` picks ``untrimmed`` for the methods that learn no moment classifier) and
``inference_mode(config)`` -> ``"transfer"`` | ``"no_transfer"`` | ``"snippet"``
(``inference.mode``; ``auto`` picks each baseline's own).  ``EVAL_FILES`` names the dataset
files (``aher.datasets.FILES`` keys) of each label space's evaluation videos.
Limits: plain config lookups, no TensorFlow (``aher.reproduce`` plans with them).
"""

from aher.cli import UserError

INFERENCE_MODES = ("transfer", "no_transfer", "snippet")
#: inference.mode "auto" -> the mode each training method is tested with (paper §4.3 baselines)
AUTO_MODE = {"minus": "no_transfer", "zero": "snippet"}
LABEL_SPACES = ("moment", "untrimmed")
#: eval.label_space "auto" -> the label space of methods that learn no moment classifier
AUTO_LABEL_SPACE = {"pretrain": "untrimmed", "oracle_untrimmed": "untrimmed"}
#: label space -> (feature store, GT file) of its evaluation videos (aher.datasets.FILES keys)
EVAL_FILES = {"moment": ("eval", "gt"), "untrimmed": ("eval_untrimmed", "gt_untrimmed")}


def eval_label_space(config):
    space = config["eval"].get("label_space", "auto")
    if space == "auto":
        space = AUTO_LABEL_SPACE.get(config["train"]["method"], "moment")
    if space not in LABEL_SPACES:
        raise UserError(f"eval.label_space must be auto or one of {', '.join(LABEL_SPACES)}, not {space!r}")
    return space


def inference_mode(config):
    mode = config["inference"].get("mode", "auto")
    if mode == "auto":
        mode = AUTO_MODE.get(config["train"]["method"], "transfer")
    if mode not in INFERENCE_MODES:
        raise UserError(f"inference.mode must be auto or one of {', '.join(INFERENCE_MODES)}, not {mode!r}")
    return mode
