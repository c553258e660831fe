"""PCK (percentage of correct keypoints) and its normalisers: torso, box and MPII head size.

A joint is correct when its predicted position lies within `alpha * normaliser` of the
ground truth (distance <= threshold, as in the MPII evaluation code). Only visible joints
count. All values are fractions in [0, 1] (multiply by 100 for the usual "PCK" numbers).

A person whose normaliser is not a positive finite number (e.g. a torso of zero length)
cannot be scored: it is left out and counted under "excluded_people".
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

MPII_HEAD_SIZE_BIAS = 0.6  # SC_BIAS of the MPII evaluation: head size = 0.6 * headbox diagonal


class PckInputError(ValueError):
    """The arrays given to a PCK function have shapes that do not fit together."""


def _points(array, name: str) -> np.ndarray:
    """(N, K, 2) float64 positions from an (N, K, 2) or (N, K, 3) array (a third column is ignored)."""
    points = np.asarray(array, dtype=np.float64)
    if points.ndim != 3 or points.shape[2] not in (2, 3):
        raise PckInputError(f"{name}: expected shape (N, K, 2), got {points.shape}")
    return points[:, :, :2]


def _invalid_to_nan(sizes: np.ndarray) -> np.ndarray:
    """Sizes with every non-positive or non-finite entry replaced by nan (person not scorable)."""
    sizes = np.asarray(sizes, dtype=np.float64)
    return np.where(np.isfinite(sizes) & (sizes > 0), sizes, np.nan)


def torso_size(gt, right_shoulder_idx: int, left_hip_idx: int) -> np.ndarray:
    """(N,) distance from the right shoulder to the left hip (the LSP convention); nan if zero."""
    points = _points(gt, "gt")
    torso = points[:, right_shoulder_idx] - points[:, left_hip_idx]
    return _invalid_to_nan(np.linalg.norm(torso, axis=-1))


def bbox_size(boxes) -> np.ndarray:
    """(N,) max(w, h) of (N, 4) boxes given as x, y, w, h; nan for an empty box."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise PckInputError(f"boxes: expected shape (N, 4) as x, y, w, h, got {boxes.shape}")
    return _invalid_to_nan(np.maximum(boxes[:, 2], boxes[:, 3]))


def mpii_head_size(headboxes) -> np.ndarray:
    """(N,) 0.6 * the length of the headbox diagonal; headboxes (N, 2, 2) = [[x1, y1], [x2, y2]]."""
    headboxes = np.asarray(headboxes, dtype=np.float64)
    if headboxes.ndim != 3 or headboxes.shape[1:] != (2, 2):
        raise PckInputError(f"headboxes: expected shape (N, 2, 2) as [[x1, y1], [x2, y2]], "
                            f"got {headboxes.shape}")
    diagonal = np.linalg.norm(headboxes[:, 1] - headboxes[:, 0], axis=-1)
    return _invalid_to_nan(MPII_HEAD_SIZE_BIAS * diagonal)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator > 0 else float("nan")


def pck(pred, gt, visible, normaliser, alpha: float = 0.2,
        joint_names: Sequence[str] | None = None) -> dict:
    """PCK@alpha of `pred` against `gt` (both (N, K, 2)) over the `visible` (N, K) joints.

    Returns a dict:
      "mean": correct / counted over all visible joint instances of the scorable people,
      "mean_of_joints": the mean of the per-joint values that exist,
      "per_joint": K floats (nan for a joint never visible),
      "per_joint_by_name": {name: value} when `joint_names` is given,
      "counted_joints", "excluded_people" (normaliser not usable), "alpha".
    """
    pred_points, gt_points = _points(pred, "pred"), _points(gt, "gt")
    visible = np.asarray(visible, dtype=bool)
    normaliser = np.asarray(normaliser, dtype=np.float64).reshape(-1)
    num_people, num_joints = gt_points.shape[:2]
    if pred_points.shape != gt_points.shape or visible.shape != (num_people, num_joints):
        raise PckInputError(f"pred {pred_points.shape}, gt {gt_points.shape} and visible "
                            f"{visible.shape} must describe the same (N, K) joints")
    if len(normaliser) != num_people:
        raise PckInputError(f"normaliser: expected {num_people} values, got {len(normaliser)}")
    if joint_names is not None and len(joint_names) != num_joints:
        raise PckInputError(f"joint_names: expected {num_joints} names, got {len(joint_names)}")

    scorable = np.isfinite(normaliser) & (normaliser > 0)
    counted = visible & scorable[:, None]
    distance = np.linalg.norm(pred_points - gt_points, axis=-1)
    with np.errstate(invalid="ignore"):  # nan distances of unscorable people compare False
        correct = (distance <= alpha * normaliser[:, None]) & counted

    correct_per_joint, counted_per_joint = correct.sum(axis=0), counted.sum(axis=0)
    per_joint = [_ratio(c, n) for c, n in zip(correct_per_joint, counted_per_joint)]
    existing = [value for value in per_joint if not np.isnan(value)]
    result = {
        "mean": _ratio(correct.sum(), counted.sum()),
        "mean_of_joints": float(np.mean(existing)) if existing else float("nan"),
        "per_joint": per_joint,
        "counted_joints": int(counted.sum()),
        "excluded_people": int((~scorable).sum()),
        "alpha": float(alpha),
    }
    if joint_names is not None:
        result["per_joint_by_name"] = dict(zip(joint_names, per_joint))
    return result


def pckh(pred, gt, visible, headboxes, alpha: float = 0.5,
         joint_names: Sequence[str] | None = None) -> dict:
    """PCKh@alpha: PCK normalised by the MPII head size (0.6 * headbox diagonal)."""
    return pck(pred, gt, visible, mpii_head_size(headboxes), alpha, joint_names)
