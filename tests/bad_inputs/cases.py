"""The bad-input corpus: one row per case, (id, generator of the bad file(s), expected outcome).

Read it as the specification of what a user sees. "{tmp}" is the case's folder; the valid
inputs the generators break are in builders.py (two images im1.png / im2.png of 64x48, people
11, 12 on image 1 and 21, 22 on image 2, COCO-17). The policy is in README.md.
"""
from __future__ import annotations

from semipose.data.errors import AnnotationError, ImageReadError

from .builders import data_section, huge_png, load_data, person_keypoints, valid_coco, write_dataset, write_png
from .cases_runtime import RUN_CASES
from .generators import (annotation, annotation_text, bad_val_entry, broken_image, chain, crowd,
                         detection, detections, directory, grey, missing_file, odd_image,
                         only_keypoints, save_exif_rotated_jpeg, save_grey, save_mode, save_rgba,
                         save_sixteen_bit_grey, set_annotation, set_image, set_keypoint_value,
                         text_file, truncated_jpeg, truncated_json, unlabelled_folder,
                         wider_than_json, zero_bytes)
from .outcomes import Case, Counts, Loads, raises, warns

TRAIN = "{tmp}/train.json: "
KEYPOINTS_EXPECTED = "(expected 51 finite numbers x, y, v with v in {0, 1, 2})"


def both_policies(case_id: str, mutate, error, skipped: dict, kept: int) -> list:
    """An entry that is an error under on_bad_sample=error and a counted skip under skip."""
    return [Case(f"{case_id}[error]", annotation(mutate), error),
            Case(f"{case_id}[skip]", annotation(mutate, "skip"), Counts(kept, skipped))]


def annotation_error(*fragments: str):
    return raises(AnnotationError, *fragments)


FILE_CASES = [
    Case("annotation/file-missing", annotation_text(None), annotation_error(TRAIN + "file not found")),
    Case("annotation/empty-file", annotation_text(""), annotation_error(TRAIN + "empty file")),
    Case("annotation/only-whitespace", annotation_text(" \n\t"), annotation_error(TRAIN + "empty file")),
    Case("annotation/empty-file-under-skip-is-still-an-error", annotation_text("", "skip"),
         annotation_error(TRAIN + "empty file")),
    Case("annotation/truncated-json", annotation_text(truncated_json(valid_coco())),
         annotation_error(TRAIN + "not valid JSON (truncated?): ", " at line 1 column ")),
    Case("annotation/binary-not-json", annotation_text(b"\x89PNG\r\n\x1a\n\x00\xff\xfe"),
         annotation_error(TRAIN + "not readable JSON text: 'utf-8' codec can't decode byte 0x89 in position 0")),
    Case("annotation/latin-1-encoded", annotation_text('{"images": [{"file_name": "\xe9"}]}'.encode("latin-1")),
         annotation_error(TRAIN + "not readable JSON text: 'utf-8' codec can't decode byte 0xe9 in position 27")),
    Case("annotation/top-level-list", annotation_text("[1, 2]"), annotation_error(
        TRAIN + "top level is list (expected a COCO object with images, annotations, categories)")),
    *[Case(f"annotation/missing-{key}", annotation(lambda coco, key=key: coco.pop(key)),
           annotation_error(TRAIN + f"field '{key}': missing (expected a list)"))
      for key in ("images", "annotations", "categories")],
    Case("annotation/images-is-an-object", annotation(lambda coco: coco.update(images={})),
         annotation_error(TRAIN + "field 'images': is dict (expected a list)")),
    Case("annotation/no-keypoint-category",
         annotation(lambda coco: coco["categories"][0].pop("keypoints")),
         annotation_error(TRAIN + "field 'categories': cannot pick the keypoint category")),
]

