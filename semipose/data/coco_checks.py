"""Structure and field checks for COCO json, shared by the loader, the converters and splits.

Each parser takes a `fail(problem)` callback that raises the caller's AnnotationError, so the
message can name the file, the annotation id and the field while the rule lives here once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Optional, Union

import numpy as np

from semipose.configtools import short_repr  # noqa: F401 (re-exported for the converters)
from semipose.data.errors import AnnotationError, ImageReadError
from semipose.data.images import image_size

PathLike = Union[str, Path]
Box = tuple[float, float, float, float]


def read_json_file(path: PathLike) -> Any:
    """json.load with an AnnotationError naming the file for every way it can go wrong."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, "is a directory" if path.is_dir() else "file not found")
    raw = path.read_bytes()
    if not raw.strip():
        raise AnnotationError(path, "empty file")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise AnnotationError(path, f"not valid JSON (truncated?): {error.msg} at line "
                              f"{error.lineno} column {error.colno} (char {error.pos})") from None
    except (UnicodeDecodeError, RecursionError) as error:
        raise AnnotationError(path, f"not readable JSON text: {error}") from None


def validate_coco_dict(coco: Any, source: str) -> dict:
    """Top level: an object whose images / annotations / categories are lists of objects."""
    if not isinstance(coco, dict):
        raise AnnotationError(source, f"top level is {type(coco).__name__}",
                              expected="a COCO object with images, annotations, categories")
    for key in ("images", "annotations", "categories"):
        if key not in coco:
            raise AnnotationError(source, "missing", field=key, expected="a list")
        entries = coco[key]
        if not isinstance(entries, list):
            raise AnnotationError(source, f"is {type(entries).__name__}", field=key,
                                  expected="a list")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise AnnotationError(source, f"entry {index} is {type(entry).__name__}",
                                      field=key, expected="objects")
    return coco


def person_category(coco: dict, source: str) -> dict:
    """The category whose annotations carry keypoints (the one named 'person' if several)."""
    with_keypoints = [c for c in coco["categories"] if "keypoints" in c]
    if len(with_keypoints) > 1:
        with_keypoints = [c for c in with_keypoints if c.get("name") == "person"]
    if len(with_keypoints) != 1:
        raise AnnotationError(source, "cannot pick the keypoint category", field="categories",
                              expected="exactly one category with 'keypoints' (or one named "
                                       "'person')")
    if not is_int(with_keypoints[0].get("id")):
        raise AnnotationError(source, f"got {with_keypoints[0].get('id')!r}",
                              field="categories[].id", expected="an integer")
    return with_keypoints[0]


def category_ids(coco: dict) -> frozenset:
    """The integer ids of the file's categories (what an entry's category_id may name)."""
    return frozenset(c["id"] for c in coco["categories"] if isinstance(c, dict) and is_int(c.get("id")))


def is_other_category(category_id: Any, person_id: int, known: frozenset, fail) -> bool:
    """True for an entry of another category of the file (skipped as usual), False for the
    keypoint category or no category_id (COCO results may leave it out); `fail(problem)` for a
    category_id that names nothing: a string, a float, an id no category has."""
    if category_id is None or (is_int(category_id) and category_id == person_id):
        return False
    if is_int(category_id) and category_id in known:
        return True
    fail(f"category_id {short_repr(category_id)} names no category of the file (ids {sorted(known)[:10]})")
    return True


@dataclass(frozen=True)
class ImageEntry:
    id: int
    path: Path
    wh: tuple[int, int]


def parse_image_entry(entry: dict, image_root: Path, source: str, allow_outside_root: bool,
                      check_file: bool = False) -> ImageEntry:
    """Checks id, file_name (must stay inside image_root unless allowed), width and height;
    with check_file, also that the file's header reads and gives that width and height (after
    EXIF orientation), so a missing or broken image stops a run before training, not during it."""
    image_id = entry.get("id")

    def fail(field_name: str, problem: str, expected: str, reason: str = "bad_image_entry"):
        raise AnnotationError(source, problem, image_id=image_id, field=f"images[].{field_name}",
                              expected=expected, reason=reason)

    if not is_int(image_id):
        fail("id", f"got {short_repr(image_id)}", "an integer")
    file_name = entry.get("file_name")
    if not isinstance(file_name, str) or not file_name.strip() or "\0" in file_name:
        fail("file_name", f"got {short_repr(file_name)}", "a non-empty relative path")
    relative = PurePath(file_name)
    if (relative.is_absolute() or ".." in relative.parts) and not allow_outside_root:
        fail("file_name", f"{file_name!r} leaves the image root", "a path inside the image "
             "root (pass allow_outside_root=True to accept it)", reason="image_outside_root")
    size = []
    for key in ("width", "height"):
        value = entry.get(key)
        if not (is_number(value) and 0 < value < 2**31 and float(value).is_integer()):
            fail(key, f"got {short_repr(value)}", "a positive integer")
        size.append(int(value))
    path = image_root / file_name
    if check_file:
        try:
            actual = image_size(path)
        except ImageReadError as error:
            fail("file_name", f"cannot read image {error.file}: {error.reason}",
                 "a readable image file", reason="unreadable_image")
        if actual != tuple(size):
            fail("width", f"{size[0]}x{size[1]} but {path} is {actual[0]}x{actual[1]}",
                 "the file's width x height after EXIF orientation", reason="image_size_mismatch")
    return ImageEntry(image_id, path, (size[0], size[1]))


