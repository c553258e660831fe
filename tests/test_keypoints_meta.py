"""Keypoint layouts and reading them from COCO categories."""
import json
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
from pycocotools.cocoeval import Params

from semipose.data.errors import AnnotationError, ImageReadError
from semipose.data.keypoints import (AIC14, COCO17, KNOWN_LAYOUTS, LSP14, MPII16, KeypointMeta,
                                     flip_pairs_from_names, meta_from_category)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LSP_README_ORDER = ["right ankle", "right knee", "right hip", "left hip", "left knee",
                    "left ankle", "right wrist", "right elbow", "right shoulder", "left shoulder",
                    "left elbow", "left wrist", "neck", "head top"]


def test_coco_sigmas_equal_pycocotools():
    np.testing.assert_allclose(COCO17.sigmas, Params(iouType="keypoints").kpt_oks_sigmas)


def test_lsp_order_is_the_release_order():
    assert [n.replace("_", " ") for n in LSP14.names] == LSP_README_ORDER


@pytest.mark.parametrize("name", sorted(KNOWN_LAYOUTS))
def test_flip_permutation_swaps_left_and_right_names(name):
    meta = KNOWN_LAYOUTS[name]
    perm = meta.flip_permutation()
    np.testing.assert_array_equal(perm[perm], np.arange(meta.num_keypoints))  # an involution
    for i, partner in enumerate(perm):
        mirrored = meta.names[i].replace("left", "@").replace("right", "left").replace("@", "right")
        assert meta.names[partner] == mirrored


def test_flip_test_permutation_is_none_without_pairs():
    # LSP-14 by hand: right ankle (0) <-> left ankle (5), ..., neck (12) and head top (13) stay
    assert LSP14.flip_test_permutation() == [5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 12, 13]
    unpaired = KeypointMeta(names=("a", "b"), flip_pairs=(), skeleton=(), sigmas=None)
    assert unpaired.flip_test_permutation() is None


def test_known_layout_sizes_and_flags():
    assert (COCO17.num_keypoints, LSP14.num_keypoints, MPII16.num_keypoints,
            AIC14.num_keypoints) == (17, 14, 16, 14)
    assert COCO17.has_sigmas and AIC14.has_sigmas and not LSP14.has_sigmas
    assert not MPII16.has_sigmas and all(m.has_flip for m in KNOWN_LAYOUTS.values())


def test_meta_rejects_inconsistent_fields():
    with pytest.raises(ValueError):
        KeypointMeta(("a", "b"), ((0, 2),), (), None)
    with pytest.raises(ValueError):
        KeypointMeta(("a", "b", "c"), (), ((0, 1), (1, 2)), None)
    with pytest.raises(ValueError):
        KeypointMeta(("a", "b"), (), (), (0.1,))


def _category(names, **extra):
    return {"id": 1, "name": "person", "keypoints": list(names), **extra}


def test_coco_category_gives_coco17_with_skeleton_converted_from_one_based():
    category = _category(COCO17.names, skeleton=[[16, 14], [1, 2]])
    meta = meta_from_category(category, "x.json")
    assert meta.skeleton == ((15, 13), (0, 1))
    assert meta.flip_pairs == COCO17.flip_pairs and meta.sigmas == COCO17.sigmas


@pytest.mark.shared_data
def test_real_coco_and_aic_categories():
    coco_json = DATA / "mmpose_testdata" / "coco" / "test_coco.json"
    if not coco_json.exists():
        pytest.skip(f"shared data absent: {coco_json}")
    coco_category = json.loads(coco_json.read_text())["categories"][0]
    assert meta_from_category(coco_category, str(coco_json)) == COCO17
    aic_json = DATA / "mmpose_testdata" / "aic" / "test_aic.json"
    aic_category = json.loads(aic_json.read_text())["categories"][0]  # "Right Shoulder", ...
    meta = meta_from_category(aic_category, str(aic_json))
    assert meta.sigmas == AIC14.sigmas and meta.flip_pairs == AIC14.flip_pairs
    assert meta.skeleton == AIC14.skeleton


