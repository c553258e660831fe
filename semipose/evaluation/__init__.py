"""Evaluation: COCO keypoint AP (pycocotools / faster-coco-eval), OKS-NMS, rescoring, PCK/PCKh,
and reporting of the results as a table or JSON."""

from semipose.evaluation.coco_eval import (
    STAT_NAMES,
    CocoEvalError,
    EmptyResultsWarning,
    evaluate_coco_keypoints,
    flatten_stats,
)
from semipose.evaluation.oks import OksInputError, oks_iou, oks_nms, rescore, result_area
from semipose.evaluation.pck import (
    PckInputError,
    bbox_size,
    mpii_head_size,
    pck,
    pckh,
    torso_size,
)
from semipose.evaluation.report import format_table, write_json

__all__ = [
    "STAT_NAMES",
    "CocoEvalError",
    "EmptyResultsWarning",
    "OksInputError",
    "PckInputError",
    "bbox_size",
    "evaluate_coco_keypoints",
    "flatten_stats",
    "format_table",
    "mpii_head_size",
    "oks_iou",
    "oks_nms",
    "pck",
    "pckh",
    "rescore",
    "result_area",
    "torso_size",
    "write_json",
]
