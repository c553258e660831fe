"""Leeds Sports Pose joints.mat -> COCO keypoint dict.

joints.mat holds `joints`, float, shape (3, 14, N) in the original LSP release ((14, 3, N) in
LSP-extended): x, y 1-based (MATLAB), then a flag. In the original release flag 0 = visible,
1 = occluded; LSP-extended uses the opposite (pass flag_visible_is_zero=False).
Every joint is annotated, occluded ones with an estimated position, so v = 2 (visible) or
1 (occluded); a joint outside the image becomes v = 0 with x = y = 0. Image n (1-based) is
`image_name.format(n)`, im0001.jpg ... by default. The box is the joints' box grown by
`padding` x its size on each side, clipped to the image. No OKS sigmas: LSP is PCK-only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np
import scipy.io

from semipose.data.converters.common import (box_around, coco_annotation, coco_image,
                                             finish_coco, inside_image, zero_unlabelled)
from semipose.data.errors import AnnotationError
from semipose.data.images import image_size
from semipose.data.keypoints import LSP14

PathLike = Union[str, Path]


def lsp_to_coco(joints_mat: PathLike, image_dir: PathLike, flag_visible_is_zero: bool = True,
                padding: float = 0.1, image_name: str = "im{:04d}.jpg") -> dict:
    image_dir = Path(image_dir)
    joints = load_lsp_joints(joints_mat)
    images, annotations = [], []
    for index, person in enumerate(joints):
        number = index + 1
        file_name = image_name.format(number)
        image_wh = image_size(image_dir / file_name)
        keypoints = lsp_keypoints(person, image_wh, flag_visible_is_zero)
        bbox = box_around(keypoints[keypoints[:, 2] > 0, :2], padding, image_wh)
        images.append(coco_image(number, file_name, image_wh))
        annotations.append(coco_annotation(number, number, keypoints, bbox))
    return finish_coco(images, annotations, LSP14, "Leeds Sports Pose (converted by semipose)",
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


def lsp_keypoints(person: np.ndarray, image_wh: tuple[int, int],
                  flag_visible_is_zero: bool) -> np.ndarray:
    """(14, 3) x, y 1-based, flag -> COCO (14, 3) 0-based x, y and v in {0, 1, 2}."""
    xy = person[:, :2] - 1.0  # MATLAB 1-based -> pixel centres at 0..W-1
    visible = (person[:, 2] == 0) if flag_visible_is_zero else (person[:, 2] != 0)
    v = np.where(visible, 2.0, 1.0)
    v[~inside_image(xy, image_wh)] = 0.0
    return zero_unlabelled(np.concatenate([xy, v[:, None]], axis=1))
