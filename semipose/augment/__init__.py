"""Augmentations of the SSL methods: the easy -> hard view built on the device, batched RandAugment
and Joint Cutout (the rotation/scale jitter they share is semipose/jitter.py)."""

from semipose.augment.hard_view import (
    HardView,
    HardViewBuilder,
    heatmap_easy_to_hard,
    heatmap_peaks_in_input_px,
    in_view_mask,
    map_heatmaps_to_hard,
    sample_easy_to_hard,
    warp_to_hard,
)
from semipose.augment.joint_cutout import JointCutoutError, joint_cutout
from semipose.augment.randaugment import OPS as RANDAUGMENT_OPS
from semipose.augment.randaugment import RandAugmentError, rand_augment

__all__ = [
    "HardView",
    "HardViewBuilder",
    "JointCutoutError",
    "RANDAUGMENT_OPS",
    "RandAugmentError",
    "heatmap_easy_to_hard",
    "heatmap_peaks_in_input_px",
    "in_view_mask",
    "joint_cutout",
    "map_heatmaps_to_hard",
    "rand_augment",
    "sample_easy_to_hard",
    "warp_to_hard",
]
