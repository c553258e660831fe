"""Load published / ImageNet / our own weights into a model, and say exactly what did not fit.

Modes:
- "strict": every model key must come from the file and every file key must be used, with
  equal shapes; anything else raises `CheckpointMismatchError`. `allow_head_mismatch=True`
  tolerates only a shape mismatch of the final layer (another number of keypoints): the final
  layer then keeps the model's own initialisation, nothing else is touched.
- "partial": load every key whose name and shape match; report (and log) the rest.
- "backbone": load an ImageNet classification file into the model's backbone (the top-level
  modules in `model.backbone_prefixes`). Every backbone key must be in the file with the same
  shape; file keys the model lacks (the classifier `fc.*`, ...) are ignored and reported.
BatchNorm's `num_batches_tracked` counters are optional everywhere: older files lack them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import torch
from torch import Tensor, nn

from semipose.models.checkpoint_files import CheckpointError, load_checkpoint, training_checkpoint_networks

logger = logging.getLogger(__name__)

StateDict = Mapping[str, Tensor]
MODES = ("strict", "partial", "backbone")
WRAPPER_KEYS = ("state_dict", "model")  # dicts that hold a state dict under one of these
MAX_LISTED_KEYS = 8


class CheckpointMismatchError(CheckpointError):
    """A checkpoint whose keys or shapes do not fit the model."""


def list_keys(keys: list[str], limit: int = MAX_LISTED_KEYS) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


@dataclass
class LoadReport:
    """What `load_weights` did. Shape mismatches map key -> (file shape, model shape)."""

    source: str
    mode: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)

    @property
    def skipped(self) -> list[str]:
        """Every key that was not loaded: missing, unexpected or of another shape."""
        return self.missing + self.unexpected + list(self.mismatched)

    def summary(self) -> str:
        lines = [f"{self.source} ({self.mode}): loaded {len(self.loaded)} tensors"]
        if self.missing:
            lines.append(f"  missing from the file ({len(self.missing)}): "
                         f"{list_keys(self.missing)}")
        if self.unexpected:
            lines.append(f"  not in the model ({len(self.unexpected)}): "
                         f"{list_keys(self.unexpected)}")
        if self.mismatched:
            shapes = [f"{key} file {tuple(a)} vs model {tuple(b)}"
                      for key, (a, b) in self.mismatched.items()]
            lines.append(f"  shape mismatch ({len(shapes)}): {list_keys(shapes)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def read_state_dict(path: Union[str, Path]) -> dict[str, Tensor]:
    """The state dict in a weights-only checkpoint file (see `unwrap_state_dict`)."""
    return unwrap_state_dict(load_checkpoint(path), str(path))


def unwrap_state_dict(content: object, source: str) -> dict[str, Tensor]:
    """Accept a raw state dict, one wrapped under `state_dict` / `model`, or a semipose training
    checkpoint (its first network: fine-tuning starts from network A); strip `module.`."""
    if isinstance(content, Mapping):
        networks = training_checkpoint_networks(content)
        if networks:
            content = next(iter(networks.values()))
        for wrapper in WRAPPER_KEYS:
            if isinstance(content.get(wrapper), Mapping):
                content = content[wrapper]
                break
    if not isinstance(content, Mapping):
        raise CheckpointError(f"{source}: expected a state dict, got {type(content).__name__}")
    state_dict = {}
    for key, value in content.items():
        if not isinstance(value, Tensor):
            raise CheckpointError(f"{source}: entry {key!r} is a {type(value).__name__}, "
                                  f"not a tensor; this is not a state dict")
        # DataParallel / DistributedDataParallel checkpoints prefix every name with `module.`
        state_dict[key.removeprefix("module.")] = value
    return state_dict


def in_backbone(key: str, prefixes: tuple[str, ...]) -> bool:
    return key.split(".", 1)[0] in prefixes


def compare(model_state: StateDict, file_state: StateDict, source: str, mode: str) -> LoadReport:
    """Sort the keys into loaded / missing / unexpected / mismatched (nothing is copied yet)."""
    report = LoadReport(source=source, mode=mode)
    for key, target in model_state.items():
        if key not in file_state:
            if not key.endswith("num_batches_tracked"):
                report.missing.append(key)
        elif file_state[key].shape != target.shape:
            report.mismatched[key] = (tuple(file_state[key].shape), tuple(target.shape))
        else:
            report.loaded.append(key)
    report.unexpected = [key for key in file_state if key not in model_state]
    return report


def is_final_layer_key(model: nn.Module, key: str) -> bool:
    return key.split(".", 1)[0] == getattr(model, "final_layer_name", "final_layer")


def check_strict(model: nn.Module, report: LoadReport, allow_head_mismatch: bool) -> None:
    mismatched = [key for key in report.mismatched
                  if not (allow_head_mismatch and is_final_layer_key(model, key))]
    if report.missing or report.unexpected or mismatched:
        raise CheckpointMismatchError(
            f"strict load failed, the checkpoint does not fit the model.\n{report.summary()}")


def model_scope(model: nn.Module, mode: str) -> dict[str, Tensor]:
    """The part of the model's state dict a mode is about (all of it, or the backbone)."""
    model_state = model.state_dict()
    if mode != "backbone":
        return model_state
    prefixes = getattr(model, "backbone_prefixes", None)
    if not prefixes:
        raise ValueError(f"{type(model).__name__} declares no backbone_prefixes; "
                         f"mode='backbone' does not apply to it")
    return {key: value for key, value in model_state.items() if in_backbone(key, prefixes)}


def load_weights(model: nn.Module, path_or_state_dict: Union[str, Path, StateDict],
                 mode: str = "strict", allow_head_mismatch: bool = False) -> LoadReport:
    """Copy matching tensors from a checkpoint into `model` (in place); see the module doc."""
    if mode not in MODES:
        raise ValueError(f"load_weights: mode must be one of {MODES}, got {mode!r}")
    if isinstance(path_or_state_dict, (str, Path)):
        source = str(path_or_state_dict)
        file_state = read_state_dict(path_or_state_dict)
    else:
        source = "<state dict>"
        file_state = unwrap_state_dict(path_or_state_dict, source)
    report = compare(model_scope(model, mode), file_state, source, mode)
    if mode == "strict":
        check_strict(model, report, allow_head_mismatch)
    elif mode == "backbone" and (report.missing or report.mismatched):
        raise CheckpointMismatchError(
            f"the checkpoint does not cover the model's backbone.\n{report.summary()}")
    new_state = model.state_dict()
    new_state.update({key: file_state[key] for key in report.loaded})
    model.load_state_dict(new_state)
    if report.skipped:
        # A classifier left out of a backbone load is expected; anything else deserves a look.
        level = logging.INFO if mode == "backbone" else logging.WARNING
        logger.log(level, "%s", report.summary())
    return report
