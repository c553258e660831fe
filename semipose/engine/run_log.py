"""What a run tells the world: a JSON-lines log (the record plots are made from), TensorBoard
scalars when available, a tqdm bar for interactive use and plain lines for batch jobs."""

from __future__ import annotations

import json
import logging
import math
import numbers
import sys
import time
from pathlib import Path
from typing import Any, Mapping, TextIO

import torch

logger = logging.getLogger(__name__)

LOG_NAME = "log.jsonl"
RESERVED_KEYS = ("kind", "step", "time", "non_finite")
_warned_missing_tensorboard = False


class RunLogError(ValueError):
    """A log file line cannot be parsed, or a value cannot be logged."""


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise RunLogError(f"log value '{name}' is a tensor of shape {tuple(value.shape)}, not a scalar")
        return float(value.detach().cpu().item())
    if isinstance(value, numbers.Real):  # int, float, bool and numpy scalars
        return float(value)
    raise RunLogError(f"log value '{name}' must be a number or a one-element tensor, got {type(value).__name__}")


def _open_tensorboard(directory: Path):
    global _warned_missing_tensorboard
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        if not _warned_missing_tensorboard:
            logger.warning("tensorboard is not installed: logging to %s only", LOG_NAME)
            _warned_missing_tensorboard = True
        return None
    return SummaryWriter(log_dir=str(directory))


class RunLogger:
    """Append-only metrics log of one run: `run_dir/log.jsonl` plus TensorBoard in `run_dir/tensorboard`.

    With enabled=False (non-zero distributed ranks) every method does nothing and no file is opened.
    Non-finite values are written as null, listed in the record's "non_finite" key, and remembered
    in `self.saw_non_finite` so the training loop can react.
    """

    def __init__(self, run_dir: str | Path, use_tensorboard: bool = True, enabled: bool = True):
        self.enabled = enabled
        self.saw_non_finite = False
        self.log_path = Path(run_dir) / LOG_NAME
        self._stream: TextIO | None = None
        self._tensorboard = None
        if not enabled:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = open(self.log_path, "a", encoding="utf-8")
        if use_tensorboard:
            self._tensorboard = _open_tensorboard(self.log_path.parent / "tensorboard")

    def log(self, step: int, values: Mapping[str, Any], kind: str = "train") -> None:
        """Append one record {"kind", "step", "time", **values} and mirror it as `kind/name` scalars."""
        if not self.enabled:
            return
        record: dict[str, Any] = {"kind": kind, "step": int(step), "time": round(time.time(), 3)}
        non_finite = []
        for name, value in values.items():
            if name in RESERVED_KEYS:
                raise RunLogError(f"log value name '{name}' is reserved ({', '.join(RESERVED_KEYS)})")
            number = _as_float(name, value)
            if math.isfinite(number):
                record[name] = number
            else:
                record[name] = None
                non_finite.append(name)
        if non_finite:
            record["non_finite"] = non_finite
            self.saw_non_finite = True
        self._stream.write(json.dumps(record, allow_nan=False) + "\n")
        self._stream.flush()  # a crash must not lose the lines before it
        if self._tensorboard is not None:
            for name, number in record.items():
                if name not in RESERVED_KEYS and number is not None:
                    self._tensorboard.add_scalar(f"{kind}/{name}", number, int(step))

    def flush(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.flush()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def read_log(path: str | Path, kind: str | None = None) -> list[dict]:
    """Records of a JSON-lines log (optionally only one kind). A cut-off last line, left by a
    crash mid-write, is ignored; a bad line elsewhere is an error naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise RunLogError(f"{path}: log file not found")
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            if number == len(lines):
                logger.warning("%s: ignoring incomplete last line %d", path, number)
                break
            raise RunLogError(f"{path}:{number}: not a JSON record ({err.msg})") from None
        if not isinstance(record, dict) or "kind" not in record or "step" not in record:
            raise RunLogError(f"{path}:{number}: a record needs 'kind' and 'step'")
        if kind is None or record["kind"] == kind:
            records.append(record)
    return records


def drop_records_after(path: str | Path, step: int) -> int:
    """Remove the records of steps after `step` (those a resume from `step` will replay and log
    again), atomically; returns how many went. Call before a RunLogger opens the file."""
    path = Path(path)
    if not path.is_file():
        return 0
    kept, dropped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            later = json.loads(line).get("step", 0) > step
        except (json.JSONDecodeError, AttributeError, TypeError):
            later = True  # a line cut off by the crash
        if later:
            dropped += 1
        else:
            kept.append(line + "\n")
    if dropped:
        temp = path.with_name(path.name + ".tmp")
        temp.write_text("".join(kept), encoding="utf-8")
        temp.replace(path)
    return dropped


class ProgressBar:
    """A tqdm bar (rate and ETA included) shown only on an interactive terminal unless forced."""

    def __init__(self, total: int | None, desc: str = "", enabled: bool | None = None, initial: int = 0):
        from tqdm import tqdm

        if enabled is None:
            enabled = sys.stderr.isatty()
        self.enabled = enabled
        self._bar = tqdm(
            total=total, desc=desc, initial=initial, disable=not enabled, dynamic_ncols=True, leave=False
        )

    def update(self, count: int = 1, **postfix: Any) -> None:
        """Advance the bar; keyword values (None ones left out) are shown beside it: update(1, loss=x)."""
        shown = {name: value for name, value in postfix.items() if value is not None}
        if shown:
            self.set_postfix(shown)
        self._bar.update(count)

    def set_postfix(self, values: Mapping[str, Any]) -> None:
        """Show e.g. the current loss beside the bar: {"loss": 0.0012} -> "loss=0.0012"."""
        if self.enabled:
            self._bar.set_postfix({name: _short(value) for name, value in values.items()}, refresh=False)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _short(value: Any) -> str:
    if isinstance(value, (torch.Tensor, numbers.Real)) and not isinstance(value, bool):
        return f"{_as_float('value', value):.4g}"
    return str(value)


def format_duration(seconds: float) -> str:
    """1:02:03 style; '?' when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def estimate_eta(step: int, total: int, elapsed_seconds: float) -> float | None:
    """Seconds left if the remaining steps go at the average speed so far."""
    if step >= total:
        return 0.0
    if step <= 0:
        return None
    return elapsed_seconds / step * (total - step)


def print_line(
    step: int,
    total: int,
    values: Mapping[str, Any] | None = None,
    images_per_second: float | None = None,
    eta_seconds: float | None = None,
    stream: TextIO | None = None,
) -> str:
    """Print and return one plain progress line for non-interactive runs:
    `step 120/5000 (2.4%) | loss 0.00123 | 45.2 img/s | ETA 1:23:45`."""
    parts = [f"step {step}/{total} ({100.0 * step / total:.1f}%)" if total else f"step {step}"]
    parts += [f"{name} {_short(value)}" for name, value in (values or {}).items()]
    if images_per_second is not None:
        parts.append(f"{images_per_second:.1f} img/s")
    if eta_seconds is not None:
        parts.append(f"ETA {format_duration(eta_seconds)}")
    line = " | ".join(parts)
    print(line, file=stream or sys.stdout, flush=True)
    return line
