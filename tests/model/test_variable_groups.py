"""Tests of aher/model/variable_groups.py against the table of paper_vs_code §7.2 (which sub-step updates what).

The expected sets are spelt out by hand from the reference for a tiny 3-layer graph holding every
kind of variable: backbone, box heads, pooled classifiers of both label spaces, weight transfer,
and stand-in generators / discriminators created under their top-level scopes (paper_vs_code §6.1, paper_vs_code §6.3).
"""

import pytest
import tensorflow as tf

from aher.model.backbone import BackboneConfig, backbone
from aher.model.heads import box_heads, pooled_classifier
from aher.model.layers import conv1d
from aher.model.variable_groups import (GROUPS, STEP_GROUPS, assign_groups, collect, group_of,
                                        step_var_list)
from aher.model.weight_transfer import transfer_weights

TINY = BackboneConfig(input_dim=3, conv1_width=4, conv2_width=4, anchor_widths=(2, 3, 4))


def wb(*scopes):
    return {f"{s}/{w}" for s in scopes for w in ("weights", "biases")}


BACKBONE = wb("aher/g_conv1", "aher/g_conv2", "aher/g_conv_a1", "aher/g_conv_a2", "aher/g_conv_a3")
BOX_HEADS = wb("aher/conv_a1_box/conv_cls", "aher/conv_a1_box/conv_loc", "aher/conv_a1_box/conv_iou",
               "aher/conv_a2_box/conv_cls", "aher/conv_a2_box/conv_loc", "aher/conv_a2_box/conv_iou",
               "aher/conv_a3_box/conv_cls", "aher/conv_a3_box/conv_loc", "aher/conv_a3_box/conv_iou")
CLS_MOMENT = wb("aher/conv_a1_box/cls_moment", "aher/conv_a2_box/cls_moment", "aher/conv_a3_box/cls_moment")
CLS_UNTRIMMED = wb("aher/conv_a1_box/cls_untrimmed", "aher/conv_a2_box/cls_untrimmed",
                   "aher/conv_a3_box/cls_untrimmed")
TRANSFER = wb("aher/conv_a1_box/transfer/fc1", "aher/conv_a1_box/transfer/fc2",
              "aher/conv_a1_box/transfer/bias_fc1", "aher/conv_a1_box/transfer/bias_fc2",
              "aher/conv_a2_box/transfer/fc1", "aher/conv_a2_box/transfer/fc2",
              "aher/conv_a2_box/transfer/bias_fc1", "aher/conv_a2_box/transfer/bias_fc2",
              "aher/conv_a3_box/transfer/fc1", "aher/conv_a3_box/transfer/fc2",
              "aher/conv_a3_box/transfer/bias_fc1", "aher/conv_a3_box/transfer/bias_fc2")
GENERATORS = wb("g_conv_s1", "g_conv_s2", "g_conv_e1", "g_conv_e2")
DISCRIMINATORS = wb("conv_a1_adv/d_conv_adv", "conv_a2_adv/d_conv_adv", "conv_a3_adv/d_conv_adv")

# paper_vs_code §7.2, "Which step updates which variable"
EXPECTED_STEPS = {
    "S1": BACKBONE | CLS_MOMENT,                        # kin_cls
    "S2": CLS_UNTRIMMED,                                # anet_cls
    "S3": BACKBONE | BOX_HEADS | TRANSFER,              # anet_loc
    "S4": GENERATORS,                                   # g_vars
    "S5a": DISCRIMINATORS,                              # d_vars
    "S5bc": GENERATORS,                                 # g_vars
    "S6": BACKBONE | BOX_HEADS,                         # kin_loc
    "pretrain": CLS_UNTRIMMED | BACKBONE | BOX_HEADS | TRANSFER,   # S2 + S3 (paper_vs_code §7.5)
    # the paper's baselines (paper_vs_code §11.2), not in the release:
    "SM": BACKBONE | BOX_HEADS | TRANSFER,              # AherNet_M: localization on moments alone
    "SL2": GENERATORS,                                  # AherNet_A-: L2 context loss
}
EXPECTED_GROUPS = {"backbone": BACKBONE, "box_heads": BOX_HEADS, "cls_moment": CLS_MOMENT,
                   "cls_untrimmed": CLS_UNTRIMMED, "transfer": TRANSFER, "generators": GENERATORS,
                   "discriminators": DISCRIMINATORS}


