"""(g) One Algorithm-1 iteration at paper shapes against the released training script.

The project's own Algorithm-1 graph (``build_algorithm1_graph``, upstream defaults, B = 2) is fed
the stored batch through constant input streams and started from the recipe weights. For each
sub-step S1, S2, S3, S4, S5a, S5b, S5c, S6 the fetched losses and float64 statistics of every
variable's update ``Δ = after − before`` (sum, L1, sum of squares, non-zeros, Σ Δ·W_recipe) are
compared with upstream's:

* **isolated** (default suite): every sub-step starts from the recipe with fresh optimizer
  slots; S5c starts after S5b, since both are steps of one Adam;
* **chained** (``slow``): S1 → S6 in order from the recipe, as one training iteration runs; float32
  drift accumulates, so the tolerances are those the traces' README gives for that mode.

A variable that an upstream sub-step leaves unchanged must stay exactly unchanged here.
Cost: about 6 GB of memory and one to two minutes on 2 cores per mode.
"""

from collections import defaultdict

import numpy as np
import pytest
import tensorflow as tf

from aher.config import load_config
from aher.model.layers import conv_formulation
from aher.paths import PROJECT_ROOT
from aher.tools.upstream_variables import to_project, variable_table
from aher.train.algorithm1 import build_algorithm1_graph
from tests.upstream.support import VariableLoader, assert_rel_close, load_trace

pytestmark = pytest.mark.needs_shared

STATS = ("sum", "l1", "sumsq", "nnz", "dot_w0")
GROUP = {row.project: row.group for row in variable_table()}

#: upstream loss fetch -> how to read it from the project's fetches of the same sub-step
LOSS_NAMES = {"loss_cls": "classification", "loss_prop": "actionness", "loss_loc": "offset", "loss_iou": "overlap",
              "Total_loss": "total", "acc_cls": "accuracy", "loss_dis": "d_loss", "loss_gen": "g_loss"}
CLASSIFICATION_STEPS = {"loss_cls": "loss", "acc_cls": "accuracy"}     # S1, S2: L_reg


def project_loss(step, name, fetched):
    if step in ("S1", "S2"):
        return fetched[CLASSIFICATION_STEPS[name]]
    if name == "Prop_loss":
        return fetched["actionness"] + fetched["offset"] + fetched["overlap"]
    return fetched[LOSS_NAMES[name]]


class Harness:
    """The Algorithm-1 graph on the stored batch, with recipe weights and fresh optimizer slots on demand."""

    def __init__(self, trace):
        config = load_config(PROJECT_ROOT / "configs" / "k600_paper.yaml",
                             [f"train.batch_size={int(trace['B'])}", f"train.learning_rate={float(trace['lr'])}"])
        streams = {
            "moments": {"features": trace["batch_mome_feat"], "label": trace["batch_mome_label"],
                        "ratio_id": trace["batch_mome_ratio"], "pos_id": trace["batch_mome_pos"]},
            "untrimmed": {"features": trace["batch_un_feat"], "gt": trace["batch_un_gt"],
                          "label": trace["batch_un_label"], "duration": trace["batch_duration"]},
            "foreground": {"features": trace["batch_fg_feat"], "label": trace["batch_fg_label"]},
        }
        self.lr = float(trace["lr"])
        self.graph = tf.Graph()
        with self.graph.as_default():
            datasets = {name: tf.data.Dataset.from_tensors(tensors).repeat() for name, tensors in streams.items()}
            with conv_formulation("conv"):
                self.loop = build_algorithm1_graph(config, datasets, {"untrimmed": 200, "moment": 600})
            self.steps = {step.name: step for step in self.loop.steps}
            trainable = self.graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
            self.variables = {v.op.name: v for v in trainable}
            optimizer_state = [v for v in tf.compat.v1.global_variables() if v.op.name not in self.variables]
            self.reset_optimizers = tf.compat.v1.variables_initializer(optimizer_state)
            init_batches = tf.compat.v1.local_variables_initializer()
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.session.run(init_batches)
        self.session.run(self.loop.load_batches)
        self.loader = VariableLoader(self.graph)
        self.recipe = self.loader.recipe()

    def reset(self):
        """Recipe weights, optimizer slots and counters at their initial values."""
        self.session.run(self.reset_optimizers)
        self.loader.load(self.session, self.recipe)

    def values(self):
        return self.session.run(self.variables)

    def run(self, name):
        step = self.steps[name]
        feed = {self.loop.lr: self.lr} if step.feed_lr else {}
        out = self.session.run({"op": step.train_op, **step.fetches}, feed_dict=feed)
        out.pop("op")
        return out

    def step_stats(self, name, var_names):
        """(losses, stats [n_var, 5]) of sub-step ``name`` from the current state."""
        before = self.values()
        losses = self.run(name)
        after = self.values()
        stats = np.zeros((len(var_names), len(STATS)))
        for i, upstream in enumerate(var_names):
            project = to_project(upstream)
            delta = after[project].astype(np.float64) - before[project].astype(np.float64)
            stats[i] = (delta.sum(), np.abs(delta).sum(), np.square(delta).sum(), np.count_nonzero(delta),
                        (delta * self.recipe[project]).sum())
        return losses, stats

    def close(self):
        self.session.close()


