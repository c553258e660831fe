"""Training curves, generic curves, skeleton drawing and image grids."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from semipose.engine.plots import (
    CENTRE_RGB,
    LEFT_RGB,
    RIGHT_RGB,
    PlotError,
    draw_skeleton,
    plot_curves,
    plot_training_curves,
    save_image_grid,
)
from semipose.engine.run_log import RunLogger


def read_png(path):
    image = cv2.imread(str(path))
    assert image is not None, f"{path} is not a readable PNG"
    return image


def drawn_fraction(image_bgr) -> float:
    """Share of pixels that are not (near) white: the plotted ink."""
    return float((image_bgr.min(axis=2) < 200).mean())


def write_training_log(run_dir):
    noise = np.random.default_rng(0).uniform(0.7, 1.3, size=121)
    with RunLogger(run_dir, use_tensorboard=False) as logger:
        for step in range(1, 121):
            loss = 0.01 * math.exp(-step / 40) * noise[step]
            logger.log(step, {"loss": loss, "loss_consistency": loss / 2, "lr": 1e-3 * (step / 120), "images/s": 50})
            if step % 40 == 0:
                logger.log(step, {"AP": 0.3 + step / 1000, "AP50": 0.6, "epoch": step // 40}, kind="val")
        logger.log(121, {"loss": float("nan")})  # a gap, not a crash
        logger.log(121, {"collapse_alarm": 1.0}, kind="event")
    return run_dir / "log.jsonl"


def test_training_curves_png(tmp_path):
    out = plot_training_curves(write_training_log(tmp_path), tmp_path / "plots" / "curves.png")
    image = read_png(out)
    # three stacked panels: losses (with the event marked), lr, val
    assert image.shape[0] > image.shape[1] and image.shape[0] >= 3 * 300
    assert 0.01 < drawn_fraction(image) < 0.5


def test_training_curves_without_any_values_is_an_error(tmp_path):
    log_path = tmp_path / "log.jsonl"
    log_path.write_text('{"kind": "train", "step": 1, "time": 0.0}\n')
    with pytest.raises(PlotError, match="no loss, lr or validation values"):
        plot_training_curves(log_path, tmp_path / "curves.png")


def test_generic_curves_png(tmp_path):
    steps = np.arange(0, 200, 10)
    out = plot_curves(
        {"labelled": (steps, 0.8 - steps / 1000), "unlabelled": (steps.tolist(), (0.5 - steps / 2000).tolist())},
        tmp_path / "response.png",
        title="heatmap response",
        ylabel="max heatmap value",
    )
    image = read_png(out)
    assert image.shape == (450, 700, 3) and drawn_fraction(image) > 0.01
    with pytest.raises(PlotError, match="no series"):
        plot_curves({}, tmp_path / "empty.png")


COCO_NAMES_3 = ["nose", "left_shoulder", "right_shoulder"]


def test_skeleton_limbs_and_joints_are_drawn_where_the_keypoints_are():
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    keypoints = np.array([[10.0, 20.0, 0.9], [50.0, 20.0, 0.9], [30.0, 5.0, 0.1]])
    drawn = draw_skeleton(image, keypoints, [(0, 1), (1, 2)], score_thr=0.2, thickness=1, radius=2)
    assert image.max() == 0  # the input is not modified
    assert drawn[20, 30].any()  # middle of limb 0-1
    assert drawn[20, 10].any() and drawn[20, 50].any()  # the two joints
    assert not drawn[5, 30].any() and not drawn[12, 40].any()  # low-score joint and its limb left out
    assert not drawn[35, 30].any()


def test_left_and_right_parts_get_their_own_colours():
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    keypoints = np.array([[30.0, 5.0, 1.0], [10.0, 30.0, 1.0], [50.0, 30.0, 1.0]])
    drawn = draw_skeleton(image, keypoints, [(1, 2)], keypoint_names=COCO_NAMES_3, radius=3)
    assert tuple(drawn[30, 10]) == LEFT_RGB and tuple(drawn[30, 50]) == RIGHT_RGB
    assert tuple(drawn[5, 30]) == CENTRE_RGB
    assert tuple(drawn[30, 30]) == CENTRE_RGB  # a limb joining both sides


def test_several_people_and_bad_inputs():
    image = np.zeros((30, 30, 3), dtype=np.uint8)
    people = np.array([[[5.0, 5.0, 1.0], [5.0, 25.0, 1.0]], [[25.0, 5.0, 1.0], [25.0, 25.0, 1.0]]])
    drawn = draw_skeleton(image, people, [(0, 1)], thickness=1, radius=1)
    assert drawn[15, 5].any() and drawn[15, 25].any()
    assert tuple(drawn[15, 5]) != tuple(drawn[15, 25])  # one colour per person
    with pytest.raises(PlotError, match=r"skeleton pair \(0, 5\) is outside 0..1"):
        draw_skeleton(image, people, [(0, 5)])
    with pytest.raises(PlotError, match="image must be uint8"):
        draw_skeleton(image.astype(np.float32), people, [])
    with pytest.raises(PlotError, match=r"keypoints must be \(K, 3\)"):
        draw_skeleton(image, np.zeros((2, 2)), [])


def test_image_grid_tiles_and_pads(tmp_path):
    red = np.zeros((10, 20, 3), dtype=np.uint8)
    red[..., 0] = 255
    small_blue = np.zeros((5, 5, 3), dtype=np.uint8)
    small_blue[..., 2] = 255
    grid = read_png(save_image_grid([red, red, small_blue], tmp_path / "grid.png", cols=2))  # BGR
    assert grid.shape == (20, 40, 3)
    assert tuple(grid[0, 0]) == (0, 0, 255) and tuple(grid[0, 25]) == (0, 0, 255)  # red, as BGR
    assert tuple(grid[12, 2]) == (255, 0, 0) and tuple(grid[18, 2]) == (0, 0, 0)  # blue, then padding
    assert tuple(grid[12, 30]) == (0, 0, 0)  # the empty fourth cell


def test_skeleton_grid_for_visual_inspection(tmp_path):
    """Writes a picture a person can look at; the assertions only check that it was written."""
    rng = np.random.default_rng(0)
    names = ["nose", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_hip", "right_hip"]
    skeleton = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 4), (1, 5), (2, 6), (5, 6)]
    base = np.array([[48, 20], [36, 36], [60, 36], [28, 56], [68, 56], [40, 76], [56, 76]], dtype=float)
    images = []
    for _ in range(4):
        points = np.concatenate([base + rng.normal(0, 2, base.shape), rng.uniform(0.3, 1, (7, 1))], axis=1)
        background = np.full((96, 96, 3), 40, dtype=np.uint8)
        images.append(draw_skeleton(background, points, skeleton, keypoint_names=names))
    out = save_image_grid(images, tmp_path / "skeletons.png", cols=2)
    assert read_png(out).shape == (192, 192, 3)


def test_every_training_curve_has_its_own_colour_and_style(tmp_path):
    from semipose.engine.plots import series_styles
    styles = series_styles([f"series{i}" for i in range(40)])
    assert len({(s["color"], s["linestyle"]) for s in styles.values()}) == 40
    assert styles["series0"] != styles["series1"]  # e.g. main/AP and main/PCK@0.2 in one val panel
    log_path = tmp_path / "log.jsonl"
    with RunLogger(tmp_path, use_tensorboard=False) as logger:
        for step in (10, 20, 30):
            logger.log(step, {"loss": 1.0 / step})
            logger.log(step, {"main/AP": 0.2, "main/PCK@0.2": 0.4}, kind="val")
    plot_training_curves(log_path, tmp_path / "curves.png")
    image = cv2.imread(str(tmp_path / "curves.png"))
    orange = np.array([14, 127, 255])  # matplotlib's C1 (#ff7f0e) in BGR: loss took C0
    green = np.array([44, 160, 44])  # C2 (#2ca02c)
    lower_half = image[image.shape[0] // 2:].astype(int)
    for colour in (orange, green):  # the two val metrics are drawn in two colours
        assert (np.abs(lower_half - colour).sum(axis=2) < 40).sum() > 50


def test_supervised_runs_still_plot_the_labelled_response(tmp_path):
    from semipose.config import MonitorConfig
    from semipose.engine.collapse_monitor import CollapseMonitor
    monitor = CollapseMonitor(MonitorConfig())
    for step in (2, 4, 6):
        assert monitor.update(step, {"response_labelled": 0.1 * step}) is None
    assert monitor.history()["labelled"] == pytest.approx([0.2, 0.4, 0.6])
    assert monitor.plot(tmp_path / "response.png") is not None and monitor.state == "ok"
