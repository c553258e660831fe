"""Region-of-interest JPEG decoding gives the full decode's pixels, and the crops built on it
read only inside `geometry.source_window`.

Reference: OpenCV's full decode (cv2.imdecode, at 1/f with IMREAD_REDUCED_*), cut to the region.
Bound: identical (0 grey levels) for every chroma subsampling, greyscale, progressive files and
restart markers, at f = 1, 2, 4, 8, for regions anywhere (edges and iMCU boundaries included).
"""
import io

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from semipose import geometry
from semipose.data import jpeg_region
from semipose.data.errors import ImageReadError
from semipose.data.images import read_image_rgb, read_image_rgb_window
from tests.conftest import SHARED_DATA

needs_helper = pytest.mark.skipif(not jpeg_region.available(),
                                  reason="C helper _jpeg_region not built (no compiler or libjpeg headers)")
REDUCED = {1: cv2.IMREAD_COLOR_RGB, 2: cv2.IMREAD_COLOR_RGB | cv2.IMREAD_REDUCED_GRAYSCALE_2,
           4: cv2.IMREAD_COLOR_RGB | cv2.IMREAD_REDUCED_GRAYSCALE_4,
           8: cv2.IMREAD_COLOR_RGB | cv2.IMREAD_REDUCED_GRAYSCALE_8}


