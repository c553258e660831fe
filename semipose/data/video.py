"""Video files in and out with OpenCV: RGB frames from any file OpenCV's FFmpeg back end reads,
and an mp4 writer for the drawn result."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

import cv2
import numpy as np

PathLike = Union[str, Path]
DEFAULT_FPS = 25.0  # for files that do not say their frame rate


class VideoReadError(ValueError):
    """A video file that is missing or that OpenCV cannot decode."""


class VideoInfo:
    def __init__(self, path: PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoReadError(f"{self.path}: no such video file")
        capture = cv2.VideoCapture(str(self.path))
        try:
            if not capture.isOpened():
                raise VideoReadError(f"{self.path}: OpenCV cannot open this file as a video")
            fps = capture.get(cv2.CAP_PROP_FPS)
            self.fps = fps if np.isfinite(fps) and fps > 0 else DEFAULT_FPS
            self.frame_count = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))  # an estimate for some codecs
            self.size_wh = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        finally:
            capture.release()


def read_frames(path: PathLike) -> Iterator[np.ndarray]:
    """The RGB uint8 (H, W, 3) frames of a video, in order."""
    info = VideoInfo(path)
    capture = cv2.VideoCapture(str(info.path))
    try:
        count = 0
        while True:
            ok, frame_bgr = capture.read()
            if not ok:
                break
            count += 1
            yield cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        if count == 0:
            raise VideoReadError(f"{info.path}: OpenCV decoded no frame from this video")
    finally:
        capture.release()


class VideoWriter:
    """RGB frames -> an mp4 (MPEG-4 part 2, which OpenCV's wheels can always write)."""

    def __init__(self, path: PathLike, fps: float, size_wh: tuple[int, int]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), fps, tuple(size_wh))
        if not self._writer.isOpened():
            raise OSError(f"{self.path}: OpenCV cannot write an mp4 video here")

    def write(self, frame_rgb: np.ndarray) -> None:
        self._writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self._writer.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
