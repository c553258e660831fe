"""Top-down samples: one person box -> an affine crop, its keypoints and Gaussian heatmap targets.

Randomness is keyed by (seed, draw) rather than by worker state, so a sample's augmentation does
not depend on the number of workers, and a resumed run draws exactly what it would have drawn.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from semipose import codec, geometry
from semipose.augment.jitter import sample_jitter
from semipose.config import DataConfig
from semipose.data.images import read_image_rgb
from semipose.data.keypoints import KeypointMeta

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255


def normalise_image(crop_rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(((crop_rgb.astype(np.float32) - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1))


def denormalise_image(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) normalised tensor -> (H, W, 3) uint8 RGB, for drawing."""
    rgb = image.detach().cpu().numpy().transpose(1, 2, 0) * IMAGENET_STD + IMAGENET_MEAN
    return np.clip(rgb, 0, 255).astype(np.uint8)


def crop_person(image_rgb: np.ndarray, center, size, rotation: float, input_wh, flip: bool = False):
    """The normalised input crop of one person region and its image->input affine."""
    image_to_input = geometry.crop_affine(center, size, rotation, input_wh, flip=flip)
    return normalise_image(geometry.warp_image(image_rgb, image_to_input, input_wh)), image_to_input


class TopDownDataset(Dataset):
    """Person records -> training or evaluation samples (see docs/architecture.md for the keys).

    `augment` turns on the easy-view jitter (scale, rotation, flip, half body); `labelled` False
    yields zero targets (the unlabelled stream). Index with an int (evaluation, no randomness) or
    with (index, draw) pairs from `semipose.engine.streams` (training).
    """

    def __init__(self, records: Sequence, meta: KeypointMeta, config: DataConfig, augment: bool,
                 labelled: bool = True, seed: int = 0):
        self.records = list(records)
        self.meta = meta
        self.config = config
        self.augment = augment
        self.labelled = labelled
        self.seed = seed
        self.flip_permutation = np.asarray(meta.flip_permutation()) if meta.has_flip else None
        self._cache: dict = {}

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, item):
        index, draw = item if isinstance(item, tuple) else (item, None)
        record = self.records[index]
        rng = None if draw is None else np.random.default_rng([self.seed, int(draw), int(index)])
        return self._make_sample(record, rng)

    def _image(self, record) -> np.ndarray:
        if not self.config.cache_images:
            return read_image_rgb(record.image_path)
        if record.image_path not in self._cache:
            self._cache[record.image_path] = read_image_rgb(record.image_path)
        return self._cache[record.image_path]

    def _make_sample(self, record, rng) -> dict:
        input_wh = self.config.input_size
        keypoints = np.asarray(record.keypoints, dtype=np.float64).copy()
        center, size = self._person_region(record, keypoints, rng)
        rotation, flip = 0.0, False
        if rng is not None and self.augment:
            (rotation,), (scale,) = sample_jitter(self.config.easy, rng, 1)
            size = size * scale
            flip = self.config.flip and self.flip_permutation is not None and rng.random() < 0.5
        image, image_to_input = crop_person(self._image(record), center, size, rotation, input_wh, flip)

        crop_keypoints = geometry.apply_to_points(image_to_input, keypoints)
        if flip:
            crop_keypoints = crop_keypoints[self.flip_permutation]
        heatmap_points = geometry.apply_to_points(geometry.resize_affine(input_wh, self.config.heatmap_size),
                                                  crop_keypoints[:, :2])
        visible = crop_keypoints[:, 2] if self.labelled else np.zeros(len(crop_keypoints))
        heatmaps, target_weight = codec.encode(torch.from_numpy(heatmap_points).float(),
                                               torch.from_numpy(visible).float(),
                                               self.config.heatmap_size[::-1], self.config.sigma)
        return {
            "image": image,
            "heatmaps": heatmaps,
            "target_weight": target_weight,
            "keypoints": torch.from_numpy(crop_keypoints).float(),
            "image_to_input": torch.from_numpy(image_to_input).float(),
            "image_id": torch.tensor(record.image_id, dtype=torch.int64),
            "ann_id": torch.tensor(record.ann_id, dtype=torch.int64),
            "box_score": torch.tensor(record.box_score, dtype=torch.float32),
            "area": torch.tensor(record.area, dtype=torch.float32),
        }

    def _person_region(self, record, keypoints, rng):
        """Centre and padded size of the crop; with `half_body_prob`, sometimes only the upper or
        lower body's labelled joints define it (SimpleBaseline/HRNet's half-body augmentation)."""
        aspect = self.config.input_size[0] / self.config.input_size[1]
        box = record.bbox
        if (rng is not None and self.augment and self.config.half_body_prob > 0
                and rng.random() < self.config.half_body_prob):
            half = self._half_body_box(keypoints, rng)
            box = box if half is None else half
        return geometry.box_to_center_size(box, aspect, self.config.padding)

    def _half_body_box(self, keypoints, rng):
        labelled = keypoints[:, 2] > 0
        upper = np.array([name in UPPER_BODY_NAMES for name in self.meta.names])
        part = upper if rng.random() < 0.5 else ~upper
        chosen = keypoints[labelled & part, :2]
        if len(chosen) < 3:
            return None
        low, high = chosen.min(axis=0), chosen.max(axis=0)
        return (low[0], low[1], max(high[0] - low[0], 1.0), max(high[1] - low[1], 1.0))


UPPER_BODY_NAMES = {"nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "neck", "head_top", "head top",
                    "upper_neck", "thorax"}
