"""Convert a checkpoint of the released AherNet code into a run folder of this project.

  python -m aher.tools.convert_upstream_checkpoint UPSTREAM_CKPT OUT_DIR [--config CFG]
                                                   [--set key=value ...] [--iteration N]

Contract: UPSTREAM_CKPT is a checkpoint prefix written by the released TF1 code (upstream
variable names, ``aher.tools.upstream_variables``), e.g. ``aher_adv_model_checkpoint-step_8000``.
OUT_DIR becomes a run folder that ``aher_k600_train.py --config CFG --out OUT_DIR --resume``
continues and ``aher_k600_test.py --config CFG --checkpoint OUT_DIR`` tests:

    OUT_DIR/config.yaml                        the resolved config (as the training run writes it)
    OUT_DIR/checkpoints/model.ckpt-<N>         every global variable of the method's training graph
    OUT_DIR/checkpoints/checkpoint             the TF checkpoint state file (relative paths)

* The graph is the one ``train.method`` trains (Algorithm 1 or one of its variants), built
  without data; CFG (default ``configs/k600_paper.yaml``) must give the checkpoint's shapes.
  Class counts come from the checkpoint's classifiers (or must equal ``model.num_classes``).
* Every trainable variable of that graph gets its upstream value, unchanged. Upstream
  variables the method does not use (e.g. G and D for ``minus``) are left out.
* Adam state: the released snapshots hold the trainable variables only, so the optimizers
  start fresh (zero slots, initial beta powers). A checkpoint that also holds the state of the
  ten upstream Adams (all named "Adam") has it copied to the optimizer of the same sub-step.
* ``train/iteration`` = ``--iteration``, else the trailing number of the checkpoint name, else 0.
* Any problem (unreadable checkpoint, missing / unknown variables, shape mismatch, partial
  optimizer state, OUT_DIR already holding checkpoints) is a one-line error with exit code 2,
  and nothing is written: the folder is assembled next to OUT_DIR and renamed at the end.
Limits: the supervised methods (oracle, pretrain, oracle_untrimmed) are not supported; no
training, no data is read (so the class counts are not checked against a dataset). At paper
shapes the checkpoint holds ~3 GB, mostly Adam slots, as a training snapshot does.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from aher.cli import run_main
from aher.errors import UserError
from aher.methods import names
from aher.paths import PROJECT_ROOT
from aher.tools.upstream_variables import upstream_adam_names, variable_table

DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "k600_paper.yaml"
CHECKPOINT_SUFFIXES = (".index", ".meta")
FEED_BYTES = 256 << 20            # values fed to the session per run when writing the run folder
TRAIN_SCRIPTS = {"k600": "aher_k600_train.py", "anet_split": "aher_anet_split_train.py",
                 "th14_anet": "aher_th14_anet_train.py"}

SHAPE_HINT = ("check model.feature_dim, conv1_width, conv2_width, anchor_widths, context.hidden_width "
              "and model.num_classes of the config")


def _some(names, limit=3):
    names = sorted(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# --------------------------------------------------------------------------- upstream names
def checkpoint_iteration(prefix):
    """Trailing integer of a checkpoint file name (``...-step_8000`` -> 8000), else 0."""
    match = re.search(r"(\d+)$", Path(prefix).name)
    return int(match.group(1)) if match else 0


# --------------------------------------------------------------------------- reading
class UpstreamCheckpoint:
    """Names, shapes and values of a TF checkpoint; every failure is a :class:`UserError`."""

    def __init__(self, path):
        import tensorflow as tf

        path = Path(path)
        if path.is_dir():
            latest = tf.train.latest_checkpoint(str(path))
            if latest is None:
                raise UserError(f"{path}: folder without a readable checkpoint state; pass the checkpoint prefix")
            path = Path(latest)
        elif path.suffix in CHECKPOINT_SUFFIXES or ".data-" in path.name:
            path = path.with_name(path.name.split(".data-")[0]) if ".data-" in path.name else path.with_suffix("")
        self.prefix = str(path)
        try:
            self.reader = tf.train.load_checkpoint(self.prefix)
            self.shapes = {k: tuple(v) for k, v in self.reader.get_variable_to_shape_map().items()}
            self.dtypes = self.reader.get_variable_to_dtype_map()
        except Exception as exc:   # NotFoundError, DataLossError, ValueError, ...: all mean "unreadable"
            raise UserError(f"{self.prefix}: not a readable TensorFlow checkpoint ({_first_line(exc)})") from None

    @property
    def names(self):
        return set(self.shapes)

    def num_layers(self):
        """Highest anchor-layer index among the variable names (0 when none)."""
        found = [int(m.group(1)) for name in self.shapes for m in [re.search(r"conv_a(\d+)", name)] if m]
        return max(found, default=0)

    def value(self, name):
        try:
            return self.reader.get_tensor(name)
        except Exception as exc:
            raise UserError(f"{self.prefix}: cannot read {name} ({_first_line(exc)})") from None

    def verify(self):
        """Read every tensor once (a truncated data file fails here, before any graph is built)."""
        for name in sorted(self.shapes):
            self.value(name)


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


# --------------------------------------------------------------------------- project graph
def zero_streams(config, batch=2):
    """Training streams of the right static shapes, made of constants (no data is read).

    Call inside the target graph. Variable shapes do not depend on the batch size, so a small
    batch keeps the graph small.
    """
    import tensorflow as tf

    model = config.model
    t, d = model.temporal_length, model.feature_dim
    ints = tf.zeros([batch], tf.int32)
    tensors = {
        "moments": {"features": tf.zeros([batch, model.moment_length, d]), "label": ints,
                    "ratio_id": tf.fill([batch], 14), "pos_id": tf.ones([batch], tf.int32)},
        "untrimmed": {"features": tf.zeros([batch, t, d]),
                      "gt": tf.fill([batch, config.data.max_gt, 2], -1.0),
                      "label": ints, "duration": tf.ones([batch])},
        "foreground": {"features": tf.zeros([batch, t, d]), "label": ints},
    }
    return {name: tf.data.Dataset.from_tensors(stream).repeat() for name, stream in tensors.items()}


def _source_variable(tensor):
    """Name of the variable a tensor reads (through Identity / Cast / ReadVariableOp), or None."""
    op = tensor.op
    while op.type in ("Identity", "Cast", "ReadVariableOp") and op.inputs:
        op = op.inputs[0].op
    return op.name if op.type in ("VarHandleOp", "VariableV2", "Variable") else None


def project_adam_state(graph):
    """Adam state of the graph from its ApplyAdam ops, grouped by optimizer name.

    Returns ``{optimizer: {"beta": (beta1_power, beta2_power), "slots": {variable: (m, v)}}}`` (names).
    """
    state = {}
    for op in graph.get_operations():
        if op.type not in ("ResourceApplyAdam", "ApplyAdam"):
            continue
        var, m, v, beta1, beta2 = (_source_variable(t) for t in list(op.inputs)[:5])
        optimizer = op.name.split("/update_", 1)[0].split("/")[-1]
        entry = state.setdefault(optimizer, {"beta": (beta1, beta2), "slots": {}})
        entry["slots"][var] = (m, v)
    return state


def build_training_graph(config, num_classes):
    """The method's training graph in a new tf.Graph; returns ``(graph, loop)``."""
    import tensorflow as tf

    from aher.train.algorithm1 import build_algorithm1_graph

    graph = tf.Graph()
    with graph.as_default():
        loop = build_algorithm1_graph(config, zero_streams(config), num_classes)
    return graph, loop


