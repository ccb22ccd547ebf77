"""Algorithm 1 of the paper: alternating training with weight transfer and adversarial context.

Contract: ``train_algorithm1(config, out_dir, resume)`` trains AherNet as the released code does
(reference §7).  Each iteration loads one batch of each stream into the batch cache -- moments
of the moment set (with context ratio/position ids), untrimmed videos and foreground segments
of the untrimmed set -- and runs the sub-steps in this order, each its own ``session.run``:

  S1   L_reg on moments (Kcls)                        -> STEP_GROUPS["S1"] (backbone + W~_regv)
  S2   L_reg on foreground (Afg)                      -> W_regv
  S3   §5.2 losses on untrimmed videos (Aun, T(W))     -> backbone + box heads + theta   (2 Adams)
  S4   §5.2 losses on synthetic videos (Ksyn, T(W~))   -> G1, G2                         (2 Adams)
  S5a  L_adD on background anchors of Aun vs Ksyn      -> D                  (Adam, beta1 0.5, constant LR)
  S5b, S5c  L_adG (non-saturating), run ``adversarial.g_steps`` times -> G1, G2  (one Adam)
  S6   §5.2 losses on synthetic videos                 -> backbone + box heads           (2 Adams)

Ten Adam optimizers with their own slots (S1, S2, S5a, S5b/c, two each for S3, S4, S6); var lists
come from ``aher.model.variable_groups`` only.  The synthetic untrimmed videos are built in the
graph from the cached moments (``aher.model.context``), so their GT follows the ratio/position
ids.  Optional initialisation from a pre-trained model M (Algorithm 1 line 1; disabled upstream):
``train.init_checkpoint`` restores backbone + box heads + theta, or ``train.pretrain_iterations``
> 0 first runs the supervised pre-training (``aher.train.supervised``, role ``pretrain``) into
``<run>/pretrain`` and starts from it.
Limits: inference and scoring are in ``aher.inference``.
"""

import tensorflow as tf

from aher.data.pipeline import segment_dataset, untrimmed_dataset
from aher.datasets import resolve_dataset
from aher.model import losses as losses_lib
from aher.model import variable_groups
from aher.model.context import ContextConfig, generators, synthesize_untrimmed
from aher.model.discriminator import discriminator_logits
from aher.model.graph import AherNet, ModelConfig
from aher.model.matcher import match_anchors
from aher.train.batch_cache import BatchCache
from aher.train.loop import LoopGraph, SubStep, make_iteration_variable, restore_if_resuming, run_loop
from aher.train.run_dir import RunDir, TrainingError
from aher.train.supervised import adam, localization_loss_set, session_config


def context_config(config):
    return ContextConfig(**config["context"])


def build_adversarial_parts(net, features, config):
    """Create G1/G2 and the discriminators on placeholder-shaped inputs (for parameter counts)."""
    model = net.config
    moments = tf.zeros([1, model.moment_length, model.feature_dim])
    generators(moments, context_config(config))
    discriminator_logits(net.end_points(features))


def _loc_fetches(losses):
    return {k: losses[k] for k in ("actionness", "offset", "overlap", "classification", "total", "accuracy")}


