"""Anchor layers (paper_vs_code §2.2-2.3)."""

import numpy as np
import pytest

from aher.model.anchors import (RATIOS, AnchorLayer, anchor_layers, clipped_anchor_bounds,
                                flat_anchors, num_anchor_layers)


@pytest.mark.parametrize("t, n_layers, lengths, n_cells", [
    (512, 8, [128, 64, 32, 16, 8, 4, 2, 1], 255),
    (256, 7, [64, 32, 16, 8, 4, 2, 1], 127),
    (128, 6, [32, 16, 8, 4, 2, 1], 63),
    (8, 2, [2, 1], 3),
])
def test_layer_counts(t, n_layers, lengths, n_cells):
    layers = anchor_layers(t)
    assert num_anchor_layers(t) == n_layers == len(layers)
    assert [layer.index for layer in layers] == list(range(1, n_layers + 1))
    assert [layer.length for layer in layers] == lengths
    assert sum(layer.length for layer in layers) == n_cells
    assert sum(layer.num_anchors for layer in layers) == 3 * n_cells
    centers, widths = flat_anchors(layers)
    assert centers.shape == widths.shape == (3 * n_cells,)
    for layer in layers:
        assert layer.step == t / layer.length
        np.testing.assert_allclose(layer.centers / t, (np.arange(layer.length) + 0.5) / layer.length)  # Eq. 3


def test_paper_scale_has_765_anchors():
    centers, _ = flat_anchors(anchor_layers(512))
    assert centers.size == 765


@pytest.mark.parametrize("bad", [0, 4, 100, 511, -8, 512.0, "512", True, None])
def test_bad_temporal_length(bad):
    with pytest.raises(ValueError):
        num_anchor_layers(bad)
    with pytest.raises(ValueError):
        anchor_layers(bad)


def test_numpy_integer_temporal_length():
    assert num_anchor_layers(np.int64(256)) == 7


def test_ratios_and_widths_of_reference():
    assert RATIOS == (1.0, 1.26, 1.587)
    layers = anchor_layers(512)
    assert [layer.step for layer in layers] == [4, 8, 16, 32, 64, 128, 256, 512]
    np.testing.assert_allclose(layers[0].widths, [4, 5.04, 6.348])
    np.testing.assert_allclose(layers[6].widths, [256, 322.56, 406.272])
    np.testing.assert_allclose(layers[7].widths, [512, 645.12, 812.544])
    np.testing.assert_array_equal(layers[7].centers, [256.0])
    np.testing.assert_array_equal(layers[6].centers, [128.0, 384.0])
    np.testing.assert_array_equal(layers[0].centers[:3], [2.0, 6.0, 10.0])
    assert layers[0].centers[-1] == 510.0


def test_flat_order_is_layer_cell_anchor():
    layers = anchor_layers(128)
    centers, widths = flat_anchors(layers)
    offset = 0
    for layer in layers:
        for t in range(layer.length):
            for a in range(3):
                n = offset + 3 * t + a
                assert centers[n] == layer.centers[t]
                assert widths[n] == layer.widths[a]
        offset += layer.num_anchors
    assert offset == centers.size
    # first anchors: layer 1, cell 0, anchors 0..2, then cell 1
    np.testing.assert_allclose(widths[:4], [4, 5.04, 6.348, 4])
    np.testing.assert_array_equal(centers[:4], [2, 2, 2, 6])


def test_clipped_bounds_use_t_minus_one():
    lo, hi = clipped_anchor_bounds(np.array([2.0, 2.0, 510.0, 256.0]), np.array([4.0, 6.348, 4.0, 812.544]), 512)
    np.testing.assert_allclose(lo, [0.0, 0.0, 508.0, 0.0])
    np.testing.assert_allclose(hi, [4.0, 5.174, 511.0, 511.0])


def test_clipped_bounds_broadcast():
    layer = anchor_layers(512)[0]
    lo, hi = clipped_anchor_bounds(layer.centers[:, None], layer.widths[None, :], 512)
    assert lo.shape == hi.shape == (128, 3)
    assert np.all(lo >= 0) and np.all(hi <= 511) and np.all(hi > lo)


def test_layers_are_immutable():
    layer = anchor_layers(512)[0]
    assert isinstance(layer, AnchorLayer)
    with pytest.raises(ValueError):
        layer.centers[0] = 1.0
    with pytest.raises(AttributeError):
        layer.step = 2.0


def test_custom_ratios():
    layer = anchor_layers(64, ratios=(1.0, 2.0))[0]
    np.testing.assert_array_equal(layer.widths, [4.0, 8.0])
    assert layer.num_anchors == 32
    with pytest.raises(ValueError):
        anchor_layers(64, ratios=(1.0, -1.0))
