"""Ours (Dual), paper Sec. 4.2 / Eq. 7: two networks teach each other's hard view.

L = 0.5 L_s(a) + 0.5 L_s(b) + lambda (||a(I_h) - T(b(I_e))||^2 + ||b(I_h) - T(a(I_e))||^2): the
easy -> hard step (methods/easy_hard.py) with the pairs (a, b) and (b, a). Teachers are detached
(no_grad, train mode: batch-norm statistics update as in the reference), one optimizer over both.
Both hard views share the RandAugment draw and the affine; with Joint Cutout, network a's hard
image is masked at network b's predicted joints and vice versa. Network b is built from
method.second_model (default: the same architecture); each build_network call gives a fresh
initialisation, so the two start different. Validation reports a, b and their average.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import torch
from torch import nn

from semipose.config import ModelConfig
from semipose.methods.easy_hard import EasyHard, EasyHardConfig, Pair


@dataclass
class DualConfig(EasyHardConfig):
    name: str = "dual"
    second_model: Optional[ModelConfig] = None            # network b (default: the run's model)


class MeanOf(nn.Module):
    """The average of several networks' heatmaps."""

    def __init__(self, networks):
        super().__init__()
        self.members = nn.ModuleList(networks)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        first, second = self.members
        return 0.5 * (first(images) + second(images))


class Dual(EasyHard):
    prediction_network = "mean"

    @classmethod
    def network_models(cls, config: DualConfig) -> dict[str, Optional[ModelConfig]]:
        return {"a": None, "b": config.second_model}

    @classmethod
    def evaluated(cls, networks: Mapping[str, nn.Module]) -> dict[str, nn.Module]:
        return {"a": networks["a"], "b": networks["b"], "mean": MeanOf([networks["a"], networks["b"]])}

    def pairs(self) -> list[Pair]:
        return [Pair("a", "b"), Pair("b", "a")]
