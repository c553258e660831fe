"""Image reading: cv2.imread is the reference for orientation and bit-depth handling."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from semipose.data.errors import ImageReadError
from semipose.data.images import image_size, read_image_rgb

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _blocky_rgb(height=48, width=80, seed=0):
    """8x8-pixel blocks of random colour: exact through PNG, near-exact through JPEG."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
    return np.kron(blocks, np.ones((8, 8, 1), np.uint8))


def _cv2_rgb(path, flags=cv2.IMREAD_COLOR):
    return cv2.imread(str(path), flags)[:, :, ::-1]


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_exif_orientation_matches_cv2_imread(tmp_path, orientation, suffix):
    path = tmp_path / f"o{orientation}{suffix}"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(_blocky_rgb()).save(path, exif=exif.tobytes(), quality=100)
    upright = read_image_rgb(path)
    np.testing.assert_array_equal(upright, _cv2_rgb(path))
    assert image_size(path) == (upright.shape[1], upright.shape[0])
    raw = read_image_rgb(path, apply_exif=False)
    ignoring = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    np.testing.assert_array_equal(raw, _cv2_rgb(path, ignoring))
    assert image_size(path, apply_exif=False) == (80, 48)


def test_sixteen_bit_images_match_cv2(tmp_path):
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 65536, (20, 30), dtype=np.uint16)
    colour = rng.integers(0, 65536, (20, 30, 3), dtype=np.uint16)
    for name, pixels in (("grey16.png", grey), ("colour16.png", colour)):
        cv2.imwrite(str(tmp_path / name), pixels)
        image = read_image_rgb(tmp_path / name)
        assert image.dtype == np.uint8 and image.shape == (20, 30, 3)
        np.testing.assert_array_equal(image, _cv2_rgb(tmp_path / name))


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "1"])
def test_other_modes_become_rgb_like_cv2(tmp_path, mode):
    path = tmp_path / f"image_{mode}.png"
    Image.fromarray(_blocky_rgb()).convert(mode).save(path)
    image = read_image_rgb(path)
    assert image.shape == (48, 80, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image, _cv2_rgb(path))


@pytest.mark.parametrize("mode, scale", [("I", 1), ("I", 256), ("F", 1), ("F", 1 / 255)])
def test_32_bit_tiffs_hold_8_bit_16_bit_or_unit_range_values(tmp_path, mode, scale):
    # cv2 cannot read these, so the reference is the grey values themselves.
    grey = _blocky_rgb()[:, :, 0]
    path = tmp_path / "wide.tif"
    Image.fromarray((grey.astype(np.float64) * scale).astype(
        np.int32 if mode == "I" else np.float32), mode).save(path)
    # x256 is 16-bit data (keeps its high byte), x1/255 unit-range floats: both give grey back.
    np.testing.assert_array_equal(read_image_rgb(path), np.repeat(grey[:, :, None], 3, 2))


def test_cmyk_jpeg_is_converted(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(_blocky_rgb()).convert("CMYK").save(path, quality=100)
    image = read_image_rgb(path)
    assert image.shape == (48, 80, 3)
    assert np.abs(image.astype(int) - _blocky_rgb().astype(int)).mean() < 8


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_unreadable_files_raise_image_read_error_naming_the_file(tmp_path):
    good = tmp_path / "good.jpg"
    Image.fromarray(_blocky_rgb(480, 640)).save(good)
    cases = {
        "file not found": tmp_path / "missing.jpg",
        "empty file": _write(tmp_path / "empty.jpg", b""),
        "not an image": _write(tmp_path / "text.jpg", b"hello, I am not a JPEG"),
        "cannot decode": _write(tmp_path / "cut.jpg", good.read_bytes()[:20000]),
        "directory": tmp_path,
    }
    for reason, path in cases.items():
        with pytest.raises(ImageReadError, match=reason) as caught:
            read_image_rgb(path)
        assert str(path) in str(caught.value)
    for reason in ("file not found", "empty file", "not an image"):
        with pytest.raises(ImageReadError, match=reason):
            image_size(cases[reason])


def test_pixel_limit_refuses_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(_blocky_rgb()).save(path)
    with pytest.raises(ImageReadError, match="max_pixels"):
        read_image_rgb(path, max_pixels=48 * 80 - 1)
    assert read_image_rgb(path, max_pixels=48 * 80).shape == (48, 80, 3)


@pytest.mark.shared_data
def test_real_lsp_image_agrees_with_cv2_and_header():
    path = DATA / "lsp" / "images" / "im0001.jpg"
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    image = read_image_rgb(path)
    np.testing.assert_array_equal(image, _cv2_rgb(path))
    assert image_size(path) == (image.shape[1], image.shape[0])
