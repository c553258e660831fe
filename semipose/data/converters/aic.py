"""AI Challenger keypoint json -> COCO keypoint dict.

The AIC release is a list of {"image_id": "<sha1>" (the file name without .jpg),
"keypoint_annotations": {"human1": [x, y, v] * 14, ...},
"human_annotations": {"human1": [x1, y1, x2, y2], ...}}. AIC visibility 1 = visible,
2 = occluded, 3 = not labelled becomes COCO 2 / 1 / 0 (x = y = 0 for 0). People are ordered
human1, human2, ... numerically; images in file order get ids 1, 2, ...; coordinates are used
as given. Keypoint order and OKS sigmas are AIC14's (AIC's own evaluation constants).
The COCO-form AIC files (images / annotations / categories) are accepted too, given AIC14's layout.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Union

import numpy as np

from semipose.data.coco_checks import clip_box, is_number, read_json_file, short_repr, validate_coco_dict
from semipose.data.coco_format import records_from_coco_dict
from semipose.data.converters.coco_like import with_layout
from semipose.data.converters.common import (coco_annotation, coco_image, finish_coco,
                                             zero_unlabelled)
from semipose.data.errors import AnnotationError
from semipose.data.images import image_size
from semipose.data.keypoints import AIC14

PathLike = Union[str, Path]
AIC_TO_COCO_VISIBILITY = {1: 2, 2: 1, 3: 0}


def aic_to_coco(aic_json: PathLike, image_dir: PathLike, image_extension: str = ".jpg") -> dict:
    image_dir = Path(image_dir)
    source = str(aic_json)
    entries = read_json_file(aic_json)
    if isinstance(entries, dict) and "annotations" in entries:  # the COCO-form files (mmpose's aic_*.json)
        coco = with_layout(validate_coco_dict(entries, source), AIC14, source)
        records_from_coco_dict(coco, image_dir, source, for_training=False)
        return coco
    if not isinstance(entries, list):
        raise AnnotationError(source, f"top level is {type(entries).__name__}",
                              expected="a list of AI Challenger image entries, or a COCO-form json")
    images, annotations = [], []
    for index, entry in enumerate(entries):
        name, people = parse_aic_entry(entry, index, source)
        file_name = name + image_extension
        image_wh = image_size(image_dir / file_name)
        image_id = len(images) + 1
        images.append(coco_image(image_id, file_name, image_wh))
        for human, keypoints, xyxy in people:
            box = clip_box((xyxy[0], xyxy[1], xyxy[2] - xyxy[0], xyxy[3] - xyxy[1]), image_wh)
            if box is None:
                raise AnnotationError(source, f"{name} {human}: box {xyxy} is empty or outside "
                                      f"the {image_wh[0]}x{image_wh[1]} image",
                                      field="human_annotations")
            annotations.append(coco_annotation(len(annotations) + 1, image_id, keypoints, box,
                                               aic_human=human))
    return finish_coco(images, annotations, AIC14, "AI Challenger (converted by semipose)",
                       image_dir, source)


def parse_aic_entry(entry: Any, index: int, source: str):
    """-> (image name, [(human key, COCO keypoints (14, 3), [x1, y1, x2, y2]), ...])."""
    def fail(field_name: str, problem: str, expected: str):
        raise AnnotationError(source, f"entry {index}: {problem}", field=field_name,
                              expected=expected)

    if not isinstance(entry, dict):
        fail("", f"is {type(entry).__name__}", "an object")
    name = entry.get("image_id")
    if not isinstance(name, str) or not name or Path(name).name != name:
        fail("image_id", f"got {short_repr(name)}", "the image file name without extension")
    keypoint_sets, boxes = entry.get("keypoint_annotations"), entry.get("human_annotations")
    if not isinstance(keypoint_sets, dict) or not isinstance(boxes, dict):
        fail("keypoint_annotations", "missing", "keypoint_annotations and human_annotations "
             "objects keyed by 'human1', 'human2', ...")
    if set(keypoint_sets) != set(boxes):
        fail("human_annotations", f"people {sorted(boxes)} vs {sorted(keypoint_sets)}",
             "the same people in keypoint_annotations and human_annotations")
    people = []
    for human in sorted(keypoint_sets, key=_human_number):
        values, xyxy = keypoint_sets[human], boxes[human]
        if not (isinstance(values, list) and len(values) == 42
                and all(is_number(x) and abs(x) < 1e7 for x in values)
                and set(values[2::3]) <= set(AIC_TO_COCO_VISIBILITY)):
            fail(f"keypoint_annotations.{human}", f"got {short_repr(values)}",
                 "14 x [x, y, v] with v in {1, 2, 3}")
        if not (isinstance(xyxy, list) and len(xyxy) == 4
                and all(is_number(x) and abs(x) < 1e7 for x in xyxy)):
            fail(f"human_annotations.{human}", f"got {short_repr(xyxy)}", "[x1, y1, x2, y2]")
        people.append((human, aic_keypoints(values), [float(x) for x in xyxy]))
    return name, people


def aic_keypoints(values: list) -> np.ndarray:
    keypoints = np.asarray(values, dtype=np.float64).reshape(14, 3)
    keypoints[:, 2] = [AIC_TO_COCO_VISIBILITY[int(v)] for v in keypoints[:, 2]]
    return zero_unlabelled(keypoints)


def _human_number(key: str):
    """'human10' after 'human9'; keys without a number sort after, by name."""
    match = re.fullmatch(r"\D*(\d+)", key)
    return (0, int(match.group(1)), key) if match else (1, 0, key)
