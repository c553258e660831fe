"""Reading checkpoint files: the one weights-only loader (`load_checkpoint`), the one
`CheckpointError`, and the per-network weights inside a semipose training checkpoint.
Writing and run directories are the engine's (semipose/engine/checkpoint.py)."""
from __future__ import annotations

import pickle
from pathlib import Path

import torch


class CheckpointError(ValueError):
    """A checkpoint file cannot be read (missing, truncated, not a zip, refused by weights_only)."""


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint onto the CPU with weights_only=True; CheckpointError says which file and why."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, KeyError, EOFError...
        raise CheckpointError(f"{path}: cannot load checkpoint: {load_failure_reason(err)}") from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: expected a dict payload, got {type(payload).__name__}")
    return payload


def load_failure_reason(err: Exception) -> str:
    """One line for why torch.load(weights_only=True) failed, without torch's advice to retry
    with weights_only=False (exactly what must not be done with an untrusted file)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if isinstance(err, pickle.UnpicklingError):
        detail = next((line for line in lines if "GLOBAL" in line), None)
        if detail is not None:
            return ("refused by weights_only loading (the file holds a pickled Python object): "
                    + detail.split(" Please use")[0])
        # Not an object: bytes the weights-only unpickler cannot parse ("Unsupported operand").
        lines = [line for line in lines if line.startswith("Unsupported")] or lines
    first_line = lines[0][:300] if lines else ""
    return f"truncated, corrupted or not a PyTorch checkpoint ({type(err).__name__}: {first_line})"


def training_checkpoint_networks(content: dict) -> dict[str, dict]:
    """{name: state dict} of the networks in a semipose training checkpoint (its `method` entry
    holds `networks.<name>.<parameter>`), in training order; {} for any other file."""
    method = content.get("method")
    if not isinstance(method, dict):
        return {}
    networks: dict[str, dict] = {}
    for key, value in method.items():
        if isinstance(key, str) and key.startswith("networks."):
            name, _, rest = key[len("networks."):].partition(".")
            networks.setdefault(name, {})[rest] = value
    return networks


def network_states(payload: dict) -> dict[str, dict]:
    """Per-network weights: {name: state_dict} from a semipose training checkpoint (its method's
    `networks.<name>.*`), or {"model": payload} for a plain pose checkpoint."""
    if "method" not in payload:
        return {"model": payload}
    return training_checkpoint_networks(payload)
