"""Multi-view scoring: 2D predictions per camera image -> JDR per view, triangulated 3D -> MPJPE.

Per frame, each view's predicted joints (distorted pixels, as the network saw them) are
undistorted with its camera, then triangulated by confidence-weighted DLT (optionally with
RANSAC over views). Metrics are keyed so that `compare` tables can pick them up:
`jdr`, `jdr/JOINT`, `mpjpe_abs_mm`, `mpjpe_abs_mm/JOINT`, `mpjpe_root_mm` (root-aligned),
`mpjpe_root_mm/JOINT`, plus `mv_frames` and `mv_missing_3d`.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from semipose.data.multiview import MultiviewSet
from semipose.evaluation.multiview_metrics import jdr, mpjpe, named_per_joint
from semipose.evaluation.triangulation import triangulate, triangulate_ransac, undistort_points


def _by_image(image_ids: np.ndarray, keypoints: np.ndarray, scores: Optional[np.ndarray] = None) -> dict:
    """The best-scoring person per image id (one person per multi-view image)."""
    best = {}
    order = np.argsort(-scores) if scores is not None else range(len(image_ids))
    for index in order:
        best.setdefault(int(image_ids[index]), keypoints[index])
    return best


def triangulate_frames(dataset: MultiviewSet, predicted: dict, ransac_px: Optional[float] = None) -> np.ndarray:
    """{image id: (K, 3) x, y, confidence} -> (F, K, 3) world points (NaN where < 2 views)."""
    poses = []
    for frame in dataset.frames:
        names = [name for name in frame.views if frame.views[name] in predicted]
        if len(names) < 2:
            poses.append(None)
            continue
        points = np.stack([undistort_points(predicted[frame.views[n]][:, :2], dataset.cameras[n].K,
                                            dataset.cameras[n].dist) for n in names])
        confidences = np.stack([predicted[frame.views[n]][:, 2] for n in names])
        projections = np.stack([dataset.cameras[n].projection for n in names])
        if ransac_px is None:
            poses.append(triangulate(points, projections, confidences))
        else:
            poses.append(triangulate_ransac(points, projections, confidences, ransac_px)[0])
    joints = next((p.shape[0] for p in poses if p is not None), 0)
    return np.stack([p if p is not None else np.full((joints, 3), np.nan) for p in poses])


def score_multiview(dataset: MultiviewSet, predicted: dict, truth_2d: dict, joint_names: Sequence[str],
                    head_size_px: Optional[float] = None, ransac_px: Optional[float] = None) -> dict:
    """predicted / truth_2d: {image id: (K, 3)} (truth's third column: COCO visibility)."""
    head = head_size_px or dataset.head_size
    if head is None:
        raise ValueError("multi-view JDR needs a head size: set 'head_size' in frames.json or pass one")
    image_ids = [i for frame in dataset.frames for i in frame.views.values() if i in truth_2d]
    missing = np.full((len(joint_names), 3), np.nan)
    pred_2d = np.stack([predicted.get(i, missing)[:, :2] for i in image_ids])
    true_2d = np.stack([truth_2d[i] for i in image_ids])
    detection = jdr(pred_2d, true_2d[..., :2], true_2d[..., 2] > 0, head)
    metrics = {"jdr": detection["mean"], **named_per_joint("jdr", detection["per_joint"], joint_names),
               "mv_frames": float(len(dataset.frames))}
    with_truth = [k for k, frame in enumerate(dataset.frames) if frame.joints_3d is not None]
    if with_truth:
        estimated = triangulate_frames(dataset, predicted, ransac_px)[with_truth]
        truth = np.stack([dataset.frames[k].joints_3d for k in with_truth])
        absolute = mpjpe(estimated, truth)
        metrics.update({"mpjpe_abs_mm": absolute["mean"], "mv_missing_3d": float(absolute["missing"]),
                        **named_per_joint("mpjpe_abs_mm", absolute["per_joint"], joint_names)})
        if dataset.root is not None:
            aligned = mpjpe(estimated, truth, dataset.root)
            metrics.update({"mpjpe_root_mm": aligned["mean"],
                            **named_per_joint("mpjpe_root_mm", aligned["per_joint"], joint_names)})
    return metrics


def multiview_scores(dataset: MultiviewSet, predictions: dict, coco_gt: dict, joint_names: Sequence[str],
                     ransac_px: Optional[float] = None) -> dict:
    """`predict_people`'s arrays and the multi-view set's COCO dict -> score_multiview's metrics."""
    predicted = _by_image(predictions["image_id"], predictions["keypoints"], predictions.get("box_score"))
    truth = {}
    for annotation in coco_gt.get("annotations", []):
        truth.setdefault(int(annotation["image_id"]), np.asarray(annotation["keypoints"], np.float64).reshape(-1, 3))
    return score_multiview(dataset, predicted, truth, joint_names, ransac_px=ransac_px)
