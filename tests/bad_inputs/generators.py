"""Case generators: each returns `make(tmp)`, which writes the bad file(s) into tmp and returns
the call a user would make on them, through the public entry points only."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import scipy.io
import torch
from PIL import Image

from semipose.api import evaluate, load_config
from semipose.cli.main import main
from semipose.data.coco_format import load_person_records, records_from_detections
from semipose.engine.checkpoint import load_checkpoint
from semipose.models.loading import load_weights

from .builders import (blocky_rgb, config_dict, data_section, evil_checkpoint,
                       load_data, sample_crops, tiny_model, tiny_state_dict, train_report,
                       valid_coco, write_config, write_dataset, write_json, write_png)

# ----------------------------------------------------------------------------- annotation files


def annotation(mutate: Callable[[dict], None], policy: str = "error") -> Callable:
    """The two-image set with `mutate` applied to its train json, loaded by build_datasets."""
    def make(tmp: Path):
        data = data_section(tmp, write_dataset(tmp, mutate=mutate), policy)
        return lambda: train_report(data)
    return make


def annotation_text(text, policy: str = "error") -> Callable:
    """A train json holding these raw bytes / this text (or no file at all when None)."""
    def make(tmp: Path):
        train_json = write_dataset(tmp)
        if text is None:
            train_json.unlink()
        else:
            train_json.write_bytes(text if isinstance(text, bytes) else text.encode())
        data = data_section(tmp, train_json, policy)
        return lambda: train_report(data)
    return make


def truncated_json(coco: dict) -> str:
    text = json.dumps(coco)
    return text[: len(text) // 2]


def set_annotation(index: int, key: str, value) -> Callable:
    """Annotation `index` in json order (0 -> id 11, 1 -> 12, 2 -> 21, 3 -> 22) gets key = value."""
    def mutate(coco: dict):
        coco["annotations"][index][key] = value
    return mutate


def set_keypoint_value(position: int, value) -> Callable:
    def mutate(coco: dict):
        coco["annotations"][0]["keypoints"][position] = value
    return mutate


def set_image(index: int, key: str, value) -> Callable:
    def mutate(coco: dict):
        coco["images"][index][key] = value
    return mutate


def only_keypoints(*labelled: int) -> Callable:
    """Annotation 11 keeps only these joints labelled (the others v = 0, x = y = 0)."""
    def mutate(coco: dict):
        keypoints = coco["annotations"][0]["keypoints"]
        for joint in set(range(17)) - set(labelled):
            keypoints[3 * joint: 3 * joint + 3] = [0, 0, 0]
    return mutate


def chain(*mutations: Callable) -> Callable:
    def mutate(coco: dict):
        for mutation in mutations:
            mutation(coco)
    return mutate


def crowd(*indices: int) -> Callable:
    return chain(*(set_annotation(i, "iscrowd", 1) for i in indices))


# ----------------------------------------------------------------------------- image files


def broken_image(write_bad: Callable[[Path], None], check_images: Optional[bool] = None,
                 policy: str = "error", read_samples: bool = True) -> Callable:
    """im1.png replaced by write_bad(path). check_images=None: build_datasets then decode every
    sample (what training does); True/False: load_person_records(check_images=...) alone."""
    def make(tmp: Path):
        train_json = write_dataset(tmp)
        write_bad(tmp / "images" / "im1.png")
        data = data_section(tmp, train_json, policy)
        if check_images is not None:
            return lambda: load_person_records(train_json, tmp / "images", on_bad_sample=policy,
                                               check_images=check_images)[2].as_dict()
        return (lambda: sample_crops(data)) if read_samples else (lambda: train_report(data))
    return make


def missing_file(path: Path) -> None:
    path.unlink()


def zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def truncated_jpeg(path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(blocky_rgb()).save(buffer, "JPEG", quality=90)
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


def text_file(path: Path) -> None:
    path.write_text("this is not an image\n")


def directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def wider_than_json(path: Path) -> None:
    write_png(path, blocky_rgb((80, 48)))


def odd_image(write_odd: Callable[[Path, np.ndarray], None], reference: Callable = lambda x: x,
              file_names=("im1.png", "im2.png")) -> Callable:
    """Images written by write_odd(path, rgb) vs plain RGB PNGs of reference(rgb): the call
    returns the largest difference (grey levels) between their samples' input crops."""
    def make(tmp: Path):
        rgb = blocky_rgb()
        coco = valid_coco(file_names)
        odd = data_section(tmp / "odd", write_dataset(tmp / "odd", coco, write_image=lambda p: write_odd(p, rgb)),
                           val_coco=coco)
        plain = data_section(tmp / "plain", write_dataset(
            tmp / "plain", write_image=lambda p: write_png(p, reference(rgb))))
        return lambda: max(int(np.abs(a - b).max())
                           for a, b in zip(sample_crops(odd), sample_crops(plain)))
    return make


def save_mode(mode: str, **options) -> Callable:
    return lambda path, rgb: Image.fromarray(rgb).convert(mode).save(path, **options)


def save_rgba(path: Path, rgb: np.ndarray) -> None:
    alpha = np.random.default_rng(1).integers(0, 256, rgb.shape[:2], np.uint8)
    Image.fromarray(np.dstack([rgb, alpha])).save(path)


def save_sixteen_bit_grey(path: Path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb[:, :, 0].astype(np.uint16) * 256 + 77).save(path)  # low byte is noise


