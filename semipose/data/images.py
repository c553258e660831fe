"""Reading images as uint8 RGB arrays, and their sizes from the header alone.

EXIF orientation policy: by default the EXIF orientation tag IS applied, exactly as
`cv2.imread` does with its default flags. HRNet, mmpose and the paper's code load COCO with
`cv2.imread`, so the annotations they train and evaluate on refer to the EXIF-rotated pixel
grid; applying the tag here keeps our pixels on that same grid. Pass `apply_exif=False` for a
dataset annotated on the raw stored pixels (cv2's IMREAD_IGNORE_ORIENTATION). A corrupt EXIF
block is treated as "no orientation" (cv2 also ignores it) rather than as an unreadable image.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Union

import cv2
import numpy as np
from PIL import Image

from semipose import geometry
from semipose.data import jpeg_region
from semipose.data.errors import ImageReadError

DEFAULT_MAX_PIXELS = 100_000_000
_EXIF_ORIENTATION_TAG = 0x0112
# The transposition that turns the stored pixels upright, per EXIF orientation value
# (the same table as PIL.ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = {5, 6, 7, 8}
# Decoding errors PIL raises for broken files (UnidentifiedImageError is an OSError;
# truncated data raises OSError on load; some plugins raise SyntaxError or ValueError).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def read_image_rgb(path: Union[str, Path], apply_exif: bool = True,
                   max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an image file to a (H, W, 3) uint8 RGB array.

    Greyscale is repeated to 3 channels, alpha is dropped (as cv2.imread does), palette and
    CMYK images are converted, 16-bit data keeps its high byte (cv2's 16->8-bit rule).
    Raises ImageReadError naming the file for a missing, empty, truncated, non-image or
    larger-than-`max_pixels` file.
    """
    path = Path(path)
    with _open(path, max_pixels) as image:
        return _decode(path, image, apply_exif)


def read_image_rgb_reduced(path: Union[str, Path], max_factor: int, apply_exif: bool = True,
                           max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, int]:
    """(pixels, f): the image decoded at 1/f of its size, f the largest of 1, 2, 4, 8 <= `max_factor`.

    JPEG's DCT scaling decodes a reduced image for a fraction of the full cost: reduced pixel
    (x, y) is the (near-)average of full pixels f x .. f x + f - 1, i.e. the same region at lower
    resolution (`reduction_affine(f)` maps full-image pixels onto it; it is block-exact from the
    top-left corner, the last row/column may cover fewer pixels). Other formats, and JPEGs whose
    EXIF orientation must be applied, are read at full size (f = 1). Pixels at f = 1 are exactly
    those of `read_image_rgb`; errors are the same ImageReadError messages.
    """
    path = Path(path)
    with _open(path, max_pixels) as image:
        reducible, factor = _reduction_plan(image, max_factor, apply_exif)
        return _read_reduced(path, image, reducible, factor, apply_exif)


def read_image_rgb_window(path: Union[str, Path], max_factor: int, window, apply_exif: bool = True,
                          max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, np.ndarray]:
    """(pixels, image_to_pixels): the part of the image inside `window` = (x0, y0, x1, y1) (full-image
    pixels, e.g. `geometry.source_window` of a crop), decoded at 1/f as `read_image_rgb_reduced`,
    and the 2x3 affine from full-image pixels to the returned array's.

    Only JPEGs are cut, by region-of-interest decoding (semipose.data.jpeg_region); where that is
    unavailable, for other formats and for files that need an EXIF turn, the returned pixels are
    the whole (reduced) image. A warp through `image_to_pixels` gives the same crop either way.
    """
    path = Path(path)
    with _open(path, max_pixels) as image:
        reducible, factor = _reduction_plan(image, max_factor, apply_exif)
        if reducible and image.mode in ("RGB", "L") and jpeg_region.available():
            region = _pixel_region(window, image.size, factor)
            data = _complete_jpeg_bytes(path)
            pixels = None if region is None or data is None else _checked_region(path, data, factor, region)
            if pixels is not None:
                shift = np.array([[1.0, 0.0, -region[0]], [0.0, 1.0, -region[1]]])
                return pixels, geometry.compose(shift, reduction_affine(factor))
        pixels, factor = _read_reduced(path, image, reducible, factor, apply_exif)
        return pixels, reduction_affine(factor)


