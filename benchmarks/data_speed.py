"""Samples/s per worker core: the straightforward per-sample pipeline next to the lean one.

    python benchmarks/data_speed.py [--people 400] [--input 192x256] [--batch 32] [--repeats 5]
                                    [--json data_speed.json]
    python benchmarks/data_speed.py --coco-images DIR --coco-json FILE ...   # your own COCO photos

Generates COCO-format synthetic people (640x480 JPEGs, 1-4 people of 40-460 px) in a temporary
folder, or reads a COCO keypoint set, then builds batches of augmented training samples (same
people, same draws) with:

- straightforward: the full JPEG decoded, warpAffine to the input size, float normalisation on
  the CPU, 17 Gaussian heatmaps in numpy, float batch; decoded either with PIL the way semipose
  did before the lean pipeline (`np.asarray(Image.open(path).convert("RGB"))`), or with
  cv2.imread as the reference code's loader does (faster);
- lean, full decode: uint8 crops + keypoints (data.fast_decode=false);
- lean, whole JPEG: uint8 crops + keypoints, JPEGs decoded at 1/2, 1/4, 1/8 when the crop allows
  but always whole (what the lean pipeline does without the region-decoding C helper);
- lean: the same, decoding only the region of the JPEG the crop reads (data.fast_decode=true,
  the default);
- lean, crop cache: the crop warped from the person-crop cache (data.crop_cache, built first in
  the scratch folder; its build CPU time and size per 1000 people are printed).

What a DataLoader worker does is timed: fetch + collate of one batch, in CPU seconds of this
process (time.process_time, one torch and one OpenCV thread), so other load on the machine
changes the numbers little. The lean pipelines leave normalisation and heatmaps to
semipose.data.batch_prep.prepare_batch on the training device; its cost on this CPU is printed
as well. Each pipeline runs `--repeats` times, interleaved; the table gives the median.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import default_collate

from semipose import geometry
from semipose.api import load_config
from semipose.data import jpeg_region
from semipose.data.batch_prep import IMAGENET_MEAN, IMAGENET_STD, prepare_batch
from semipose.data.build import build_datasets, training_records
from semipose.data.crop_cache import build_cache
from semipose.data.synth import generate_dataset
from semipose.data.topdown import TopDownDataset, decode_reduction


class StraightforwardDataset(TopDownDataset):
    """The per-sample pipeline of the usual loaders, on our sampling (same people and draws)."""

    decoder = "cv2"

    def _crop(self, record, image_to_input) -> np.ndarray:
        if self.decoder == "cv2":
            image = cv2.cvtColor(cv2.imread(str(record.image_path)), cv2.COLOR_BGR2RGB)
        else:
            with Image.open(record.image_path) as opened:
                image = np.asarray(opened.convert("RGB"))
        return geometry.warp_image(image, image_to_input, self.config.input_size)

    def __getitem__(self, item) -> dict:
        sample = super().__getitem__(item)
        crop = sample["image"].permute(1, 2, 0).numpy()  # the (H, W, 3) crop again, no copy
        sample["image"] = torch.from_numpy(((crop.astype(np.float32) - IMAGENET_MEAN) / IMAGENET_STD)
                                           .transpose(2, 0, 1).copy())
        sample["heatmaps"] = torch.from_numpy(numpy_heatmaps(sample["keypoints"].numpy(),
                                                             sample["target_weight"].numpy(), self.config))
        return sample


def numpy_heatmaps(keypoints: np.ndarray, weight: np.ndarray, data) -> np.ndarray:
    """(K, h, w) float32 Gaussians at the keypoints (input pixels), zero where weight is 0."""
    width, height = data.heatmap_size
    points = (keypoints[:, :2] + 0.5) / data.heatmap_stride - 0.5
    gauss_x = np.exp(-(np.arange(width, dtype=np.float32) - points[:, :1]) ** 2 / (2 * data.sigma ** 2))
    gauss_y = np.exp(-(np.arange(height, dtype=np.float32) - points[:, 1:]) ** 2 / (2 * data.sigma ** 2))
    return (gauss_y[:, :, None] * gauss_x[:, None, :] * weight[:, None, None]).astype(np.float32)


def make_data(folder: Path, people: int, seed: int) -> None:
    generate_dataset(folder, people, seed, val_people=1, image_size=(640, 480), height_range=(40, 460))


class WholeJpeg:
    """A lean dataset with region decoding switched off."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item) -> dict:
        with jpeg_region.disabled():
            return self.dataset[item]


