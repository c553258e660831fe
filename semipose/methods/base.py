"""The interface every training method implements; supervised training is the first method."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
from torch import nn

from semipose.config import MethodConfig


@dataclass
class StepOutput:
    loss: torch.Tensor                                   # scalar to back-propagate
    logs: dict[str, float] = field(default_factory=dict)  # loss terms, heatmap responses, ...


@dataclass
class MethodContext:
    """What a method needs to know about the data, fixed for a run."""
    num_keypoints: int
    input_size: tuple[int, int]            # (w, h) of the crop
    heatmap_size: tuple[int, int]          # (w, h) of the heatmaps
    flip_permutation: Optional[list[int]]  # partner of each joint, None when the set has no flip pairs
    labelled_joints: torch.Tensor          # (K,) bool: joints the labelled set annotates at least once
    sigma: float
    build_network: Callable[..., nn.Module]  # build_network(model_config or None) -> a fresh network
    load_network: Callable[[str, object], nn.Module]  # (checkpoint path, model config or None) -> frozen net
    seed: int = 0
    convention: str = "exact"              # pixel convention of the networks (geometry.CONVENTIONS)


STEP_PART_PREFIX = "semipose.step."


def step_part(name: str):
    """Label a part of a training step ("labelled", "teacher", "views", "student", "loss") for
    torch.profiler: benchmarks/step_speed.py --breakdown sums each part's time. Without an active
    profiler the label costs a few microseconds."""
    return torch.profiler.record_function(f"{STEP_PART_PREFIX}{name}")


class Method(nn.Module):
    """Owns its networks, turns one labelled (+ unlabelled) batch into a loss.

    `networks` holds everything the optimizer trains; frozen or EMA teachers live elsewhere on the
    module so they are checkpointed with it but never optimised.
    """
    uses_unlabelled = False

    def __init__(self, config: MethodConfig, context: MethodContext):
        super().__init__()
        self.config = config
        self.context = context
        self.networks = nn.ModuleDict()

    def training_step(self, labelled: dict, unlabelled: Optional[dict], step: int) -> StepOutput:
        raise NotImplementedError

    def after_optimizer_step(self, step: int) -> None:
        """Hook for EMA teachers and the like."""

    def eval_networks(self) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        """Name -> function images -> heatmaps, for validation; the first one is the main one."""
        return {name: network for name, network in self.networks.items()}

    def teachers(self) -> dict[str, nn.Module]:
        """Networks the step runs but never optimises (fixed or EMA teachers): every child module
        besides `networks`. The engine gives them the same speed options (autocast, channels_last,
        compile) as the trained networks, and keeps them out of DistributedDataParallel."""
        return {name: module for name, module in self.named_children() if name != "networks"}

    def unsup_weight(self, step: int) -> float:
        """lambda, ramped linearly between config.rampup = (start, end) steps."""
        start, end = self.config.rampup
        if end <= start:
            return self.config.unsup_weight
        return self.config.unsup_weight * min(1.0, max(0.0, (step - start) / (end - start)))
