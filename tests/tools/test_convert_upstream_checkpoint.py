"""The upstream checkpoint converter: weights, Adam state, iteration and config round-trip.

* paper shapes: a checkpoint with the released code's 188 variable names and the traces' recipe
  weights converts with the default config, and the converted run folder restored as
  ``aher.inference`` restores it reproduces the released code's forward outputs (b_forward);
* small shapes: a checkpoint written as the released training script would write it if it
  saved every global variable -- ten ``AdamOptimizer`` named "Adam", created in upstream order
  over upstream's substring-filtered var lists, one step each -- converts into a run whose
  training graph holds the same weights, and the same Adam slots and beta powers for each
  sub-step (slots found through the optimizer API, not through names);
* a released-style snapshot (no Adam state) gives fresh optimizers; the run folder passes the
  resume rule (and, marked slow, really resumes and tests on the tiny synthetic benchmark);
* errors: one line on stderr, exit code 2, nothing written.
"""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
import yaml

from aher.config import load_config, save_config
from aher.model.context import generators
from aher.model.discriminator import discriminator_logits
from aher.model.graph import AherNet
from aher.tools import convert_upstream_checkpoint as converter
from aher.tools.upstream_variables import to_upstream, upstream_adam_names
from aher.train.algorithm1 import build_algorithm1_graph
from aher.train.run_dir import RunDir

PAPER = "configs/k600_paper.yaml"
CLASSES = {"moment": 5, "untrimmed": 3}
SMALL = ["model.feature_dim=8", "model.conv1_width=8", "model.conv2_width=8",
         "model.anchor_widths=[4, 4, 4, 4, 4, 4, 4, 4]", "context.hidden_width=4",
         "model.num_classes={untrimmed: 3, moment: 5}"]
BOX_HEADS = ("conv_cls", "conv_loc", "conv_iou")


def run(argv):
    """``python -m aher.tools.convert_upstream_checkpoint argv`` in-process: exit code."""
    try:
        return converter.run_main(converter.main, [str(a) for a in argv])
    except SystemExit as exc:
        return exc.code


# --------------------------------------------------------------------------- upstream side
def upstream_adams(names):
    """The released script's ten Adams in creation order: (project optimizer, var list, loss reach).

    Var lists are upstream's substring filters (aher_k600_train.py); the loss reach says which of
    them the sub-step's loss depends on: L_prop (conv_cls/loc/iou + backbone, or G through the
    synthetic video) never reaches theta (``fully``); L_cls never reaches the box heads.
    """
    loc = [n for n in names if "aher" in n]
    d_vars = [n for n in names if "_adv" in n]
    g_vars = [n for n in names if "g_conv_s" in n or "g_conv_e" in n]
    anet_loc = [n for n in loc if "conv_action_anchor" not in n and "conv_action_anet" not in n]
    anet_cls = [n for n in names if "conv_action_anet" in n]
    kin_s2 = [n for n in loc if "conv_action_anet" not in n and "fully" not in n]
    kin_loc = [n for n in kin_s2 if "conv_action_anchor" not in n]
    kin_cls = [n for n in kin_s2 if "box" not in n] + [n for n in loc if "conv_action_anchor" in n]

    def prop(n):
        return "fully" not in n

    def cls(n):
        return not any(h in n for h in BOX_HEADS)

    def every(n):
        return True

    return [("S5a_adam", d_vars, every), ("S5bc_adam", g_vars, every), ("S2_adam", anet_cls, every),
            ("S1_adam", kin_cls, every), ("S3_adam_prop", anet_loc, prop), ("S3_adam_cls", anet_loc, cls),
            ("S4_adam_prop", g_vars, prop), ("S4_adam_cls", g_vars, cls),
            ("S6_adam_prop", kin_loc, prop), ("S6_adam_cls", kin_loc, cls)]


def project_shapes(config, classes=CLASSES):
    """{upstream name: shape} of every model variable for ``config`` (forward branches only)."""
    with tf.Graph().as_default():
        model = config.model
        net = AherNet(model, classes)
        moments = tf.zeros([1, model.moment_length, model.feature_dim])
        untrimmed = tf.zeros([1, model.temporal_length, model.feature_dim])
        for space in classes:
            net.classify(moments, space)
            points = net.localize(untrimmed, space)["end_points"]
        generators(moments, config.context)
        discriminator_logits(points)
        return {to_upstream(v.op.name): v.shape.as_list() for v in tf.compat.v1.trainable_variables()}


