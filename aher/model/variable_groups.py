"""Variable groups and which Algorithm-1 sub-step trains which (paper_vs_code §7.2, paper_vs_code §7.3).

One table, ``GROUPS``, assigns every trainable variable of the AherNet graph to exactly one group
by its scope; ``STEP_GROUPS`` says which groups each sub-step updates:

  group           scope patterns                          what                    updated by
  --------------  --------------------------------------  ----------------------  ----------
  backbone        aher/g_conv                             g_conv1, g_conv2, a*    S1, S3, S6
  cls_moment      aher/conv_a*_box/cls_moment/            W̃_regv (K600)           S1
  cls_untrimmed   aher/conv_a*_box/cls_untrimmed/         W_regv (ANet)           S2
  box_heads       aher/conv_a*_box/conv_{cls,loc,iou}/    box heads               S3, S6
  transfer        aher/conv_a*_box/transfer/              θʲ                      S3
  generators      g_conv_s, g_conv_e (top level)          G1, G2                  S4, S5bc
  discriminators  conv_a*_adv/ (top level)                D per anchor layer      S5a

Upstream var lists expressed in groups: ``kin_cls`` (S1) = backbone + cls_moment;
``anet_cls`` (S2) = cls_untrimmed; ``anet_loc`` (S3, pre-training restore) = backbone + box_heads +
transfer; ``g_vars`` (S4, S5b/c) = generators; ``d_vars`` (S5a) = discriminators; ``kin_loc`` (S6)
= backbone + box_heads. ``pretrain`` = what S2 + S3 train (paper_vs_code §7.5, inferred).

Pattern semantics (no regexes): a pattern is a ``/``-separated scope path matched component by
component against the variable's op name; ``*`` matches within one component only. A pattern
ending in ``/`` must match whole components (``conv_a*_box/cls_moment/``); otherwise its last
component is a prefix (``aher/g_conv`` matches ``aher/g_conv1``, ``aher/g_conv_a3``). Matching is
anchored at the root, so the backbone's ``aher/g_conv1`` can never fall into ``generators``
(``g_conv_s*`` / ``g_conv_e*`` are top-level scopes), unlike upstream's substring filters which
relied on ``g_conv_s`` not occurring inside ``aher/``.

Limits: only trainable variables (``tf.compat.v1.trainable_variables``) are grouped; optimizer
slots and counters are not. A trainable variable matching no group (or several) is reported by
``assign_groups``; ``collect`` and ``step_var_list`` simply filter.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import tensorflow as tf

GROUPS = {
    "backbone": ("aher/g_conv",),
    "box_heads": ("aher/conv_a*_box/conv_cls/", "aher/conv_a*_box/conv_loc/", "aher/conv_a*_box/conv_iou/"),
    "cls_untrimmed": ("aher/conv_a*_box/cls_untrimmed/",),
    "cls_moment": ("aher/conv_a*_box/cls_moment/",),
    "transfer": ("aher/conv_a*_box/transfer/",),
    "generators": ("g_conv_s", "g_conv_e"),
    "discriminators": ("conv_a*_adv/",),
}

STEP_GROUPS = {
    "S1": ("backbone", "cls_moment"),                    # kin_cls: L_reg on K600 moments
    "S2": ("cls_untrimmed",),                            # anet_cls: L_reg on ANet foreground
    "S3": ("backbone", "box_heads", "transfer"),         # anet_loc: paper_vs_code §5.2 losses on ANet untrimmed
    "S4": ("generators",),                               # g_vars: paper_vs_code §5.2 losses on Ksyn
    "S5a": ("discriminators",),                          # d_vars: L_adD
    "S5bc": ("generators",),                             # g_vars: L_adG (run twice)
    "S6": ("backbone", "box_heads"),                     # kin_loc: paper_vs_code §5.2 losses on Ksyn
    "SM": ("backbone", "box_heads", "transfer"),         # AherNet_M: paper_vs_code §5.2 losses on moments without context
    "SL2": ("generators",),                              # AherNet_A-: L2 between generated and real context
    "pretrain": ("backbone", "box_heads", "cls_untrimmed", "transfer"),   # S2 + S3 (paper_vs_code §7.5)
}


def _matches(name, pattern):
    """Whether variable op name ``name`` lies under scope pattern ``pattern`` (see module doc)."""
    whole = pattern.endswith("/")
    parts = pattern.rstrip("/").split("/")
    components = name.split("/")
    if len(components) < len(parts) + (1 if whole else 0):
        return False
    for i, part in enumerate(parts):
        last_prefix = (i == len(parts) - 1) and not whole
        if not fnmatchcase(components[i], part + "*" if last_prefix else part):
            return False
    return True


def group_of(name):
    """Groups whose patterns match variable op name ``name`` (a tuple; one element when well formed)."""
    return tuple(group for group, patterns in GROUPS.items() if any(_matches(name, p) for p in patterns))


def _trainable(graph):
    graph = graph if graph is not None else tf.compat.v1.get_default_graph()
    return graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)


def _by_name(variables):
    return sorted(variables, key=lambda v: v.op.name)


def collect(group, graph=None):
    """Trainable variables of ``group`` in ``graph`` (default graph if None), sorted by name."""
    if group not in GROUPS:
        raise KeyError(f"unknown variable group {group!r}; expected one of {sorted(GROUPS)}")
    return _by_name(v for v in _trainable(graph) if group in group_of(v.op.name))


def step_var_list(step, graph=None):
    """Trainable variables updated by sub-step ``step`` (a key of STEP_GROUPS), sorted by name."""
    if step not in STEP_GROUPS:
        raise KeyError(f"unknown training sub-step {step!r}; expected one of {sorted(STEP_GROUPS)}")
    groups = set(STEP_GROUPS[step])
    return _by_name(v for v in _trainable(graph) if groups & set(group_of(v.op.name)))


def assign_groups(graph=None):
    """Map every trainable variable name to its group; ValueError if one matches none or several."""
    assignment, problems = {}, []
    for v in _trainable(graph):
        groups = group_of(v.op.name)
        if len(groups) != 1:
            problems.append(f"{v.op.name}: {groups or 'no group'}")
        else:
            assignment[v.op.name] = groups[0]
    if problems:
        raise ValueError("variables not in exactly one group: " + "; ".join(problems))
    return assignment
