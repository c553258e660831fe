"""Is a checkpoint's run the one this config describes? Checked before a resume touches anything
(issue 18): a change of what the weights are is refused, a change of how training goes on is
allowed only when listed in train.resume_changes, and bookkeeping keys may change freely."""
from __future__ import annotations

from typing import Any, Mapping

from semipose.configtools import ConfigError, short_repr

# What the saved weights are: no config can make them fit another shape.
ARCHITECTURE_KEYS = ("model.name", "model.width", "method.name", "method.second_model", "method.teacher_model",
                     "data.input_size", "data.heatmap_stride")
# Where and how a run is driven, not what it computes: free to change between sessions.
FREE_PREFIXES = ("eval.", "train.run_dir", "train.resume", "train.auto_resume", "train.device",
                 "train.log_every", "train.val_every", "train.checkpoint_every", "train.keep_checkpoints",
                 "train.dist_timeout_s", "train.compile", "train.channels_last", "data.workers",
                 "data.check_images", "data.cache_images", "monitor.action", "model.pretrained",
                 "model.checkpoint", "model.load_mode", "model.allow_head_mismatch",
                 # training on for longer is what a resume is often for; a total below the
                 # checkpoint's iteration is refused by the trainer
                 "train.iterations", "train.epochs")


class ResumeMismatch(ConfigError):
    """The config does not describe the run whose checkpoint would be resumed."""


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"train.lr": 0.001, ...} of a nested config dict (a None section stays one key)."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _free(key: str) -> bool:
    return any(key == prefix or key.startswith(prefix) for prefix in FREE_PREFIXES)


def _architecture(key: str) -> bool:
    return any(key == name or key.startswith(name + ".") for name in ARCHITECTURE_KEYS)


def _describe(changes: dict) -> str:
    return ", ".join(f"{key} {short_repr(old, 60)} -> {short_repr(new, 60)}" for key, (old, new) in changes.items())


def resume_changes(saved: Mapping[str, Any], current: Mapping[str, Any], source: str) -> dict[str, tuple]:
    """{key: (saved value, new value)} of the changes this resume makes, all of them allowed;
    ResumeMismatch naming the checkpoint and the keys otherwise. Keys the saved config lacks (a
    checkpoint from an older semipose) are not compared."""
    old, new = flatten(saved), flatten(current)
    changed = {key: (old[key], value) for key, value in new.items()
               if key in old and old[key] != value and not _free(key)}
    fixed = {key: change for key, change in changed.items() if _architecture(key)}
    if fixed:
        raise ResumeMismatch(f"{source}: cannot resume: the checkpoint's networks were built with another "
                             f"{_describe(fixed)}; use a new train.run_dir (or model.checkpoint=PATH to start "
                             "from these weights)")
    allowed = set(new.get("train.resume_changes") or ())
    unknown = sorted(allowed - set(new))
    if unknown:
        raise ResumeMismatch(f"train.resume_changes names unknown config keys {unknown}")
    refused = {key: change for key, change in changed.items() if key not in allowed}
    if refused:
        raise ResumeMismatch(f"{source}: cannot resume: this config changes what the run was trained with: "
                             f"{_describe(refused)}; to continue with the change, allow it explicitly "
                             f"(train.resume_changes=[{','.join(refused)}]), or use a new train.run_dir")
    return changed
