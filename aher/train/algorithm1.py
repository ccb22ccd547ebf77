"""Algorithm 1 of the paper: alternating training with weight transfer and adversarial context.

Contract: ``build_algorithm1_graph(config, streams, num_classes)`` builds, in the default graph,
the training graph of an Algorithm-1 method of ``aher.methods`` (AherNet, or one of the paper's
baselines built from its sub-steps) as the released code does (paper_vs_code §7).  Each
iteration loads one batch of each stream into the batch cache -- moments of the moment set (with
context ratio/position ids), untrimmed videos and foreground segments of the untrimmed set --
and runs the method's sub-steps in order, each its own ``session.run``:

  S1   L_reg on moments (Kcls)                        -> backbone + W~_regv
  S2   L_reg on foreground (Afg)                      -> W_regv
  S3   paper_vs_code §5.2 losses on untrimmed videos (Aun, T(W))     -> backbone + box heads + theta   (2 Adams)
  S4   paper_vs_code §5.2 losses on synthetic videos (Ksyn, T(W~))   -> G1, G2                         (2 Adams)
  S5a  L_adD on background anchors of Aun vs Ksyn      -> D                  (Adam, beta1 0.5, constant LR)
  S5g  L_adG (non-saturating), ``adversarial.g_steps`` times as S5b, S5c, ... -> G1, G2  (one Adam)
  S6   paper_vs_code §5.2 losses on synthetic videos                 -> backbone + box heads           (2 Adams)
  SM   paper_vs_code §5.2 losses on moments with zero context (AherNet_M) -> backbone + box heads + theta
  SL2  L2 between generated and real context (AherNet_A-)   -> G1, G2

The forward branches (paper_vs_code §7.1) a method needs are built first, in a fixed order
(:data:`BRANCH_ORDER`), the adversary on first use; each sub-step is then one small builder of
:data:`STEP_BUILDERS` that reads the branches, so the order of a method's sub-steps only sets the
order in which they run.  Variable lists come from ``aher.model.variable_groups`` only.  The
synthetic untrimmed videos are built in the graph from the cached moments
(``aher.model.context``), so their GT follows the ratio/position ids.
Methods whose graph holds both generated context and real background (AherNet, AherNet_A-) get
the mechanism diagnostics hook (``aher.train.mechanism``), built after every training op.
``build`` reads the streams through initializable iterators started at the loop's first
iteration (``LoopGraph.start_streams``): each stream yields one batch per iteration, so iteration
``it`` always trains on batch ``it`` of every stream, resumed or not.
Limits: the graph only; running it is ``aher.train.driver`` and ``aher.train.loop``.
"""

import tensorflow as tf

from aher.data.pipeline import segment_dataset, untrimmed_dataset
from aher.methods import METHODS
from aher.model import losses as losses_lib
from aher.model import variable_groups
from aher.model.context import context_l2_loss, generators, real_instances, splice, synthesize_untrimmed
from aher.model.discriminator import discriminator_logits
from aher.model.graph import AherNet
from aher.model.layers import compute_precision
from aher.train.batch_cache import BatchCache, stream_batches
from aher.train.checkpoints import make_saver
from aher.train.loop import LoopGraph, SubStep, make_iteration_variable, make_start_iteration
from aher.train.mechanism import build_mechanism_diagnostics
from aher.train.optim import adam, adversarial_adam, two_adams
from aher.train.run_dir import TrainingError
from aher.train.steps import LOC_FETCHES, anchor_targets, localization_loss_set

#: the forward branches, in the order they are built, and the sub-steps that need each
BRANCH_ORDER = ("kcls", "ksyn", "afg", "aun")
BRANCHES_OF_STEP = {"S1": ("kcls",), "S2": ("afg",), "S3": ("afg", "aun"), "S4": ("kcls", "ksyn"),
                    "S6": ("kcls", "ksyn"), "SM": ("kcls", "ksyn"), "S5a": ("kcls", "ksyn", "afg", "aun"),
                    "S5g": ("kcls", "ksyn", "afg", "aun"), "SL2": ("afg", "aun")}


