"""The lean data pipeline gives the crops and targets of the straightforward one.

Straightforward path: decode the full image, warp it with the crop's affine, normalise and draw
the heatmaps on the CPU (here re-computed in float64 numpy). Lean path (data.fast_decode): decode
only the region of the JPEG the crop reads, reduced by f = 2, 4, 8 when the crop shrinks the
person that much, warp the uint8 crop, normalise and draw the heatmaps on the device
(semipose.data.batch_prep.prepare_batch).

Stated bounds, on synthetic 640x480 JPEGs:
- f = 1: the decoded region holds the full decode's pixels (tests/test_jpeg_region.py), and the
  crop warped from it differs from the full-image crop only where OpenCV's fixed-point warp rounds
  the shifted affine differently: at most 1 grey level, in under 0.1 % of the crop's values.
- reduced decode vs the box-averaged full image (the ideal reduction, cv2.INTER_AREA by exactly f)
  warped with our pixel convention: mean absolute difference <= 1.5 grey levels per crop, and the
  naive convention x_red = x / f is always further off (it shifts the crop by (f - 1) / 2 pixels).
- reduced decode vs the straightforward bilinear crop at 256x192: mean absolute difference
  <= 2 grey levels, sub-pixel shift (phase correlation) < 0.1 crop pixel. At smaller crops the
  straightforward path itself aliases (it samples 1 in 4..8 pixels), so the box average is the
  reference there.
- heatmaps and target weights: within 1e-4 of the float64 re-computation.
"""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import default_collate

from semipose import geometry
from semipose.api import load_config
from semipose.data.batch_prep import IMAGENET_MEAN, IMAGENET_STD, prepare_batch
from semipose.data.build import build_datasets
from semipose.data.errors import ImageReadError
from semipose.data.images import read_image_rgb, read_image_rgb_reduced, reduction_affine
from semipose.data.synth import generate_dataset
from semipose.data.topdown import decode_reduction


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synth640")
    generate_dataset(folder, 40, seed=3, val_people=2, image_size=(640, 480), height_range=(60, 460))
    return folder


def _datasets(folder: Path, input_wh, fast: bool, labelled: bool = True):
    config = load_config(None, [f"data.train.images={folder}/images/train",
                                f"data.train.json={folder}/annotations/train.json",
                                f"data.val.images={folder}/images/val", f"data.val.json={folder}/annotations/val.json",
                                f"data.input_size={list(input_wh)}", f"data.fast_decode={fast}"])
    bundle = build_datasets(config.data, seed=0, need_unlabelled=not labelled)
    return (bundle.labelled if labelled else bundle.unlabelled), config.data


def _hwc(sample) -> np.ndarray:
    return sample["image"].permute(1, 2, 0).numpy().astype(np.float64)


def _pairs(folder, input_wh):
    """(lean sample, straightforward sample, straightforward crop, reduction factor, record) for every
    person, augmented; the straightforward crop is the full decode warped with the sample's affine."""
    fast, _ = _datasets(folder, input_wh, fast=True)
    plain, _ = _datasets(folder, input_wh, fast=False)
    for index in range(len(fast)):
        fast_sample, plain_sample = fast[(index, 7 * index)], plain[(index, 7 * index)]
        image_to_input = fast_sample["image_to_input"].double().numpy()
        reference = geometry.warp_image(read_image_rgb(fast.records[index].image_path), image_to_input, input_wh)
        yield fast_sample, plain_sample, reference.astype(np.float64), decode_reduction(image_to_input), \
            fast.records[index]


def test_crops_match_the_straightforward_path_at_256x192(synth_dir):
    factors = []
    for fast, plain, reference, factor, _ in _pairs(synth_dir, (192, 256)):
        for key in ("keypoints", "image_to_input", "target_weight"):
            torch.testing.assert_close(fast[key], plain[key], rtol=0, atol=0)
        # fast_decode=false is the full decode; the reference warps with the sample's float32 affine
        # instead of the float64 one, which moves a few pixels by one grey level.
        full_decode_difference = np.abs(_hwc(plain) - reference)
        assert full_decode_difference.max() <= 1 and full_decode_difference.mean() < 0.01
        crop = _hwc(fast)
        if factor == 1:
            region_difference = np.abs(crop - _hwc(plain))
            assert region_difference.max() <= 1 and (region_difference > 0).mean() < 1e-3
        else:
            window = cv2.createHanningWindow((crop.shape[1], crop.shape[0]), cv2.CV_64F)
            (shift_x, shift_y), _ = cv2.phaseCorrelate(crop.mean(axis=2), reference.mean(axis=2), window)
            assert np.abs(crop - reference).mean() <= 2.0 and max(abs(shift_x), abs(shift_y)) < 0.1
        factors.append(factor)
    assert {1, 2} <= set(factors)


