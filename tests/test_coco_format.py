"""COCO json loading: hand-built cases, pycocotools as the reference on real files, fuzzing."""
import copy
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image
from pycocotools.coco import COCO

from semipose.data.coco_format import (load_coco_json, load_person_records,
                                       records_from_coco_dict, records_from_detections,
                                       records_from_image_folder)
from semipose.data.errors import AnnotationError, ImageReadError
from semipose.data.keypoints import COCO17

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
COCO_SAMPLE = DATA / "mmpose_testdata" / "coco"


def _keypoints(*labelled):
    """17 x [x, y, v]: joint j at (10 + j, 20 + j) with v = 2 for j in labelled, else zeros."""
    flat = [0] * 51
    for j in labelled:
        flat[3 * j: 3 * j + 3] = [10 + j, 20 + j, 2]
    return flat


def make_coco():
    """Images listed 2 then 1, annotations listed image-1 first: records follow the images."""
    images = [{"id": 2, "file_name": "b.jpg", "width": 100, "height": 80},
              {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}]
    annotations = [
        {"id": 10, "image_id": 1, "bbox": [5, 5, 30, 40], "keypoints": _keypoints(0, 5, 6),
         "iscrowd": 0, "area": 900.0, "category_id": 1},
        {"id": 20, "image_id": 2, "bbox": [1, 2, 3, 4], "keypoints": _keypoints(),
         "iscrowd": 0, "category_id": 1},  # no labelled keypoint
        {"id": 21, "image_id": 2, "bbox": [10, 10, 20, 20], "keypoints": _keypoints(1),
         "iscrowd": 1, "category_id": 1},  # crowd
        {"id": 22, "image_id": 2, "bbox": [90, 70, 20, 20], "keypoints": _keypoints(3, 4),
         "iscrowd": 0, "category_id": 1},  # partly outside: clipped
        {"id": 11, "image_id": 1, "bbox": [0, 0, 5, 5], "keypoints": _keypoints(2),
         "iscrowd": 0, "category_id": 1},
    ]
    categories = [{"id": 1, "name": "person", "keypoints": list(COCO17.names),
                   "skeleton": [[16, 14]]}]
    return {"images": images, "annotations": annotations, "categories": categories}


def _load(coco, **options):
    return records_from_coco_dict(coco, "/images", "t.json", **options)


def test_training_records_follow_image_order_and_skip_crowd_and_empty_people():
    records, meta, report = _load(make_coco())
    assert [r.ann_id for r in records] == [22, 10, 11]
    assert report.kept == 3 and report.skipped == {"crowd": 1, "no_keypoints": 1}
    assert report.repaired == {"bbox_clipped": 1}
    assert records[0].bbox == (90.0, 70.0, 10.0, 10.0)
    assert records[0].image_path == Path("/images/b.jpg") and records[0].image_wh == (100, 80)
    first = records[1]
    assert first.keypoints.dtype == np.float32 and first.keypoints.shape == (17, 3)
    np.testing.assert_array_equal(first.keypoints[5], [15, 25, 2])
    assert (first.num_keypoints, first.area, first.iscrowd, first.box_score) == (3, 900.0, 0, 1.0)
    assert records[2].area == 25.0  # no "area" field: the box area
    assert meta == dataclasses.replace(COCO17, skeleton=((15, 13),))


def test_evaluation_keeps_every_non_crowd_box():
    records, _, report = _load(make_coco(), for_training=False)
    assert [r.ann_id for r in records] == [20, 22, 10, 11]
    assert report.skipped == {"crowd": 1}


def test_degenerate_or_missing_box_is_rebuilt_from_keypoints():
    coco = make_coco()
    coco["annotations"][0]["bbox"] = [5, 5, 0, 40]
    del coco["annotations"][4]["bbox"]
    coco["annotations"][4]["keypoints"] = _keypoints(2, 9)
    records, _, report = _load(coco)
    by_id = {r.ann_id: r for r in records}
    assert by_id[10].bbox == (10.0, 20.0, 6.0, 6.0)  # joints 0..6 -> x 10..16, y 20..26
    assert by_id[11].bbox == (12.0, 22.0, 7.0, 7.0)
    assert report.repaired["bbox_from_keypoints"] == 2


