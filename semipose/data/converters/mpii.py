"""MPII in HRNet's list-json format -> COCO keypoint dict.

Each entry: {"image": "005808361.jpg", "joints": 16 x [x, y], "joints_vis": 16 x 0/1,
"center": [x, y], "scale": s}. HRNet's MPIIDataset treats joints and center as MATLAB 1-based
and subtracts 1 from both (mmpose 1.x subtracts 1 from the center only); we follow HRNet, so
converted joints sit on the same 0-based pixel grid as COCO's. joints_vis says whether a joint
is annotated (it carries no occlusion information), so annotated joints get v = 2 and the
others v = 0 with x = y = 0.

`scale` is the person's height / 200 px. The box is the square of side 200 x scale around the
center, after HRNet's shift of the center 15 x scale px down ("to avoid cropping limbs");
with the top-down dataset's x1.25 padding this reproduces HRNet's MPII crop (before clipping
to the image, which the COCO format requires). The raw center and scale are kept in each
annotation as `mpii_center` / `mpii_scale`. Head boxes (for PCKh) are not in this json and are
not produced here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Union

import numpy as np

from semipose.data.coco_checks import clip_box, is_number, read_json_file, short_repr
from semipose.data.converters.common import (coco_annotation, coco_image, finish_coco,
                                             zero_unlabelled)
from semipose.data.errors import AnnotationError
from semipose.data.images import image_size
from semipose.data.keypoints import MPII16

PathLike = Union[str, Path]
PIXELS_PER_SCALE = 200.0
CENTER_SHIFT_PER_SCALE = 15.0  # HRNet: c[1] += 15 * s


def mpii_to_coco(list_json: PathLike, image_dir: PathLike,
                 hrnet_center_shift: bool = True) -> dict:
    image_dir = Path(image_dir)
    entries = read_json_file(list_json)
    if not isinstance(entries, list):
        raise AnnotationError(list_json, f"top level is {type(entries).__name__}",
                              expected="a list of {image, joints, joints_vis, center, scale}")
    images, annotations, image_ids = [], [], {}
    for index, entry in enumerate(entries):
        person = parse_mpii_entry(entry, index, str(list_json))
        file_name = person["image"]
        if file_name not in image_ids:
            image_ids[file_name] = len(image_ids) + 1
            images.append(coco_image(image_ids[file_name], file_name,
                                     image_size(image_dir / file_name)))
        image = images[image_ids[file_name] - 1]
        image_wh = (image["width"], image["height"])
        bbox = mpii_box(person["center"], person["scale"], image_wh, hrnet_center_shift)
        if bbox is None:
            raise AnnotationError(list_json, f"entry {index}: the person box lies outside the "
                                  f"{image_wh[0]}x{image_wh[1]} image", field="center")
        annotations.append(coco_annotation(
            index + 1, image["id"], person["keypoints"], bbox,
            mpii_center=[float(c) for c in entry["center"]], mpii_scale=float(entry["scale"])))
    return finish_coco(images, annotations, MPII16, "MPII (converted by semipose)",
                       image_dir, str(list_json))


def parse_mpii_entry(entry: Any, index: int, source: str) -> dict:
    """-> {"image", "keypoints" (16, 3) 0-based, "center" (2,) 0-based, "scale"}."""
    def fail(field_name: str, value: Any, expected: str):
        raise AnnotationError(source, f"entry {index}: got {short_repr(value)}",
                              field=field_name, expected=expected)

    if not isinstance(entry, dict):
        fail("", entry, "an object")
    image = entry.get("image")
    if not isinstance(image, str) or not image or Path(image).name != image:
        fail("image", image, "a plain image file name")
    joints = _numbers(entry.get("joints"), (16, 2), lambda v: fail("joints", v, "16 [x, y] pairs"))
    joints_vis = _numbers(entry.get("joints_vis"), (16,), lambda v: fail("joints_vis", v,
                                                                          "16 flags 0 / 1"))
    if not np.isin(joints_vis, (0, 1)).all():
        fail("joints_vis", entry["joints_vis"], "16 flags 0 / 1")
    center = _numbers(entry.get("center"), (2,), lambda v: fail("center", v, "[x, y]"))
    scale = entry.get("scale")
    if not (is_number(scale) and 0 < scale < 1e6):
        fail("scale", scale, "a positive number (person height / 200 px)")
    v = np.where(joints_vis > 0, 2.0, 0.0)
    keypoints = zero_unlabelled(np.concatenate([joints - 1.0, v[:, None]], axis=1))
    return {"image": image, "keypoints": keypoints, "center": center - 1.0, "scale": float(scale)}


def mpii_box(center: np.ndarray, scale: float, image_wh: tuple[int, int],
             hrnet_center_shift: bool = True):
    """Square xywh box of side 200 x scale around the (shifted) center, clipped to the image."""
    side = PIXELS_PER_SCALE * scale
    cx, cy = float(center[0]), float(center[1])
    if hrnet_center_shift:
        cy += CENTER_SHIFT_PER_SCALE * scale
    return clip_box((cx - side / 2, cy - side / 2, side, side), image_wh)


def _numbers(value: Any, shape: tuple, fail) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        fail(value)
    if array.shape != shape or not np.isfinite(array).all():
        fail(value)
    return array
