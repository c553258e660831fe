"""Decode only a region of a JPEG, through the optional C helper `_jpeg_region` (setup.py).

A person crop reads a fraction of the picture; libjpeg-turbo can leave out the rows above the
region, the iMCU columns beside it and everything below it, and decode at 1/2, 1/4 or 1/8 on top.
The helper is compiled against the system libjpeg when semipose is installed; where that was
not possible, `available()` is False and the callers decode the whole JPEG (same pixels, more
time). `python -m semipose.data.jpeg_region` prints which one this installation uses.
"""
from __future__ import annotations

import contextlib
import ctypes
import importlib.machinery
import logging
import os
from pathlib import Path
from typing import Optional

import numpy as np

_MESSAGE_SIZE = 200
log = logging.getLogger("semipose")


def _load_decoder():
    folder = Path(__file__).resolve().parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        library_path = folder / f"_jpeg_region{suffix}"
        if library_path.exists():
            try:
                decode = ctypes.CDLL(str(library_path)).semipose_decode_jpeg_region
            except (OSError, AttributeError):  # e.g. built against a libjpeg since removed
                return None
            decode.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                               ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
            decode.restype = ctypes.c_int
            return decode
    return None


# SEMIPOSE_JPEG_REGION=0 turns the helper off (whole-JPEG decoding), e.g. to rule it out when
# hunting a data problem.
_DECODE = _load_decoder() if os.environ.get("SEMIPOSE_JPEG_REGION", "1") != "0" else None


def available() -> bool:
    return _DECODE is not None


@contextlib.contextmanager
def disabled():
    """Decode whole JPEGs inside this block (benchmarks and tests of the fallback path)."""
    global _DECODE
    saved, _DECODE = _DECODE, None
    try:
        yield
    finally:
        _DECODE = saved


# libjpeg's warnings for damaged entropy data (jerror.h JWRN_*): it pads or guesses and goes on,
# so a full decode of such a file is silently wrong. They make the file a bad sample.
_CORRUPT_DATA_WARNINGS = ("Corrupt JPEG data", "Premature end of JPEG file", "Invalid SOS parameters",
                          "Huffman", "JPEG datastream contains no image")


class CorruptJPEG(ValueError):
    """libjpeg reported damaged image data (the message is its warning)."""


def decode_jpeg_region(data: np.ndarray, factor: int, region) -> Optional[np.ndarray]:
    """The (h, w, 3) uint8 RGB pixels of `region` = (x, y, w, h) of the JPEG in `data` (uint8 file
    bytes) decoded at 1/`factor` (region in those reduced pixels, inside ceil(W / f) x ceil(H / f)).
    They equal the full decode's pixels there (tests/test_jpeg_region.py). None when the helper
    is missing or libjpeg refuses (corrupt data, CMYK, a region outside the image): the caller
    then decodes the file its usual way, which also reports a broken file by name. CorruptJPEG
    when libjpeg warned of damaged data (what a plain decode would turn into wrong pixels)."""
    if _DECODE is None:
        return None
    x, y, width, height = (int(v) for v in region)
    data = np.ascontiguousarray(data, dtype=np.uint8)
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    message = ctypes.create_string_buffer(_MESSAGE_SIZE)
    status = _DECODE(data.ctypes.data, data.size, int(factor), x, y, width, height, pixels.ctypes.data,
                     message, _MESSAGE_SIZE)
    if status != 0:
        text = message.value.decode(errors="replace")
        if any(warning in text for warning in _CORRUPT_DATA_WARNINGS):
            raise CorruptJPEG(text)
        log.debug("region decode refused (%s); decoding the whole file", text)  # CMYK and the like
        return None
    return pixels


if __name__ == "__main__":
    print("region-of-interest JPEG decoding:", "available (C helper built)" if available() else
          "off (SEMIPOSE_JPEG_REGION=0)" if _load_decoder() else
          "NOT available (C helper not built: it needs a C compiler and the libjpeg headers when "
          "semipose is installed); semipose decodes whole JPEGs")
