"""A pose network as an ONNX file, and the check that onnxruntime computes what torch does.

The exported graph (opset 17 by default, TorchScript exporter: no onnxscript needed):
- input `images`: float32 (N, 3, H, W), RGB crops with values 0..255 (the crop of a person box
  padded x1.25 to the model's aspect ratio, as `semipose.data.topdown.crop_person` makes it);
  the ImageNet mean/std normalisation is inside the graph;
- output `heatmaps`: float32 (N, K, H/4, W/4).
N is fixed to the exported batch unless `dynamic_batch`, then any N >= 1 works.
What stays outside the graph (docs/export.md shows it in numpy): the crop, the flip test, and
decoding a heatmap's peak (argmax + quarter-pixel offset) back through the crop's affine.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from semipose.data.batch_prep import IMAGENET_MEAN, IMAGENET_STD

DEFAULT_OPSET = 17
PARITY_TOLERANCE = 1e-4  # max abs heatmap difference accepted between onnxruntime and torch (float32)


class NormalisedNetwork(nn.Module):
    """RGB 0..255 float crops -> heatmaps: the normalisation a prepared batch gets, then the network."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network
        self.register_buffer("mean", torch.from_numpy(IMAGENET_MEAN.copy()).view(1, 3, 1, 1))
        self.register_buffer("std", torch.from_numpy(IMAGENET_STD.copy()).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network((images - self.mean) / self.std)


@contextmanager
def eval_mode(module: nn.Module):
    """`module` and every submodule in eval mode inside, each back in its own mode afterwards
    (module.train(flag) would set all submodules to the wrapper's one flag)."""
    modes = [(child, child.training) for child in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for child, training in modes:
            child.training = training


def export_onnx(network: nn.Module, path, input_hw, dynamic_batch: bool = False, batch: int = 1,
                opset: int = DEFAULT_OPSET) -> Path:
    """Write `network` (images normalised inside) to `path` atomically; returns the path."""
    import warnings
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapped = NormalisedNetwork(network)
    example = torch.full((batch, 3, *input_hw), 128.0)
    axes = {"images": {0: "batch"}, "heatmaps": {0: "batch"}} if dynamic_batch else None
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with eval_mode(wrapped), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # the input-shape checks trace as constants
            torch.onnx.export(wrapped, (example,), str(temporary), dynamo=False, opset_version=opset,
                              input_names=["images"], output_names=["heatmaps"], dynamic_axes=axes)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def onnx_session(path):
    """An onnxruntime CPU session for `path`; a clear error when onnxruntime is not installed."""
    try:
        import onnxruntime
    except ImportError:
        raise ImportError("onnxruntime is not installed: pip install 'semipose[onnx]'") from None
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def max_heatmap_difference(path, network: nn.Module, images: np.ndarray) -> float:
    """Max abs difference between onnxruntime's heatmaps of `path` and torch's of `network` for
    float32 (N, 3, H, W) 0..255 crops (compared in float64)."""
    images = np.ascontiguousarray(images, dtype=np.float32)
    onnx_heatmaps = onnx_session(path).run(["heatmaps"], {"images": images})[0]
    wrapped = NormalisedNetwork(network)
    with eval_mode(wrapped), torch.no_grad():
        torch_heatmaps = wrapped(torch.from_numpy(images)).numpy()
    if onnx_heatmaps.shape != torch_heatmaps.shape:
        raise ValueError(f"{path}: onnxruntime heatmaps {onnx_heatmaps.shape} vs torch {torch_heatmaps.shape}")
    return float(np.abs(onnx_heatmaps.astype(np.float64) - torch_heatmaps.astype(np.float64)).max())


def check_parity(path, network: nn.Module, images: np.ndarray, tolerance: float = PARITY_TOLERANCE) -> float:
    """max_heatmap_difference, raising ValueError above `tolerance`."""
    difference = max_heatmap_difference(path, network, images)
    if not difference <= tolerance:
        raise ValueError(f"{path}: onnxruntime and torch heatmaps differ by {difference:.3g} "
                         f"(more than {tolerance:g})")
    return difference