def _check_method(config):
    method = config.train.method
    if config.method.trainer != "algorithm1":
        raise UserError(f"train.method {method!r} is not supported: an upstream checkpoint converts into a run of "
                        f"Algorithm 1 or one of its variants ({', '.join(names('algorithm1'))})")


# --------------------------------------------------------------------------- the conversion
class Plan:
    """Where every value comes from: {project variable name: upstream name}, and notes to print."""

    def __init__(self):
        self.model = {}          # trainable variables
        self.adam = {}           # slots and beta powers
        self.notes = []

    @property
    def values(self):
        return {**self.model, **self.adam}


def _check_layers(ckpt, num_layers, temporal_length):
    found = ckpt.num_layers()
    if found and found != num_layers:
        raise UserError(f"{ckpt.prefix} has {found} anchor layers but model.temporal_length {temporal_length} "
                        f"gives {num_layers}: set model.temporal_length to {2 ** (found + 1)}")


def _class_counts(ckpt, config):
    """{"moment": K_m, "untrimmed": K_u} from the first layer's classifiers (or the config)."""
    given = config.model.num_classes
    counts = {}
    for space, scope in (("moment", "conv_action_anchor"), ("untrimmed", "conv_action_anet")):
        shape = ckpt.shapes.get(f"aher/conv_a1_box/{scope}/weights")
        found = int(shape[-1]) if shape else None
        want = getattr(given, space)
        if found is not None and want is not None and int(want) != found:
            raise UserError(f"{ckpt.prefix} has {found} {space} classes ({scope}) but model.num_classes.{space} "
                            f"is {want}")
        counts[space] = found if found is not None else int(want or 1)
    return counts


