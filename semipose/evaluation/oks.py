"""Object keypoint similarity between poses, OKS-NMS and keypoint rescoring (numpy only).

These follow the reference top-down pipeline (HRNet's `nms.py` and COCO evaluation):
a person's score is rescored from its confident keypoints, then near-duplicate poses of
the same image are removed greedily by OKS before the COCO evaluation.

Poses are given as (K, 3) arrays of x, y, score (or flat [x, y, s] * K lists, as in the
COCO results format).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np


class OksInputError(ValueError):
    """The poses, areas or sigmas given to an OKS function do not fit together."""


def as_pose_array(keypoints, num_joints: int | None = None, what: str = "keypoints") -> np.ndarray:
    """A (K, 3) float64 array from a flat [x, y, s] * K list or a (K, 3) array."""
    pose = np.asarray(keypoints, dtype=np.float64)
    if pose.size % 3 or pose.ndim not in (1, 2) or (pose.ndim == 2 and pose.shape[1] != 3):
        raise OksInputError(f"{what}: expected [x, y, s] * K values or a (K, 3) array, "
                            f"got shape {pose.shape}")
    pose = pose.reshape(-1, 3)
    if num_joints is not None and len(pose) != num_joints:
        raise OksInputError(f"{what}: expected {num_joints} joints, got {len(pose)}")
    return pose


def oks_iou(kpts_a, kpts_b, area_a: float, areas_b, sigmas, vis_thr: float | None = None
            ) -> np.ndarray:
    """OKS between one pose `kpts_a` (K, 3) and each of `kpts_b` (N, K, 3) -> (N,) float64.

    COCO's formula: e = d^2 / (2 sigma)^2 / (area + eps) / 2, OKS = mean of exp(-e) over the
    joints. As in the reference NMS, the area is the mean of the two poses' areas. With
    `vis_thr`, only the joints of `kpts_a` whose score exceeds it count (a pose with no such
    joint has OKS 0); without it every joint counts.
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    pose_a = as_pose_array(kpts_a, len(sigmas), "kpts_a")
    poses_b = np.asarray(kpts_b, dtype=np.float64)
    if poses_b.size % (3 * len(sigmas)):
        raise OksInputError(f"kpts_b: expected (N, {len(sigmas)}, 3) poses, got {poses_b.shape}")
    poses_b = poses_b.reshape(-1, len(sigmas), 3)
    areas_b = np.asarray(areas_b, dtype=np.float64).reshape(-1)
    if len(areas_b) != len(poses_b):
        raise OksInputError(f"areas_b: expected {len(poses_b)} areas, got {len(areas_b)}")

    variances = (2 * sigmas) ** 2
    squared_distance = ((poses_b[:, :, :2] - pose_a[None, :, :2]) ** 2).sum(axis=-1)
    mean_area = (area_a + areas_b) / 2
    e = squared_distance / variances / (mean_area[:, None] + np.spacing(1)) / 2

    counted = np.ones(len(sigmas), dtype=bool)
    if vis_thr is not None:
        counted = pose_a[:, 2] > vis_thr
    if not counted.any():
        return np.zeros(len(poses_b))
    return np.exp(-e[:, counted]).mean(axis=1)


def result_area(result: dict) -> float:
    """The area of a result for OKS: its "area", else its "bbox" w * h, else its keypoint extent.

    The keypoint extent is the rule pycocotools uses for keypoint results without a box.
    """
    if "area" in result:
        return float(result["area"])
    if "bbox" in result:
        _, _, width, height = result["bbox"]
        return float(width) * float(height)
    pose = as_pose_array(result["keypoints"])
    extent = pose[:, :2].max(axis=0) - pose[:, :2].min(axis=0)
    return float(extent[0] * extent[1])


def _nms_one_image(poses: np.ndarray, scores: np.ndarray, areas: np.ndarray, sigmas,
                   thr: float, vis_thr: float | None) -> list[int]:
    """Indices kept by greedy OKS-NMS: best score first, drop every pose with OKS > thr to it."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size > 0:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        overlap = oks_iou(poses[best], poses[rest], areas[best], areas[rest], sigmas, vis_thr)
        order = rest[overlap <= thr]
    return keep


def oks_nms(results: Sequence[dict], sigmas, thr: float = 0.9, vis_thr: float | None = None
            ) -> list[dict]:
    """The results (COCO results dicts) that survive OKS-NMS within their image, in input order.

    Each image is handled on its own: results are taken best score first, and every other
    result whose OKS to a kept one exceeds `thr` is dropped (threshold 0.9 in the recipe).
    """
    by_image = defaultdict(list)
    for index, result in enumerate(results):
        by_image[result["image_id"]].append(index)

    kept_indices = []
    for indices in by_image.values():
        poses = np.stack([as_pose_array(results[i]["keypoints"], len(sigmas),
                                        f"result #{i} keypoints") for i in indices])
        scores = np.array([float(results[i]["score"]) for i in indices])
        areas = np.array([result_area(results[i]) for i in indices])
        kept = _nms_one_image(poses, scores, areas, sigmas, thr, vis_thr)
        kept_indices.extend(indices[k] for k in kept)
    return [results[i] for i in sorted(kept_indices)]


def rescore(results: Sequence[dict], vis_thr: float = 0.2) -> list[dict]:
    """New results whose score is box_score * the mean score of the joints above `vis_thr`.

    The reference convention: a result with no joint above the threshold scores 0. Each
    returned result carries "box_score" (the incoming "box_score" if present, else the incoming
    "score"), so rescoring twice gives the same scores.
    """
    rescored = []
    for index, result in enumerate(results):
        box_score = float(result.get("box_score", result["score"]))
        joint_scores = as_pose_array(result["keypoints"], what=f"result #{index} keypoints")[:, 2]
        confident = joint_scores[joint_scores > vis_thr]
        keypoint_score = float(confident.mean()) if confident.size else 0.0
        rescored.append({**result, "box_score": box_score, "score": box_score * keypoint_score})
    return rescored
