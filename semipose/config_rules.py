"""Every value rule of a run config, in one place, checked when the config is loaded (before
any data is read): ranges, relations between keys, sizes. The types (including "a float is a
finite number") are checked earlier, while the YAML is converted (configtools.py).

Each rule names its dotted key, so a message reads `train.log_every must be >= 1, got 0`.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from semipose.configtools import ConfigError, short_repr


RANDAUGMENT_MAX_MAGNITUDE = 30.0  # top of RandAugment's magnitude scale (the reference code's)


class ConfigValueError(ConfigError):
    """A config value that parses but makes no sense (negative learning rate, ...)."""


def require(ok: bool, key: str, rule: str, value: Any) -> None:
    if not ok:
        raise ConfigValueError(f"{key} must be {rule}, got {short_repr(value)}", key=key)


def at_least(value, low, key: str) -> None:
    require(value >= low, key, f">= {low}", value)


def between(value, low, high, key: str, low_open: bool = False, high_open: bool = False) -> None:
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    require(above and below, key, f"in {interval}", value)


def check_config(config) -> None:
    for check in (_check_data, _check_models, _check_method, _check_train, _check_eval, _check_monitor):
        check(config)


def _check_data(config) -> None:
    data = config.data
    at_least(data.heatmap_stride, 1, "data.heatmap_stride")
    size, stride = list(data.input_size), data.heatmap_stride
    if any(side <= 0 or side % stride for side in size):
        raise ConfigValueError(f"data.input_size {size} must be a positive multiple of data.heatmap_stride "
                               f"{stride}", key="data.input_size")
    require(data.sigma > 0, "data.sigma", "positive", data.sigma)
    require(data.padding > 0, "data.padding", "positive", data.padding)
    if data.num_labelled is not None:
        require(data.num_labelled > 0, "data.num_labelled", "positive", data.num_labelled)
    between(data.half_body_prob, 0, 1, "data.half_body_prob")
    at_least(data.workers, 0, "data.workers")
    check_jitter(data.easy, "data.easy")


def check_jitter(jitter, key: str) -> None:
    at_least(jitter.rotation, 0, f"{key}.rotation")
    between(jitter.scale, 0, 1, f"{key}.scale", high_open=True)
    between(jitter.rotation_prob, 0, 1, f"{key}.rotation_prob")


def _check_models(config) -> None:
    models = [("model", config.model)]
    models += [(f"method.{field.name}", getattr(config.method, field.name)) for field in dataclasses.fields(config.method)
               if field.name.endswith("_model")]
    for key, model in models:
        if model is not None and model.width is not None:
            at_least(model.width, 1, f"{key}.width")


def _check_method(config) -> None:
    config.method.check("method")  # the base rules below, plus each method's own (its config class)


def check_loss_weight(method, key: str) -> None:
    """unsup_weight and rampup, the options every method has."""
    at_least(method.unsup_weight, 0, f"{key}.unsup_weight")
    start, end = method.rampup
    at_least(start, 0, f"{key}.rampup[0]")
    require(end >= start, f"{key}.rampup", "[start, end] with end >= start", list(method.rampup))


def check_hard_view(hard, key: str) -> None:
    check_jitter(hard.affine, f"{key}.affine")
    at_least(hard.randaugment.num_ops, 0, f"{key}.randaugment.num_ops")
    between(hard.randaugment.magnitude, 0, RANDAUGMENT_MAX_MAGNITUDE, f"{key}.randaugment.magnitude")
    cutout = hard.joint_cutout
    at_least(cutout.num_joints, 0, f"{key}.joint_cutout.num_joints")
    low, high = cutout.half_size
    require(0 < low <= high, f"{key}.joint_cutout.half_size", "[low, high] with 0 < low <= high",
            list(cutout.half_size))
    at_least(cutout.jitter, 0, f"{key}.joint_cutout.jitter")


def _check_train(config) -> None:
    train = config.train
    require(train.lr > 0, "train.lr", "positive", train.lr)
    if train.iterations is None:
        require(train.epochs >= 1, "train.epochs", ">= 1 (or set train.iterations)", train.epochs)
    else:
        require(train.iterations >= 1, "train.iterations", ">= 1, or null to count train.epochs",
                train.iterations)
    at_least(train.batch_size, 1, "train.batch_size")
    if train.unlabelled_batch_size is not None:
        at_least(train.unlabelled_batch_size, 1, "train.unlabelled_batch_size")
    for index, step in enumerate(train.lr_steps):
        at_least(step, 0, f"train.lr_steps[{index}]")
    between(train.lr_factor, 0, 1, "train.lr_factor", low_open=True)
    at_least(train.weight_decay, 0, "train.weight_decay")
    between(train.seed, 0, 2**32 - 1, "train.seed")  # numpy's seed range
    for key in ("val_every", "checkpoint_every", "max_skipped_steps"):
        at_least(getattr(train, key), 0, f"train.{key}")
    for key in ("log_every", "keep_checkpoints", "dist_timeout_s"):
        at_least(getattr(train, key), 1, f"train.{key}")


def _check_eval(config) -> None:
    evaluation = config.eval
    require(evaluation.pck_alpha > 0, "eval.pck_alpha", "positive", evaluation.pck_alpha)
    between(evaluation.oks_nms_threshold, 0, 1, "eval.oks_nms_threshold", low_open=True)
    between(evaluation.keypoint_score_threshold, 0, 1, "eval.keypoint_score_threshold")
    at_least(evaluation.batch_size, 1, "eval.batch_size")


def _check_monitor(config) -> None:
    monitor = config.monitor
    at_least(monitor.every, 1, "monitor.every")
    between(monitor.alarm_fraction, 0, 1, "monitor.alarm_fraction", low_open=True)
    at_least(monitor.patience, 1, "monitor.patience")
