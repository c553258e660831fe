"""The ONNX person detector: letterbox, normalisation, output decoding, NMS, on real ONNX models
built in the test whose outputs are known."""
import cv2
import numpy as np
import pytest

from semipose.data.person_detector import (DetectorError, OnnxPersonDetector, box_iou, letterbox, nms,
                                           to_input_tensor)
from tests.onnx_detectors import write_fixed_detector

pytest.importorskip("onnxruntime")


def test_letterbox_scales_to_fit_and_pads_right_and_bottom_with_114():
    image = np.full((50, 100, 3), 7, np.uint8)  # 100 wide, 50 high into 64 x 64: scale 0.64
    canvas, scale = letterbox(image, (64, 64))
    assert scale == pytest.approx(0.64) and canvas.shape == (64, 64, 3)
    assert (canvas[:32, :64] == 7).all() and (canvas[32:] == 114).all()


def test_rtmdet_preset_normalises_bgr_with_the_mmdet_mean_and_std():
    canvas = np.zeros((2, 2, 3), np.uint8)
    canvas[..., 0], canvas[..., 2] = 255, 10  # B = 255, R = 10
    tensor = to_input_tensor(canvas, "rtmdet")
    assert tensor.shape == (1, 3, 2, 2) and tensor.dtype == np.float32
    assert tensor[0, 0, 0, 0] == pytest.approx((255 - 103.53) / 57.375, rel=1e-6)
    assert tensor[0, 2, 0, 0] == pytest.approx((10 - 123.675) / 58.395, rel=1e-6)
    assert to_input_tensor(canvas, "yolox")[0, 0, 0, 0] == 255


def test_box_iou_against_a_hand_computed_case():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]], float)
    assert box_iou(a, b) == pytest.approx(np.array([[50 / 150, 0.0, 1.0]]))


def test_nms_keeps_the_best_of_each_overlapping_group():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60], [0, 0, 10, 9]], float)
    scores = np.array([0.6, 0.9, 0.5, 0.8])
    # 1 (0.9) removes 0 (IoU 0.82) and 3 (IoU 0.74); 2 overlaps nothing
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes, scores, 0.95).tolist() == [1, 3, 0, 2]


def _photo(height=100, width=200, value=255):
    """A uniform image: max(input) = value (the letterbox's grey 114 pads it, so value >= 114)."""
    return np.full((height, width, 3), value, np.uint8)


def test_detector_maps_boxes_back_filters_and_suppresses(tmp_path):
    # a 200 x 100 image into a 64 x 64 input: scale 0.32, boxes come back divided by it
    dets = [[3.2, 6.4, 16.0, 32.0, 0.9],     # a person
            [3.2, 6.4, 16.0, 30.4, 0.8],     # the same person again (IoU 0.95): NMS removes it
            [32.0, 0.0, 48.0, 16.0, 0.95],   # label 2: not a person
            [40.0, 10.0, 60.0, 30.0, 0.1],   # below the score threshold
            [48.0, 16.0, 70.0, 40.0, 0.7]]   # a person partly outside the image: clipped
    model = write_fixed_detector(tmp_path / "det.onnx", dets, [0, 0, 2, 0, 0], score_from_input=True)
    boxes = OnnxPersonDetector(model, score_threshold=0.3, nms_iou=0.45)(_photo())
    expected = np.array([[10, 20, 40, 80, 0.9], [150, 50, 50, 50, 0.7]])
    np.testing.assert_allclose(boxes, expected, atol=1e-4)


def test_scores_show_the_pixels_reach_the_model_unnormalised(tmp_path):
    model = write_fixed_detector(tmp_path / "det.onnx", [[0, 0, 32, 32, 1.0]], [0], score_from_input=True)
    assert OnnxPersonDetector(model, score_threshold=0.0)(_photo(value=204))[0, 4] == pytest.approx(0.8, abs=1e-6)


def test_single_tensor_output_layout(tmp_path):
    model = write_fixed_detector(tmp_path / "det.onnx", [[0, 0, 32, 32, 0.9], [32, 32, 64, 64, 0.9]], [0, 1],
                                 single_output=True)
    boxes = OnnxPersonDetector(model)(_photo(64, 64))
    np.testing.assert_allclose(boxes, [[0, 0, 32, 32, 0.9]], atol=1e-5)


def test_bad_models_are_clear_errors(tmp_path):
    with pytest.raises(DetectorError, match="det.onnx: detector model not found"):
        OnnxPersonDetector(tmp_path / "det.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(DetectorError, match="junk.onnx: onnxruntime cannot load this model"):
        OnnxPersonDetector(tmp_path / "junk.onnx")
    with pytest.raises(DetectorError, match="preset 'ssd'"):
        OnnxPersonDetector(tmp_path / "junk.onnx", preset="ssd")


def test_unknown_output_layout_names_the_file_and_shapes(tmp_path):
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("Identity", ["images"], ["raw"])], "raw_head",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("raw", TensorProto.FLOAT, [1, 3, 8, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    (tmp_path / "raw.onnx").write_bytes(model.SerializeToString())
    with pytest.raises(DetectorError, match=r"raw.onnx: outputs \[\(1, 3, 8, 8\)\] are not dets"):
        OnnxPersonDetector(tmp_path / "raw.onnx")(np.zeros((8, 8, 3), np.uint8))


def test_records_from_a_folder_count_images_without_people(tmp_path):
    from semipose.data.person_detector import records_from_detector
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.jpg", "b.png"):
        cv2.imwrite(str(folder / name), _photo())
    model = write_fixed_detector(tmp_path / "det.onnx", [[3.2, 6.4, 16.0, 32.0, 0.9]], [0], score_from_input=True)
    records, report = records_from_detector([(1, folder / "a.jpg"), (2, folder / "b.png")],
                                            OnnxPersonDetector(model), num_keypoints=17)
    assert [r.image_id for r in records] == [1, 2] and records[0].bbox == pytest.approx((10, 20, 40, 80), abs=1e-4)
    assert records[0].ann_id == -1 and records[0].keypoints.shape == (17, 3)
    empty = write_fixed_detector(tmp_path / "none.onnx", [[3.2, 6.4, 16.0, 32.0, 0.9]], [1])
    records, report = records_from_detector([(1, folder / "a.jpg")], OnnxPersonDetector(empty), 17)
    assert records == [] and report.skipped["no_person"] == 1