def build_crop_cache(folder: Path, data) -> dict:
    """Build the person-crop cache of `data`'s people: CPU seconds and MiB per 1000 people."""
    records = training_records(data)
    started = time.process_time()
    summary = build_cache(folder, records, data)
    per_thousand = 1000 / summary["people"]
    return {"people": summary["people"], "build_cpu_s_per_1000_people": (time.process_time() - started) * per_thousand,
            "mib_per_1000_people": summary["bytes"] / 2 ** 20 * per_thousand}


def pipelines(images: Path, annotations: Path, input_wh, cache_dir: Path) -> tuple[dict, object, dict]:
    def config(fast: bool, *extra):
        return load_config(None, [f"data.train.images={images}", f"data.train.json={annotations}",
                                  f"data.val.images={images}", f"data.val.json={annotations}",
                                  f"data.input_size={list(input_wh)}", f"data.fast_decode={fast}",
                                  "data.check_images=false", *extra]).data
    cache = build_crop_cache(cache_dir, config(True))
    cached = build_datasets(config(True, f"data.crop_cache={cache_dir}"), seed=0, need_unlabelled=False).labelled
    lean = build_datasets(config(True), seed=0, need_unlabelled=False).labelled
    full = build_datasets(config(False), seed=0, need_unlabelled=False).labelled
    with_pil = StraightforwardDataset(full.records, full.meta, full.config, augment=True, seed=0)
    with_pil.decoder = "pil"
    with_cv2 = StraightforwardDataset(full.records, full.meta, full.config, augment=True, seed=0)
    return {"straightforward, PIL": with_pil, "straightforward, cv2": with_cv2, "lean, full decode": full,
            "lean, whole JPEG": WholeJpeg(lean), "lean": lean, "lean, crop cache": cached}, lean.config, cache


def time_batches(dataset, batches: list) -> float:
    """CPU seconds per sample to fetch and collate `batches` of (index, draw) items."""
    started = time.process_time()
    for items in batches:
        default_collate([dataset[item] for item in items])
    return (time.process_time() - started) / sum(len(items) for items in batches)


def time_device_prep(dataset, batches: list, data, repeats: int = 5) -> float:
    """CPU seconds per sample of prepare_batch (normalise + heatmaps), after a warm-up call."""
    collated = [default_collate([dataset[item] for item in items]) for items in batches[:3]]
    prepare_batch(collated[0], data, torch.device("cpu"))
    started = time.process_time()
    for _ in range(repeats):
        for batch in collated:
            prepare_batch(batch, data, torch.device("cpu"))
    return (time.process_time() - started) / (repeats * sum(len(batch["image"]) for batch in collated))