def _classify_names(ckpt, table):
    """Split the checkpoint's names into model variables and Adam state; errors for the rest."""
    model = {row.upstream for row in table}
    slots, betas = upstream_adam_names(table)
    adam = {name for pair in slots.values() for name in pair} | {name for pair in betas.values() for name in pair}
    unknown = ckpt.names - model - adam
    if unknown:
        raise UserError(f"{ckpt.prefix}: {len(unknown)} variable(s) unknown to the released AherNet graph: "
                        f"{_some(unknown)}")
    present = ckpt.names & adam
    if present and present != adam:
        missing = adam - present
        raise UserError(f"{ckpt.prefix} holds part of the upstream Adam state ({len(present)} of {len(adam)} "
                        f"variables; missing {_some(missing)})")
    return bool(present), slots, betas


def model_variables(config, num_classes):
    """{name: (shape, dtype name)} of every model variable for ``config`` (forward branches only).

    Both label spaces' Cls and Loc branches, G1/G2 and the discriminators, on placeholders: a
    cheap graph, so a checkpoint that does not fit fails before the training graph is built.
    """
    import tensorflow as tf

    from aher.model.graph import AherNet
    from aher.model.summary import build_adversarial_variables

    model = config.model
    with tf.Graph().as_default():
        net = AherNet(model, num_classes)
        x = tf.compat.v1.placeholder(tf.float32, [1, model.temporal_length, model.feature_dim])
        for space in num_classes:
            net.classify(x, space)
            net.localize(x, space)
        build_adversarial_variables(net, x, config)
        return {v.op.name: (tuple(v.shape.as_list()), v.dtype.base_dtype.name)
                for v in tf.compat.v1.trainable_variables()}


def check_model_variables(ckpt, table, variables):
    """Every model variable has an upstream counterpart in ``ckpt`` with its shape and dtype."""
    by_project = {row.project: row.upstream for row in table}
    _check_orphans(set(variables) - set(by_project))
    missing = {row.upstream for row in table} - ckpt.names
    if missing:
        raise UserError(f"{ckpt.prefix} lacks {len(missing)} of the {len(table)} variables of the released graph: "
                        f"{_some(missing)}")
    for name, (shape, dtype) in sorted(variables.items()):
        _check_shape(ckpt, by_project[name], name, shape, dtype)


def _check_orphans(orphans):
    if orphans:
        raise UserError(f"{len(orphans)} variable(s) of this config's graph have no counterpart in the released "
                        f"code: {_some(orphans)} (the released model has model.transfer num_fc 2 with bias_mlp)")


def _check_shape(ckpt, upstream, project, shape, dtype):
    got = ckpt.shapes[upstream]
    if got != tuple(shape):
        raise UserError(f"{upstream} has shape {list(got)} in {ckpt.prefix} but {project} has {list(shape)} in "
                        f"this config's graph ({SHAPE_HINT})")
    if ckpt.dtypes[upstream].name != dtype:
        raise UserError(f"{upstream} is {ckpt.dtypes[upstream].name} in {ckpt.prefix}, {project} is {dtype}")


def plan_conversion(ckpt, graph, table, has_adam, slots, betas):
    """Match every variable of the training graph with its upstream source."""
    import tensorflow as tf

    plan = Plan()
    by_project = {row.project: row.upstream for row in table}
    with graph.as_default():
        trainable = {v.op.name: v for v in tf.compat.v1.trainable_variables()}
    _check_orphans(set(trainable) - set(by_project))
    for name, var in sorted(trainable.items()):
        _check_shape(ckpt, by_project[name], name, var.shape.as_list(), var.dtype.base_dtype.name)
        plan.model[name] = by_project[name]
    unused = {row.upstream for row in table} - set(plan.model.values())
    if unused:
        plan.notes.append(f"left out {len(unused)} upstream variable(s) that train.method does not use "
                          f"({_some(unused, 2)})")
    project = project_adam_state(graph)
    _plan_adam(plan, project, has_adam, by_project, slots, betas)
    return plan


def _plan_adam(plan, project, has_adam, by_project, slots, betas):
    """Copy the upstream Adam state to the project's optimizer of the same sub-step (when present)."""
    if not has_adam:
        plan.notes.append(f"optimizer state: none in the checkpoint (the released snapshots save the trainable "
                          f"variables only): the {len(project)} Adam optimizers start fresh "
                          f"(zero slots, initial beta powers)")
        return
    pairs, copied, fresh = 0, 0, []
    for optimizer, entry in sorted(project.items()):
        pairs += len(entry["slots"])
        if optimizer not in betas:
            fresh.append(optimizer)
            continue
        plan.adam.update(zip(entry["beta"], betas[optimizer]))
        for var, (m, v) in entry["slots"].items():
            pair = slots.get((optimizer, by_project[var]))
            if pair is not None:
                plan.adam[m], plan.adam[v] = pair
                copied += 1
    note = (f"optimizer state: copied the upstream Adam state of {len(project) - len(fresh)} optimizers "
            f"(slots of {copied} of {pairs} optimizer-variable pairs)")
    if fresh:
        note += f"; {_some(fresh, 2)} start fresh (no upstream counterpart)"
    plan.notes.append(note)


