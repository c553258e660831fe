"""Pose on people nobody annotated: predict on images and videos, eval on detected boxes, and the
Python Predictor, with a real (tiny) trained checkpoint and ONNX detectors built in the test."""
import json

import cv2
import numpy as np
import pytest

from semipose.api import Predictor, load_config
from semipose.cli.main import main
from tests.conftest import synth_overrides
from tests.onnx_detectors import write_fixed_detector

pytest.importorskip("onnxruntime")
INPUT_HW = (64, 64)  # the test detectors' input; the synthetic images are 160 x 128 -> scale 0.4
SCALE = 0.4


@pytest.fixture(scope="module")
def trained(synth_dir, tmp_path_factory):
    """(config path, checkpoint path) of a seconds-long run on the synthetic people."""
    run_dir = tmp_path_factory.mktemp("predict") / "run"
    base = run_dir.parent / "base.yaml"
    base.write_text("model: {name: tiny}\n")
    assert main(["train", str(base), *synth_overrides(synth_dir, run_dir)]) == 0
    return run_dir / "config.yaml", run_dir / "best.pt"


@pytest.fixture
def detector(tmp_path):
    """Two people per 160 x 128 image, at known image boxes (canvas boxes / 0.4), plus a non-person."""
    image_boxes = np.array([[10, 20, 40, 90], [90, 10, 60, 100]], float)  # x, y, w, h
    canvas = np.column_stack([image_boxes[:, :2], image_boxes[:, :2] + image_boxes[:, 2:]]) * SCALE
    dets = np.column_stack([np.vstack([canvas, [[0, 0, 20, 20]]]), [0.9, 0.8, 0.99]])
    path = write_fixed_detector(tmp_path / "det.onnx", dets, [0, 0, 5], input_hw=INPUT_HW)
    return path, image_boxes


def _predict(trained, *arguments):
    config, checkpoint = trained
    return main(["predict", str(config), f"checkpoint={checkpoint}", *arguments])


def test_predict_one_photo_with_a_detector_matches_the_python_api(trained, synth_dir, detector, tmp_path):
    photo = sorted((synth_dir / "images" / "val").iterdir())[0]
    assert _predict(trained, "--images", str(photo), "--detector", str(detector[0]), "--out", str(tmp_path / "p")) == 0
    results = json.loads((tmp_path / "p" / "results.json").read_text())
    assert [r["file_name"] for r in results] == [photo.name] * 2  # the non-person box is gone
    assert sorted(r["box_score"] for r in results) == pytest.approx([0.8, 0.9])
    predictor = Predictor(load_config(str(trained[0])), str(trained[1]), device="cpu", detector=detector[0])
    np.testing.assert_allclose(predictor.boxes(cv2.imread(str(photo))[..., ::-1])[:, :4], detector[1], atol=1e-3)
    direct = predictor(str(photo))  # crops cut from the array, not through the dataset: the same keypoints
    from_cli = np.array([r["keypoints"] for r in results]).reshape(2, -1, 3)
    np.testing.assert_allclose(from_cli[:, :, :2], direct[:, :, :2], atol=2e-3)
    assert (tmp_path / "p" / "drawn" / photo.name).is_file()


def test_a_folder_needs_a_box_source(trained, synth_dir, capsys):
    assert _predict(trained, "--images", str(synth_dir / "images" / "val")) == 2
    err = capsys.readouterr().err
    assert "where are the people? give --detector MODEL.onnx" in err and "--whole-image" in err


