"""Periodic validation: every network the method names, on the validation people. Under torchrun
each rank predicts a contiguous share of the people and rank 0 scores them all (each person once)."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from semipose.config import Config
from semipose.engine import distributed
from semipose.evaluation.inference import predict_people
from semipose.evaluation.scoring import score_predictions


def validation_loader(dataset, config: Config) -> DataLoader:
    """Read once per network: persistent workers are started once per validation, not per pass."""
    workers = config.data.workers
    return DataLoader(dataset, batch_size=config.eval.batch_size, shuffle=False, num_workers=workers,
                      persistent_workers=workers > 0, pin_memory=torch.cuda.is_available())


def validate(run, config: Config, device: torch.device) -> dict:
    """{"<network>/<metric>": value}, the same on every rank; networks in eval mode (BatchNorm statistics)."""
    run.method.eval()
    distributed.broadcast_buffers(run.method.networks)  # every rank evaluates the model rank 0 saves
    meta, world = run.data.meta, distributed.world()
    flip_permutation = meta.flip_test_permutation()
    share = Subset(run.data.val, distributed.shard_range(len(run.data.val), world.rank, world.size))
    loader = validation_loader(share, config) if len(share) else None
    metrics = {}
    for name, network in run.method.eval_networks().items():
        predictions = predict_people(network, loader, flip_permutation, config.eval, device,
                                     convention=config.data.pixel_convention) \
            if loader is not None else None
        gathered = [part for part in distributed.all_gather_objects(predictions) if part is not None]
        if world.is_main:
            scores = score_predictions(concatenate(gathered), run.data.val.records, meta, run.data.val_gt,
                                       config.eval)
            metrics.update({f"{name}/{key}": value for key, value in scores.items()})
    run.method.train()
    return distributed.broadcast_object(metrics)


def concatenate(parts: list[dict]) -> dict:
    """Prediction dicts of consecutive shares -> one, in dataset order."""
    if len(parts) == 1:
        return parts[0]
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
