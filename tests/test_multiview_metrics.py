"""MPJPE and JDR against float64 loops written out by hand."""
import math

import numpy as np
import pytest

from semipose.evaluation.multiview_metrics import jdr, mpjpe


def test_mpjpe_absolute_and_root_aligned_match_a_loop():
    rng = np.random.default_rng(0)
    truth = rng.normal(0, 500, (6, 5, 3))
    predicted = truth + rng.normal(0, 30, truth.shape) + np.array([100.0, 0, 0])  # a global shift
    predicted[2, 3] = np.nan
    errors = [[math.dist(predicted[f, j], truth[f, j]) for j in range(5)] for f in range(6)]
    flat = [e for row in errors for e in row if not math.isnan(e)]
    result = mpjpe(predicted, truth)
    assert result["mean"] == pytest.approx(sum(flat) / len(flat), rel=1e-12)
    assert result["missing"] == 1
    assert result["per_joint"][3] == pytest.approx(np.mean([errors[f][3] for f in range(6) if f != 2]))
    aligned = mpjpe(predicted, truth, root=[0])
    loop = [math.dist(predicted[f, j] - predicted[f, 0], truth[f, j] - truth[f, 0])
            for f in range(6) for j in range(1, 5) if not (f == 2 and j == 3)]
    assert aligned["mean"] == pytest.approx(np.mean(loop), rel=1e-12)
    assert aligned["mean"] < result["mean"]  # the shift is gone
    hips = mpjpe(predicted, truth, root=[1, 2])
    centre = lambda pose: (pose[1] + pose[2]) / 2  # noqa: E731
    assert hips["per_joint"][0] == pytest.approx(np.mean(
        [math.dist(predicted[f, 0] - centre(predicted[f]), truth[f, 0] - centre(truth[f])) for f in range(6)]))


def test_jdr_counts_joints_closer_than_half_the_head():
    truth = np.zeros((2, 3, 2))
    predicted = np.array([[[4.9, 0], [5.1, 0], [0, 0]], [[0, 9.9], [np.nan, 0], [30, 0]]])
    labelled = np.array([[True, True, True], [True, True, False]])
    result = jdr(predicted, truth, labelled, head_size=np.array([10.0, 20.0]))
    # image 0 threshold 5: hit, miss, hit; image 1 threshold 10: hit, NaN = miss, (unlabelled)
    assert result["per_joint"].tolist() == [1.0, 0.0, 1.0]
    assert result["mean"] == pytest.approx(3 / 5)


def test_bad_shapes_and_head_sizes_are_refused():
    with pytest.raises(ValueError, match="mpjpe"):
        mpjpe(np.zeros((2, 3, 3)), np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="head sizes"):
        jdr(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), np.ones((1, 2), bool), 0.0)