class Branches:
    """The forward branches of one method's graph on the cached batches (built on request)."""

    def __init__(self, net, cache, config, method):
        self.net, self.config, self.method = net, config, method
        self.tensors = cache.tensors
        self.parts = {}
        wanted = {b for s in method.steps for b in BRANCHES_OF_STEP[s]}
        for name in BRANCH_ORDER:
            if name in wanted:
                self.parts[name] = getattr(self, f"_build_{name}")()

    def __getitem__(self, name):
        if name not in self.parts:
            self.parts[name] = getattr(self, f"_build_{name}")()
        return self.parts[name]

    def _classification_branch(self, scope, stream, label_space):
        batch = self.tensors[stream]
        with tf.compat.v1.name_scope(scope):
            out = self.net.classify(batch["features"], label_space)
            out["loss"], out["accuracy"] = losses_lib.classification_loss(out["logits"], batch["label"],
                                                                          weight=self.config.loss.reg_weight)
        return out

    def _build_kcls(self):
        return self._classification_branch("Kcls", "moments", "moment")

    def _synthetic_video(self, mom):
        model, ctx = self.net.config, self.config.context
        if "SM" in self.method.steps:      # AherNet_M: the moment alone, zero context around it
            zeros = tf.zeros([mom["features"].shape[0], model.moment_length // 2, model.feature_dim])
            return splice(mom["features"], zeros, zeros, mom["ratio_id"], mom["pos_id"], model.temporal_length,
                          mode=ctx.mode, fix_odd_gt=ctx.fix_odd_gt)
        return synthesize_untrimmed(mom["features"], mom["ratio_id"], mom["pos_id"], ctx, model.temporal_length)

    def _build_ksyn(self):
        mom = self.tensors["moments"]
        with tf.compat.v1.name_scope("Ksyn"):
            video, gt = self._synthetic_video(mom)
            out = self.net.localize(video, "moment", weights=self["kcls"]["weights"])
            out["targets"] = anchor_targets(self.net, gt)
            out["losses"] = localization_loss_set(self.net, out, mom["label"], out["targets"], self.config.loss)
        out.update(video=video, gt=gt)
        return out

    def _build_afg(self):
        return self._classification_branch("Afg", "foreground", "untrimmed")

    def _build_aun(self):
        unt = self.tensors["untrimmed"]
        with tf.compat.v1.name_scope("Aun"):
            out = self.net.localize(unt["features"], "untrimmed", weights=self["afg"]["weights"])
            out["targets"] = anchor_targets(self.net, unt["gt"])
            out["losses"] = localization_loss_set(self.net, out, unt["label"], out["targets"], self.config.loss)
        return out

    def _build_adversary(self):
        aun, ksyn = self["aun"], self["ksyn"]
        with tf.compat.v1.name_scope("adversary"):
            d_real = discriminator_logits(aun["end_points"])
            d_fake = discriminator_logits(ksyn["end_points"])
            losses = losses_lib.adversarial_losses(d_real, d_fake, aun["targets"]["gscores"], ksyn["targets"]["gscores"],
                                                   weight=self.config.adversarial.weight,
                                                   mask=self.config.adversarial.mask)
        return {"d_real": d_real, "d_fake": d_fake, "losses": losses}


# ------------------------------------------------------------------------------ sub-step builders
def _var_list(step, config):
    if step == "S1" and not config.train.s1_updates_backbone:
        variables = variable_groups.collect("cls_moment")
    else:
        variables = variable_groups.step_var_list(step)
    if not variables:
        raise TrainingError(f"sub-step {step} has no variable to train")
    return variables


def _classification_step(step, branch, b, lr):
    loss, accuracy = b[branch]["loss"], b[branch]["accuracy"]
    op = adam(lr, b.config.train, f"{step}_adam").minimize(loss, var_list=_var_list(step, b.config))
    return [SubStep(step, op, {"loss": loss, "accuracy": accuracy})]


def _localization_step(step, branch, b, lr):
    losses = b[branch]["losses"]
    op = two_adams(losses, _var_list(step, b.config), lr, b.config.train, step)
    return [SubStep(step, op, {k: losses[k] for k in LOC_FETCHES})]


def _discriminator_step(step, b, lr):
    losses = b["adversary"]["losses"]
    op = adversarial_adam(b.config.adversarial, b.config.train, "S5a_adam").minimize(
        losses["discriminator"], var_list=_var_list("S5a", b.config))
    fetches = {"d_loss": losses["discriminator"], "d_real": losses["discriminator_real"],
               "d_fake": losses["discriminator_fake"], "background": losses["num_background"]}
    return [SubStep("S5a", op, fetches, feed_lr=False)]


def _generator_steps(step, b, lr):
    """One L_adG update op, run ``adversarial.g_steps`` times as sub-steps S5b, S5c, ..."""
    loss = b["adversary"]["losses"]["generator"]
    op = adversarial_adam(b.config.adversarial, b.config.train, "S5bc_adam").minimize(
        loss, var_list=_var_list("S5bc", b.config))
    names = [f"S5{chr(ord('b') + k)}" for k in range(b.config.adversarial.g_steps)]
    return [SubStep(name, op, {"g_loss": loss}, feed_lr=False) for name in names]


def _context_l2_step(step, b, lr):
    unt, model = b.tensors["untrimmed"], b.net.config
    with tf.compat.v1.name_scope("context_l2"):
        instances = real_instances(unt["features"], unt["gt"], model.moment_length)
        start_ctx, end_ctx = generators(instances, b.config.context)
        l2 = context_l2_loss(unt["features"], unt["gt"], start_ctx, end_ctx)
    op = adversarial_adam(b.config.adversarial, b.config.train, "SL2_adam").minimize(
        l2, var_list=_var_list("SL2", b.config))
    return [SubStep("SL2", op, {"l2": l2}, feed_lr=False)]


STEP_BUILDERS = {
    "S1": lambda step, b, lr: _classification_step(step, "kcls", b, lr),
    "S2": lambda step, b, lr: _classification_step(step, "afg", b, lr),
    "S3": lambda step, b, lr: _localization_step(step, "aun", b, lr),
    "S4": lambda step, b, lr: _localization_step(step, "ksyn", b, lr),
    "S6": lambda step, b, lr: _localization_step(step, "ksyn", b, lr),
    "SM": lambda step, b, lr: _localization_step(step, "ksyn", b, lr),
    "S5a": _discriminator_step,
    "S5g": _generator_steps,
    "SL2": _context_l2_step,
}


# ------------------------------------------------------------------------------ the graph
def _diagnostics(b, net, config, method):
    unt, mom, ksyn, aun = b.tensors["untrimmed"], b.tensors["moments"], b["ksyn"], b["aun"]
    adversary = {}
    if "adversary" in b.parts:
        adv = b.parts["adversary"]
        adversary = {"d_real": adv["d_real"], "d_fake": adv["d_fake"],
                     "gscores_real": aun["targets"]["gscores"], "gscores_fake": ksyn["targets"]["gscores"]}
    parts = {"untrimmed_features": unt["features"], "untrimmed_gt": unt["gt"], "video": ksyn["video"],
             "moments": mom["features"], "ratio_id": mom["ratio_id"], "pos_id": mom["pos_id"],
             "real_end_points": aun["end_points"], "synthetic_end_points": ksyn["end_points"], **adversary}
    return build_mechanism_diagnostics(parts, net, config, method.name)


def build_algorithm1_graph(config, streams, num_classes, method=None, start_iteration=None):
    """Build an Algorithm-1 method (default: ``train.method``) in the current default graph.

    Args:
      config: :class:`aher.config.Config`.
      streams: ``{"moments": ds, "untrimmed": ds, "foreground": ds}`` tf.data datasets with static
        shapes (:func:`make_streams`); ``untrimmed`` / ``foreground`` may be absent for methods
        that do not use them.
      num_classes: ``{"untrimmed": K_u, "moment": K_m}``.
      method: a method name of ``aher.methods`` whose trainer is ``algorithm1``.
      start_iteration: the int64 placeholder the streams' start positions are computed from
        (:func:`make_streams`); the streams are then read through initializable iterators that
        the loop starts at the iteration it begins with (``LoopGraph.start_streams``).  None: the
        streams are read from their beginning (one-shot iterators).
    Returns a :class:`~aher.train.loop.LoopGraph`; ``tensors`` holds the synthetic video and its GT.
    """
    spec = METHODS[method or config.train.method]
    if spec.trainer != "algorithm1":
        raise TrainingError(f"train.method {spec.name!r} is not an Algorithm-1 method")
    tf.compat.v1.set_random_seed(config.train.seed)
    used = {"moments"} | ({"untrimmed", "foreground"} if spec.uses_untrimmed else set())
    batches, start_streams = stream_batches({name: ds for name, ds in streams.items() if name in used},
                                            startable=start_iteration is not None)
    cache = BatchCache(batches)
    net = AherNet(config.model, num_classes)
    lr = tf.compat.v1.placeholder(tf.float32, [], name="learning_rate")
    with compute_precision(config.train.precision):
        branches = Branches(net, cache, config, spec)
        steps = [s for step in spec.steps for s in STEP_BUILDERS[step](step, branches, lr)]
    iteration = make_iteration_variable()
    saver = make_saver(max_to_keep=config.train.keep_snapshots)
    tensors = {k: branches.parts["ksyn"][k] for k in ("video", "gt")} if "ksyn" in branches.parts else {}
    loop = LoopGraph(steps=steps, load_batches=cache.load, lr=lr, iteration=iteration, saver=saver,
                     progress_keys=spec.progress, tensors=tensors, start_streams=start_streams,
                     start_iteration=start_iteration)
    if spec.has_mechanism_diagnostics:      # last: adds ops only, after every variable
        loop.diagnostics = _diagnostics(branches, net, config, spec)
    return loop


def make_streams(config, dataset, start_iteration=0):
    """The three training streams of Algorithm 1 from a :class:`aher.datasets.Dataset`.

    ``start_iteration`` (int or int64 tensor): every stream yields one batch per iteration, so it
    starts at sample ``start_iteration * train.batch_size``, the first sample of that iteration's batch.
    """
    model, train = config.model, config.train
    batch, seed = train.batch_size, train.seed
    start = start_iteration * batch
    return {
        "moments": segment_dataset(dataset.path("moments_train"), dataset.classes["moment"], batch, seed=seed,
                                   with_context_ids=True, start=start),
        "untrimmed": untrimmed_dataset(dataset.path("untrimmed_train"), dataset.videos, dataset.classes["untrimmed"],
                                       batch, length=model.temporal_length, max_gt=config.data.max_gt,
                                       seed=seed + 1, start=start),
        "foreground": segment_dataset(dataset.path("foreground_train"), dataset.classes["untrimmed"], batch,
                                      seed=seed + 2, start=start),
    }


def build(config, dataset):
    """The trainer's graph for ``aher.train.driver``: the method's graph on the dataset's streams,
    which start at the iteration the loop begins with."""
    start = make_start_iteration()
    return build_algorithm1_graph(config, make_streams(config, dataset, start),
                                  {k: len(v) for k, v in dataset.classes.items()}, start_iteration=start)