def build_algorithm1_graph(config, streams, num_classes):
    """Build Algorithm 1 in the current default graph.

    Args:
      config: resolved config dict.
      streams: ``{"moments": ds, "untrimmed": ds, "foreground": ds}`` tf.data datasets with static
        shapes (``segment_dataset(..., with_context_ids=True)``, ``untrimmed_dataset``, ``segment_dataset``).
      num_classes: ``{"untrimmed": K_u, "moment": K_m}``.
    Returns a :class:`~aher.train.loop.LoopGraph` (plus ``.saver`` over every global variable).
    """
    model = ModelConfig.from_dict(config["model"])
    train, adv = config["train"], config["adversarial"]
    ctx_conf = context_config(config)
    tf.compat.v1.set_random_seed(int(train["seed"]))
    cache = BatchCache({name: tf.compat.v1.data.make_one_shot_iterator(ds).get_next()
                        for name, ds in streams.items()})
    mom, unt, fg = cache.tensors["moments"], cache.tensors["untrimmed"], cache.tensors["foreground"]
    net = AherNet(model, num_classes)
    lr = tf.compat.v1.placeholder(tf.float32, [], name="learning_rate")
    reg_weight = float(config["loss"]["reg_weight"])

    # The branches of reference §7.1 (all variables shared through AUTO_REUSE).
    with tf.compat.v1.name_scope("Kcls"):
        kcls = net.classify(mom["features"], "moment")
        loss_s1, acc_s1 = losses_lib.classification_loss(kcls["logits"], mom["label"], weight=reg_weight)
    with tf.compat.v1.name_scope("Ksyn"):
        video, gt_syn = synthesize_untrimmed(mom["features"], mom["ratio_id"], mom["pos_id"], ctx_conf,
                                             model.temporal_length)
        ksyn = net.localize(video, "moment", weights=kcls["weights"])
        targets_syn = match_anchors(gt_syn, net.layers, model.temporal_length, prior_scaling=model.prior_scaling)
        loc_syn = localization_loss_set(net, ksyn, mom["label"], targets_syn, config)
    with tf.compat.v1.name_scope("Afg"):
        afg = net.classify(fg["features"], "untrimmed")
        loss_s2, acc_s2 = losses_lib.classification_loss(afg["logits"], fg["label"], weight=reg_weight)
    with tf.compat.v1.name_scope("Aun"):
        aun = net.localize(unt["features"], "untrimmed", weights=afg["weights"])
        targets_un = match_anchors(unt["gt"], net.layers, model.temporal_length, prior_scaling=model.prior_scaling)
        loc_un = localization_loss_set(net, aun, unt["label"], targets_un, config)
    with tf.compat.v1.name_scope("adversary"):
        d_real = discriminator_logits(aun["end_points"])
        d_fake = discriminator_logits(ksyn["end_points"])
        adv_losses = losses_lib.adversarial_losses(d_real, d_fake, targets_un["gscores"], targets_syn["gscores"],
                                                   weight=float(adv["weight"]), mask=adv.get("mask", "joint"))

    def var_list(step):
        variables = variable_groups.step_var_list(step)
        if step == "S1" and not train.get("s1_updates_backbone", True):
            variables = variable_groups.collect("cls_moment")
        if not variables:
            raise TrainingError(f"sub-step {step} has no variable to train")
        return variables

    def two_adams(losses, step):
        vs = var_list(step)
        prop = adam(lr, train, f"{step}_adam_prop").minimize(losses["prop"], var_list=vs)
        cls = adam(lr, train, f"{step}_adam_cls").minimize(losses["classification"], var_list=vs)
        return tf.group(prop, cls, name=f"{step}_train")

    def adversarial_adam(name):
        return tf.compat.v1.train.AdamOptimizer(float(adv["learning_rate"]), beta1=float(adv["beta1"]),
                                                beta2=float(train["adam_beta2"]), epsilon=float(train["adam_epsilon"]),
                                                name=name)

    s1 = adam(lr, train, "S1_adam").minimize(loss_s1, var_list=var_list("S1"))
    s2 = adam(lr, train, "S2_adam").minimize(loss_s2, var_list=var_list("S2"))
    s3 = two_adams(loc_un, "S3")
    s4 = two_adams(loc_syn, "S4")
    s5a = adversarial_adam("S5a_adam").minimize(adv_losses["discriminator"], var_list=var_list("S5a"))
    s5g = adversarial_adam("S5bc_adam").minimize(adv_losses["generator"], var_list=var_list("S5bc"))
    s6 = two_adams(loc_syn, "S6")

    adv_fetch = {"d_loss": adv_losses["discriminator"], "d_real": adv_losses["discriminator_real"],
                 "d_fake": adv_losses["discriminator_fake"], "background": adv_losses["num_background"]}
    steps = [SubStep("S1", s1, {"loss": loss_s1, "accuracy": acc_s1}),
             SubStep("S2", s2, {"loss": loss_s2, "accuracy": acc_s2}),
             SubStep("S3", s3, _loc_fetches(loc_un)),
             SubStep("S4", s4, _loc_fetches(loc_syn)),
             SubStep("S5a", s5a, adv_fetch, feed_lr=False)]
    for k in range(int(adv["g_steps"])):
        steps.append(SubStep(f"S5{'bcdefgh'[k]}", s5g, {"g_loss": adv_losses["generator"]}, feed_lr=False))
    steps.append(SubStep("S6", s6, _loc_fetches(loc_syn)))

    iteration = make_iteration_variable()
    saver = tf.compat.v1.train.Saver(tf.compat.v1.global_variables(), max_to_keep=int(train["keep_snapshots"]))
    loop = LoopGraph(steps=steps, load_batches=cache.load, lr=lr, iteration=iteration, saver=saver,
                     progress_keys=("S1/accuracy", "S3/total", "S6/total", "S5a/d_loss"))
    loop.synthetic = {"video": video, "gt": gt_syn}
    return loop


