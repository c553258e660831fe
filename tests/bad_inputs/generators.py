"""Case generators for data files: each returns `make(tmp)`, which writes the bad file(s) into
tmp and returns the call a user would make on them, through the public entry points only.
(Configs, checkpoints and command lines: generators_runtime.py.)"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from PIL import Image

from semipose.data.coco_format import (load_person_records, records_from_detections,
                                       records_from_image_folder)

from .builders import (blocky_rgb, data_section, load_data, sample_crops, train_report, valid_coco,
                       write_dataset, write_json, write_png)

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


def bad_val_entry(mutate: Callable[[dict], None], policy: str = "skip") -> Callable:
    """An intact train json and a validation json with `mutate` applied, through build_datasets."""
    def make(tmp: Path):
        val_coco = valid_coco()
        mutate(val_coco)
        data = data_section(tmp, write_dataset(tmp), policy, val_coco=val_coco)
        return lambda: load_data(data)
    return make


def without_num_keypoints() -> dict:
    coco = valid_coco()
    for entry in coco["annotations"]:
        del entry["num_keypoints"]
    return coco


# ----------------------------------------------------------------------------- image files


def broken_image(write_bad: Callable[[Path], None], check_images: Optional[bool] = None,
                 policy: str = "error", read_samples: bool = True) -> Callable:
    """im1.png replaced by write_bad(path). check_images=None: build_datasets then decode every
    sample (what training does) — with read_samples, the header check is off (data.check_images=false)
    so the decoder's own error is what is tested; True/False: load_person_records(check_images=...) alone."""
    def make(tmp: Path):
        train_json = write_dataset(tmp)
        write_bad(tmp / "images" / "im1.png")
        data = data_section(tmp, train_json, policy, **({"check_images": False} if read_samples else {}))
        if check_images is not None:
            return lambda: load_person_records(train_json, tmp / "images", on_bad_sample=policy,
                                               check_images=check_images)[2].as_dict()
        return (lambda: sample_crops(data)) if read_samples else (lambda: train_report(data))
    return make


def missing_file(path: Path) -> None:
    path.unlink()


def zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def truncated_jpeg(keep: float) -> Callable:
    """A JPEG cut after this fraction of its bytes (0.3: inside the header; 0.8: in the pixels)."""
    def write(path: Path) -> None:
        buffer = io.BytesIO()
        Image.fromarray(blocky_rgb()).save(buffer, "JPEG", quality=90)
        path.write_bytes(buffer.getvalue()[: int(len(buffer.getvalue()) * keep)])
    return write


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


def save_grey(path: Path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb[:, :, 0]).save(path)


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


def unlabelled_folder(write_bad: Callable[[Path], None], policy: str = "error",
                      through_build: bool = True, whole_image: bool = True) -> Callable:
    """An unlabelled image folder {tmp}/unlabelled with a.png and a bad b.jpg: through
    build_datasets (data.unlabelled = the folder, whole images as boxes unless whole_image=False:
    then it has no box source) or records_from_image_folder alone."""
    def make(tmp: Path):
        data = data_section(tmp, write_dataset(tmp), policy)
        folder = tmp / "unlabelled"
        folder.mkdir()
        write_png(folder / "a.png")
        write_bad(folder / "b.jpg")
        data["unlabelled"] = {"images": str(folder), "whole_image": whole_image}
        if through_build:
            return lambda: load_data(data, need_unlabelled=True)
        return lambda: records_from_image_folder(folder, on_bad_sample=policy)
    return make


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


def detection(image_id=1, bbox=(4, 4, 20, 36), score=0.9, category_id=1) -> dict:
    return {"image_id": image_id, "category_id": category_id, "bbox": list(bbox), "score": score}
