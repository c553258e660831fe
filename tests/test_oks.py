"""OKS, OKS-NMS and rescoring: hand-computed numbers and pycocotools' own OKS."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from semipose.evaluation import OksInputError, oks_iou, oks_nms, rescore, result_area

TWO_SIGMAS = np.array([0.1, 0.2])


def test_oks_by_hand():
    pose_a = np.array([[0.0, 0.0, 0.9], [10.0, 0.0, 0.1]])
    pose_b = np.array([[[3.0, 4.0, 1.0], [10.0, 6.0, 1.0]]])  # d^2 = 25 and 36
    # mean area (100 + 300) / 2 = 200; variances (2 sigma)^2 = 0.04, 0.16
    e_first = 25 / 0.04 / 200 / 2  # 1.5625
    e_second = 36 / 0.16 / 200 / 2  # 0.5625
    expected = (math.exp(-e_first) + math.exp(-e_second)) / 2
    assert oks_iou(pose_a, pose_b, 100.0, [300.0], TWO_SIGMAS)[0] == pytest.approx(expected,
                                                                                   rel=1e-12)
    # with a visibility threshold only pose_a's confident first joint counts
    assert oks_iou(pose_a, pose_b, 100.0, [300.0], TWO_SIGMAS, vis_thr=0.2)[0] == pytest.approx(
        math.exp(-e_first), rel=1e-12)
    assert oks_iou(pose_a, pose_b, 100.0, [300.0], TWO_SIGMAS, vis_thr=0.95)[0] == 0.0


def test_oks_of_identical_poses_is_one_and_accepts_flat_lists():
    pose = [5.0, 6.0, 1.0, 7.0, 9.0, 1.0]
    assert oks_iou(pose, [pose, pose], 50.0, [50.0, 50.0], TWO_SIGMAS).tolist() == [1.0, 1.0]
    assert oks_iou(pose, np.zeros((0, 2, 3)), 50.0, [], TWO_SIGMAS).shape == (0,)


def test_oks_matches_pycocotools_for_equal_areas():
    """With equal areas and vis_thr=0 our OKS is COCOeval's computeOks (gt v > 0 joints)."""
    rng = np.random.default_rng(0)
    sigmas = np.array([0.05, 0.08, 0.1, 0.07])
    gt_pose = np.c_[rng.uniform(50, 150, (4, 2)), [2, 1, 0, 2]]
    dt_poses = gt_pose[None, :, :2] + rng.normal(0, 6, (5, 4, 2))
    area = 4000.0
    coco_gt = COCO()
    coco_gt.dataset = {
        "images": [{"id": 1}], "categories": [{"id": 1, "name": "person"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": area,
                         "bbox": [40, 40, 120, 120], "num_keypoints": 3,
                         "keypoints": gt_pose.ravel().tolist()}]}
    results = [{"image_id": 1, "category_id": 1, "score": 1.0 - 0.1 * i,
                "keypoints": np.c_[pose, np.ones(4)].ravel().tolist()}
               for i, pose in enumerate(dt_poses)]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt.createIndex()
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(results), iouType="keypoints")
    evaluator.params.kpt_oks_sigmas = sigmas
    evaluator._prepare()
    reference = evaluator.computeOks(1, 1)[:, 0]  # detections sorted by score, as given

    ours = oks_iou(gt_pose, np.c_[dt_poses.reshape(-1, 2), np.ones(20)].reshape(5, 4, 3),
                   area, [area] * 5, sigmas, vis_thr=0.0)
    np.testing.assert_allclose(ours, reference, rtol=1e-12)


def pose_result(image_id, score, offset, area=10000.0):
    keypoints = np.array([[100.0, 100.0, 0.9], [100.0, 200.0, 0.8], [150.0, 150.0, 0.7]])
    keypoints[:, :2] += offset
    return {"image_id": image_id, "category_id": 1, "score": score, "area": area,
            "keypoints": keypoints.ravel().tolist()}


def test_nms_drops_a_near_duplicate_and_keeps_a_distant_pose():
    sigmas = np.array([0.05, 0.08, 0.1])
    results = [
        pose_result(1, 0.6, offset=(1.0, 0.0)),     # near duplicate of the best: dropped
        pose_result(1, 0.9, offset=(0.0, 0.0)),     # best
        pose_result(1, 0.5, offset=(250.0, 0.0)),   # another person: kept
        pose_result(2, 0.3, offset=(0.0, 0.0)),     # same place, other image: kept
    ]
    kept = oks_nms(results, sigmas, thr=0.9)
    assert kept == [results[1], results[2], results[3]]
    assert oks_nms(results, sigmas, thr=1.0) == results  # nothing exceeds OKS 1
    assert oks_nms([], sigmas) == []


def test_result_area_rules():
    assert result_area({"area": 12.5, "bbox": [0, 0, 10, 10], "keypoints": []}) == 12.5
    assert result_area({"bbox": [3, 4, 10, 20], "keypoints": []}) == 200.0
    # no area, no box: the keypoint extent, as pycocotools does for keypoint results
    assert result_area({"keypoints": [0, 0, 1, 30, 10, 1, 10, 40, 0.2]}) == 30.0 * 40.0


def test_rescore_uses_confident_joints_only():
    results = [
        {"image_id": 1, "score": 0.8, "keypoints": [0, 0, 0.9, 1, 1, 0.1, 2, 2, 0.5]},
        {"image_id": 1, "score": 0.7, "keypoints": [0, 0, 0.1, 1, 1, 0.2, 2, 2, 0.05]},
    ]
    rescored = rescore(results, vis_thr=0.2)
    assert rescored[0]["box_score"] == 0.8
    assert rescored[0]["score"] == pytest.approx(0.8 * (0.9 + 0.5) / 2)
    assert rescored[1]["score"] == 0.0  # no joint above the threshold (0.2 is not above)
    assert results[0]["score"] == 0.8  # the input is left alone
    twice = rescore(rescored, vis_thr=0.2)
    assert [r["score"] for r in twice] == [r["score"] for r in rescored]


def test_bad_shapes_raise_a_clear_error():
    with pytest.raises(OksInputError, match="kpts_a"):
        oks_iou(np.zeros((3, 3)), np.zeros((1, 2, 3)), 1.0, [1.0], TWO_SIGMAS)
    with pytest.raises(OksInputError, match="areas_b"):
        oks_iou(np.zeros((2, 3)), np.zeros((2, 2, 3)), 1.0, [1.0], TWO_SIGMAS)
    with pytest.raises(OksInputError, match="result #0 keypoints"):
        oks_nms([{"image_id": 1, "score": 1.0, "keypoints": [1, 2, 3]}], TWO_SIGMAS)
