"""aher.priors: fixed class-agnostic windows from training GT statistics, on hand-made cases."""

import numpy as np
import pytest

from aher.data.annotations import Instance, Video
from aher.priors import PriorWindows, fit_windows, place, relative_instances


def video(vid, duration, *segments):
    return Video(vid, duration, "training", [Instance(s, e, "a") for s, e in segments])


def test_relative_instances_clip_and_skip():
    videos = [video("v1", 10.0, (0.0, 5.0), (6.0, 8.0)),
              video("v2", 20.0, (-4.0, 4.0), (19.0, 25.0), (30.0, 40.0)),    # clipped; the last is empty
              video("v3", 0.0, (0.0, 1.0))]                                   # no duration: skipped
    got = relative_instances(videos)
    assert got == pytest.approx(np.array([[0.25, 0.5], [0.7, 0.2], [0.1, 0.2], [0.975, 0.05]]))
    assert relative_instances([]).shape == (0, 2)


def test_two_separated_shapes_give_two_windows_ranked_by_frequency():
    points = relative_instances([video("v1", 10.0, (0.0, 5.0)), video("v2", 20.0, (0.0, 10.0)),
                                 video("v3", 4.0, (0.0, 2.0), (2.6, 3.4))])
    windows = fit_windows(points, n_windows=16)              # only two distinct shapes: k = 2
    assert len(windows) == 2
    assert windows.start == pytest.approx([0.0, 0.65]) and windows.end == pytest.approx([0.5, 0.85])
    assert windows.score == pytest.approx([0.75, 0.25])
    placed = place(windows, 20.0, 3)
    assert np.array(placed) == pytest.approx(np.array([[0.0, 10.0, 0.75, 3], [13.0, 17.0, 0.25, 3]]))
    assert all(isinstance(d[3], int) for d in placed)
    assert np.array(windows.as_rows()) == pytest.approx(np.array([[0.0, 0.5, 0.75], [0.65, 0.85, 0.25]]))


def test_kmeans_by_hand_and_clipping():
    points = np.array([[0.2, 0.1], [0.3, 0.1], [0.8, 0.4], [0.9, 0.4], [0.85, 0.5]])
    # init: distinct points by (length, centre) at ranks 1 and 3 -> (0.3, 0.1) and (0.9, 0.4);
    # one assignment step gives {0, 1} and {2, 3, 4}, which is stable
    windows = fit_windows(points, n_windows=2)
    centre, length = 0.85, (0.4 + 0.4 + 0.5) / 3
    assert windows.score == pytest.approx([0.6, 0.4])
    assert windows.start == pytest.approx([centre - length / 2, 0.2])
    assert windows.end == pytest.approx([1.0, 0.3])             # 0.85 + 0.2167 clipped to 1
    again = fit_windows(points[::-1].copy(), n_windows=2)     # order of the instances does not matter
    assert again.start == pytest.approx(windows.start) and again.score == pytest.approx(windows.score)


def test_one_window_is_the_mean_shape_and_no_instances_give_none():
    windows = fit_windows(np.array([[0.2, 0.2], [0.6, 0.4]]), n_windows=1)
    assert (windows.start, windows.end, windows.score) == (pytest.approx([0.25]), pytest.approx([0.55]),
                                                           pytest.approx([1.0]))
    empty = fit_windows(np.zeros((0, 2)))
    assert isinstance(empty, PriorWindows) and len(empty) == 0 and place(empty, 10.0, 0) == []
    with pytest.raises(ValueError, match="n_windows must be at least 1"):
        fit_windows(np.array([[0.5, 0.5]]), n_windows=0)
