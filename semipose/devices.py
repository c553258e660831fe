"""The one place a device name from a config or a command line becomes a torch.device.

train, eval and predict all call `resolve_device` before any data is read, so asking for a GPU
this torch cannot use is one clear line, not an AssertionError from deep inside the first
`.to(device)` half an hour into building a dataset."""
from __future__ import annotations

import logging

import torch

from semipose.config import ConfigValueError

log = logging.getLogger("semipose")

ACCEPTED = "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"


def resolve_device(name: str, field: str = "train.device") -> torch.device:
    """`name` ('auto', 'cpu', 'cuda', 'cuda:1', 'mps') as a usable torch.device.

    'auto' is the first CUDA device when this torch has one, else the CPU, and says which in the
    log. A name torch does not know, or a device this machine or this torch build lacks, raises
    ConfigValueError naming `field` (the config key or option the name came from)."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigValueError(f"{field}: got {name!r}, expected {ACCEPTED}")
    if name.strip().lower() == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        log.info("%s=auto: using %s%s", field, device,
                 f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else " (no CUDA device visible)")
        return device
    try:
        device = torch.device(name.strip())
    except (RuntimeError, ValueError):
        raise ConfigValueError(f"{field}: {name!r} is not a device name, expected {ACCEPTED}") from None
    _check_available(device, field)
    return device


def _check_available(device: torch.device, field: str) -> None:
    if device.type == "cpu":
        return
    if device.type == "cuda":
        if torch.version.cuda is None:
            raise ConfigValueError(f"{field}={device}: this torch ({torch.__version__}) is a CPU-only build; "
                                   f"install a CUDA build of torch, or set {field}=cpu")
        count = torch.cuda.device_count()
        if count == 0:
            raise ConfigValueError(f"{field}={device}: torch has CUDA but sees no GPU (driver, or "
                                   f"CUDA_VISIBLE_DEVICES?); use cpu")
        if device.index is not None and device.index >= count:
            raise ConfigValueError(f"{field}={device}: this machine has {count} CUDA device(s), "
                                   f"cuda:0..cuda:{count - 1}")
        return
    if device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigValueError(f"{field}={device}: MPS (Apple GPU) is not available to this torch")
        return
    raise ConfigValueError(f"{field}={device}: semipose runs on {ACCEPTED}, not {device.type!r}")
