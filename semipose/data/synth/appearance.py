"""Clothing, skin and hair colours of a synthetic person (BGR, 0-255 floats)."""
from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Optional

import numpy as np

SKIN_TONES = ((197, 224, 255), (160, 200, 241), (130, 172, 224), (103, 143, 198),
              (80, 117, 170), (60, 90, 141), (45, 67, 105), (35, 50, 80))
HAIR_COLOURS = ((20, 20, 25), (25, 35, 60), (40, 60, 100), (80, 140, 200), (160, 160, 165),
                (30, 60, 140))
TROUSER_COLOURS = ((110, 60, 30), (60, 40, 25), (30, 30, 30), (90, 90, 90), (120, 160, 175),
                   (40, 70, 60))
SHOE_COLOURS = ((25, 25, 25), (230, 230, 230), (40, 60, 90), (60, 60, 140))

Colour = tuple


@dataclass
class Appearance:
    skin: Colour
    hair: Colour
    shirt: Colour
    trousers: Colour
    shoes: Colour
    long_sleeves: bool = False
    shorts: bool = False
    stripe_period: Optional[float] = None  # shirt stripes, in units of the person's height
    trouser_noise: float = 0.0            # denim-like grain amplitude (0..1)
    hair_cover: float = 0.3               # cosine threshold: larger = less hair
    texture_seed: int = 0                 # seeds the trouser grain
    chest_print: Optional[Colour] = None  # a patch in the middle of the shirt's front


def _jitter(rng: np.random.Generator, colour, spread: float) -> Colour:
    return tuple(min(max(c + float(rng.normal(0, spread)), 0.0), 255.0) for c in colour)


def _pick(rng: np.random.Generator, palette, spread: float) -> Colour:
    return _jitter(rng, palette[rng.integers(len(palette))], spread)


def random_colour(rng: np.random.Generator, saturation=(0.2, 0.95), value=(0.2, 0.95)) -> Colour:
    hue = rng.random()
    r, g, b = colorsys.hsv_to_rgb(hue, rng.uniform(*saturation), rng.uniform(*value))
    return (255.0 * b, 255.0 * g, 255.0 * r)


def sample_appearance(rng: np.random.Generator) -> Appearance:
    trousers = (_pick(rng, TROUSER_COLOURS, 12) if rng.random() < 0.7
                else random_colour(rng, value=(0.15, 0.8)))
    return Appearance(
        skin=_pick(rng, SKIN_TONES, 8),
        hair=_pick(rng, HAIR_COLOURS, 10),
        shirt=random_colour(rng),
        trousers=trousers,
        shoes=_pick(rng, SHOE_COLOURS, 10),
        long_sleeves=bool(rng.random() < 0.3),
        shorts=bool(rng.random() < 0.2),
        stripe_period=float(rng.uniform(0.015, 0.05)) if rng.random() < 0.35 else None,
        trouser_noise=float(rng.uniform(0.05, 0.2)) if rng.random() < 0.5 else 0.0,
        hair_cover=float(rng.uniform(-0.15, 0.3)) if rng.random() < 0.95 else 0.85,
        texture_seed=int(rng.integers(2**31)),
        chest_print=random_colour(rng) if rng.random() < 0.7 else None,
    )