BAD_ANNOTATIONS = [
    ("keypoints", [1, 2, 3], "bad_keypoints"),
    ("keypoints", ["a"] * 51, "bad_keypoints"),
    ("keypoints", [float("nan")] * 51, "bad_keypoints"),
    ("keypoints", [1e300] * 51, "bad_keypoints"),
    ("keypoints", [10, 10, 3] * 17, "bad_keypoints"),
    ("bbox", [5, 5, "30", 40], "bad_bbox"),
    ("bbox", [500, 500, 30, 40], "bad_bbox"),
    ("bbox", [5, 5, -30, 40], "bad_bbox"),  # with a single labelled joint: cannot rebuild
    ("iscrowd", 5, "bad_annotation"),
    ("area", -1, "bad_annotation"),
    ("image_id", 99, "missing_image_entry"),
    ("id", "10", "bad_annotation"),
    ("id", 11, "duplicate_ann_id"),
]


@pytest.mark.parametrize("field, value, reason", BAD_ANNOTATIONS)
def test_bad_annotation_raises_naming_file_id_and_field_or_is_skipped(field, value, reason):
    coco = make_coco()
    coco["annotations"][4]["keypoints"] = _keypoints(2)
    coco["annotations"][0][field] = value
    if field == "bbox" and value[2] == -30:
        coco["annotations"][0]["keypoints"] = _keypoints(2)
    with pytest.raises(AnnotationError) as caught:
        _load(coco)
    message = str(caught.value)
    assert message.startswith("t.json") and caught.value.reason == reason
    assert field in message and "annotation id=" in message or field == "id"
    records, _, report = _load(coco, on_bad_sample="skip")
    assert report.skipped[reason] == 1 and len(report.messages) == 1
    assert 10 not in [r.ann_id for r in records] and len(records) == 2


@pytest.mark.parametrize("change, reason", [
    (lambda c: c["images"].append(dict(c["images"][0])), "duplicate_image_id"),
    (lambda c: c["images"][0].update(file_name="../etc/b.jpg"), "image_outside_root"),
    (lambda c: c["images"][0].update(file_name="/abs/b.jpg"), "image_outside_root"),
    (lambda c: c["images"][0].update(width=0), "bad_image_entry"),
    (lambda c: c["images"][0].update(file_name=""), "bad_image_entry"),
])
def test_bad_image_entries(change, reason):
    coco = make_coco()
    change(coco)
    with pytest.raises(AnnotationError) as caught:
        _load(coco)
    assert caught.value.reason == reason and "images[]" in str(caught.value)
    records, _, report = _load(coco, on_bad_sample="skip")
    assert report.skipped[reason] == 1


def test_outside_root_is_accepted_when_allowed():
    coco = make_coco()
    coco["images"][0]["file_name"] = "../elsewhere/b.jpg"
    records, _, _ = _load(coco, allow_outside_root=True)
    assert records[0].image_path == Path("/images/../elsewhere/b.jpg")


def test_annotations_of_a_skipped_image_are_counted_not_kept():
    coco = make_coco()
    coco["images"][0]["height"] = "tall"
    records, _, report = _load(coco, on_bad_sample="skip")
    assert [r.ann_id for r in records] == [10, 11]
    assert report.skipped == {"bad_image_entry": 1, "image_skipped": 3}


@pytest.mark.parametrize("content, match", [
    (None, "file not found"), (b"", "empty file"), (b'{"images": [', "line 1 column"),
    (b"[1, 2]", "top level is list"), (b'{"images": [], "annotations": []}', "'categories'"),
    (b'{"images": {}, "annotations": [], "categories": []}', "'images'"),
    (b'{"images": [3], "annotations": [], "categories": []}', "entry 0 is int"),
    (b"\xff\xfe\x00", "not"),
])
def test_load_coco_json_errors_name_the_file(tmp_path, content, match):
    path = tmp_path / "ann.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AnnotationError, match=match) as caught:
        load_coco_json(path)
    assert str(path) in str(caught.value)


def test_meta_given_must_match_the_category():
    with pytest.raises(AnnotationError, match="17 keypoints"):
        _load(make_coco(), meta=COCO17.__class__(("a",), (), (), None))


@pytest.mark.shared_data
@pytest.mark.parametrize("for_training", [True, False])
def test_real_coco_sample_agrees_with_pycocotools(for_training):
    json_path = COCO_SAMPLE / "test_coco.json"
    if not json_path.exists():
        pytest.skip(f"shared data absent: {json_path}")
    records, meta, report = load_person_records(json_path, COCO_SAMPLE, for_training=for_training)
    reference = COCO(str(json_path))
    json_image_order = [i["id"] for i in json.loads(json_path.read_text())["images"]]
    expected = [a for image_id in json_image_order
                for a in reference.loadAnns(reference.getAnnIds(imgIds=[image_id]))
                if not a["iscrowd"] and (a["num_keypoints"] > 0 or not for_training)]
    assert [r.ann_id for r in records] == [a["id"] for a in expected]
    for record, ann in zip(records, expected):
        np.testing.assert_array_equal(record.keypoints.reshape(-1), ann["keypoints"])
        np.testing.assert_allclose(record.bbox, ann["bbox"])
        assert record.area == ann["area"] and record.image_path.exists()
    assert meta == COCO17 and report.kept == len(expected)