def build_full_graph():
    """Every kind of AherNet variable at tiny widths, in the order the training graph creates them."""
    moments = tf.zeros([2, 16, 3])
    synthetic = tf.zeros([2, 32, 3])
    untrimmed = tf.zeros([2, 32, 3])
    # Kcls
    cls_moment = [pooled_classifier(e, j, 4, "moment") for j, e in enumerate(backbone(moments, TINY, 3), 1)]
    for j, e in enumerate(backbone(moments, TINY, 3), 1):
        box_heads(e, j)
    # generators G1, G2 (top level, paper_vs_code §6.1)
    conv1d(conv1d(moments, 4, 3, 1, "g_conv_s1"), 3, 3, 2, "g_conv_s2")
    conv1d(conv1d(moments, 4, 3, 1, "g_conv_e1"), 3, 3, 2, "g_conv_e2")
    # Ksyn / Afg / Aun: loc graphs with transfer, ANet pooled classifier
    syn_ends = backbone(synthetic, TINY, 3)
    for j, e in enumerate(syn_ends, 1):
        box_heads(e, j)
        transfer_weights(cls_moment[j - 1][1], cls_moment[j - 1][2], j)
    un_ends = backbone(untrimmed, TINY, 3)
    for j, e in enumerate(un_ends, 1):
        _, w, b = pooled_classifier(e, j, 2, "untrimmed")
        box_heads(e, j)
        transfer_weights(w, b, j)
    # discriminators (top level, paper_vs_code §6.3), real then fake
    for ends in (un_ends, syn_ends):
        for j, e in enumerate(ends, 1):
            with tf.compat.v1.variable_scope(f"conv_a{j}_adv", reuse=tf.compat.v1.AUTO_REUSE):
                conv1d(e, 3, 3, 1, "d_conv_adv", activation=None)
    tf.compat.v1.train.get_or_create_global_step()             # non-trainable: never grouped


def names(variables):
    return [v.op.name for v in variables]


def test_step_var_lists_match_reference_table():
    with tf.Graph().as_default() as graph:
        build_full_graph()
        all_names = set(names(tf.compat.v1.trainable_variables()))
        assert all_names == set().union(*EXPECTED_GROUPS.values())           # the graph is what we think
        assert set(STEP_GROUPS) == set(EXPECTED_STEPS)
        for step, expected in EXPECTED_STEPS.items():
            got = names(step_var_list(step, graph))
            assert set(got) == expected, step
            assert got == sorted(got) and len(got) == len(set(got)), step
        for group, expected in EXPECTED_GROUPS.items():
            assert set(names(collect(group))) == expected, group


def test_groups_are_disjoint_and_cover_every_trainable_variable():
    with tf.Graph().as_default() as graph:
        build_full_graph()
        assignment = assign_groups(graph)
        assert set(assignment) == set(names(tf.compat.v1.trainable_variables()))
        for group, expected in EXPECTED_GROUPS.items():
            assert {n for n, g in assignment.items() if g == group} == expected
        assert "global_step" not in assignment
        with tf.compat.v1.variable_scope("aher"):
            tf.compat.v1.get_variable("stray", shape=[1])
        with pytest.raises(ValueError, match="aher/stray"):
            assign_groups(graph)


def test_backbone_never_matches_generator_or_discriminator_patterns():
    assert set(GROUPS) == set(EXPECTED_GROUPS)
    assert group_of("aher/g_conv1/weights") == ("backbone",)
    assert group_of("aher/g_conv_a1/biases") == ("backbone",)
    assert group_of("aher/g_conv_s1/weights") == ("backbone",)       # under aher/: not a generator
    assert group_of("g_conv_s2/weights") == ("generators",)
    assert group_of("g_conv1/weights") == ()                          # top-level g_conv1 is nothing known
    assert group_of("conv_a7_adv/d_conv_adv/weights") == ("discriminators",)
    assert group_of("aher/conv_a7_box/conv_iou/biases") == ("box_heads",)
    assert group_of("aher/conv_a7_box/conv_iou_extra/biases") == ()   # whole components only
    assert group_of("aher/conv_a12_box/transfer/bias_fc3/weights") == ("transfer",)


def test_unknown_names_raise():
    with tf.Graph().as_default():
        with pytest.raises(KeyError):
            collect("heads")
        with pytest.raises(KeyError):
            step_var_list("S5")