@pytest.fixture(scope="module")
def trace():
    return load_trace("g_alg1")


@pytest.fixture(scope="module")
def harness(trace):
    h = Harness(trace)
    yield h
    h.close()


def upstream_losses(trace, mode, step):
    keys = [str(k) for k in trace["loss_keys"]]
    values = trace[f"{mode}_losses"]
    return {k.split("/", 1)[1]: float(v) for k, v in zip(keys, values) if k.startswith(step + "/")}


def check_losses(trace, mode, step, fetched, rtol):
    expected = upstream_losses(trace, mode, step)
    assert expected, f"no upstream losses for {step}"
    for name, value in expected.items():
        assert_rel_close(project_loss(step, name, fetched), value, rtol, f"{mode} {step}/{name}", atol=1e-7)


def check_updates(trace, step_index, stats, mode):
    """Per-variable and per-group comparison of update statistics (README tolerances of ``mode``)."""
    step = str(trace["steps"][step_index])
    names = [str(n) for n in trace["var_names"]]
    ref = trace[f"{mode}_stats"][step_index]
    lr = float(trace["lr"])
    problems = []
    l1 = defaultdict(lambda: [0.0, 0.0])
    for i, name in enumerate(names):
        ours, theirs = stats[i], ref[i]
        if theirs[1] == 0.0:
            if ours[1] != 0.0:
                problems.append(f"{name} changed (L1 {ours[1]:.3g}) but upstream leaves it unchanged")
            continue
        if ours[1] == 0.0:
            problems.append(f"{name} unchanged but upstream updates it (L1 {theirs[1]:.3g})")
            continue
        limit = max(50 * lr, 1e-3 * theirs[1]) if mode == "isolated" else 1e-3 * theirs[1]
        if abs(ours[0] - theirs[0]) > limit:
            problems.append(f"{name} sum of update {ours[0]:.6g} vs {theirs[0]:.6g}")
        group = GROUP[to_project(name)]
        l1[group][0] += ours[1]
        l1[group][1] += theirs[1]
    rtol = 1e-3 if mode == "isolated" else 1e-4
    for group, (ours, theirs) in l1.items():
        if abs(ours - theirs) > rtol * theirs:
            problems.append(f"group {group}: L1 of the update {ours:.8g} vs {theirs:.8g}")
    assert not problems, f"{mode} {step}: " + "; ".join(problems[:8])


def check_update_pattern(trace, step_index, stats):
    """Isolated mode: Adam's first step is about lr·sign(g), so the number of changed elements and
    Σ Δ·W_recipe test the gradient's sign pattern. Where two Adams of one sub-step update the same
    variable (S3, S4, S6) their updates can cancel to 0 or ±1 ulp depending on the order they are
    applied in; the two updates of one ``tf.group`` run in either order, so the count varies from
    run to run (upstream observed up to 634 of 44.6M elements, here up to ~950 under load). The
    slack there is 1e-4 of the count, elsewhere 1e-5 (near-zero gradients whose sign or zero-ness
    depends on the CPU's kernels: up to 40 of 23.6M elements on an AMD EPYC CPU against traces made on
    another x86-64 CPU); a wrong sign pattern moves it far more."""
    step = str(trace["steps"][step_index])
    ref = trace["isolated_stats"][step_index]
    nnz_ours, nnz_theirs = stats[:, 3].sum(), ref[:, 3].sum()
    slack = (1e-5 if step in ("S1", "S2", "S5a", "S5b", "S5c") else 1e-4) * nnz_theirs
    assert abs(nnz_ours - nnz_theirs) <= slack, f"{step}: {nnz_ours:.0f} changed elements vs upstream {nnz_theirs:.0f}"
    dot_scale = np.abs(ref[:, 4]).sum()
    assert abs(stats[:, 4].sum() - ref[:, 4].sum()) <= 1e-2 * dot_scale, f"{step}: Σ Δ·W differs"


STEP_INDEX = {name: i for i, name in enumerate(("S1", "S2", "S3", "S4", "S5a", "S5b", "S5c", "S6"))}


@pytest.mark.parametrize("step", list(STEP_INDEX))
def test_isolated_substep(trace, harness, step):
    assert [str(s) for s in trace["steps"]] == list(STEP_INDEX)
    harness.reset()
    if step == "S5c":
        harness.run("S5b")
    losses, stats = harness.step_stats(step, [str(n) for n in trace["var_names"]])
    check_losses(trace, "isolated", step, losses, rtol=1e-5)
    check_updates(trace, STEP_INDEX[step], stats, "isolated")
    check_update_pattern(trace, STEP_INDEX[step], stats)


@pytest.mark.slow
def test_chained_iteration(trace, harness):
    harness.reset()
    names = [str(n) for n in trace["var_names"]]
    for step, index in STEP_INDEX.items():
        losses, stats = harness.step_stats(step, names)
        check_losses(trace, "chained", step, losses, rtol=1e-5)
        check_updates(trace, index, stats, "chained")
