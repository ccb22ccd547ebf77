"""Tests of aher/model/context.py: the splice table of paper_vs_code §6.2, legacy resize, the spliced video, generators,
the batched builders against per-sample loops."""

import numpy as np
import pytest
import tensorflow as tf

from aher.model import variable_groups
from aher.model.context import (ContextConfig, _layout_tensors, context_l2_loss, generators, real_instances,
                                resize_segments, resize_temporal, splice, splice_layout, synthesize_untrimmed)

# paper_vs_code §6.2, T = 512: ratio_id -> (L, n1, n2, max start s (pos_id 19), odd recorded GT width, IoU(recorded, true))
TABLE_512 = {
    14: (358, 77, 77, 21, 281, 0.785),
    15: (384, 64, 64, 15, 320, 0.833),
    16: (409, 51, 52, 9, 358, 0.875),
    17: (435, 38, 39, 5, 397, 0.913),
    18: (460, 26, 26, 2, 434, 0.943),
    19: (486, 13, 13, 0, 473, 0.973),
}


def n_params(variables):
    return int(sum(np.prod(v.shape.as_list()) for v in variables))


def resize_np(x, out):
    """Legacy bilinear resize along axis 0 (align_corners=False, half_pixel_centers=False): src = dst * in / out."""
    n = x.shape[0]
    src = np.arange(out, dtype=np.float32) * (np.float32(n) / np.float32(out))
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = (src - lo.astype(np.float32))[:, None]
    return x[lo] + (x[hi] - x[lo]) * frac


def iou(a, b):
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


@pytest.mark.parametrize("ratio_id", sorted(TABLE_512))
def test_splice_table_of_reference_at_512(ratio_id):
    length, n1, n2, s_max, odd_width, odd_iou = TABLE_512[ratio_id]
    even = splice_layout(ratio_id, 19, odd=False)
    odd = splice_layout(ratio_id, 19, odd=True)
    fixed = splice_layout(ratio_id, 19, odd=True, fix_odd_gt=True)
    for lay in (even, odd, fixed):
        assert (lay["L"], lay["n1"], lay["n2"]) == (length, n1, n2)
    assert even["s"] == odd["s"] == s_max
    assert even["gt"] == even["span"] == (s_max, s_max + length)
    assert odd["span"] == (n1 + s_max, n1 + s_max + length)
    assert odd["gt"] == (n1 + s_max, s_max + length)                  # upstream bug: end misses "+ n1"
    assert odd["gt"][1] - odd["gt"][0] == odd_width
    assert round(iou(odd["gt"], odd["span"]), 3) == odd_iou
    assert fixed["gt"] == fixed["span"] == odd["span"]
    assert splice_layout(ratio_id, 19, odd=False, fix_odd_gt=True) == even   # the fix only touches odd samples


@pytest.mark.parametrize("temporal_length", [128, 256, 512])
def test_layout_is_consistent_and_tf_twin_matches_python(temporal_length):
    ratio, pos, odd = (a.ravel() for a in np.meshgrid(np.arange(1, 20), np.arange(0, 21), [False, True]))
    python = [splice_layout(int(r), int(p), bool(o), temporal_length) for r, p, o in zip(ratio, pos, odd)]
    for lay, o in zip(python, odd):
        assert lay["n1"] + lay["L"] + lay["n2"] == temporal_length
        assert 0 <= lay["s"] <= (lay["n2"] if o else lay["n1"])
        assert 0 <= lay["span"][0] < lay["span"][1] <= temporal_length
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        *tensors, check = _layout_tensors(tf.constant(ratio, tf.int32), tf.constant(pos, tf.int32),
                                          tf.constant(odd), temporal_length)
        got = sess.run(tensors + [check])[:-1]
    expected = [[lay[k] for lay in python] for k in ("L", "n1", "n2", "s")]
    np.testing.assert_array_equal(np.array(got), np.array(expected))


def test_moments_of_half_length_at_small_t():
    lay = splice_layout(14, 19, odd=True, temporal_length=128)
    assert (lay["L"], lay["n1"], lay["n2"], lay["s"]) == (89, 19, 20, 5)
    assert lay["gt"] == (24, 94) and lay["span"] == (24, 113)
    assert splice_layout(14, 19, odd=True, temporal_length=128, mode="concat")["gt"] == (19, 108)