def _reduction_plan(image: Image.Image, max_factor: int, apply_exif: bool) -> tuple[bool, int]:
    """(reducible, f): DCT scaling applies to JPEGs that need no EXIF turn; f as _reduction_factor."""
    reducible = image.format == "JPEG" and (not apply_exif or _exif_orientation(image) == 1)
    return reducible, (_reduction_factor(image.size, max_factor) if reducible else 1)


def _read_reduced(path: Path, image: Image.Image, reducible: bool, factor: int,
                  apply_exif: bool) -> tuple[np.ndarray, int]:
    if reducible and image.mode in ("RGB", "L"):
        pixels = _decode_complete_jpeg(path, image.size, factor)
        if pixels is not None:
            return pixels, factor
    if factor > 1:
        image.draft(image.mode, (image.width // factor, image.height // factor))
        factor = int(image.decoderconfig[0]) if image.decoderconfig else 1
    return _decode(path, image, apply_exif), factor


def _pixel_region(window, size: tuple[int, int], factor: int):
    """(x, y, w, h) in pixels of the 1/factor image covering `window` (full-image pixels), clipped
    to that image's ceil(W / f) x ceil(H / f); None when nothing of the window is inside."""
    (x0, y0), (x1, y1) = geometry.apply_to_points(reduction_affine(factor), np.reshape(window, (2, 2)))
    width, height = (-(-side // factor) for side in size)
    left, top = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    right, bottom = min(int(np.ceil(x1)) + 1, width), min(int(np.ceil(y1)) + 1, height)
    if right <= left or bottom <= top:
        return None
    return left, top, right - left, bottom - top


def reduction_affine(factor: int) -> np.ndarray:
    """Full-image pixels -> pixels of an image decoded at 1/factor: x_red = (x + 0.5) / f - 0.5
    (pixel centres at integers, docs/architecture.md)."""
    return np.array([[1.0 / factor, 0.0, 0.5 / factor - 0.5], [0.0, 1.0 / factor, 0.5 / factor - 0.5]])


def image_size(path: Union[str, Path], apply_exif: bool = True,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """(width, height) from the file header, without decoding the pixels; with
    apply_exif=True it is the size `read_image_rgb` returns (90-degree tags swap w and h)."""
    path = Path(path)
    with _open(path, max_pixels) as image:
        width, height = image.size
        if apply_exif and _exif_orientation(image) in _SWAPS_AXES:
            width, height = height, width
    return width, height


def _open(path: Path, max_pixels: int) -> Image.Image:
    if not path.exists():
        raise ImageReadError(path, "file not found")
    if path.is_dir():
        raise ImageReadError(path, "is a directory, not an image file")
    if path.stat().st_size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit below replaces PIL's global decompression-bomb guard.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.UnidentifiedImageError:
        raise ImageReadError(path, "not an image file (unknown or broken header)") from None
    except _DECODE_ERRORS as error:
        raise ImageReadError(path, f"cannot open ({error})") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise ImageReadError(path, f"header gives an empty size {width}x{height}")
    if width * height > max_pixels:
        image.close()
        raise ImageReadError(path, f"{width}x{height} = {width * height} pixels exceeds the "
                             f"limit of {max_pixels} (max_pixels); refusing to decode")
    return image


def _decode(path: Path, image: Image.Image, apply_exif: bool) -> np.ndarray:
    try:
        image.load()
        orientation = _exif_orientation(image) if apply_exif else 1
        upright = image.transpose(_UPRIGHT[orientation]) if orientation in _UPRIGHT else image
        pixels = _to_rgb_array(upright)
    except _DECODE_ERRORS as error:
        raise ImageReadError(path, f"cannot decode ({error})") from None
    return np.ascontiguousarray(pixels)


def _reduction_factor(size: tuple[int, int], max_factor: int) -> int:
    """The largest DCT scale 1, 2, 4 or 8 <= max_factor that leaves at least one pixel per side."""
    for factor in (8, 4, 2):
        if factor <= max_factor and min(size) >= factor:
            return factor
    return 1


# OpenCV's JPEG reader (libjpeg-turbo, like PIL's) decodes straight into a packed RGB array,
# faster than PIL's 4-byte-per-pixel storage; the pixels are identical (tests/test_fast_pipeline.py).
_CV2_RGB = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION
_CV2_FLAGS = {1: _CV2_RGB, 2: _CV2_RGB | cv2.IMREAD_REDUCED_GRAYSCALE_2,  # the reduction bits only;
              4: _CV2_RGB | cv2.IMREAD_REDUCED_GRAYSCALE_4,               # colour comes from _CV2_RGB
              8: _CV2_RGB | cv2.IMREAD_REDUCED_GRAYSCALE_8}


def _decode_complete_jpeg(path: Path, size: tuple[int, int], factor: int):
    """The decoded pixels, or None for a file that does not end with the JPEG end-of-image marker.
    Through the region helper (the whole image as its region) where it is built, since OpenCV
    hides libjpeg's corrupt-data warnings; OpenCV where the helper is missing or declines."""
    data = _complete_jpeg_bytes(path)
    if data is None:
        return None
    whole = (0, 0, -(-size[0] // factor), -(-size[1] // factor))
    pixels = _checked_region(path, data, factor, whole) if jpeg_region.available() else None
    return pixels if pixels is not None else cv2.imdecode(data, _CV2_FLAGS[factor])


def _checked_region(path: Path, data: np.ndarray, factor: int, region):
    try:
        return jpeg_region.decode_jpeg_region(data, factor, region)
    except jpeg_region.CorruptJPEG as error:
        raise ImageReadError(path, f"corrupt JPEG data ({error}): it would decode as wrong pixels") from None


def _complete_jpeg_bytes(path: Path):
    """The file's bytes, or None when they do not end with the JPEG end-of-image marker: OpenCV and
    a region decode would use a truncated file (grey-padded, or cut before the damage) where PIL
    raises, so those files go through PIL and fail with its message."""
    data = np.fromfile(path, dtype=np.uint8)
    if len(data) < 4 or data[-2] != 0xFF or data[-1] != 0xD9:
        return None
    return data


def _exif_orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
        return int(value) if int(value) in _UPRIGHT else 1
    except Exception:  # a corrupt EXIF block: behave like a file without the tag
        return 1


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    if image.mode.startswith("I;16"):
        return _repeat_grey((np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8))
    if image.mode == "I":
        return _repeat_grey(_int32_to_eight_bit(np.asarray(image)))
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        scale = 255.0 if np.nanmax(values, initial=0.0) <= 1.0 else 1.0
        return _repeat_grey(np.clip(np.nan_to_num(values) * scale, 0, 255).round().astype(np.uint8))
    if image.mode == "L":
        return _repeat_grey(np.asarray(image))
    if image.mode == "RGB":  # convert("RGB") would copy first, and then read back ~2x slower
        return np.asarray(image)
    # RGBA, LA, P, PA, CMYK, YCbCr, 1, ...: PIL's converter handles each; alpha is dropped.
    return np.asarray(image.convert("RGB"))


def _int32_to_eight_bit(values: np.ndarray) -> np.ndarray:
    """Mode "I" holds 32-bit ints of unknown depth: 8-bit data is kept, else it is read as
    16-bit data (clipped to 0..65535) and keeps its high byte."""
    values = values.astype(np.int64)
    if values.max(initial=0) <= 255 and values.min(initial=0) >= 0:
        return values.astype(np.uint8)
    return (np.clip(values, 0, 65535) >> 8).astype(np.uint8)


def _repeat_grey(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[:, :, None], 3, axis=2)
