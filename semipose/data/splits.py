"""Labelled / unlabelled splits of a COCO keypoint json.

The unit is a person usable for training: non-crowd with at least one labelled keypoint, in
json order (images in json order, each image's annotations in json order), exactly the people
`load_person_records(for_training=True)` returns. "first" takes the first N of them (the
paper's protocol: no seed, no split file needed); "random" a seeded choice, kept in json order.

The unlabelled json keeps its annotations as they are (keypoints included: the unlabelled
loader ignores them); by default it is the WHOLE source, labelled people included, as in the
paper's code. With unlabelled_includes_labelled=False it holds every other annotation
(crowd and keypoint-less ones too, for the loader to filter) and only the images they use.
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Union

import numpy as np

from semipose.data.coco_checks import person_category
from semipose.data.coco_format import load_coco_json, records_from_coco_dict
from semipose.data.errors import AnnotationError
from semipose.data.keypoints import meta_from_category

PathLike = Union[str, Path]
SPLIT_MODES = ("first", "random")


def usable_ann_ids(coco: dict, source: str = "<coco dict>") -> list:
    """Annotation ids of the people usable for training, in json order. Bad entries raise
    AnnotationError: a split of a broken file would silently shift every "first N"."""
    meta = meta_from_category(person_category(coco, source), source, allow_missing=True)
    records, _, _ = records_from_coco_dict(coco, ".", source, meta=meta, for_training=True)
    return [record.ann_id for record in records]


def choose_labelled(num_usable: int, num_labelled: int, mode: str, seed: int,
                    source: str = "<coco dict>") -> np.ndarray:
    """Sorted indices (into the usable people) of the labelled ones."""
    if mode not in SPLIT_MODES:
        raise ValueError(f"split mode must be one of {SPLIT_MODES}, got {mode!r}")
    if isinstance(num_labelled, bool) or not isinstance(num_labelled, (int, np.integer)) \
            or num_labelled < 1:
        raise ValueError(f"num_labelled must be a positive integer, got {num_labelled!r}")
    if num_labelled > num_usable:
        raise AnnotationError(source, f"asked for {num_labelled} labelled people but only "
                              f"{num_usable} are usable (non-crowd, >= 1 labelled keypoint)")
    if mode == "first":
        return np.arange(num_labelled)
    return np.sort(np.random.default_rng(seed).choice(num_usable, num_labelled, replace=False))


def split_labelled(coco: dict, num_labelled: int, mode: str = "first", seed: int = 0,
                   unlabelled_includes_labelled: bool = True, source: str = "<coco dict>"):
    """-> (labelled_dict, unlabelled_dict, manifest). The source dict is not modified."""
    usable = usable_ann_ids(coco, source)
    chosen = [usable[i] for i in choose_labelled(len(usable), num_labelled, mode, seed, source)]
    chosen_set = set(chosen)
    labelled = _subset(coco, [a for a in coco["annotations"] if a["id"] in chosen_set])
    if unlabelled_includes_labelled:
        unlabelled = copy.deepcopy(coco)
    else:
        unlabelled = _subset(coco, [a for a in coco["annotations"] if a["id"] not in chosen_set])
    manifest = {
        "mode": mode, "seed": seed if mode == "random" else None,
        "num_labelled": len(chosen), "num_usable": len(usable),
        "num_unlabelled_annotations": len(unlabelled["annotations"]),
        "num_unlabelled_images": len(unlabelled["images"]),
        "unlabelled_includes_labelled": unlabelled_includes_labelled,
        "labelled_ann_ids": chosen,
    }
    return labelled, unlabelled, manifest


def _subset(coco: dict, annotations: list) -> dict:
    """A copy of coco with these annotations and only their images, in the source's order."""
    used = {a["image_id"] for a in annotations}
    images = [i for i in coco["images"] if i["id"] in used]
    subset = {key: value for key, value in coco.items() if key not in ("images", "annotations")}
    subset.update(images=images, annotations=annotations)
    return copy.deepcopy(subset)


def write_split(out_dir: PathLike, source_json: PathLike, num_labelled: int,
                mode: str = "first", seed: int = 0,
                unlabelled_includes_labelled: bool = True) -> dict:
    """Split source_json and write labelled.json, unlabelled.json and manifest.json (counts,
    mode, seed, sha256 of the source file) into out_dir; returns the manifest."""
    coco = load_coco_json(source_json)
    labelled, unlabelled, manifest = split_labelled(
        coco, num_labelled, mode, seed, unlabelled_includes_labelled, str(source_json))
    manifest = {"source": str(Path(source_json).resolve()),
                "source_sha256": file_sha256(source_json), **manifest}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, content in (("labelled.json", labelled), ("unlabelled.json", unlabelled)):
        (out_dir / name).write_text(json.dumps(content))
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def file_sha256(path: PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
