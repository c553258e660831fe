"""The head: a small ray-cast of a skull sphere plus nose and ear spheres.

Each pixel of the head's patch is classified by the surface direction it sees, turned into
the head's own frame, so hair stays on the top and back, and eyes, mouth, nose and ears move
with where the head faces: front, back and the two profiles look different, which is what
makes a person's left and right decidable from the picture.
"""
from __future__ import annotations

import numpy as np

from semipose.data.synth.skeleton import EAR_DIRECTION, EYE_DIRECTION, NOSE_DIRECTION

HAIR_DIRECTION = np.array([0.0, 0.75, -0.66]) / np.linalg.norm([0.0, 0.75, -0.66])
LIGHT = np.array([-0.4, 0.6, 0.7]) / np.linalg.norm([-0.4, 0.6, 0.7])  # camera frame
_MIRROR = np.array([-1.0, 1.0, 1.0])
# Face marks in COCO order (nose, left eye, right eye, left ear, right ear).
FACE_DIRECTIONS = np.stack([NOSE_DIRECTION, EYE_DIRECTION, EYE_DIRECTION * _MIRROR,
                            EAR_DIRECTION, EAR_DIRECTION * _MIRROR])
# A mark is seen when its direction's camera-facing component exceeds this: the nose and the
# ears stick out of the skull, the eyes sit in it.
FACE_MIN_FACING = np.array([-0.2, 0.12, 0.12, -0.25, -0.25])
EYE_COS, IRIS_COS = np.cos(np.radians(10)), np.cos(np.radians(6))


def face_self_visible(head_frame_camera: np.ndarray) -> np.ndarray:
    """(5,) bool: which face marks face the camera enough to be seen (no other occluder)."""
    facing = (FACE_DIRECTIONS @ head_frame_camera.T)[:, 2]
    return facing > FACE_MIN_FACING


def _spheres(head_frame: np.ndarray, radius: float):
    """(centre in camera pixels with y up, radius) of skull, nose and both ears."""
    nose = (head_frame @ NOSE_DIRECTION * 0.97 * radius, 0.2 * radius)
    ears = [(head_frame @ (EAR_DIRECTION * mirror) * 0.93 * radius, 0.2 * radius)
            for mirror in (np.ones(3), _MIRROR)]
    return [(np.zeros(3), radius), nose] + ears


def _skull_colour(normal_head: np.ndarray, skin, look) -> np.ndarray:
    """Hair, eyes, mouth or skin from the direction in the head frame, (H, W, 3)."""
    colour = np.broadcast_to(np.asarray(skin, np.float32), normal_head.shape[:2] + (3,)).copy()
    hair = normal_head @ HAIR_DIRECTION > look.hair_cover
    colour[hair] = look.hair
    for mirror in (np.ones(3), _MIRROR):
        towards_eye = normal_head @ (EYE_DIRECTION * mirror)
        colour[towards_eye > EYE_COS] = (225, 225, 225)
        colour[towards_eye > IRIS_COS] = (40, 30, 30)
    nx, ny, nz = normal_head[..., 0], normal_head[..., 1], normal_head[..., 2]
    mouth = (np.abs(nx) < 0.2) & (ny > -0.55) & (ny < -0.43) & (nz > 0)
    colour[mouth] = (70, 70, 150)
    return colour


def draw_head(image, ids, centre_xy, head_frame: np.ndarray, radius: float, look,
              part_id: int) -> None:
    """Ray-cast the head (radius in pixels) at `centre_xy` into image and id buffer."""
    height, width = ids.shape
    half = int(np.ceil(1.4 * radius)) + 1
    cx, cy = float(centre_xy[0]), float(centre_xy[1])
    x0, y0 = max(int(cx) - half, 0), max(int(cy) - half, 0)
    x1, y1 = min(int(cx) + half + 1, width), min(int(cy) + half + 1, height)
    if x0 >= x1 or y0 >= y1:
        return
    dx = (np.arange(x0, x1, dtype=np.float32) - cx)[None, None, :]
    dy = -(np.arange(y0, y1, dtype=np.float32) - cy)[None, :, None]  # camera y points up
    spheres = _spheres(head_frame, radius)
    centres = np.array([centre for centre, _ in spheres], np.float32)[:, :, None, None]
    radii = np.array([r for _, r in spheres], np.float32)[:, None, None]
    offset_x, offset_y = np.broadcast_arrays(dx - centres[:, 0], dy - centres[:, 1])  # 4,h,w
    distance2 = offset_x ** 2 + offset_y ** 2
    height_z = np.sqrt(np.maximum(radii ** 2 - distance2, 0.0))
    front_z = np.where(distance2 < radii ** 2, centres[:, 2] + height_z, -np.inf)
    winner = front_z.argmax(axis=0)                                  # skull, nose, ears
    rows, cols = np.indices(winner.shape)
    normal = np.stack([offset_x[winner, rows, cols], offset_y[winner, rows, cols],
                       height_z[winner, rows, cols]], axis=-1) / radii[winner, 0]
    coverage = np.clip(radii - np.sqrt(distance2) + 0.5, 0, 1).max(axis=0)
    skin = np.asarray(look.skin, np.float32)
    colour = _skull_colour(normal @ head_frame.astype(np.float32), skin, look)
    colour[winner == 1] = skin * 0.88   # nose
    colour[winner >= 2] = skin * 0.8    # ears
    shading = 0.62 + 0.38 * np.clip(normal @ LIGHT.astype(np.float32), 0, 1)
    alpha = coverage[..., None]
    patch = image[y0:y1, x0:x1].astype(np.float32)
    image[y0:y1, x0:x1] = np.clip(patch * (1 - alpha) + colour * shading[..., None] * alpha,
                                  0, 255).astype(np.uint8)
    ids[y0:y1, x0:x1][coverage >= 0.5] = part_id
