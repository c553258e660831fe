"""Case generators for configs, checkpoints and command lines (data files: generators.py)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import scipy.io
import torch

from semipose.api import evaluate, load_config
from semipose.cli.main import main
from semipose.models.checkpoint_files import load_checkpoint
from semipose.models.loading import load_weights

from .builders import (config_dict, data_section, evil_checkpoint, load_data, tiny_model,
                       tiny_state_dict, write_config, write_dataset, write_json)

# ----------------------------------------------------------------------------- configs


def config_text(text: Optional[str], overrides=()) -> Callable:
    """api.load_config on a YAML file holding `text` ("{tmp}" = the case folder; None = no file)."""
    def make(tmp: Path):
        path = tmp / "config.yaml"
        if text is not None:
            path.write_text(text.replace("{tmp}", str(tmp)))
        return lambda: load_config(path, list(overrides))
    return make


def data_config(policy: str = "error", **data_options) -> Callable:
    """build_datasets with the intact two-image set and these data options (e.g. a split)."""
    def make(tmp: Path):
        data = data_section(tmp, write_dataset(tmp), policy, **data_options)
        return lambda: load_data(data)
    return make


# ----------------------------------------------------------------------------- checkpoints


def checkpoint_file(write: Callable[[Path], None], load: str = "checkpoint") -> Callable:
    """write(path) makes model.pt; load = "checkpoint" (models.checkpoint_files.load_checkpoint),
    "weights" (models.loading.load_weights into the tiny K=17 model) or "evaluate" (api)."""
    def make(tmp: Path):
        path = tmp / "model.pt"
        write(path)
        if load == "checkpoint":
            return lambda: load_checkpoint(path)
        if load == "weights":
            return lambda: load_weights(tiny_model(17), path).summary()
        data = data_section(tmp, write_dataset(tmp))
        config = load_config(None, [f"data={json.dumps(data)}", "model.width=8", "eval.batch_size=4"])
        return lambda: evaluate(config, str(path))
    return make


def state_dict_of(num_keypoints: int = 17, name: str = "tiny") -> Callable:
    return lambda path: torch.save(tiny_state_dict(num_keypoints, name), path)


def truncated_checkpoint(path: Path) -> None:
    torch.save({"state_dict": tiny_state_dict()}, path)
    path.write_bytes(path.read_bytes()[:1000])


def pickled_object(path: Path) -> None:
    evil_checkpoint(path.parent, path.name)


def raw_bytes(content: bytes) -> Callable:
    return lambda path: path.write_bytes(content)


def saved(value) -> Callable:
    return lambda path: torch.save(value, path)


# ----------------------------------------------------------------------------- command lines


def command_line(*args: str, dataset: Optional[Callable] = None, config: Optional[dict] = None) -> Callable:
    """main([...]) with "{tmp}" in args replaced; `dataset(tmp)` may first write a (bad) set, and
    config (deep-merged over a one-iteration tiny run on it) is written to {tmp}/config.yaml."""
    def make(tmp: Path):
        train_json = dataset(tmp) if dataset is not None else write_dataset(tmp)
        content = config_dict(tmp, data_section(tmp, train_json))
        for section, values in (config or {}).items():
            content[section] = {**content.get(section, {}), **values}
        write_config(tmp, json.loads(json.dumps(content).replace("{tmp}", str(tmp))))
        argv = [arg.replace("{tmp}", str(tmp)) for arg in args]
        return lambda: run_main(argv)
    return make


def run_main(argv: list) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        return exit_.code


def with_file(name: str, write: Callable[[Path], None]) -> Callable:
    """A dataset writer for command_line that also writes {tmp}/name (a checkpoint, ...)."""
    def dataset(tmp: Path) -> Path:
        train_json = write_dataset(tmp)
        write(tmp / name)
        return train_json
    return dataset


def as_json(content) -> Callable:
    return lambda path: write_json(path, content)



def dataset_writer(mutate: Optional[Callable] = None, text: Optional[str] = None) -> Callable:
    """A dataset writer for command_line: the two-image set with a mutated (or replaced) json."""
    def dataset(tmp: Path) -> Path:
        train_json = write_dataset(tmp, mutate=mutate)
        if text is not None:
            train_json.write_text(text)
        return train_json
    return dataset


def mat_file(joints: np.ndarray) -> Callable:
    return lambda path: scipy.io.savemat(str(path), {"joints": joints})


def mpii_entry(**changes) -> dict:
    entry = {"image": "im1.png", "joints": [[10 + j, 8 + 2 * j] for j in range(16)],
             "joints_vis": [1] * 16, "center": [20.0, 24.0], "scale": 0.2}
    return {**entry, **changes}


def aic_entry(visibility: int = 1) -> dict:
    keypoints = [value for j in range(14) for value in (10 + j, 8 + 2 * j, visibility)]
    return {"image_id": "im1", "keypoint_annotations": {"human1": keypoints},
            "human_annotations": {"human1": [4, 4, 30, 44]}}
