"""3D and multi-view 2D metrics: MPJPE (mm) and JDR (joint detection rate).

- MPJPE: mean Euclidean distance between predicted and true 3D joints, in the units of the
  truth (mm). `absolute` compares world positions as they are; `root_aligned` first subtracts
  each pose's root joint (H36M: the pelvis) from both, as most 3D papers report. Joints whose
  truth or prediction is NaN are left out (and counted).
- JDR: a joint is detected when its 2D error is below `threshold` x the head size (0.5 in the
  multi-view pose code Xie et al. evaluate with; its head size is the network input width / 10,
  e.g. 25.6 px for 256-wide inputs). Only joints with a ground-truth label count.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def _per_joint_mean(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    counts = valid.sum(axis=0)
    sums = np.where(valid, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def mpjpe(predicted: np.ndarray, truth: np.ndarray, root: Optional[Sequence[int]] = None) -> dict:
    """predicted, truth (F, J, 3) -> {"per_joint": (J,), "mean": float, "missing": int}.
    root: joint indices whose mean is each pose's root (H36M: [0], the pelvis; COCO-17: the hips
    [11, 12]); it is subtracted from both first (root-aligned MPJPE)."""
    predicted, truth = np.asarray(predicted, np.float64), np.asarray(truth, np.float64)
    if predicted.shape != truth.shape or predicted.ndim != 3 or predicted.shape[-1] != 3:
        raise ValueError(f"mpjpe: predictions {predicted.shape} and truth {truth.shape} must both be (F, J, 3)")
    if root is not None:
        root = list(root)
        predicted = predicted - predicted[:, root].mean(axis=1, keepdims=True)
        truth = truth - truth[:, root].mean(axis=1, keepdims=True)
    errors = np.linalg.norm(predicted - truth, axis=-1)
    valid = np.isfinite(errors)
    if root is not None and len(root) == 1:
        valid[:, root] = False  # zero by construction: it would only dilute the mean
    return {"per_joint": _per_joint_mean(errors, valid),
            "mean": float(errors[valid].mean()) if valid.any() else float("nan"),
            "missing": int((~np.isfinite(errors)).sum())}


def jdr(predicted: np.ndarray, truth: np.ndarray, labelled: np.ndarray, head_size,
        threshold: float = 0.5) -> dict:
    """predicted, truth (N, J, 2) pixels, labelled (N, J) bool, head_size scalar or (N,)
    -> {"per_joint": (J,) rates in [0, 1], "mean": over all labelled joints}."""
    predicted, truth = np.asarray(predicted, np.float64), np.asarray(truth, np.float64)
    head = np.broadcast_to(np.asarray(head_size, np.float64), predicted.shape[:1])
    if not np.all(np.isfinite(head) & (head > 0)):
        raise ValueError("jdr: head sizes must be positive and finite")
    distance = np.linalg.norm(predicted - truth, axis=-1)
    detected = (distance < threshold * head[:, None]).astype(np.float64)  # NaN predictions: missed
    labelled = np.asarray(labelled, bool)
    return {"per_joint": _per_joint_mean(detected, labelled),
            "mean": float(detected[labelled].mean()) if labelled.any() else float("nan")}


def named_per_joint(prefix: str, values: np.ndarray, names: Sequence[str]) -> dict:
    """{"prefix/name": value} for a per-joint array (NaN entries left out)."""
    return {f"{prefix}/{name}": float(value) for name, value in zip(names, values) if np.isfinite(value)}
