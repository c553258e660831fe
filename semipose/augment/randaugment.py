"""RandAugment on the device, on ImageNet-normalised batches, photometric and occlusion ops only.

The op list and the magnitude scale follow the reference code (lib/utils/rand_augment.py of the
paper's repository, itself after the TF EfficientNet policy): each image gets `num_ops` ops drawn
uniformly from the 11 below, and op strength is `value = magnitude / 30 * (high - low) + low`.
Ops work on [0, 1] RGB floats and mimic PIL's uint8 behaviour (histograms and bit masks on 256
levels). Geometry is never touched, so keypoints and heatmaps stay valid.

Random draws (which op, enhancement sign, cutout centre) come from a numpy Generator on the
host: the per-op sample indices are then known without a device -> host sync.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from semipose.config_rules import RANDAUGMENT_MAX_MAGNITUDE as MAX_MAGNITUDE
from semipose.data.batch_prep import IMAGENET_MEAN, IMAGENET_STD


class RandAugmentError(ValueError):
    """Bad RandAugment settings (method.hard.randaugment)."""

REFERENCE_HEIGHT = 256.0   # cutout sizes are given for a 256-high crop
SMOOTH_KERNEL = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13.0  # PIL SMOOTH
GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # PIL's RGB -> L


def _levels(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] floats -> integer levels 0..255 (as PIL sees them), as a long tensor."""
    return (images * 255.0).round().clamp(0, 255).long()


def _gray(images: torch.Tensor) -> torch.Tensor:
    r, g, b = images.unbind(dim=1)
    return (GRAY_WEIGHTS[0] * r + GRAY_WEIGHTS[1] * g + GRAY_WEIGHTS[2] * b)[:, None]


