"""Analytic FLOPs of the AherNet training graph: layers, forward branches, Algorithm-1 sub-steps.

Pure Python (no TensorFlow): the counts follow from a typed config (``aher.config.load_config``)
and the class counts ``{"untrimmed": K_u, "moment": K_m}``.

Conventions
-----------
* One multiply-add is 2 FLOPs. A 1-D convolution with kernel k, C_in -> C_out channels, costs
  ``2 * B * T_out * k * C_in * C_out`` with ``T_out = ceil(T / s)`` (SAME) or
  ``floor((T - k) / s) + 1`` (VALID); SAME counts the zero-padded taps, as the GEMM that runs it
  does and as TensorFlow's profiler counts ``Conv2D``. A dense layer [N, C_in] -> [N, C_out]
  costs ``2 * N * C_in * C_out``.
* Only the matrix products are counted: convolutions, dense layers, the pooled and the
  anchor-level classifiers, the weight-transfer MLP (weight and bias paths). Bias adds,
  activations, max-pool, global average pool, the splice / resizes of the synthetic video, anchor
  matching, losses, hard-negative mining, NMS and the Adam updates are ignored: each is linear in
  the size of a tensor, about 1 % of TensorFlow's count at 32-48 channels and less at wider ones.
* Backward: every product ``y = x * W`` on the path from a loss to a trained variable costs one
  forward's FLOPs per operand whose gradient is needed: ``dW`` when W is trained (or depends on
  a trained variable, e.g. the transferred classifier W' in S3), ``dx`` when x depends on a
  trained variable. So a layer inside the trained part costs 2x forward, the first trained layer
  (its input is data) 1x, and a frozen layer that a gradient crosses on its way to trained
  variables below it 1x (input gradients only: the backbone in S4 and S5b/c). This is what
  ``session.run`` executes once Grappler has pruned the gradients no trained variable needs
  (``tests/train/test_flops.py`` compares every sub-step with the kernels TensorFlow runs).
* A sub-step runs every forward product its losses read, once; each loss it differentiates
  separately is one backward pass. The localization sub-steps (S3, S4, S6, SM) use two Adams
  (``aher.train.optim.two_adams``), one on ``L_prop`` (box heads) and one on ``L_cls``
  (anchor classifier): two backward passes through the backbone.

What each sub-step runs (``aher.train.algorithm1``; trained groups from
``aher.model.variable_groups.STEP_GROUPS``; the classifier weights a Loc branch transfers are
variables, so no Cls forward is needed for them; "heads": box heads and anchor classifiers):

  ====  ===========================================================  ==============================
  step  forward                                                      backward (losses -> groups)
  ====  ===========================================================  ==============================
  S1    backbone(moments, T/2) + pooled cls_moment                   L_reg -> backbone, cls_moment
  S2    backbone(foreground, T) + pooled cls_untrimmed               L_reg -> cls_untrimmed
  S3    backbone(untrimmed, T) + heads + T(W) (K_u)                  L_prop, L_cls -> backbone,
                                                                     box heads, transfer
  S4    G1, G2 (T/2) + backbone(synthetic, T) + heads + T(W~) (K_m)  L_prop, L_cls -> generators
  S5a   backbone(untrimmed) + G1, G2 + backbone(synthetic) + 2x D    L_adD -> discriminators
  S5b.. G1, G2 + backbone(synthetic) + D                             L_adG -> generators
  S6    as S4                                                        L_prop, L_cls -> backbone,
                                                                     box heads
  SM    backbone(moment + zero context, T) + heads + T(W~)           L_prop, L_cls -> backbone,
                                                                     box heads, transfer
  SL2   G1, G2 on resized real instances (T/2)                       L2 -> generators
  ====  ===========================================================  ==============================

Contract: :func:`conv1d_flops`, :func:`dense_flops` count one layer; :func:`backbone_flops` the
backbone forward; :func:`branch_forward_flops` one forward branch; :func:`step_flops` one
sub-step (:class:`StepFlops`: forward, backward); :func:`iteration_flops` every sub-step of one
iteration of a method, in run order (``S5g`` expanded into S5b, S5c, ...).
Limits: the input lengths are the model's (moments T/2, untrimmed and foreground T), as the
project's stores and the paper's features have them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aher.methods import METHODS

KERNEL_SIZE = 3          # backbone, box heads, generators, discriminators
POOL_SIZE = 3            # pool2: max-pool k3 s2 VALID
POOL_STRIDE = 2
ANCHOR_STRIDE = 2
GENERATOR_STRIDE = 2     # g_conv_s2 / g_conv_e2


# ------------------------------------------------------------------------------------ one layer
def conv1d_output_length(length, kernel, stride=1, padding="SAME"):
    """Output length of a 1-D convolution or pooling: ceil(T / s) (SAME), floor((T - k) / s) + 1 (VALID)."""
    if padding == "SAME":
        return -(-int(length) // int(stride))
    if padding == "VALID":
        return max(0, (int(length) - int(kernel)) // int(stride) + 1)
    raise ValueError(f"unknown padding {padding!r}; expected 'SAME' or 'VALID'")


def conv1d_flops(batch, length, in_channels, out_channels, kernel, stride=1, padding="SAME"):
    """FLOPs of one conv1d forward: 2 * B * T_out * k * C_in * C_out."""
    t_out = conv1d_output_length(length, kernel, stride, padding)
    return 2 * int(batch) * t_out * int(kernel) * int(in_channels) * int(out_channels)


def dense_flops(rows, in_channels, out_channels):
    """FLOPs of one dense layer (matmul) forward: 2 * N * C_in * C_out."""
    return 2 * int(rows) * int(in_channels) * int(out_channels)


# ------------------------------------------------------------------------------------ the graph
@dataclass(frozen=True)
class _Op:
    """One product: forward FLOPs and its operands, each ("node", name) | ("var", group) | ("data", what)."""

    flops: int
    operands: tuple


class _Graph:
    """The products of the branches one sub-step reads, by name."""

    def __init__(self):
        self.ops = {}

    def add(self, name, flops, *operands):
        if name not in self.ops:
            self.ops[name] = _Op(int(flops), tuple(operands))
        return ("node", name)

    def ancestors(self, names):
        seen, todo = set(), list(names)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo.extend(o[1] for o in self.ops[name].operands if o[0] == "node")
        return seen


def _anchor_lengths(model, length):
    """Lengths of the backbone: (conv1/conv2 length, [T_1..T_L]) for an input of ``length`` steps."""
    t = conv1d_output_length(length, POOL_SIZE, POOL_STRIDE, "VALID")
    lengths = []
    for _ in range(model.num_layers):
        t = conv1d_output_length(t, KERNEL_SIZE, ANCHOR_STRIDE)
        lengths.append(t)
    return lengths


def _backbone(g, prefix, source, batch, length, model):
    """Add the backbone on ``source`` [B, length, D]; returns the end points [(operand, T_j, C_j)]."""
    w = ("var", "backbone")
    net = g.add(f"{prefix}/g_conv1", conv1d_flops(batch, length, model.feature_dim, model.conv1_width, KERNEL_SIZE),
                source, w)
    net = g.add(f"{prefix}/g_conv2", conv1d_flops(batch, length, model.conv1_width, model.conv2_width, KERNEL_SIZE),
                net, w)
    t = conv1d_output_length(length, POOL_SIZE, POOL_STRIDE, "VALID")
    net = g.add(f"{prefix}/pool2", 0, net)
    channels, points = model.conv2_width, []
    for j, t_out in enumerate(_anchor_lengths(model, length), start=1):
        width = model.anchor_widths[j - 1]
        net = g.add(f"{prefix}/g_conv_a{j}", conv1d_flops(batch, t, channels, width, KERNEL_SIZE, ANCHOR_STRIDE), net, w)
        points.append((net, t_out, width))
        t, channels = t_out, width
    return points


def _classifier(g, prefix, points, batch, num_classes, label_space):
    """Pooled classifiers of every layer (global average pool ignored); returns their names."""
    return [g.add(f"{prefix}/cls_{label_space}{j}", dense_flops(batch, c, num_classes),
                  point, ("var", f"cls_{label_space}"))[1]
            for j, (point, _, c) in enumerate(points, start=1)]


def _transfer(g, layer, channels, num_classes, label_space, transfer):
    """T(W, b; theta_j) on the [K, C_j], [K] classifier of a label space; returns (W', b') (operands)."""
    theta = ("var", "transfer")
    net = bias = ("var", f"cls_{label_space}")
    for i in range(1, transfer.num_fc + 1):
        net = g.add(f"transfer_{label_space}{layer}/fc{i}", dense_flops(num_classes, channels, channels), net, theta)
        if transfer.bias_mlp:
            bias = g.add(f"transfer_{label_space}{layer}/bias_fc{i}", dense_flops(num_classes, 1, 1), bias, theta)
    return net, bias


def _localization(g, prefix, points, batch, model, num_classes, label_space):
    """Box heads, T(W) and anchor classifiers of every layer: (L_prop products, L_cls products)."""
    prop, cls = [], []
    heads = ("var", "box_heads")
    a = model.num_anchors
    for j, (point, t, c) in enumerate(points, start=1):
        for head, out in (("conv_cls", 2 * a), ("conv_loc", 2 * a), ("conv_iou", a)):
            prop.append(g.add(f"{prefix}/{head}{j}", conv1d_flops(batch, t, c, out, KERNEL_SIZE), point, heads)[1])
        w_t, b_t = _transfer(g, j, c, num_classes, label_space, model.transfer)
        logits = g.add(f"{prefix}/anchor_cls{j}", conv1d_flops(batch, t, c, num_classes, 1), point, w_t)
        cls.append(g.add(f"{prefix}/anchor_bias{j}", 0, logits, b_t)[1])        # bias add: not counted
    return prop, cls


def _generators(g, prefix, source, batch, length, model, context):
    """G1, G2 on ``source`` [B, length, D]; returns their outputs (operands)."""
    w = ("var", "generators")
    outputs = []
    for tag in ("s", "e"):
        hidden = g.add(f"{prefix}/g_conv_{tag}1",
                       conv1d_flops(batch, length, model.feature_dim, context.hidden_width, KERNEL_SIZE), source, w)
        outputs.append(g.add(f"{prefix}/g_conv_{tag}2",
                             conv1d_flops(batch, length, context.hidden_width, model.feature_dim, KERNEL_SIZE,
                                          GENERATOR_STRIDE), hidden, w))
    return outputs


def _discriminators(g, prefix, points, batch, model):
    return [g.add(f"{prefix}/d_conv_adv{j}", conv1d_flops(batch, t, c, model.num_anchors, KERNEL_SIZE),
                  point, ("var", "discriminators"))[1]
            for j, (point, t, c) in enumerate(points, start=1)]


class _Branches:
    """The forward branches of Algorithm 1 (``aher.train.algorithm1.Branches``) as products."""

    def __init__(self, config, num_classes, method_steps):
        self.config, self.model, self.num_classes = config, config.model, num_classes
        self.batch = config.train.batch_size
        self.zero_context = "SM" in method_steps       # AherNet_M: the moment alone, zero context
        self.g = _Graph()

    def kcls(self):
        points = _backbone(self.g, "kcls", ("data", "moments"), self.batch, self.model.moment_length, self.model)
        return _classifier(self.g, "kcls", points, self.batch, self.num_classes["moment"], "moment")

    def afg(self):
        points = _backbone(self.g, "afg", ("data", "foreground"), self.batch, self.model.temporal_length, self.model)
        return _classifier(self.g, "afg", points, self.batch, self.num_classes["untrimmed"], "untrimmed")

    def aun_points(self):
        return _backbone(self.g, "aun", ("data", "untrimmed"), self.batch, self.model.temporal_length, self.model)

    def aun(self):
        return _localization(self.g, "aun", self.aun_points(), self.batch, self.model, self.num_classes["untrimmed"],
                             "untrimmed")

    def ksyn_points(self):
        sources = [("data", "moments")]
        if not self.zero_context:
            sources += _generators(self.g, "ksyn", ("data", "moments"), self.batch, self.model.moment_length,
                                   self.model, self.config.context)
        video = self.g.add("ksyn/splice", 0, *sources)
        return _backbone(self.g, "ksyn", video, self.batch, self.model.temporal_length, self.model)

    def ksyn(self):
        return _localization(self.g, "ksyn", self.ksyn_points(), self.batch, self.model, self.num_classes["moment"],
                             "moment")

    def d_real(self):
        return _discriminators(self.g, "d_real", self.aun_points(), self.batch, self.model)

    def d_fake(self):
        return _discriminators(self.g, "d_fake", self.ksyn_points(), self.batch, self.model)

    def context_l2(self):
        return [o[1] for o in _generators(self.g, "context_l2", ("data", "instances"), self.batch,
                                          self.model.moment_length, self.model, self.config.context)]


#: per sub-step: the losses it differentiates separately, each a list of the products it reads
STEP_LOSSES = {
    "S1": lambda b: [b.kcls()],
    "S2": lambda b: [b.afg()],
    "S3": lambda b: list(b.aun()),
    "S4": lambda b: list(b.ksyn()),
    "S6": lambda b: list(b.ksyn()),
    "SM": lambda b: list(b.ksyn()),
    "S5a": lambda b: [b.d_real() + b.d_fake()],
    "S5g": lambda b: [b.d_fake()],
    "SL2": lambda b: [b.context_l2()],
}
#: the variable groups each sub-step trains: aher.model.variable_groups.STEP_GROUPS (S5g: its "S5bc")
TRAINED_GROUPS = {
    "S1": ("backbone", "cls_moment"),
    "S2": ("cls_untrimmed",),
    "S3": ("backbone", "box_heads", "transfer"),
    "S4": ("generators",),
    "S5a": ("discriminators",),
    "S5g": ("generators",),
    "S6": ("backbone", "box_heads"),
    "SM": ("backbone", "box_heads", "transfer"),
    "SL2": ("generators",),
}


@dataclass(frozen=True)
class StepFlops:
    """FLOPs of one sub-step: the forward products it runs and its backward passes."""

    step: str
    forward: int
    backward: int

    @property
    def total(self):
        return self.forward + self.backward


def _step_kind(step):
    """S5b, S5c, ... -> S5g; other names unchanged."""
    if len(step) == 3 and step.startswith("S5") and step[2] in "bcdefgh":
        return "S5g"
    return step


def _trained_groups(step, config):
    if step == "S1" and not config.train.s1_updates_backbone:
        return {"cls_moment"}
    return set(TRAINED_GROUPS[step])


def step_flops(config, num_classes, step, method=None):
    """FLOPs of one sub-step (S1, S2, S3, S4, S5a, S5b/S5c/..., S6, SM, SL2) of ``method`` (default:
    ``train.method``; its sub-steps decide whether the synthetic video has generated context)."""
    kind = _step_kind(step)
    if kind not in STEP_LOSSES:
        raise ValueError(f"unknown sub-step {step!r}; expected one of {sorted(STEP_LOSSES)} or S5b..S5h")
    spec = METHODS[method or config.train.method]
    branches = _Branches(config, num_classes, spec.steps)
    losses = STEP_LOSSES[kind](branches)
    g, trained = branches.g, _trained_groups(kind, config)
    memo = {}

    def depends(operand):          # does this operand carry a gradient to a trained variable?
        kind_, name = operand
        if kind_ == "var":
            return name in trained
        if kind_ == "data":
            return False
        if name not in memo:
            memo[name] = any(depends(o) for o in g.ops[name].operands)
        return memo[name]

    forward = sum(g.ops[n].flops for n in g.ancestors([n for loss in losses for n in loss]))
    backward = sum(g.ops[n].flops for loss in losses for n in g.ancestors(loss)
                   for operand in g.ops[n].operands if depends(operand))
    return StepFlops(step, forward, backward)


def iteration_flops(config, num_classes, method=None):
    """``{sub-step name: StepFlops}`` of one iteration of ``method`` (default ``train.method``), in run order."""
    spec = METHODS[method or config.train.method]
    names = []
    for step in spec.steps:
        if step == "S5g":
            names += [f"S5{chr(ord('b') + k)}" for k in range(config.adversarial.g_steps)]
        else:
            names.append(step)
    return {name: step_flops(config, num_classes, name, spec.name) for name in names}


def backbone_flops(model, batch, length):
    """Forward FLOPs of the backbone (``aher.model.backbone``) on [batch, length, model.feature_dim]."""
    g = _Graph()
    _backbone(g, "backbone", ("data", "features"), batch, length, model)
    return sum(op.flops for op in g.ops.values())


#: forward branches of :func:`branch_forward_flops`
BRANCHES = ("kcls", "afg", "aun", "ksyn", "adversary")


def branch_forward_flops(config, num_classes, branch, method=None):
    """Forward FLOPs of one whole branch: ``kcls`` / ``afg`` (backbone + pooled classifiers),
    ``aun`` / ``ksyn`` (backbone + box heads + T(W) + anchor classifiers; ``ksyn`` with the
    generators), ``adversary`` (the discriminators on the real and the synthetic end points)."""
    spec = METHODS[method or config.train.method]
    b = _Branches(config, num_classes, spec.steps)
    if branch == "adversary":
        b.aun_points()
        b.ksyn_points()
        before = set(b.g.ops)
        b.d_real()
        b.d_fake()
        return sum(op.flops for name, op in b.g.ops.items() if name not in before)
    if branch not in BRANCHES:
        raise ValueError(f"unknown branch {branch!r}; expected one of {BRANCHES}")
    getattr(b, branch)()
    return sum(op.flops for op in b.g.ops.values())
