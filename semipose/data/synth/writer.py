"""Write a synthetic data set to disk: JPEG images and COCO keypoint json files."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np

from semipose.data.keypoints import COCO17
from semipose.data.synth.scene import PersonLabel, random_image

# Independent random streams per split: the same seed gives unrelated train / val / pool
# pictures, and changing one split's size leaves the others untouched.
SPLIT_STREAMS = {"train": 0, "val": 1, "unlabelled": 2}
MAX_EMPTY_IMAGES = 1000


class SynthConfigError(ValueError):
    """A generate_dataset argument is out of range; the message names the argument."""


def coco_category() -> dict:
    """The person category with COCO-17 names, COCO's 1-based skeleton, and the extra fields
    `flip_pairs` (0-based index pairs) and `sigmas` (OKS) so loaders need no defaults."""
    return {"id": 1, "name": "person", "supercategory": "person",
            "keypoints": list(COCO17.names),
            "skeleton": [[i + 1, j + 1] for i, j in COCO17.skeleton],
            "flip_pairs": [list(pair) for pair in COCO17.flip_pairs],
            "sigmas": list(COCO17.sigmas)}


def annotation_record(label: PersonLabel, ann_id: int, image_id: int) -> dict:
    keypoints = []
    for x, y, v in label.keypoints:
        keypoints += [round(float(x), 2), round(float(y), 2), int(v)]
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "keypoints": keypoints, "num_keypoints": label.num_keypoints,
            "bbox": [round(float(v), 2) for v in label.bbox], "area": int(label.area)}


def detection_record(label: PersonLabel, image_id: int, rng: np.random.Generator,
                     width: int, height: int) -> dict:
    """A detector-like box: the true box shifted ~5 % and rescaled ~8 %, score in (0.3, 1]."""
    x, y, w, h = label.bbox
    centre = np.array([x + w / 2, y + h / 2]) + rng.normal(0, 0.05, 2) * [w, h]
    size = np.array([w, h]) * np.clip(rng.normal(1.0, 0.08, 2), 0.8, 1.25)
    x0, y0 = np.maximum(centre - size / 2, 0.0)
    x1, y1 = np.minimum(centre + size / 2, [width, height])
    score = max(round(1.0 - 0.7 * float(rng.random()), 4), 0.3001)
    return {"image_id": image_id, "category_id": 1, "score": score,
            "bbox": [round(float(v), 2) for v in (x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0))]}


def _check(options: dict) -> None:
    def fail(name, expected):
        raise SynthConfigError(f"generate_dataset: argument {name!r} = {options[name]!r}: "
                               f"expected {expected}")

    def is_pair(value, low, high):
        return (len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value)
                and low <= value[0] <= value[1] <= high)

    if not isinstance(options["num_people"], (int, np.integer)) or options["num_people"] < 1:
        fail("num_people", "an integer >= 1")
    if not isinstance(options["seed"], (int, np.integer)) or options["seed"] < 0:
        fail("seed", "an integer >= 0")
    val_people = options["val_people"]
    if val_people is not None and (not isinstance(val_people, (int, np.integer)) or val_people < 0):
        fail("val_people", "None or an integer >= 0")
    if len(options["image_size"]) != 2 or min(options["image_size"]) < 32:
        fail("image_size", "(width, height), both >= 32")
    if not is_pair(options["jpeg_quality"], 1, 100):
        fail("jpeg_quality", "an integer or a (low, high) pair within 1..100")
    if not is_pair(options["height_range"], 8, 10_000):
        fail("height_range", "(low, high) person heights in pixels, 8 <= low <= high")
    if not is_pair(options["people_per_image"], 1, 20):
        fail("people_per_image", "(low, high) with 1 <= low <= high <= 20")


def _write_split(out_dir: Path, split: str, num_people: int, seed: int, options: dict,
                 with_detections: bool = False) -> dict:
    """Render pictures until `num_people` people are labelled; write JPEGs and the lists."""
    image_dir = out_dir / "images" / split
    image_dir.mkdir(parents=True, exist_ok=True)
    width, height = options["image_size"]
    images, annotations, detections = [], [], []
    index, empty_in_a_row = 0, 0
    while len(annotations) < num_people:
        rng = np.random.default_rng([seed, SPLIT_STREAMS[split], index])
        image, labels = random_image(rng, (width, height), options["height_range"],
                                     options["people_per_image"],
                                     max_people=num_people - len(annotations))
        index += 1
        if not labels:
            empty_in_a_row += 1
            if empty_in_a_row > MAX_EMPTY_IMAGES:
                raise SynthConfigError(f"generate_dataset: {MAX_EMPTY_IMAGES} pictures in a row "
                                       f"without a visible person; check 'height_range' and "
                                       f"'image_size'")
            continue
        empty_in_a_row = 0
        image_id = len(images) + 1
        file_name = f"{image_id:06d}.jpg"
        quality = int(rng.integers(options["jpeg_quality"][0], options["jpeg_quality"][1] + 1))
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError(f"OpenCV could not encode {image_dir / file_name}")
        (image_dir / file_name).write_bytes(encoded.tobytes())
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        box_rng = np.random.default_rng([seed, SPLIT_STREAMS[split], index - 1, 1])
        for label in labels:
            annotations.append(annotation_record(label, len(annotations) + 1, image_id))
            if with_detections:
                detections.append(detection_record(label, image_id, box_rng, width, height))
    return {"images": images, "annotations": annotations, "detections": detections,
            "image_dir": image_dir}


def _dump(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, separators=(",", ":")))


def _coco(images: list, annotations: list, seed: int, split: str) -> dict:
    info = {"description": "semipose synthetic people", "generator": "semipose.data.synth",
            "seed": int(seed), "split": split}
    return {"info": info, "licenses": [], "images": images, "annotations": annotations,
            "categories": [coco_category()]}


def generate_dataset(out_dir: Union[str, Path], num_people: int, seed: int,
                     val_people: Optional[int] = None, image_size=(320, 256),
                     unlabelled_only: bool = False, jpeg_quality=(60, 95),
                     height_range=(40, 250), people_per_image=(1, 4)) -> dict:
    """Write synthetic people to `out_dir` and return a summary (counts, paths, speed).

    Labelled (default): images/train/*.jpg + annotations/train.json with `num_people`
    people, and images/val/*.jpg + annotations/val.json with `val_people` (default 10 % of
    num_people, at least 1). With `unlabelled_only`: images/unlabelled/*.jpg,
    annotations/unlabelled.json (images only) and annotations/detections.json (COCO
    results: jittered true boxes with scores in (0.3, 1]). Same seed -> identical bytes.
    """
    if isinstance(jpeg_quality, (int, np.integer)):
        jpeg_quality = (int(jpeg_quality), int(jpeg_quality))
    options = dict(num_people=num_people, seed=seed, val_people=val_people,
                   image_size=tuple(image_size), jpeg_quality=tuple(jpeg_quality),
                   height_range=tuple(height_range), people_per_image=tuple(people_per_image))
    _check(options)
    out_dir = Path(out_dir)
    started = time.perf_counter()
    if unlabelled_only:
        plan = {"unlabelled": int(num_people)}
    else:
        plan = {"train": int(num_people),
                "val": max(1, round(0.1 * num_people)) if val_people is None else int(val_people)}
    splits = {}
    for split, count in plan.items():
        written = _write_split(out_dir, split, count, seed, options, unlabelled_only)
        json_path = out_dir / "annotations" / f"{split}.json"
        kept = [] if unlabelled_only else written["annotations"]
        _dump(json_path, _coco(written["images"], kept, seed, split))
        splits[split] = {"images": len(written["images"]),
                         "people": len(written["annotations"]),
                         "image_dir": str(written["image_dir"]), "annotations": str(json_path)}
        if unlabelled_only:
            detections_path = out_dir / "annotations" / "detections.json"
            _dump(detections_path, written["detections"])
            splits[split]["detections"] = str(detections_path)
    seconds = time.perf_counter() - started
    total_images = sum(split["images"] for split in splits.values())
    return {"out_dir": str(out_dir), "seed": int(seed), "image_size": list(image_size),
            "splits": splits, "seconds": round(seconds, 3),
            "images_per_second": round(total_images / max(seconds, 1e-9), 1)}
