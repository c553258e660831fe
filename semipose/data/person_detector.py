"""Person boxes for images nobody annotated: an ONNX person detector run with onnxruntime.

What the detector expects (the end-to-end exports of mmdeploy, as rtmlib publishes them for
YOLOX and RTMDet, e.g. `yolox_m_8xb8-300e_humanart-*.onnx`, `rtmdet_m_*.onnx`):

- input: one float32 tensor (1, 3, H, W), BGR channel order (mmdet trains on OpenCV images).
  H, W come from the model; a model with dynamic sizes gets `input_wh` (default 640 x 640).
- letterbox: the image is resized by s = min(W / w, H / h) (bilinear) and placed at the top
  left of an H x W canvas filled with 114; boxes come back in canvas pixels and are divided by s.
- normalisation: `preset="yolox"` feeds raw 0..255 values; `preset="rtmdet"` subtracts the
  ImageNet BGR mean (103.53, 116.28, 123.675) and divides by (57.375, 57.12, 58.395).
- outputs: either `dets` (1, N, 5) = x1, y1, x2, y2, score with `labels` (1, N), or one
  (1, N, 6) tensor = x1, y1, x2, y2, score, label. Only label 0 (COCO's person) is kept.
- after the model: boxes scoring below `score_threshold` are dropped, the rest pass a greedy
  IoU non-maximum suppression (`nms_iou`; a no-op on exports that already ran NMS) and are
  clipped to the image. The result is (M, 5): x, y, w, h, score in image pixels.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from semipose.data.coco_format import LoadReport, log_report, unannotated_record
from semipose.data.errors import ImageReadError
from semipose.data.images import read_image_rgb

PAD_VALUE = 114
PRESETS = {"yolox": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
           "rtmdet": ((103.53, 116.28, 123.675), (57.375, 57.12, 58.395))}
PERSON_LABEL = 0


class DetectorError(ValueError):
    """A detector model that cannot be loaded or whose inputs/outputs are not the expected ones."""


def letterbox(image_bgr: np.ndarray, input_wh: tuple[int, int]) -> tuple[np.ndarray, float]:
    """The image scaled to fit `input_wh` (aspect kept) at the top left of a grey canvas, and the scale."""
    height, width = image_bgr.shape[:2]
    scale = min(input_wh[0] / width, input_wh[1] / height)
    resized_wh = (max(1, int(width * scale)), max(1, int(height * scale)))
    canvas = np.full((input_wh[1], input_wh[0], 3), PAD_VALUE, dtype=np.uint8)
    canvas[:resized_wh[1], :resized_wh[0]] = cv2.resize(image_bgr, resized_wh, interpolation=cv2.INTER_LINEAR)
    return canvas, scale


def to_input_tensor(canvas_bgr: np.ndarray, preset: str) -> np.ndarray:
    """(1, 3, H, W) float32 from an (H, W, 3) uint8 BGR canvas, normalised as the preset's model was trained."""
    mean, std = PRESETS[preset]
    values = (canvas_bgr.astype(np.float32) - np.float32(mean)) / np.float32(std)
    return np.ascontiguousarray(values.transpose(2, 0, 1)[None])


def box_iou(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of x1, y1, x2, y2 boxes."""
    top_left = np.maximum(boxes[:, None, :2], others[None, :, :2])
    bottom_right = np.minimum(boxes[:, None, 2:4], others[None, :, 2:4])
    intersection = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    area = lambda b: np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)  # noqa: E731
    union = area(boxes)[:, None] + area(others)[None, :] - intersection
    return np.where(union > 0, intersection / np.where(union > 0, union, 1), 0.0)


def nms(boxes_xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes greedy NMS keeps, best score first: each kept box removes the
    remaining ones that overlap it by more than `iou_threshold`."""
    order = np.argsort(-scores, kind="stable")
    kept = []
    while order.size:
        best, order = order[0], order[1:]
        kept.append(best)
        order = order[box_iou(boxes_xyxy[best][None], boxes_xyxy[order])[0] <= iou_threshold]
    return np.asarray(kept, dtype=np.int64)


def decode_detections(dets: np.ndarray, labels: np.ndarray, scale: float, image_wh: tuple[int, int],
                      score_threshold: float, nms_iou: float) -> np.ndarray:
    """(N, 5) canvas-pixel x1, y1, x2, y2, score and (N,) labels -> (M, 5) person boxes x, y, w, h,
    score in image pixels (score threshold, NMS, clipped to the image, empty boxes dropped)."""
    dets = np.asarray(dets, dtype=np.float64).reshape(-1, 5)
    keep = (np.asarray(labels).reshape(-1) == PERSON_LABEL) & (dets[:, 4] >= score_threshold)
    boxes, scores = dets[keep, :4] / scale, dets[keep, 4]
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, image_wh[0])
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, image_wh[1])
    non_empty = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, scores = boxes[non_empty], scores[non_empty]
    kept = nms(boxes, scores, nms_iou)
    boxes, scores = boxes[kept], scores[kept]
    return np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2], scores]).reshape(-1, 5)


