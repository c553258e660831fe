"""The person-crop cache gives the crops of the JPEG path and refuses a stale cache.

Stated bounds (synthetic 640x480 JPEGs, and the real COCO photos of ../shared/data when present):
- a person stored at the photo's own resolution (the input crop at scale 1 has >= 1 crop pixel
  per image pixel): the cached crop is a copy of the photo's pixels, and the crop warped from it
  differs from the region decoder's by at most 1 grey level (OpenCV's fixed-point warp of a
  shifted affine) in under 0.5 % of the values;
- a person stored reduced (to the input's resolution at scale 1): against the straightforward
  crop (full decode, one bilinear warp) no shift (phase correlation < 0.1 crop pixel) and a mean
  absolute difference <= 6 grey levels, the blur of resampling twice (measured on the COCO photos:
  0.8 to 5.3);
- every easy view the configured jitter can draw is inside the cached window (no fallback).
"""
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from semipose import geometry
from semipose.api import load_config
from semipose.data.build import build_datasets, training_records
from semipose.data.crop_cache import CropCache, StaleCacheError, build_cache, person_key
from semipose.data.synth import generate_dataset

SHARED_COCO = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco_mini"
COCO_TRAIN = SHARED_COCO / "annotations" / "person_keypoints_train2017.json"


@pytest.fixture(scope="module")
def synth640(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cache640")
    generate_dataset(folder, 24, seed=5, val_people=1, image_size=(640, 480), height_range=(40, 460))
    return folder


def _overrides(folder: Path, *extra) -> list[str]:
    return [f"data.train.images={folder}/images/train", f"data.train.json={folder}/annotations/train.json",
            f"data.val.images={folder}/images/val", f"data.val.json={folder}/annotations/val.json", *extra]


def _data(folder: Path, *extra):
    return load_config(None, _overrides(folder, *extra)).data


@pytest.fixture(scope="module")
def synth_cache(synth640, tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("crops")
    data = _data(synth640)
    build_cache(cache, training_records(data), data)
    return cache


def _pair(data_with_cache, data_reference):
    cached = build_datasets(data_with_cache, seed=0, need_unlabelled=False).labelled
    reference = build_datasets(data_reference, seed=0, need_unlabelled=False).labelled
    return cached, reference


def _grey(sample) -> np.ndarray:
    return sample["image"].numpy().astype(np.float64)


def _stored_at_full_resolution(dataset, index) -> bool:
    affine = dataset.crop_cache.entries[person_key(dataset.records[index])][3]
    return abs(affine[0] - 1.0) < 1e-12 and abs(affine[4] - 1.0) < 1e-12


def _check_bounds(cached, reference, straightforward):
    full, reduced = 0, 0
    for index in range(len(cached)):
        item = (index, 1000 + index)
        from_cache = _grey(cached[item])
        if _stored_at_full_resolution(cached, index):
            difference = np.abs(from_cache - _grey(reference[item]))
            assert difference.max() <= 1 and (difference > 0).mean() < 0.005, index
            full += 1
        else:
            truth = _grey(straightforward[item])
            assert np.abs(from_cache - truth).mean() <= 6.0, index
            (dx, dy), _ = cv2.phaseCorrelate(from_cache.mean(0).astype(np.float32), truth.mean(0).astype(np.float32))
            assert abs(dx) < 0.1 and abs(dy) < 0.1, index
            reduced += 1
    assert cached.crop_cache.fallbacks == 0 and cached.crop_cache.hits == len(cached)
    return full, reduced


def test_cached_crops_match_the_jpeg_path_synthetic(synth640, synth_cache):
    cached, reference = _pair(_data(synth640, f"data.crop_cache={synth_cache}"), _data(synth640))
    straightforward = build_datasets(_data(synth640, "data.fast_decode=false"), seed=0,
                                     need_unlabelled=False).labelled
    full, reduced = _check_bounds(cached, reference, straightforward)
    assert full > 0 and reduced > 0  # both kinds of stored person were compared


def test_cached_crops_match_the_jpeg_path_on_coco_photos(tmp_path):
    if not COCO_TRAIN.exists():
        pytest.skip("../shared/data/coco_mini is not present")
    images = SHARED_COCO / "train2017"
    overrides = [f"data.train.images={images}", f"data.train.json={COCO_TRAIN}",
                 f"data.val.images={images}", f"data.val.json={COCO_TRAIN}", "data.check_images=false",
                 "data.num_labelled=30"]
    data = load_config(None, overrides).data
    records = training_records(data)[:30]
    build_cache(tmp_path, records, data)
    cached, reference, straightforward = (
        build_datasets(load_config(None, overrides + extra).data, seed=0, need_unlabelled=False).labelled
        for extra in ([f"data.crop_cache={tmp_path}"], [], ["data.fast_decode=false"]))
    _check_bounds(cached, reference, straightforward)


def test_every_drawn_view_is_inside_the_cached_window(synth640, synth_cache):
    """Strong jitter (rotation clipped at 60 degrees, scale 1 +- 0.25), many draws: no JPEG fallback."""
    cached = build_datasets(_data(synth640, f"data.crop_cache={synth_cache}", "data.easy.rotation_prob=1.0"),
                            seed=0, need_unlabelled=False).labelled
    for draw in range(300):
        cached[(draw % len(cached), draw)]
    assert cached.crop_cache.fallbacks == 0 and cached.crop_cache.hits == 300


def test_a_view_outside_the_window_falls_back_to_the_jpeg(synth640, synth_cache):
    data = _data(synth640, f"data.crop_cache={synth_cache}")
    cache = CropCache(synth_cache, data)
    record = training_records(data)[0]
    center, size = geometry.box_to_center_size(record.bbox, 0.75, 1.25)
    zoomed_out = geometry.crop_affine(center, size * 3, 0.0, data.input_size)
    assert cache.crop(record, zoomed_out, data.input_size) is None and cache.fallbacks == 1
    cached = build_datasets(data, seed=0, need_unlabelled=False).labelled
    half_body = build_datasets(_data(synth640, f"data.crop_cache={synth_cache}", "data.half_body_prob=1.0"),
                               seed=0, need_unlabelled=False).labelled
    for draw in range(40):
        sample = half_body[(draw % len(half_body), draw)]
        assert sample["image"].shape == (3, 256, 192)
    assert half_body.crop_cache.hits + half_body.crop_cache.fallbacks == 40
    assert cached.crop_cache.fallbacks == 0


def test_a_stale_cache_is_refused_naming_the_field(synth640, synth_cache, tmp_path):
    with pytest.raises(StaleCacheError, match="field 'options'"):
        build_datasets(_data(synth640, f"data.crop_cache={synth_cache}", "data.input_size=[96,128]"),
                       seed=0, need_unlabelled=False)
    with pytest.raises(StaleCacheError, match="field 'options'"):
        build_datasets(_data(synth640, f"data.crop_cache={synth_cache}", "data.easy.scale=0.35"),
                       seed=0, need_unlabelled=False)
    edited = tmp_path / "train.json"
    coco = json.loads((synth640 / "annotations" / "train.json").read_text())
    coco["annotations"][0]["bbox"][0] += 3.0
    edited.write_text(json.dumps(coco))
    with pytest.raises(StaleCacheError, match=r"field 'sources'.*semipose cache CONFIG"):
        build_datasets(_data(synth640, f"data.crop_cache={synth_cache}", f"data.train.json={edited}"),
                       seed=0, need_unlabelled=False)


def test_a_cache_missing_people_or_with_other_image_sizes_is_refused(synth640, tmp_path):
    data = _data(synth640)
    records = training_records(data)
    build_cache(tmp_path, records[:-1], data)
    cache = CropCache(tmp_path, data)
    with pytest.raises(StaleCacheError, match=r"people_index \(labelled\).*1 people not in it"):
        cache.check_records(records, "labelled")
    index = json.loads((tmp_path / "index.json").read_text())
    name = records[0].image_path.name
    index["image_sizes"][name] = [1, 1]
    (tmp_path / "index.json").write_text(json.dumps(index))
    with pytest.raises(StaleCacheError, match=rf"image_sizes\[{name}\]"):
        CropCache(tmp_path, data).check_records(records[:1], "labelled")


def test_rebuild_replaces_the_crops_file_and_damage_is_named(synth640, tmp_path):
    data = _data(synth640)
    records = training_records(data)
    build_cache(tmp_path, records, data)
    first = list(tmp_path.glob("crops-*.u8"))
    build_cache(tmp_path, records, data)
    second = list(tmp_path.glob("crops-*.u8"))
    assert len(first) == len(second) == 1 and first != second
    with open(second[0], "ab") as crops:
        crops.write(b"x")
    with pytest.raises(ValueError, match=r"crops-.*\.u8: missing or not \d+ bytes"):
        CropCache(tmp_path, data)
    (tmp_path / "index.json").write_text("{not json")
    with pytest.raises(ValueError, match="index.json: not a crop-cache index"):
        CropCache(tmp_path, data)
    shutil.rmtree(tmp_path)
    with pytest.raises(FileNotFoundError, match="semipose cache CONFIG"):
        CropCache(tmp_path, data)


def test_the_cache_pickles_without_its_memmap(synth640, synth_cache):
    """Workers started by spawn get a pickled dataset: the memmap reopens there, not copied."""
    cached = build_datasets(_data(synth640, f"data.crop_cache={synth_cache}"), seed=0, need_unlabelled=False).labelled
    before = cached[(0, 7)]["image"].numpy()
    payload = pickle.dumps(cached)
    assert len(payload) < 200_000
    assert np.array_equal(pickle.loads(payload)[(0, 7)]["image"].numpy(), before)


def test_semipose_cache_command(synth640, tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("{}\n")
    cache = tmp_path / "crops"
    command = [sys.executable, "-m", "semipose", "cache", str(config), *_overrides(synth640)]
    refused = subprocess.run(command, capture_output=True, text=True)
    assert refused.returncode == 2 and "data.crop_cache is not set" in refused.stderr
    built = subprocess.run(command + [f"data.crop_cache={cache}"], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert "24 people" in built.stdout and "per 1000 people" in built.stdout
    assert (cache / "index.json").exists()
