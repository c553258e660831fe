"""Cluttered backgrounds (gradients, blotches, floors, stripes, random shapes, limb-like
distractors) and camera effects (uneven light, colour cast, blur, sensor noise)."""
from __future__ import annotations

import threading

import cv2
import numpy as np

from semipose.data.synth.appearance import SKIN_TONES, random_colour

SHIFT = 4


def _fixed(points) -> np.ndarray:
    return np.round(np.asarray(points, np.float64) * (1 << SHIFT)).astype(np.int32)


def _ramp(rng, width: int, height: int) -> np.ndarray:
    """A linear 0..1 ramp over a (height, width) grid in a random direction."""
    angle = rng.uniform(0, 2 * np.pi)
    xs = np.linspace(0, 1, width, dtype=np.float32)[None, :] * np.cos(angle)
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None] * np.sin(angle)
    ramp = xs + ys
    return (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)


def _coarse_size(width: int, height: int) -> tuple:
    return max(width // 8, 2), max(height // 8, 2)


def _smooth_field(rng, width: int, height: int, amplitude: float) -> np.ndarray:
    """Low-frequency colour variation (blotches) on the coarse grid, float32 (h, w, 3)."""
    cells = int(rng.integers(3, 12))
    small = rng.uniform(-amplitude, amplitude, (cells, cells, 3)).astype(np.float32)
    return cv2.resize(small, _coarse_size(width, height), interpolation=cv2.INTER_CUBIC)


def _gradient(rng, width: int, height: int, colours) -> np.ndarray:
    """A two-colour linear gradient on the coarse grid, float32 (h, w, 3)."""
    coarse_width, coarse_height = _coarse_size(width, height)
    ramp = _ramp(rng, coarse_width, coarse_height)[..., None]
    grid = np.asarray(colours[0]) * (1 - ramp) + np.asarray(colours[1]) * ramp
    return grid.astype(np.float32)


def _upscale(coarse: np.ndarray, width: int, height: int) -> np.ndarray:
    """Coarse float map -> full-size uint8 (bilinear is exact for the linear ramps)."""
    coarse_uint8 = np.clip(coarse, 0, 255).astype(np.uint8)
    return cv2.resize(coarse_uint8, (width, height), interpolation=cv2.INTER_LINEAR)


def _stripes(rng, image: np.ndarray) -> None:
    """Paint a rectangle of parallel bands (planks, blinds, tiles) somewhere."""
    height, width = image.shape[:2]
    x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
    x1 = min(width, x0 + int(rng.integers(width // 6, width)))
    y1 = min(height, y0 + int(rng.integers(height // 6, height)))
    region = image[y0:y1, x0:x1]
    period, angle = rng.uniform(5, 30), rng.uniform(0, np.pi)
    across = np.array([np.cos(angle), np.sin(angle)])
    along = np.array([-across[1], across[0]])
    reach = float(np.hypot(x1 - x0, y1 - y0))
    centres = (np.array([x1 - x0, y1 - y0]) / 2
               + np.arange(-reach, reach, period)[:, None] * across)
    starts, ends = _fixed(centres - along * reach), _fixed(centres + along * reach)
    colour, thickness = random_colour(rng), max(1, int(period / 2))
    for (xa, ya), (xb, yb) in zip(starts.tolist(), ends.tolist()):
        cv2.line(region, (xa, ya), (xb, yb), colour, thickness, cv2.LINE_AA, SHIFT)


def make_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A uint8 (H, W, 3) BGR backdrop: gradient, blotches, maybe a floor and stripes.

    Smooth layers are made on a grid 8x coarser and scaled up once: full-size float passes
    would cost more than all the people in the picture."""
    coarse = _gradient(rng, width, height, (random_colour(rng), random_colour(rng)))
    image = _upscale(coarse + _smooth_field(rng, width, height, rng.uniform(5, 45)),
                     width, height)
    if rng.random() < 0.5:  # a floor below a sharp horizon
        horizon = int(rng.uniform(0.3, 0.8) * height)
        floor = _gradient(rng, width, height - horizon,
                          (random_colour(rng, value=(0.2, 0.8)), random_colour(rng)))
        image[horizon:] = _upscale(floor + _smooth_field(rng, width, height - horizon,
                                                         rng.uniform(5, 30)),
                                   width, height - horizon)
    for _ in range(rng.integers(0, 3)):
        _stripes(rng, image)
    return image


def _random_polygon(rng, centre, size: float) -> np.ndarray:
    count = int(rng.integers(3, 8))
    angles = np.sort(rng.uniform(0, 2 * np.pi, count))
    radii = size * rng.uniform(0.5, 1.0, count)
    return centre + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], axis=1)


def draw_capsule_plain(image, start, end, radius: float, colour) -> None:
    """A stick with round ends (no id buffer: background clutter)."""
    cv2.line(image, tuple(int(v) for v in _fixed(start)), tuple(int(v) for v in _fixed(end)),
             colour, max(1, int(round(2 * radius))), cv2.LINE_AA, SHIFT)


def _limb_distractor(rng, image, size: float) -> None:
    """One or two joined sticks in skin or clothing colours, like a stray arm or leg."""
    height, width = image.shape[:2]
    colour = (SKIN_TONES[rng.integers(len(SKIN_TONES))] if rng.random() < 0.5
              else random_colour(rng))
    start = np.array([rng.uniform(0, width), rng.uniform(0, height)])
    angle = rng.uniform(0, 2 * np.pi)
    radius = size * rng.uniform(0.03, 0.08)
    for _ in range(rng.integers(1, 3)):
        end = start + size * rng.uniform(0.15, 0.35) * np.array([np.cos(angle), np.sin(angle)])
        draw_capsule_plain(image, start, end, radius, colour)
        start, angle = end, angle + rng.uniform(-2.0, 2.0)
    if rng.random() < 0.5:  # a hand- or head-like blob at the end
        cv2.circle(image, tuple(int(v) for v in _fixed(start)),
                   int(radius * rng.uniform(1.0, 3.0) * (1 << SHIFT)), colour, -1, cv2.LINE_AA,
                   SHIFT)


def draw_clutter(rng: np.random.Generator, image: np.ndarray, count: int) -> None:
    """Random shapes on the background: boxes, discs, ellipses, polygons, lines, sticks."""
    height, width = image.shape[:2]
    size_scale = float(min(width, height))
    for _ in range(count):
        centre = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        size = size_scale * rng.uniform(0.03, 0.35)
        colour = random_colour(rng)
        kind = rng.integers(6)
        if kind == 0:
            box = cv2.boxPoints(((float(centre[0]), float(centre[1])),
                                 (float(size), float(size * rng.uniform(0.2, 2.0))),
                                 float(rng.uniform(0, 180))))
            cv2.fillConvexPoly(image, _fixed(box), colour, cv2.LINE_AA, SHIFT)
        elif kind == 1:
            half_axes = np.array([size, size * rng.uniform(0.2, 1.0)]) * (1 << SHIFT) / 2
            axes = (int(half_axes[0]), int(half_axes[1]))
            cv2.ellipse(image, tuple(int(v) for v in _fixed(centre)), axes,
                        float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA, SHIFT)
        elif kind == 2:
            cv2.fillConvexPoly(image, _fixed(cv2.convexHull(
                _random_polygon(rng, centre, size / 2).astype(np.float32))[:, 0]),
                colour, cv2.LINE_AA, SHIFT)
        elif kind == 3:
            end = centre + rng.normal(0, size, 2)
            draw_capsule_plain(image, centre, end, rng.uniform(0.5, 3), colour)
        else:
            _limb_distractor(rng, image, size_scale * rng.uniform(0.3, 0.9))


def camera_effects(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Uneven light, a colour cast, sometimes blur, and sensor noise; returns uint8."""
    height, width = image.shape[:2]
    cast = rng.uniform(0.88, 1.12, 3)
    gain_coarse = _gradient(rng, width, height, (cast * rng.uniform(0.7, 1.0),
                                                 cast * rng.uniform(1.0, 1.25)))
    gain = cv2.resize(gain_coarse, (width, height), dst=_buffer("gain", image.shape),
                      interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:  # lens blur (on uint8: 8x cheaper than on floats)
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 1.3))
    elif rng.random() < 0.1:  # motion blur along a random direction
        length = int(rng.integers(3, 8))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2] = 1.0 / length
        rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5),
                                           rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, rotation, (length, length))
        image = cv2.filter2D(image, -1, kernel / max(float(kernel.sum()), 1e-6))
    result = cv2.multiply(image, gain, dst=_buffer("light", image.shape), dtype=cv2.CV_32F)
    sigma = rng.uniform(0, 9)
    if sigma > 1:
        cv2.scaleAdd(_noise_window(rng, width, height), float(sigma), result, dst=result)
    return cv2.add(result, 0.0, dtype=cv2.CV_8U)  # rounds and saturates to 0..255


_WORKSPACE = threading.local()


def _buffer(name: str, shape) -> np.ndarray:
    """A float32 scratch array reused between pictures (per thread): allocating 1 MB anew
    for each picture costs page faults that take longer than the arithmetic."""
    buffers = _WORKSPACE.__dict__.setdefault("buffers", {})
    if name not in buffers or buffers[name].shape != tuple(shape):
        buffers[name] = np.empty(shape, np.float32)
    return buffers[name]


_NOISE_BANK: dict = {}


def _noise_window(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Unit Gaussian noise (H, W, 3): a random window of a fixed bank.

    Drawing 250k fresh normals costs more than the rest of the picture; a window into a
    bank twice the image's size (made once per process from a fixed seed) is as good for
    sensor noise and stays reproducible because the window comes from this image's rng.
    """
    key = (width, height)
    if key not in _NOISE_BANK:
        _NOISE_BANK[key] = np.random.default_rng(12345).standard_normal(
            (2 * height, 2 * width, 3), dtype=np.float32)
    bank = _NOISE_BANK[key]
    top, left = int(rng.integers(height)), int(rng.integers(width))
    return bank[top:top + height, left:left + width]