ENTRY_CASES = [
    *both_policies("annotation/duplicate-image-id", set_image(1, "id", 1),
                   annotation_error(TRAIN + "image id=1: field 'images[].id': duplicate image id"),
                   {"duplicate_image_id": 1, "missing_image_entry": 2}, kept=2),
    *both_policies("annotation/duplicate-annotation-id", set_annotation(1, "id", 11),
                   annotation_error(TRAIN + "annotation id=11: field 'id': duplicate annotation id"),
                   {"duplicate_ann_id": 1}, kept=3),
    *both_policies("annotation/unknown-image-id", set_annotation(0, "image_id", 7),
                   annotation_error(TRAIN + "annotation id=11: field 'image_id': image id 7 is not in 'images'"),
                   {"missing_image_entry": 1}, kept=3),
    *both_policies("annotation/keypoints-wrong-length", set_annotation(0, "keypoints", person_keypoints(5)[:-3]),
                   annotation_error(TRAIN + "annotation id=11: image id=1: field 'keypoints': got [5, 6, 2, ",
                                    KEYPOINTS_EXPECTED),
                   {"bad_keypoints": 1}, kept=3),
    *both_policies("annotation/keypoint-is-a-string", set_keypoint_value(4, "12"),
                   annotation_error(TRAIN + "annotation id=11: image id=1: field 'keypoints': "
                                    "non-numeric entry in [5, 6, 2, 6, '12', ", KEYPOINTS_EXPECTED),
                   {"bad_keypoints": 1}, kept=3),
    *both_policies("annotation/keypoint-is-nan", set_keypoint_value(0, float("nan")),
                   annotation_error(TRAIN + "annotation id=11: image id=1: field 'keypoints': NaN, "
                                    "infinite or out-of-range number", KEYPOINTS_EXPECTED),
                   {"bad_keypoints": 1}, kept=3),
    Case("annotation/keypoint-is-infinite", annotation(set_keypoint_value(1, float("-inf"))),
         annotation_error("field 'keypoints': NaN, infinite or out-of-range number")),
    *both_policies("annotation/visibility-3", set_keypoint_value(2, 3),
                   annotation_error(TRAIN + "annotation id=11: image id=1: field 'keypoints': "
                                    "visibility flags [2.0, 3.0]", KEYPOINTS_EXPECTED),
                   {"bad_keypoints": 1}, kept=3),
    Case("annotation/visibility-negative", annotation(set_keypoint_value(2, -1)),
         annotation_error("field 'keypoints': visibility flags [-1.0, 2.0]")),
    *both_policies("annotation/negative-box-one-keypoint",
                   chain(set_annotation(0, "bbox", [4, 4, -20, 36]), only_keypoints(3)),
                   annotation_error(TRAIN + "annotation id=11: image id=1: field 'bbox': degenerate box "
                                    "[4, 4, -20, 36] and too few labelled keypoints to rebuild it"),
                   {"bad_bbox": 1}, kept=3),
    Case("annotation/negative-box-rebuilt-from-keypoints", annotation(set_annotation(0, "bbox", [4, 4, -20, 36])),
         Counts(4, repaired={"bbox_from_keypoints": 1})),
    Case("annotation/zero-area-box-rebuilt-from-keypoints", annotation(set_annotation(0, "bbox", [4, 4, 0, 0])),
         Counts(4, repaired={"bbox_from_keypoints": 1})),
    *both_policies("annotation/box-outside-image", set_annotation(0, "bbox", [100, 100, 20, 20]),
                   annotation_error(TRAIN + "annotation id=11: image id=1: field 'bbox': [100, 100, 20, 20] "
                                    "lies outside the 64x48 image (expected [x, y, w, h] with w, h > 0"),
                   {"bad_bbox": 1}, kept=3),
    Case("annotation/box-partly-outside-is-clipped", annotation(set_annotation(0, "bbox", [50, 4, 20, 36])),
         Counts(4, repaired={"bbox_clipped": 1})),
    Case("annotation/box-of-strings", annotation(set_annotation(0, "bbox", ["4", "4", "20", "36"])),
         annotation_error("field 'bbox': got ['4', '4', '20', '36']")),
    Case("annotation/crowd-only-image", annotation(crowd(2, 3)), Counts(2, {"crowd": 2})),
    Case("annotation/person-without-labelled-keypoints", annotation(only_keypoints()),
         Counts(3, {"no_keypoints": 1})),
    Case("annotation/iscrowd-2", annotation(set_annotation(0, "iscrowd", 2)),
         annotation_error("annotation id=11: image id=1: field 'iscrowd': got 2 (expected 0 or 1)")),
    Case("annotation/annotation-id-is-a-string", annotation(set_annotation(0, "id", "11")),
         annotation_error(TRAIN + "image id=1: field 'annotations[].id': got '11' (expected an integer)")),
    *both_policies("annotation/image-width-is-a-string", set_image(0, "width", "64"),
                   annotation_error(TRAIN + "image id=1: field 'images[].width': got '64' "
                                    "(expected a positive integer)"),
                   {"bad_image_entry": 1, "image_skipped": 2}, kept=2),
    *both_policies("annotation/file-name-leaves-image-root", set_image(0, "file_name", "../../etc/passwd"),
                   annotation_error(TRAIN + "image id=1: field 'images[].file_name': '../../etc/passwd' "
                                    "leaves the image root"),
                   {"image_outside_root": 1, "image_skipped": 2}, kept=2),
    Case("annotation/absolute-file-name", annotation(set_image(0, "file_name", "/etc/passwd")),
         annotation_error("field 'images[].file_name': '/etc/passwd' leaves the image root")),
    Case("annotation/bad-validation-entry-under-skip-is-logged", bad_val_entry(set_keypoint_value(2, 3)),
         warns("{tmp}/val.json: kept 3, skipped 1 bad_keypoints (first: {tmp}/val.json: annotation id=11: "
               "image id=1: field 'keypoints': visibility flags [2.0, 3.0]")),
    Case("annotation/every-person-skipped-is-an-error-before-training",
         annotation(lambda coco: [a.update(keypoints=[]) for a in coco["annotations"]], "skip"),
         annotation_error(TRAIN, "no usable people")),
]

