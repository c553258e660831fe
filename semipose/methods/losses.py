"""Heatmap losses shared by all methods."""
from __future__ import annotations

import torch


def heatmap_mse(predicted: torch.Tensor, target: torch.Tensor, joint_weight: torch.Tensor,
                pixel_weight: torch.Tensor | None = None) -> torch.Tensor:
    """0.5 x MSE over batch x H x W per joint, averaged over joints (SimpleBaseline's JointsMSELoss).

    `joint_weight` is (N, K) or (K,); `pixel_weight` (N, K or 1, H, W) masks or re-weights pixels
    (out-of-view pixels of a warped teacher, foreground re-weighting).
    """
    if joint_weight.dim() == 1:
        joint_weight = joint_weight.expand(predicted.shape[0], -1)
    squared = (predicted.float() - target.float()) ** 2 * joint_weight[:, :, None, None].float()
    if pixel_weight is not None:
        squared = squared * pixel_weight.float()
    return 0.5 * squared.mean()


def heatmap_response(heatmaps: torch.Tensor) -> torch.Tensor:
    """Per-joint mean over the batch of each heatmap's maximum: the paper's collapse signal (K,)."""
    return heatmaps.detach().flatten(-2).amax(dim=-1).float().mean(dim=0)
