"""COCO keypoint evaluation: checked against pycocotools called directly on the same files."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from semipose.evaluation import (
    STAT_NAMES,
    CocoEvalError,
    EmptyResultsWarning,
    evaluate_coco_keypoints,
    flatten_stats,
    format_table,
    write_json,
)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
COCO_MINI_VAL = SHARED_DATA / "coco_mini" / "annotations" / "person_keypoints_val2017.json"
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62,
                        1.07, 1.07, .87, .87, .89, .89]) / 10.0
FIVE_JOINT_SIGMAS = np.array([0.05, 0.08, 0.08, 0.1, 0.1])


def make_person(ann_id, image_id, origin, scale, area, num_joints, hidden=()):
    """A person whose joints zigzag down from `origin`, some hidden (v=0), of the given area."""
    keypoints = []
    for joint in range(num_joints):
        if joint in hidden:
            keypoints += [0, 0, 0]
        else:
            keypoints += [origin[0] + scale * (joint % 3), origin[1] + scale * joint, 2]
    height = scale * (num_joints - 1)
    width = 2 * scale
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "keypoints": keypoints,
            "num_keypoints": num_joints - len(hidden), "area": area,
            "bbox": [origin[0], origin[1], width, height], "iscrowd": 0}


def make_gt(num_joints):
    """2 images, 3 people (medium, small, large), one category 'person' with K joints."""
    return {
        "images": [{"id": 1, "width": 640, "height": 480, "file_name": "a.jpg"},
                   {"id": 2, "width": 640, "height": 480, "file_name": "b.jpg"}],
        "annotations": [
            make_person(10, 1, (50, 40), 12, 3000.0, num_joints, hidden=(1,)),
            make_person(11, 1, (300, 20), 4, 500.0, num_joints),
            make_person(12, 2, (100, 60), 20, 20000.0, num_joints, hidden=(0, num_joints - 1)),
        ],
        "categories": [{"id": 1, "name": "person",
                        "keypoints": [f"joint{j}" for j in range(num_joints)]}],
    }


def gt_as_predictions(gt):
    """Every annotated person predicted exactly, with keypoint scores 1 and person score 1."""
    results = []
    for annotation in gt["annotations"]:
        if annotation["num_keypoints"] == 0 or annotation["iscrowd"]:
            continue
        keypoints = np.asarray(annotation["keypoints"], dtype=np.float64).reshape(-1, 3)
        keypoints[:, 2] = 1.0
        results.append({"image_id": annotation["image_id"], "category_id": 1,
                        "keypoints": keypoints.ravel().tolist(), "score": 1.0})
    return results


def perturbed(results, seed=0, pixel_noise=4.0):
    """The results with gaussian noise on x, y and random person scores (fixed seed)."""
    rng = np.random.default_rng(seed)
    noisy = []
    for result in results:
        keypoints = np.asarray(result["keypoints"]).reshape(-1, 3).copy()
        keypoints[:, :2] += rng.normal(0.0, pixel_noise, size=(len(keypoints), 2))
        noisy.append({**result, "keypoints": keypoints.ravel().tolist(),
                      "score": float(rng.uniform(0.1, 1.0))})
    return noisy


def pycocotools_reference(gt_file, results_file, sigmas):
    """The ten stats of pycocotools run directly, the way its own demo does."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_file))
        coco_dt = coco_gt.loadRes(str(results_file))
        evaluator = COCOeval(coco_gt, coco_dt, iouType="keypoints")
        evaluator.params.kpt_oks_sigmas = np.asarray(sigmas)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats


def needs_coco_mini():
    if not COCO_MINI_VAL.is_file():
        pytest.skip(f"shared data absent: {COCO_MINI_VAL}")
    return json.loads(COCO_MINI_VAL.read_text())


