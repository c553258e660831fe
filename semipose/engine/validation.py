"""Periodic validation: every network the method names, on the validation people."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from semipose.config import Config
from semipose.evaluation.inference import predict_people
from semipose.evaluation.scoring import score_predictions


def validation_loader(dataset, config: Config) -> DataLoader:
    return DataLoader(dataset, batch_size=config.eval.batch_size, shuffle=False, num_workers=config.data.workers)


def validate(run, config: Config, device: torch.device) -> dict:
    """{"<network>/<metric>": value}; the method's networks in eval mode (BatchNorm statistics)."""
    run.method.eval()
    meta = run.data.meta
    flip_permutation = list(meta.flip_permutation()) if meta.has_flip else None
    metrics = {}
    for name, network in run.method.eval_networks().items():
        predictions = predict_people(network, validation_loader(run.data.val, config), flip_permutation,
                                     config.eval, device)
        scores = score_predictions(predictions, run.data.val.records, meta, run.data.val_gt, config.eval)
        metrics.update({f"{name}/{key}": value for key, value in scores.items()})
    run.method.train()
    return metrics