def annotation_reference_problem(ann: dict, images: dict, seen_ids: set,
                                 source: str) -> Optional[AnnotationError]:
    """The error for a bad / duplicate annotation id or an unknown image id, else None."""
    ann_id, image_id = ann.get("id"), ann.get("image_id")
    if not is_int(ann_id):
        return AnnotationError(source, f"got {short_repr(ann_id)}", image_id=_hashable(image_id),
                               field="annotations[].id", expected="an integer",
                               reason="bad_annotation")
    if ann_id in seen_ids:
        return AnnotationError(source, "duplicate annotation id", ann_id=ann_id,
                               field="id", reason="duplicate_ann_id")
    if not is_int(image_id) or image_id not in images:
        return AnnotationError(source, f"image id {short_repr(image_id)} is not in 'images'",
                               ann_id=ann_id, field="image_id", reason="missing_image_entry")
    return None


def _hashable(value: Any) -> Any:
    return value if is_int(value) else None


def parse_keypoints(value: Any, k: int, fail) -> np.ndarray:
    """[x, y, v] * K -> float32 (K, 3); calls fail(problem) (which raises) on bad input."""
    if not isinstance(value, list) or len(value) != 3 * k:
        fail(f"got {short_repr(value)}")
    if not all(is_number(x) for x in value):
        fail(f"non-numeric entry in {short_repr(value)}")
    try:
        with np.errstate(over="ignore"):
            keypoints = np.array(value, dtype=np.float64).astype(np.float32).reshape(k, 3)
    except OverflowError:
        keypoints = None
    if keypoints is None or not np.isfinite(keypoints).all():
        fail("NaN, infinite or out-of-range number")
    if not np.isin(keypoints[:, 2], (0, 1, 2)).all():
        fail(f"visibility flags {sorted(set(keypoints[:, 2].tolist()))}")
    return keypoints


def parse_bbox(value: Any, keypoints: np.ndarray, image_wh: tuple[int, int], fail):
    """-> (clipped xywh, name of the repair made or None).

    A box partly outside the image is clipped to [0, W] x [0, H] ("bbox_clipped"); one
    entirely outside is bad. A missing or degenerate (zero or negative width/height) box is
    replaced by the tight box around the labelled keypoints ("bbox_from_keypoints") when at
    least two of them span a non-zero width and height; otherwise it is bad.
    """
    repair = None
    box = numeric_box(value) if value is not None else None
    if value is not None and box is None:
        fail(f"got {short_repr(value)}")
    if box is None or box[2] <= 0 or box[3] <= 0:
        box = box_from_keypoints(keypoints)
        if box is None:
            fail(f"{'missing' if value is None else 'degenerate box ' + short_repr(value)} and "
                 "too few labelled keypoints to rebuild it")
        repair = "bbox_from_keypoints"
    clipped = clip_box(box, image_wh)
    if clipped is None:
        fail(f"{short_repr(value)} lies outside the {image_wh[0]}x{image_wh[1]} image")
    if repair is None and clipped != box:
        repair = "bbox_clipped"
    return clipped, repair


def numeric_box(value: Any) -> Optional[Box]:
    if not isinstance(value, list) or len(value) != 4 or not all(is_number(x) for x in value):
        return None
    try:
        box = tuple(float(x) for x in value)
    except OverflowError:
        return None
    return box if all(abs(x) < 1e9 for x in box) else None


def box_from_keypoints(keypoints: np.ndarray) -> Optional[Box]:
    """Tight xywh box of the labelled (v > 0) keypoints; None if it has no area."""
    labelled = keypoints[keypoints[:, 2] > 0, :2].astype(np.float64)
    if len(labelled) < 2:
        return None
    (x1, y1), (x2, y2) = labelled.min(axis=0), labelled.max(axis=0)
    if x2 <= x1 or y2 <= y1:
        return None
    return (float(x1), float(y1), float(x2 - x1), float(y2 - y1))


def clip_box(box, image_wh) -> Optional[Box]:
    """Clip xywh to [0, W] x [0, H] (unchanged if already inside); None when nothing is left."""
    if box[0] >= 0 and box[1] >= 0 and box[0] + box[2] <= image_wh[0] \
            and box[1] + box[3] <= image_wh[1] and box[2] > 0 and box[3] > 0:
        return tuple(box)
    x1, y1 = max(box[0], 0.0), max(box[1], 0.0)
    x2, y2 = min(box[0] + box[2], float(image_wh[0])), min(box[1] + box[3], float(image_wh[1]))
    if x2 <= x1 or y2 <= y1:
        return None
    return (x1, y1, x2 - x1, y2 - y1)


def is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
