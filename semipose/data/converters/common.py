"""Pieces every converter shares: COCO entries, boxes around joints, and the final check that
the produced dict loads with `records_from_coco_dict`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from semipose.data.coco_checks import clip_box
from semipose.data.coco_format import records_from_coco_dict
from semipose.data.keypoints import KeypointMeta

PERSON_CATEGORY_ID = 1


def coco_category(meta: KeypointMeta) -> dict:
    """The person category: COCO fields (skeleton 1-based) plus semipose's extra fields
    `flip_pairs` (0-based) and `sigmas` (null = PCK-only evaluation)."""
    return {
        "id": PERSON_CATEGORY_ID, "name": "person", "supercategory": "person",
        "keypoints": list(meta.names),
        "skeleton": [[i + 1, j + 1] for i, j in meta.skeleton],
        "flip_pairs": [[i, j] for i, j in meta.flip_pairs],
        "sigmas": list(meta.sigmas) if meta.sigmas is not None else None,
    }


def coco_image(image_id: int, file_name: str, image_wh: tuple[int, int]) -> dict:
    return {"id": image_id, "file_name": file_name, "width": int(image_wh[0]),
            "height": int(image_wh[1])}


def coco_annotation(ann_id: int, image_id: int, keypoints: np.ndarray, bbox, **extra) -> dict:
    """keypoints: (K, 3) x, y, v with v in {0, 1, 2} (x = y = 0 where v = 0)."""
    bbox = [round(float(x), 3) for x in bbox]
    flat = [round(float(x), 3) for x in np.asarray(keypoints, np.float64).reshape(-1)]
    for index in range(2, len(flat), 3):
        flat[index] = int(flat[index])
    return {"id": ann_id, "image_id": image_id, "category_id": PERSON_CATEGORY_ID,
            "iscrowd": 0, "bbox": bbox, "area": round(bbox[2] * bbox[3], 3),
            "keypoints": flat, "num_keypoints": int(np.count_nonzero(keypoints[:, 2] > 0)),
            **extra}


def inside_image(xy: np.ndarray, image_wh: tuple[int, int]) -> np.ndarray:
    """(K,) bool: the point lies on the image, whose pixel centres are 0..W-1 (so the image
    spans [-0.5, W - 0.5])."""
    width, height = image_wh
    return ((xy[:, 0] >= -0.5) & (xy[:, 0] <= width - 0.5)
            & (xy[:, 1] >= -0.5) & (xy[:, 1] <= height - 0.5))


def box_around(points: np.ndarray, padding: float, image_wh: tuple[int, int]) -> tuple:
    """xywh box around `points` grown by `padding` x its width / height on every side and
    clipped to the image; the whole image when there are no points (or no box is left)."""
    whole = (0.0, 0.0, float(image_wh[0]), float(image_wh[1]))
    if len(points) == 0:
        return whole
    (x1, y1), (x2, y2) = points.min(axis=0), points.max(axis=0)
    pad_x, pad_y = padding * (x2 - x1), padding * (y2 - y1)
    box = (x1 - pad_x, y1 - pad_y, x2 - x1 + 2 * pad_x, y2 - y1 + 2 * pad_y)
    return clip_box(box, image_wh) or whole


def zero_unlabelled(keypoints: np.ndarray) -> np.ndarray:
    """COCO stores x = y = 0 for v = 0."""
    keypoints = keypoints.copy()
    keypoints[keypoints[:, 2] == 0, :2] = 0
    return keypoints


def finish_coco(images: list, annotations: list, meta: KeypointMeta, description: str,
                image_dir: Path, source: Optional[str] = None) -> dict:
    """Assemble the COCO dict and prove it loads (raises AnnotationError if not)."""
    coco = {"info": {"description": description}, "images": images,
            "annotations": annotations, "categories": [coco_category(meta)]}
    records_from_coco_dict(coco, image_dir, source or description, for_training=False)
    return coco
