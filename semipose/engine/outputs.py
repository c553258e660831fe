"""What a finished run leaves for people to look at: metrics.json, curves and skeleton PNGs."""
from __future__ import annotations

import logging

import numpy as np
import torch

from semipose.data.batch_prep import prepare_images
from semipose.data.topdown import denormalise_image
from semipose.engine.distributed import is_main
from semipose.engine.plots import draw_skeleton, plot_training_curves, save_image_grid
from semipose.evaluation.inference import heatmaps_to_image_points, predict_heatmaps
from semipose.evaluation.report import format_table, write_json

log = logging.getLogger("semipose")


def write_run_outputs(trainer, metrics: dict) -> dict:
    """The run's summary on every rank; the files only from rank 0."""
    run_dir = trainer.run_dir
    summary = {"iteration": trainer.iteration, "best": trainer.best_metric, "main_metric": trainer.run.main_metric_key,
               "final": metrics, "data": trainer.run.data.summary, "skipped_steps": trainer.skipped_steps,
               "collapse_state": trainer.monitor.state}
    if not is_main():
        return summary
    write_json(run_dir / "metrics.json", summary)
    plot_training_curves(run_dir / "log.jsonl", run_dir / "training_curves.png")
    trainer.monitor.plot(run_dir / "heatmap_response.png")
    save_prediction_grid(trainer.run, trainer.config, run_dir / "predictions.png", trainer.device)
    log.info("\n%s", format_table(metrics, title=f"{trainer.config.method.name}: final validation"))
    return summary


@torch.no_grad()
def save_prediction_grid(run, config, out_png, device, count: int = 12):
    """Validation crops, each as ground truth (left) beside the main network's prediction (right),
    left parts orange, right parts blue."""
    dataset = run.data.val
    if len(dataset) == 0:
        return
    picks = np.linspace(0, len(dataset) - 1, min(count, len(dataset))).astype(int)
    samples = [dataset[int(i)] for i in picks]
    images = prepare_images(torch.stack([s["image"] for s in samples]), device)
    network = next(iter(run.method.eval_networks().values()))
    run.method.eval()
    heatmaps = predict_heatmaps(network, images, None, config.eval, config.data.pixel_convention).cpu()
    run.method.train()
    identity = torch.eye(3)[:2].expand(len(samples), 2, 3)  # draw on the crops themselves
    points = heatmaps_to_image_points(heatmaps, identity, tuple(config.data.input_size), config.eval.refine,
                                      config.data.pixel_convention)
    meta = dataset.meta
    drawn = [np.hstack([draw_skeleton(denormalise_image(s["image"]), ground_truth_points(s["keypoints"]), meta.skeleton,
                                      keypoint_names=meta.names),
                        draw_skeleton(denormalise_image(s["image"]), p.numpy(), meta.skeleton,
                                      keypoint_names=meta.names)])
             for s, p in zip(samples, points)]
    save_image_grid(drawn, out_png, cols=4)  # each cell: ground truth left, prediction right


def ground_truth_points(keypoints) -> np.ndarray:
    """(K, 3) x, y, visibility -> x, y, score with labelled joints scoring 1 and the rest 0 (not drawn)."""
    points = np.asarray(keypoints, dtype=np.float64).copy()
    points[:, 2] = (points[:, 2] > 0).astype(np.float64)
    return points
