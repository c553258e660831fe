"""Predictions of one network on the validation people -> the metrics of the config."""
from __future__ import annotations

import numpy as np

from semipose.config import EvalConfig
from semipose.evaluation.coco_eval import evaluate_coco_keypoints
from semipose.evaluation.inference import to_coco_results
from semipose.evaluation.oks import oks_nms, rescore
from semipose.evaluation.pck import bbox_size, pck, torso_size


def score_predictions(predictions: dict, records, meta, gt_coco: dict, config: EvalConfig) -> dict:
    """The main metric of the config, plus PCK beside OKS AP when the boxes are ground truth
    (PCK tells weak models apart long before AP does)."""
    if config.metric != "AP":
        return percentage_correct(predictions, records, meta, config)
    scores = average_precision(predictions, meta, gt_coco, config)
    if any(int(ann_id) >= 0 for ann_id in predictions["ann_id"]):
        pck_only = percentage_correct(predictions, records, meta, config)
        scores.update({key: value for key, value in pck_only.items() if "/" not in key})
    return scores


def average_precision(predictions: dict, meta, gt_coco: dict, config: EvalConfig) -> dict:
    if not meta.has_sigmas:
        raise ValueError("OKS AP needs per-keypoint sigmas, which this keypoint set lacks: "
                         "evaluate with eval.metric=PCK, or add `sigmas` to the json's category")
    results = rescore(to_coco_results(predictions, nms_area=config.nms_area), vis_thr=config.keypoint_score_threshold)
    results = oks_nms(results, np.asarray(meta.sigmas), thr=config.oks_nms_threshold)
    return evaluate_coco_keypoints(gt_coco, results, np.asarray(meta.sigmas), backend=config.backend)


def percentage_correct(predictions: dict, records, meta, config: EvalConfig) -> dict:
    by_ann = {record.ann_id: record for record in records}
    chosen = [i for i, ann_id in enumerate(predictions["ann_id"]) if int(ann_id) in by_ann]
    if not chosen:
        raise ValueError("PCK needs ground-truth people: the validation boxes carry no annotation ids")
    gt = np.stack([np.asarray(by_ann[int(predictions["ann_id"][i])].keypoints, dtype=np.float64) for i in chosen])
    predicted = predictions["keypoints"][chosen, :, :2].astype(np.float64)
    if config.pck_normaliser == "torso":
        normaliser = torso_size(gt[..., :2], meta.names.index("right_shoulder"), meta.names.index("left_hip"))
    else:
        normaliser = bbox_size(np.stack([np.asarray(by_ann[int(predictions["ann_id"][i])].bbox) for i in chosen]))
    result = pck(predicted, gt[..., :2], gt[..., 2] > 0, normaliser, alpha=config.pck_alpha)
    name = f"PCK@{config.pck_alpha:g}"
    return {name: float(result["mean"]), **{f"{name}/{meta.names[k]}": float(v)
                                            for k, v in enumerate(result["per_joint"])}}
