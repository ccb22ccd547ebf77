"""The training methods: one registry that every module reads (trainer, sub-steps, test, labels).

Contract: ``METHODS[name]`` is a :class:`Method` for every value ``train.method`` may take;
``method(name)`` looks one up with a one-line error naming the allowed values.  A method says

* which trainer builds it (``"algorithm1"``: Algorithm 1 and the paper's baselines built from
  its sub-steps; ``"supervised"``: fully-supervised localization on annotated untrimmed videos),
* which sub-steps one iteration runs, in order (``S5g`` stands for the ``adversarial.g_steps``
  generator updates S5b, S5c, ...),
* the label space and the inference mode it is tested with when the config says ``auto``,
* the losses shown in the progress bar, the paper's name for it and its run-folder slug,
* for supervised methods, the stores it trains on and the variable group of its
  classification step.

Limits: plain data, no TensorFlow; the graphs are built by ``aher.train``.
"""

from dataclasses import dataclass

from aher.errors import ConfigError


@dataclass(frozen=True)
class SupervisedData:
    """What a supervised method trains on: the annotated untrimmed videos, the segments of its
    classification step, and the variable group that step updates (``S1``: backbone + W~_regv,
    ``S2``: W_regv only)."""

    untrimmed_store: str
    segment_store: str
    classification_group: str


@dataclass(frozen=True)
class Method:
    name: str
    label: str                  # the paper's name of the row
    slug: str                   # run-folder name part
    trainer: str                # "algorithm1" | "supervised"
    steps: tuple                # sub-steps of one iteration, in order
    label_space: str            # tested on this label space under eval.label_space: auto
    inference_mode: str         # and with this mode under inference.mode: auto
    progress: tuple             # fetches "step/key" shown in the progress bar
    supervised: SupervisedData | None = None

    @property
    def uses_untrimmed(self):
        """Whether the method reads the untrimmed set's training streams."""
        return self.trainer == "supervised" or any(s in self.steps for s in ("S2", "S3", "S5a", "SL2"))

    @property
    def has_context(self):
        """Whether the method localizes on synthetic untrimmed videos built from moments."""
        return any(s in self.steps for s in ("S4", "S5a", "S6", "SM"))

    @property
    def has_mechanism_diagnostics(self):
        """Whether generated context and real background are both built (diagnostics apply)."""
        return "S3" in self.steps and any(s in self.steps for s in ("S5a", "SL2"))


_LOC = ("S1/accuracy", "S3/total")
METHODS = {m.name: m for m in (
    Method("algorithm1", "AherNet", "ahernet", "algorithm1",
           ("S1", "S2", "S3", "S4", "S5a", "S5g", "S6"), "moment", "transfer",
           _LOC + ("S6/total", "S5a/d_loss")),
    Method("no_adversary", "AherNet_A-", "ahernet-a-minus", "algorithm1",
           ("S1", "S2", "S3", "S4", "SL2", "S6"), "moment", "transfer",
           _LOC + ("S6/total", "SL2/l2")),
    Method("minus", "AherNet^-", "ahernet-minus", "algorithm1",
           ("S1", "S2", "S3"), "moment", "no_transfer", _LOC),
    Method("moments_only", "AherNet_M", "ahernet-m", "algorithm1",
           ("S1", "SM"), "moment", "transfer", ("S1/accuracy", "SM/total")),
    Method("zero", "AherNet^0", "ahernet0", "algorithm1",
           ("S1",), "moment", "snippet", ("S1/loss", "S1/accuracy")),
    Method("oracle", "AherNet*", "ahernet-oracle", "supervised",
           ("S2", "S3"), "moment", "transfer", ("S2/loss", "S3/total", "S3/accuracy"),
           SupervisedData("oracle_train", "moments_train", "S1")),
    Method("oracle_untrimmed", "AherNet* of the untrimmed-set classes", "ahernet-oracle-untrimmed", "supervised",
           ("S2", "S3"), "untrimmed", "transfer", ("S2/loss", "S3/total", "S3/accuracy"),
           SupervisedData("untrimmed_train", "foreground_train", "S1")),
    Method("pretrain", "model M", "pretrain", "supervised",
           ("S2", "S3"), "untrimmed", "transfer", ("S2/loss", "S3/total", "S3/accuracy"),
           SupervisedData("untrimmed_train", "foreground_train", "S2")),
)}
TRAINERS = ("algorithm1", "supervised")


def method(name):
    """The :class:`Method` called ``name``; a one-line :class:`ConfigError` otherwise."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"train.method: {name!r} is not a training method; allowed: "
                          f"{', '.join(METHODS)}") from None


def names(trainer=None):
    """Method names, optionally only those of one trainer, in registry order."""
    return tuple(n for n, m in METHODS.items() if trainer is None or m.trainer == trainer)