def write_upstream_training_checkpoint(prefix, shapes):
    """Upstream variables + ten upstream Adams after one step each, every global variable saved.

    Returns ``(weights, slots, betas)``: {upstream name: value}, {(optimizer, upstream name): (m, v)},
    {optimizer: (beta1_power, beta2_power)} read through the optimizer API.
    """
    rng = np.random.default_rng(0)
    with tf.Graph().as_default():
        variables = {name: tf.compat.v1.get_variable(name, shape, initializer=tf.compat.v1.zeros_initializer(),
                                                     use_resource=False)          # TF 1.12's reference variables
                     for name, shape in shapes.items()}
        adams, state = [], {}
        for i, (optimizer, names, reach) in enumerate(upstream_adams(list(variables))):
            var_list = [variables[n] for n in names]
            loss = tf.add_n([tf.reduce_sum(tf.square(variables[n] - float(i + 1))) for n in names if reach(n)])
            opt = tf.compat.v1.train.AdamOptimizer(0.01, beta1=0.5 + 0.04 * i, beta2=0.9 + 0.009 * i)
            adams.append(opt.minimize(loss, var_list=var_list))
            state[("beta", optimizer)] = opt._get_beta_accumulators()
            state.update({(optimizer, v.op.name): (opt.get_slot(v, "m"), opt.get_slot(v, "v"))
                          for v in var_list if opt.get_slot(v, "m") is not None})
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run([v.initializer for v in variables.values()],
                        {v.initializer.inputs[1]: rng.standard_normal(shapes[n]).astype(np.float32)
                         for n, v in variables.items()})
            for op in adams:
                session.run(op)
            weights, state = session.run((variables, state))
            tf.compat.v1.train.Saver(tf.compat.v1.global_variables()).save(session, str(prefix),
                                                                           write_meta_graph=False)
    betas = {key[1]: value for key, value in state.items() if key[0] == "beta"}
    slots = {key: value for key, value in state.items() if key[0] != "beta"}
    return weights, slots, betas


def write_raw(prefix, arrays):
    """A checkpoint holding exactly ``arrays`` ({name: value})."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    names = sorted(arrays)
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(arrays[n]) for n in names])
    return prefix


@pytest.fixture(scope="module")
def released(tmp_path_factory, project_root):
    """A released-style snapshot at small shapes (trainable variables only) and its config file."""
    root = tmp_path_factory.mktemp("released")
    config = load_config(project_root / PAPER, SMALL).to_dict()
    config.pop("_source")
    save_config(config, root / "small.yaml")       # standalone: immune to edits of configs/ meanwhile
    config = load_config(root / "small.yaml")
    shapes = project_shapes(config)
    rng = np.random.default_rng(1)
    weights = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
    prefix = write_raw(root / "upstream" / "aher_adv_model_checkpoint-step_77", weights)
    return {"config": config, "args": ["--config", root / "small.yaml"], "shapes": shapes, "weights": weights,
            "prefix": prefix}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, released):
    """A small checkpoint with upstream Adam state (every global variable saved) and its conversion."""
    root = tmp_path_factory.mktemp("trained")
    prefix = root / "upstream" / "aher_adv_model_checkpoint-step_123"
    prefix.parent.mkdir()
    weights, slots, betas = write_upstream_training_checkpoint(prefix, released["shapes"])
    out = root / "run"
    assert run([prefix, out, *released["args"]]) == 0
    return {"config": released["config"], "prefix": prefix, "weights": weights, "slots": slots, "betas": betas,
            "out": out}


# --------------------------------------------------------------------------- tests
def test_upstream_slot_names_follow_tf1_naming():
    """The names the converter expects are the ones TF's v1 AdamOptimizer gives (checked live)."""
    from aher.tools.upstream_variables import variable_table

    table = variable_table(1)
    slots, betas = upstream_adam_names(table)
    assert betas["S5a_adam"] == ("beta1_power", "beta2_power")
    assert betas["S6_adam_cls"] == ("beta1_power_9", "beta2_power_9")
    backbone = "aher/g_conv1/weights"        # slotted by S1, S3 prop, S3 cls, S6 prop, S6 cls
    assert [slots[(o, backbone)] for o in ("S1_adam", "S3_adam_prop", "S6_adam_cls")] == [
        (f"{backbone}/Adam", f"{backbone}/Adam_1"), (f"{backbone}/Adam_2", f"{backbone}/Adam_3"),
        (f"{backbone}/Adam_8", f"{backbone}/Adam_9")]
    head = "aher/conv_a1_box/conv_loc/biases"       # slotted by S3 prop and S6 prop only
    assert {o for o, n in slots if n == head} == {"S3_adam_prop", "S6_adam_prop"}
    assert slots[("S6_adam_prop", head)] == (f"{head}/Adam_2", f"{head}/Adam_3")


