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
Methods ``algorithm1`` and ``no_adversary`` attach the mechanism diagnostics hook
(``aher.train.mechanism``: D accuracy, probe AUC, G statistics, background share), built after
every training op and variable, run by the loop only on log and snapshot iterations.
Limits: inference and scoring are in ``aher.inference``.
"""

import tensorflow as tf

from aher.data.pipeline import segment_dataset, untrimmed_dataset
from aher.datasets import resolve_dataset
from aher.model import losses as losses_lib
from aher.model import variable_groups
from aher.model.context import ContextConfig, generators, splice, synthesize_untrimmed
from aher.model.discriminator import discriminator_logits
from aher.model.graph import AherNet, ModelConfig
from aher.model.matcher import match_anchors
from aher.train.batch_cache import BatchCache
from aher.train.loop import LoopGraph, SubStep, make_iteration_variable, restore_if_resuming, run_loop
from aher.train.mechanism import build_mechanism_diagnostics
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


#: train.method -> sub-steps it runs (Algorithm 1 and the paper's baselines built from it, §11.2).
VARIANT_STEPS = {
    "algorithm1": ("S1", "S2", "S3", "S4", "S5a", "S5g", "S6"),   # AherNet
    "no_adversary": ("S1", "S2", "S3", "S4", "SL2", "S6"),        # AherNet_A-: G learns from L2, no L_ad
    "minus": ("S1", "S2", "S3"),                                  # AherNet^-: proposals from the untrimmed set
    "moments_only": ("S1", "SM"),                                 # AherNet_M: moments as whole actions, no context
    "zero": ("S1",),                                              # AherNet^0: snippet classifier only
}


def context_l2_loss(features, gt, generated_start, generated_end):
    """AherNet_A- context loss: L2 between context generated from a real instance and its real context.

    For each untrimmed sample the first GT instance ``[s, e)`` (grid units) is the "foreground";
    ``features[:s]`` and ``features[e:]`` are its real start/end context, resized like the
    generators' outputs.  Samples whose instance touches a window edge (no context on a side)
    or is shorter than 2 steps do not count.

    Args:
      features: [B, T, D]; gt: [B, G, 2]; generated_start / generated_end: [B, T_c, D] from
        ``generators`` applied to the resized instances (see :func:`real_instances`).
    Returns the mean squared error over valid samples (0 when none).
    """
    from aher.model.context import resize_temporal

    batch = features.shape[0]
    t_len = features.shape[1]
    t_ctx = generated_start.shape[1]
    errors, valid = [], []
    for i in range(batch):
        s = tf.cast(tf.floor(gt[i, 0, 0]), tf.int32)
        e = tf.cast(tf.math.ceil(gt[i, 0, 1]), tf.int32)
        ok = tf.logical_and(tf.logical_and(s >= 1, e <= t_len - 1), e - s >= 2)
        s_c = tf.clip_by_value(s, 1, t_len - 2)
        e_c = tf.clip_by_value(e, s_c + 1, t_len - 1)
        real_start = resize_temporal(features[i, :s_c], t_ctx)
        real_end = resize_temporal(features[i, e_c:], t_ctx)
        err = 0.5 * (tf.reduce_mean(tf.square(generated_start[i] - real_start))
                     + tf.reduce_mean(tf.square(generated_end[i] - real_end)))
        errors.append(tf.where(ok, err, 0.0))
        valid.append(tf.cast(ok, tf.float32))
    return tf.math.divide_no_nan(tf.add_n(errors), tf.add_n(valid))


def real_instances(features, gt, length):
    """The first GT instance of every untrimmed sample, resized to ``length`` ([B, length, D])."""
    from aher.model.context import resize_temporal

    out = []
    t_len = features.shape[1]
    for i in range(features.shape[0]):
        s = tf.clip_by_value(tf.cast(tf.floor(gt[i, 0, 0]), tf.int32), 0, t_len - 1)
        e = tf.clip_by_value(tf.cast(tf.math.ceil(gt[i, 0, 1]), tf.int32), s + 1, t_len)
        out.append(resize_temporal(features[i, s:e], length))
    return tf.stack(out)


def build_algorithm1_graph(config, streams, num_classes, method="algorithm1"):
    """Build Algorithm 1 (or one of its baselines, ``VARIANT_STEPS``) in the current default graph.

    Args:
      config: resolved config dict.
      streams: ``{"moments": ds, "untrimmed": ds, "foreground": ds}`` tf.data datasets with static
        shapes (``segment_dataset(..., with_context_ids=True)``, ``untrimmed_dataset``, ``segment_dataset``).
        ``untrimmed`` / ``foreground`` may be absent for methods that do not use them.
      num_classes: ``{"untrimmed": K_u, "moment": K_m}``.
      method: a key of ``VARIANT_STEPS``.
    Returns a :class:`~aher.train.loop.LoopGraph`.
    """
    if method not in VARIANT_STEPS:
        raise TrainingError(f"train.method {method!r} is not an Algorithm-1 variant ({', '.join(VARIANT_STEPS)})")
    wanted = VARIANT_STEPS[method]
    model = ModelConfig.from_dict(config["model"])
    train, adv = config["train"], config["adversarial"]
    ctx_conf = context_config(config)
    tf.compat.v1.set_random_seed(int(train["seed"]))
    needs_untrimmed = any(s in wanted for s in ("S2", "S3", "S5a", "SL2"))
    used = {"moments"} | ({"untrimmed", "foreground"} if needs_untrimmed else set())
    cache = BatchCache({name: tf.compat.v1.data.make_one_shot_iterator(ds).get_next()
                        for name, ds in streams.items() if name in used})
    mom = cache.tensors["moments"]
    net = AherNet(model, num_classes)
    lr = tf.compat.v1.placeholder(tf.float32, [], name="learning_rate")
    reg_weight = float(config["loss"]["reg_weight"])
    fetch, ops = {}, {}
    adversary = {}

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

    # The branches of reference §7.1 (all variables shared through AUTO_REUSE); only what the method needs.
    with tf.compat.v1.name_scope("Kcls"):
        kcls = net.classify(mom["features"], "moment")
        loss_s1, acc_s1 = losses_lib.classification_loss(kcls["logits"], mom["label"], weight=reg_weight)
    synthetic = {}
    if any(s in wanted for s in ("S4", "S5a", "S6", "SM")):
        with tf.compat.v1.name_scope("Ksyn"):
            if "SM" in wanted:      # AherNet_M: the moment alone, zero context around it
                zeros = tf.zeros([mom["features"].shape[0], model.moment_length // 2, model.feature_dim])
                video, gt_syn = splice(mom["features"], zeros, zeros, mom["ratio_id"], mom["pos_id"],
                                       model.temporal_length, mode=ctx_conf.mode, fix_odd_gt=ctx_conf.fix_odd_gt)
            else:
                video, gt_syn = synthesize_untrimmed(mom["features"], mom["ratio_id"], mom["pos_id"], ctx_conf,
                                                     model.temporal_length)
            ksyn = net.localize(video, "moment", weights=kcls["weights"])
            targets_syn = match_anchors(gt_syn, net.layers, model.temporal_length, prior_scaling=model.prior_scaling)
            loc_syn = localization_loss_set(net, ksyn, mom["label"], targets_syn, config)
        synthetic = {"video": video, "gt": gt_syn}
    if needs_untrimmed:
        unt, fg = cache.tensors["untrimmed"], cache.tensors["foreground"]
        with tf.compat.v1.name_scope("Afg"):
            afg = net.classify(fg["features"], "untrimmed")
            loss_s2, acc_s2 = losses_lib.classification_loss(afg["logits"], fg["label"], weight=reg_weight)
        with tf.compat.v1.name_scope("Aun"):
            aun = net.localize(unt["features"], "untrimmed", weights=afg["weights"])
            targets_un = match_anchors(unt["gt"], net.layers, model.temporal_length, prior_scaling=model.prior_scaling)
            loc_un = localization_loss_set(net, aun, unt["label"], targets_un, config)

    steps = []
    for step in wanted:
        if step == "S1":
            op = adam(lr, train, "S1_adam").minimize(loss_s1, var_list=var_list("S1"))
            steps.append(SubStep("S1", op, {"loss": loss_s1, "accuracy": acc_s1}))
        elif step == "S2":
            op = adam(lr, train, "S2_adam").minimize(loss_s2, var_list=var_list("S2"))
            steps.append(SubStep("S2", op, {"loss": loss_s2, "accuracy": acc_s2}))
        elif step == "S3":
            steps.append(SubStep("S3", two_adams(loc_un, "S3"), _loc_fetches(loc_un)))
        elif step in ("S4", "S6", "SM"):
            steps.append(SubStep(step, two_adams(loc_syn, step), _loc_fetches(loc_syn)))
        elif step == "S5a":
            with tf.compat.v1.name_scope("adversary"):
                d_real = discriminator_logits(aun["end_points"])
                d_fake = discriminator_logits(ksyn["end_points"])
                adv_losses = losses_lib.adversarial_losses(d_real, d_fake, targets_un["gscores"],
                                                           targets_syn["gscores"], weight=float(adv["weight"]),
                                                           mask=adv.get("mask", "joint"))
            op = adversarial_adam("S5a_adam").minimize(adv_losses["discriminator"], var_list=var_list("S5a"))
            adversary = {"d_real": d_real, "d_fake": d_fake, "gscores_real": targets_un["gscores"],
                         "gscores_fake": targets_syn["gscores"]}
            steps.append(SubStep("S5a", op, {"d_loss": adv_losses["discriminator"],
                                             "d_real": adv_losses["discriminator_real"],
                                             "d_fake": adv_losses["discriminator_fake"],
                                             "background": adv_losses["num_background"]}, feed_lr=False))
        elif step == "S5g":
            op = adversarial_adam("S5bc_adam").minimize(adv_losses["generator"], var_list=var_list("S5bc"))
            for k in range(int(adv["g_steps"])):
                steps.append(SubStep(f"S5{'bcdefgh'[k]}", op, {"g_loss": adv_losses["generator"]}, feed_lr=False))
        elif step == "SL2":
            with tf.compat.v1.name_scope("context_l2"):
                instances = real_instances(unt["features"], unt["gt"], model.moment_length)
                start_ctx, end_ctx = generators(instances, ctx_conf)
                l2 = context_l2_loss(unt["features"], unt["gt"], start_ctx, end_ctx)
            op = adversarial_adam("SL2_adam").minimize(l2, var_list=var_list("SL2"))
            steps.append(SubStep("SL2", op, {"l2": l2}, feed_lr=False))

    iteration = make_iteration_variable()
    saver = tf.compat.v1.train.Saver(tf.compat.v1.global_variables(), max_to_keep=int(train["keep_snapshots"]))
    progress = {"algorithm1": ("S1/accuracy", "S3/total", "S6/total", "S5a/d_loss"),
                "no_adversary": ("S1/accuracy", "S3/total", "S6/total", "SL2/l2"),
                "minus": ("S1/accuracy", "S3/total"), "moments_only": ("S1/accuracy", "SM/total"),
                "zero": ("S1/loss", "S1/accuracy")}[method]
    loop = LoopGraph(steps=steps, load_batches=cache.load, lr=lr, iteration=iteration, saver=saver,
                     progress_keys=progress)
    loop.synthetic = synthetic
    if method in ("algorithm1", "no_adversary"):    # last: adds ops only, after every variable
        parts = {"untrimmed_features": unt["features"], "untrimmed_gt": unt["gt"], "video": synthetic["video"],
                 "moments": mom["features"], "ratio_id": mom["ratio_id"], "pos_id": mom["pos_id"],
                 "real_end_points": aun["end_points"], "synthetic_end_points": ksyn["end_points"], **adversary}
        loop.diagnostics = build_mechanism_diagnostics(parts, net, config, method)
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


def train_algorithm1(config, out_dir, resume=False, progress=True, log=print, method="algorithm1"):
    """Train AherNet with Algorithm 1 (or a baseline variant); return ``(run_dir, last checkpoint)``."""
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
    run.log(f"Algorithm 1 ({method}) on {dataset.root}")
    graph = tf.Graph()
    with graph.as_default():
        loop = build_algorithm1_graph(config, make_streams(config, dataset),
                                      {k: len(v) for k, v in dataset.classes.items()}, method=method)
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