def _blend(degenerate: torch.Tensor, images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL ImageEnhance: degenerate + factor * (image - degenerate), clipped."""
    return (degenerate + factor[:, None, None, None] * (images - degenerate)).clamp(0.0, 1.0)


def _signed_factor(value: float, draws: torch.Tensor) -> torch.Tensor:
    """1 +- value, the sign drawn per image (the reference's random.choice([-1, 1]))."""
    sign = torch.where(draws[:, 0] < 0.5, -1.0, 1.0)
    return 1.0 + sign * value


def autocontrast(images, value, draws):
    low = images.amin(dim=(-2, -1), keepdim=True)
    high = images.amax(dim=(-2, -1), keepdim=True)
    spread = high - low
    stretched = (images - low) / spread.clamp_min(1e-8)
    return torch.where(spread > 0, stretched, images)


def equalize(images, value, draws):
    """PIL.ImageOps.equalize per channel: lut[i] = (step // 2 + cumulative count below i) // step."""
    n, c, h, w = images.shape
    levels = _levels(images).reshape(n * c, h * w)
    histogram = torch.zeros(n * c, 256, dtype=torch.long, device=images.device)
    histogram.scatter_add_(1, levels, torch.ones_like(levels))
    top_count = histogram.gather(1, levels.amax(dim=1, keepdim=True))  # the last non-empty bin
    step = torch.div(h * w - top_count, 255, rounding_mode="floor")
    below = histogram.cumsum(dim=1) - histogram
    lut = torch.div(torch.div(step, 2, rounding_mode="floor") + below, step.clamp_min(1), rounding_mode="floor")
    identity = torch.arange(256, device=images.device).expand(n * c, 256)
    lut = torch.where(step > 0, lut.clamp(max=255), identity)  # PIL leaves flat channels as they are
    return (lut.gather(1, levels).to(images.dtype) / 255.0).reshape(n, c, h, w)


def invert(images, value, draws):
    return 1.0 - images


def posterize(images, value, draws):
    bits = max(2, 6 - int(value))   # the reference maps value 0..4 to 6..2 kept bits
    shift = 8 - bits
    return (torch.bitwise_right_shift(_levels(images), shift) << shift).to(images.dtype) / 255.0


def _solarize_levels(images: torch.Tensor, threshold: float) -> torch.Tensor:
    """PIL.ImageOps.solarize: levels at or above `threshold` (0..256) are inverted."""
    return torch.where(_levels(images) < threshold, images, 1.0 - images)


def solarize(images, value, draws):
    return _solarize_levels(images, 256.0 - value)


def solarize_add(images, value, draws):
    return _solarize_levels((images + value / 255.0).clamp(0.0, 1.0), 128.0)


def color(images, value, draws):
    return _blend(_gray(images), images, _signed_factor(value, draws))


def contrast(images, value, draws):
    mean = (_gray(images).mean(dim=(-2, -1), keepdim=True) * 255.0).round() / 255.0
    return _blend(mean, images, _signed_factor(value, draws))


def brightness(images, value, draws):
    return _blend(torch.zeros_like(images), images, _signed_factor(value, draws))


def sharpness(images, value, draws):
    """Blend with PIL's SMOOTH-filtered image; like PIL, the one-pixel border is left unfiltered."""
    kernel = SMOOTH_KERNEL.to(images)[None, None].expand(3, 1, 3, 3)
    degenerate = images.clone()
    degenerate[..., 1:-1, 1:-1] = F.conv2d(images, kernel, groups=3)
    return _blend(degenerate, images, _signed_factor(value, draws))


def cutout(images, value, draws):
    """A `value`-pixel square (for a 256-high crop) at a uniform centre, filled with the mean colour."""
    height, width = images.shape[-2:]
    half = 0.5 * value * height / REFERENCE_HEIGHT
    centre_x = draws[:, 1:2] * width
    centre_y = draws[:, 2:3] * height
    xs = torch.arange(width, device=images.device, dtype=images.dtype)
    ys = torch.arange(height, device=images.device, dtype=images.dtype)
    inside_x = (xs >= centre_x - half) & (xs < centre_x + half)       # (M, W)
    inside_y = (ys >= centre_y - half) & (ys < centre_y + half)       # (M, H)
    box = (inside_y[:, :, None] & inside_x[:, None, :])[:, None]
    mean, _ = imagenet_mean_std(images)
    return torch.where(box, mean, images)


# name -> (op, low, high): the reference's augment_list().
OPS = {
    "autocontrast": (autocontrast, 0.0, 1.0),
    "equalize": (equalize, 0.0, 1.0),
    "invert": (invert, 0.0, 1.0),
    "posterize": (posterize, 0.0, 4.0),
    "solarize": (solarize, 0.0, 256.0),
    "solarize_add": (solarize_add, 0.0, 110.0),
    "color": (color, 0.0, 0.9),
    "contrast": (contrast, 0.0, 0.9),
    "brightness": (brightness, 0.0, 0.9),
    "sharpness": (sharpness, 0.0, 0.9),
    "cutout": (cutout, 0.0, 80.0),
}


def op_value(name: str, magnitude: float) -> float:
    _, low, high = OPS[name]
    return magnitude / MAX_MAGNITUDE * (high - low) + low


def imagenet_mean_std(like: torch.Tensor):
    """The loader's normalisation constants as (1, 3, 1, 1) tensors in [0, 1] units."""
    as_tensor = lambda values: torch.as_tensor(values / 255.0, device=like.device, dtype=like.dtype)  # noqa: E731
    return as_tensor(IMAGENET_MEAN)[None, :, None, None], as_tensor(IMAGENET_STD)[None, :, None, None]


def to_unit_rgb(images: torch.Tensor) -> torch.Tensor:
    mean, std = imagenet_mean_std(images)
    return images * std + mean


def to_normalised(images: torch.Tensor) -> torch.Tensor:
    mean, std = imagenet_mean_std(images)
    return (images - mean) / std


def rand_augment(images: torch.Tensor, num_ops: int, magnitude: float, rng: np.random.Generator,
                 op_names=tuple(OPS)) -> torch.Tensor:
    """`num_ops` random ops per image on an (N, 3, H, W) normalised batch; returns a new batch.

    Each round draws one op per image; every op runs once, batched over the images that drew it.
    """
    if num_ops < 0 or not 0.0 <= magnitude <= MAX_MAGNITUDE:
        raise RandAugmentError(f"method.hard.randaugment: num_ops must be >= 0 (got {num_ops}) and magnitude "
                               f"in [0, {MAX_MAGNITUDE:g}] (got {magnitude})")
    unknown = sorted(set(op_names) - set(OPS))
    if unknown:
        raise RandAugmentError(f"method.hard.randaugment: unknown ops {unknown}; known: {sorted(OPS)}")
    if num_ops == 0 or images.shape[0] == 0:
        return images
    count = images.shape[0]
    choices = rng.integers(len(op_names), size=(num_ops, count))
    draws = torch.as_tensor(rng.random((num_ops, count, 3)), dtype=images.dtype).to(images.device)
    with torch.no_grad():
        unit = to_unit_rgb(images)
        for round_index in range(num_ops):
            for op_index in np.unique(choices[round_index]):
                name = op_names[op_index]
                rows = np.flatnonzero(choices[round_index] == op_index)
                rows_device = torch.as_tensor(rows, device=images.device)
                op = OPS[name][0]
                changed = op(unit[rows_device], op_value(name, magnitude), draws[round_index, rows_device])
                unit = unit.index_copy(0, rows_device, changed)
        return to_normalised(unit)
