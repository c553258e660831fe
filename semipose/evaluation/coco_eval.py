"""COCO keypoint AP/AR with pycocotools (or faster-coco-eval), for any number of joints K.

`evaluate_coco_keypoints` checks the inputs first (so a wrong field gives an error naming the
file and the field, not a deep pycocotools traceback), writes the results json, runs
COCOeval(iouType="keypoints") with the dataset's own OKS sigmas and returns the ten
summary numbers as a dict of floats. COCOeval's own convention is kept: -1 means "no
ground truth in that area range".

Only image_id, category_id, keypoints and score of each result are written: an extra "bbox"
in a result would make pycocotools take the result's area from the box instead of from
the keypoints, which changes APm/APl.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from semipose.evaluation.report import write_json

STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
BACKENDS = ("pycocotools", "faster_coco_eval")
GT_ANNOTATION_FIELDS = ("id", "image_id", "keypoints", "num_keypoints", "area", "bbox", "iscrowd")
RESULT_FIELDS = ("image_id", "category_id", "keypoints", "score")


class CocoEvalError(ValueError):
    """The ground truth or the results given to the COCO evaluation are malformed or mismatched."""


class EmptyResultsWarning(UserWarning):
    """There was nothing to evaluate, so every metric is reported as 0."""


def flatten_stats(stats: Sequence[float]) -> dict[str, float]:
    """COCOeval's keypoint `stats` array as {"AP": ..., "AP50": ..., ..., "ARl": ...}."""
    if len(stats) < len(STAT_NAMES):
        raise CocoEvalError(f"expected {len(STAT_NAMES)} keypoint stats, got {len(stats)}")
    return {name: float(value) for name, value in zip(STAT_NAMES, stats)}


def _load_json(source: str | os.PathLike, what: str):
    try:
        with open(source, encoding="utf-8") as stream:
            return json.load(stream)
    except (OSError, json.JSONDecodeError) as error:
        raise CocoEvalError(f"{source}: cannot read the {what} json: {error}") from None


def load_ground_truth(gt: str | os.PathLike | dict) -> tuple[dict, str]:
    """The gt dict (annotations shallow-copied: COCOeval writes into them) and a name for errors."""
    if isinstance(gt, dict):
        gt_dict, source = gt, "ground-truth dict"
    else:
        gt_dict, source = _load_json(gt, "ground-truth"), str(gt)
    if not isinstance(gt_dict, dict):
        raise CocoEvalError(f"{source}: expected a COCO dict at the top level")
    for field in ("images", "annotations", "categories"):
        if not isinstance(gt_dict.get(field), list):
            raise CocoEvalError(f"{source}: field '{field}' is missing or not a list")
    annotations = [_with_num_keypoints(dict(annotation)) for annotation in gt_dict["annotations"]]
    return {**gt_dict, "annotations": annotations}, source


def _with_num_keypoints(annotation: dict) -> dict:
    """`num_keypoints` is an optional count in COCO files; COCOeval reads it, so derive it."""
    keypoints = annotation.get("keypoints")
    if "num_keypoints" not in annotation and isinstance(keypoints, list):
        annotation["num_keypoints"] = sum(1 for v in keypoints[2::3] if isinstance(v, (int, float)) and v > 0)
    return annotation


def choose_category_id(gt_dict: dict, source: str, category_id: int | None = None) -> int:
    """`category_id` if given (and present), else the "person" category, else the only one."""
    categories = {category.get("id"): category.get("name") for category in gt_dict["categories"]}
    if category_id is not None:
        if category_id not in categories:
            raise CocoEvalError(f"{source}: category_id {category_id} is not among the "
                                f"categories {sorted(categories)}")
        return category_id
    people = [cid for cid, name in categories.items() if name == "person"]
    if len(people) == 1:
        return people[0]
    if len(categories) == 1:
        return next(iter(categories))
    raise CocoEvalError(f"{source}: cannot choose a category among {categories}; "
                        "pass category_id")


def check_ground_truth(gt_dict: dict, category_id: int, num_joints: int, source: str) -> None:
    """Every annotation of the category has the fields COCOeval reads, with 3 * K keypoints."""
    for index, annotation in enumerate(gt_dict["annotations"]):
        if annotation.get("category_id") != category_id:
            continue
        missing = [field for field in GT_ANNOTATION_FIELDS if field not in annotation]
        if missing:
            raise CocoEvalError(f"{source}: annotations[{index}] lacks field(s) {missing}")
        if len(annotation["keypoints"]) != 3 * num_joints:
            raise CocoEvalError(
                f"{source}: annotations[{index}] field 'keypoints' has "
                f"{len(annotation['keypoints'])} values, expected 3 * {num_joints} "
                f"(one x, y, v triple per sigma)")


def load_results(results: str | os.PathLike | Sequence[dict]) -> tuple[list, str]:
    """The results as a list and a name for errors."""
    if isinstance(results, (str, os.PathLike)):
        loaded, source = _load_json(results, "results"), str(results)
    else:
        loaded, source = list(results), "results list"
    if not isinstance(loaded, list):
        raise CocoEvalError(f"{source}: expected a list of result dicts at the top level")
    return loaded, source