class OnnxPersonDetector:
    """`detector(image_rgb) -> (M, 5)` person boxes x, y, w, h, score (see the module docstring)."""

    def __init__(self, model_path: str | Path, preset: str = "yolox", score_threshold: float = 0.3,
                 nms_iou: float = 0.45, input_wh: Optional[Sequence[int]] = None, device: str = "cpu"):
        if preset not in PRESETS:
            raise DetectorError(f"{model_path}: preset {preset!r} is not one of {sorted(PRESETS)}")
        self.model_path, self.preset = Path(model_path), preset
        self.score_threshold, self.nms_iou = score_threshold, nms_iou
        self.session = _open_session(self.model_path, device)
        self.input_name, self.input_wh = _input_layout(self.session, self.model_path, input_wh)

    def __call__(self, image_rgb: np.ndarray) -> np.ndarray:
        canvas, scale = letterbox(np.ascontiguousarray(image_rgb[..., ::-1]), self.input_wh)
        outputs = self.session.run(None, {self.input_name: to_input_tensor(canvas, self.preset)})
        dets, labels = _split_outputs(outputs, self.model_path)
        height, width = image_rgb.shape[:2]
        return decode_detections(dets, labels, scale, (width, height), self.score_threshold, self.nms_iou)


def _open_session(model_path: Path, device: str):
    try:
        import onnxruntime
    except ImportError:
        raise DetectorError(f"{model_path}: running an ONNX detector needs onnxruntime: "
                            f"pip install 'semipose[onnx]'") from None
    if not model_path.is_file():
        raise DetectorError(f"{model_path}: detector model not found")
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return onnxruntime.InferenceSession(str(model_path), providers=providers)
    except Exception as error:  # onnxruntime raises its own exception types for unreadable models
        raise DetectorError(f"{model_path}: onnxruntime cannot load this model: {error}") from None


def _input_layout(session, model_path: Path, input_wh) -> tuple[str, tuple[int, int]]:
    inputs = session.get_inputs()
    if len(inputs) != 1 or len(inputs[0].shape) != 4:
        raise DetectorError(f"{model_path}: expected one (1, 3, H, W) image input, the model has "
                            f"{[(i.name, i.shape) for i in inputs]}")
    height, width = inputs[0].shape[2:]
    if isinstance(height, int) and isinstance(width, int):
        if input_wh is not None and tuple(input_wh) != (width, height):
            raise DetectorError(f"{model_path}: the model's input is {width}x{height}, not {input_wh[0]}x{input_wh[1]}")
        return inputs[0].name, (width, height)
    return inputs[0].name, tuple(int(v) for v in (input_wh or (640, 640)))


def _split_outputs(outputs: list, model_path: Path) -> tuple[np.ndarray, np.ndarray]:
    first = np.asarray(outputs[0])
    if first.ndim == 3 and first.shape[0] == 1 and first.shape[2] == 5 and len(outputs) >= 2:
        return first[0], np.asarray(outputs[1]).reshape(-1)
    if first.ndim == 3 and first.shape[0] == 1 and first.shape[2] == 6:
        return first[0, :, :5], first[0, :, 5]
    raise DetectorError(f"{model_path}: outputs {[np.shape(o) for o in outputs]} are not dets (1, N, 5) + "
                        f"labels (1, N) nor (1, N, 6) boxes+score+label (raw, undecoded heads are not supported)")


def records_from_detector(images: Sequence[tuple[int, Path]], detector, num_keypoints: int,
                          on_bad_sample: str = "error"):
    """PersonRecords (ann_id -1, no keypoints) for every person `detector` finds in each
    (image_id, path) -> (records, report). An unreadable image raises, or under "skip" is
    counted; images where nothing is found are counted as "no_person", never made up."""
    report, records = LoadReport(f"person detector {getattr(detector, 'model_path', detector)}"), []
    for image_id, path in tqdm(images, desc="detecting people", unit="image", mininterval=5, leave=False):
        try:
            image = read_image_rgb(path)
        except ImageReadError as error:
            if on_bad_sample == "error":
                raise
            report.skip("unreadable_image", str(error))
            continue
        boxes = detector(image)
        if len(boxes) == 0:
            report.skip("no_person")
        for x, y, width, height, score in boxes:
            records.append(unannotated_record(image_id, path, image.shape[1], image.shape[0], num_keypoints,
                                              (x, y, width, height), score))
    report.kept = len(records)
    log_report(report)
    return records, report


def build_detector(config, field: str, device: str = "cpu") -> OnnxPersonDetector:
    """The detector a DetectorConfig describes; `field` (its config key) names it in errors."""
    if not config.model:
        raise DetectorError(f"{field}.model: no detector model given (an ONNX file, see semipose/data/person_detector.py)")
    return OnnxPersonDetector(config.model, config.preset, config.score_threshold, config.nms_iou, device=device)
