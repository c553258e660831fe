"""COCO-form keypoint jsons that need their person category filled in: any set validated as is,
PCK-only sets (no sigmas) made explicit, CrowdPose and COCO-form AI Challenger given their layout."""
from __future__ import annotations

from pathlib import Path
from typing import Union

from semipose.data.coco_format import load_coco_json, person_category, records_from_coco_dict
from semipose.data.converters.common import coco_category
from semipose.data.errors import AnnotationError
from semipose.data.keypoints import CROWDPOSE14, KeypointMeta, meta_from_category, normalise_name

PathLike = Union[str, Path]


def with_layout(coco: dict, meta: KeypointMeta, source: str) -> dict:
    """`coco` with its person category written out from `meta` (names, 1-based skeleton, flip
    pairs, sigmas); the category's own joint names must be meta's, in meta's order."""
    category = person_category(coco, source)
    names = [normalise_name(name) for name in category.get("keypoints") or []]
    if names != list(meta.names):
        raise AnnotationError(source, f"keypoint names {category.get('keypoints')} are not the expected layout",
                              field="categories[].keypoints", expected=", ".join(meta.names))
    coco["categories"] = [dict(coco_category(meta), id=category["id"]) if c is category else c
                          for c in coco["categories"]]
    return coco


def coco_to_coco(coco_json: PathLike, image_dir: PathLike, pck_only: bool = False) -> dict:
    """A COCO keypoint json, validated as the loader reads it. pck_only: a layout without OKS
    sigmas (or flip pairs) is accepted and written with `"sigmas": null` (PCK-only evaluation)."""
    source = str(coco_json)
    coco = load_coco_json(coco_json)
    if pck_only:
        coco = with_layout(coco, meta_from_category(person_category(coco, source), source, allow_missing=True),
                           source)
    records_from_coco_dict(coco, image_dir, source, for_training=False)
    return coco


def crowdpose_to_coco(crowdpose_json: PathLike, image_dir: PathLike) -> dict:
    """CrowdPose's json (COCO form, but with COCO-17's skeleton and no sigmas) with its own layout."""
    source = str(crowdpose_json)
    coco = with_layout(load_coco_json(crowdpose_json), CROWDPOSE14, source)
    records_from_coco_dict(coco, image_dir, source, for_training=False)
    return coco
