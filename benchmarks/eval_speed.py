"""COCO keypoint evaluation time for many people: pycocotools vs the faster-coco-eval extra.

    python benchmarks/eval_speed.py [--people 10000] [--repeats 3] [--json eval_speed.json]

Ground truth: `--people` synthetic people (annotations only, no pictures): 1-4 per 640x480 image,
boxes of 30-400 px, 17 keypoints of a jittered template pose inside the box, some unlabelled.
Results: every person's keypoints moved by noise proportional to its size (so OKS varies
between ~0.3 and 1), plus 20 % false positives, random scores. Both backends run through
semipose.evaluation.coco_eval.evaluate_coco_keypoints (checks + json + COCOeval) on the same
inputs; the table gives the median wall time and the AP of each (they must agree).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from semipose.data.keypoints import COCO17
from semipose.evaluation.coco_eval import evaluate_coco_keypoints

# A standing person in a unit box (x, y in [0, 1]), COCO-17 order.
TEMPLATE = np.array([[0.50, 0.08], [0.53, 0.06], [0.47, 0.06], [0.56, 0.08], [0.44, 0.08],
                     [0.64, 0.22], [0.36, 0.22], [0.70, 0.40], [0.30, 0.40], [0.72, 0.56],
                     [0.28, 0.56], [0.60, 0.56], [0.40, 0.56], [0.60, 0.76], [0.40, 0.76],
                     [0.60, 0.96], [0.40, 0.96]])


def synthetic_people(count: int, seed: int = 0) -> tuple[dict, list]:
    """(COCO ground-truth dict, results list) with `count` people."""
    rng = np.random.default_rng(seed)
    images, annotations, results = [], [], []
    while len(annotations) < count:
        image_id = len(images) + 1
        images.append({"id": image_id, "width": 640, "height": 480, "file_name": f"{image_id:06d}.jpg"})
        for _ in range(min(int(rng.integers(1, 5)), count - len(annotations))):
            annotation, points = _person(rng, image_id, len(annotations) + 1)
            annotations.append(annotation)
            results.append(_result(rng, image_id, points, annotation["bbox"]))
            if rng.random() < 0.2:  # a false positive somewhere else in the picture
                results.append(_result(rng, image_id, points + rng.uniform(-200, 200, 2), annotation["bbox"]))
    categories = [{"id": 1, "name": "person", "keypoints": list(COCO17.names),
                   "skeleton": [[a + 1, b + 1] for a, b in COCO17.skeleton]}]
    return {"images": images, "annotations": annotations, "categories": categories}, results


def _person(rng, image_id: int, ann_id: int):
    height = rng.uniform(30, 400)
    width = height * rng.uniform(0.35, 0.6)
    x, y = rng.uniform(0, 640 - width), rng.uniform(0, max(1.0, 480 - height))
    points = TEMPLATE * [width, height] + [x, y] + rng.normal(0, 0.03 * height, TEMPLATE.shape)
    visible = np.where(rng.random(len(TEMPLATE)) < 0.85, 2, 0)
    keypoints = np.column_stack([points * (visible[:, None] > 0), visible]).reshape(-1)
    annotation = {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                  "bbox": [float(x), float(y), float(width), float(height)], "area": float(0.6 * width * height),
                  "keypoints": [round(float(v), 2) for v in keypoints], "num_keypoints": int((visible > 0).sum())}
    return annotation, points


def _result(rng, image_id: int, points: np.ndarray, bbox) -> dict:
    noisy = points + rng.normal(0, rng.uniform(0.005, 0.04) * bbox[3], points.shape)
    keypoints = np.column_stack([noisy, rng.uniform(0.2, 1.0, len(points))]).reshape(-1)
    return {"image_id": image_id, "category_id": 1, "keypoints": [round(float(v), 2) for v in keypoints],
            "score": float(rng.uniform(0.3, 1.0))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()
    gt, results = synthetic_people(args.people)
    sigmas = COCO17.sigmas
    rows = []
    for backend in ("pycocotools", "faster_coco_eval"):
        times, metrics = [], None
        for _ in range(args.repeats):
            started = time.perf_counter()
            metrics = evaluate_coco_keypoints(gt, results, sigmas, backend=backend)
            times.append(time.perf_counter() - started)
        rows.append({"backend": backend, "seconds": statistics.median(times), "AP": metrics["AP"],
                     "AR": metrics["AR"], "runs_s": [round(t, 3) for t in times]})
    print(f"COCO keypoint evaluation of {len(gt['annotations'])} people on {len(gt['images'])} images, "
          f"{len(results)} results; median of {args.repeats} runs; load average {os.getloadavg()[0]:.2f}")
    print(f"{'backend':<20}{'seconds':>10}{'AP':>10}{'AR':>10}{'speed-up':>10}")
    for row in rows:
        print(f"{row['backend']:<20}{row['seconds']:>10.2f}{row['AP']:>10.4f}{row['AR']:>10.4f}"
              f"{rows[0]['seconds'] / row['seconds']:>10.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"people": len(gt["annotations"]), "images": len(gt["images"]),
                                               "results": len(results), "rows": rows,
                                               "load_average_1_5_15": os.getloadavg(),
                                               "date": time.strftime("%Y-%m-%d %H:%M")}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
