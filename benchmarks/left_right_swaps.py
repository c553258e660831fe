"""How often a checkpoint confuses a person's left and right, on the validation people.

    python benchmarks/left_right_swaps.py runs/synth_supervised [key.sub=value ...]

For each person, the body joints (shoulders to ankles, found by name in the dataset's keypoint
layout) are scored twice: as predicted and with every left/right pair swapped. A person counts as
"swapped" when the swapped prediction is closer to the ground truth in total. Printed overall,
and, for layouts with a nose, for people whose nose is visible (roughly facing the camera) and
for the rest, with the median joint error in units of the person's box height.
"""
from __future__ import annotations

import argparse
import json

import numpy as np


BODY_PARTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")


def swap_statistics(predicted: np.ndarray, records, names, flip_permutation) -> dict:
    body = np.array([any(part in name.lower() for part in BODY_PARTS) for name in names])
    nose = names.index("nose") if "nose" in names else None
    swapped_better, face_visible, errors = [], [], []
    for points, record in zip(predicted, records):
        truth = np.asarray(record.keypoints, dtype=np.float64).reshape(-1, 3)
        height = max(record.bbox[2], record.bbox[3])
        labelled = truth[:, 2] > 0
        error = np.linalg.norm(points[:, :2] - truth[:, :2], axis=1) / height
        error_swapped = np.linalg.norm(points[flip_permutation, :2] - truth[:, :2], axis=1) / height
        keep = labelled[body]
        swapped_better.append(error_swapped[body][keep].sum() < error[body][keep].sum())
        face_visible.append(nose is not None and truth[nose, 2] == 2)
        errors.append(np.where(labelled, error, np.nan))
    swapped_better, face_visible = np.array(swapped_better), np.array(face_visible)
    by_face = {} if nose is None else {"swapped_face_visible": _share(swapped_better[face_visible]),
                                       "swapped_face_hidden": _share(swapped_better[~face_visible])}
    return {"people": len(records), "swapped": float(swapped_better.mean()), **by_face,
            "median_error_over_height": float(np.nanmedian(np.array(errors)))}


def _share(flags: np.ndarray):
    """Fraction of True, None for an empty group (JSON null rather than NaN)."""
    return float(flags.mean()) if len(flags) else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", help="a training run (its config.yaml and last.pt)")
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. data.val.json=...")
    args = parser.parse_args()
    from semipose.api import Predictor, load_config
    from semipose.data.build import build_validation
    config = load_config(f"{args.run_dir}/config.yaml", args.overrides)
    val, _ = build_validation(config.data)
    predicted = np.asarray(Predictor(config, f"{args.run_dir}/last.pt").predict_records(val.records)["keypoints"])
    print(json.dumps(swap_statistics(predicted, val.records, list(val.meta.names),
                                     list(val.meta.flip_permutation())), indent=1))


if __name__ == "__main__":
    main()
