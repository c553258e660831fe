"""benchmarks/left_right_swaps.py on hand-built people, for two keypoint layouts."""
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from semipose.data.keypoints import COCO17, LSP14

_spec = importlib.util.spec_from_file_location(
    "left_right_swaps", Path(__file__).resolve().parents[1] / "benchmarks" / "left_right_swaps.py")
left_right_swaps = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(left_right_swaps)


def _people(meta, seed: int):
    """Two people with all joints labelled (visibility 2): predicted exactly, and left/right swapped."""
    truth = np.random.default_rng(seed).uniform(0, 100, (meta.num_keypoints, 2))
    labelled = np.concatenate([truth, np.full((meta.num_keypoints, 1), 2.0)], axis=1)
    record = SimpleNamespace(keypoints=labelled, bbox=(0.0, 0.0, 100.0, 100.0))
    permutation = list(meta.flip_permutation())
    return np.stack([truth, truth[permutation]]), [record, record], list(meta.names), permutation


def test_a_swapped_person_counts_once_in_any_layout():
    for meta, expect_face in ((COCO17, True), (LSP14, False)):
        predicted, records, names, permutation = _people(meta, seed=1)
        result = left_right_swaps.swap_statistics(predicted, records, names, permutation)
        assert result["people"] == 2 and result["swapped"] == 0.5
        assert ("swapped_face_visible" in result) == expect_face
        if expect_face:  # both people show their nose: the hidden-face group is empty
            assert result["swapped_face_visible"] == 0.5 and result["swapped_face_hidden"] is None
