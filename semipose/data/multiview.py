"""Multi-view data: calibrated cameras and images grouped into synchronous frames.

A multi-view set is an ordinary COCO keypoint json (one image per camera per frame, one person
per image) plus two files, both JSON:

cameras.json  {"units": "mm", "cameras": {NAME: {"K": 3x3, "R": 3x3, "t": [3],
               "dist": [k1, k2, p1, p2(, k3)] (optional, OpenCV order, default none),
               "width": W, "height": H}}}
               world -> camera is x_cam = R x_world + t (OpenCV axes: x right, y down, z forward);
               pixels follow OpenCV's model, u = fx x/z + cx after distortion.
frames.json   {"coco": COCO json, "images": image folder, "cameras": cameras.json (paths relative
               to frames.json), "head_size": px (optional, for JDR), "root": joint indices whose
               mean is the root (optional, for root-aligned MPJPE; H36M [0], COCO-17 [11, 12]),
               "frames": [{"subject": "S9", "action": "walk", "index": 12,
                           "views": {CAMERA NAME: COCO image id, ...},
                           "joints_3d": [[x, y, z], ...] world, in `units` (optional)}]}

Every frame needs >= 2 views whose cameras exist and whose image sizes match the camera's.
Errors name the file and the field.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np


PathLike = Union[str, Path]


class MultiviewError(ValueError):
    """A camera or frames file is not what semipose expects; the message names the file and field."""


@dataclass(frozen=True)
class Camera:
    name: str
    K: np.ndarray       # (3, 3)
    R: np.ndarray       # (3, 3) world -> camera
    t: np.ndarray       # (3,)
    dist: np.ndarray    # (0,) or (4,) / (5,) OpenCV coefficients
    width: int
    height: int

    @property
    def projection(self) -> np.ndarray:
        return self.K @ np.hstack([self.R, self.t.reshape(3, 1)])

    def to_json(self) -> dict:
        return {"K": self.K.tolist(), "R": self.R.tolist(), "t": self.t.tolist(),
                "dist": self.dist.tolist(), "width": self.width, "height": self.height}


@dataclass(frozen=True)
class Frame:
    subject: str
    action: str
    index: int
    views: dict                       # camera name -> COCO image id
    joints_3d: Optional[np.ndarray]   # (J, 3) world, or None


@dataclass(frozen=True)
class MultiviewSet:
    coco_json: Path
    image_dir: Path
    cameras: dict                     # name -> Camera
    frames: list
    units: str
    head_size: Optional[float]
    root: Optional[list]


def _matrix(value, shape, where: str) -> np.ndarray:
    try:
        array = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        raise MultiviewError(f"{where}: expected numbers of shape {shape}") from None
    if array.shape != shape:
        raise MultiviewError(f"{where}: expected shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise MultiviewError(f"{where}: contains NaN or infinity")
    return array


def parse_camera(name: str, entry, where: str) -> Camera:
    if not isinstance(entry, dict):
        raise MultiviewError(f"{where}: expected an object with K, R, t, width, height")
    for key in ("K", "R", "t", "width", "height"):
        if key not in entry:
            raise MultiviewError(f"{where}: missing field '{key}'")
    K = _matrix(entry["K"], (3, 3), f"{where}.K")
    R = _matrix(entry["R"], (3, 3), f"{where}.R")
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-5) or np.linalg.det(R) < 0:
        raise MultiviewError(f"{where}.R: not a rotation (R R^T != I or det < 0)")
    if K[0, 0] <= 0 or K[1, 1] <= 0 or not np.allclose(K[2], [0, 0, 1]):
        raise MultiviewError(f"{where}.K: expected [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0")
    dist = np.asarray(entry.get("dist") or [], np.float64).ravel()
    if dist.size not in (0, 4, 5, 8) or not np.all(np.isfinite(dist)):
        raise MultiviewError(f"{where}.dist: expected 4, 5 or 8 finite OpenCV coefficients, got {dist.size}")
    size = [entry["width"], entry["height"]]
    if not all(isinstance(v, int) and v > 0 for v in size):
        raise MultiviewError(f"{where}.width/height: expected positive integers, got {size}")
    return Camera(name, K, R, _matrix(entry["t"], (3,), f"{where}.t"), dist, size[0], size[1])


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise MultiviewError(f"{path}: not valid JSON ({error})") from None


def load_cameras(path: PathLike) -> tuple[dict, str]:
    """cameras.json -> ({name: Camera}, units)."""
    path = Path(path)
    content = _read_json(path)
    if not isinstance(content, dict) or not isinstance(content.get("cameras"), dict) or not content["cameras"]:
        raise MultiviewError(f"{path}: expected {{'cameras': {{NAME: {{K, R, t, ...}}}}}}")
    cameras = {name: parse_camera(name, entry, f"{path}: cameras.{name}")
               for name, entry in content["cameras"].items()}
    return cameras, str(content.get("units", "mm"))


def _parse_frame(entry, position: int, cameras: dict, image_sizes: dict, where: str) -> Frame:
    where = f"{where}: frames[{position}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("views"), dict):
        raise MultiviewError(f"{where}: expected an object with 'views' {{camera: image id}}")
    views = entry["views"]
    if len(views) < 2:
        raise MultiviewError(f"{where}.views: a frame needs at least 2 views, got {len(views)}")
    for camera_name, image_id in views.items():
        if camera_name not in cameras:
            raise MultiviewError(f"{where}.views: camera '{camera_name}' is not in the camera file")
        if image_id not in image_sizes:
            raise MultiviewError(f"{where}.views.{camera_name}: image id {image_id} is not in the COCO json")
        camera = cameras[camera_name]
        if image_sizes[image_id] != (camera.width, camera.height):
            raise MultiviewError(f"{where}.views.{camera_name}: image {image_id} is {image_sizes[image_id]} px "
                                  f"but camera '{camera_name}' is {(camera.width, camera.height)}")
    joints = entry.get("joints_3d")
    if joints is not None:
        joints = np.asarray(joints, np.float64)
        if joints.ndim != 2 or joints.shape[1] != 3:
            raise MultiviewError(f"{where}.joints_3d: expected (J, 3), got shape {joints.shape}")
    return Frame(str(entry.get("subject", "")), str(entry.get("action", "")), int(entry.get("index", position)),
                 dict(views), joints)


def load_multiview(frames_json: PathLike) -> MultiviewSet:
    """frames.json (+ the cameras and COCO files it names) -> MultiviewSet, validated."""
    path = Path(frames_json)
    content = _read_json(path)
    for key in ("coco", "images", "cameras", "frames"):
        if not isinstance(content, dict) or key not in content:
            raise MultiviewError(f"{path}: missing field '{key}'")
    base = path.parent
    cameras, units = load_cameras(base / content["cameras"])
    coco_path = base / content["coco"]
    coco = _read_json(coco_path)
    image_sizes = {image["id"]: (image.get("width"), image.get("height")) for image in coco.get("images", [])}
    frames = [_parse_frame(entry, i, cameras, image_sizes, str(path)) for i, entry in enumerate(content["frames"])]
    if not frames:
        raise MultiviewError(f"{path}: frames: empty")
    head_size = content.get("head_size")
    if head_size is not None and not (isinstance(head_size, (int, float)) and head_size > 0):
        raise MultiviewError(f"{path}: head_size: expected a positive number of pixels, got {head_size!r}")
    root = content.get("root")
    if root is not None and (not isinstance(root, list) or not all(isinstance(i, int) for i in root) or not root):
        raise MultiviewError(f"{path}: root: expected a list of joint indices, got {root!r}")
    return MultiviewSet(coco_path, base / content["images"], cameras, frames, units, head_size, root)


def write_multiview(out_dir: Path, cameras: dict, frames: list, coco_name: str, image_dir: str,
                    units: str = "mm", head_size: Optional[float] = None, root: Optional[list] = None) -> Path:
    """Write cameras.json and frames.json into out_dir (the COCO json is written by the caller)."""
    out_dir = Path(out_dir)
    (out_dir / "cameras.json").write_text(json.dumps(
        {"units": units, "cameras": {name: camera.to_json() for name, camera in cameras.items()}}, indent=1))
    content = {"coco": coco_name, "images": image_dir, "cameras": "cameras.json", "head_size": head_size,
               "root": root, "frames": [{"subject": f.subject, "action": f.action, "index": f.index,
                                         "views": f.views,
                                         **({"joints_3d": f.joints_3d.tolist()} if f.joints_3d is not None else {})}
                                        for f in frames]}
    path = out_dir / "frames.json"
    path.write_text(json.dumps(content))
    return path
