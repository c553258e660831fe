"""Random rotation/scale jitter: the one sampler behind the easy view (in the loader) and the
hard view (on the device), so "Affine 30" means the same thing everywhere."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass
class AffineJitter:
    """Rotation (degrees) and scale jitter.

    distribution "normal" (the reference code): rotation = clip(N(0, rotation), +-2 rotation) with
    probability `rotation_prob`, scale = clip(N(1, scale), 1 +- scale).
    distribution "uniform" (the paper's wording): rotation in [-rotation, rotation], scale in [1 +- scale].
    """
    rotation: float = 30.0
    scale: float = 0.25
    rotation_prob: float = 0.6
    distribution: Literal["normal", "uniform"] = "normal"


AFFINE_30 = AffineJitter(rotation=30.0, scale=0.25, rotation_prob=1.0, distribution="uniform")
AFFINE_60 = AffineJitter(rotation=60.0, scale=0.5, rotation_prob=1.0, distribution="uniform")


def sample_jitter(jitter: AffineJitter, rng: np.random.Generator, count: int):
    """(rotation_deg, scale) arrays of length `count`."""
    if jitter.distribution == "normal":
        rotation = np.clip(rng.normal(0.0, jitter.rotation, count), -2 * jitter.rotation, 2 * jitter.rotation)
        scale = np.clip(rng.normal(1.0, jitter.scale, count), 1 - jitter.scale, 1 + jitter.scale)
    else:
        rotation = rng.uniform(-jitter.rotation, jitter.rotation, count)
        scale = rng.uniform(1 - jitter.scale, 1 + jitter.scale, count)
    rotation = np.where(rng.random(count) < jitter.rotation_prob, rotation, 0.0)
    return rotation, scale
