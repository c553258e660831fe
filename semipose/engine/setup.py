"""Assemble a run from its config: datasets, networks, the method and its optimizer."""
from __future__ import annotations

import math
import types
from dataclasses import dataclass
from typing import Optional

import torch

from semipose.config import Config, ModelConfig, TrainConfig
from semipose.engine.conventions import HeatmapConventionAdapter, checkpoint_convention
from semipose.engine.distributed import World, rank_seed
from semipose.data.build import DataBundle, build_datasets, labelled_joint_mask
from semipose.methods import method_class
from semipose.methods.base import Method, MethodContext
from semipose.models import build_model
from semipose.models.checkpoint_files import load_checkpoint, network_states
from semipose.models.loading import load_weights


@dataclass
class Run:
    data: DataBundle
    method: Method
    optimizer: torch.optim.Optimizer
    iterations_per_epoch: int
    main_metric_key: str


def build_network(model: ModelConfig, num_keypoints: int) -> torch.nn.Module:
    """The architecture `model` names, freshly initialised (no file is read)."""
    options = {"width": model.width} if model.width else {}
    return build_model(model.name, num_keypoints, **options)


def load_initial_weights(network: torch.nn.Module, model: ModelConfig) -> torch.nn.Module:
    """The weights a training run starts from: model.pretrained (ImageNet backbone), then
    model.checkpoint (a whole pose model)."""
    if model.pretrained:
        load_weights(network, model.pretrained, mode="backbone")
    if model.checkpoint:
        load_weights(network, model.checkpoint, mode=model.load_mode,
                     allow_head_mismatch=model.allow_head_mismatch)
    return network


def load_frozen_network(path: str, model: ModelConfig, num_keypoints: int,
                        convention: str = "exact") -> torch.nn.Module:
    """A fixed teacher: a network from a pose checkpoint (ours or a public one), eval mode, no grad;
    its heatmaps come in the run's `convention` whatever convention the file was trained with."""
    network = build_network(model, num_keypoints)
    payload = load_checkpoint(path)
    load_weights(network, next(iter(network_states(payload).values())), mode="strict")
    network.eval().requires_grad_(False)
    trained_with = checkpoint_convention(payload)
    return network if trained_with == convention else HeatmapConventionAdapter(network, trained_with, convention)


def method_context(config: Config, data: DataBundle, rank: int = 0) -> MethodContext:
    meta, k = data.meta, data.meta.num_keypoints
    return MethodContext(
        num_keypoints=k, input_size=tuple(config.data.input_size), heatmap_size=config.data.heatmap_size,
        flip_permutation=meta.flip_test_permutation(),
        labelled_joints=torch.from_numpy(labelled_joint_mask(data.labelled)),
        sigma=config.data.sigma,
        build_network=lambda model=None: load_initial_weights(build_network(model or config.model, k),
                                                              model or config.model),
        load_network=lambda path, model=None: load_frozen_network(path, model or config.model, k,
                                                                  config.data.pixel_convention),
        seed=rank_seed(config.train.seed, rank), convention=config.data.pixel_convention)


def build_run(config: Config, device: torch.device, world: World = World()) -> Run:
    method_type = method_class(config.method)  # a wrong method config fails here, before any data is read
    uses_unlabelled = method_type.uses_unlabelled
    data = build_datasets(config.data, config.train.seed, need_unlabelled=uses_unlabelled)
    check_metric_fits(config, data)
    method = method_type(config.method, method_context(config, data, world.rank)).to(device)
    for network in [*method.networks.values(), *method.teachers().values()]:
        apply_speed_options(network, config.train, device)
    optimizer = torch.optim.Adam(method.networks.parameters(), lr=config.train.lr,
                                 weight_decay=config.train.weight_decay)
    stream = data.unlabelled if uses_unlabelled else data.labelled
    batch = (config.train.unlabelled_batch_size or config.train.batch_size) if uses_unlabelled \
        else config.train.batch_size
    main_metric = "AP" if config.eval.metric == "AP" else f"PCK@{config.eval.pck_alpha:g}"
    first_network = next(iter(method.eval_networks()))
    steps_per_epoch = max(1, math.ceil(len(stream) / (batch * world.size)))  # one step = a batch per rank
    return Run(data, method, optimizer, steps_per_epoch, f"{first_network}/{main_metric}")


def check_metric_fits(config: Config, data: DataBundle) -> None:
    """OKS AP needs the keypoints' sigmas: refuse a PCK-only keypoint set before the first step."""
    if config.eval.metric == "AP" and not data.meta.has_sigmas:
        raise ValueError(f"{config.data.val.json}: this keypoint set has no OKS sigmas (category field `sigmas`), "
                         "so eval.metric=AP cannot be computed; train with eval.metric=PCK or add `sigmas`")


AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def apply_speed_options(network: torch.nn.Module, train: TrainConfig, device: torch.device) -> None:
    """channels_last, autocast and torch.compile as configured, in place: the parameters stay the
    same objects and the state_dict keys stay the same, so checkpoints do not depend on them."""
    if train.channels_last:
        network.to(memory_format=torch.channels_last)
    if train.amp != "none":
        autocast_forward(network, device.type, AMP_DTYPES[train.amp])
    if train.compile:
        network.compile()


def autocast_forward(network: torch.nn.Module, device_type: str, dtype: torch.dtype) -> None:
    """Run the network's forward under autocast and hand back float32 heatmaps. Only the forward:
    losses, affine warps of heatmaps and decoding after it stay in float32 (an affine grid in bf16
    would be off by a quarter pixel). Bound to the instance, so a deep copy (an EMA teacher) gets
    its own."""
    def forward_in_low_precision(self, *args, **kwargs):
        with torch.autocast(device_type, dtype=dtype):
            return type(self).forward(self, *args, **kwargs).float()

    network.forward = types.MethodType(forward_in_low_precision, network)