def save_exif_rotated_jpeg(path: Path, rgb: np.ndarray) -> None:
    """Stored pixels turned 90 degrees; EXIF orientation 6 says how to turn them upright."""
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(np.rot90(rgb))).save(
        path, "JPEG", exif=exif.tobytes(), quality=100, subsampling=0)


def grey(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(rgb[:, :, :1], 3, axis=2)


# ----------------------------------------------------------------------------- detection files


def detections(content, policy: str = "error", through_build: bool = True) -> Callable:
    """Validation boxes from a detection file (COCO results format) beside the intact val json."""
    def make(tmp: Path):
        data = data_section(tmp, write_dataset(tmp), policy)
        dets = write_json(tmp / "dets.json", content)
        data["val"]["detections"] = str(dets)
        if through_build:
            return lambda: load_data(data)
        coco = valid_coco()
        return lambda: records_from_detections(dets, coco, tmp / "images", on_bad_sample=policy)[1].as_dict()
    return make


def detection(image_id=1, bbox=(4, 4, 20, 36), score=0.9) -> dict:
    return {"image_id": image_id, "category_id": 1, "bbox": list(bbox), "score": score}


# ----------------------------------------------------------------------------- configs


def config_text(text: Optional[str], overrides=()) -> Callable:
    """api.load_config on a YAML file holding `text` ("{tmp}" = the case folder; None = no file)."""
    def make(tmp: Path):
        path = tmp / "config.yaml"
        if text is not None:
            path.write_text(text.replace("{tmp}", str(tmp)))
        return lambda: load_config(path, list(overrides))
    return make


def data_config(policy: str = "error", **data_options) -> Callable:
    """build_datasets with the intact two-image set and these data options (e.g. a split)."""
    def make(tmp: Path):
        data = data_section(tmp, write_dataset(tmp), policy, **data_options)
        return lambda: load_data(data)
    return make


# ----------------------------------------------------------------------------- checkpoints


def checkpoint_file(write: Callable[[Path], None], load: str = "checkpoint") -> Callable:
    """write(path) makes model.pt; load = "checkpoint" (engine.checkpoint.load_checkpoint),
    "weights" (models.loading.load_weights into the tiny K=17 model) or "evaluate" (api)."""
    def make(tmp: Path):
        path = tmp / "model.pt"
        write(path)
        if load == "checkpoint":
            return lambda: load_checkpoint(path)
        if load == "weights":
            return lambda: load_weights(tiny_model(17), path).summary()
        data = data_section(tmp, write_dataset(tmp))
        config = load_config(None, [f"data={json.dumps(data)}", "model.width=8", "eval.batch_size=4"])
        return lambda: evaluate(config, str(path))
    return make


def state_dict_of(num_keypoints: int = 17, name: str = "tiny") -> Callable:
    return lambda path: torch.save(tiny_state_dict(num_keypoints, name), path)


def truncated_checkpoint(path: Path) -> None:
    torch.save({"state_dict": tiny_state_dict()}, path)
    path.write_bytes(path.read_bytes()[:1000])


def pickled_object(path: Path) -> None:
    evil_checkpoint(path.parent, path.name)


def raw_bytes(content: bytes) -> Callable:
    return lambda path: path.write_bytes(content)


def saved(value) -> Callable:
    return lambda path: torch.save(value, path)


# ----------------------------------------------------------------------------- command lines


def command_line(*args: str, dataset: Optional[Callable] = None, config: Optional[dict] = None) -> Callable:
    """main([...]) with "{tmp}" in args replaced; `dataset(tmp)` may first write a (bad) set, and
    config (deep-merged over a one-iteration tiny run on it) is written to {tmp}/config.yaml."""
    def make(tmp: Path):
        train_json = dataset(tmp) if dataset is not None else write_dataset(tmp)
        content = config_dict(tmp, data_section(tmp, train_json))
        for section, values in (config or {}).items():
            content[section] = {**content.get(section, {}), **values}
        write_config(tmp, content)
        argv = [arg.replace("{tmp}", str(tmp)) for arg in args]
        return lambda: run_main(argv)
    return make


def run_main(argv: list) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        return exit_.code


def with_file(name: str, write: Callable[[Path], None]) -> Callable:
    """A dataset writer for command_line that also writes {tmp}/name (a checkpoint, ...)."""
    def dataset(tmp: Path) -> Path:
        train_json = write_dataset(tmp)
        write(tmp / name)
        return train_json
    return dataset


def as_json(content) -> Callable:
    return lambda path: write_json(path, content)



def dataset_writer(mutate: Optional[Callable] = None, text: Optional[str] = None) -> Callable:
    """A dataset writer for command_line: the two-image set with a mutated (or replaced) json."""
    def dataset(tmp: Path) -> Path:
        train_json = write_dataset(tmp, mutate=mutate)
        if text is not None:
            train_json.write_text(text)
        return train_json
    return dataset


def mat_file(joints: np.ndarray) -> Callable:
    return lambda path: scipy.io.savemat(str(path), {"joints": joints})


def mpii_entry(**changes) -> dict:
    entry = {"image": "im1.png", "joints": [[10 + j, 8 + 2 * j] for j in range(16)],
             "joints_vis": [1] * 16, "center": [20.0, 24.0], "scale": 0.2}
    return {**entry, **changes}


def aic_entry(visibility: int = 1) -> dict:
    keypoints = [value for j in range(14) for value in (10 + j, 8 + 2 * j, visibility)]
    return {"image_id": "im1", "keypoint_annotations": {"human1": keypoints},
            "human_annotations": {"human1": [4, 4, 30, 44]}}