def clean_results(results: list, num_joints: int, source: str) -> list[dict]:
    """Plain-Python copies of the results with only the four COCO fields, checked."""
    cleaned = []
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            raise CocoEvalError(f"{source}: result #{index} is not a dict")
        missing = [field for field in RESULT_FIELDS if field not in result]
        if missing:
            raise CocoEvalError(f"{source}: result #{index} lacks field(s) {missing}")
        keypoints = np.asarray(result["keypoints"], dtype=np.float64).reshape(-1)
        if keypoints.size != 3 * num_joints or not np.isfinite(keypoints).all():
            raise CocoEvalError(f"{source}: result #{index} field 'keypoints' must hold "
                                f"3 * {num_joints} finite numbers, got {keypoints.size} values")
        score = float(result["score"])
        if not np.isfinite(score):
            raise CocoEvalError(f"{source}: result #{index} field 'score' is {score}")
        cleaned.append({"image_id": int(result["image_id"]),
                        "category_id": int(result["category_id"]),
                        "keypoints": keypoints.tolist(), "score": score})
    return cleaned


def split_unknown_images(results: list[dict], gt_dict: dict) -> tuple[list[dict], list[dict]]:
    """(results on images of the ground truth, results on other images)."""
    known_ids = {image["id"] for image in gt_dict["images"]}
    known = [result for result in results if result["image_id"] in known_ids]
    unknown = [result for result in results if result["image_id"] not in known_ids]
    return known, unknown


def _quiet(verbose: bool):
    """Silence the evaluators' printing unless `verbose`."""
    return contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())


def _run_pycocotools(gt_dict: dict, results_file: str, sigmas: np.ndarray, category_id: int,
                     verbose: bool) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with _quiet(verbose):
        coco_gt = COCO()
        coco_gt.dataset = gt_dict
        coco_gt.createIndex()
        coco_results = coco_gt.loadRes(results_file)
        evaluator = COCOeval(coco_gt, coco_results, iouType="keypoints")
        evaluator.params.kpt_oks_sigmas = sigmas
        evaluator.params.catIds = [category_id]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats


def _run_faster_coco_eval(gt_dict: dict, results_file: str, sigmas: np.ndarray,
                          category_id: int, verbose: bool) -> np.ndarray:
    try:
        from faster_coco_eval import COCO, COCOeval_faster
    except ImportError:
        raise CocoEvalError("backend 'faster_coco_eval' needs the faster-coco-eval package: "
                            "pip install 'semipose[fast-eval]'") from None

    print_function = print if verbose else (lambda *args, **kwargs: None)
    with _quiet(verbose):
        coco_gt = COCO(gt_dict, print_function=print_function)
        coco_results = coco_gt.loadRes(results_file)
        evaluator = COCOeval_faster(coco_gt, coco_results, iouType="keypoints",
                                    kpt_oks_sigmas=sigmas, print_function=print_function)
        evaluator.params.catIds = [category_id]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats


def _run_backend(backend: str, gt_dict: dict, results: list[dict], sigmas: np.ndarray,
                 category_id: int, results_path, verbose: bool) -> np.ndarray:
    """Write `results` (to `results_path` or a temporary file) and evaluate them with `backend`."""
    run = _run_pycocotools if backend == "pycocotools" else _run_faster_coco_eval
    with tempfile.TemporaryDirectory(prefix="semipose_coco_eval_") as scratch:
        path = Path(results_path) if results_path is not None else Path(scratch) / "results.json"
        write_json(path, results, indent=None)
        return run(gt_dict, str(path), sigmas, category_id, verbose)


def evaluate_coco_keypoints(gt: str | os.PathLike | dict, results: str | os.PathLike | Sequence[dict],
                            sigmas: Sequence[float], backend: str = "pycocotools",
                            results_path: str | os.PathLike | None = None,
                            category_id: int | None = None, drop_unknown_images: bool = False,
                            verbose: bool = False) -> dict:
    """COCO keypoint AP/AR of `results` against `gt`, with per-joint OKS `sigmas` (K values).

    gt: a COCO keypoint json path or the loaded dict. results: a list of
    {image_id, category_id, keypoints [x, y, s] * K, score} or a path to such a json.
    Returns {"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"}, plus
    "dropped_results" when `drop_unknown_images` is set. Results on images that are not in
    `gt` raise CocoEvalError unless `drop_unknown_images`. No results: zeros and a warning.
    """
    if backend not in BACKENDS:
        raise CocoEvalError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    sigmas = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    if sigmas.size == 0 or not (np.isfinite(sigmas) & (sigmas > 0)).all():
        raise CocoEvalError(f"sigmas must be K > 0 positive numbers, got {sigmas.tolist()}")
    gt_dict, gt_source = load_ground_truth(gt)
    category_id = choose_category_id(gt_dict, gt_source, category_id)
    check_ground_truth(gt_dict, category_id, len(sigmas), gt_source)
    raw_results, results_source = load_results(results)
    cleaned = clean_results(raw_results, len(sigmas), results_source)

    known, unknown = split_unknown_images(cleaned, gt_dict)
    if unknown and not drop_unknown_images:
        unknown_ids = sorted({result["image_id"] for result in unknown})
        raise CocoEvalError(
            f"{results_source}: {len(unknown)} result(s) on {len(unknown_ids)} image id(s) not "
            f"in {gt_source}, e.g. {unknown_ids[:5]}; pass drop_unknown_images=True to drop them")

    if known:
        stats = _run_backend(backend, gt_dict, known, sigmas, category_id, results_path, verbose)
        metrics = flatten_stats(stats)
    else:
        if results_path is not None:
            write_json(results_path, [], indent=None)
        warnings.warn(f"{results_source}: no results on the images of {gt_source} to evaluate; "
                      "reporting every metric as 0", EmptyResultsWarning, stacklevel=2)
        metrics = dict.fromkeys(STAT_NAMES, 0.0)
    if drop_unknown_images:
        metrics["dropped_results"] = len(unknown)
    return metrics
