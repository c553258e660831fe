"""Checkpoints that are written atomically and loaded safely (`weights_only=True`).

A payload is a nested dict of tensors and plain Python values (state dicts, the resolved config
as a plain dict, counters, RNG states): nothing that needs unpickling arbitrary classes, so a
checkpoint from anywhere can be opened without running code. Numbered checkpoints live in the
run directory beside `last.pt` (always the newest complete one) and `best.pt`.
"""

from __future__ import annotations

import logging
import os
import random
import re
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semipose.models.checkpoint_files import CheckpointError, load_checkpoint

logger = logging.getLogger(__name__)

LAST_NAME = "last.pt"
BEST_NAME = "best.pt"
_NUMBERED = re.compile(r"^checkpoint_(\d{8,})\.pt$")
_PLAIN_SCALARS = (str, int, float, bool, type(None))


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (disk full, permissions); any previous file is intact."""


# ----------------------------------------------------------------------------- single files


def check_plain_payload(value: Any, where: str = "payload") -> None:
    """Raise TypeError naming the key path of the first value that weights_only loading would refuse."""
    if isinstance(value, torch.Tensor) or type(value) in _PLAIN_SCALARS:
        return
    if type(value) in (dict, OrderedDict):
        for key, item in value.items():
            if type(key) not in (str, int):
                raise TypeError(f"{where}: dict key {key!r} is a {type(key).__name__}; use str or int keys")
            check_plain_payload(item, f"{where}[{key!r}]")
        return
    if type(value) in (list, tuple, torch.Size):
        for index, item in enumerate(value):
            check_plain_payload(item, f"{where}[{index}]")
        return
    hint = " (convert with torch.from_numpy or .item())" if type(value).__module__ == "numpy" else ""
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}: checkpoints hold only "
        f"tensors and plain dict/list/tuple/str/int/float/bool/None values{hint}"
    )


class _RecordingWriter:
    """File wrapper remembering an OSError raised while torch.save writes: torch's zip writer may
    re-raise it as a RuntimeError that no longer says "No space left on device"."""

    def __init__(self, stream):
        self.stream = stream
        self.os_error: OSError | None = None

    def write(self, data) -> int:
        try:
            return self.stream.write(data)
        except OSError as err:
            self.os_error = err
            raise

    def flush(self) -> None:
        self.stream.flush()


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write `payload` to `path` atomically: a temp file in the same directory, fsync, rename.
    On failure the temp file is removed and any previous file at `path` is left untouched."""
    path = Path(path)
    check_plain_payload(payload)
    temp_path = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    writer = None
    try:
        with open(temp_path, "wb") as stream:
            writer = _RecordingWriter(stream)
            torch.save(payload, writer)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_path, path)
        _fsync_directory(path.parent)
    except BaseException as err:
        temp_path.unlink(missing_ok=True)
        os_error = err if isinstance(err, OSError) else writer and writer.os_error
        if os_error:
            raise CheckpointWriteError(f"could not write checkpoint {path}: {os_error}") from err
        raise


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); silently skipped where directories can't be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# ----------------------------------------------------------------------------- run directories


def checkpoint_name(epoch: int | None = None, iteration: int | None = None) -> str:
    """`checkpoint_00001234.pt` for an iteration (the numbered files a run keeps and resumes from),
    `checkpoint_epoch0012.pt` for an epoch snapshot (never pruned or resumed automatically)."""
    if (epoch is None) == (iteration is None):
        raise ValueError("checkpoint_name needs exactly one of epoch= or iteration=")
    if iteration is not None:
        return f"checkpoint_{int(iteration):08d}.pt"
    return f"checkpoint_epoch{int(epoch):04d}.pt"


def numbered_checkpoints(run_dir: str | Path) -> list[Path]:
    """The run's `checkpoint_<iteration>.pt` files, oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in run_dir.iterdir() if (m := _NUMBERED.match(p.name))]
    return [path for _, path in sorted(found)]


def save_training_checkpoint(
    run_dir: str | Path, payload: dict, keep_last: int | None = 2, is_best: bool = False
) -> Path:
    """Save `checkpoint_<payload['iteration']>.pt`, point `last.pt` (and `best.pt`) at it, and
    delete numbered checkpoints older than the newest `keep_last` (None keeps all)."""
    iteration = payload.get("iteration")
    if type(iteration) is not int or iteration < 0:
        raise ValueError(f"payload['iteration'] must be a non-negative int, got {iteration!r}")
    if keep_last is not None and keep_last < 1:
        raise ValueError(f"keep_last must be >= 1 or None, got {keep_last}")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    numbered_path = run_dir / checkpoint_name(iteration=iteration)
    save_checkpoint(numbered_path, payload)
    _replace_with_copy(numbered_path, run_dir / LAST_NAME)
    if is_best:
        _replace_with_copy(numbered_path, run_dir / BEST_NAME)
    if keep_last is not None:
        for old_path in numbered_checkpoints(run_dir)[:-keep_last]:
            old_path.unlink(missing_ok=True)  # last.pt/best.pt are separate links or copies
    return numbered_path


def _replace_with_copy(source: Path, target: Path) -> None:
    """Atomically make `target` a complete copy of `source` (a hard link when possible, so no
    extra disk space), so `target` is either its old content or the new one, never partial."""
    temp_path = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    temp_path.unlink(missing_ok=True)
    try:
        try:
            os.link(source, temp_path)
        except OSError:  # file systems without hard links
            shutil.copyfile(source, temp_path)
            with open(temp_path, "rb+") as stream:
                os.fsync(stream.fileno())
        os.replace(temp_path, target)
        _fsync_directory(target.parent)
    except OSError as err:
        temp_path.unlink(missing_ok=True)
        raise CheckpointWriteError(f"could not update {target} from {source}: {err}") from err


def find_resume_checkpoint(run_dir: str | Path, healthy_only: bool = False) -> tuple[Path, dict] | None:
    """The newest loadable checkpoint of a run: `last.pt`, else numbered ones newest first, else
    `best.pt`. Unreadable files (e.g. truncated by a crash) are skipped with a warning.
    `healthy_only` also skips payloads saved with `"healthy": False` (for collapse rollbacks)."""
    run_dir = Path(run_dir)
    candidates = [run_dir / LAST_NAME, *numbered_checkpoints(run_dir)[::-1], run_dir / BEST_NAME]
    for path in candidates:
        if not path.is_file():
            continue
        try:
            payload = load_checkpoint(path)
        except CheckpointError as err:
            logger.warning("skipping checkpoint %s while looking for one to resume: %s", path, err)
            continue
        if healthy_only and payload.get("healthy") is False:
            logger.info("skipping checkpoint %s: saved while the run was not healthy", path)
            continue
        return path, payload
    return None


# ----------------------------------------------------------------------------- RNG states


def rng_state() -> dict:
    """Python, NumPy and torch (CPU + CUDA) global RNG states as tensors and plain values."""
    version, internal, gauss_next = random.getstate()
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    state = {
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` captured (CUDA states only when CUDA is available here)."""
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss_next"]))
    numpy = state["numpy"]
    np.random.set_state(
        (
            numpy["name"],
            numpy["keys"].numpy().astype(np.uint32),
            numpy["position"],
            numpy["has_gauss"],
            numpy["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        for device, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, device)
