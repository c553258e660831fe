"""The person-crop cache: every training person decoded once, centred, stored as uint8.

Format: one flat uint8 file of all crops (`crops-<build>.u8`, read through a numpy memmap) and
`index.json` (per person: byte offset, height, width and the affine image -> cached pixels, plus
what the cache was built from). Chosen over LMDB / webdataset because it needs no dependency,
a crop is one O(1) slice of the page cache that every DataLoader worker shares, and random
access (our streams draw people in any order) costs no seek through a shard. The index is
written last, atomically, under a new build name, so a crash leaves the old cache whole.

A cached crop covers every view the easy-view jitter can draw of the person: the padded box
times the largest scale, turned by up to the largest rotation (its axis-aligned envelope),
clipped to the image, at the input crop's resolution at scale 1 (never above the photo's own
resolution). Views outside it (half-body crops, a changed jitter) are read from the JPEG and
counted (`CropCache.fallbacks`). Crops from the cache match the JPEG path's within the bounds
of tests/test_crop_cache.py: identical where the person is stored at full resolution, within a
resampling difference where it is stored reduced.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import uuid
from pathlib import Path

import numpy as np

from semipose import geometry
from semipose.config import DataConfig
from semipose.data.images import read_image_rgb_window
from semipose.data.topdown import decode_reduction

CACHE_VERSION = 1
INDEX_NAME = "index.json"


class StaleCacheError(ValueError):
    """The cache at `folder` was built from other data or options than the run's."""

    def __init__(self, folder, field: str, cached, now):
        super().__init__(f"{folder}/{INDEX_NAME}: stale crop cache: field '{field}' was {cached!r} when it was "
                         f"built, the run has {now!r}; rebuild it with `semipose cache CONFIG` "
                         f"(or unset data.crop_cache)")


def cache_options(config: DataConfig) -> dict:
    """The options a cached crop depends on (a change in any of them makes the cache stale)."""
    jitter = config.easy
    return {"version": CACHE_VERSION, "input_size": list(config.input_size), "padding": config.padding,
            "max_scale": 1.0 + jitter.scale, "max_rotation": max_rotation(jitter)}


def max_rotation(jitter) -> float:
    """The largest |rotation| in degrees the easy-view sampler can draw (semipose/jitter.py)."""
    if jitter.rotation_prob <= 0:
        return 0.0
    limit = 2 * jitter.rotation if jitter.distribution == "normal" else jitter.rotation
    return float(min(abs(limit), 90.0))


def source_digests(config: DataConfig) -> dict:
    """sha256 of every annotation / detection file the training people come from."""
    files = {"data.train.json": config.train.json, "data.train.detections": config.train.detections}
    if config.unlabelled is not None:
        files.update({"data.unlabelled.json": config.unlabelled.json,
                      "data.unlabelled.detections": config.unlabelled.detections})
    return {key: _sha256(path) for key, path in files.items() if path}


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def person_key(record) -> str:
    box = ",".join(f"{float(v):.3f}" for v in record.bbox)
    return f"{record.image_path.name}|{record.image_id}|{record.ann_id}|{box}"


def _half_extent(along: float, across: float, max_turn_rad: float) -> float:
    """max over turns t in [0, max_turn] of along cos t + across sin t (a turned rectangle's half side)."""
    best_turn = math.atan2(across, along)
    if best_turn <= max_turn_rad:
        return math.hypot(along, across)
    return along * math.cos(max_turn_rad) + across * math.sin(max_turn_rad)


def cached_window(record, config: DataConfig) -> tuple[np.ndarray, float]:
    """(x0, y0, x1, y1) inclusive image pixels the person's cached crop covers, and its
    resolution (cached pixels per image pixel)."""
    options = cache_options(config)
    center, size = geometry.box_to_center_size(record.bbox, config.input_size[0] / config.input_size[1],
                                               config.padding)
    half_w, half_h = size * options["max_scale"] / 2
    turn = math.radians(options["max_rotation"])
    reach = np.array([_half_extent(half_w, half_h, turn), _half_extent(half_h, half_w, turn)]) + 2.0
    width, height = record.image_wh
    low = np.maximum(np.floor(center - reach), 0)
    high = np.minimum(np.ceil(center + reach), [width - 1, height - 1])
    resolution = min(1.0, config.input_size[1] / size[1])
    return np.concatenate([low, np.maximum(high, low)]), resolution


