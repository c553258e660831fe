"""Affine geometry shared by the data loader, the SSL augmentations and evaluation.

Conventions (docs/architecture.md): pixel centres at integer coordinates, every 2x3 matrix maps
SOURCE pixel coordinates to DESTINATION pixel coordinates, `compose(second, first)` applies
`first` then `second`. Heatmaps are crops of the same region at lower resolution, so one matrix
family serves images and heatmaps and no half-pixel bias creeps in anywhere.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

# Pixel conventions of a network's crops and heatmaps (docs/architecture.md):
# "exact"     semipose: crop centre at ((W-1)/2, (H-1)/2), x_in = stride * x_hm + (stride - 1) / 2
# "reference" SimpleBaseline / HRNet / the paper's code: crop centre at (W/2, H/2), x_in = stride * x_hm
CONVENTIONS = ("exact", "reference")


def check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown pixel convention {convention!r}: use one of {CONVENTIONS}")
    return convention


def box_to_center_size(box_xywh, aspect_ratio: float, padding: float = 1.25):
    """Centre and padded size of a person box, widened or heightened to `aspect_ratio` (w / h)."""
    x, y, w, h = (float(v) for v in box_xywh)
    center = np.array([x + w * 0.5, y + h * 0.5], dtype=np.float64)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    else:
        w = h * aspect_ratio
    return center, np.array([w * padding, h * padding], dtype=np.float64)


def to_3x3(affine) -> np.ndarray:
    return np.vstack([np.asarray(affine, dtype=np.float64), [0.0, 0.0, 1.0]])


def compose(second, first) -> np.ndarray:
    """The affine that applies `first`, then `second`."""
    return (to_3x3(second) @ to_3x3(first))[:2]


def invert(affine) -> np.ndarray:
    return np.linalg.inv(to_3x3(affine))[:2]


def crop_affine(center, size, rotation_deg: float, output_wh, flip: bool = False,
                convention: str = "exact") -> np.ndarray:
    """Image -> crop: the `size` (w, h) region around `center`, rotated, onto an `output_wh` canvas.

    The region's edges land on the output's edges ("exact"; "reference" puts `center` at
    (W/2, H/2), half a pixel right and down). A positive rotation turns the picture
    counter-clockwise as displayed; `flip` mirrors the crop horizontally afterwards.
    """
    out_w, out_h = output_wh
    sx, sy = out_w / float(size[0]), out_h / float(size[1])
    angle = math.radians(rotation_deg)
    cos, sin = math.cos(angle), math.sin(angle)
    # y points down, so a counter-clockwise turn on screen is [[cos, sin], [-sin, cos]].
    linear = np.array([[sx * cos, sx * sin], [-sy * sin, sy * cos]])
    half_pixel = 0.5 if check_convention(convention) == "exact" else 0.0
    out_center = np.array([out_w * 0.5 - half_pixel, out_h * 0.5 - half_pixel])
    affine = np.hstack([linear, (out_center - linear @ np.asarray(center, dtype=np.float64))[:, None]])
    if flip:
        affine = compose(hflip_affine(out_w), affine)
    return affine


def hflip_affine(width: int) -> np.ndarray:
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0]])


def resize_affine(source_wh, target_wh, convention: str = "exact") -> np.ndarray:
    """Same region, other resolution: e.g. input crop -> heatmap, x_hm = (x + 0.5) / stride - 0.5
    ("exact") or x_hm = x / stride ("reference")."""
    sx, sy = target_wh[0] / float(source_wh[0]), target_wh[1] / float(source_wh[1])
    if check_convention(convention) == "reference":
        return np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0]])
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]])


def flip_test_offset(input_wh, heatmap_wh, convention: str = "exact") -> int:
    """Columns to shift a mirrored input (x -> W - 1 - x + offset) so that mirroring its heatmaps
    (x -> w - 1 - x) undoes the mirror exactly: 0 for "exact", -(stride - 1) for "reference"."""
    to_heatmap = resize_affine(input_wh, heatmap_wh, convention)
    mirror = compose(invert(to_heatmap), compose(hflip_affine(heatmap_wh[0]), to_heatmap))
    offset = mirror[0, 2] - (input_wh[0] - 1)
    if abs(offset - round(offset)) > 1e-9:
        raise ValueError(f"input {input_wh} and heatmap {heatmap_wh}: the flip test needs an integer stride")
    return int(round(offset))


def rescale_affine(affine, source_wh, target_wh, convention: str = "exact") -> np.ndarray:
    """Express an affine between two `source_wh` canvases on `target_wh` canvases of the same regions.

    This is how an easy->hard map between input crops becomes the map between their heatmaps.
    """
    down = resize_affine(source_wh, target_wh, convention)
    return compose(down, compose(affine, invert(down)))


def centred_affine(rotation_deg: float, scale: float, wh) -> np.ndarray:
    """Rotate and scale a `wh` canvas about its centre (a rigid turn in pixels, also when w != h)."""
    centre = ((wh[0] - 1) * 0.5, (wh[1] - 1) * 0.5)
    return cv2.getRotationMatrix2D(centre, float(rotation_deg), float(scale)).astype(np.float64)


def apply_to_points(affine, points) -> np.ndarray:
    """Map (..., 2) points; extra trailing columns (visibility, score) are kept as they are."""
    points = np.asarray(points, dtype=np.float64)
    affine = np.asarray(affine, dtype=np.float64)
    mapped = points[..., :2] @ affine[:, :2].T + affine[:, 2]
    return np.concatenate([mapped, points[..., 2:]], axis=-1)


def source_window(affine, output_wh) -> np.ndarray:
    """(x0, y0, x1, y1): the source-pixel box that `warp_image(image, affine, output_wh)` reads,
    with bilinear interpolation: the output pixel centres mapped back, widened to the integer
    pixels on both sides, plus one pixel for OpenCV's 1/32-pixel fixed-point positions."""
    out_w, out_h = output_wh
    corners = np.array([[0.0, 0.0], [out_w - 1.0, 0.0], [0.0, out_h - 1.0], [out_w - 1.0, out_h - 1.0]])
    source = apply_to_points(invert(affine), corners)
    return np.concatenate([np.floor(source.min(axis=0)) - 1.0, np.floor(source.max(axis=0)) + 2.0])


