"""COCO keypoint json -> validated person records, in json order.

Order matters: images are visited in json order and each image's annotations in json order,
so "the first N people" (the paper's label split) is well defined.

Boxes partly outside the image are clipped; missing or degenerate boxes are rebuilt from the
labelled keypoints when possible (rules in `coco_checks.parse_bbox`); repairs are counted in
`LoadReport.repaired`.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from semipose.data.coco_checks import (ImageEntry, annotation_reference_problem, category_ids, is_int,
                                       is_number, is_other_category, parse_bbox, parse_image_entry,
                                       parse_keypoints, person_category, read_json_file, short_repr,
                                       validate_coco_dict)
from semipose.data.errors import AnnotationError, ImageReadError
from semipose.data.images import image_size
from semipose.data.keypoints import COCO17, KeypointMeta, meta_from_category

PathLike = Union[str, Path]
log = logging.getLogger(__name__)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


@dataclass
class PersonRecord:
    image_id: int
    ann_id: int  # -1 for boxes from detections or whole images
    image_path: Path
    image_wh: tuple[int, int]
    bbox: tuple[float, float, float, float]  # x, y, w, h in original-image pixels
    keypoints: np.ndarray  # float32 (K, 3): x, y, visibility in {0, 1, 2}
    area: float
    iscrowd: int
    num_keypoints: int
    box_score: float = 1.0


@dataclass
class LoadReport:
    source: str
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    repaired: Counter = field(default_factory=Counter)  # "bbox_clipped", "bbox_from_keypoints"
    messages: list = field(default_factory=list)  # the first `max_messages` problems
    max_messages: int = 10

    def skip(self, reason: str, message: Optional[str] = None) -> None:
        self.skipped[reason] += 1
        if message is not None and len(self.messages) < self.max_messages:
            self.messages.append(message)

    def summary(self) -> str:
        parts = [f"{self.source}: kept {self.kept}"]
        parts += [f"skipped {n} {reason}" for reason, n in sorted(self.skipped.items())]
        parts += [f"repaired {n} {kind}" for kind, n in sorted(self.repaired.items())]
        return ", ".join(parts)

    def as_dict(self) -> dict:
        return {"source": self.source, "kept": self.kept, "skipped": dict(self.skipped),
                "repaired": dict(self.repaired), "messages": list(self.messages)}


def load_coco_json(path: PathLike) -> dict:
    return validate_coco_dict(read_json_file(path), str(path))


def load_person_records(json_path: PathLike, image_root: PathLike,
                        meta: Optional[KeypointMeta] = None, on_bad_sample: str = "error",
                        for_training: bool = True, allow_outside_root: bool = False,
                        allow_missing_meta: bool = False, check_images: bool = False):
    """Read a COCO keypoint json -> (records, meta, report); see records_from_coco_dict."""
    coco = load_coco_json(json_path)
    return records_from_coco_dict(coco, image_root, str(json_path), meta, on_bad_sample,
                                  for_training, allow_outside_root, allow_missing_meta,
                                  check_images)


def records_from_coco_dict(coco: Any, image_root: PathLike, source: str = "<coco dict>",
                           meta: Optional[KeypointMeta] = None, on_bad_sample: str = "error",
                           for_training: bool = True, allow_outside_root: bool = False,
                           allow_missing_meta: bool = False, check_images: bool = False):
    """Validated PersonRecords in json order -> (records, meta, report).

    on_bad_sample="error" raises AnnotationError at the first bad entry; "skip" drops it and
    counts it by reason. Crowd people are always dropped; for training, people without a
    labelled keypoint are dropped too (counted, not errors); for evaluation every non-crowd box
    is kept. Image file names may not leave image_root (absolute or '..') unless allowed.
    meta=None reads the keypoint category (allow_missing_meta: see meta_from_category).
    check_images reads every image's header (missing, broken, other size: see
    parse_image_entry). The report's summary line is logged (a warning if bad entries were
    skipped), so nothing is dropped silently.
    """
    _check_policy(on_bad_sample)
    validate_coco_dict(coco, source)
    category = person_category(coco, source)
    meta = _resolve_meta(meta, category, source, allow_missing_meta)
    report = LoadReport(source)
    images = _parse_images(coco["images"], Path(image_root), source, on_bad_sample,
                           allow_outside_root, report, check_images)
    by_image = _group_annotations(coco["annotations"], images, (category["id"], category_ids(coco)), source,
                                  on_bad_sample, report)
    records = []
    for image_id, image in images.items():
        if image is None:
            continue
        for ann in by_image.get(image_id, ()):
            record = _guarded(on_bad_sample, report, _parse_person, ann, image, meta, source,
                              for_training, report)
            if isinstance(record, str):
                report.skip(record)
            elif record is not None:
                records.append(record)
    report.kept = len(records)
    log_report(report)
    return records, meta, report


def _resolve_meta(meta: Optional[KeypointMeta], category: dict, source: str,
                  allow_missing: bool = False) -> KeypointMeta:
    if meta is None:
        return meta_from_category(category, source, allow_missing)
    names = category.get("keypoints")
    if isinstance(names, list) and len(names) != meta.num_keypoints:
        raise AnnotationError(source, f"lists {len(names)} keypoints but the given meta has "
                              f"{meta.num_keypoints}", field="categories[].keypoints")
    return meta


def _parse_images(entries: list, image_root: Path, source: str, policy: str,
                  allow_outside_root: bool, report: LoadReport, check_files: bool) -> dict:
    """image id -> ImageEntry, in json order; None marks an image skipped under the skip policy."""
    images: dict = {}
    for entry in entries:
        image_id = entry.get("id")
        if is_int(image_id) and image_id in images:
            _reject(policy, report, AnnotationError(
                source, "duplicate image id", image_id=image_id, field="images[].id",
                reason="duplicate_image_id"))
            continue
        image = _guarded(policy, report, parse_image_entry, entry, image_root, source,
                         allow_outside_root, check_files)
        if is_int(image_id):
            images[image_id] = image
    return images


def _group_annotations(annotations: list, images: dict, categories: tuple, source: str,
                       policy: str, report: LoadReport) -> dict:
    """image id -> [annotation dicts] (json order); checks ids, image and category references.
    `categories`: (the keypoint category's id, every category id of the file)."""
    by_image: dict = {}
    seen_ids: set = set()
    for ann in annotations:
        problem = annotation_reference_problem(ann, images, seen_ids, source)
        if problem is not None:
            _reject(policy, report, problem)
            continue
        seen_ids.add(ann["id"])
        other = _guarded(policy, report, is_other_category, ann.get("category_id"), *categories,
                         _category_failure(source, ann["id"], ann["image_id"]))
        if other is None:
            continue  # counted as unknown_category
        if other:
            report.skip("other_category")
        elif images[ann["image_id"]] is None:
            report.skip("image_skipped")
        else:
            by_image.setdefault(ann["image_id"], []).append(ann)
    return by_image


def _category_failure(source: str, ann_id: Any, image_id: Any):
    def fail(problem: str):
        raise AnnotationError(source, problem, ann_id=ann_id, image_id=image_id, field="category_id",
                              expected="the id of a category in 'categories'", reason="unknown_category")
    return fail


def _parse_person(ann: dict, image: ImageEntry, meta: KeypointMeta, source: str,
                  for_training: bool, report: LoadReport):
    """A PersonRecord, or the reason string for a person that is skipped without error."""
    def fail(field_name: str, problem: str, expected: str, reason: str):
        raise AnnotationError(source, problem, ann_id=ann["id"], image_id=image.id,
                              field=field_name, expected=expected, reason=reason)

    iscrowd = ann.get("iscrowd", 0)
    if not (isinstance(iscrowd, (int, float)) and iscrowd in (0, 1)):
        fail("iscrowd", f"got {short_repr(iscrowd)}", "0 or 1", "bad_annotation")
    if iscrowd:
        return "crowd"
    keypoints = parse_keypoints(ann.get("keypoints"), meta.num_keypoints,
                                lambda p: fail("keypoints", p, f"{3 * meta.num_keypoints} finite "
                                               "numbers x, y, v with v in {0, 1, 2}",
                                               "bad_keypoints"))
    num_labelled = int(np.count_nonzero(keypoints[:, 2] > 0))
    if for_training and num_labelled == 0:
        return "no_keypoints"
    bbox, repair = parse_bbox(ann.get("bbox"), keypoints, image.wh,
                              lambda p: fail("bbox", p, "[x, y, w, h] with w, h > 0 overlapping "
                                             "the image (or >= 2 labelled keypoints to rebuild "
                                             "it from)", "bad_bbox"))
    area = ann.get("area", bbox[2] * bbox[3])
    if not (is_number(area) and 0 <= area < float("inf")):
        fail("area", f"got {short_repr(area)}", "a non-negative number", "bad_annotation")
    if repair:
        report.repaired[repair] += 1
    return PersonRecord(image.id, ann["id"], image.path, image.wh, bbox, keypoints,
                        float(area), 0, num_labelled)


def _guarded(policy: str, report: LoadReport, function, *args):
    """Run function; under the "skip" policy an AnnotationError becomes a counted skip (None)."""
    try:
        return function(*args)
    except AnnotationError as error:
        _reject(policy, report, error)
        return None


def _reject(policy: str, report: LoadReport, error: AnnotationError) -> None:
    """Raise under the "error" policy; count and remember the message under "skip"."""
    if policy == "error":
        raise error
    report.skip(error.reason, str(error))


# Skips that every COCO file has (crowd regions, unlabelled people): not worth a warning.
EXPECTED_SKIPS = {"crowd", "no_keypoints", "other_category", "low_score"}


def log_report(report: LoadReport) -> None:
    if set(report.skipped) - EXPECTED_SKIPS:
        first = f" (first: {report.messages[0]})" if report.messages else ""
        log.warning("%s%s", report.summary(), first)
    else:
        log.info("%s", report.summary())


def _check_policy(on_bad_sample: str) -> None:
    if on_bad_sample not in ("error", "skip"):
        raise ValueError(f"on_bad_sample must be 'error' or 'skip', got {on_bad_sample!r}")


def records_from_detections(det_json_path: PathLike, coco_dict: Any, image_root: PathLike,
                            score_thr: float = 0.0, on_bad_sample: str = "error",
                            meta: Optional[KeypointMeta] = None, allow_outside_root: bool = False,
                            check_images: bool = False):
    """Person boxes from a COCO results file ([{image_id, category_id, bbox, score}, ...]),
    for the images of `coco_dict` -> (records, report); records keep the file's order and
    have ann_id -1 and all-zero keypoints (K from `meta`, else from coco_dict's category).

    Boxes scoring below score_thr are dropped ("low_score"); an image id missing from
    coco_dict is an error ("missing_image_entry") or, under "skip", a counted skip.
    allow_outside_root and check_images act on coco_dict's images as in records_from_coco_dict.
    """
    _check_policy(on_bad_sample)
    source = str(det_json_path)
    detections = read_json_file(det_json_path)
    if not isinstance(detections, list):
        raise AnnotationError(source, f"top level is {type(detections).__name__}",
                              expected="a list of detections (COCO results format)")
    validate_coco_dict(coco_dict, "<ground-truth dict>")
    category = person_category(coco_dict, "<ground-truth dict>")
    # Only K is needed here, so a category without sigmas / flip pairs is fine.
    meta = _resolve_meta(meta, category, "<ground-truth dict>", allow_missing=True)
    report = LoadReport(source)
    images = _parse_images(coco_dict["images"], Path(image_root), "<ground-truth dict>",
                           on_bad_sample, allow_outside_root, report, check_images)
    records = []
    for index, detection in enumerate(detections):
        record = _guarded(on_bad_sample, report, _parse_detection, detection, index, images,
                          (category["id"], category_ids(coco_dict)), meta, source)
        if isinstance(record, str):
            report.skip(record)
        elif record is not None and record.box_score < score_thr:
            report.skip("low_score")
        elif record is not None:
            records.append(record)
    report.kept = len(records)
    log_report(report)
    return records, report


def _parse_detection(detection: Any, index: int, images: dict, categories: tuple,
                     meta: KeypointMeta, source: str):
    def fail(field_name: str, problem: str, expected: str, reason: str):
        raise AnnotationError(source, f"detection {index}: {problem}", image_id=image_id,
                              field=field_name, expected=expected, reason=reason)

    image_id = detection.get("image_id") if isinstance(detection, dict) else None
    if not isinstance(detection, dict):
        fail("", f"is {type(detection).__name__}", "an object", "bad_detection")
    if is_other_category(detection.get("category_id"), *categories,
                         lambda p: fail("category_id", p, "the id of a category of the ground truth",
                                        "unknown_category")):
        return "other_category"
    if not (is_int(image_id) and image_id in images):
        fail("image_id", f"image id {image_id!r} is not in the ground-truth images",
             "an id from the ground-truth json", "missing_image_entry")
    image = images[image_id]
    if image is None:
        return "image_skipped"
    score = detection.get("score")
    if not (is_number(score) and np.isfinite(score)):
        fail("score", f"got {short_repr(score)}", "a finite number", "bad_detection")
    no_keypoints = np.zeros((meta.num_keypoints, 3), np.float32)
    bbox, _ = parse_bbox(detection.get("bbox"), no_keypoints, image.wh,
                         lambda p: fail("bbox", p, "[x, y, w, h] with w, h > 0 overlapping "
                                        "the image", "bad_bbox"))
    return PersonRecord(image.id, -1, image.path, image.wh, bbox, no_keypoints,
                        bbox[2] * bbox[3], 0, 0, float(score))


def image_files(path: PathLike) -> list[Path]:
    """One image file, or the image files of a folder (sorted by name, not recursive)."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise ImageReadError(path, f"not an image file name (expected one of {', '.join(IMAGE_EXTENSIONS)})")
        return [path]
    if not path.is_dir():
        raise ImageReadError(path, "no such file or directory")
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def image_entries(coco_dict: Any, image_root: PathLike, source: str, on_bad_sample: str = "error",
                  check_images: bool = False) -> dict:
    """image id -> ImageEntry (id, path, wh) of a COCO dict's images, in json order (for boxes found
    by a detector on the images of a ground-truth json); skipped images are counted and logged."""
    _check_policy(on_bad_sample)
    validate_coco_dict(coco_dict, source)
    report = LoadReport(source)
    images = _parse_images(coco_dict["images"], Path(image_root), source, on_bad_sample, False, report,
                           check_images)
    report.kept = sum(image is not None for image in images.values())
    log_report(report)
    return {image_id: image for image_id, image in images.items() if image is not None}


def unannotated_record(image_id: int, path: Path, width: int, height: int, num_keypoints: int,
                       box=None, score: float = 1.0) -> PersonRecord:
    """A person to predict in an image nobody annotated: `box` (x, y, w, h; default the whole image)."""
    box = (0.0, 0.0, float(width), float(height)) if box is None else tuple(float(v) for v in box)
    return PersonRecord(image_id, -1, Path(path), (width, height), box,
                        np.zeros((num_keypoints, 3), np.float32), box[2] * box[3], 0, 0, float(score))


def records_from_image_folder(folder: PathLike, meta: KeypointMeta = COCO17,
                              on_bad_sample: str = "error", apply_exif: bool = True):
    """One whole-image box per image file in `folder` (sorted by name; not recursive; a single
    image file is accepted too), image ids 1, 2, ... in that order, ann_id -1. Sizes come from the
    file headers (nothing is decoded). An unreadable file raises ImageReadError, or under "skip"
    is skipped and counted in the logged summary line. Only right for single-person crops:
    callers ask for it explicitly (`whole_image`)."""
    _check_policy(on_bad_sample)
    records, report = [], LoadReport(str(folder))
    for path in image_files(folder):
        try:
            width, height = image_size(path, apply_exif=apply_exif)
        except ImageReadError as error:
            if on_bad_sample == "error":
                raise
            report.skip("unreadable_image", str(error))
            continue
        records.append(unannotated_record(len(records) + 1, path, width, height, meta.num_keypoints))
    report.kept = len(records)
    log_report(report)
    return records
