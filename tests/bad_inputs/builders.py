"""The valid inputs every case starts from: a two-image COCO set, its images, a config, a
checkpoint. A case breaks ONE thing in a fresh copy, so it fails for its own reason only
(test_bad_inputs.py checks that the unbroken inputs load, train-ready, without any warning)."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import yaml
from PIL import Image

from semipose.api import load_config
from semipose.data.build import build_datasets
from semipose.data.keypoints import COCO17
from semipose.data.topdown import denormalise_image
from semipose.models import build_model

IMAGE_WH = (64, 48)
INPUT_SIZE = [32, 32]
FILE_NAMES = ("im1.png", "im2.png")
MODEL_WIDTH = 8  # the tiny model's width in every config and checkpoint here


def person_keypoints(left: int) -> list:
    """17 labelled joints (v = 2) of a 17 x 33 px person whose left edge is at x = left."""
    return [value for j in range(17) for value in (left + j, 6 + 2 * j, 2)]


def valid_coco(file_names=FILE_NAMES, image_wh=IMAGE_WH) -> dict:
    """Two images with two people each; annotation ids 11, 12 (image 1) and 21, 22 (image 2)."""
    images = [{"id": i + 1, "file_name": name, "width": image_wh[0], "height": image_wh[1]}
              for i, name in enumerate(file_names)]
    annotations = [{"id": 10 * image_id + p, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                    "bbox": [4 + 30 * (p - 1), 4, 20, 36], "area": 720.0, "num_keypoints": 17,
                    "keypoints": person_keypoints(5 + 30 * (p - 1))}
                   for image_id in (1, 2) for p in (1, 2)]
    categories = [{"id": 1, "name": "person", "keypoints": list(COCO17.names),
                   "skeleton": [[16, 14], [14, 12]]}]
    return {"images": images, "annotations": annotations, "categories": categories}


def blocky_rgb(wh=IMAGE_WH, seed=0) -> np.ndarray:
    """8x8-pixel blocks of random colour: exact through PNG, near-exact through JPEG."""
    blocks = np.random.default_rng(seed).integers(0, 256, (wh[1] // 8, wh[0] // 8, 3), np.uint8)
    return np.kron(blocks, np.ones((8, 8, 1), np.uint8))


def write_png(path: Path, rgb: Optional[np.ndarray] = None) -> None:
    Image.fromarray(blocky_rgb() if rgb is None else rgb).save(path)


def write_json(path: Path, content) -> Path:
    path.write_text(json.dumps(content))  # allow_nan: NaN / Infinity are written as JSON allows
    return path


def write_dataset(root: Path, coco: Optional[dict] = None, mutate: Optional[Callable] = None,
                  write_image: Callable = write_png) -> Path:
    """root/images/<file_name> for every image, then root/train.json (after `mutate(coco)`)."""
    coco = valid_coco() if coco is None else coco
    (root / "images").mkdir(parents=True, exist_ok=True)
    for entry in coco["images"]:
        write_image(root / "images" / entry["file_name"])
    if mutate is not None:
        mutate(coco)
    return write_json(root / "train.json", coco)


def data_section(root: Path, train_json: Path, policy: str = "error",
                 val_coco: Optional[dict] = None, **extra) -> dict:
    """The `data` part of a config: train = the (broken) json, val = an intact copy."""
    val_json = write_json(root / "val.json", valid_coco() if val_coco is None else val_coco)
    images = str(root / "images")
    return {"train": {"images": images, "json": str(train_json)},
            "val": {"images": images, "json": str(val_json)},
            "input_size": INPUT_SIZE, "workers": 0, "on_bad_sample": policy, **extra}


def config_dict(root: Path, data: dict) -> dict:
    """A whole run of one iteration of the tiny model: nothing here trains for long."""
    return {"data": data, "model": {"name": "tiny", "width": MODEL_WIDTH},
            "train": {"iterations": 1, "batch_size": 2, "lr_steps": [1], "val_every": 1,
                      "checkpoint_every": 1, "run_dir": str(root / "run")},
            "eval": {"batch_size": 4}}


def write_config(root: Path, content: dict, name: str = "config.yaml") -> Path:
    path = root / name
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def load_data(data: dict, need_unlabelled: bool = False):
    """The public path of a run's data: config -> build_datasets (no training)."""
    config = load_config(None, [f"data={json.dumps(data)}"])
    return build_datasets(config.data, seed=0, need_unlabelled=need_unlabelled)


def train_report(data: dict) -> dict:
    """The training set's LoadReport (as a dict) after build_datasets, plus the labelled count."""
    bundle = load_data(data)
    return {**bundle.summary["train_load"], "labelled": bundle.summary["labelled_people"]}


def sample_crops(data: dict) -> list:
    """Every labelled and validation sample's input crop (uint8 RGB): what training decodes."""
    bundle = load_data(data)
    samples = [bundle.labelled[(i, 0)] for i in range(len(bundle.labelled))]
    samples += [bundle.val[i] for i in range(len(bundle.val))]
    return [denormalise_image(sample["image"]).astype(np.int16) for sample in samples]


def huge_png(width: int, height: int) -> Callable[[Path], None]:
    """Writes a PNG whose header claims width x height pixels (a decompression bomb's first
    bytes; the pixel data is a stub: nothing is ever allocated)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    def write(path: Path) -> None:
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                         + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return write


def tiny_state_dict(num_keypoints: int = 17, name: str = "tiny") -> dict:
    options = {"width": MODEL_WIDTH} if name == "tiny" else {}
    torch.manual_seed(0)
    return build_model(name, num_keypoints, **options).state_dict()


def tiny_model(num_keypoints: int = 17) -> torch.nn.Module:
    return build_model("tiny", num_keypoints, width=MODEL_WIDTH)


class CreatesFileWhenUnpickled:
    """What an attacker ships inside a checkpoint: unpickling it runs Path.touch(marker)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


MARKER = "code_was_executed"


def evil_checkpoint(root: Path, name: str = "evil.pt") -> Path:
    """A checkpoint (plain torch.save) whose unpickling would create root/MARKER."""
    path = root / name
    torch.save({"state_dict": tiny_state_dict(), "extra": CreatesFileWhenUnpickled(root / MARKER)},
               path)
    return path
