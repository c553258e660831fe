"""The one way a batch of samples reaches the networks: moved to the device, normalised, targets drawn.

The loader's workers send what is cheap to make and to ship: uint8 crops (a quarter of the bytes
of float ones), keypoints in input pixels and the target weights. Here, on the device and for the
whole batch at once, the crops become float images normalised with the ImageNet mean/std and the
keypoints become Gaussian heatmaps (semipose.codec.encode). Training, validation, evaluation,
prediction, the ladder and the prediction grid all call this, so a method always receives the
batch described in docs/architecture.md: normalised float `image`, `heatmaps`, `target_weight`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from semipose import codec, geometry
from semipose.config import DataConfig

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255


def prepare_batch(batch: dict, data: Optional[DataConfig], device,
                  image_format: torch.memory_format = torch.preserve_format) -> dict:
    """Every tensor of `batch` on `device` (non_blocking: pinned loader memory copies asynchronously),
    `image` as normalised float32 (N, 3, H, W) in `image_format`, and, when `data` is given and the
    batch has `keypoints` (N, K, 3) in input pixels and `target_weight` (N, K), the `heatmaps`
    (N, K, h, w) and final `target_weight` drawn on the device. An image that is already float is
    taken as normalised (batches built by hand, tests)."""
    prepared = {key: value.to(device, non_blocking=True) if torch.is_tensor(value) else value
                for key, value in batch.items()}
    if "image" in prepared:
        prepared["image"] = prepare_images(prepared["image"], device, image_format)
    if data is not None and "keypoints" in prepared and "target_weight" in prepared:
        prepared["heatmaps"], prepared["target_weight"] = render_targets(
            prepared["keypoints"], prepared["target_weight"], data)
    return prepared


def prepare_images(images: torch.Tensor, device, image_format: torch.memory_format = torch.preserve_format):
    """uint8 (N, 3, H, W) crops -> float32 normalised with the ImageNet mean/std, on `device`."""
    images = images.to(device, non_blocking=True)
    if images.dtype == torch.uint8:
        mean, std = _channel_constants(images.device)
        images = images.float().sub_(mean).div_(std)  # in place: one new tensor, not three
    if image_format is not torch.preserve_format:
        images = images.contiguous(memory_format=image_format)
    return images


def render_targets(keypoints: torch.Tensor, target_weight: torch.Tensor, data: DataConfig):
    """(heatmaps (N, K, h, w), target_weight (N, K)) for keypoints (N, K, 3) in input pixels: a joint
    counts where the loader's weight is positive and the point lies on the heatmap."""
    to_heatmap = torch.as_tensor(geometry.resize_affine(data.input_size, data.heatmap_size, data.pixel_convention),
                                 dtype=torch.float32, device=keypoints.device)
    points = keypoints[..., :2].float() @ to_heatmap[:, :2].T + to_heatmap[:, 2]
    heatmap_hw = (data.heatmap_size[1], data.heatmap_size[0])
    return codec.encode(points, target_weight.float(), heatmap_hw, data.sigma)


def image_to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) image, uint8 or normalised float -> (H, W, 3) uint8 RGB, for drawing."""
    if image.dtype == torch.uint8:
        return image.detach().cpu().permute(1, 2, 0).numpy()
    rgb = image.detach().cpu().float().numpy().transpose(1, 2, 0) * IMAGENET_STD + IMAGENET_MEAN
    return np.clip(rgb, 0, 255).astype(np.uint8)


_CONSTANTS: dict = {}


def _channel_constants(device: torch.device):
    """(mean, std) as (3, 1, 1) float32 tensors on `device`, copied there once."""
    key = str(device)
    if key not in _CONSTANTS:
        _CONSTANTS[key] = tuple(torch.from_numpy(values).reshape(3, 1, 1).to(device)
                                for values in (IMAGENET_MEAN, IMAGENET_STD))
    return _CONSTANTS[key]
