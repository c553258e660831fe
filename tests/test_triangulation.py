"""Triangulation against hand-built projections, noise, OpenCV's two-view solver, outliers, distortion."""
import cv2
import numpy as np
import pytest

from semipose.data.synth.studio import look_at
from semipose.evaluation.triangulation import (project, projection_matrix, triangulate, triangulate_ransac,
                                               undistort_points)


def _ring(views, rng):
    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    cameras = []
    for k in range(views):
        angle = 2 * np.pi * k / views + rng.normal(0, 0.05)
        centre = np.array([4000 * np.cos(angle), 4000 * np.sin(angle), 1500 + rng.normal(0, 100)])
        R, t = look_at(centre, np.array([0.0, 0.0, 900.0]))
        cameras.append((K, R, t))
    return cameras


def _points(rng, count=17):
    return rng.uniform([-400, -400, 0], [400, 400, 1800], (count, 3))


def test_exact_projections_are_recovered():
    rng = np.random.default_rng(0)
    cameras = _ring(4, rng)
    P = np.stack([projection_matrix(*c) for c in cameras])
    world = _points(rng)
    # pixels by hand: x_cam = R X + t, u = fx x/z + cx
    pixels = np.stack([[(K @ (R @ X + t))[:2] / (R @ X + t)[2] for X in world] for K, R, t in cameras])
    assert np.abs(triangulate(pixels, P) - world).max() < 1e-6


def test_error_falls_with_more_views():
    rng = np.random.default_rng(1)
    errors = {}
    for views in (2, 4, 8):
        trials = []
        for trial in range(20):
            P = np.stack([projection_matrix(*c) for c in _ring(views, rng)])
            world = _points(rng)
            noisy = project(world, P) + rng.normal(0, 2.0, (views, len(world), 2))
            trials.append(np.linalg.norm(triangulate(noisy, P) - world, axis=1).mean())
        errors[views] = np.mean(trials)
    assert errors[2] > errors[4] > errors[8]
    assert 1.0 < errors[2] < 200.0  # 2 px noise at 4 m, f = 500, facing cameras: ~90 mm, not metres


def test_matches_cv2_triangulate_points_for_two_views():
    rng = np.random.default_rng(2)
    P = np.stack([projection_matrix(*c) for c in _ring(2, rng)])
    world = _points(rng, 30)
    noisy = project(world, P) + rng.normal(0, 1.5, (2, 30, 2))
    reference = cv2.triangulatePoints(P[0], P[1], noisy[0].T, noisy[1].T)
    reference = (reference[:3] / reference[3]).T
    # the same algebraic (DLT) solution; row scaling differs (OpenCV weights rows by its own
    # P scale), which moves noisy points by ~0.3 mm against errors of tens of mm
    ours = triangulate(noisy, P)
    assert np.abs(ours - reference).max() < 1.0
    assert np.abs(ours - reference).max() < 0.05 * np.linalg.norm(ours - world, axis=1).mean()


def test_zero_confidence_drops_a_view_and_single_views_give_nan():
    rng = np.random.default_rng(3)
    P = np.stack([projection_matrix(*c) for c in _ring(3, rng)])
    world = _points(rng, 5)
    pixels = project(world, P)
    pixels[2] += 80.0  # a wrong third view ...
    confidence = np.ones((3, 5))
    confidence[2] = 0.0  # ... that is ignored
    assert np.abs(triangulate(pixels, P, confidence) - world).max() < 1e-6
    confidence[1, 0] = 0.0
    assert np.isnan(triangulate(pixels, P, confidence)[0]).all()


def test_ransac_rejects_an_outlier_view():
    rng = np.random.default_rng(4)
    P = np.stack([projection_matrix(*c) for c in _ring(5, rng)])
    world = _points(rng, 10)
    pixels = project(world, P) + rng.normal(0, 0.5, (5, 10, 2))
    pixels[3] += rng.uniform(60, 120, (10, 2))  # a view that found another person
    plain = np.linalg.norm(triangulate(pixels, P) - world, axis=1).mean()
    robust, inliers = triangulate_ransac(pixels, P, threshold_px=5.0)
    assert not inliers[3].any() and inliers[[0, 1, 2, 4]].all()
    assert np.linalg.norm(robust - world, axis=1).mean() < plain / 5


def test_distorted_pixels_are_undistorted_before_triangulation():
    rng = np.random.default_rng(5)
    cameras = _ring(3, rng)
    dist = np.array([-0.2, 0.05, 0.001, -0.001, 0.0])
    world = _points(rng)
    distorted = np.stack([cv2.projectPoints(world, cv2.Rodrigues(R)[0], t, K, dist)[0][:, 0]
                          for K, R, t in cameras])
    ideal = np.stack([undistort_points(d, K, dist) for d, (K, _, _) in zip(distorted, cameras)])
    P = np.stack([projection_matrix(*c) for c in cameras])
    assert np.abs(triangulate(ideal, P) - world).max() < 1e-3
    assert np.abs(triangulate(distorted, P) - world).max() > 5.0  # ignoring the lens is visibly wrong


def test_mismatched_projections_are_refused():
    with pytest.raises(ValueError, match="3 views"):
        triangulate(np.zeros((3, 4, 2)), np.zeros((2, 3, 4)))