def test_small_round_trip_weights_adam_state_iteration(trained):
    ckpt = tf.train.latest_checkpoint(str(trained["out"] / "checkpoints"))
    assert ckpt.endswith("model.ckpt-123")
    with tf.Graph().as_default() as graph:
        loop = build_algorithm1_graph(trained["config"], converter.zero_streams(trained["config"]), CLASSES)
        project = converter.project_adam_state(graph)
        by_name = {v.op.name: v for v in tf.compat.v1.global_variables()}
        fetch = {"iteration": loop.iteration,
                 "weights": {to_upstream(v.op.name): v for v in tf.compat.v1.trainable_variables()},
                 "betas": {o: tuple(by_name[n] for n in entry["beta"]) for o, entry in project.items()},
                 "slots": {(o, to_upstream(var)): (by_name[m], by_name[v])
                           for o, entry in project.items() for var, (m, v) in entry["slots"].items()}}
        with tf.compat.v1.Session() as session:
            loop.saver.restore(session, ckpt)
            got = session.run(fetch)
    assert got["iteration"] == 123
    assert set(got["weights"]) == set(trained["weights"])
    for name, value in got["weights"].items():
        np.testing.assert_array_equal(value, trained["weights"][name], err_msg=name)
    assert len(project) == 10 and got["betas"] == trained["betas"]          # distinct per optimizer
    for optimizer, entry in project.items():
        assert all((m, v) == (f"{var}/{optimizer}", f"{var}/{optimizer}_1") for var, (m, v) in entry["slots"].items())
    # every upstream slot has its project counterpart and vice versa (the same gradient structure)
    assert set(got["slots"]) == set(trained["slots"])
    for key, (m, v) in got["slots"].items():
        np.testing.assert_array_equal(m, trained["slots"][key][0], err_msg=f"{key} m")
        np.testing.assert_array_equal(v, trained["slots"][key][1], err_msg=f"{key} v")
        assert np.any(m != 0), key


def test_run_folder_resumes_with_the_same_config(trained):
    with open(trained["out"] / "config.yaml") as fh:
        assert yaml.safe_load(fh) == trained["config"].to_dict()
    RunDir(trained["out"], trained["config"], resume=True).close()        # the resume rule accepts it


def test_released_snapshot_into_a_variant_run_starts_adam_fresh(released, capsys, tmp_path):
    """No Adam state (as released) into an existing empty folder, method AherNet^0 (``zero``: S1 only)."""
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    assert run([released["prefix"], out, *released["args"], "--set", "train.method=zero", "--iteration", "5"]) == 0
    printed = capsys.readouterr().out
    assert "optimizer state: none in the checkpoint" in printed
    assert "left out 152 upstream variable(s) that train.method does not use" in printed    # 188 - backbone - W~
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]            # no staging folder left behind
    reader = tf.train.load_checkpoint(str(out / "checkpoints"))
    names = reader.get_variable_to_shape_map()
    assert reader.get_tensor("train/iteration") == 5
    assert sorted(n for n in names if not n.startswith("aher/")) == ["beta1_power", "beta2_power", "train/iteration"]
    assert [float(reader.get_tensor(n)) for n in ("beta1_power", "beta2_power")] == pytest.approx([0.9, 0.999])
    assert not np.any(reader.get_tensor("aher/g_conv1/weights/S1_adam"))
    assert not np.any(reader.get_tensor("aher/g_conv1/weights/S1_adam_1"))
    np.testing.assert_array_equal(reader.get_tensor("aher/conv_a3_box/cls_moment/weights"),
                                  released["weights"]["aher/conv_a3_box/conv_action_anchor/weights"])
    with open(out / "config.yaml") as fh:
        assert yaml.safe_load(fh)["train"]["method"] == "zero"