@pytest.mark.shared_data
def test_real_detections(tmp_path):
    det_path = COCO_SAMPLE / "test_coco_det_AP_H_56.json"
    if not det_path.exists():
        pytest.skip(f"shared data absent: {det_path}")
    coco = load_coco_json(COCO_SAMPLE / "test_coco.json")
    detections = json.loads(det_path.read_text())
    records, report = records_from_detections(det_path, coco, COCO_SAMPLE, score_thr=0.5)
    assert len(records) == sum(d["score"] >= 0.5 for d in detections) == report.kept
    assert report.skipped["low_score"] == len(detections) - len(records)
    assert all(r.ann_id == -1 and r.num_keypoints == 0 and r.keypoints.shape == (17, 3)
               for r in records)
    kept = [d for d in detections if d["score"] >= 0.5]
    assert [r.box_score for r in records] == [d["score"] for d in kept]

    orphan = tmp_path / "det.json"
    orphan.write_text(json.dumps(detections[:2] + [dict(detections[0], image_id=12345)]))
    with pytest.raises(AnnotationError, match="12345"):
        records_from_detections(orphan, coco, COCO_SAMPLE)
    records, report = records_from_detections(orphan, coco, COCO_SAMPLE, on_bad_sample="skip")
    assert len(records) == 2 and report.skipped["missing_image_entry"] == 1


def test_image_folder_gives_whole_image_boxes(tmp_path):
    Image.new("RGB", (30, 20)).save(tmp_path / "b.png")
    Image.new("RGB", (7, 9)).save(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("ignored")
    records = records_from_image_folder(tmp_path)
    assert [(r.image_path.name, r.image_id, r.bbox) for r in records] == [
        ("a.jpg", 1, (0.0, 0.0, 7.0, 9.0)), ("b.png", 2, (0.0, 0.0, 30.0, 20.0))]
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ImageReadError, match="broken.jpg"):
        records_from_image_folder(tmp_path)
    assert len(records_from_image_folder(tmp_path, on_bad_sample="skip")) == 2


# ---- fuzzing: any json-shaped garbage gives records or an AnnotationError, nothing else ----
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=8)
FIELDS = {"images": ["id", "file_name", "width", "height"],
          "annotations": ["id", "image_id", "bbox", "keypoints", "iscrowd", "area", "category_id"],
          "categories": ["id", "name", "keypoints", "skeleton", "sigmas", "flip_pairs"]}


@st.composite
def mutated_coco(draw):
    coco = make_coco()
    for _ in range(draw(st.integers(1, 4))):
        section = draw(st.sampled_from(sorted(FIELDS) + ["top", "keypoint_entry"]))
        if section == "top":
            coco[draw(st.sampled_from(sorted(FIELDS)))] = draw(json_values)
            continue
        if section == "keypoint_entry":
            entries = coco["annotations"]
            if isinstance(entries, list) and entries and isinstance(entries[0], dict) \
                    and isinstance(entries[0].get("keypoints"), list) and entries[0]["keypoints"]:
                keypoints = entries[0]["keypoints"]
                keypoints[draw(st.integers(0, len(keypoints) - 1))] = draw(json_values)
            continue
        entries = coco[section]
        if not isinstance(entries, list) or not entries:
            continue
        entry = entries[draw(st.integers(0, len(entries) - 1))]
        if not isinstance(entry, dict):
            continue
        key = draw(st.sampled_from(FIELDS[section]))
        if draw(st.booleans()):
            entry.pop(key, None)
        else:
            entry[key] = draw(json_values)
    return coco


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(coco=mutated_coco(), policy=st.sampled_from(["error", "skip"]),
       for_training=st.booleans(), cut=st.one_of(st.none(), st.integers(0, 2000)))
def test_fuzzed_files_load_or_raise_annotation_error(coco, policy, for_training, cut):
    text = json.dumps(coco)
    if cut is not None:
        text = text[:cut]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.json"
        path.write_text(text)
        try:
            records, _, report = load_person_records(path, folder, on_bad_sample=policy,
                                                     for_training=for_training)
        except AnnotationError:
            return
    assert report.kept == len(records)
    for record in records:
        assert np.isfinite(record.keypoints).all() and record.bbox[2] > 0 and record.bbox[3] > 0


def test_the_unmutated_fuzz_base_loads():
    assert len(_load(copy.deepcopy(make_coco()))[0]) == 3
