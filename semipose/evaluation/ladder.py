"""Accuracy under test-time perturbations of increasing strength (the paper's Fig. 5, left).

A pair (easy, hard) avoids collapse when the network is clearly more accurate under the easy
perturbation: this ladder measures that gap for a checkpoint before an SSL run is launched.
"""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import torch

from semipose import geometry
from semipose.augment.hard_view import HardViewBuilder
from semipose.augment.jitter import AFFINE_30, AFFINE_60, AffineJitter
from semipose.config import HardViewConfig, JointCutoutConfig, RandAugmentConfig
from semipose.evaluation.inference import predict_people

NO_AFFINE = AffineJitter(rotation=0.0, scale=0.0, rotation_prob=0.0)


def ladder_steps(joint_cutout: int = 5, randaugment: float = 20.0) -> dict[str, HardViewConfig]:
    """The rungs, weakest first; each is a hard-view config like the SSL methods use."""
    plain = HardViewConfig(affine=NO_AFFINE, mask_out_of_view=False)
    return {
        "none": plain,
        "Affine 30": replace(plain, affine=AFFINE_30),
        "Affine 60": replace(plain, affine=AFFINE_60),
        f"JC {joint_cutout}": replace(plain, joint_cutout=JointCutoutConfig(num_joints=joint_cutout)),
        f"RA {randaugment:g}": replace(plain, randaugment=RandAugmentConfig(num_ops=2, magnitude=randaugment)),
        f"Affine 30 + JC {joint_cutout}": replace(plain, affine=AFFINE_30,
                                                  joint_cutout=JointCutoutConfig(num_joints=joint_cutout)),
    }


def make_perturbation(network, hard: HardViewConfig, input_wh, heatmap_wh, num_keypoints: int, seed: int,
                      convention: str = "exact"):
    """perturb(images, image_to_input) for predict_people: the hard view of each crop, with Joint
    Cutout at the joints the network itself finds on the clean crop (as during training)."""
    context = SimpleNamespace(input_size=input_wh, heatmap_size=heatmap_wh, convention=convention,
                              labelled_joints=torch.ones(num_keypoints, dtype=torch.bool))
    builder = HardViewBuilder(hard, context)
    rng = np.random.default_rng(seed)

    @torch.no_grad()
    def perturb(images, image_to_input):
        joints = builder.cutout_joints(network(images)) if builder.uses_joint_cutout else None
        view = builder.build(images, joints, rng)
        return view.images, geometry.batch_compose(view.easy_to_hard.to(image_to_input.dtype), image_to_input)

    return perturb


def run_ladder(network, loader, score, flip_permutation, eval_config, input_wh, heatmap_wh, num_keypoints,
               steps: dict[str, HardViewConfig], seed: int = 0, device="cpu", convention: str = "exact") -> list[dict]:
    """[{"perturbation": name, <metrics>}] for each rung; `score(predictions) -> dict` is the metric;
    `convention` is the checkpoint's pixel convention (docs/architecture.md)."""
    rows = []
    for name, hard in steps.items():
        perturb = make_perturbation(network, hard, input_wh, heatmap_wh, num_keypoints, seed, convention)
        predictions = predict_people(network, loader, flip_permutation, eval_config, device, perturb=perturb,
                                     convention=convention)
        rows.append({"perturbation": name, **score(predictions)})
    return rows