IMAGE = "{tmp}/images/im1.png: cannot read image: "
JPEGS = ("im1.jpg", "im2.jpg")
FOUND_DURING_TRAINING = (
    "build_datasets does not read image headers, so a missing image stops the run at its first "
    "batch (error) or is not skipped at all (skip). Suggested fix in data/build.py: pass "
    "check_images=True to load_person_records / records_from_detections (header reads only)")


def image_error(reason: str):
    return raises(ImageReadError, IMAGE + reason)


def found_before_training(reason: str):
    return annotation_error(TRAIN + "image id=1: field 'images[].file_name': cannot read image "
                            + IMAGE.replace(": cannot read image: ", ": ") + reason,
                            "(expected a readable image file)")


IMAGE_CASES = [
    # Read when a sample is decoded (build_datasets, then every sample, as training does).
    Case("image/missing", broken_image(missing_file), image_error("file not found")),
    Case("image/zero-bytes", broken_image(zero_bytes), image_error("empty file (0 bytes)")),
    Case("image/truncated-jpeg", broken_image(truncated_jpeg(0.8)),
         image_error("cannot decode (image file is truncated (")),
    Case("image/jpeg-cut-inside-its-header", broken_image(truncated_jpeg(0.3)),
         image_error("cannot open (Truncated File Read)")),
    Case("image/text-file-named-png", broken_image(text_file),
         image_error("not an image file (unknown or broken header)")),
    Case("image/directory-named-png", broken_image(directory), image_error("is a directory, not an image file")),
    Case("image/huge", broken_image(huge_png(12000, 10000)), image_error(
        "12000x10000 = 120000000 pixels exceeds the limit of 100000000 (max_pixels); refusing to decode")),
    Case("image/decompression-bomb", broken_image(huge_png(20000, 20000)), image_error(
        "cannot open (Image size (400000000 pixels) exceeds limit of 178956970 pixels")),
    # Found before training by the loader's header check (load_person_records(check_images=True)).
    Case("image/missing-found-by-header-check", broken_image(missing_file, check_images=True),
         found_before_training("file not found")),
    Case("image/text-file-found-by-header-check", broken_image(text_file, check_images=True),
         found_before_training("not an image file (unknown or broken header)")),
    Case("image/huge-found-by-header-check", broken_image(huge_png(12000, 10000), check_images=True),
         found_before_training("12000x10000 = 120000000 pixels exceeds the limit")),
    Case("image/size-differs-from-json", broken_image(wider_than_json, check_images=True),
         annotation_error(TRAIN + "image id=1: field 'images[].width': 64x48 but {tmp}/images/im1.png is 80x48 "
                          "(expected the file's width x height after EXIF orientation)")),
    Case("image/missing-skipped-by-header-check[skip]", broken_image(missing_file, True, "skip"),
         Counts(2, {"unreadable_image": 1, "image_skipped": 2})),
    Case("image/missing-found-before-training", broken_image(missing_file, read_samples=False),
         annotation_error(TRAIN + "image id=1: field 'images[].file_name': cannot read image")),
    Case("image/missing-skipped-and-counted[skip]", broken_image(missing_file, policy="skip", read_samples=False),
         Counts(2, {"unreadable_image": 1, "image_skipped": 2})),
    Case("image/unlabelled-folder-with-a-text-file[error]", unlabelled_folder(text_file),
         raises(ImageReadError, "{tmp}/unlabelled/b.jpg: cannot read image: not an image file")),
    Case("image/unlabelled-folder-with-a-text-file[skip]", unlabelled_folder(text_file, "skip", through_build=False),
         warns("{tmp}/unlabelled: kept 1, skipped 1 unreadable_image (first: {tmp}/unlabelled/b.jpg: ")),
    Case("image/unlabelled-folder-with-a-text-file-through-build[skip]", unlabelled_folder(text_file, "skip"),
         warns("{tmp}/unlabelled: kept 1, skipped 1 unreadable_image")),
    Case("image/unlabelled-folder-without-a-box-source[error]",
         unlabelled_folder(write_png, whole_image=False),
         raises(ValueError, "data.unlabelled.images={tmp}/unlabelled: a folder of images has no person boxes; "
                            "choose them: data.unlabelled.detector.model=DETECTOR.onnx")),
    # Unusual but valid files: the samples equal those of plain RGB PNGs of the same pixels.
    Case("image/greyscale", odd_image(save_grey, grey), Loads(0)),
    Case("image/rgba", odd_image(save_rgba), Loads(0)),
    Case("image/16-bit-greyscale-png", odd_image(save_sixteen_bit_grey, grey), Loads(0)),
    Case("image/cmyk-jpeg", odd_image(save_mode("CMYK", format="JPEG", quality=100, subsampling=0),
                                      file_names=JPEGS), Loads(0, tolerance=2)),
    Case("image/exif-rotated-jpeg", odd_image(save_exif_rotated_jpeg, file_names=JPEGS), Loads(0, tolerance=2)),
    Case("image/non-ascii-file-names", odd_image(lambda path, rgb: write_png(path, rgb),
                                                 file_names=("läufer 1.png", "走る_2.png")), Loads(0)),
]

