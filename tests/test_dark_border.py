"""DARK near the heatmap border, against a float64 re-computation of DARK's published code
(ilovepose/DarkPose lib/core/inference.py: `gaussian_blur` pads with zeros, blurs with
cv2.GaussianBlur(k, 0) and restores the peak; `taylor` takes one Newton step on the log with
second derivatives over two pixels, only for 1 < px < w - 2 and 1 < py < h - 2)."""
import cv2
import numpy as np
import torch

from semipose import codec


def reference_dark(heatmap: np.ndarray, kernel: int = 11) -> np.ndarray:
    border = (kernel - 1) // 2
    height, width = heatmap.shape
    padded = np.zeros((height + 2 * border, width + 2 * border))
    padded[border:-border, border:-border] = heatmap
    blurred = cv2.GaussianBlur(padded, (kernel, kernel), 0)[border:-border, border:-border]
    blurred *= heatmap.max() / blurred.max()
    log = np.log(np.maximum(blurred, 1e-10))
    py, px = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    coord = np.array([px, py], dtype=np.float64)
    if 1 < px < width - 2 and 1 < py < height - 2:
        dx = 0.5 * (log[py, px + 1] - log[py, px - 1])
        dy = 0.5 * (log[py + 1, px] - log[py - 1, px])
        dxx = 0.25 * (log[py, px + 2] - 2 * log[py, px] + log[py, px - 2])
        dxy = 0.25 * (log[py + 1, px + 1] - log[py - 1, px + 1] - log[py + 1, px - 1] + log[py - 1, px - 1])
        dyy = 0.25 * (log[py + 2, px] - 2 * log[py, px] + log[py - 2, px])
        hessian = np.array([[dxx, dxy], [dxy, dyy]])
        if dxx * dyy - dxy ** 2 != 0:
            coord -= np.linalg.inv(hessian) @ np.array([dx, dy])
    return coord


def test_dark_matches_the_reference_formula_within_5_px_of_the_border():
    rng = np.random.default_rng(0)
    width, height = 48, 64
    near = lambda size: rng.choice([rng.uniform(-0.4, 5.0), rng.uniform(size - 6.0, size - 0.6)])  # noqa: E731
    points = np.array([[near(width), near(height)] for _ in range(200)]
                      + [[near(width), rng.uniform(6, 58)] for _ in range(100)])
    heatmaps = codec.render_heatmaps(torch.tensor(points[:, None], dtype=torch.float64), (height, width), 2.0)
    ours, _ = codec.decode(heatmaps[:, 0], refine="dark")
    expected = np.stack([reference_dark(h.numpy()) for h in heatmaps[:, 0]])
    np.testing.assert_allclose(ours.numpy(), expected, atol=1e-9)
    # the argmax stays where the reference takes no step (within 2 px of the edge)
    at_edge = (np.rint(points) <= 1).any(axis=1) | (np.rint(points[:, 0]) >= width - 2) \
        | (np.rint(points[:, 1]) >= height - 2)
    assert at_edge.sum() > 50
    np.testing.assert_array_equal(ours.numpy()[at_edge], np.rint(points[at_edge]))
