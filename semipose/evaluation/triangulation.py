"""Confidence-weighted linear (DLT) triangulation of joints seen by N >= 2 calibrated cameras.

A camera is a 3x4 projection matrix P = K [R | t] (world -> pixels, undistorted). For a joint
seen at pixel (u, v) with confidence w, each view adds the two rows w (u P3 - P1) and
w (v P3 - P2) of the homogeneous system A X = 0 (Hartley & Zisserman, 12.2); X is the right
singular vector of the smallest singular value. Rows are scaled by w, so a view with w = 0
drops out, and each P is first normalised to unit Frobenius norm so that cameras far away do
not outweigh near ones. Distorted pixels are first mapped to ideal pixels with
`undistort_points` (OpenCV's model: k1, k2, p1, p2[, k3]).

`triangulate_ransac` tries every pair of views per joint, keeps the views whose reprojection
error is under `threshold_px` and re-solves on that consensus set (with N <= ~10 views an
exhaustive search over pairs is cheaper and exact compared with random sampling).
"""
from __future__ import annotations

from itertools import combinations
from typing import Optional

import cv2
import numpy as np


def projection_matrix(K, R, t) -> np.ndarray:
    """3x4 P = K [R | t]."""
    return np.asarray(K, np.float64) @ np.hstack([np.asarray(R, np.float64),
                                                  np.asarray(t, np.float64).reshape(3, 1)])


def undistort_points(points: np.ndarray, K, dist) -> np.ndarray:
    """(..., 2) distorted pixels -> ideal pinhole pixels of the same K (cv2.undistortPoints, P=K)."""
    points = np.asarray(points, np.float64)
    if dist is None or not np.any(np.asarray(dist)):
        return points.copy()
    flat = points.reshape(-1, 1, 2)
    ideal = cv2.undistortPoints(flat, np.asarray(K, np.float64), np.asarray(dist, np.float64),
                                P=np.asarray(K, np.float64),
                                criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-12))
    return ideal.reshape(points.shape)


def project(points_3d: np.ndarray, projections: np.ndarray) -> np.ndarray:
    """(..., 3) world points through (V, 3, 4) cameras -> (V, ..., 2) ideal pixels."""
    homogeneous = np.concatenate([points_3d, np.ones(points_3d.shape[:-1] + (1,))], axis=-1)
    image = np.einsum("vij,...j->v...i", projections, homogeneous)
    return image[..., :2] / image[..., 2:3]


def triangulate(points_2d: np.ndarray, projections: np.ndarray,
                confidences: Optional[np.ndarray] = None) -> np.ndarray:
    """points_2d (V, J, 2) ideal pixels, projections (V, 3, 4), confidences (V, J) >= 0
    -> (J, 3) world points; NaN for joints with fewer than two views of positive confidence."""
    points_2d = np.asarray(points_2d, np.float64)
    projections = np.asarray(projections, np.float64)
    views, joints = points_2d.shape[:2]
    if projections.shape != (views, 3, 4):
        raise ValueError(f"triangulate: {views} views of points but projections of shape {projections.shape}")
    weights = np.ones((views, joints)) if confidences is None else np.asarray(confidences, np.float64)
    weights = np.where(np.isfinite(weights) & np.isfinite(points_2d).all(-1), np.maximum(weights, 0), 0)
    normalised = projections / np.linalg.norm(projections, axis=(1, 2), keepdims=True)
    u, v = np.nan_to_num(points_2d[..., 0]), np.nan_to_num(points_2d[..., 1])
    rows_u = u[..., None] * normalised[:, None, 2, :] - normalised[:, None, 0, :]   # (V, J, 4)
    rows_v = v[..., None] * normalised[:, None, 2, :] - normalised[:, None, 1, :]
    system = np.stack([rows_u, rows_v], axis=1) * weights[:, None, :, None]        # (V, 2, J, 4)
    system = system.transpose(2, 0, 1, 3).reshape(joints, 2 * views, 4)
    solution = np.linalg.svd(system)[2][:, -1, :]                                   # (J, 4)
    with np.errstate(divide="ignore", invalid="ignore"):
        points = solution[:, :3] / solution[:, 3:4]
    points[(weights > 0).sum(axis=0) < 2] = np.nan
    return points


def reprojection_errors(points_3d: np.ndarray, points_2d: np.ndarray, projections: np.ndarray) -> np.ndarray:
    """(J, 3) world, (V, J, 2) observed -> (V, J) pixel distances."""
    return np.linalg.norm(project(points_3d, projections) - points_2d, axis=-1)


def triangulate_ransac(points_2d: np.ndarray, projections: np.ndarray,
                       confidences: Optional[np.ndarray] = None,
                       threshold_px: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Outlier-robust triangulation: (J, 3) points and the (V, J) inlier mask used.

    Per joint, every pair of views with positive confidence proposes a point; the proposal with
    the most views within `threshold_px` (ties: the smaller summed error) wins and the point is
    re-triangulated from its inliers with their confidences."""
    points_2d = np.asarray(points_2d, np.float64)
    views, joints = points_2d.shape[:2]
    weights = np.ones((views, joints)) if confidences is None else np.asarray(confidences, np.float64)
    best_count = np.zeros(joints, np.int64)
    best_error = np.full(joints, np.inf)
    inliers = weights > 0
    for a, b in combinations(range(views), 2):
        pair = np.zeros_like(weights)
        pair[[a, b]] = weights[[a, b]]
        proposal = triangulate(points_2d, projections, pair)
        errors = reprojection_errors(proposal, points_2d, projections)
        agree = (errors < threshold_px) & (weights > 0)
        count = agree.sum(axis=0)
        total = np.where(agree, errors, 0).sum(axis=0)
        better = np.isfinite(proposal).all(-1) & ((count > best_count) |
                                                   ((count == best_count) & (total < best_error)))
        best_count, best_error = np.where(better, count, best_count), np.where(better, total, best_error)
        inliers[:, better] = agree[:, better]
    return triangulate(points_2d, projections, np.where(inliers, weights, 0)), inliers
