"""Map between the released AherNet code's variable names and this project's.

Contract: :data:`ROWS` is the one table of the map. Each row names an upstream variable scope,
the project scope that holds the same parameters, the project's variable group
(``aher.model.variable_groups.GROUPS``) and a short role; ``{j}`` stands for the anchor layer
1..L. Every scope holds a ``weights`` and a ``biases`` variable with the same shape on both
sides (kernels ``[k, C_in, C_out]`` for convolutions, ``[C_in, C_out]`` for the fully connected
layers of the weight transfer), so a value copies over unchanged.

* :func:`variable_table` expands the rows for L anchor layers (the released code has L = 8:
  188 variables);
* :func:`to_project` / :func:`to_upstream` translate one variable name and raise ``KeyError``
  for a name outside the map;
* :data:`UPSTREAM_ADAMS` and :func:`upstream_adam_names` name the released code's optimizer
  state (Adam slots and beta powers) and the project optimizer of the same sub-step.

Only the classifier and weight-transfer scopes are renamed: the released code's
``conv_action_anchor`` / ``conv_action_anet`` are the pooled classifiers of the moment and
untrimmed label spaces, and its ``fully1..4`` are the weight-transfer MLP of each layer (weight
path ``fully1``, ``fully2``; bias path ``fully3``, ``fully4``).
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

UPSTREAM_LAYERS = 8          # anchor layers of the released code (T = 512)
VARIABLES = ("weights", "biases")

#: (upstream scope, project scope, project group, role); ``{j}`` = anchor layer.
ROWS = (
    ("aher/g_conv1", "aher/g_conv1", "backbone", "backbone conv1, k3 s1, D -> conv1_width, ReLU"),
    ("aher/g_conv2", "aher/g_conv2", "backbone", "backbone conv2, k3 s1, -> conv2_width, ReLU, then max-pool 3/2"),
    ("aher/g_conv_a{j}", "aher/g_conv_a{j}", "backbone", "backbone conv of anchor layer j, k3 s2, ReLU (end point j)"),
    ("aher/conv_a{j}_box/conv_action_anchor", "aher/conv_a{j}_box/cls_moment", "cls_moment",
     "pooled classifier of the moment label space (W~_regv), layer j"),
    ("aher/conv_a{j}_box/conv_action_anet", "aher/conv_a{j}_box/cls_untrimmed", "cls_untrimmed",
     "pooled classifier of the untrimmed label space (W_regv), layer j"),
    ("aher/conv_a{j}_box/conv_cls", "aher/conv_a{j}_box/conv_cls", "box_heads", "actionness head of layer j, k3"),
    ("aher/conv_a{j}_box/conv_loc", "aher/conv_a{j}_box/conv_loc", "box_heads", "offset head of layer j, k3"),
    ("aher/conv_a{j}_box/conv_iou", "aher/conv_a{j}_box/conv_iou", "box_heads", "overlap head of layer j, k3"),
    ("aher/conv_a{j}_box/fully1", "aher/conv_a{j}_box/transfer/fc1", "transfer", "weight transfer of layer j: weight path fc1"),
    ("aher/conv_a{j}_box/fully2", "aher/conv_a{j}_box/transfer/fc2", "transfer", "weight transfer of layer j: weight path fc2"),
    ("aher/conv_a{j}_box/fully3", "aher/conv_a{j}_box/transfer/bias_fc1", "transfer", "weight transfer of layer j: bias path fc1"),
    ("aher/conv_a{j}_box/fully4", "aher/conv_a{j}_box/transfer/bias_fc2", "transfer", "weight transfer of layer j: bias path fc2"),
    ("g_conv_s1", "g_conv_s1", "generators", "G1 (start context) conv1, k3 s1"),
    ("g_conv_s2", "g_conv_s2", "generators", "G1 (start context) conv2, k3 s2"),
    ("g_conv_e1", "g_conv_e1", "generators", "G2 (end context) conv1, k3 s1"),
    ("g_conv_e2", "g_conv_e2", "generators", "G2 (end context) conv2, k3 s2"),
    ("conv_a{j}_adv/d_conv_adv", "conv_a{j}_adv/d_conv_adv", "discriminators", "discriminator of anchor layer j, k3"),
)


class MappedVariable(NamedTuple):
    upstream: str
    project: str
    group: str
    role: str


def variable_table(num_layers=UPSTREAM_LAYERS):
    """Every mapped variable for ``num_layers`` anchor layers, in row order (list of MappedVariable)."""
    table = []
    for upstream, project, group, role in ROWS:
        layers = range(1, num_layers + 1) if "{j}" in upstream else (None,)
        for j in layers:
            up = upstream.format(j=j) if j else upstream
            pr = project.format(j=j) if j else project
            text = role.replace("layer j", f"layer {j}") if j else role
            for var in VARIABLES:
                table.append(MappedVariable(f"{up}/{var}", f"{pr}/{var}", group,
                                            f"{text} ({'kernel' if var == 'weights' else 'bias'})"))
    return table


def _translate(name, num_layers, key, value, missing):
    """The ``value`` field of the row whose ``key`` field is ``name`` (``:0`` suffix ignored)."""
    name = name.split(":")[0]
    rows = {getattr(row, key): row for row in variable_table(num_layers)}
    if name not in rows:
        raise KeyError(f"{name!r} {missing}")
    return getattr(rows[name], value)


def to_project(upstream_name, num_layers=UPSTREAM_LAYERS):
    """Project variable name of an upstream variable name (``:0`` suffixes are ignored)."""
    return _translate(upstream_name, num_layers, "upstream", "project", "is not a variable of the released AherNet graph")


def to_upstream(project_name, num_layers=UPSTREAM_LAYERS):
    """Upstream variable name of a project variable name (``:0`` suffixes are ignored)."""
    return _translate(project_name, num_layers, "project", "upstream", "has no counterpart in the released AherNet graph")


#: The released training script's ten ``tf.train.AdamOptimizer`` (all named "Adam"), in creation
#: order, as (this project's optimizer of the same sub-step, variable groups the optimizer holds
#: slots for). TF1 creates slots only for the var-list variables that get a gradient: L_prop does
#: not reach theta and L_cls does not reach the box heads, so the "prop" and "cls" Adams of S3 and
#: S6 (var lists anet_loc, kin_loc) slot different groups.
UPSTREAM_ADAMS = (
    ("S5a_adam", ("discriminators",)),                 # d_optim over d_vars
    ("S5bc_adam", ("generators",)),                    # g_optim over g_vars (S5b, S5c)
    ("S2_adam", ("cls_untrimmed",)),                   # anet_cls
    ("S1_adam", ("backbone", "cls_moment")),           # kin_cls
    ("S3_adam_prop", ("backbone", "box_heads")),       # anet_loc, L_prop
    ("S3_adam_cls", ("backbone", "transfer")),         # anet_loc, L_cls
    ("S4_adam_prop", ("generators",)),                 # g_vars, L_prop
    ("S4_adam_cls", ("generators",)),                  # g_vars, L_cls
    ("S6_adam_prop", ("backbone", "box_heads")),       # kin_loc, L_prop
    ("S6_adam_cls", ("backbone",)),                    # kin_loc, L_cls
)


def upstream_adam_names(table):
    """Variable names of the upstream Adam state for the mapped variables ``table``.

    Slot ``m`` / ``v`` of variable ``x`` in the k-th optimizer (creation order) that slots ``x``
    are ``x/Adam_{2k}`` / ``x/Adam_{2k+1}`` (``x/Adam`` for k = 0): TF1 names both slots through
    ``variable_scope(None, default_name="x/Adam")``, uniquified by a counter. The beta powers of
    the i-th optimizer are ``beta1_power_i`` / ``beta2_power_i`` (no suffix for i = 0).

    Returns ``(slots, betas)``: ``{(optimizer, upstream variable): (m, v)}`` and
    ``{optimizer: (beta1_power, beta2_power)}``, optimizers named as this project's.
    """
    seen = Counter()
    slots, betas = {}, {}
    for i, (optimizer, groups) in enumerate(UPSTREAM_ADAMS):
        suffix = f"_{i}" if i else ""
        betas[optimizer] = (f"beta1_power{suffix}", f"beta2_power{suffix}")
        for row in table:
            if row.group in groups:
                k = seen[row.upstream]
                seen[row.upstream] += 1
                slots[(optimizer, row.upstream)] = (f"{row.upstream}/Adam" + (f"_{2 * k}" if k else ""),
                                                    f"{row.upstream}/Adam_{2 * k + 1}")
    return slots, betas