def _picture(width: int = 203, height: int = 157, seed: int = 0) -> np.ndarray:
    """Smooth colour ramps with sharp-edged blocks and noise: chroma changes at every scale."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    picture = np.stack([xs * 255 / width, ys * 255 / height, (xs + ys) % 97 * 2.6], axis=2)
    for _ in range(12):
        x, y = rng.integers(0, width - 8), rng.integers(0, height - 8)
        picture[y:y + rng.integers(3, 30), x:x + rng.integers(3, 30)] = rng.integers(0, 256, 3)
    return np.clip(picture + rng.normal(0, 6, picture.shape), 0, 255).astype(np.uint8)


def _jpeg(picture: np.ndarray, mode: str = "RGB", **options) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(picture).convert(mode).save(buffer, "JPEG", quality=90, **options)
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)


ENCODINGS = {"4:4:4": {"subsampling": 0}, "4:2:2": {"subsampling": 1}, "4:2:0": {"subsampling": 2},
             "progressive 4:2:0": {"subsampling": 2, "progressive": True}, "greyscale": {"mode": "L"}}


@needs_helper
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("factor", [1, 2, 4, 8])
def test_region_pixels_are_the_full_decode_pixels(encoding, factor):
    options = dict(ENCODINGS[encoding])
    data = _jpeg(_picture(), options.pop("mode", "RGB"), **options)
    full = cv2.imdecode(data, REDUCED[factor])
    height, width = full.shape[:2]
    rng = np.random.default_rng(factor)
    regions = [(0, 0, width, height), (0, 0, 1, 1), (width - 1, height - 1, 1, 1)]
    regions += [(x, y, min(17, width - x), min(9, height - y)) for x in (7, 8, 15, 16) for y in (0, 8, 16)
                if x < width and y < height]  # starts at and around iMCU boundaries
    for _ in range(30):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        regions.append((x, y, int(rng.integers(1, width - x + 1)), int(rng.integers(1, height - y + 1))))
    for x, y, w, h in regions:
        pixels = jpeg_region.decode_jpeg_region(data, factor, (x, y, w, h))
        np.testing.assert_array_equal(pixels, full[y:y + h, x:x + w], err_msg=f"region {(x, y, w, h)}")


@needs_helper
def test_restart_markers_and_large_pictures_decode_the_same():
    picture = _picture(640, 480, seed=1)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", quality=85, restart_marker_blocks=4)
    data = np.frombuffer(buffer.getvalue(), dtype=np.uint8)
    full = cv2.imdecode(data, REDUCED[1])
    np.testing.assert_array_equal(jpeg_region.decode_jpeg_region(data, 1, (301, 233, 120, 200)),
                                  full[233:433, 301:421])


@needs_helper
def test_damaged_data_raises_and_what_libjpeg_refuses_comes_back_as_none():
    data = _jpeg(_picture())
    cut = data[: len(data) // 2]  # truncated: libjpeg would pad with grey and only warn
    corrupt = data.copy()
    corrupt[len(data) // 2: len(data) // 2 + 40] = 0x55
    cmyk = _jpeg(_picture(), "CMYK")
    for damaged, region in ((cut, (0, 150, 10, 7)), (corrupt, (0, 0, 203, 157))):
        with pytest.raises(jpeg_region.CorruptJPEG):  # a bad sample, not a file to decode another way
            jpeg_region.decode_jpeg_region(damaged, 1, region)
    assert jpeg_region.decode_jpeg_region(cmyk, 1, (0, 0, 10, 10)) is None
    assert jpeg_region.decode_jpeg_region(data, 1, (200, 0, 10, 10)) is None  # past the right edge
    assert jpeg_region.decode_jpeg_region(data, 2, (0, 0, 102, 80)) is None   # 1/2 size is 102 x 79
    assert jpeg_region.decode_jpeg_region(data, 2, (0, 0, 102, 79)) is not None


@settings(max_examples=60, deadline=None)
@given(rotation=st.floats(-180, 180), scale=st.floats(0.2, 3.0), cx=st.floats(-30, 230),
       cy=st.floats(-30, 190), flip=st.booleans())
def test_the_warp_reads_nothing_outside_the_source_window(rotation, scale, cx, cy, flip):
    picture = _picture()
    affine = geometry.crop_affine((cx, cy), (48 * scale, 64 * scale), rotation, (48, 64), flip=flip)
    x0, y0, x1, y1 = geometry.source_window(affine, (48, 64))
    scrambled = 255 - picture  # every pixel changed ...
    rows, columns = np.mgrid[0:picture.shape[0], 0:picture.shape[1]]
    inside = (columns >= x0) & (columns <= x1) & (rows >= y0) & (rows <= y1)
    scrambled[inside] = picture[inside]  # ... except inside the window
    np.testing.assert_array_equal(geometry.warp_image(scrambled, affine, (48, 64)),
                                  geometry.warp_image(picture, affine, (48, 64)))


@pytest.mark.parametrize("max_factor", [1, 2, 4])
def test_window_read_gives_the_crop_of_the_whole_image(tmp_path, max_factor):
    path = tmp_path / "person.jpg"
    path.write_bytes(_jpeg(_picture(640, 480, seed=2)).tobytes())
    affine = geometry.crop_affine((330.0, 250.0), (150.0, 200.0), 30.0, (48, 64))
    pixels, image_to_pixels = read_image_rgb_window(path, max_factor, geometry.source_window(affine, (48, 64)))
    if jpeg_region.available():
        assert pixels.shape[0] * pixels.shape[1] < 0.5 * (480 // max_factor) * (640 // max_factor)
    crop = geometry.warp_image(pixels, geometry.compose(affine, geometry.invert(image_to_pixels)), (48, 64))
    if max_factor == 1:
        reference = geometry.warp_image(read_image_rgb(path), affine, (48, 64))
    else:  # the reduced full decode, warped the same way
        full_reduced = cv2.imdecode(np.fromfile(path, dtype=np.uint8), REDUCED[max_factor])
        to_reduced = np.array([[1 / max_factor, 0, 0.5 / max_factor - 0.5], [0, 1 / max_factor, 0.5 / max_factor - 0.5]])
        reference = geometry.warp_image(full_reduced, geometry.compose(affine, geometry.invert(to_reduced)),
                                        (48, 64))
    difference = np.abs(crop.astype(int) - reference)
    assert difference.max() <= 1 and (difference > 0).mean() < 1e-2


def test_window_read_of_broken_or_other_files(tmp_path):
    jpeg = _jpeg(_picture(640, 480))
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(jpeg[: len(jpeg) * 2 // 3].tobytes())
    with pytest.raises(ImageReadError, match="truncated.jpg"):  # as the whole-image reader does
        read_image_rgb_window(truncated, 1, (0, 0, 20, 20))
    png = tmp_path / "picture.png"
    Image.fromarray(_picture()).save(png)
    pixels, image_to_pixels = read_image_rgb_window(png, 4, (10, 10, 30, 30))
    np.testing.assert_array_equal(pixels, read_image_rgb(png))  # not a JPEG: the whole picture
    np.testing.assert_allclose(image_to_pixels, np.eye(3)[:2])


def test_without_the_helper_the_window_read_is_the_whole_reduced_image(tmp_path):
    path = tmp_path / "person.jpg"
    path.write_bytes(_jpeg(_picture(640, 480, seed=3)).tobytes())
    with jpeg_region.disabled():
        assert not jpeg_region.available()
        pixels, image_to_pixels = read_image_rgb_window(path, 2, (100, 100, 200, 200))
    np.testing.assert_array_equal(pixels, cv2.imdecode(np.fromfile(path, dtype=np.uint8), REDUCED[2]))
    np.testing.assert_allclose(image_to_pixels, [[0.5, 0, -0.25], [0, 0.5, -0.25]])


@needs_helper
@pytest.mark.shared_data
def test_real_coco_photos_decode_the_same_in_any_region():
    folder = SHARED_DATA / "coco_mini" / "val2017"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present (real photos exist only on the project's machines)")
    rng = np.random.default_rng(0)
    checked = 0
    for path in sorted(folder.glob("*.jpg"))[:40]:
        data = np.fromfile(path, dtype=np.uint8)
        for factor in (1, 2):
            full = cv2.imdecode(data, REDUCED[factor] | cv2.IMREAD_IGNORE_ORIENTATION)
            height, width = full.shape[:2]
            x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
            w, h = int(rng.integers(1, width - x + 1)), int(rng.integers(1, height - y + 1))
            pixels = jpeg_region.decode_jpeg_region(data, factor, (x, y, w, h))
            if pixels is None:  # CMYK or damaged: the caller decodes whole
                continue
            np.testing.assert_array_equal(pixels, full[y:y + h, x:x + w], err_msg=f"{path.name} {(x, y, w, h)}")
            checked += 1
    assert checked >= 60


@needs_helper
def test_a_refused_region_says_why_at_debug_level(caplog):
    with caplog.at_level("DEBUG", logger="semipose"):
        assert jpeg_region.decode_jpeg_region(_jpeg(_picture()), 1, (200, 0, 10, 10)) is None
    assert "not inside the 203x157 image" in caplog.text
