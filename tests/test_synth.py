"""Synthetic people: COCO format (read by pycocotools), determinism, left/right, visibility,
boxes, heights, the unlabelled pool with detections, argument errors."""
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from semipose.data.synth import Occluder, Scene, SynthConfigError, compose, generate_dataset
from semipose.data.synth.appearance import Appearance
from semipose.data.synth.render import PersonSpec
from semipose.data.synth.skeleton import BASE_SHAPE, BodyPose, View

COCO_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
              "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]
K = {name: i for i, name in enumerate(COCO_NAMES)}
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7],
                 [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5],
                 [4, 6], [5, 7]]
WIDTH, HEIGHT = 320, 256


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    summary = generate_dataset(out, num_people=30, seed=3, val_people=5)
    print(f"\nsynthetic people: {summary['images_per_second']} pictures/s "
          f"({summary['splits']['train']['images']} train pictures)")
    return out, summary


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_train_json_is_coco_keypoints(dataset):
    out, summary = dataset
    coco = COCO(str(out / "annotations" / "train.json"))
    assert len(coco.getAnnIds()) == 30 == summary["splits"]["train"]["people"]
    assert len(COCO(str(out / "annotations" / "val.json")).getAnnIds()) == 5
    category = coco.loadCats(1)[0]
    assert category["keypoints"] == COCO_NAMES
    assert category["skeleton"] == COCO_SKELETON
    assert category["flip_pairs"] == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12],
                                      [13, 14], [15, 16]]
    assert np.allclose(category["sigmas"][:3], [0.026, 0.025, 0.025]) and len(
        category["sigmas"]) == 17
    assert sorted(coco.getImgIds()) == list(range(1, len(coco.getImgIds()) + 1))
    assert sorted(coco.getAnnIds()) == list(range(1, 31))
    for ann in coco.loadAnns(coco.getAnnIds()):
        points = np.array(ann["keypoints"], float).reshape(17, 3)
        assert ann["num_keypoints"] == int((points[:, 2] > 0).sum()) > 0
        assert set(points[:, 2]) <= {0, 1, 2}
        assert np.all(points[points[:, 2] == 0, :2] == 0)
        x, y, w, h = ann["bbox"]
        assert ann["iscrowd"] == 0 and w > 0 and h > 0 and 0 < ann["area"] <= w * h + 1
        assert x >= 0 and y >= 0 and x + w <= WIDTH + 1e-6 and y + h <= HEIGHT + 1e-6
    for image in coco.loadImgs(coco.getImgIds()):
        assert (out / "images" / "train" / image["file_name"]).stat().st_size > 1000


def test_ground_truth_scores_perfect_keypoint_ap(dataset):
    """pycocotools' own OKS evaluation of the labels against themselves gives AP = 1."""
    out, _ = dataset
    truth = COCO(str(out / "annotations" / "train.json"))
    results = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"],
                "score": 1.0} for a in truth.loadAnns(truth.getAnnIds())]
    evaluation = COCOeval(truth, truth.loadRes(results), "keypoints")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_boxes_hold_every_labelled_joint(dataset):
    out, _ = dataset
    for ann in load(out / "annotations" / "train.json")["annotations"]:
        points = np.array(ann["keypoints"], float).reshape(17, 3)
        labelled = points[points[:, 2] > 0, :2]
        x, y, w, h = ann["bbox"]
        assert np.all(labelled >= np.array([x, y]) - 2.0), ann["id"]
        assert np.all(labelled <= np.array([x + w, y + h]) + 2.0), ann["id"]