def _check_out_dir(out_dir):
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir} exists and is not a folder")
    checkpoints = out_dir / "checkpoints"
    if checkpoints.exists() and (not checkpoints.is_dir() or any(checkpoints.iterdir())):
        raise UserError(f"{out_dir} already holds checkpoints: choose another OUT_DIR (nothing is overwritten)")


def write_run(graph, loop, ckpt, plan, config, iteration, out_dir):
    """Initialise the graph's global variables from ``plan`` and write the run folder atomically."""
    import tensorflow as tf

    from aher.config import save_config

    with graph.as_default():
        variables = tf.compat.v1.global_variables()
        saver = tf.compat.v1.train.Saver(variables, save_relative_paths=True, max_to_keep=None)
    sources = plan.values
    with tf.compat.v1.Session(graph=graph) as session:
        session.run([v.initializer for v in variables if v.op.name not in sources])
        # The others are initialised by feeding their initial value, a few hundred MB per run
        # (each run prunes the whole training graph: not one run per variable).
        values = [(loop.iteration, np.int64(iteration))]
        for var in [v for v in variables if v.op.name in sources] + [None]:
            if var is None or sum(value.nbytes for _, value in values) > FEED_BYTES:
                session.run([v.initializer for v, _ in values], {v.initializer.inputs[1]: x for v, x in values})
                values = []
            if var is not None:
                values.append((var, ckpt.value(sources[var.op.name])))
        _check_out_dir(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.converting-", dir=out_dir.parent))
        try:
            prefix = saver.save(session, str(staging / "checkpoints" / "model.ckpt"), global_step=iteration,
                                write_meta_graph=False)
            save_config(config, staging / "config.yaml")
            if out_dir.exists():
                if (out_dir / "checkpoints").exists():
                    (out_dir / "checkpoints").rmdir()      # empty (checked above)
                (staging / "checkpoints").rename(out_dir / "checkpoints")
                (staging / "config.yaml").replace(out_dir / "config.yaml")
                staging.rmdir()
            else:
                staging.rename(out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return out_dir / "checkpoints" / Path(prefix).name


def convert(checkpoint, out_dir, config, iteration=None, log=print):
    """Convert ``checkpoint`` into the run folder ``out_dir`` for ``config``; return the new prefix."""
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)                      # before TensorFlow is imported: a quick refusal

    _check_method(config)
    ckpt = UpstreamCheckpoint(checkpoint)
    model = config.model
    num_layers = model.num_layers
    _check_layers(ckpt, num_layers, model.temporal_length)
    table = variable_table(num_layers)
    has_adam, slots, betas = _classify_names(ckpt, table)
    ckpt.verify()
    num_classes = _class_counts(ckpt, config)
    check_model_variables(ckpt, table, model_variables(config, num_classes))
    iteration = checkpoint_iteration(ckpt.prefix) if iteration is None else int(iteration)
    if iteration < 0:
        raise UserError(f"--iteration must be >= 0, not {iteration}")
    graph, loop = build_training_graph(config, num_classes)
    plan = plan_conversion(ckpt, graph, table, has_adam, slots, betas)
    if model.transfer.activation != "elu":
        plan.notes.append(f"warning: model.transfer.activation is {model.transfer.activation!r}; the released "
                          "model's transfer uses 'elu', so the converted model computes a different function")
    written = write_run(graph, loop, ckpt, plan, config, iteration, out_dir)
    log(f"read {len(ckpt.names)} variables from {ckpt.prefix} ({num_classes['moment']} moment / "
        f"{num_classes['untrimmed']} untrimmed classes, {num_layers} anchor layers)")
    log(f"converted {len(plan.model)} model variables for train.method {config.train.method}")
    for note in plan.notes:
        log(note)
    log(f"wrote {written} (train/iteration {iteration}) and {out_dir / 'config.yaml'}")
    return written


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="upstream checkpoint prefix (e.g. .../aher_adv_model_checkpoint-step_8000)")
    p.add_argument("out_dir", help="run folder to create (must not hold checkpoints yet)")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="YAML config of the run (default: %(default)s)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key (repeatable)")
    p.add_argument("--iteration", type=int, help="train/iteration of the run (default: the checkpoint name's number)")
    args = p.parse_args(argv)

    from aher.config import load_config

    config = load_config(args.config, args.set)
    convert(args.checkpoint, args.out_dir, config, iteration=args.iteration)
    sets = "".join(f" --set {shlex.quote(s)}" for s in args.set)
    script = TRAIN_SCRIPTS.get(config.setting, "aher_k600_train.py")
    out = shlex.quote(str(args.out_dir))
    print(f"continue training: python {script} --config {shlex.quote(args.config)}{sets} --out {out} --resume")
    print(f"test:              python aher_k600_test.py --config {shlex.quote(args.config)}{sets} --checkpoint {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