def warp_image(image: np.ndarray, affine, output_wh, border_value=0, interpolation=cv2.INTER_LINEAR):
    """OpenCV warp of an (H, W[, C]) array with a source->destination matrix."""
    return cv2.warpAffine(image, np.asarray(affine, dtype=np.float64), (int(output_wh[0]), int(output_wh[1])),
                          flags=interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)


# ----------------------------------------------------------------------------------------------
# Batched torch versions, for on-device warps (the easy -> hard view of the SSL methods).
# ----------------------------------------------------------------------------------------------

def _normaliser(width: int, height: int, like: torch.Tensor) -> torch.Tensor:
    """3x3 pixel -> [-1, 1] map of grid_sample with align_corners=False: u = (2x + 1) / W - 1."""
    return like.new_tensor([[2.0 / width, 0.0, 1.0 / width - 1.0],
                            [0.0, 2.0 / height, 1.0 / height - 1.0],
                            [0.0, 0.0, 1.0]])


def batch_to_3x3(affines: torch.Tensor) -> torch.Tensor:
    bottom = affines.new_tensor([0.0, 0.0, 1.0]).expand(affines.shape[0], 1, 3)
    return torch.cat([affines, bottom], dim=1)


def batch_compose(second: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    return (batch_to_3x3(second) @ batch_to_3x3(first))[:, :2]


def batch_invert(affines: torch.Tensor) -> torch.Tensor:
    """Inverse of each (N, 2, 3) affine (solved in float64)."""
    return torch.linalg.inv(batch_to_3x3(affines.double()))[:, :2].to(affines.dtype)


def batch_apply_to_points(affines: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(N, 2, 3) affines on (N, K, 2) points."""
    return points @ affines[:, :, :2].transpose(1, 2) + affines[:, None, :, 2]


def warp_batch(images: torch.Tensor, affines: torch.Tensor, output_hw, mode: str = "bilinear",
               padding_mode: str = "zeros") -> torch.Tensor:
    """Warp (N, C, H, W) by per-sample source->destination (N, 2, 3) pixel affines.

    Matches cv2.warpAffine (same pixel convention), so points mapped with the same matrix land
    exactly on the warped content.
    """
    out_h, out_w = int(output_hw[0]), int(output_hw[1])
    source = _normaliser(images.shape[-1], images.shape[-2], affines)
    target = _normaliser(out_w, out_h, affines)
    destination_to_source = batch_to_3x3(batch_invert(affines))
    theta = (source @ destination_to_source @ torch.linalg.inv(target))[:, :2]
    grid = F.affine_grid(theta.to(images.dtype), [images.shape[0], images.shape[1], out_h, out_w],
                         align_corners=False)
    return F.grid_sample(images, grid, mode=mode, padding_mode=padding_mode, align_corners=False)


def batch_rescale_affine(affines: torch.Tensor, source_wh, target_wh, convention: str = "exact") -> torch.Tensor:
    resize = resize_affine(source_wh, target_wh, convention)
    down = torch.as_tensor(resize, dtype=affines.dtype, device=affines.device).expand(affines.shape[0], 2, 3)
    up = torch.as_tensor(invert(resize), dtype=affines.dtype, device=affines.device)
    return batch_compose(down, batch_compose(affines, up.expand(affines.shape[0], 2, 3)))