def test_invalid_layouts_are_refused():
    with pytest.raises(ValueError, match="invalid context layout"):
        splice_layout(20, 5, odd=False)               # r = 1: no context left
    with pytest.raises(ValueError, match="invalid context layout"):
        splice_layout(14, -1, odd=False)              # negative start
    with pytest.raises(ValueError, match="unknown context mode"):
        splice_layout(14, 1, odd=False, mode="paper")
    with pytest.raises(ValueError, match="mode: 'paper' is not allowed; allowed: one of splice, concat"):
        ContextConfig(mode="paper")
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        ratio = tf.compat.v1.placeholder(tf.int32, [2])
        video, _ = splice(tf.zeros([2, 8, 1]), tf.zeros([2, 4, 1]), tf.zeros([2, 4, 1]), ratio,
                          tf.constant([1, 1]), temporal_length=16)
        assert sess.run(video, {ratio: [14, 15]}).shape == (2, 16, 1)
        with pytest.raises(tf.errors.InvalidArgumentError, match="invalid context layout"):
            sess.run(video, {ratio: [14, 20]})


@pytest.mark.parametrize("n_in,n_out", [(5, 3), (7, 1), (4, 4), (3, 10), (256, 358), (128, 77)])
def test_resize_is_legacy_bilinear(n_in, n_out):
    x = np.random.default_rng(n_in * 1000 + n_out).standard_normal((n_in, 3)).astype(np.float32)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        length = tf.compat.v1.placeholder(tf.int32, [])
        got = sess.run(resize_temporal(tf.constant(x), length), {length: n_out})
    assert got.shape == (n_out, 3)
    np.testing.assert_allclose(got, resize_np(x, n_out), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got[0], x[0])       # no half-pixel shift: step 0 reads source step 0


MOMENT, START, END = 1000.0, 1.0, 2.0     # channel-1 markers of moment, start context and end context


def recognisable_inputs(batch, t_moment, t_ctx):
    """Channel 0 encodes time, channel 1 which source the step comes from."""
    moments = np.stack([np.arange(t_moment), np.full(t_moment, MOMENT)], axis=-1).astype(np.float32)
    start = np.stack([np.arange(t_ctx) * 2.0, np.full(t_ctx, START)], axis=-1).astype(np.float32)
    end = np.stack([np.arange(t_ctx) * 3.0, np.full(t_ctx, END)], axis=-1).astype(np.float32)
    return tuple(np.repeat(a[None], batch, axis=0) for a in (moments, start, end))


def expected_video(moment, start, end, lay, odd, mode):
    mom, c1, c2 = resize_np(moment, lay["L"]), resize_np(start, lay["n1"]), resize_np(end, lay["n2"])
    s = lay["s"]
    if mode == "concat":
        return np.concatenate([c1, mom, c2])
    if not odd:
        return np.concatenate([c1[:s], mom, c1[s:], c2])
    return np.concatenate([c1, c2[:s], mom, c2[s:]])


@pytest.mark.parametrize("temporal_length,mode,fix_odd_gt", [(512, "splice", False), (128, "splice", True),
                                                             (256, "concat", False)])
