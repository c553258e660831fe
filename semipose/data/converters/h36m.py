"""Human3.6M in the layout of the multi-view pose code (Qiu et al. 2019, the
microsoft/multiview-human-pose-estimation-pytorch preprocessing that Xie et al. evaluate with):
h36m_train.pkl / h36m_validation.pkl, a list with one dict per camera image:

  image       path relative to the image folder, e.g. s_09_act_02_subact_01_ca_01/..._000001.jpg
  joints_2d   (17, 2) pixels;  joints_3d (17, 3) world mm;  joints_vis (17, 3) or (17,)
  subject, action, subaction, image_id (frame index), camera_id
  camera      {"R": (3, 3), "T": (3, 1) camera centre in world mm, "fx", "fy", "cx", "cy",
               "k": (3, 1) radial, "p": (2, 1) tangential}

-> a COCO json (H36M-17 joints, one person per image), cameras.json and frames.json
(semipose.data.multiview). The pickle is read with the restricted loader (data/safe_pickle.py).
Camera "S{subject}_ca{camera_id}" (calibrations differ per subject): R as given, t = -R T.
Distortion becomes OpenCV's [k1, k2, p1, p2, k3] with p1 = p[0] / 2, p2 = p[1]: the radial part is
the same model; H36M's own tangential formula differs from OpenCV's in one x^2 / y^2 term, so
the tangential part (~1e-3, a fraction of a pixel) is approximate. Image sizes are read from
the files. Frames group the images with the same (subject, action, subaction, image_id).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Union

import numpy as np

from semipose.data.converters.common import box_around, coco_annotation, coco_image, finish_coco
from semipose.data.images import image_size
from semipose.data.keypoints import KeypointMeta
from semipose.data.multiview import Camera, Frame, MultiviewError, write_multiview
from semipose.data.safe_pickle import load_plain_pickle

H36M17 = KeypointMeta(
    names=("pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "belly",
           "neck", "nose", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow",
           "right_wrist"),
    skeleton=((0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10), (8, 11),
              (11, 12), (12, 13), (8, 14), (14, 15), (15, 16)),
    flip_pairs=((1, 4), (2, 5), (3, 6), (11, 14), (12, 15), (13, 16)),
    sigmas=None,
)
REQUIRED = ("image", "joints_2d", "joints_3d", "subject", "action", "subaction", "image_id", "camera_id", "camera")


def _camera(entry: dict, name: str, wh, where: str) -> Camera:
    camera = entry["camera"]
    try:
        R = np.asarray(camera["R"], np.float64)
        T = np.asarray(camera["T"], np.float64).reshape(3)
        K = np.array([[float(camera["fx"]), 0, float(camera["cx"])], [0, float(camera["fy"]), float(camera["cy"])],
                      [0, 0, 1]])
        k = np.asarray(camera.get("k", np.zeros(3)), np.float64).reshape(3)
        p = np.asarray(camera.get("p", np.zeros(2)), np.float64).reshape(2)
    except (KeyError, TypeError, ValueError) as error:
        raise MultiviewError(f"{where}: field 'camera': {error}") from None
    if not all(np.isfinite(a).all() for a in (R, T, K, k, p)):
        raise MultiviewError(f"{where}: field 'camera': NaN or infinity")
    return Camera(name, K, R, -R @ T, np.array([k[0], k[1], p[0] / 2, p[1], k[2]]), int(wh[0]), int(wh[1]))


def h36m_to_multiview(pkl_path: Union[str, Path], image_dir: Union[str, Path], out_dir: Union[str, Path]) -> dict:
    """Write out_dir/annotations.json, cameras.json, frames.json; returns counts."""
    pkl_path, image_dir, out_dir = Path(pkl_path), Path(image_dir), Path(out_dir)
    entries = load_plain_pickle(pkl_path)
    if not isinstance(entries, list):
        raise MultiviewError(f"{pkl_path}: expected a list of per-image dicts, got {type(entries).__name__}")
    images, annotations, cameras, groups = [], [], {}, {}
    for position, entry in enumerate(entries):
        where = f"{pkl_path}: entry {position}"
        missing = [key for key in REQUIRED if not isinstance(entry, dict) or key not in entry]
        if missing:
            raise MultiviewError(f"{where}: missing field(s) {missing}")
        joints_2d = np.asarray(entry["joints_2d"], np.float64).reshape(-1, 2)
        if joints_2d.shape != (17, 2):
            raise MultiviewError(f"{where}: field 'joints_2d': expected (17, 2), got {joints_2d.shape}")
        wh = image_size(image_dir / entry["image"])
        name = f"S{int(entry['subject'])}_ca{int(entry['camera_id'])}"
        cameras.setdefault(name, _camera(entry, name, wh, where))
        image_id = len(images) + 1
        images.append(coco_image(image_id, str(entry["image"]), wh))
        visible = np.asarray(entry.get("joints_vis", np.ones(17)), np.float64).reshape(17, -1)[:, 0] > 0
        keypoints = np.concatenate([joints_2d, np.where(visible, 2.0, 0.0)[:, None]], axis=1)
        keypoints[~visible, :2] = 0
        annotations.append(coco_annotation(len(annotations) + 1, image_id, keypoints,
                                           box_around(joints_2d[visible], 0.15, wh)))
        key = (int(entry["subject"]), int(entry["action"]), int(entry["subaction"]), int(entry["image_id"]))
        frame = groups.setdefault(key, {"views": {}, "joints_3d": np.asarray(entry["joints_3d"], np.float64)})
        frame["views"][name] = image_id
    frames = [Frame(f"S{s}", f"{a}_{sub}", index, group["views"], group["joints_3d"])
              for (s, a, sub, index), group in groups.items() if len(group["views"]) >= 2]
    out_dir.mkdir(parents=True, exist_ok=True)
    coco = finish_coco(images, annotations, H36M17, f"Human3.6M from {pkl_path.name}", image_dir)
    (out_dir / "annotations.json").write_text(json.dumps(coco))
    # multi-view pose code: head size = 256 / 10 px (its input width / 10); root = pelvis.
    write_multiview(out_dir, cameras, frames, "annotations.json", str(image_dir.resolve()), head_size=25.6, root=[0])
    return {"images": len(images), "frames": len(frames), "cameras": len(cameras),
            "single_view_groups_dropped": len(groups) - len(frames)}
