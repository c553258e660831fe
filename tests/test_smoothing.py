"""One-Euro filter and the per-person tracker of video smoothing."""
import math

import numpy as np
import pytest

from semipose.evaluation.smoothing import KeypointSmoother, OneEuroFilter


def one_euro_reference(samples, dt, min_cutoff, beta, d_cutoff):
    """Casiez et al.'s filter written out for scalars, float64, straight from the paper's equations."""
    def alpha(cutoff):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)
    out, previous, speed = [], None, 0.0
    for x in samples:
        if previous is None:
            previous = x
        else:
            raw_speed = (x - previous) / dt
            speed = alpha(d_cutoff) * raw_speed + (1 - alpha(d_cutoff)) * speed
            a = alpha(min_cutoff + beta * abs(speed))
            previous = a * x + (1 - a) * previous
        out.append(previous)
    return out


def test_one_euro_matches_the_papers_equations():
    rng = np.random.default_rng(0)
    signal = np.cumsum(rng.normal(0, 3, size=(40, 4, 2)), axis=0)  # 40 frames of 4 joints
    one_euro = OneEuroFilter(min_cutoff=1.5, beta=0.02, d_cutoff=1.0)
    filtered = np.stack([one_euro(frame, dt=1 / 30) for frame in signal])
    for joint, axis in [(0, 0), (3, 1)]:
        expected = one_euro_reference(signal[:, joint, axis], 1 / 30, 1.5, 0.02, 1.0)
        np.testing.assert_allclose(filtered[:, joint, axis], expected, rtol=1e-12)


def test_jitter_shrinks_and_a_still_point_stays_put():
    rng = np.random.default_rng(1)
    still = np.full((200, 1, 2), 50.0)
    noisy = still + rng.normal(0, 2, size=still.shape)
    one_euro = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    filtered = np.stack([one_euro(frame, 1 / 30) for frame in noisy])
    assert np.std(filtered[50:] - 50) < 0.5 * np.std(noisy[50:] - 50)
    constant = OneEuroFilter()
    assert all(np.array_equal(constant(still[0], 1 / 30), still[0]) for _ in range(5))


def test_each_person_keeps_their_own_filter_across_frames():
    smoother = KeypointSmoother(fps=30, min_cutoff=1.0, beta=0.0)
    left, right = [0, 0, 10, 20], [100, 0, 10, 20]
    person = lambda x: np.array([[[x, 5.0, 0.9]]])  # noqa: E731  one joint
    _, ids = smoother(np.array([left, right]), np.concatenate([person(5.0), person(105.0)]))
    # next frame: the same two people listed in the other order, each moved by 3 pixels
    smoothed, next_ids = smoother(np.array([right, left]), np.concatenate([person(108.0), person(8.0)]))
    assert next_ids.tolist() == ids[::-1].tolist()
    alpha = 1 / (1 + 30 / (2 * math.pi))
    assert smoothed[0, 0, 0] == pytest.approx(105 + alpha * 3) and smoothed[1, 0, 0] == pytest.approx(5 + alpha * 3)
    assert smoothed[0, 0, 2] == pytest.approx(0.9)  # scores are not filtered
    _, third_ids = smoother(np.array([[300, 300, 10, 10]]), person(305.0))  # nobody overlaps: a new track
    assert third_ids.tolist() == [2]
    empty, none = smoother(np.zeros((0, 4)), np.zeros((0, 1, 3)))
    assert empty.shape == (0, 1, 3) and none.size == 0