def test_splice_puts_resized_moment_at_the_span(temporal_length, mode, fix_odd_gt):
    batch = 6
    moments, start, end = recognisable_inputs(batch, temporal_length // 2, temporal_length // 4)
    id_sets = [(np.array([14, 15, 16, 17, 18, 19]), np.array([19, 19, 10, 1, 19, 7])),
               (np.array([19, 14, 15, 14, 17, 16]), np.array([1, 19, 5, 12, 3, 19]))]
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        ratio = tf.compat.v1.placeholder(tf.int32, [batch])
        pos = tf.compat.v1.placeholder(tf.int32, [batch])
        video, gt = splice(tf.constant(moments), tf.constant(start), tf.constant(end), ratio, pos,
                           temporal_length, mode=mode, fix_odd_gt=fix_odd_gt)
        assert video.shape.as_list() == [batch, temporal_length, 2] and gt.shape.as_list() == [batch, 1, 2]
        assert video.dtype == tf.float32 and gt.dtype == tf.float32
        results = [sess.run([video, gt], {ratio: r, pos: p}) for r, p in id_sets]
    for (ratios, positions), (vid, boxes) in zip(id_sets, results):
        for i in range(batch):
            odd = i % 2 == 1
            lay = splice_layout(ratios[i], positions[i], odd, temporal_length, fix_odd_gt, mode)
            np.testing.assert_allclose(vid[i], expected_video(moments[i], start[i], end[i], lay, odd, mode),
                                       rtol=1e-6, atol=1e-4)
            begin, stop = lay["span"]
            marker = vid[i, :, 1]
            assert np.all(marker[begin:stop] == MOMENT) and not np.any(np.delete(marker, np.s_[begin:stop]) == MOMENT)
            np.testing.assert_allclose(vid[i, begin:stop, 0], resize_np(moments[i], lay["L"])[:, 0], rtol=1e-6)
            # start context first (n1 steps in total), then end context (n2 steps)
            outside = np.delete(marker, np.s_[begin:stop])
            np.testing.assert_array_equal(outside, [START] * lay["n1"] + [END] * lay["n2"])
            np.testing.assert_array_equal(boxes[i, 0], lay["gt"])
            if mode == "concat":
                assert lay["gt"] == lay["span"] == (lay["n1"], lay["n1"] + lay["L"])
            elif odd and not fix_odd_gt:
                assert boxes[i, 0, 1] == stop - lay["n1"]
            else:
                np.testing.assert_array_equal(boxes[i, 0], [begin, stop])


def test_generators_shapes_non_negative_and_gradients():
    rng = np.random.default_rng(3)
    config = ContextConfig(hidden_width=5)
    with tf.Graph().as_default() as graph:
        moments = tf.compat.v1.placeholder(tf.float32, [4, 64, 3])
        start, end = generators(moments, config)
        assert start.shape.as_list() == end.shape.as_list() == [4, 32, 3]
        video, gt = synthesize_untrimmed(moments, tf.constant([14, 15, 18, 19]), tf.constant([19, 3, 19, 10]),
                                         config, temporal_length=128)
        assert video.shape.as_list() == [4, 128, 3] and gt.shape.as_list() == [4, 1, 2]
        variables = tf.compat.v1.trainable_variables()
        assert sorted(v.op.name for v in variables) == sorted(f"g_conv_{t}{k}/{w}" for t in "se" for k in "12"
                                                              for w in ("weights", "biases"))
        grads = tf.gradients(tf.reduce_sum(tf.square(video)), variables)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            feed = {moments: rng.standard_normal((4, 64, 3)).astype(np.float32)}
            s, e, vid, boxes, g = sess.run([start, end, video, gt, grads], feed)
    assert s.min() >= 0 and e.min() >= 0 and s.max() > 0 and e.max() > 0
    assert all(np.abs(x).sum() > 0 for x in g)
    expected = [splice_layout(r, p, i % 2 == 1, 128)["gt"] for i, (r, p) in enumerate(zip([14, 15, 18, 19],
                                                                                         [19, 3, 19, 10]))]
    np.testing.assert_array_equal(boxes[:, 0], expected)
    for i, (r, p) in enumerate(zip([14, 15, 18, 19], [19, 3, 19, 10])):   # outside the moment: context >= 0
        lay = splice_layout(r, p, i % 2 == 1, 128)
        assert np.delete(vid[i], np.s_[lay["span"][0]:lay["span"][1]], axis=0).min() >= 0


def test_generator_parameter_count_sharing_and_group():
    with tf.Graph().as_default():
        moments = tf.compat.v1.placeholder(tf.float32, [None, 256, 2048])
        generators(moments)
        generators(moments)                                   # AUTO_REUSE: same variables
        variables = tf.compat.v1.trainable_variables()
        assert n_params(variables) == 25_171_968
        assert set(variable_groups.assign_groups().values()) == {"generators"}
        assert variable_groups.step_var_list("S4") == variable_groups.collect("generators")
        assert len(variable_groups.collect("generators")) == 8


def test_generators_refuse_nested_variable_scope():
    with tf.Graph().as_default(), tf.compat.v1.variable_scope("outer"):
        with pytest.raises(ValueError, match="outside any variable scope"):
            generators(tf.zeros([1, 8, 2]), ContextConfig(hidden_width=2))


# --- the batched builders against a per-sample loop over the ResizeBilinear kernel ---

def loop_splice(moments, start_ctx, end_ctx, lay, mode):
    """Per-sample reference: each sample's pieces resized by the kernel and concatenated (paper_vs_code §6.2).

    ``lay`` maps "L", "n1", "n2", "s" to int32 [B] tensors (fed from ``splice_layout``).
    """
    videos = []
    for i in range(moments.shape[0]):
        mom = resize_temporal(moments[i], lay["L"][i])
        ctx1 = resize_temporal(start_ctx[i], lay["n1"][i])
        ctx2 = resize_temporal(end_ctx[i], lay["n2"][i])
        s = lay["s"][i]
        if mode == "concat":
            pieces = [ctx1, mom, ctx2]
        elif i % 2 == 0:
            pieces = [ctx1[:s], mom, ctx1[s:], ctx2]
        else:
            pieces = [ctx1, ctx2[:s], mom, ctx2[s:]]
        videos.append(tf.concat(pieces, axis=0))
    return tf.stack(videos)


def all_valid_ids(batch):
    """Every (ratio_id 14..19, pos_id 1..19) at both parities, in batches of ``batch`` (even) slots.

    Yields (ratio_ids, pos_ids), each int32 [batch]; slot i has parity i % 2.
    """
    pairs = [(r, p) for r in range(14, 20) for p in range(1, 20)]
    half = batch // 2
    for k in range(0, len(pairs), half):
        chunk = pairs[k:k + half] + pairs[:max(0, k + half - len(pairs))]
        yield tuple(np.repeat(np.array(chunk, np.int32)[:, j], 2) for j in (0, 1))


@pytest.mark.parametrize("sizes", [(512, 256, 128, 3), (128, 37, 19, 2)], ids=["T512", "T128_odd_sizes"])
@pytest.mark.parametrize("mode,fix_odd_gt", [("splice", False), ("splice", True), ("concat", False)])
def test_splice_is_bit_identical_to_the_per_sample_loop(sizes, mode, fix_odd_gt):
    """Every valid (ratio_id, pos_id) at both parities, random inputs: video, GT and the gradients
    w.r.t. moments and contexts (``ResizeBilinearGrad`` in the loop) bit-identical."""
    total, t_moment, t_ctx, depth = sizes
    batch = 6
    rng = np.random.default_rng(total + t_moment)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        inputs = [tf.compat.v1.placeholder(tf.float32, [batch, n, depth]) for n in (t_moment, t_ctx, t_ctx)]
        ratio, pos = (tf.compat.v1.placeholder(tf.int32, [batch]) for _ in range(2))
        lay = {k: tf.compat.v1.placeholder(tf.int32, [batch]) for k in ("L", "n1", "n2", "s")}
        video, gt = splice(*inputs, ratio, pos, total, mode=mode, fix_odd_gt=fix_odd_gt)
        reference = loop_splice(*inputs, lay, mode)
        weights = tf.compat.v1.placeholder(tf.float32, [batch, total, depth])
        grads = [tf.gradients(tf.reduce_sum(v * weights), inputs) for v in (video, reference)]
        for ratio_ids, pos_ids in all_valid_ids(batch):
            layouts = [splice_layout(r, p, i % 2 == 1, total, fix_odd_gt, mode)
                       for i, (r, p) in enumerate(zip(ratio_ids, pos_ids))]
            feed = {ratio: ratio_ids, pos: pos_ids, **{lay[k]: [x[k] for x in layouts] for k in lay}}
            feed.update({t: rng.standard_normal(t.shape.as_list()).astype(np.float32) for t in inputs + [weights]})
            got, boxes, expected, (g_new, g_ref) = sess.run([video, gt, reference, grads], feed)
            assert got.shape == (batch, total, depth)
            assert np.array_equal(got, expected), (ratio_ids, pos_ids)
            np.testing.assert_array_equal(boxes[:, 0], [x["gt"] for x in layouts])
            assert all(np.array_equal(a, b) for a, b in zip(g_new, g_ref)), (ratio_ids, pos_ids)


def loop_real_instances(features, gt, length):
    """Per-sample reference of ``real_instances``."""
    t_len, out = features.shape[1], []
    for i in range(features.shape[0]):
        s = tf.clip_by_value(tf.cast(tf.floor(gt[i, 0, 0]), tf.int32), 0, t_len - 1)
        e = tf.clip_by_value(tf.cast(tf.math.ceil(gt[i, 0, 1]), tf.int32), s + 1, t_len)
        out.append(resize_temporal(features[i, s:e], length))
    return tf.stack(out)


def loop_context_l2_loss(features, gt, generated_start, generated_end):
    """Per-sample reference of ``context_l2_loss``: (loss, real start contexts, real end contexts)."""
    t_len, t_ctx = features.shape[1], generated_start.shape[1]
    errors, valid, starts, ends = [], [], [], []
    for i in range(features.shape[0]):
        s = tf.cast(tf.floor(gt[i, 0, 0]), tf.int32)
        e = tf.cast(tf.math.ceil(gt[i, 0, 1]), tf.int32)
        ok = tf.logical_and(tf.logical_and(s >= 1, e <= t_len - 1), e - s >= 2)
        s_c = tf.clip_by_value(s, 1, t_len - 2)
        e_c = tf.clip_by_value(e, s_c + 1, t_len - 1)
        starts.append(resize_temporal(features[i, :s_c], t_ctx))
        ends.append(resize_temporal(features[i, e_c:], t_ctx))
        err = 0.5 * (tf.reduce_mean(tf.square(generated_start[i] - starts[-1]))
                     + tf.reduce_mean(tf.square(generated_end[i] - ends[-1])))
        errors.append(tf.where(ok, err, 0.0))
        valid.append(tf.cast(ok, tf.float32))
    return tf.math.divide_no_nan(tf.add_n(errors), tf.add_n(valid)), tf.stack(starts), tf.stack(ends)


# first GT instances: inside, fractional, touching either edge, too short, empty, padding, reversed
INSTANCE_GT = [[2, 14], [8.5, 30.2], [0, 10], [16, 32], [5, 6], [7, 7], [-1, -1], [20, 3], [1, 31], [0.2, 31.9],
               [30, 31], [3.7, 4.1]]


def test_real_instances_and_context_l2_loss_match_the_per_sample_loop():
    t_len, depth, t_moment, t_ctx = 32, 3, 16, 8
    batch = len(INSTANCE_GT)
    rng = np.random.default_rng(7)
    gt = -np.ones((batch, 4, 2), np.float32)
    gt[:, 0] = INSTANCE_GT
    arrays = [rng.standard_normal(shape).astype(np.float32)
              for shape in ((batch, t_len, depth), (batch, t_ctx, depth), (batch, t_ctx, depth))]
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        features, gen_start, gen_end = (tf.constant(a) for a in arrays)
        gt_t = tf.constant(gt)
        new = [real_instances(features, gt_t, t_moment), context_l2_loss(features, gt_t, gen_start, gen_end)]
        ref = [loop_real_instances(features, gt_t, t_moment), loop_context_l2_loss(features, gt_t, gen_start, gen_end)]
        s_c = tf.clip_by_value(tf.cast(tf.floor(gt_t[:, 0, 0]), tf.int32), 1, t_len - 2)
        e_c = tf.clip_by_value(tf.cast(tf.math.ceil(gt_t[:, 0, 1]), tf.int32), s_c + 1, t_len - 1)
        contexts = [resize_segments(features, tf.zeros_like(s_c), s_c, t_ctx),
                    resize_segments(features, e_c, t_len - e_c, t_ctx)]
        grads = [tf.gradients(loss, [gen_start, gen_end]) for loss in (new[1], ref[1][0])]
        (instances, loss, starts, ends), (ref_instances, (ref_loss, ref_starts, ref_ends)), (g_new, g_ref) = sess.run(
            [new + contexts, ref, grads])
    assert instances.shape == (batch, t_moment, depth)
    assert np.array_equal(instances, ref_instances)
    assert np.array_equal(starts, ref_starts) and np.array_equal(ends, ref_ends)
    assert all(np.array_equal(a, b) for a, b in zip(g_new, g_ref))
    assert loss > 0
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6)      # one reduction instead of B: last-bit differences


