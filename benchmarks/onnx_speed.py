"""Pose-network inference speed on the CPU: torch vs onnxruntime on the exported graph.

    python benchmarks/onnx_speed.py [--models simplebaseline_resnet18 hrnet_w32] [--batch 8] [--repeats 5]

Each model (random weights: speed does not depend on them) is exported with
`semipose.models.onnx_export.export_onnx` (dynamic batch), then torch (no_grad, eval) and onnxruntime
(CPUExecutionProvider, default threads) each run `--repeats` timed batches of 256x192 crops after one
warm-up; the table gives the median images/s of each and their max abs heatmap difference.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from semipose.evaluation.report import format_table
from semipose.models import build_model
from semipose.models.onnx_export import NormalisedNetwork, eval_mode, export_onnx, max_heatmap_difference, onnx_session

INPUT_HW = (256, 192)


def _images_per_second(run, images: np.ndarray, repeats: int) -> float:
    run(images)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(images)
        times.append(time.perf_counter() - start)
    return len(images) / statistics.median(times)


def measure(name: str, batch: int, repeats: int, folder: Path) -> dict:
    torch.manual_seed(0)
    network = build_model(name, 17).eval()
    path = export_onnx(network, folder / f"{name}.onnx", INPUT_HW, dynamic_batch=True)
    images = np.random.default_rng(0).uniform(0, 255, (batch, 3, *INPUT_HW)).astype(np.float32)
    session = onnx_session(path)
    wrapped = NormalisedNetwork(network)
    with eval_mode(wrapped), torch.no_grad():
        torch_speed = _images_per_second(lambda x: wrapped(torch.from_numpy(x)), images, repeats)
    onnx_speed = _images_per_second(lambda x: session.run(None, {"images": x}), images, repeats)
    return {"model": name, "batch": batch, "torch img/s": torch_speed, "onnxruntime img/s": onnx_speed,
            "speed-up": onnx_speed / torch_speed, "max |diff|": max_heatmap_difference(path, network, images[:2])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["simplebaseline_resnet18", "hrnet_w32"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(name, args.batch, args.repeats, Path(folder)) for name in args.models]
    print(format_table(rows, title=f"CPU inference at {INPUT_HW[0]}x{INPUT_HW[1]}, torch {torch.get_num_threads()} threads"))


if __name__ == "__main__":
    main()