def test_iteration_from_the_name_or_zero():
    assert converter.checkpoint_iteration("a/aher_adv_model_checkpoint-step_8000") == 8000
    assert converter.checkpoint_iteration("a/model.ckpt-1200") == 1200
    assert converter.checkpoint_iteration("a/final_model") == 0


# --------------------------------------------------------------------------- errors
def assert_one_line_error(capsys, code, needle):
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert needle in err, err


def without(arrays, name):
    return {k: v for k, v in arrays.items() if k != name}


@pytest.mark.parametrize("case", ["missing_path", "garbage", "truncated_index", "truncated_data",
                                  "missing_variable", "unknown_variable", "shape_mismatch", "class_count",
                                  "partial_adam", "temporal_length", "supervised_method"])
def test_errors_are_one_line_and_write_nothing(released, request, tmp_path, capsys, case):
    weights = released["weights"]
    extra, ckpt = list(released["args"]), tmp_path / "in" / "ckpt-1"
    if case == "missing_path":
        ckpt, needle = tmp_path / "nope" / "ckpt-1", "not a readable TensorFlow checkpoint"
    elif case == "garbage":
        ckpt.parent.mkdir()
        ckpt.write_bytes(b"\x00garbage" * 100)
        needle = "not a readable TensorFlow checkpoint"
    elif case.startswith("truncated"):
        write_raw(ckpt, weights)
        part = ckpt.with_name(ckpt.name + (".index" if case == "truncated_index" else ".data-00000-of-00001"))
        part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
        needle = "not a readable TensorFlow checkpoint" if case == "truncated_index" else "cannot read"
    elif case == "missing_variable":
        write_raw(ckpt, without(weights, "g_conv_e2/biases"))
        needle = "lacks 1 of the 188 variables of the released graph: g_conv_e2/biases"
    elif case == "unknown_variable":
        write_raw(ckpt, {**weights, "aher/extra/weights": np.zeros(2, np.float32)})
        needle = "1 variable(s) unknown to the released AherNet graph: aher/extra/weights"
    elif case == "shape_mismatch":
        extra += ["--set", "model.feature_dim=16"]
        ckpt, needle = released["prefix"], "aher/g_conv1/weights has shape [3, 8, 8]"
    elif case == "class_count":
        extra = []                                  # the paper config: 600 moment classes
        ckpt, needle = released["prefix"], "has 5 moment classes (conv_action_anchor) but model.num_classes"
    elif case == "partial_adam":
        reader = tf.train.load_checkpoint(str(request.getfixturevalue("trained")["prefix"]))
        arrays = {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}
        write_raw(ckpt, without(arrays, "aher/g_conv1/weights/Adam_3"))
        needle = "holds part of the upstream Adam state"
    elif case == "temporal_length":
        extra += ["--set", "model.temporal_length=256"]
        ckpt, needle = released["prefix"], "has 8 anchor layers but model.temporal_length 256"
    else:
        extra += ["--set", "train.method=oracle"]
        ckpt, needle = released["prefix"], "train.method 'oracle' is not supported"
    out = tmp_path / "out"
    assert_one_line_error(capsys, run([ckpt, out, *extra]), needle)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if "converting" in p.name]


def test_out_dir_holding_checkpoints_is_refused(released, tmp_path, capsys):
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-5"\n')
    (out / "config.yaml").write_text("mine: 1\n")
    assert_one_line_error(capsys, run([released["prefix"], out, *released["args"]]), "already holds checkpoints")
    assert sorted(p.name for p in out.rglob("*")) == ["checkpoint", "checkpoints", "config.yaml"]
    assert (out / "config.yaml").read_text() == "mine: 1\n"


def test_cli_exit_code(tmp_path, project_root):
    """As a script: exit code 2 and one ``error:`` line (OUT_DIR is checked before TF is imported)."""
    import subprocess
    import sys

    (tmp_path / "out" / "checkpoints").mkdir(parents=True)
    (tmp_path / "out" / "checkpoints" / "checkpoint").write_text("")
    res = subprocess.run([sys.executable, "-m", "aher.tools.convert_upstream_checkpoint", str(tmp_path / "nope"),
                          str(tmp_path / "out")], capture_output=True, text=True, cwd=project_root, timeout=300)
    assert res.returncode == 2 and res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    assert "already holds checkpoints" in res.stderr


