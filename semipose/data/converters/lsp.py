"""Leeds Sports Pose joints.mat -> COCO keypoint dict.

joints.mat holds `joints`, float, shape (3, 14, N) in the original LSP release ((14, 3, N) in
LSP-extended): x, y 1-based (MATLAB), then a flag.
- Original release: flag 0 = visible, 1 = occluded; every joint has a position (occluded ones
  estimated), so v = 2 or 1.
- LSP-extended (LSPET, 10,000 people, `extended=True`): flag 1 = visible, and flag 0 marks joints
  nobody placed (their coordinates are <= 0), so v = 2 or 0. Its files have five digits.
A joint outside the image becomes v = 0 with x = y = 0. Image n (1-based) is
`image_name.format(n)`: im0001.jpg ... (LSP), im00001.jpg ... (LSPET). The box is the joints'
box grown by `padding` x its size on each side, clipped to the image. No OKS sigmas: LSP is
PCK-only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np
import scipy.io

from semipose.data.converters.common import (box_around, coco_annotation, coco_image,
                                             finish_coco, inside_image, zero_unlabelled)
from semipose.data.errors import AnnotationError
from semipose.data.images import image_size
from semipose.data.keypoints import LSP14

PathLike = Union[str, Path]


LSP_IMAGE_NAME = "im{:04d}.jpg"
LSPET_IMAGE_NAME = "im{:05d}.jpg"


def lsp_to_coco(joints_mat: PathLike, image_dir: PathLike, extended: bool = False,
                padding: float = 0.1, image_name: Optional[str] = None) -> dict:
    """extended=False: the original LSP release; True: LSP-extended (flag 1 = visible, 0 = not annotated)."""
    image_dir = Path(image_dir)
    image_name = image_name or (LSPET_IMAGE_NAME if extended else LSP_IMAGE_NAME)
    check_image_name(image_name)
    joints = load_lsp_joints(joints_mat)
    images, annotations = [], []
    for index, person in enumerate(joints):
        number = index + 1
        file_name = image_name.format(number)
        image_wh = image_size(image_dir / file_name)
        keypoints = lsp_keypoints(person, image_wh, extended)
        bbox = box_around(keypoints[keypoints[:, 2] > 0, :2], padding, image_wh)
        images.append(coco_image(number, file_name, image_wh))
        annotations.append(coco_annotation(number, number, keypoints, bbox))
    title = "Leeds Sports Pose extended" if extended else "Leeds Sports Pose"
    return finish_coco(images, annotations, LSP14, f"{title} (converted by semipose)",
                       image_dir, str(joints_mat))


def load_lsp_joints(joints_mat: PathLike) -> np.ndarray:
    """-> float64 (N, 14, 3): x, y (still 1-based), flag; checks shape, values and flags."""
    try:
        contents = scipy.io.loadmat(str(joints_mat))
    except FileNotFoundError:
        raise AnnotationError(joints_mat, "file not found") from None
    except Exception as error:  # scipy raises MatReadError, ValueError, IndexError, ... on bad bytes
        raise AnnotationError(joints_mat, f"not a readable MATLAB file "
                              f"({type(error).__name__}: {error})") from None
    joints = contents.get("joints")
    if not isinstance(joints, np.ndarray) or joints.ndim != 3 or not np.issubdtype(
            joints.dtype, np.number):
        raise AnnotationError(joints_mat, f"got {type(joints).__name__}", field="joints",
                              expected="a numeric array of shape (3, 14, N) or (14, 3, N)")
    if joints.shape[:2] == (3, 14):
        joints = joints.transpose(2, 1, 0)
    elif joints.shape[:2] == (14, 3):
        joints = joints.transpose(2, 0, 1)
    else:
        raise AnnotationError(joints_mat, f"shape {joints.shape}", field="joints",
                              expected="(3, 14, N) or (14, 3, N)")
    joints = joints.astype(np.float64)
    if not np.isfinite(joints).all():
        raise AnnotationError(joints_mat, "contains NaN or infinite values", field="joints")
    if not np.isin(joints[:, :, 2], (0, 1)).all():
        raise AnnotationError(joints_mat, "visibility flags other than 0 / 1", field="joints",
                              expected="flags 0 or 1")
    return joints


def check_image_name(image_name: str) -> None:
    """The file-name pattern must turn an image number into a name: 'im{:05d}.jpg'."""
    try:
        if image_name.format(1) == image_name.format(2):
            raise ValueError("it ignores the number")
    except (IndexError, KeyError, ValueError) as error:
        raise ValueError(f"bad image name pattern {image_name!r} ({error}): expected a Python format "
                         f"string with one number field, e.g. {LSPET_IMAGE_NAME!r}") from None


def lsp_keypoints(person: np.ndarray, image_wh: tuple[int, int], extended: bool) -> np.ndarray:
    """(14, 3) x, y 1-based, flag -> COCO (14, 3) 0-based x, y and v in {0, 1, 2}."""
    xy = person[:, :2] - 1.0  # MATLAB 1-based -> pixel centres at 0..W-1
    if extended:
        v = np.where(person[:, 2] != 0, 2.0, 0.0)
    else:
        v = np.where(person[:, 2] == 0, 2.0, 1.0)
    v[~inside_image(xy, image_wh)] = 0.0
    return zero_unlabelled(np.concatenate([xy, v[:, None]], axis=1))
