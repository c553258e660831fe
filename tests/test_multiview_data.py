"""Multi-view files: the studio's geometry is consistent, bad files fail naming file and field,
the H36M converter reads its pickle layout, and the restricted unpickler refuses code."""
import json
import os
import pickle

import numpy as np
import pytest

from semipose.data.multiview import MultiviewError, load_multiview
from semipose.data.safe_pickle import UnsafePickleError, load_plain_pickle
from semipose.data.synth.studio import generate_studio
from semipose.evaluation.multiview_eval import multiview_scores


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    out = tmp_path_factory.mktemp("studio")
    generate_studio(out, 3, seed=7, num_cameras=3, image_size=(128, 128))
    return out


def _truth_as_predictions(studio):
    coco = json.loads((studio / "annotations" / "multiview.json").read_text())
    keypoints = np.stack([np.asarray(a["keypoints"], float).reshape(-1, 3) for a in coco["annotations"]])
    confidence = (keypoints[..., 2] > 0).astype(float)  # joints outside a picture carry no position
    return coco, {"image_id": np.array([a["image_id"] for a in coco["annotations"]]),
                  "keypoints": np.concatenate([keypoints[..., :2], confidence[..., None]], axis=-1)}


def test_studio_labels_triangulate_back_to_the_3d_truth(studio):
    dataset = load_multiview(studio / "frames.json")
    assert len(dataset.cameras) == 3 and dataset.frames and dataset.frames[0].joints_3d.shape == (17, 3)
    coco, predictions = _truth_as_predictions(studio)
    names = [f"j{k}" for k in range(17)]
    metrics = multiview_scores(dataset, predictions, coco, names)
    # labels are rounded to 1e-3 px and distorted by each lens: undistortion + DLT recover mm exactly
    assert metrics["mpjpe_abs_mm"] < 0.5 and metrics["mpjpe_root_mm"] < 0.5
    assert metrics["jdr"] == 1.0
    shifted = dict(predictions, keypoints=predictions["keypoints"] + np.array([30.0, 0, 0]))
    worse = multiview_scores(dataset, shifted, coco, names)
    assert worse["jdr"] == 0.0 and worse["mpjpe_abs_mm"] > 50


def _edit(studio, tmp_path, edit):
    frames = json.loads((studio / "frames.json").read_text())
    cameras = json.loads((studio / "cameras.json").read_text())
    edit(frames, cameras)
    frames.update(coco=str(studio / "annotations" / "multiview.json"), images=str(studio / "images"),
                  cameras="cameras.json")
    (tmp_path / "cameras.json").write_text(json.dumps(cameras))
    (tmp_path / "frames.json").write_text(json.dumps(frames))
    return tmp_path / "frames.json"


@pytest.mark.parametrize("edit, message", [
    (lambda f, c: c["cameras"]["cam0"]["K"][0].__setitem__(0, float("nan")), r"cameras.cam0.K: contains NaN"),
    (lambda f, c: f["frames"][0].__setitem__("views", dict(list(f["frames"][0]["views"].items())[:1])), r"frames\[0\].views: a frame needs at least 2 views"),
    (lambda f, c: c["cameras"]["cam1"].__setitem__("width", 640), r"frames\[0\].views.cam1: image .* but camera"),
    (lambda f, c: f["frames"][0]["views"].__setitem__("cam9", 1), r"camera 'cam9' is not in the camera file"),
    (lambda f, c: c["cameras"]["cam2"].__setitem__("R", np.eye(3).tolist()[:2]), r"cam2.R: expected shape"),
])
def test_bad_multiview_files_name_file_and_field(studio, tmp_path, edit, message):
    frames = json.loads((studio / "frames.json").read_text())
    if "cam2" in message and len(frames["frames"][0]["views"]) < 3:
        pytest.skip("frame 0 not seen by cam2")
    path = _edit(studio, tmp_path, edit)
    with pytest.raises(MultiviewError, match=message) as error:
        load_multiview(path)
    assert str(tmp_path) in str(error.value)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_restricted_unpickler_reads_arrays_and_refuses_code(tmp_path):
    good = tmp_path / "good.pkl"
    good.write_bytes(pickle.dumps([{"a": np.arange(6.0).reshape(2, 3), "b": (1, "x"), "c": np.float32(2.5)}]))
    loaded = load_plain_pickle(good)
    assert np.array_equal(loaded[0]["a"], np.arange(6.0).reshape(2, 3)) and loaded[0]["c"] == 2.5
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps([_Evil()]))
    with pytest.raises(UnsafePickleError, match=r"evil.pkl: refusing to unpickle '(posix|os|nt).system'"):
        load_plain_pickle(evil)


def test_h36m_pickle_layout_converts_to_frames_and_cameras(tmp_path):
    import cv2
    from semipose.data.converters.h36m import h36m_to_multiview
    rng = np.random.default_rng(0)
    world = rng.uniform(-500, 500, (17, 3)) + np.array([0, 0, 1000.0])
    entries = []
    for camera_id, centre in ((1, [3000.0, 0, 1500]), (2, [0, 3000.0, 1500])):
        from semipose.data.synth.studio import look_at
        R, _ = look_at(np.array(centre), np.array([0, 0, 1000.0]))
        name = f"s_09_act_02_subact_01_ca_0{camera_id}/000001.jpg"
        (tmp_path / "images" / name).parent.mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "images" / name), np.zeros((100, 120, 3), np.uint8))
        camera = {"R": R, "T": np.array(centre).reshape(3, 1), "fx": 500.0, "fy": 500.0, "cx": 60.0, "cy": 50.0,
                  "k": np.zeros((3, 1)), "p": np.zeros((2, 1))}
        cam = R @ (world - np.array(centre)).T
        joints_2d = (500 * cam[:2] / cam[2]).T + np.array([60.0, 50.0])
        entries.append({"image": name, "joints_2d": joints_2d, "joints_3d": world, "joints_vis": np.ones((17, 3)),
                        "subject": 9, "action": 2, "subaction": 1, "image_id": 1, "camera_id": camera_id,
                        "camera": camera})
    (tmp_path / "h36m_validation.pkl").write_bytes(pickle.dumps(entries))
    summary = h36m_to_multiview(tmp_path / "h36m_validation.pkl", tmp_path / "images", tmp_path / "out")
    assert summary == {"images": 2, "frames": 1, "cameras": 2, "single_view_groups_dropped": 0}
    dataset = load_multiview(tmp_path / "out" / "frames.json")
    assert dataset.cameras["S9_ca1"].width == 120 and dataset.root == [0]
    coco = json.loads((tmp_path / "out" / "annotations.json").read_text())
    predictions = {"image_id": np.array([1, 2]),
                   "keypoints": np.stack([np.c_[np.asarray(e["joints_2d"]), np.ones(17)] for e in entries])}
    metrics = multiview_scores(dataset, predictions, coco, [f"j{k}" for k in range(17)])
    assert metrics["mpjpe_abs_mm"] < 0.5  # t = -R T recovers H36M's camera centres