@pytest.mark.parametrize("n_in,n_out", [(5, 3), (7, 1), (4, 4), (3, 10), (256, 358), (128, 77)])
def test_resize_segments_is_the_kernel_on_every_slice(n_in, n_out):
    rng = np.random.default_rng(n_in + n_out)
    x = rng.standard_normal((3, n_in + 4, 2)).astype(np.float32)
    starts = np.array([0, 2, 4], np.int32)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        got = sess.run(resize_segments(tf.constant(x), tf.constant(starts), tf.fill([3], n_in), n_out))
        expected = sess.run([resize_temporal(tf.constant(x[i, s:s + n_in]), n_out) for i, s in enumerate(starts)])
    assert np.array_equal(got, np.stack(expected))


def test_graph_size_does_not_depend_on_the_batch_size():
    counts = []
    for batch in (2, 40):
        with tf.Graph().as_default() as graph:
            def zeros(n):
                return tf.compat.v1.placeholder(tf.float32, [batch, n, 4])     # tf.zeros folds small sizes
            splice(zeros(64), zeros(32), zeros(32), tf.fill([batch], 14), tf.fill([batch], 3), 128)
            splice(zeros(64), zeros(32), zeros(32), tf.fill([batch], 14), tf.fill([batch], 3), 128, mode="concat")
            gt = tf.compat.v1.placeholder(tf.float32, [batch, 3, 2])
            real_instances(zeros(128), gt, 64)
            context_l2_loss(zeros(128), gt, zeros(32), zeros(32))
            counts.append(len(graph.get_operations()))
    assert counts[0] == counts[1]