@pytest.mark.slow
def test_converted_run_resumes_and_tests_end_to_end(tmp_path, project_root):
    """The converted folder continues with ``aher_k600_train.py --resume`` (then the test step runs)."""
    import subprocess
    import sys

    from aher.model.summary import class_counts

    tiny, sets = "configs/k600_synthetic_tiny.yaml", ["--set", f"data.root={tmp_path / 'data'}"]
    config = load_config(project_root / tiny, [sets[1]])
    shapes = project_shapes(config, class_counts(config))          # the synthetic dataset's class counts
    rng = np.random.default_rng(2)
    prefix = write_raw(tmp_path / "upstream" / "aher_adv_model_checkpoint-step_24",
                       {n: (0.05 * rng.standard_normal(s)).astype(np.float32) for n, s in shapes.items()})
    out = tmp_path / "run"
    assert run([prefix, out, "--config", project_root / tiny, *sets]) == 0
    res = subprocess.run([sys.executable, "aher_k600_train.py", "--config", tiny, *sets,
                          "--out", str(out), "--resume", "--quiet"], cwd=project_root, capture_output=True, text=True,
                         timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"trained: {out / 'checkpoints' / 'model.ckpt-30'}" in res.stdout
    assert "resumed at iteration 24" in (out / "train.log").read_text()
    assert (out / "metrics.json").is_file()


# --------------------------------------------------------------------------- paper shapes
@pytest.mark.slow               # ~40-60 s on 2 CPU cores: the run folder holds 3 GB (weights + zero Adam slots)
@pytest.mark.needs_shared
def test_paper_checkpoint_reproduces_the_released_forward_pass(tmp_path, project_root, capsys):
    from tests.upstream.support import assert_norm_close, load_trace, recipe_value, require_traces

    with open(require_traces() / "variables.json") as fh:
        table = json.load(fh)["variables"]
    assert len(table) == 188
    prefix = tmp_path / "p3d_k600_models" / "aher_adv_model_checkpoint-step_8000"
    with tf.Graph().as_default():
        variables = [tf.compat.v1.get_variable(v["name"], v["shape"], initializer=tf.compat.v1.zeros_initializer(),
                                               use_resource=False) for v in table]
        with tf.compat.v1.Session() as session:
            session.run([v.initializer for v in variables],
                        {v.initializer.inputs[1]: recipe_value(row["name"], row["shape"])
                         for v, row in zip(variables, table)})
            # upstream's model_saver: the trainable variables only
            tf.compat.v1.train.Saver(tf.compat.v1.trainable_variables()).save(session, str(prefix),
                                                                              write_meta_graph=False)
    out = tmp_path / "run"
    assert run([prefix, out]) == 0                       # the default config: configs/k600_paper.yaml
    assert "optimizer state: none in the checkpoint" in capsys.readouterr().out
    config = load_config(project_root / PAPER)
    assert (out / "config.yaml").is_file()
    reader = tf.train.load_checkpoint(str(out / "checkpoints"))
    assert reader.get_tensor("train/iteration") == 8000

    trace = load_trace("b_forward")
    with tf.Graph().as_default():
        net = AherNet(config.model, {"moment": 600, "untrimmed": 200})
        loc = net.localize(tf.constant(trace["x_untrimmed"]), "moment")
        logits = tf.stack(net.classify(tf.constant(trace["x_moment"]), "moment")["logits"])
        saver = tf.compat.v1.train.Saver([v for v in tf.compat.v1.global_variables()
                                          if v.op.name.startswith("aher/")])       # as aher.inference does
        with tf.compat.v1.Session() as session:
            saver.restore(session, tf.train.latest_checkpoint(str(out / "checkpoints")))
            got = session.run({"offsets": loc["offsets"], "overlap": loc["overlap"],
                               "anchor_logits": loc["anchor_logits"], "pooled": logits})
    shutil.rmtree(tmp_path)                          # 3.4 GB: do not leave it in pytest's kept folders
    for key in ("offsets", "overlap", "anchor_logits"):
        assert_norm_close(got[key], trace[f"loc600_{key}"], 1e-5, f"loc600_{key}")
    assert_norm_close(got["pooled"], trace["cls_moment_pooled_logits"], 1e-5, "cls_moment_pooled_logits")
