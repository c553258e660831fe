"""Heatmap codec: keypoints <-> Gaussian heatmaps, in heatmap pixel coordinates.

Pure torch functions on batches; the data loader calls them on single samples too. Decoding
refines the argmax either by the classic quarter-pixel step toward the higher neighbour or by
DARK (a second-order Taylor step on the log of the Gaussian-smoothed heatmap).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def render_heatmaps(points: torch.Tensor, heatmap_hw, sigma: float) -> torch.Tensor:
    """Unnormalised Gaussians (peak 1) centred exactly at sub-pixel `points` (..., K, 2)."""
    height, width = int(heatmap_hw[0]), int(heatmap_hw[1])
    xs = torch.arange(width, dtype=points.dtype, device=points.device)
    ys = torch.arange(height, dtype=points.dtype, device=points.device)
    gauss_x = torch.exp(-((xs - points[..., 0:1]) ** 2) / (2 * sigma ** 2))
    gauss_y = torch.exp(-((ys - points[..., 1:2]) ** 2) / (2 * sigma ** 2))
    return gauss_y[..., :, None] * gauss_x[..., None, :]


def inside_heatmap(points: torch.Tensor, heatmap_hw) -> torch.Tensor:
    """True where a point lies on the heatmap canvas (pixel edges at -0.5 and size - 0.5)."""
    height, width = heatmap_hw
    x, y = points[..., 0], points[..., 1]
    return (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)


def encode(points: torch.Tensor, visible: torch.Tensor, heatmap_hw, sigma: float):
    """Targets for (..., K, 2) heatmap-pixel points: (heatmaps, target_weight).

    A joint counts when it is labelled (`visible` > 0) and on the canvas; others get weight 0
    and an all-zero map, so the loss ignores them.
    """
    weight = ((visible > 0) & inside_heatmap(points, heatmap_hw)).to(points.dtype)
    heatmaps = render_heatmaps(points, heatmap_hw, sigma) * weight[..., None, None]
    return heatmaps, weight


def argmax_2d(heatmaps: torch.Tensor):
    """Integer peak positions (..., K, 2) as (x, y) and the peak values (..., K)."""
    width = heatmaps.shape[-1]
    values, index = heatmaps.flatten(-2).max(dim=-1)
    coords = torch.stack([index % width, torch.div(index, width, rounding_mode="floor")], dim=-1)
    return coords.to(heatmaps.dtype), values


def _gather(heatmaps: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    height, width = heatmaps.shape[-2:]
    x = x.clamp(0, width - 1).long()
    y = y.clamp(0, height - 1).long()
    flat = heatmaps.flatten(-2)
    return flat.gather(-1, (y * width + x)[..., None])[..., 0]


def quarter_offset(heatmaps: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Move each argmax a quarter pixel toward its higher neighbour (SimpleBaseline/HRNet)."""
    height, width = heatmaps.shape[-2:]
    x, y = coords[..., 0], coords[..., 1]
    dx = _gather(heatmaps, x + 1, y) - _gather(heatmaps, x - 1, y)
    dy = _gather(heatmaps, x, y + 1) - _gather(heatmaps, x, y - 1)
    interior_x = (x > 0) & (x < width - 1)
    interior_y = (y > 0) & (y < height - 1)
    shift = torch.stack([torch.sign(dx) * interior_x, torch.sign(dy) * interior_y], dim=-1) * 0.25
    return coords + shift


def dark_refine(heatmaps: torch.Tensor, coords: torch.Tensor, kernel: int = 11) -> torch.Tensor:
    """DARK (Zhang et al. 2020) as its reference code defines it: blur with zero padding (its
    `gaussian_blur`), then one Newton step on the log map (its `taylor`: central first
    derivatives, second derivatives over two pixels), taken only where those taps lie on the
    map (2 <= x <= w - 3, 2 <= y <= h - 3) and the Hessian is regular. Elsewhere the argmax stays."""
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8   # OpenCV's sigma for GaussianBlur(..., 0)
    taps = torch.arange(kernel, dtype=heatmaps.dtype, device=heatmaps.device) - (kernel - 1) / 2
    gauss = torch.exp(-taps ** 2 / (2 * sigma ** 2))
    gauss = gauss / gauss.sum()
    shape = heatmaps.shape
    maps = heatmaps.reshape(-1, 1, *shape[-2:])
    original_peak = maps.amax(dim=(-2, -1), keepdim=True)
    pad = kernel // 2
    maps = F.conv2d(maps, gauss.view(1, 1, 1, -1), padding=(0, pad))   # zero padding, as DARK
    maps = F.conv2d(maps, gauss.view(1, 1, -1, 1), padding=(pad, 0))
    # Keep the peak height as before the blur (as DARK does), then work on the log.
    maps = maps * original_peak / maps.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-10)
    log_maps = maps.clamp_min(1e-10).log().reshape(shape)

    height, width = shape[-2:]
    x, y = coords[..., 0], coords[..., 1]
    at = lambda dx, dy: _gather(log_maps, x + dx, y + dy)  # noqa: E731 - a local shorthand
    centre = at(0, 0)
    gx = 0.5 * (at(1, 0) - at(-1, 0))
    gy = 0.5 * (at(0, 1) - at(0, -1))
    gxx = 0.25 * (at(2, 0) - 2 * centre + at(-2, 0))
    gyy = 0.25 * (at(0, 2) - 2 * centre + at(0, -2))
    gxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    det = gxx * gyy - gxy ** 2
    inside = (x > 1) & (x < width - 2) & (y > 1) & (y < height - 2)
    valid = inside & (det != 0)
    safe_det = torch.where(valid, det, torch.ones_like(det))
    step_x = (gyy * gx - gxy * gy) / safe_det
    step_y = (gxx * gy - gxy * gx) / safe_det
    return coords - torch.stack([step_x, step_y], dim=-1) * valid[..., None]


def decode(heatmaps: torch.Tensor, refine: str = "quarter"):
    """(..., K, H, W) heatmaps -> (coords (..., K, 2) in heatmap pixels, scores (..., K))."""
    coords, scores = argmax_2d(heatmaps)
    if refine == "quarter":
        coords = quarter_offset(heatmaps, coords)
    elif refine == "dark":
        coords = dark_refine(heatmaps, coords)
    elif refine != "none":
        raise ValueError(f"unknown heatmap refinement {refine!r}: use 'quarter', 'dark' or 'none'")
    return coords, scores


def flip_back(heatmaps: torch.Tensor, flip_permutation, shift: bool = False) -> torch.Tensor:
    """Heatmaps predicted on a mirrored crop, mapped back onto the original crop.

    Mirroring is exact in our pixel convention; `shift` adds the one-pixel shift that models
    trained with the SimpleBaseline/HRNet (biased) convention expect.
    """
    restored = heatmaps.flip(-1)[..., flip_permutation, :, :]
    if shift:
        restored = torch.cat([restored[..., :1], restored[..., :-1]], dim=-1)
    return restored

