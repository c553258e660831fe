"""Fuzzing the converters (the annotation loader's fuzzing is in tests/test_coco_format.py).

Whatever the annotation file holds, a converter returns a COCO dict that is strict JSON and
loads for training, or raises AnnotationError / ImageReadError naming the file: never a
numpy, scipy or KeyError traceback.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from semipose.data.coco_format import records_from_coco_dict
from semipose.data.converters import aic_to_coco, lsp_to_coco, mpii_to_coco
from semipose.data.errors import AnnotationError, ImageReadError

from .generators_runtime import aic_entry, mpii_entry

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IMAGE_WH = (40, 60)
LSP_IMAGES = 3  # im0001.jpg .. im0003.jpg exist; a 4th person's image is missing
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10)
file_names = st.sampled_from(["im1", "im2", "absent", "../im1", "sub/im1", "", "im1.png"])


@pytest.fixture(scope="module")
def image_dir():
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for name in ["im1.png", "im2.png"] + [f"im{n:04d}.jpg" for n in range(1, LSP_IMAGES + 1)]:
            Image.new("RGB", IMAGE_WH, (90, 120, 150)).save(folder / name)
        (folder / "notes.png").write_text("not an image")
        yield folder


def convert_or_refuse(convert, source: Path, image_dir: Path, **options) -> None:
    try:
        coco = convert(source, image_dir, **options)
    except (AnnotationError, ImageReadError) as error:
        assert str(source) in str(error) or str(image_dir) in str(error)
        return
    json.dumps(coco, allow_nan=False)  # strict JSON: no NaN / Infinity reaches the output
    records, _, _ = records_from_coco_dict(coco, image_dir, "converted", for_training=False)
    for record in records:
        assert np.isfinite(record.keypoints).all() and record.bbox[2] > 0 and record.bbox[3] > 0


def write_text_or_truncated(path: Path, content, cut) -> Path:
    text = json.dumps(content)
    path.write_text(text if cut is None else text[:cut])
    return path


# ----------------------------------------------------------------------------- MPII list json


@st.composite
def mpii_lists(draw):
    entries = [mpii_entry(image=draw(file_names) + ".png"), mpii_entry(image="im2.png")]
    for _ in range(draw(st.integers(0, 2))):  # one joint of entry 0, then whole fields
        entries[0]["joints"][draw(st.integers(0, 15))] = draw(json_values)
    for _ in range(draw(st.integers(0, 2))):
        entry = entries[draw(st.integers(0, 1))]
        key = draw(st.sampled_from(["image", "joints", "joints_vis", "center", "scale"]))
        if draw(st.booleans()):
            entry.pop(key, None)
        else:
            entry[key] = draw(json_values)
    return draw(st.sampled_from([entries, entries[:1], draw(json_values)]))


@FUZZ
@given(content=mpii_lists(), cut=st.none() | st.integers(0, 400))
def test_mpii_converts_or_refuses(image_dir, content, cut):
    with tempfile.TemporaryDirectory() as folder:
        source = write_text_or_truncated(Path(folder) / "mpii.json", content, cut)
        convert_or_refuse(mpii_to_coco, source, image_dir)


# ----------------------------------------------------------------------------- AI Challenger json


@st.composite
def aic_lists(draw):
    entry = aic_entry(visibility=draw(st.sampled_from([1, 2, 3])))
    entry["image_id"] = draw(file_names)
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(["keypoint", "box", "human"]))
        if target == "keypoint":
            entry["keypoint_annotations"]["human1"][draw(st.integers(0, 41))] = draw(json_values)
        elif target == "box":
            entry["human_annotations"]["human1"] = draw(json_values)
        else:
            entry["human_annotations"][draw(st.text(max_size=7))] = [1, 2, 30, 40]
    if draw(st.booleans()):
        key = draw(st.sampled_from(["image_id", "keypoint_annotations", "human_annotations"]))
        entry[key] = draw(json_values)
    return draw(st.sampled_from([[entry], [entry, entry], draw(json_values)]))


@FUZZ
@given(content=aic_lists(), cut=st.none() | st.integers(0, 400))
def test_aic_converts_or_refuses(image_dir, content, cut):
    with tempfile.TemporaryDirectory() as folder:
        source = write_text_or_truncated(Path(folder) / "aic.json", content, cut)
        convert_or_refuse(aic_to_coco, source, image_dir, image_extension=".png")


# ----------------------------------------------------------------------------- LSP joints.mat

cell_values = st.one_of(st.floats(), st.sampled_from([0.0, 1.0, 2.0, -1.0, 0.5]),
                        st.floats(-100, 100))


@st.composite
def lsp_joints(draw):
    people = draw(st.integers(0, LSP_IMAGES + 1))
    joints = np.stack([np.linspace(5, 30, 14), np.linspace(5, 50, 14), np.zeros(14)])
    joints = np.repeat(joints[:, :, None], people, axis=2)
    for _ in range(draw(st.integers(0, 3))):
        if joints.size:
            index = tuple(draw(st.integers(0, n - 1)) for n in joints.shape)
            joints[index] = draw(cell_values)
    layout = draw(st.sampled_from(["original", "extended", "cut", "flat", "int", "bool", "text"]))
    integral = np.isfinite(joints).all() and (np.abs(joints) < 1e9).all()
    return {"original": joints, "extended": joints.transpose(1, 0, 2), "cut": joints[:, :13],
            "flat": joints.reshape(-1), "int": joints.astype(np.int64) if integral else joints,
            "bool": joints > 1, "text": "joints"}[layout]


@FUZZ
@given(joints=lsp_joints(), cut=st.none() | st.integers(0, 600))
def test_lsp_converts_or_refuses(image_dir, joints, cut):
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "joints.mat"
        scipy.io.savemat(str(source), {"joints": joints})
        if cut is not None:
            source.write_bytes(source.read_bytes()[:cut])
        convert_or_refuse(lsp_to_coco, source, image_dir)
