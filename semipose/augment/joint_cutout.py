"""Joint Cutout (paper Sec. 4.1): occlude boxes around a few of the teacher's detected joints.

Per image, `num_joints` joints are drawn with replacement among the joints the dataset annotates;
each box is centred on the joint plus Gaussian jitter, with half-width and half-height drawn
independently and uniformly (as the reference's randint(10, 20) per axis), and filled with 0,
which is the mean colour of an ImageNet-normalised image. Sizes are given for a 256-high crop
and scaled by input_h / 256.

Unlike the reference code (which swaps the height and width axes, so that boxes in the bottom
quarter of a 256x192 crop are truncated or lost), x is the width axis and y the height axis.
"""
from __future__ import annotations

from typing import Optional

import torch

REFERENCE_HEIGHT = 256.0


class JointCutoutError(ValueError):
    """Bad Joint Cutout inputs (method.hard.joint_cutout or the joints given to it)."""


def _check(images: torch.Tensor, joints: torch.Tensor, allowed_joints: torch.Tensor, half_size_range) -> None:
    if images.dim() != 4 or joints.dim() != 3 or joints.shape[0] != images.shape[0] or joints.shape[2] != 2:
        raise JointCutoutError(f"joint_cutout: expected images (N, C, H, W) and joints (N, K, 2), got "
                               f"{tuple(images.shape)} and {tuple(joints.shape)}")
    if allowed_joints.shape != (joints.shape[1],):
        raise JointCutoutError(f"joint_cutout: allowed_joints must have shape ({joints.shape[1]},), "
                               f"got {tuple(allowed_joints.shape)}")
    low, high = half_size_range
    if not 0 <= low <= high:
        raise JointCutoutError(f"method.hard.joint_cutout.half_size must satisfy 0 <= low <= high, "
                               f"got {tuple(half_size_range)}")


def joint_cutout(images: torch.Tensor, joints_input_px: torch.Tensor, num_joints: int,
                 half_size_range=(10.0, 19.0), jitter_std: float = 10.0,
                 allowed_joints: Optional[torch.Tensor] = None,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Images with `num_joints` boxes per sample blanked around (N, K, 2) joints in input pixels.

    Returns a new tensor; `images` is left untouched. `allowed_joints` (K,) bool defaults to all.
    """
    count, num_keypoints = joints_input_px.shape[:2]
    if allowed_joints is None:
        allowed_joints = torch.ones(num_keypoints, dtype=torch.bool)
    _check(images, joints_input_px, allowed_joints, half_size_range)
    if num_joints <= 0 or count == 0:
        return images
    # Checked only for host tensors: on a GPU this test would cost a sync every step.
    if allowed_joints.device.type == "cpu" and not bool(allowed_joints.any()):
        raise JointCutoutError("joint_cutout: allowed_joints is all False, there is no joint to cut out")
    allowed_joints = allowed_joints.to(images.device)

    height, width = images.shape[-2:]
    unit = height / REFERENCE_HEIGHT
    device, dtype = images.device, images.dtype
    draw = dict(device=device, generator=generator)

    chosen = torch.multinomial(allowed_joints.float().expand(count, -1), num_joints, replacement=True,
                               generator=generator)                                     # (N, k)
    index = chosen[..., None].expand(-1, -1, 2)
    centres = joints_input_px.to(dtype).gather(1, index)                                 # (N, k, 2)
    centres = centres + torch.randn(count, num_joints, 2, dtype=dtype, **draw) * (jitter_std * unit)
    low, high = half_size_range
    half_sizes = (low + (high - low) * torch.rand(count, num_joints, 2, dtype=dtype, **draw)) * unit

    xs = torch.arange(width, device=device, dtype=dtype)
    ys = torch.arange(height, device=device, dtype=dtype)
    inside_x = (xs - centres[..., 0:1]).abs() <= half_sizes[..., 0:1]                    # (N, k, W)
    inside_y = (ys - centres[..., 1:2]).abs() <= half_sizes[..., 1:2]                    # (N, k, H)
    covered = (inside_y[..., :, None] & inside_x[..., None, :]).any(dim=1)              # (N, H, W)
    return images.masked_fill(covered[:, None], 0.0)
