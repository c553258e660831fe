"""The Python API, mirroring the CLI: load_config, train, evaluate, Predictor."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import torch

from semipose.config import Config
from semipose.configtools import load_config as _load_config_tree


def load_config(path: Optional[str] = None, overrides: Sequence[str] = ()) -> Config:
    """A Config from a YAML file (or the defaults) plus `key.sub=value` overrides."""
    return _load_config_tree(Config, path, list(overrides))


def train(config: Config) -> dict:
    """Train; returns the run summary (also written to RUN_DIR/metrics.json)."""
    from semipose.engine.trainer import Trainer
    from semipose.engine.run_files import save_resolved_config
    save_resolved_config(config)
    return Trainer(config).fit()


def networks_from_checkpoint(path: str, config: Config, num_keypoints: int) -> dict[str, torch.nn.Module]:
    """Networks of a semipose training checkpoint (one per trained network) or of a plain pose
    checkpoint (public SimpleBaseline/HRNet files), in eval mode."""
    from semipose.engine.checkpoint import load_checkpoint
    from semipose.engine.setup import build_network
    from semipose.models.loading import load_weights
    payload = load_checkpoint(path)
    if "method" not in payload:
        network = build_network(config.model, num_keypoints)
        load_weights(network, payload, mode="strict")
        return {"model": network.eval()}
    states: dict[str, dict] = {}
    for key, value in payload["method"].items():
        if key.startswith("networks."):
            name, _, rest = key[len("networks."):].partition(".")
            states.setdefault(name, {})[rest] = value
    networks = {}
    for index, (name, state) in enumerate(states.items()):
        model_config = config.method.second_model if index == 1 and config.method.second_model else config.model
        network = build_network(model_config, num_keypoints)
        load_weights(network, state, mode="strict")
        networks[name] = network.eval()
    return networks


class _Average(torch.nn.Module):
    def __init__(self, networks):
        super().__init__()
        self.members = torch.nn.ModuleList(networks)

    def forward(self, images):
        return sum(member(images) for member in self.members) / len(self.members)


def evaluate(config: Config, checkpoint: str, out_json: Optional[str] = None, print_table: bool = False) -> dict:
    """Metrics of every network in `checkpoint` (and of their average when there are several)."""
    from torch.utils.data import DataLoader
    from semipose.data.build import build_validation
    from semipose.evaluation.inference import predict_people
    from semipose.evaluation.report import format_table, write_json
    from semipose.evaluation.scoring import score_predictions
    val, val_gt = build_validation(config.data)
    networks = networks_from_checkpoint(checkpoint, config, val.meta.num_keypoints)
    if len(networks) > 1:
        networks["mean"] = _Average(list(networks.values()))
    flip_permutation = list(val.meta.flip_permutation()) if val.meta.has_flip else None
    loader = DataLoader(val, batch_size=config.eval.batch_size, num_workers=config.data.workers)
    metrics = {}
    for name, network in networks.items():
        predictions = predict_people(network, loader, flip_permutation, config.eval)
        scores = score_predictions(predictions, val.records, val.meta, val_gt, config.eval)
        metrics.update({f"{name}/{key}": value for key, value in scores.items()})
    if out_json:
        write_json(Path(out_json), metrics)
    if print_table:
        print(format_table(metrics, title=f"evaluation of {checkpoint}"))
    return metrics
