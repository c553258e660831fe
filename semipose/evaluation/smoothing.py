"""Temporal smoothing of video keypoints: the One-Euro filter (Casiez, Roussel, Vogel, CHI 2012)
and a small IoU tracker that gives each person in a video their own filter.

The One-Euro filter is a low-pass filter whose cut-off rises with speed: still joints are
smoothed hard (jitter removed), fast ones lightly (little lag). For a sample x at time step dt:

    alpha(f) = 1 / (1 + 1 / (2 pi f dt))
    dx_hat   = alpha(d_cutoff) (x - x_hat_prev) / dt + (1 - alpha(d_cutoff)) dx_hat_prev
    f        = min_cutoff + beta |dx_hat|
    x_hat    = alpha(f) x + (1 - alpha(f)) x_hat_prev

with x_hat = x and dx_hat = 0 at the first sample."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from semipose.data.person_detector import box_iou


def smoothing_factor(cutoff_hz, dt: float):
    """alpha of an exponential filter with this cut-off frequency at sampling interval dt."""
    return 1.0 / (1.0 + 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz) * dt))


@dataclass
class OneEuroFilter:
    """Filters arrays of one shape (e.g. (K, 2) keypoint coordinates), element-wise."""
    min_cutoff: float = 1.0   # Hz: lower = smoother when still
    beta: float = 0.05        # how fast the cut-off rises with speed (pixels/s): higher = less lag
    d_cutoff: float = 1.0     # Hz: cut-off of the speed estimate itself
    _value: Optional[np.ndarray] = None
    _speed: Optional[np.ndarray] = None

    def __call__(self, value: np.ndarray, dt: float) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        if self._value is None:
            self._value, self._speed = value.copy(), np.zeros_like(value)
            return value.copy()
        speed_alpha = smoothing_factor(self.d_cutoff, dt)
        self._speed = speed_alpha * (value - self._value) / dt + (1 - speed_alpha) * self._speed
        alpha = smoothing_factor(self.min_cutoff + self.beta * np.abs(self._speed), dt)
        self._value = alpha * value + (1 - alpha) * self._value
        return self._value.copy()


class KeypointSmoother:
    """Per-person One-Euro filters over a video. Each frame's people are matched to the previous
    frame's by box IoU (greedy, best overlap first, at least `min_iou`); a matched person continues
    its track and filter, an unmatched one starts a new track, tracks not seen in a frame end."""

    def __init__(self, fps: float, min_cutoff: float = 1.0, beta: float = 0.05, min_iou: float = 0.3):
        self.dt, self.min_iou = 1.0 / fps, min_iou
        self.filter_options = dict(min_cutoff=min_cutoff, beta=beta)
        self.tracks: dict[int, tuple[np.ndarray, OneEuroFilter]] = {}  # track id -> (box xyxy, filter)
        self.next_id = 0

    def __call__(self, boxes_xywh: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(M, 4) boxes and (M, K, 3) keypoints of one frame -> smoothed keypoints and (M,) track ids."""
        boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
        boxes_xyxy = np.column_stack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]])
        track_ids = self._match(boxes_xyxy)
        smoothed = np.array(keypoints, dtype=np.float64, copy=True)
        tracks = {}
        for person, track_id in enumerate(track_ids):
            one_euro = self.tracks[track_id][1] if track_id in self.tracks else OneEuroFilter(**self.filter_options)
            smoothed[person, :, :2] = one_euro(smoothed[person, :, :2], self.dt)
            tracks[track_id] = (boxes_xyxy[person], one_euro)
        self.tracks = tracks
        return smoothed.astype(np.float32), np.asarray(track_ids, dtype=np.int64)

    def _match(self, boxes_xyxy: np.ndarray) -> list[int]:
        previous_ids = list(self.tracks)
        track_ids: list[Optional[int]] = [None] * len(boxes_xyxy)
        if previous_ids and len(boxes_xyxy):
            overlap = box_iou(boxes_xyxy, np.stack([self.tracks[t][0] for t in previous_ids]))
            for flat in np.argsort(-overlap, axis=None, kind="stable"):
                person, previous = np.unravel_index(flat, overlap.shape)
                if overlap[person, previous] < self.min_iou:
                    break
                if track_ids[person] is None and previous_ids[previous] not in track_ids:
                    track_ids[person] = previous_ids[previous]
        for person, track_id in enumerate(track_ids):
            if track_id is None:
                track_ids[person], self.next_id = self.next_id, self.next_id + 1
        return track_ids
