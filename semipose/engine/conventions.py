"""Which pixel convention (geometry.CONVENTIONS) a checkpoint was trained with, and what a run uses.

A semipose training checkpoint carries its resolved config, so its convention is
`config.data.convention` ("exact" for files older than the option). Any other file (public
SimpleBaseline / HRNet / the paper's Dual models) was trained with the reference code: "reference".
An explicit `data.convention` always wins; a frozen teacher of another convention has its
heatmaps resampled into the run's (`HeatmapConventionAdapter`).
"""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from semipose import geometry
from semipose.config import Config
from semipose.engine.checkpoint import load_checkpoint


def checkpoint_convention(payload: dict) -> str:
    if "method" not in payload:
        return "reference"
    data = payload.get("config", {}).get("data", {}) if isinstance(payload.get("config"), dict) else {}
    return geometry.check_convention(data.get("convention") or "exact")


def with_convention(config: Config, convention: str) -> Config:
    """A copy of `config` whose data.convention is the given one unless the config names one."""
    return replace(config, data=replace(config.data, convention=config.data.convention or convention))


def resolve_run_convention(config: Config) -> Config:
    """The config of a training run with data.convention filled in: the convention of the whole
    pose checkpoint it starts from (model.checkpoint), else "exact"."""
    if config.data.convention is not None:
        return config
    start = checkpoint_convention(load_checkpoint(config.model.checkpoint)) if config.model.checkpoint else "exact"
    return with_convention(config, start)


class HeatmapConventionAdapter(nn.Module):
    """A network of convention `source` whose heatmaps are resampled into convention `target`
    (for a teacher trained elsewhere): same input crop, heatmap pixels moved by the difference of
    the two input -> heatmap maps (a sub-pixel shift, bilinear)."""

    def __init__(self, network: nn.Module, source: str, target: str):
        super().__init__()
        self.network, self.source, self.target = network, geometry.check_convention(source), target

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        heatmaps = self.network(images)
        input_wh, heatmap_wh = (images.shape[-1], images.shape[-2]), (heatmaps.shape[-1], heatmaps.shape[-2])
        source_to_target = geometry.compose(geometry.resize_affine(input_wh, heatmap_wh, self.target),
                                            geometry.invert(geometry.resize_affine(input_wh, heatmap_wh, self.source)))
        affines = torch.as_tensor(source_to_target, dtype=heatmaps.dtype, device=heatmaps.device)
        return geometry.warp_batch(heatmaps, affines.expand(len(heatmaps), 2, 3), heatmaps.shape[-2:])