def image_to_cached(window, resolution: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine image pixels -> cached pixels (edges onto edges) and the cached (w, h)."""
    x0, y0, x1, y1 = window
    span = np.array([x1 - x0 + 1, y1 - y0 + 1])
    out_wh = np.maximum(np.ceil(span * resolution - 1e-9), 1).astype(int)
    scale = out_wh / span
    affine = np.array([[scale[0], 0.0, (0.5 - x0) * scale[0] - 0.5], [0.0, scale[1], (0.5 - y0) * scale[1] - 0.5]])
    return affine, (int(out_wh[0]), int(out_wh[1]))


def render_cached_crop(record, config: DataConfig):
    """(crop, image_to_crop, window): the (h, w, 3) uint8 cached crop of one person, its affine
    from image pixels and the image pixels it covers (`cached_window`)."""
    window, resolution = cached_window(record, config)
    to_cached, out_wh = image_to_cached(window, resolution)
    factor = decode_reduction(to_cached)
    pixels, image_to_pixels = read_image_rgb_window(record.image_path, factor, window + [-1, -1, 1, 1])
    crop = geometry.warp_image(pixels, geometry.compose(to_cached, geometry.invert(image_to_pixels)), out_wh)
    return crop, to_cached, window


def build_cache(folder, records, config: DataConfig, progress=None) -> dict:
    """Write the cache of `records` (each person once) to `folder`; returns the index's summary."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    build = uuid.uuid4().hex[:12]
    crops_name = f"crops-{build}.u8"
    entries, images, offset = {}, {}, 0
    with open(folder / crops_name, "wb") as crops:
        for count, record in enumerate(records, start=1):
            key = person_key(record)
            if key in entries:
                continue
            crop, affine, window = render_cached_crop(record, config)
            entries[key] = [offset, crop.shape[0], crop.shape[1], affine.ravel().tolist(), window.tolist()]
            images[record.image_path.name] = list(record.image_wh)
            crops.write(np.ascontiguousarray(crop).tobytes())
            offset += crop.size
            if progress is not None:
                progress(count)
    summary = {"people": len(entries), "bytes": offset, "crops_file": crops_name}
    index = {**summary, "options": cache_options(config), "sources": source_digests(config),
             "image_sizes": images, "people_index": entries}
    _replace_index(folder, index)
    return summary


def _replace_index(folder: Path, index: dict) -> None:
    """Write the index atomically, then remove crops files no index refers to any more."""
    temporary = folder / f"{INDEX_NAME}.tmp"
    temporary.write_text(json.dumps(index))
    os.replace(temporary, folder / INDEX_NAME)
    for old in folder.glob("crops-*.u8"):
        if old.name != index["crops_file"]:
            old.unlink()


class CropCache:
    """A built cache, checked against the run's data config; `crop` warps from it."""

    def __init__(self, folder, config: DataConfig):
        self.folder = Path(folder)
        index_path = self.folder / INDEX_NAME
        if not index_path.is_file():
            raise FileNotFoundError(f"{index_path}: no crop cache here (data.crop_cache); build it with "
                                    f"`semipose cache CONFIG`")
        try:
            index = json.loads(index_path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{index_path}: not a crop-cache index ({error}); rebuild it") from None
        self._check(index, "options", cache_options(config))
        self._check(index, "sources", source_digests(config))
        self.entries = index["people_index"]
        self.image_sizes = index["image_sizes"]
        self.crops_path = self.folder / index["crops_file"]
        if not self.crops_path.is_file() or self.crops_path.stat().st_size != index["bytes"]:
            raise ValueError(f"{self.crops_path}: missing or not {index['bytes']} bytes as {index_path} says; "
                             f"rebuild the cache")
        self.fallbacks = 0
        self.hits = 0
        self._crops = None

    def _check(self, index: dict, field: str, now) -> None:
        if index.get(field) != now:
            raise StaleCacheError(self.folder, field, index.get(field), now)

    def check_records(self, records, role: str) -> None:
        """Refuse a cache that lacks some of the run's people, or saw their images at another size."""
        missing = [r for r in records if person_key(r) not in self.entries]
        if missing:
            raise StaleCacheError(self.folder, f"people_index ({role})", f"{len(self.entries)} people",
                                  f"{len(missing)} people not in it, e.g. {person_key(missing[0])}")
        for record in records:
            cached = self.image_sizes.get(record.image_path.name)
            if cached != list(record.image_wh):
                raise StaleCacheError(self.folder, f"image_sizes[{record.image_path.name}]", cached,
                                      list(record.image_wh))

    def __getstate__(self):  # workers started by spawn open their own memmap
        return {**self.__dict__, "_crops": None}

    def crop(self, record, image_to_input, input_wh):
        """The (H, W, 3) uint8 input crop warped from the cache, or None when the view reads image
        pixels outside the cached window (the caller decodes the JPEG then)."""
        offset, height, width, affine, window = self.entries[person_key(record)]
        reads = geometry.source_window(image_to_input, input_wh)
        image_w, image_h = record.image_wh
        low = np.maximum(reads[:2], 0)
        high = np.minimum(reads[2:], [image_w - 1, image_h - 1])
        if np.any(low < window[:2]) or np.any(high > window[2:]):
            self.fallbacks += 1
            return None
        self.hits += 1
        if self._crops is None:
            self._crops = np.memmap(self.crops_path, dtype=np.uint8, mode="r")
        pixels = self._crops[offset:offset + height * width * 3].reshape(height, width, 3)
        to_cached = np.asarray(affine, dtype=np.float64).reshape(2, 3)
        return geometry.warp_image(pixels, geometry.compose(image_to_input, geometry.invert(to_cached)), input_wh)
