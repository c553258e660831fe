"""Small pieces every pose model shares: the input-size check and the heatmap-head init."""

from __future__ import annotations

from torch import Tensor, nn


class InputSizeError(ValueError):
    """The images given to a model do not have a shape it can turn into stride-4 heatmaps."""


def check_input_size(images: Tensor, multiple: int, model_name: str) -> None:
    """Raise `InputSizeError` unless `images` is (N, 3, H, W) with H, W multiples of `multiple`.

    The encoders halve the resolution several times and the decoders double it again; an
    odd size somewhere in between would give heatmaps that are not exactly H/4 x W/4.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise InputSizeError(f"{model_name}: expected images of shape (N, 3, H, W), "
                             f"got {tuple(images.shape)}")
    height, width = images.shape[-2:]
    if height % multiple or width % multiple:
        raise InputSizeError(f"{model_name}: input height and width must be multiples of "
                             f"{multiple}, got {height}x{width}")


def init_pose_head(module: nn.Module) -> None:
    """The reference pose-model init: convs and deconvs normal(std=0.001), biases 0, BN 1/0.

    A near-zero start makes the first heatmaps flat, so the MSE loss starts small and stable.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, std=0.001)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.ones_(layer.weight)
            nn.init.zeros_(layer.bias)
