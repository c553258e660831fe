"""Small ONNX person detectors built in the tests, with outputs known in advance (the layout of
mmdeploy's end-to-end exports: dets (1, N, 5) x1, y1, x2, y2, score in input pixels + labels (1, N))."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_fixed_detector(path: Path, dets: np.ndarray, labels, input_hw=(64, 64), score_from_input=False,
                         single_output=False) -> Path:
    """A model that returns `dets` (N, 5) and `labels` (N,) whatever the image. With
    score_from_input the score column is multiplied by max(input) / 255, so a test sees whether the
    pixels reached the model unnormalised (the yolox preset)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    dets = np.asarray(dets, np.float32)[None]
    labels = np.asarray(labels, np.int64)[None]
    score_column = np.zeros((1, 1, 5), np.float32)
    score_column[..., 4] = 1
    constants = [numpy_helper.from_array(dets, "fixed_dets"), numpy_helper.from_array(labels, "fixed_labels"),
                 numpy_helper.from_array(1 - score_column, "box_columns"),
                 numpy_helper.from_array(score_column, "score_column"),
                 numpy_helper.from_array(np.array(255.0 if score_from_input else 0.0, np.float32), "divisor")]
    nodes = [helper.make_node("ReduceMax", ["images"], ["brightest"], keepdims=0),
             helper.make_node("Div", ["brightest", "divisor"], ["brightness"])]
    if score_from_input:
        nodes += [helper.make_node("Mul", ["score_column", "brightness"], ["score_scale"]),
                  helper.make_node("Add", ["box_columns", "score_scale"], ["column_scale"]),
                  helper.make_node("Mul", ["fixed_dets", "column_scale"], ["dets"])]
    else:
        nodes += [helper.make_node("Identity", ["fixed_dets"], ["dets"])]
    nodes.append(helper.make_node("Identity", ["fixed_labels"], ["labels"]))
    outputs = [helper.make_tensor_value_info("dets", TensorProto.FLOAT, list(dets.shape)),
               helper.make_tensor_value_info("labels", TensorProto.INT64, list(labels.shape))]
    if single_output:  # one (1, N, 6) tensor: boxes, score, label
        nodes += [helper.make_node("Cast", ["labels"], ["labels_float"], to=TensorProto.FLOAT),
                  helper.make_node("Unsqueeze", ["labels_float", "last_axis"], ["label_column"]),
                  helper.make_node("Concat", ["dets", "label_column"], ["boxes_scores_labels"], axis=2)]
        constants.append(numpy_helper.from_array(np.array([2], np.int64), "last_axis"))
        outputs = [helper.make_tensor_value_info("boxes_scores_labels", TensorProto.FLOAT,
                                                 [1, dets.shape[1], 6])]
    graph = helper.make_graph(nodes, "fixed_person_detector",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, *input_hw])],
                              outputs, constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path
