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
    from semipose.engine import distributed
    from semipose.engine.run_files import save_resolved_config
    from semipose.engine.trainer import Trainer
    # Under torchrun this process joins the others here (and leaves at the end); alone it runs as is.
    with distributed.process_group(config.train.dist_timeout_s, torch.device(config.train.device).type):
        if distributed.is_main():
            save_resolved_config(config)
        return Trainer(config).fit()


def keypoint_meta_dict(meta) -> dict:
    """A KeypointMeta as plain types, stored in every checkpoint so prediction needs no dataset."""
    return {"names": list(meta.names), "skeleton": [list(p) for p in meta.skeleton],
            "flip_pairs": [list(p) for p in meta.flip_pairs],
            "sigmas": None if meta.sigmas is None else list(meta.sigmas)}


def keypoint_meta_from_dict(stored: dict):
    from semipose.data.keypoints import KeypointMeta
    return KeypointMeta(tuple(stored["names"]), tuple(tuple(p) for p in stored["skeleton"]),
                        tuple(tuple(p) for p in stored["flip_pairs"]),
                        None if stored["sigmas"] is None else tuple(stored["sigmas"]))


def networks_from_payload(payload: dict, config: Config, num_keypoints: int) -> dict[str, torch.nn.Module]:
    """Networks of a semipose training checkpoint (one per trained network) or of a plain pose
    checkpoint (public SimpleBaseline/HRNet files), in eval mode."""
    from semipose.engine.checkpoint import network_states
    from semipose.engine.setup import build_network
    from semipose.models.loading import load_weights
    networks = {}
    for index, (name, state) in enumerate(network_states(payload).items()):
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
    from semipose.engine.checkpoint import load_checkpoint
    from semipose.models.loading import CheckpointError as WeightsCheckpointError
    val, val_gt = build_validation(config.data)
    try:
        networks = networks_from_payload(load_checkpoint(checkpoint), config, val.meta.num_keypoints)
    except WeightsCheckpointError as error:  # name the file the user gave, not "<state dict>"
        raise type(error)(f"{checkpoint}: {error}") from None
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


class Predictor:
    """A trained checkpoint as a callable: person boxes in an image -> keypoints (x, y, score)."""

    def __init__(self, config: Config, checkpoint: str, device: str = "cpu"):
        from semipose.data.keypoints import COCO17
        from semipose.engine.checkpoint import load_checkpoint
        payload = load_checkpoint(checkpoint)
        self.meta = keypoint_meta_from_dict(payload["keypoints"]) if "keypoints" in payload else COCO17
        networks = networks_from_payload(payload, config, self.meta.num_keypoints)
        self.network = _Average(list(networks.values())) if len(networks) > 1 else next(iter(networks.values()))
        self.network.to(device)
        self.config, self.device = config, device

    def predict_records(self, records) -> dict:
        """Predictions for PersonRecords (see semipose.data.coco_format), as evaluation returns them."""
        from torch.utils.data import DataLoader
        from semipose.data.topdown import TopDownDataset
        from semipose.evaluation.inference import predict_people
        dataset = TopDownDataset(records, self.meta, self.config.data, augment=False)
        loader = DataLoader(dataset, batch_size=self.config.eval.batch_size, num_workers=0)
        flip_permutation = list(self.meta.flip_permutation()) if self.meta.has_flip else None
        return predict_people(self.network, loader, flip_permutation, self.config.eval, self.device)

    def __call__(self, image_rgb, boxes_xywh=None):
        """(M, K, 3) keypoints for the M boxes of an RGB uint8 image (whole image when no boxes)."""
        import numpy as np
        from semipose import geometry
        from semipose.data.batch_prep import prepare_images
        from semipose.data.topdown import crop_person
        from semipose.evaluation.inference import heatmaps_to_image_points, predict_heatmaps
        height, width = image_rgb.shape[:2]
        boxes = [(0, 0, width, height)] if boxes_xywh is None else boxes_xywh
        input_wh = tuple(self.config.data.input_size)
        aspect = input_wh[0] / input_wh[1]
        crops, affines = [], []
        for box in boxes:
            center, size = geometry.box_to_center_size(box, aspect, self.config.data.padding)
            crop, affine = crop_person(image_rgb, center, size, 0.0, input_wh)
            crops.append(crop)
            affines.append(torch.from_numpy(affine).float())
        flip_permutation = list(self.meta.flip_permutation()) if self.meta.has_flip else None
        heatmaps = predict_heatmaps(self.network, prepare_images(torch.stack(crops), self.device), flip_permutation,
                                    self.config.eval).cpu()
        return np.asarray(heatmaps_to_image_points(heatmaps, torch.stack(affines), input_wh, self.config.eval.refine))
