"""The Python API, mirroring the CLI: load_config, train, evaluate, Predictor."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import torch

from semipose.config import Config, ModelConfig
from semipose.configtools import load_config as _load_config_tree
from semipose.devices import resolve_device
from semipose.engine.setup import build_network
from semipose.methods import method_class
from semipose.models.checkpoint_files import CheckpointError, load_checkpoint, network_states
from semipose.models.loading import load_weights


def load_config(path: Optional[str] = None, overrides: Sequence[str] = ()) -> Config:
    """A Config from a YAML file (or the defaults) plus `key.sub=value` overrides."""
    return _load_config_tree(Config, path, list(overrides))


def train(config: Config) -> dict:
    """Train; returns the run summary (also written to RUN_DIR/metrics.json)."""
    import contextlib
    from semipose.engine import distributed
    from semipose.engine.run_files import hold_run_dir, remove_stale_temp_files
    from semipose.engine.signals import sigterm_as_interrupt
    from semipose.engine.trainer import Trainer
    from semipose.engine.conventions import resolve_run_convention
    device = resolve_device(config.train.device)
    config = resolve_run_convention(config)  # saved with the run, so its checkpoints carry it
    # Under torchrun this process joins the others here (and leaves at the end); alone it runs as is.
    with distributed.process_group(config.train.dist_timeout_s, device.type), sigterm_as_interrupt():
        with hold_run_dir(config.train.run_dir) if distributed.is_main() else contextlib.nullcontext():
            if distributed.is_main():
                remove_stale_temp_files(config.train.run_dir)
            return Trainer(config, device).fit()  # it saves config.yaml once its checks have passed


def networks_from_payload(payload: dict, config: Config, num_keypoints: int) -> dict[str, torch.nn.Module]:
    """The networks to evaluate in a checkpoint, in eval mode: those the method reports (dual: a,
    b and their mean) for a checkpoint of `config.method`, the one network of any other pose
    checkpoint (public SimpleBaseline/HRNet files, a single-network run)."""
    states = network_states(payload)
    method = method_class(config.method)
    models = method.network_models(config.method)
    if set(states) == set(models):
        trained = {name: _network_with(states[name], models[name] or config.model, num_keypoints) for name in models}
        return {name: network.eval() for name, network in method.evaluated(trained).items()}
    if len(states) == 1:
        (name, state), = states.items()
        return {name: _network_with(state, config.model, num_keypoints)}
    raise CheckpointError(f"the checkpoint holds the networks {', '.join(states) or '(none)'} but method "
                          f"{config.method.name!r} trains {', '.join(models)}: give the config it was trained with")


def _network_with(state: dict, model: ModelConfig, num_keypoints: int) -> torch.nn.Module:
    network = build_network(model, num_keypoints)  # architecture only: the checkpoint replaces every weight
    load_weights(network, state, mode="strict")
    return network.eval()


def prediction_network(networks: dict[str, torch.nn.Module], config: Config) -> torch.nn.Module:
    """The network that predicts: the one the method names (dual: the mean), else the first."""
    preferred = method_class(config.method).prediction_network
    return networks[preferred] if preferred in networks else next(iter(networks.values()))


def checkpoint_networks(config: Config, checkpoint: str):
    """(KeypointMeta, {name: network in eval mode}, pixel convention) of a checkpoint: the networks
    the method reports (`networks_from_payload`; dual: a, b and "mean"). The keypoints come from
    the checkpoint (COCO-17 for public files), the convention too (docs/architecture.md)."""
    from semipose.data.keypoints import COCO17, keypoint_meta_from_dict
    from semipose.engine.conventions import checkpoint_convention
    payload = load_checkpoint(checkpoint)
    meta = keypoint_meta_from_dict(payload["keypoints"]) if "keypoints" in payload else COCO17
    networks = networks_from_payload(payload, config, meta.num_keypoints)
    return meta, networks, checkpoint_convention(payload)


def evaluate(config: Config, checkpoint: str, out_json: Optional[str] = None, print_table: bool = False,
             device: Optional[str] = None, multiview=None, ransac_px: Optional[float] = None) -> dict:
    """Metrics of every network the method reports for `checkpoint` (dual: a, b and their mean), on
    `device` ('auto', 'cpu', 'cuda', 'cuda:N'; default: the config's train.device).
    multiview: a semipose.data.multiview.MultiviewSet whose COCO json is the validation set: adds
    JDR and triangulated MPJPE (semipose.evaluation.multiview_eval)."""
    from torch.utils.data import DataLoader
    from semipose.data.build import build_validation
    from semipose.evaluation.inference import predict_people
    from semipose.evaluation.report import format_table, write_json
    from semipose.evaluation.scoring import score_predictions
    from semipose.engine.conventions import checkpoint_convention, with_convention
    device = _device(device, config)
    payload = load_checkpoint(checkpoint)
    config = with_convention(config, checkpoint_convention(payload))
    val, val_gt = build_validation(config.data)
    try:
        networks = networks_from_payload(payload, config, val.meta.num_keypoints)
    except CheckpointError as error:  # name the file the user gave, not "<state dict>"
        raise type(error)(f"{checkpoint}: {error}") from None
    for network in networks.values():
        network.to(device)
    flip_permutation = val.meta.flip_test_permutation()
    loader = DataLoader(val, batch_size=config.eval.batch_size, num_workers=config.data.workers)
    metrics = {}
    for name, network in networks.items():
        predictions = predict_people(network, loader, flip_permutation, config.eval, device,
                                     convention=config.data.pixel_convention)
        scores = score_predictions(predictions, val.records, val.meta, val_gt, config.eval)
        if multiview is not None:
            from semipose.evaluation.multiview_eval import multiview_scores
            scores.update(multiview_scores(multiview, predictions, val_gt, val.meta.names, ransac_px))
        metrics.update({f"{name}/{key}": value for key, value in scores.items()})
    if out_json:
        write_json(Path(out_json), metrics)
    if print_table:
        print(format_table(metrics, title=f"evaluation of {checkpoint}"))
    return metrics


class Predictor:
    """A trained checkpoint as a callable: an image (path or RGB array) -> keypoints (x, y, score)
    of the people in it, found by `detector` or given as boxes.

    device: 'auto', 'cpu', 'cuda', 'cuda:N' (default: the config's train.device).
    detector: an ONNX person detector file (semipose.data.person_detector), a DetectorConfig, or
    any callable image_rgb -> (M, 5) boxes x, y, w, h, score."""

    def __init__(self, config: Config, checkpoint: str, device: Optional[str] = None, detector=None):
        from semipose.engine.conventions import with_convention
        self.device = _device(device, config)
        self.meta, networks, convention = checkpoint_networks(config, checkpoint)
        config = with_convention(config, convention)
        self.network = prediction_network(networks, config)
        self.network.to(self.device)
        self.config = config
        self.detector = _as_detector(detector, str(self.device))

    def predict_records(self, records) -> dict:
        """Predictions for PersonRecords (see semipose.data.coco_format), as evaluation returns them."""
        from torch.utils.data import DataLoader
        from semipose.data.topdown import TopDownDataset
        from semipose.evaluation.inference import predict_people
        dataset = TopDownDataset(records, self.meta, self.config.data, augment=False)
        loader = DataLoader(dataset, batch_size=self.config.eval.batch_size, num_workers=0)
        return predict_people(self.network, loader, self.meta.flip_test_permutation(), self.config.eval, self.device,
                              convention=self.config.data.pixel_convention)

    def boxes(self, image_rgb, whole_image: bool = False):
        """(M, 5) person boxes x, y, w, h, score of an image: the detector's, or the whole image when asked."""
        import numpy as np
        if whole_image:
            return np.array([[0.0, 0.0, image_rgb.shape[1], image_rgb.shape[0], 1.0]])
        if self.detector is None:
            raise ValueError("no person boxes: give boxes_xywh, a detector (Predictor(..., detector=MODEL.onnx)) "
                             "or whole_image=True for an image that is one person's crop")
        return np.asarray(self.detector(image_rgb), dtype=np.float64).reshape(-1, 5)

    def __call__(self, image, boxes_xywh=None, whole_image: bool = False):
        """(M, K, 3) keypoints for the M people of `image` (a file path or an RGB uint8 array):
        `boxes_xywh` when given (an empty list gives an empty (0, K, 3) result), else the detector's."""
        from semipose.data.images import read_image_rgb
        from semipose.evaluation.inference import predict_boxes
        image_rgb = read_image_rgb(image) if isinstance(image, (str, Path)) else image
        boxes = self.boxes(image_rgb, whole_image)[:, :4] if boxes_xywh is None else boxes_xywh
        return predict_boxes(self.network, image_rgb, boxes, self.meta, self.config.data, self.config.eval,
                             self.device)

    def predict_video(self, path, whole_image: bool = False, smoothing=None):
        """Per frame of a video file: (frame_rgb, boxes (M, 5), keypoints (M, K, 3), track_ids or None).
        `smoothing`: a semipose.evaluation.smoothing.KeypointSmoother (off when None)."""
        from semipose.data.video import read_frames
        for frame_rgb in read_frames(path):
            boxes = self.boxes(frame_rgb, whole_image)
            keypoints = self(frame_rgb, boxes[:, :4])
            track_ids = None
            if smoothing is not None:
                keypoints, track_ids = smoothing(boxes[:, :4], keypoints)
            yield frame_rgb, boxes, keypoints, track_ids


def _device(requested: Optional[str], config: Config) -> torch.device:
    """The device asked for by argument, else the config's train.device, checked (semipose.devices)."""
    return resolve_device(requested, "device") if requested else resolve_device(config.train.device)


def _as_detector(detector, device: str):
    """None, a model file, a DetectorConfig or a callable -> None or a callable detector."""
    from semipose.config import DetectorConfig
    from semipose.data.person_detector import build_detector
    if detector is None or callable(detector):
        return detector
    if isinstance(detector, (str, Path)):
        detector = DetectorConfig(model=str(detector))
    if isinstance(detector, DetectorConfig):
        return build_detector(detector, "detector", device)
    raise TypeError(f"detector: expected a model path, a DetectorConfig or a callable, got {type(detector).__name__}")
