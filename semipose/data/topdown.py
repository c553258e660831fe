"""Top-down samples: one person box -> a uint8 affine crop, its keypoints and target weights.

Randomness is keyed by (seed, draw) rather than by worker state, so a sample's augmentation does
not depend on the number of workers, and a resumed run draws exactly what it would have drawn.

The workers do only what must happen per image: decode the part of the JPEG the crop reads (at
1/2, 1/4 or 1/8 of the size when the crop shrinks the person that much: `data.fast_decode`) and
warp it to the input size in uint8.
Normalisation and the Gaussian heatmaps are made on the device for the whole batch
(semipose.data.batch_prep.prepare_batch), so a worker holds and ships 1 byte per crop pixel.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from semipose import codec, geometry
from semipose.augment.jitter import sample_jitter
from semipose.config import DataConfig
# Re-exported: the normalisation constants (augment/randaugment.py) and the drawing helper.
from semipose.data.batch_prep import IMAGENET_MEAN, IMAGENET_STD  # noqa: F401
from semipose.data.batch_prep import image_to_uint8 as denormalise_image  # noqa: F401
from semipose.data.images import read_image_rgb, read_image_rgb_reduced, read_image_rgb_window
from semipose.data.keypoints import KeypointMeta

DECODE_FACTORS = (8, 4, 2)


def crop_person(image_rgb: np.ndarray, center, size, rotation: float, input_wh, flip: bool = False,
                convention: str = "exact"):
    """The uint8 (3, H, W) input crop of one person region and its image->input affine."""
    image_to_input = geometry.crop_affine(center, size, rotation, input_wh, flip=flip, convention=convention)
    return as_chw(geometry.warp_image(image_rgb, image_to_input, input_wh)), image_to_input


def as_chw(crop_rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> a (3, H, W) view; the collate's copy into the batch does the transpose."""
    return torch.from_numpy(crop_rgb).permute(2, 0, 1)


def decode_reduction(image_to_input) -> int:
    """How much smaller the image may be decoded for this crop: the largest f in 8, 4, 2 with at
    least one image pixel per crop pixel left (crop pixels per image pixel <= 1 / f), else 1."""
    pixels_per_image_pixel = np.linalg.norm(np.asarray(image_to_input)[:, :2], ord=2)
    for factor in DECODE_FACTORS:
        if pixels_per_image_pixel * factor <= 1.0:
            return factor
    return 1


class TopDownDataset(Dataset):
    """Person records -> training or evaluation samples (see docs/architecture.md for the keys).

    `augment` turns on the easy-view jitter (scale, rotation, flip, half body); `labelled` False
    is the unlabelled stream: only the person's box is used, its samples carry zero keypoints and
    zero target weights, so no label can reach a semi-supervised loss (LSPET's joints, say). Index with an int (evaluation, no randomness) or
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
        self.crop_cache = None  # a data.crop_cache.CropCache (set by data.build when data.crop_cache is)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, item):
        index, draw = item if isinstance(item, tuple) else (item, None)
        record = self.records[index]
        rng = None if draw is None else np.random.default_rng([self.seed, int(draw), int(index)])
        return self._make_sample(record, rng)

    def _crop(self, record, image_to_input) -> np.ndarray:
        """The (H, W, 3) uint8 input crop. With data.fast_decode only the region the crop reads is
        decoded, reduced when the crop allows it; the affine follows the exact cut and reduction."""
        input_wh = self.config.input_size
        if self.crop_cache is not None and self.augment:
            crop = self.crop_cache.crop(record, image_to_input, input_wh)
            if crop is not None:
                return crop
        if self.config.cache_images:
            return geometry.warp_image(self._full_image(record), image_to_input, input_wh)
        if not self.config.fast_decode:
            return geometry.warp_image(read_image_rgb_reduced(record.image_path, 1)[0], image_to_input, input_wh)
        window = geometry.source_window(image_to_input, input_wh)
        pixels, image_to_pixels = read_image_rgb_window(record.image_path, decode_reduction(image_to_input), window)
        return geometry.warp_image(pixels, geometry.compose(image_to_input, geometry.invert(image_to_pixels)),
                                   input_wh)

    def _full_image(self, record) -> np.ndarray:
        if record.image_path not in self._cache:
            self._cache[record.image_path] = read_image_rgb(record.image_path)
        return self._cache[record.image_path]

    def _make_sample(self, record, rng) -> dict:
        input_wh = self.config.input_size
        keypoints = np.asarray(record.keypoints, dtype=np.float64).copy()
        if not self.labelled:
            keypoints[:] = 0.0  # only the box: not even half-body crops may read an unlabelled person's joints
        center, size = self._person_region(record, keypoints, rng)
        crop_area = float(size[0] * size[1])  # the reference's OKS-NMS area, prod(scale * 200)
        rotation, flip = 0.0, False
        if rng is not None and self.augment:
            (rotation,), (scale,) = sample_jitter(self.config.easy, rng, 1)
            size = size * scale
            flip = self.config.flip and self.flip_permutation is not None and rng.random() < 0.5
        image_to_input = geometry.crop_affine(center, size, rotation, input_wh, flip=flip,
                                              convention=self.config.pixel_convention)
        crop = self._crop(record, image_to_input)

        crop_keypoints = (geometry.apply_to_points(image_to_input, keypoints) if self.labelled
                          else np.zeros_like(keypoints))
        if flip:
            crop_keypoints = crop_keypoints[self.flip_permutation]
        return {
            "image": as_chw(crop),
            "target_weight": torch.from_numpy(self._target_weight(crop_keypoints)),
            "keypoints": torch.from_numpy(crop_keypoints).float(),
            "image_to_input": torch.from_numpy(image_to_input).float(),
            "image_id": torch.tensor(record.image_id, dtype=torch.int64),
            "ann_id": torch.tensor(record.ann_id, dtype=torch.int64),
            "box_score": torch.tensor(record.box_score, dtype=torch.float32),
            "area": torch.tensor(record.area, dtype=torch.float32),
            "crop_area": torch.tensor(crop_area, dtype=torch.float32),
        }

    def _target_weight(self, crop_keypoints: np.ndarray) -> np.ndarray:
        """(K,) float32: 1 for labelled joints on the heatmap (all 0 on the unlabelled stream)."""
        if not self.labelled:
            return np.zeros(len(crop_keypoints), dtype=np.float32)
        to_heatmap = geometry.resize_affine(self.config.input_size, self.config.heatmap_size,
                                            self.config.pixel_convention)
        heatmap_points = geometry.apply_to_points(to_heatmap, crop_keypoints[:, :2]).astype(np.float32)
        on_heatmap = codec.inside_heatmap(heatmap_points, self.config.heatmap_size[::-1])
        return ((crop_keypoints[:, 2] > 0) & on_heatmap).astype(np.float32)

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