def run(images: Path, annotations: Path, input_wh, batch_size: int, num_batches: int, repeats: int,
        cache_dir: Path) -> dict:
    datasets, data, cache = pipelines(images, annotations, input_wh, cache_dir)
    rng = np.random.default_rng(0)
    order = rng.permutation(np.resize(np.arange(len(datasets["lean"])), batch_size * num_batches))
    batches = [[(int(i), position) for position, i in enumerate(order[b * batch_size:(b + 1) * batch_size],
                                                                  start=b * batch_size)]
               for b in range(num_batches)]
    per_sample = {name: [] for name in datasets}
    for _ in range(repeats):
        for name, dataset in datasets.items():
            per_sample[name].append(time_batches(dataset, batches))
    factors = [decode_reduction(datasets["lean"][item]["image_to_input"].double().numpy())
               for items in batches for item in items]
    baselines = {name: statistics.median(per_sample[f"straightforward, {name}"]) for name in ("PIL", "cv2")}
    rows = [{"pipeline": name, "ms_per_sample": 1e3 * statistics.median(times),
             "samples_per_s_per_core": 1.0 / statistics.median(times),
             **{f"cost_vs_straightforward_{base}": statistics.median(times) / seconds
                for base, seconds in baselines.items()},
             "runs_ms": [round(1e3 * t, 3) for t in times]} for name, times in per_sample.items()]
    return {"rows": rows, "device_prep_ms_per_sample_on_this_cpu": 1e3 * time_device_prep(datasets["lean"], batches,
                                                                                            data),
            "decode_factors": {str(f): factors.count(f) for f in sorted(set(factors))},
            "input_wh": list(input_wh), "batch_size": batch_size, "batches": num_batches, "repeats": repeats,
            "people": len(datasets["lean"]), "images": str(images), "region_decoding": jpeg_region.available(),
            "crop_cache": {**cache, "views_read_from_the_jpeg": datasets["lean, crop cache"].crop_cache.fallbacks}}


def print_table(result: dict) -> None:
    print(f"{result['images']}: input {result['input_wh'][0]}x{result['input_wh'][1]} (w x h), "
          f"{result['people']} people, "
          f"{result['batches']} batches of {result['batch_size']}, median of {result['repeats']} runs; "
          f"reduced decodes (factor: samples) {result['decode_factors']}")
    print(f"{'pipeline':<22}{'ms/sample':>11}{'samples/s/core':>16}{'cost vs PIL one':>17}{'vs cv2 one':>12}")
    for row in result["rows"]:
        print(f"{row['pipeline']:<22}{row['ms_per_sample']:>11.3f}{row['samples_per_s_per_core']:>16.0f}"
              f"{row['cost_vs_straightforward_PIL']:>17.2f}{row['cost_vs_straightforward_cv2']:>12.2f}")
    if not result["region_decoding"]:
        print("the region-decoding C helper is not built here: the 'lean' row decodes whole JPEGs")
    cache = result["crop_cache"]
    print(f"crop cache: {cache['mib_per_1000_people']:.0f} MiB and {cache['build_cpu_s_per_1000_people']:.1f} s of "
          f"CPU to build per 1000 people; views outside it (read from the JPEG): {cache['views_read_from_the_jpeg']}")
    print(f"lean: prepare_batch (normalise + heatmaps) on this CPU: "
          f"{result['device_prep_ms_per_sample_on_this_cpu']:.3f} ms/sample (on a GPU: a few kernels per batch)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--input", default="192x256", help="crop width x height")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", help="an existing folder made by this script (default: a temporary one)")
    parser.add_argument("--coco-images", help="time a COCO keypoint set instead: its image folder ...")
    parser.add_argument("--coco-json", help="... and its person_keypoints json")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one worker core
    cv2.setNumThreads(1)
    input_wh = tuple(int(v) for v in args.input.lower().split("x"))
    with tempfile.TemporaryDirectory() as scratch:
        if args.coco_images:
            images, annotations = Path(args.coco_images), Path(args.coco_json)
        else:
            folder = Path(args.data) if args.data else Path(scratch)
            if not (folder / "annotations" / "train.json").exists():
                make_data(folder, args.people, args.seed)
            images, annotations = folder / "images" / "train", folder / "annotations" / "train.json"
        result = run(images, annotations, input_wh, args.batch, args.batches, args.repeats,
                     Path(scratch) / "crop_cache")
    result.update({"load_average_1_5_15": os.getloadavg(), "cpu_count": os.cpu_count(),
                   "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
                   "opencv": cv2.__version__, "date": time.strftime("%Y-%m-%d %H:%M")})
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
