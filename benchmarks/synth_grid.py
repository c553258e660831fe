"""Draw a grid of synthetic pictures and person crops with their keypoints and skeleton.

    python benchmarks/synth_grid.py --out docs/synth_samples.png [--people 60 --seed 0]

Generates a small data set with semipose.data.synth.generate_dataset into a temporary folder,
reads it back through its COCO json (so the picture shows exactly what a loader gets), and
draws full pictures on top and person crops below. The person's LEFT side is orange, the
right side blue, the centre green; filled dots are visible joints (v=2), rings hidden (v=1).
Also prints the generator's speed.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

from semipose.data.synth import generate_dataset

LEFT, RIGHT, CENTRE = (0, 140, 255), (255, 120, 0), (60, 220, 60)


def side_colour(name: str) -> tuple:
    return LEFT if name.startswith("left") else RIGHT if name.startswith("right") else CENTRE


def draw_person(image: np.ndarray, annotation: dict, category: dict, scale: float = 1.0,
                offset=(0.0, 0.0), box: bool = True) -> None:
    names = category["keypoints"]
    points = np.array(annotation["keypoints"], float).reshape(-1, 3)
    points[:, :2] = (points[:, :2] - offset) * scale
    for a, b in category["skeleton"]:
        pa, pb = points[a - 1], points[b - 1]
        if pa[2] > 0 and pb[2] > 0:
            colour = side_colour(names[b - 1]) if side_colour(names[a - 1]) == side_colour(
                names[b - 1]) else CENTRE
            cv2.line(image, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), colour, 1,
                     cv2.LINE_AA)
    for name, (x, y, v) in zip(names, points):
        if v > 0:
            cv2.circle(image, (int(round(x)), int(round(y))), 2 if v == 2 else 3,
                       side_colour(name), -1 if v == 2 else 1, cv2.LINE_AA)
    if box:
        x, y, w, h = annotation["bbox"]
        x, y = (x - offset[0]) * scale, (y - offset[1]) * scale
        cv2.rectangle(image, (int(x), int(y)), (int((x + w * scale)), int(y + h * scale)),
                      (255, 255, 255), 1)


def person_crop(image: np.ndarray, annotation: dict, category: dict, size=(128, 160)) -> np.ndarray:
    """The person's box padded x1.25 to the crop's aspect ratio, scaled to `size` (w, h)."""
    x, y, w, h = annotation["bbox"]
    centre = np.array([x + w / 2, y + h / 2])
    aspect = size[0] / size[1]
    w, h = (h * aspect, h) if w < h * aspect else (w, w / aspect)
    w, h = 1.25 * w, 1.25 * h
    scale = size[0] / w
    offset = centre - np.array([w, h]) / 2
    matrix = np.array([[scale, 0, -offset[0] * scale], [0, scale, -offset[1] * scale]])
    crop = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(30, 30, 30))
    draw_person(crop, annotation, category, scale, offset, box=False)
    return crop


def make_grid(data_dir: Path, columns: int = 4, crop_rows: int = 3) -> np.ndarray:
    coco = json.loads((data_dir / "annotations" / "train.json").read_text())
    category = coco["categories"][0]
    by_image = {}
    for annotation in coco["annotations"]:
        by_image.setdefault(annotation["image_id"], []).append(annotation)
    pictures, crops = [], []
    for entry in coco["images"]:
        image = cv2.imread(str(data_dir / "images" / "train" / entry["file_name"]))
        people = by_image.get(entry["id"], [])
        crops += [person_crop(image, annotation, category) for annotation in people]
        if len(pictures) < columns:
            overlay = image.copy()
            for annotation in people:
                draw_person(overlay, annotation, category)
            pictures.append(np.concatenate([image, overlay], axis=0))
    width = sum(p.shape[1] for p in pictures)
    top = np.concatenate(pictures, axis=1)
    per_row = width // crops[0].shape[1]
    crops = crops[:per_row * crop_rows]
    rows = [np.concatenate(crops[i:i + per_row], axis=1) for i in range(0, len(crops), per_row)]
    rows = [np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))) for row in rows]
    return np.concatenate([top] + rows, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/synth_samples.png")
    parser.add_argument("--people", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        summary = generate_dataset(folder, args.people, args.seed, val_people=1)
        print(f"generated {summary['splits']['train']['images']} pictures "
              f"({summary['splits']['train']['people']} people) at "
              f"{summary['images_per_second']} pictures/s")
        grid = make_grid(Path(folder))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, grid, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