def test_reduced_decodes_are_the_box_average_on_our_pixel_grid(synth_dir):
    """Small crops reach f = 4 and 8; the reference is the full image box-averaged by exactly f."""
    seen = set()
    for fast, _, _, factor, record in _pairs(synth_dir, (48, 64)):
        if factor == 1:
            continue
        full = read_image_rgb(record.image_path)
        height, width = full.shape[:2]
        box_average = cv2.resize(full, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
        image_to_input = fast["image_to_input"].double().numpy()
        ours = geometry.compose(image_to_input, geometry.invert(reduction_affine(factor)))
        naive = geometry.compose(image_to_input, np.array([[factor, 0.0, 0.0], [0.0, factor, 0.0]]))
        crop = _hwc(fast)
        difference = np.abs(crop - geometry.warp_image(box_average, ours, (48, 64))).mean()
        naive_difference = np.abs(crop - geometry.warp_image(box_average, naive, (48, 64))).mean()
        assert difference <= 1.5 and naive_difference > difference
        seen.add(factor)
    assert seen == {2, 4, 8}


def test_device_targets_and_images_match_a_float64_recomputation(synth_dir):
    dataset, data = _datasets(synth_dir, (192, 256), fast=True)
    samples = [dataset[(index, index)] for index in range(8)]
    batch = prepare_batch(default_collate(samples), data, torch.device("cpu"))
    flip_permutation = np.asarray(dataset.meta.flip_permutation())
    stride = data.heatmap_stride
    width, height = data.heatmap_size
    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    for n, (sample, record) in enumerate(zip(samples, dataset.records)):
        affine = sample["image_to_input"].double().numpy()
        points = np.asarray(record.keypoints, dtype=np.float64)
        points = np.concatenate([points[:, :2] @ affine[:, :2].T + affine[:, 2], points[:, 2:]], axis=1)
        if np.linalg.det(affine[:, :2]) < 0:  # a flipped crop swaps left and right joints
            points = points[flip_permutation]
        x_hm, y_hm = (points[:, 0] + 0.5) / stride - 0.5, (points[:, 1] + 0.5) / stride - 0.5
        weight = ((points[:, 2] > 0) & (x_hm >= -0.5) & (x_hm <= width - 0.5)
                  & (y_hm >= -0.5) & (y_hm <= height - 0.5)).astype(np.float64)
        expected = np.exp(-((xs - x_hm[:, None, None]) ** 2 + (ys - y_hm[:, None, None]) ** 2)
                          / (2 * data.sigma ** 2)) * weight[:, None, None]
        np.testing.assert_allclose(batch["target_weight"][n].numpy(), weight)
        np.testing.assert_allclose(batch["heatmaps"][n].numpy(), expected, rtol=0, atol=1e-4)
        normalised = (_hwc(sample) - IMAGENET_MEAN.astype(np.float64)) / IMAGENET_STD.astype(np.float64)
        np.testing.assert_allclose(batch["image"][n].permute(1, 2, 0).numpy(), normalised, rtol=0, atol=1e-5)
    assert batch["target_weight"].sum() > 0


def test_unlabelled_samples_get_zero_targets(synth_dir):
    dataset, data = _datasets(synth_dir, (96, 128), fast=True, labelled=False)
    batch = prepare_batch(default_collate([dataset[(i, i)] for i in range(4)]), data, "cpu")
    assert batch["heatmaps"].abs().max() == 0 and batch["target_weight"].abs().max() == 0
    assert batch["image"].dtype == torch.float32 and batch["keypoints"].abs().max() == 0


def test_prepare_batch_keeps_float_images_and_sets_the_memory_format():
    images = torch.randn(2, 3, 8, 6)
    prepared = prepare_batch({"image": images, "image_id": torch.arange(2)}, None, "cpu", torch.channels_last)
    torch.testing.assert_close(prepared["image"], images)
    assert prepared["image"].is_contiguous(memory_format=torch.channels_last) and "heatmaps" not in prepared


# ------------------------------------------------------------------------------- the reader


def _jpeg(path: Path, pixels: np.ndarray, **options) -> Path:
    Image.fromarray(pixels).save(path, quality=90, **options)
    return path


def _smooth_rgb(height=120, width=200, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 20, width // 20, 3)).astype(np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_reduced_reader_gives_pils_dct_scaled_pixels(tmp_path, mode):
    path = _jpeg(tmp_path / "a.jpg", np.asarray(Image.fromarray(_smooth_rgb()).convert(mode)))
    for factor in (1, 2, 4, 8):
        pixels, got = read_image_rgb_reduced(path, factor)
        with Image.open(path) as image:
            image.draft(mode, (200 // factor, 120 // factor))
            expected = np.asarray(image.convert("RGB"))
        assert got == factor and pixels.shape == (-(-120 // factor), -(-200 // factor), 3)
        np.testing.assert_array_equal(pixels, expected)
    np.testing.assert_array_equal(read_image_rgb_reduced(path, 1)[0], read_image_rgb(path))
    assert read_image_rgb_reduced(path, 3)[1] == 2  # the largest power of two allowed


def test_files_that_cannot_be_reduced_are_read_whole(tmp_path):
    rgb = _smooth_rgb()
    png = tmp_path / "a.png"
    Image.fromarray(rgb).save(png)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: decoded whole, then turned upright as read_image_rgb does
    rotated = _jpeg(tmp_path / "r.jpg", rgb, exif=exif.tobytes())
    for path in (png, rotated):
        pixels, factor = read_image_rgb_reduced(path, 8)
        assert factor == 1
        np.testing.assert_array_equal(pixels, read_image_rgb(path))
    cmyk = tmp_path / "c.jpg"
    Image.fromarray(rgb).convert("CMYK").save(cmyk, quality=90)  # PIL's converter, reduced
    pixels, factor = read_image_rgb_reduced(cmyk, 2)
    assert factor == 2 and pixels.shape == (60, 100, 3)


def test_broken_jpegs_raise_the_same_errors(tmp_path):
    data = (_jpeg(tmp_path / "a.jpg", _smooth_rgb())).read_bytes()
    truncated = tmp_path / "t.jpg"
    truncated.write_bytes(data[: int(len(data) * 0.7)])
    for path in (truncated, tmp_path / "missing.jpg"):
        with pytest.raises(ImageReadError) as plain:
            read_image_rgb(path)
        with pytest.raises(ImageReadError) as reduced:
            read_image_rgb_reduced(path, 4)
        assert str(reduced.value) == str(plain.value) and str(path) in str(plain.value)


def test_unlabelled_stream_carries_no_labels(synth_dir):
    """data.unlabelled may point at an annotated json (LSPET): only its boxes may be used."""
    from semipose.data.build import build_datasets
    config = load_config(None, [f"data.train.images={synth_dir}/images/train",
                                f"data.train.json={synth_dir}/annotations/train.json",
                                f"data.val.images={synth_dir}/images/val",
                                f"data.val.json={synth_dir}/annotations/val.json",
                                f"data.unlabelled.images={synth_dir}/images/train",
                                f"data.unlabelled.json={synth_dir}/annotations/train.json",
                                "data.num_labelled=8", "data.half_body_prob=1.0", "data.input_size=[48,64]"])
    bundle = build_datasets(config.data, seed=0, need_unlabelled=True)
    labelled, unlabelled = bundle.labelled[(0, 0)], bundle.unlabelled[(0, 0)]
    assert labelled["keypoints"][:, 2].sum() > 0 and labelled["target_weight"].sum() > 0
    assert unlabelled["keypoints"].abs().sum() == 0 and unlabelled["target_weight"].sum() == 0
    assert unlabelled["image"].float().std() > 0    # the person's crop is still there
