"""Evaluation rules taken from the reference (xierc/Semi_Human_Pose, HRNet's COCO dataset):
the OKS-NMS area is the padded crop's area, and ground-truth validation skips people without a
labelled keypoint. Hand-computed numbers."""
import json
import math

import numpy as np
import pytest

from semipose.api import load_config
from semipose.data.build import build_validation
from semipose.evaluation.inference import to_coco_results
from semipose.evaluation.oks import oks_nms

SIGMAS = np.array([0.1, 0.1])


def _two_close_people(record_area: float, crop_area: float) -> dict:
    """Two people in one image whose joints are 10 px apart, the better one first."""
    first = np.array([[100.0, 100.0, 0.9], [100.0, 150.0, 0.9]])
    second = first + np.array([10.0, 0.0, 0.0])
    return {"keypoints": np.stack([first, second]).astype(np.float32), "image_id": np.array([1, 1]),
            "box_score": np.array([0.9, 0.8]), "area": np.array([record_area] * 2),
            "crop_area": np.array([crop_area] * 2)}


def test_nms_area_is_the_padded_crop_by_default_and_the_record_on_request():
    # a 30 x 80 box at input aspect 0.75 widens to 60 x 80, padded x1.25: 75 x 100
    crop_area, record_area = 75.0 * 100.0, 900.0
    predictions = _two_close_people(record_area, crop_area)
    # OKS = exp(-d^2 / (2 sigma)^2 / area / 2) for both joints, d = 10, sigma = 0.1
    oks_crop = math.exp(-100 / 0.04 / crop_area / 2)      # 0.8465: below 0.9, both kept
    oks_record = math.exp(-100 / 0.04 / record_area / 2)  # 0.2494
    assert oks_crop < 0.9 and oks_record < 0.8
    kept_crop = oks_nms(to_coco_results(predictions), SIGMAS, thr=0.8)        # 0.8465 > 0.8: dropped
    kept_record = oks_nms(to_coco_results(predictions, nms_area="record"), SIGMAS, thr=0.8)
    assert [r["area"] for r in kept_crop] == [crop_area]
    assert len(kept_record) == 2 and kept_record[0]["area"] == record_area
    assert len(oks_nms(to_coco_results(predictions), SIGMAS, thr=0.85)) == 2


def _coco_with_an_unlabelled_person(folder):
    from PIL import Image
    (folder / "img").mkdir()
    Image.new("RGB", (200, 160)).save(folder / "img" / "a.jpg")
    labelled = [60, 40, 2] * 17
    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 200, "height": 160}],
            "categories": [{"id": 1, "name": "person", "keypoints": [f"k{i}" for i in range(17)],
                            "skeleton": []}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [10, 20, 30, 80],
                 "area": 900.0, "num_keypoints": 17, "keypoints": labelled},
                {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [100, 20, 30, 80],
                 "area": 900.0, "num_keypoints": 0, "keypoints": [0] * 51}]}
    (folder / "val.json").write_text(json.dumps(coco))
    return load_config(None, [f"data.val.images={folder}/img", f"data.val.json={folder}/val.json",
                              "data.keypoints.allow_missing=true"])


def test_ground_truth_validation_skips_people_without_labelled_keypoints(tmp_path):
    config = _coco_with_an_unlabelled_person(tmp_path)
    val, _ = build_validation(config.data)
    assert [record.ann_id for record in val.records] == [1]
    sample = val[0]
    assert float(sample["crop_area"]) == pytest.approx(75.0 * 100.0)   # the hand-computed padded crop
    assert float(sample["area"]) == 900.0