def make_streams(config, dataset):
    """The three training streams of Algorithm 1 from a :class:`aher.datasets.Dataset`."""
    model = ModelConfig.from_dict(config["model"])
    train = config["train"]
    batch, seed = int(train["batch_size"]), int(train["seed"])
    return {
        "moments": segment_dataset(dataset.path("moments_train"), dataset.classes["moment"], batch, seed=seed,
                                   with_context_ids=True),
        "untrimmed": untrimmed_dataset(dataset.path("untrimmed_train"), dataset.videos, dataset.classes["untrimmed"],
                                       batch, length=model.temporal_length, max_gt=int(config["data"]["max_gt"]),
                                       seed=seed + 1),
        "foreground": segment_dataset(dataset.path("foreground_train"), dataset.classes["untrimmed"], batch,
                                      seed=seed + 2),
    }


def _initialise_from(session, checkpoint, run):
    """Algorithm 1 line 1: restore backbone + box heads + theta from a pre-trained model M."""
    variables = variable_groups.step_var_list("S3")
    tf.compat.v1.train.Saver(variables).restore(session, checkpoint)
    run.log(f"initialised {len(variables)} variables (backbone, box heads, transfer) from {checkpoint}")


def train_algorithm1(config, out_dir, resume=False, progress=True, log=print):
    """Train AherNet with Algorithm 1; return ``(run_dir, last checkpoint)``."""
    from pathlib import Path

    dataset = resolve_dataset(config, log=log, progress=progress)
    train = config["train"]
    init = train.get("init_checkpoint")
    if not init and int(train.get("pretrain_iterations", 0)) > 0 and not resume:
        from aher.config import apply_override
        from aher.train.supervised import train_supervised

        pre = apply_override(__import__("copy").deepcopy(config), ["train", "iterations"],
                             int(train["pretrain_iterations"]))
        pre["train"]["method"] = "pretrain"
        log(f"pre-training model M for {train['pretrain_iterations']} iterations")
        _, init = train_supervised(pre, Path(out_dir) / "pretrain", role="pretrain",
                                   resume=(Path(out_dir) / "pretrain" / "checkpoints").is_dir(), progress=progress,
                                   log=log)
    run = RunDir(out_dir, config, resume=resume)
    run.log(f"Algorithm 1 on {dataset.root}")
    graph = tf.Graph()
    with graph.as_default():
        loop = build_algorithm1_graph(config, make_streams(config, dataset),
                                      {k: len(v) for k, v in dataset.classes.items()})
        init_ops = [tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()]
        with tf.compat.v1.Session(graph=graph, config=session_config()) as session:
            session.run(init_ops)
            if resume and run.latest_checkpoint():
                restore_if_resuming(session, loop.saver, run)
            elif init:
                _initialise_from(session, init, run)
            last = run_loop(session, loop, config, run, progress=progress)
    run.log(f"finished: {last}")
    run.close()
    return run, last