def test_flip_pairs_derived_from_side_names():
    names = ["nose", "Left Hand", "right-hand", "left_foot", "right_foot"]
    assert flip_pairs_from_names(names) == ((1, 2), (3, 4))
    assert flip_pairs_from_names(["left_hand", "right_hand", "left_foot"]) is None
    assert flip_pairs_from_names(["nose", "tail"]) is None


def test_unknown_layout_needs_sigmas_or_an_opt_in():
    names = ["nose", "left_paw", "right_paw"]
    with pytest.raises(AnnotationError, match="sigmas.*--pck-only.*allow_missing=true") as caught:
        meta_from_category(_category(names), "animals.json")
    assert "animals.json" in str(caught.value)
    assert meta_from_category(_category(names, sigmas=None), "a.json").sigmas is None
    relaxed = meta_from_category(_category(names), "a.json", allow_missing=True)
    assert relaxed.sigmas is None and relaxed.flip_pairs == ((1, 2),)
    explicit = meta_from_category(_category(names, sigmas=[0.1, 0.2, 0.2]), "a.json")
    assert explicit.sigmas == (0.1, 0.2, 0.2)


def test_unpairable_names_need_flip_pairs_or_an_opt_in():
    names = ["nose", "left_paw", "tail"]
    with pytest.raises(AnnotationError, match="flip_pairs"):
        meta_from_category(_category(names, sigmas=None), "a.json")
    assert meta_from_category(_category(names), "a.json", allow_missing=True).flip_pairs == ()
    given = meta_from_category(_category(names, sigmas=None, flip_pairs=[]), "a.json")
    assert given.flip_pairs == ()


@pytest.mark.parametrize("extra", [
    {"sigmas": [0.1, 0.2]}, {"sigmas": [0.1, -0.2, 0.1]}, {"sigmas": ["a", 1, 1]},
    {"sigmas": None, "flip_pairs": [[1, 1]]}, {"sigmas": None, "flip_pairs": [[0, 3]]},
    {"sigmas": None, "flip_pairs": "0,1"},
])
def test_bad_extra_fields_are_annotation_errors(extra):
    with pytest.raises(AnnotationError, match="b.json"):
        meta_from_category(_category(["nose", "left_paw", "right_paw"], **extra), "b.json")


@pytest.mark.parametrize("category", [
    [], {"keypoints": []}, {"keypoints": "nose"}, {"keypoints": ["a", 3]},
    {"keypoints": ["left_a", "Left A"]}])
def test_bad_keypoint_names_are_annotation_errors(category):
    with pytest.raises(AnnotationError):
        meta_from_category(category, "c.json", allow_missing=True)


def test_broken_skeletons_warn_instead_of_failing(caplog):
    with caplog.at_level(logging.WARNING):
        zero_based = meta_from_category(_category(LSP14.names, skeleton=[[0, 1], [12, 13]]), "s")
        too_big = meta_from_category(_category(LSP14.names, skeleton=[[16, 14]]), "s")
    assert zero_based.skeleton == ((0, 1), (12, 13))
    assert too_big.skeleton == LSP14.skeleton  # the known layout's own skeleton instead
    assert "0-based" in caplog.text and "ignoring" in caplog.text


def test_errors_survive_pickling_with_their_fields():
    error = AnnotationError("f.json", "bad", image_id=3, ann_id=7, field="bbox",
                            expected="4 numbers", reason="bad_bbox")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) == ("f.json: annotation id=7: image id=3: field 'bbox': bad "
                                       "(expected 4 numbers)")
    assert copy.reason == "bad_bbox" and isinstance(copy, ValueError)
    image_error = pickle.loads(pickle.dumps(ImageReadError("a.jpg", "empty file")))
    assert str(image_error) == "a.jpg: cannot read image: empty file"