@pytest.mark.parametrize("num_joints, sigmas", [(17, COCO_SIGMAS), (5, FIVE_JOINT_SIGMAS)])
def test_ground_truth_as_predictions_scores_one(num_joints, sigmas):
    gt = make_gt(num_joints)
    metrics = evaluate_coco_keypoints(gt, gt_as_predictions(gt), sigmas)
    assert list(metrics) == list(STAT_NAMES)
    for name in ("AP", "AP50", "AP75", "APl", "AR", "ARl", "APm", "ARm"):
        assert metrics[name] == pytest.approx(1.0, abs=1e-12), name


@pytest.mark.shared_data
def test_ground_truth_as_predictions_on_coco_mini():
    gt = needs_coco_mini()
    metrics = evaluate_coco_keypoints(COCO_MINI_VAL, gt_as_predictions(gt), COCO_SIGMAS)
    assert metrics["AP"] == 1.0 and metrics["AR"] == 1.0


@pytest.mark.parametrize("num_joints, sigmas", [(17, COCO_SIGMAS), (5, FIVE_JOINT_SIGMAS)])
def test_perturbed_predictions_match_pycocotools(tmp_path, num_joints, sigmas):
    gt = make_gt(num_joints)
    gt_file = tmp_path / "gt.json"
    gt_file.write_text(json.dumps(gt))
    results = perturbed(gt_as_predictions(gt), pixel_noise=3.0)
    results_file = tmp_path / "results.json"
    metrics = evaluate_coco_keypoints(gt, results, sigmas, results_path=results_file)

    reference = pycocotools_reference(gt_file, results_file, sigmas)
    assert [metrics[name] for name in STAT_NAMES] == reference.tolist()
    assert 0.0 < metrics["AP"] < 1.0  # the noise really moved the answer


@pytest.mark.shared_data
def test_perturbed_coco_mini_matches_pycocotools(tmp_path):
    gt = needs_coco_mini()
    results_file = tmp_path / "results.json"
    results_file.write_text(json.dumps(perturbed(gt_as_predictions(gt), seed=3)))
    metrics = evaluate_coco_keypoints(COCO_MINI_VAL, results_file, COCO_SIGMAS)
    reference = pycocotools_reference(COCO_MINI_VAL, results_file, COCO_SIGMAS)
    assert [metrics[name] for name in STAT_NAMES] == reference.tolist()


@pytest.mark.parametrize("num_joints, sigmas", [(17, COCO_SIGMAS), (5, FIVE_JOINT_SIGMAS)])
def test_backends_agree(num_joints, sigmas):
    pytest.importorskip("faster_coco_eval")
    gt = make_gt(num_joints)
    results = perturbed(gt_as_predictions(gt), seed=1, pixel_noise=3.0)
    slow = evaluate_coco_keypoints(gt, results, sigmas, backend="pycocotools")
    fast = evaluate_coco_keypoints(gt, results, sigmas, backend="faster_coco_eval")
    for name in STAT_NAMES:
        assert math.isclose(slow[name], fast[name], abs_tol=1e-6), name


def test_ground_truth_dict_is_not_modified():
    gt = make_gt(17)
    untouched = copy.deepcopy(gt)
    evaluate_coco_keypoints(gt, perturbed(gt_as_predictions(gt)), COCO_SIGMAS)
    assert gt == untouched


def test_empty_results_give_zeros_and_a_warning():
    with pytest.warns(EmptyResultsWarning):
        metrics = evaluate_coco_keypoints(make_gt(5), [], FIVE_JOINT_SIGMAS)
    assert metrics == dict.fromkeys(STAT_NAMES, 0.0)


def test_results_on_unknown_images_are_named_or_dropped():
    gt = make_gt(5)
    results = gt_as_predictions(gt)
    stray = [{**results[0], "image_id": 999}, {**results[1], "image_id": 998}]
    with pytest.raises(CocoEvalError, match=r"\[998, 999\]"):
        evaluate_coco_keypoints(gt, results + stray, FIVE_JOINT_SIGMAS)
    metrics = evaluate_coco_keypoints(gt, results + stray, FIVE_JOINT_SIGMAS,
                                      drop_unknown_images=True)
    assert metrics["dropped_results"] == 2 and metrics["AP"] == 1.0