DETS = "{tmp}/dets.json: "

DETECTION_CASES = [
    Case("detections/unknown-image-id[error]", detections([detection(), detection(image_id=99)]),
         annotation_error(DETS + "image id=99: field 'image_id': detection 1: image id 99 is not in the "
                          "ground-truth images (expected an id from the ground-truth json)")),
    Case("detections/unknown-image-id[skip]",
         detections([detection(), detection(image_id=99)], "skip", through_build=False),
         Counts(1, {"missing_image_entry": 1})),
    Case("detections/unknown-image-id-through-build[skip]",
         detections([detection(), detection(image_id=99)], "skip"),
         warns(DETS + "kept 1, skipped 1 missing_image_entry (first: " + DETS + "image id=99: ")),
    Case("detections/not-a-list", detections({"image_id": 1}),
         annotation_error(DETS + "top level is dict (expected a list of detections (COCO results format))")),
    Case("detections/nan-score", detections([detection(score=float("nan"))]),
         annotation_error(DETS + "image id=1: field 'score': detection 0: got nan (expected a finite number)")),
    Case("detections/box-outside-image", detections([detection(bbox=(500, 500, 10, 10))]),
         annotation_error(DETS + "image id=1: field 'bbox': detection 0: [500, 500, 10, 10] lies outside "
                          "the 64x48 image")),
]

CASES = FILE_CASES + ENTRY_CASES + IMAGE_CASES + DETECTION_CASES + RUN_CASES


def validation_set(mutate) -> callable:
    """An intact train json; the validation json after `mutate` (class 5 of issue 18: found before step 1)."""
    def make(tmp):
        coco = valid_coco()
        mutate(coco)
        data = data_section(tmp, write_dataset(tmp), val_coco=coco)
        return lambda: load_data(data)
    return make


def _all_crowd(coco):
    for ann in coco["annotations"]:
        ann["iscrowd"] = 1


def _no_annotations(coco):
    coco["annotations"] = []


UNKNOWN_CATEGORY = "field 'category_id': category_id {} names no category of the file"

# Issue 18, classes 5 and 8: labels dropped quietly, validation sets found empty only after training.
LABEL_CASES = [
    Case("annotation/category-id-a-string[error]", annotation(set_annotation(0, "category_id", "1")),
         annotation_error("annotation id=11: image id=1: " + UNKNOWN_CATEGORY.format("'1'"))),
    Case("annotation/category-id-a-string[skip]", annotation(set_annotation(0, "category_id", "1"), "skip"),
         Counts(3, {"unknown_category": 1})),
    Case("annotation/category-id-of-no-category[error]", annotation(set_annotation(1, "category_id", 7)),
         annotation_error("annotation id=12: image id=1: " + UNKNOWN_CATEGORY.format("7"))),
    Case("annotation/category-id-of-no-category[skip]", annotation(set_annotation(1, "category_id", 7), "skip"),
         Counts(3, {"unknown_category": 1})),
    Case("detections/category-id-of-no-category[error]", detections([detection(), detection(category_id=5)]),
         annotation_error(DETS + "image id=1: field 'category_id': detection 1: category_id 5 names no category")),
    Case("detections/category-id-a-string[skip]",
         detections([detection(), detection(category_id="person")], "skip", through_build=False),
         Counts(1, {"unknown_category": 1})),
    Case("validation/all-crowd", validation_set(_all_crowd),
         annotation_error("{tmp}/val.json: no people to validate on")),
    Case("validation/no-annotations", validation_set(_no_annotations),
         annotation_error("{tmp}/val.json: no people to validate on")),
]

CASES = CASES + LABEL_CASES
