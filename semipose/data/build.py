"""From a DataConfig to the three datasets of a run: labelled, unlabelled and validation."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from semipose.config import AnnotationSource, DataConfig
from semipose.data.coco_checks import person_category
from semipose.data.coco_format import (image_entries, image_files, load_coco_json, load_person_records,
                                       records_from_detections, records_from_image_folder)
from semipose.data.crop_cache import CropCache
from semipose.data.errors import AnnotationError
from semipose.data.keypoints import COCO17, KeypointMeta, meta_from_category
from semipose.data.person_detector import build_detector, records_from_detector
from semipose.data.splits import choose_labelled
from semipose.data.topdown import TopDownDataset

log = logging.getLogger(__name__)


@dataclass
class DataBundle:
    meta: KeypointMeta
    labelled: TopDownDataset
    unlabelled: Optional[TopDownDataset]
    val: TopDownDataset
    val_gt: dict                       # the validation COCO dict (ground truth for OKS AP / PCK)
    summary: dict                      # counts for the log


def _records(source: AnnotationSource, config: DataConfig, for_training: bool, meta=None, role: str = "train"):
    """(records, meta, report) of one set; `role` names its config key in messages."""
    if source.detections:
        if not source.json:
            raise ValueError(f"data.{role}.detections needs the matching image list: set data.{role}.json")
        coco = load_coco_json(source.json)
        records, report = records_from_detections(source.detections, coco, source.images,
                                                  score_thr=source.det_score_threshold,
                                                  on_bad_sample=config.on_bad_sample, meta=meta,
                                                  check_images=config.check_images)
        return records, meta or _category_meta(coco, source.json, config), report
    if source.detector is not None:
        return _detected_records(source, config, meta, role)
    if source.json:
        return load_person_records(source.json, source.images, meta=meta, on_bad_sample=config.on_bad_sample,
                                   for_training=for_training, allow_missing_meta=config.keypoints.allow_missing,
                                   check_images=config.check_images)
    if not source.whole_image:
        raise ValueError(f"data.{role}.images={source.images}: a folder of images has no person boxes; choose "
                         f"them: data.{role}.detector.model=DETECTOR.onnx, data.{role}.detections=BOXES.json "
                         f"(with data.{role}.json), or data.{role}.whole_image=true (one person filling each image)")
    records = records_from_image_folder(source.images, meta=meta or COCO17, on_bad_sample=config.on_bad_sample)
    return records, meta, None


def _category_meta(coco: dict, source: str, config: DataConfig) -> KeypointMeta:
    return meta_from_category(person_category(coco, source), source, config.keypoints.allow_missing)


def _detected_records(source: AnnotationSource, config: DataConfig, meta, role: str):
    """People found by the configured detector in the json's images (ids kept, so OKS AP can be
    computed against that json) or in every image of the folder (ids 1, 2, ... by file name)."""
    detector = build_detector(source.detector, f"data.{role}.detector")
    if source.json:
        coco = load_coco_json(source.json)
        meta = meta or _category_meta(coco, source.json, config)
        entries = image_entries(coco, source.images, source.json, config.on_bad_sample, config.check_images)
        images = [(image_id, entry.path) for image_id, entry in entries.items()]
    else:
        images = list(enumerate(image_files(source.images), start=1))
    num_keypoints = (meta or COCO17).num_keypoints
    records, report = records_from_detector(images, detector, num_keypoints, config.on_bad_sample)
    return records, meta, report


def build_datasets(config: DataConfig, seed: int, need_unlabelled: bool) -> DataBundle:
    train_records, meta, train_report = _records(config.train, config, for_training=True)
    if not train_records:
        raise AnnotationError(config.train.json or config.train.images,
                              "no usable people (non-crowd, at least one labelled keypoint)"
                              + (f": {train_report.as_dict()['skipped']}" if train_report is not None else ""))
    labelled_index = np.arange(len(train_records)) if config.num_labelled is None else choose_labelled(
        len(train_records), config.num_labelled, config.split_mode, config.split_seed, config.train.json)
    labelled_records = [train_records[i] for i in labelled_index]
    summary = {"train_people": len(train_records), "labelled_people": len(labelled_records)}
    if train_report is not None:
        summary["train_load"] = train_report.as_dict()

    unlabelled = None
    if need_unlabelled:
        if config.unlabelled is not None:
            unlabelled_records, _, report = _records(config.unlabelled, config, for_training=False, meta=meta,
                                                      role="unlabelled")
        elif config.unlabelled_includes_labelled:
            unlabelled_records = train_records
        else:
            chosen = set(labelled_index.tolist())
            unlabelled_records = [r for i, r in enumerate(train_records) if i not in chosen]
        if not unlabelled_records:
            raise ValueError("the method needs unlabelled people but the unlabelled set is empty")
        unlabelled = TopDownDataset(unlabelled_records, meta, config, augment=True, labelled=False, seed=seed + 1)
        summary["unlabelled_people"] = len(unlabelled_records)

    val, val_gt = build_validation(config, meta)
    if not len(val):  # found now, not at the first validation after hours of training
        raise AnnotationError(config.val.json or config.val.images, "no people to validate on (all crowd, "
                              "no boxes, or no annotation of the keypoint category)")
    summary["val_people"] = len(val)
    labelled = TopDownDataset(labelled_records, meta, config, augment=True, labelled=True, seed=seed)
    if config.crop_cache:
        attach_crop_cache(config, labelled, unlabelled)
    log.info("data: %s", summary)
    return DataBundle(meta, labelled, unlabelled, val, val_gt, summary)


def training_records(config: DataConfig) -> list:
    """Every person a training run may read: the train set and the unlabelled set (what the cache holds)."""
    records, meta, _ = _records(config.train, config, for_training=True)
    if config.unlabelled is not None:
        records = records + _records(config.unlabelled, config, for_training=False, meta=meta, role="unlabelled")[0]
    return records


def attach_crop_cache(config: DataConfig, *datasets) -> None:
    """Open data.crop_cache (refusing a stale one) and let the training datasets read from it."""
    cache = CropCache(config.crop_cache, config)
    for role, dataset in zip(("labelled", "unlabelled"), datasets):
        if dataset is not None:
            cache.check_records(dataset.records, role)
            dataset.crop_cache = cache
    log.info("data: person crops from the cache %s (%d people)", config.crop_cache, len(cache.entries))


def build_validation(config: DataConfig, meta: Optional[KeypointMeta] = None):
    """The validation people (ground-truth or detected boxes) and the ground-truth COCO dict.

    Ground-truth people without a labelled keypoint are skipped, as the reference does: COCOeval
    ignores them, so cropping them (about 70 % more crops on COCO val) only costs time."""
    val_records, val_meta, _ = _records(config.val, config, for_training=True, meta=meta, role="val")
    val_gt = load_coco_json(config.val.json) if config.val.json else {}
    return TopDownDataset(val_records, meta or val_meta, config, augment=False, labelled=True), val_gt


def labelled_joint_mask(dataset: TopDownDataset) -> np.ndarray:
    """(K,) bool: joints annotated at least once in the labelled set (the unlabelled loss uses only these)."""
    seen = np.zeros(dataset.meta.num_keypoints, dtype=bool)
    for record in dataset.records:
        seen |= np.asarray(record.keypoints)[:, 2] > 0
    return seen