def files_of(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    first = generate_dataset(tmp_path / "a", 12, seed=5, val_people=2)
    generate_dataset(tmp_path / "b", 12, seed=5, val_people=2)
    generate_dataset(tmp_path / "c", 12, seed=6, val_people=2)
    a, b, c = (files_of(tmp_path / name) for name in "abc")
    assert first["splits"]["train"]["images"] >= 3
    assert a == b
    train = Path("annotations") / "train.json"
    assert a[train] != c[train]
    # changing the val split leaves the train split untouched
    generate_dataset(tmp_path / "d", 12, seed=5, val_people=4)
    assert files_of(tmp_path / "d")[train] == a[train]


PRINT = (20, 230, 40)  # BGR green: no other colour of plain_look comes near it


def plain_look(chest_print=None) -> Appearance:
    return Appearance(skin=(150, 180, 220), hair=(30, 30, 30), shirt=(200, 60, 60),
                      trousers=(60, 60, 60), shoes=(20, 20, 20), chest_print=chest_print)


def frontal_scene(yaw=0.0, pelvis=(160.0, 130.0), occluders=(), look=None):
    """A person standing straight, arms hanging, 200 px tall, on a grey picture."""
    shape = dict(BASE_SHAPE, spine=0.30, shoulder_half=0.11, upper_arm=0.186, forearm=0.146,
                 hip_half=0.085, thigh=0.245, shank=0.246)
    person = PersonSpec(shape, BodyPose(), View(yaw=yaw), 200.0, pelvis, look or plain_look())
    background = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    image, labels, _ = compose(Scene(background, [person], list(occluders)))
    return image, labels[0]


def test_frontal_person_by_hand():
    """Facing the camera, the person's LEFT side is on the picture's RIGHT, at the positions
    the proportions give: shoulders 0.02 below the 0.30 spine, straight arms and legs."""
    _, label = frontal_scene()
    points = label.keypoints
    expected = {"left_shoulder": (160 + 22.0, 130 - 56.0), "right_shoulder": (160 - 22.0, 74.0),
                "left_wrist": (182.0, 130 + 0.052 * 200), "left_hip": (177.0, 130.0),
                "right_knee": (143.0, 130 + 49.0), "left_ankle": (177.0, 130 + 98.2)}
    for name, xy in expected.items():
        assert points[K[name], :2] == pytest.approx(xy, abs=0.6), name
    assert points[K["left_eye"], 0] > points[K["nose"], 0] > points[K["right_eye"], 0]
    assert points[K["left_ear"], 0] > points[K["right_ear"], 0]
    assert np.all(points[:, 2] == 2)
    x, y, w, h = label.bbox
    assert 190 <= h <= 215 and 40 <= w <= 90


def print_pixels_x(image) -> np.ndarray:
    """Columns of the pixels painted (close to) the chest-print colour."""
    distance = np.abs(image.astype(np.int32) - np.array(PRINT)).sum(axis=2)
    return np.nonzero(distance < 60)[1]


@pytest.mark.parametrize("yaw, seen", [(0.0, True), (40.0, True), (-40.0, True), (180.0, False),
                                       (90.0, False)])
def test_shirt_front_differs_from_its_back(yaw, seen):
    """The chest print is seen only when the chest faces the camera, on the body's midline:
    centred between the shoulders, shifted towards the nose's side when the torso turns."""
    image, label = frontal_scene(yaw=yaw, look=plain_look(chest_print=PRINT))
    columns = print_pixels_x(image)
    if not seen:
        assert len(columns) == 0
        return
    assert len(columns) > 20
    points = label.keypoints
    shoulders_mid = (points[K["left_shoulder"], 0] + points[K["right_shoulder"], 0]) / 2
    towards_nose = np.sign(points[K["nose"], 0] - shoulders_mid)
    offset = np.median(columns) - shoulders_mid
    assert abs(offset) < 1.0 if yaw == 0 else (offset * towards_nose > 1.0 and abs(offset) < 15)


def test_back_and_profile_views():
    _, back = frontal_scene(yaw=180.0)
    assert back.keypoints[K["left_shoulder"], 0] < back.keypoints[K["right_shoulder"], 0]
    assert back.keypoints[K["nose"], 2] == 1 and back.keypoints[K["left_eye"], 2] == 1
    _, profile = frontal_scene(yaw=90.0)  # shows the person's right side, facing right
    points = profile.keypoints
    assert points[K["right_ear"], 2] == 2 and points[K["left_ear"], 2] == 1
    assert points[K["left_eye"], 2] == 1 and points[K["right_eye"], 2] == 2
    assert points[K["nose"], 0] > points[K["right_ear"], 0]
    assert points[K["left_shoulder"], 2] == 1  # behind the torso
    assert points[K["right_shoulder"], 2] == 2


def test_placed_occluder_hides_the_wrist_only():
    wrist = np.array([182.0, 140.4])
    square = wrist + np.array([[-8, -8], [8, -8], [8, 8], [-8, 8]])
    _, label = frontal_scene(occluders=[Occluder(square, (0, 200, 0))])
    assert label.keypoints[K["left_wrist"], 2] == 1
    assert label.keypoints[K["left_wrist"], :2] == pytest.approx(wrist, abs=0.6)
    assert label.keypoints[K["right_wrist"], 2] == 2
    assert label.keypoints[K["left_elbow"], 2] == 2


def test_joints_outside_the_picture_are_zero():
    image, label = frontal_scene(pelvis=(160.0, 200.0))  # ankles at y = 298 > 256
    for name in ("left_ankle", "right_ankle"):
        assert list(label.keypoints[K[name]]) == [0, 0, 0]
    assert label.keypoints[K["left_knee"], 2] == 2
    x, y, w, h = label.bbox
    assert y + h == pytest.approx(HEIGHT)


@pytest.mark.parametrize("height_range", [(40, 250), (60, 70)])
def test_person_heights_follow_the_range(tmp_path, height_range):
    generate_dataset(tmp_path, 30, seed=11, val_people=0, height_range=height_range)
    boxes = np.array([a["bbox"] for a in load(tmp_path / "annotations/train.json")["annotations"]])
    low, high = height_range
    # raised arms reach ~1.26 heights above the floor: no box is much taller than that
    assert np.all(np.maximum(boxes[:, 2], boxes[:, 3]) <= 1.3 * high)
    if high <= 100:  # small people fit in the picture: the upright ones are about `low` tall
        assert boxes[:, 3].max() >= 0.85 * low


def test_unlabelled_pool_with_detections(tmp_path):
    summary = generate_dataset(tmp_path, 20, seed=2, unlabelled_only=True)
    pool = COCO(str(tmp_path / "annotations" / "unlabelled.json"))
    assert len(pool.getAnnIds()) == 0 and len(pool.getImgIds()) == summary["splits"][
        "unlabelled"]["images"]
    detections = load(tmp_path / "annotations" / "detections.json")
    assert len(detections) == 20
    image_ids = set(pool.getImgIds())
    for box in detections:
        assert box["image_id"] in image_ids and box["category_id"] == 1
        assert 0.3 < box["score"] <= 1.0
        x, y, w, h = box["bbox"]
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= WIDTH + 1e-6
    assert not (tmp_path / "annotations" / "train.json").exists()
    assert len(list((tmp_path / "images" / "unlabelled").glob("*.jpg"))) == len(image_ids)


@pytest.mark.parametrize("arguments, field", [
    (dict(num_people=0), "num_people"), (dict(seed=-1), "seed"),
    (dict(jpeg_quality=(0, 50)), "jpeg_quality"), (dict(image_size=(16, 16)), "image_size"),
    (dict(height_range=(100, 50)), "height_range"), (dict(val_people=-2), "val_people")])
def test_bad_arguments_name_the_field(tmp_path, arguments, field):
    call = dict(num_people=5, seed=0) | arguments
    with pytest.raises(SynthConfigError, match=field):
        generate_dataset(tmp_path, **call)
