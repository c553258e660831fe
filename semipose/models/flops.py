"""Parameter and GFLOPs counts, in the convention the pose papers' tables use.

"GFLOPs" in SimpleBaseline / HRNet tables are multiply-adds of the Conv, ConvTranspose and
Linear layers, counted by the reference tool (`get_model_summary` in the HRNet code) as
    (number of weight elements) x (number of output positions)
and divided by 2**30. For a stride-2 ConvTranspose2d that is 4x its true multiply count (each
output position only meets (kernel/stride)**2 taps per input channel); we keep the convention
so that our numbers reproduce the published ones (SimpleBaseline-R50 256x192: 8.9, HRNet-W32
256x192: 7.1). BatchNorm, ReLU, pooling and additions are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from .registry import build_model

COUNTED_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
GIGA = 2**30  # the reference tool's "G"


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def layer_macs(layer: nn.Module, output: Tensor) -> int:
    """Multiply-adds of one call of `layer` (batch size 1), in the papers' convention."""
    if isinstance(layer, nn.Linear):
        return output.numel() * layer.in_features
    return layer.weight.numel() * output.shape[2:].numel()


def count_macs(model: nn.Module, input_hw: tuple[int, int]) -> int:
    """Multiply-adds of one forward pass on a (1, 3, H, W) input.

    Runs on the model's own device: build the model under `torch.device("meta")` to count a
    large network without allocating or computing anything.
    """
    device = next(model.parameters()).device
    total = 0

    def add_macs(layer: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal total
        total += layer_macs(layer, output)

    hooks = [layer.register_forward_hook(add_macs)
             for layer in model.modules() if isinstance(layer, COUNTED_LAYERS)]
    was_training = model.training
    try:
        model.eval()  # keep BatchNorm running statistics untouched
        with torch.no_grad():
            model(torch.zeros(1, 3, *input_hw, device=device))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return total


def count_gflops(model: nn.Module, input_hw: tuple[int, int]) -> float:
    """GMACs (= the papers' "GFLOPs") of one forward pass on a (1, 3, H, W) input."""
    return count_macs(model, input_hw) / GIGA


def model_table(names: Iterable[str], input_hw: tuple[int, int],
                num_keypoints: int = 17) -> list[dict]:
    """One row per model name: parameters (also in millions), GFLOPs, heatmap size."""
    rows = []
    for name in names:
        with torch.device("meta"):  # shapes only: no memory, no initialisation cost
            model = build_model(name, num_keypoints)
        parameters = count_parameters(model)
        rows.append({
            "name": name,
            "input_hw": tuple(input_hw),
            "heatmap_hw": (input_hw[0] // 4, input_hw[1] // 4),  # every model has stride 4
            "params": parameters,
            "params_m": parameters / 1e6,
            "gflops": count_gflops(model, input_hw),
        })
    return rows