def test_same_stem_different_format_both_drawn(trained, synth_dir, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    image = cv2.imread(str(sorted((synth_dir / "images" / "val").iterdir())[0]))
    cv2.imwrite(str(photos / "a.jpg"), image)
    cv2.imwrite(str(photos / "a.png"), image[:, ::-1])
    assert _predict(trained, "--images", str(photos), "--whole-image", "--out", str(tmp_path / "p")) == 0
    assert sorted(p.name for p in (tmp_path / "p" / "drawn").iterdir()) == ["a.jpg", "a.png"]
    results = json.loads((tmp_path / "p" / "results.json").read_text())
    assert sorted(r["file_name"] for r in results) == ["a.jpg", "a.png"]


def test_predictor_takes_paths_arrays_and_empty_box_lists(trained, synth_dir):
    predictor = Predictor(load_config(str(trained[0])), str(trained[1]), device="cpu")
    photo = sorted((synth_dir / "images" / "val").iterdir())[0]
    image_rgb = cv2.imread(str(photo))[..., ::-1].copy()
    box = [[10, 20, 40, 90]]
    np.testing.assert_array_equal(predictor(str(photo), box), predictor(image_rgb, box))
    empty = predictor(image_rgb, [])
    assert empty.shape == (0, predictor.meta.num_keypoints, 3)
    with pytest.raises(ValueError, match="no person boxes: give boxes_xywh, a detector"):
        predictor(image_rgb)
    whole = predictor(image_rgb, whole_image=True)
    np.testing.assert_array_equal(whole, predictor(image_rgb, [[0, 0, image_rgb.shape[1], image_rgb.shape[0]]]))


def test_eval_on_detected_boxes(trained, synth_dir, detector, tmp_path):
    """Detections equal to the ground-truth boxes score as the ground-truth boxes do (this crashed
    in data/build.py before); an ONNX detector over the json's images runs too."""
    config, checkpoint = trained
    gt = json.loads((synth_dir / "annotations" / "val.json").read_text())
    boxes = [{"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"], "score": 1.0}
             for a in gt["annotations"] if not a.get("iscrowd")]
    (tmp_path / "dets.json").write_text(json.dumps(boxes))
    runs = {"gt": [], "dets": ["--detections", str(tmp_path / "dets.json")], "onnx": ["--detector", str(detector[0])]}
    metrics = {}
    for name, extra in runs.items():
        assert main(["eval", str(config), f"checkpoint={checkpoint}", "--device", "cpu", *extra,
                     "--out", str(tmp_path / f"{name}.json")]) == 0
        metrics[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert metrics["dets"]["main/AP"] == pytest.approx(metrics["gt"]["main/AP"])
    assert metrics["dets"]["main/AR"] == pytest.approx(metrics["gt"]["main/AR"])
    assert 0.0 <= metrics["onnx"]["main/AP"] <= 1.0


def _write_video(path, frames):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()


def test_predict_a_video(trained, synth_dir, detector, tmp_path, caplog):
    images = [cv2.imread(str(p)) for p in sorted((synth_dir / "images" / "val").iterdir())[:2]]
    _write_video(tmp_path / "clip.mp4", [images[0]] * 3 + [images[1]] * 3)
    with caplog.at_level("INFO", logger="semipose"):
        assert _predict(trained, "--video", str(tmp_path / "clip.mp4"), "--detector", str(detector[0]),
                        "--out", str(tmp_path / "plain")) == 0
    assert "frames/s" in caplog.text
    results = json.loads((tmp_path / "plain" / "results.json").read_text())
    assert [r["frame"] for r in results] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert all(r["image_id"] == r["frame"] and r["file_name"] == "clip.mp4" for r in results)
    drawn = cv2.VideoCapture(str(tmp_path / "plain" / "clip_drawn.mp4"))
    assert int(drawn.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    drawn.release()
    assert _predict(trained, "--video", str(tmp_path / "clip.mp4"), "--detector", str(detector[0]), "--smooth",
                    "--out", str(tmp_path / "smooth")) == 0
    smooth = json.loads((tmp_path / "smooth" / "results.json").read_text())
    assert [r["track_id"] for r in smooth] == [0, 1] * 6  # the same two boxes every frame: two tracks
    plain_xy = np.array([r["keypoints"] for r in results]).reshape(12, -1, 3)[..., :2]
    smooth_xy = np.array([r["keypoints"] for r in smooth]).reshape(12, -1, 3)[..., :2]
    np.testing.assert_allclose(smooth_xy[:2], plain_xy[:2], atol=1e-3)  # the first frame passes unchanged
    assert np.abs(smooth_xy[6:8] - plain_xy[6:8]).max() > 0.01  # after the cut the filter lags behind


def test_a_video_that_is_not_there(trained, tmp_path, capsys):
    assert _predict(trained, "--video", str(tmp_path / "none.mp4"), "--whole-image") == 2
    assert "none.mp4: no such video file" in capsys.readouterr().err