def test_bad_inputs_name_the_field():
    gt = make_gt(5)
    results = gt_as_predictions(gt)
    with pytest.raises(CocoEvalError, match="'keypoints'.*3 \\* 17"):
        evaluate_coco_keypoints(gt, results, COCO_SIGMAS)  # 5-joint gt, 17 sigmas
    with pytest.raises(CocoEvalError, match=r"result #0 lacks field\(s\) \['score'\]"):
        evaluate_coco_keypoints(gt, [{k: v for k, v in results[0].items() if k != "score"}],
                                FIVE_JOINT_SIGMAS)
    del gt["annotations"][1]["area"]
    with pytest.raises(CocoEvalError, match=r"annotations\[1\] lacks field\(s\) \['area'\]"):
        evaluate_coco_keypoints(gt, results, FIVE_JOINT_SIGMAS)
    with pytest.raises(CocoEvalError, match="unknown backend"):
        evaluate_coco_keypoints(make_gt(5), results, FIVE_JOINT_SIGMAS, backend="nope")


def test_bad_gt_file_is_named(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(CocoEvalError, match="broken.json"):
        evaluate_coco_keypoints(broken, [], COCO_SIGMAS)


def test_category_choice():
    gt = make_gt(5)
    gt["categories"] = [{"id": 1, "name": "person"}, {"id": 2, "name": "dog"}]
    metrics = evaluate_coco_keypoints(gt, gt_as_predictions(gt), FIVE_JOINT_SIGMAS)
    assert metrics["AP"] == 1.0  # the person category was chosen among two
    gt["categories"] = [{"id": 1, "name": "figure"}, {"id": 2, "name": "dog"}]
    with pytest.raises(CocoEvalError, match="pass category_id"):
        evaluate_coco_keypoints(gt, gt_as_predictions(gt), FIVE_JOINT_SIGMAS)
    metrics = evaluate_coco_keypoints(gt, gt_as_predictions(gt), FIVE_JOINT_SIGMAS,
                                      category_id=1)
    assert metrics["AP"] == 1.0


def test_flatten_stats_names_the_coco_order():
    assert flatten_stats(np.arange(10) / 10) == {name: i / 10 for i, name in enumerate(STAT_NAMES)}


def test_format_table_and_write_json(tmp_path):
    row = {"name": "teacher", "AP": 0.73125, "steps": 200, "per_joint": [0.5, float("nan")]}
    single = format_table(row, title="val").splitlines()
    assert single[0] == "val" and single[1].split() == ["metric", "value"]
    assert "0.7312" in single[4] or "0.7313" in single[4]
    assert single[-1].split() == ["per_joint", "0.5000", "nan"]
    rows = format_table([row, {"name": "student", "AR": 0.5}]).splitlines()
    assert rows[0].split() == ["name", "AP", "steps", "per_joint", "AR"]
    assert rows[3].split() == ["student", "-", "-", "-", "0.5000"]

    path = write_json(tmp_path / "deep" / "metrics.json", {**row, "AP": np.float32(0.5)})
    assert json.loads(path.read_text())["per_joint"] == [0.5, None]
    assert json.loads(path.read_text())["AP"] == 0.5
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]  # no temporary left


def test_quiet_unless_verbose(capsys):
    gt = make_gt(5)
    evaluate_coco_keypoints(gt, gt_as_predictions(gt), FIVE_JOINT_SIGMAS)
    assert capsys.readouterr().out == ""
    evaluate_coco_keypoints(gt, gt_as_predictions(gt), FIVE_JOINT_SIGMAS, verbose=True)
    assert "Average Precision" in capsys.readouterr().out


def test_missing_faster_coco_eval_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "faster_coco_eval", None)  # makes the import fail
    gt = make_gt(5)
    with pytest.raises(CocoEvalError, match="faster-coco-eval"):
        evaluate_coco_keypoints(gt, gt_as_predictions(gt), FIVE_JOINT_SIGMAS,
                                backend="faster_coco_eval")
