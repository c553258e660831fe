"""Label splits: the paper's "first N usable people in json order", and a seeded random mode."""
import hashlib
import json
from pathlib import Path

import pytest

from semipose.data.errors import AnnotationError
from semipose.data.keypoints import COCO17
from semipose.data.splits import split_labelled, usable_ann_ids, write_split

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _person(ann_id, image_id, labelled=1, iscrowd=0):
    keypoints = [0] * 51
    for j in range(labelled):
        keypoints[3 * j: 3 * j + 3] = [5 + j, 5 + j, 2]
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": iscrowd,
            "bbox": [1, 1, 20, 20], "keypoints": keypoints}


def make_coco():
    """Images in json order 3, 1, 2 (image 2 has no one usable)."""
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 50, "height": 50} for i in (3, 1, 2)]
    annotations = [_person(10, 1), _person(11, 1, labelled=0), _person(30, 3),
                   _person(12, 1, labelled=4), _person(20, 2, iscrowd=1), _person(31, 3)]
    categories = [{"id": 1, "name": "person", "keypoints": list(COCO17.names)}]
    return {"info": {"year": 2017}, "images": images, "annotations": annotations,
            "categories": categories}


def test_usable_people_in_json_order_skip_crowd_and_unlabelled():
    assert usable_ann_ids(make_coco()) == [30, 31, 10, 12]


def test_first_mode_takes_the_first_n_and_keeps_everything_unlabelled_by_default():
    coco = make_coco()
    before = json.dumps(coco)
    labelled, unlabelled, manifest = split_labelled(coco, 3)
    assert [a["id"] for a in labelled["annotations"]] == [10, 30, 31]  # the source's order
    assert [i["id"] for i in labelled["images"]] == [3, 1]
    assert usable_ann_ids(labelled) == [30, 31, 10]  # loading it gives the same people first
    assert labelled["categories"] == coco["categories"] and labelled["info"] == coco["info"]
    assert unlabelled == coco and json.dumps(coco) == before  # the source is untouched
    assert manifest["labelled_ann_ids"] == [30, 31, 10] and manifest["num_usable"] == 4
    assert manifest["seed"] is None and manifest["mode"] == "first"


def test_exclusive_unlabelled_set_holds_every_other_annotation_as_is():
    coco = make_coco()
    _, unlabelled, manifest = split_labelled(coco, 3, unlabelled_includes_labelled=False)
    assert [a["id"] for a in unlabelled["annotations"]] == [11, 12, 20]
    assert [i["id"] for i in unlabelled["images"]] == [1, 2]
    assert unlabelled["annotations"][1] == coco["annotations"][3]  # keypoints kept as they are
    assert manifest["num_unlabelled_annotations"] == 3


def test_random_mode_is_seeded_and_keeps_json_order():
    coco = make_coco()
    picks = {seed: split_labelled(coco, 2, "random", seed)[2]["labelled_ann_ids"]
             for seed in range(20)}
    order = usable_ann_ids(coco)
    for seed, ids in picks.items():
        assert ids == split_labelled(coco, 2, "random", seed)[2]["labelled_ann_ids"]
        assert ids == sorted(ids, key=order.index) and len(set(ids)) == 2
    assert len({tuple(ids) for ids in picks.values()}) > 1


def test_asking_for_too_many_names_the_counts():
    with pytest.raises(AnnotationError, match="asked for 5 .* only 4 are usable"):
        split_labelled(make_coco(), 5)
    with pytest.raises(ValueError):
        split_labelled(make_coco(), 2, mode="best")
    with pytest.raises(ValueError):
        split_labelled(make_coco(), 0)


def test_a_broken_source_is_refused():
    coco = make_coco()
    coco["annotations"][2]["keypoints"] = [1, 2]
    with pytest.raises(AnnotationError, match="annotation id=30"):
        split_labelled(coco, 1)


def test_write_split_files_and_manifest(tmp_path):
    source = tmp_path / "train.json"
    source.write_text(json.dumps(make_coco()))
    manifest = write_split(tmp_path / "split", source, 2, mode="random", seed=7)
    written = {name: json.loads((tmp_path / "split" / name).read_text())
               for name in ("labelled.json", "unlabelled.json", "manifest.json")}
    assert written["manifest.json"] == manifest
    assert manifest["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert (manifest["seed"], manifest["num_labelled"]) == (7, 2)
    assert usable_ann_ids(written["labelled.json"]) == manifest["labelled_ann_ids"]
    assert written["unlabelled.json"] == make_coco()


@pytest.mark.shared_data
def test_first_n_on_real_coco_train_matches_a_plain_reading_of_the_json():
    path = DATA / "coco_mini" / "annotations" / "person_keypoints_train2017.json"
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    coco = json.loads(path.read_text())
    expected = [a["id"] for image in coco["images"] for a in coco["annotations"]
                if a["image_id"] == image["id"] and not a["iscrowd"] and a["num_keypoints"] > 0]
    labelled, _, manifest = split_labelled(coco, 20)
    assert manifest["labelled_ann_ids"] == expected[:20]
    assert manifest["num_usable"] == len(expected) == 86
    assert usable_ann_ids(labelled) == expected[:20]
