"""Pictures of a run: training curves from the JSON-lines log, generic curve overlays, skeletons
drawn on images and image grids. Uses matplotlib's object API with the Agg canvas only (no
pyplot, no windows, no global figure state)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import cv2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from semipose.engine.run_log import RESERVED_KEYS, read_log

LEFT_RGB = (255, 140, 0)  # orange
RIGHT_RGB = (30, 144, 255)  # blue
CENTRE_RGB = (50, 205, 50)  # green
PERSON_RGB = [(255, 215, 0), (255, 0, 255), (0, 255, 255), (255, 99, 71), (154, 205, 50)]
_SMOOTH_ABOVE = 50  # noisy per-iteration curves longer than this get a moving average on top
EVENT_KIND = "event"  # records of this kind are marked on the loss panel, not plotted as curves
LINE_STYLES = ("-", "--", "-.", ":")


class PlotError(ValueError):
    """Nothing to plot, or an input array of the wrong shape."""


def _save_figure(figure: Figure, out_png: str | Path) -> Path:
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(out_png, dpi=100)
    return out_png


def _rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average that ignores NaNs (no lag, unlike an EMA) and keeps gaps visible."""
    finite = np.isfinite(values)
    kernel = np.ones(window)
    sums = np.convolve(np.where(finite, values, 0.0), kernel, mode="same")
    counts = np.convolve(finite.astype(float), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        smoothed = sums / counts
    smoothed[~finite] = np.nan
    return smoothed


def series_styles(names: Sequence[str]) -> dict[str, dict]:
    """A colour and line style of its own for every name (10 colours x 4 dash patterns), so two
    series never look alike wherever in a figure they are drawn."""
    colours = [f"C{index}" for index in range(10)]
    return {name: {"color": colours[index % 10], "linestyle": LINE_STYLES[(index // 10 + index) % len(LINE_STYLES)]}
            for index, name in enumerate(dict.fromkeys(names))}


def _draw_series(axes, series: Mapping[str, tuple], title: str, ylabel: str, xlabel: str,
                 smooth: bool = False, log_y: bool = False, styles: Mapping[str, dict] | None = None) -> None:
    """Lines on one axis, each in its own colour and line style (`styles`, default series_styles).
    `smooth` overlays a moving average on long noisy series; `log_y` switches to a log axis when
    every value is positive (losses and rates span decades)."""
    styles = styles or series_styles(list(series))
    positive = True
    for label, (steps, values) in series.items():
        steps = np.asarray(steps, dtype=float)
        values = np.asarray(values, dtype=float)  # None -> nan: a gap in the line
        if smooth and len(values) > _SMOOTH_ABOVE:
            axes.plot(steps, values, alpha=0.3, linewidth=0.8, color=styles[label]["color"])
            smoothed = _rolling_mean(values, max(3, len(values) // _SMOOTH_ABOVE))
            axes.plot(steps, smoothed, label=f"{label} (smoothed)", **styles[label])
        else:
            axes.plot(steps, values, marker="o" if len(values) < 20 else None, markersize=3, label=label,
                      **styles[label])
        finite = values[np.isfinite(values)]
        positive = positive and finite.size > 0 and bool((finite > 0).all())
    if log_y and positive and series:
        axes.set_yscale("log")
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    if series:
        axes.legend(fontsize="small")


def plot_curves(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    out_png: str | Path,
    title: str = "",
    ylabel: str = "",
    xlabel: str = "step",
    smooth: bool = False,
    log_y: bool = False,
) -> Path:
    """One axis, one line per named (steps, values) pair: e.g. heatmap response of labelled vs
    unlabelled samples, teacher vs student, or the same metric of several runs."""
    if not series:
        raise PlotError(f"{out_png}: no series to plot")
    figure = Figure(figsize=(7, 4.5))
    _draw_series(figure.add_subplot(), series, title, ylabel, xlabel, smooth=smooth, log_y=log_y)
    figure.tight_layout()
    return _save_figure(figure, out_png)


def _collect(records: list[dict], keep) -> dict[str, tuple[list, list]]:
    series: dict[str, tuple[list, list]] = {}
    for record in records:
        for name, value in record.items():
            if name in RESERVED_KEYS or not keep(name) or not isinstance(value, (int, float, type(None))):
                continue
            steps, values = series.setdefault(name, ([], []))
            steps.append(record["step"])
            values.append(np.nan if value is None else value)
    return series


def plot_training_curves(log_path: str | Path, out_png: str | Path) -> Path:
    """Loss terms (with `event` records as dashed markers), learning rate, and one panel of
    metrics per other record kind (e.g. `val`), all against the training step."""
    records = read_log(log_path)
    train = [r for r in records if r["kind"] == "train"]
    panels = [
        ("loss terms", "loss", _collect(train, lambda name: "loss" in name), True),
        ("learning rate", "lr", _collect(train, lambda name: name.startswith("lr")), False),
    ]
    for kind in sorted({r["kind"] for r in records} - {"train", EVENT_KIND}):
        metrics = _collect([r for r in records if r["kind"] == kind], lambda name: name != "epoch")
        panels.append((f"{kind} metrics", "value", metrics, False))
    panels = [panel for panel in panels if panel[2]]
    if not panels:
        raise PlotError(f"{log_path}: no loss, lr or validation values to plot")
    figure = Figure(figsize=(7, 3.2 * len(panels)))
    styles = series_styles([name for panel in panels for name in panel[2]])  # one style per series, figure-wide
    for index, (title, ylabel, series, smooth) in enumerate(panels, start=1):
        axes = figure.add_subplot(len(panels), 1, index)
        _draw_series(axes, series, title, ylabel, "step", smooth=smooth, log_y=ylabel != "value", styles=styles)
        if index == 1:
            _mark_events(axes, [r for r in records if r["kind"] == EVENT_KIND])
    figure.tight_layout()
    return _save_figure(figure, out_png)


def _mark_events(axes, events: list[dict]) -> None:
    """A dashed vertical line per event record (collapse alarm, divergence...), named by its keys."""
    for record in events:
        names = [name for name in record if name not in RESERVED_KEYS]
        axes.axvline(record["step"], color="red", linestyle="--", linewidth=1, alpha=0.7)
        axes.annotate(", ".join(names[:2]), (record["step"], 1.0), xycoords=("data", "axes fraction"),
                      rotation=90, va="top", ha="right", fontsize="x-small", color="red")


# ----------------------------------------------------------------------------- images


def _side_colour(name: str | None) -> tuple[int, int, int]:
    if name and name.startswith("left"):
        return LEFT_RGB
    if name and name.startswith("right"):
        return RIGHT_RGB
    return CENTRE_RGB


def draw_skeleton(
    image_rgb: np.ndarray,
    keypoints: np.ndarray,
    skeleton: Sequence[tuple[int, int]],
    score_thr: float = 0.2,
    keypoint_names: Sequence[str] | None = None,
    radius: int = 3,
    thickness: int = 2,
) -> np.ndarray:
    """Copy of `image_rgb` with keypoints (K, 3) or (P, K, 3) = x, y, score drawn as dots and
    limbs (0-based index pairs); points scoring below `score_thr` are left out. With
    `keypoint_names`, left_* parts are orange, right_* blue and the rest green; without, each
    person gets its own colour."""
    image_rgb = np.asarray(image_rgb)
    if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise PlotError(f"image must be uint8 (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
    people = np.asarray(keypoints, dtype=np.float64)
    people = people[None] if people.ndim == 2 else people
    if people.ndim != 3 or people.shape[2] != 3:
        raise PlotError(f"keypoints must be (K, 3) or (P, K, 3), got {np.shape(keypoints)}")
    num_joints = people.shape[1]
    if keypoint_names is not None and len(keypoint_names) != num_joints:
        raise PlotError(f"{len(keypoint_names)} keypoint names for {num_joints} keypoints")
    for first, second in skeleton:
        if not (0 <= first < num_joints and 0 <= second < num_joints):
            raise PlotError(f"skeleton pair ({first}, {second}) is outside 0..{num_joints - 1}")
    canvas = np.ascontiguousarray(image_rgb.copy())
    for person_index, person in enumerate(people):
        person_rgb = PERSON_RGB[person_index % len(PERSON_RGB)]
        if keypoint_names:
            joint_rgb = [_side_colour(name) for name in keypoint_names]
        else:
            joint_rgb = [person_rgb] * num_joints
        _draw_person(canvas, person, skeleton, person[:, 2] >= score_thr, joint_rgb, radius, thickness)
    return canvas


def _draw_person(canvas, person, skeleton, confident, joint_rgb, radius, thickness) -> None:
    scale = 16  # cv2 'shift' of 4 bits: sub-pixel positions, pixel centres at integer coordinates

    def pixel(joint):
        return int(round(joint[0] * scale)), int(round(joint[1] * scale))

    visible = np.isfinite(person).all(axis=1) & confident
    for first, second in skeleton:
        if visible[first] and visible[second]:
            # a limb joining two sides (e.g. the shoulders) is drawn in the centre colour
            rgb = joint_rgb[first] if joint_rgb[first] == joint_rgb[second] else CENTRE_RGB
            cv2.line(canvas, pixel(person[first]), pixel(person[second]), rgb, thickness, cv2.LINE_AA, 4)
    for index in np.flatnonzero(visible):
        cv2.circle(canvas, pixel(person[index]), radius * scale, joint_rgb[index], -1, cv2.LINE_AA, 4)


def save_image_grid(images: Sequence[np.ndarray], out_png: str | Path, cols: int = 4) -> Path:
    """Tile uint8 RGB images (sizes may differ: each is padded black to the largest) into one PNG."""
    if not images:
        raise PlotError(f"{out_png}: no images for the grid")
    for index, image in enumerate(images):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise PlotError(f"image {index} must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
    cols = max(1, min(cols, len(images)))
    rows = -(-len(images) // cols)
    cell_h = max(image.shape[0] for image in images)
    cell_w = max(image.shape[1] for image in images)
    grid = np.zeros((rows * cell_h, cols * cell_w, 3), dtype=np.uint8)
    for index, image in enumerate(images):
        top, left = (index // cols) * cell_h, (index % cols) * cell_w
        grid[top : top + image.shape[0], left : left + image.shape[1]] = image
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_png), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write image grid {out_png}")
    return out_png
