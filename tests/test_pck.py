"""PCK / PCKh and their normalisers on hand-built numbers and a float64 re-computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from semipose.evaluation import PckInputError, bbox_size, mpii_head_size, pck, pckh, torso_size


def offsets(distances):
    """(N, K, 2) displacements of the given lengths along the 3-4-5 direction."""
    return np.asarray(distances, dtype=np.float64)[..., None] * np.array([0.6, 0.8])


def test_pck_hand_built():
    # thresholds alpha * normaliser = 2, 4, 2, 1; no distance is near its threshold
    normaliser = np.array([10.0, 20.0, 10.0, 5.0])
    distances = [[1.0, 3.0, 0.5],    # correct, wrong, (hidden)
                 [3.0, 5.0, 0.5],    # correct, wrong, (hidden)
                 [2.5, 1.5, 0.5],    # wrong, correct, (hidden)
                 [9.0, 0.5, 0.5]]    # (hidden), correct, (hidden)
    visible = np.array([[1, 1, 0], [1, 1, 0], [1, 1, 0], [0, 1, 0]], dtype=bool)
    gt = np.random.default_rng(0).uniform(0, 100, (4, 3, 2))
    pred = gt + offsets(distances)

    result = pck(pred, gt, visible, normaliser, alpha=0.2, joint_names=["a", "b", "c"])
    assert result["per_joint"][:2] == [2 / 3, 2 / 4]
    assert math.isnan(result["per_joint"][2])  # never visible
    assert result["mean"] == 4 / 7
    assert result["mean_of_joints"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert result["counted_joints"] == 7 and result["excluded_people"] == 0
    assert result["per_joint_by_name"]["b"] == 0.5


def test_pck_accepts_a_visibility_column_and_nan_predictions():
    gt = np.zeros((1, 2, 3))
    pred = np.array([[[np.nan, np.nan], [0.1, 0.0]]])
    result = pck(pred, gt, np.ones((1, 2), bool), [1.0], alpha=0.5)
    assert result["per_joint"] == [0.0, 1.0]  # a missing prediction is wrong, not an error


def test_nothing_visible_gives_nan_not_a_warning():
    with np.errstate(all="raise"):
        result = pck(np.zeros((2, 3, 2)), np.zeros((2, 3, 2)), np.zeros((2, 3), bool), [1.0, 1.0])
    assert math.isnan(result["mean"]) and math.isnan(result["mean_of_joints"])


def test_torso_size_and_exclusion():
    # joints: 0 = right shoulder, 1 = left hip, 2 = a wrist
    gt = np.array([[[0.0, 0.0], [3.0, 4.0], [10.0, 10.0]],
                   [[5.0, 5.0], [5.0, 5.0], [20.0, 20.0]]])  # torso of length 0: unusable
    torso = torso_size(gt, right_shoulder_idx=0, left_hip_idx=1)
    assert torso[0] == 5.0 and math.isnan(torso[1])

    pred = gt + offsets([[0.5, 0.5, 1.5], [0.0, 0.0, 0.0]])  # threshold 0.2 * 5 = 1
    result = pck(pred, gt, np.ones((2, 3), bool), torso, alpha=0.2)
    assert result["per_joint"] == [1.0, 1.0, 0.0]
    assert result["excluded_people"] == 1 and result["counted_joints"] == 3


def test_bbox_and_head_sizes():
    sizes = bbox_size([[10, 20, 30, 40], [0, 0, 50, 12], [0, 0, 0, 0]])
    assert sizes[:2].tolist() == [40.0, 50.0] and math.isnan(sizes[2])
    headboxes = np.array([[[10.0, 10.0], [40.0, 50.0]]])  # diagonal 50
    assert mpii_head_size(headboxes).tolist() == [0.6 * 50.0]


def test_pckh_matches_a_float64_recomputation():
    rng = np.random.default_rng(7)
    num_people, num_joints = 25, 16
    gt = rng.uniform(0, 300, (num_people, num_joints, 2)).astype(np.float32)
    pred = (gt + rng.normal(0, 8, gt.shape)).astype(np.float32)
    visible = rng.uniform(size=(num_people, num_joints)) > 0.2
    top_left = rng.uniform(0, 200, (num_people, 2))
    headboxes = np.stack([top_left, top_left + rng.uniform(15, 60, (num_people, 2))], axis=1)

    correct = np.zeros(num_joints)
    counted = np.zeros(num_joints)
    for person in range(num_people):  # the MPII rule, written out joint by joint
        x1, y1 = headboxes[person, 0]
        x2, y2 = headboxes[person, 1]
        head_size = 0.6 * math.sqrt((x2 - x1) ** 2 + (y2 - y1) ** 2)
        for joint in range(num_joints):
            if not visible[person, joint]:
                continue
            dx, dy = (float(pred[person, joint, axis]) - float(gt[person, joint, axis])
                      for axis in (0, 1))
            counted[joint] += 1
            correct[joint] += math.sqrt(dx * dx + dy * dy) / head_size <= 0.5

    result = pckh(pred, gt, visible, headboxes, alpha=0.5)
    np.testing.assert_allclose(result["per_joint"], correct / counted, rtol=1e-12)
    assert result["mean"] == pytest.approx(correct.sum() / counted.sum(), rel=1e-12)
    assert 0.2 < result["mean"] < 0.9  # a case where the threshold really decides


def test_mismatched_shapes_raise_a_clear_error():
    with pytest.raises(PckInputError, match="same"):
        pck(np.zeros((2, 3, 2)), np.zeros((2, 4, 2)), np.ones((2, 3), bool), [1.0, 1.0])
    with pytest.raises(PckInputError, match="normaliser"):
        pck(np.zeros((2, 3, 2)), np.zeros((2, 3, 2)), np.ones((2, 3), bool), [1.0])
    with pytest.raises(PckInputError, match="headboxes"):
        mpii_head_size(np.zeros((2, 4)))
