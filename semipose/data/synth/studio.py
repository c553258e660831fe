"""A synthetic multi-view studio (H36M-like): one person per frame, seen by calibrated
perspective cameras around a room, with its 3D joints in mm.

World frame: z up, floor at z = 0, millimetres. Cameras stand on a circle (radius ~4 m, height
~1.4 m) at evenly spaced azimuths, look at a point 0.9 m above the room's centre, with a
focal length drawn per camera and a small radial distortion k1 (OpenCV's model). Each frame
draws a person (the single-view people's shapes and upright poses), turns it to any heading
and places it within `spread_mm` of the centre with its feet on the floor; every camera keeps
its own fixed background (as H36M's do), the lighting / noise effects change per picture.

Drawing reuses the single-view renderer with a perspective projector (render.PersonSpec): the
joints and outlines are projected exactly (lens distortion included); limb widths use the
scale at the pelvis' depth. Labels are read from the id buffer as for single-view pictures, so
joints hidden in a view get v = 1 there. Frames seen by fewer than 2 cameras are skipped.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Union

import cv2
import numpy as np

from semipose.data.multiview import Camera, Frame, write_multiview
from semipose.data.synth.appearance import sample_appearance
from semipose.data.synth.background import draw_clutter, make_background
from semipose.data.synth.poses import sample_pose, sample_shape
from semipose.data.synth.render import PersonSpec
from semipose.data.synth.scene import Scene, compose
from semipose.data.synth.skeleton import NUM_COCO, View, forward_kinematics
from semipose.data.synth.writer import annotation_record, coco_category

STUDIO_POSES = ("standing", "walking", "running", "arms_raised", "crouching")
BODY_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # body y up -> world z up
OPENCV_TO_SYNTH = np.diag([1.0, -1.0, -1.0])  # synth camera frame: y up, z towards the camera
LOOK_AT_MM = np.array([0.0, 0.0, 900.0])


def look_at(centre: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, t) of an upright OpenCV camera at `centre` looking at `target` (world z up)."""
    forward = (target - centre) / np.linalg.norm(target - centre)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    R = np.stack([right, np.cross(forward, right), forward])
    return R, -R @ centre


def studio_cameras(rng: np.random.Generator, count: int, image_wh) -> dict:
    width, height = image_wh
    cameras = {}
    for index in range(count):
        azimuth = np.radians(45.0 + 360.0 * index / count + rng.normal(0, 5))
        radius, elevation = rng.uniform(3600, 4400), rng.uniform(1100, 1700)
        centre = np.array([radius * np.cos(azimuth), radius * np.sin(azimuth), elevation])
        R, t = look_at(centre, LOOK_AT_MM + rng.normal(0, 50, 3))
        focal = rng.uniform(0.95, 1.2) * 1.6 * height
        K = np.array([[focal, 0, (width - 1) / 2 + rng.normal(0, 2)],
                      [0, focal, (height - 1) / 2 + rng.normal(0, 2)], [0, 0, 1]])
        dist = np.array([rng.uniform(-0.03, 0.03), 0.0, 0.0, 0.0, 0.0])
        cameras[f"cam{index}"] = Camera(f"cam{index}", K, R, t, dist, int(width), int(height))
    return cameras


def _projector(camera: Camera, height_mm: float, pelvis_camera: np.ndarray):
    """Synth-camera-frame points (units of height, pelvis at 0) -> distorted pixels."""
    def project(points):
        opencv = (np.asarray(points, np.float64) @ OPENCV_TO_SYNTH.T) * height_mm + pelvis_camera
        pixels, _ = cv2.projectPoints(opencv.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), camera.K, camera.dist)
        return pixels.reshape(-1, 2)
    return project


def sample_person(rng: np.random.Generator, spread_mm: float):
    """(shape, pose, body->world rotation, pelvis position mm, height mm, kind)."""
    kind, pose = sample_pose(rng, STUDIO_POSES[rng.integers(len(STUDIO_POSES))])
    shape = sample_shape(rng)
    heading = np.radians(rng.uniform(0, 360))
    c, s = np.cos(heading), np.sin(heading)
    body_to_world = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]) @ BODY_TO_WORLD
    height_mm = rng.uniform(1500, 1900)
    lowest = forward_kinematics(shape, pose).joints[:, 1].min()
    pelvis = np.array([*rng.uniform(-spread_mm, spread_mm, 2), -lowest * height_mm])
    return shape, pose, body_to_world, pelvis, height_mm, kind


def person_in_view(camera: Camera, person, appearance) -> PersonSpec:
    shape, pose, body_to_world, pelvis, height_mm, kind = person
    pelvis_camera = camera.R @ pelvis + camera.t
    spec = PersonSpec(shape, pose, View(), camera.K[1, 1] * height_mm / pelvis_camera[2], (0.0, 0.0),
                      appearance, kind, projector=_projector(camera, height_mm, pelvis_camera))
    spec.skeleton = forward_kinematics(shape, pose).rotated(OPENCV_TO_SYNTH @ camera.R @ body_to_world)
    return spec


def world_joints(person) -> np.ndarray:
    """(17, 3) COCO-17 joints of a sampled person in world mm."""
    shape, pose, body_to_world, pelvis, height_mm, _ = person
    return forward_kinematics(shape, pose).joints[:NUM_COCO] @ body_to_world.T * height_mm + pelvis


def generate_studio(out_dir: Union[str, Path], num_frames: int, seed: int, num_cameras: int = 4,
                    image_size=(256, 256), spread_mm: float = 600.0, jpeg_quality: int = 90) -> dict:
    """Write images/multiview/CAMERA/FRAME.jpg, annotations/multiview.json (COCO-17, one person
    per image), cameras.json and frames.json (see semipose.data.multiview) into `out_dir`."""
    if num_frames < 1 or num_cameras < 2:
        raise ValueError(f"generate_studio: need num_frames >= 1 and num_cameras >= 2, got {num_frames}, {num_cameras}")
    out_dir = Path(out_dir)
    cameras = studio_cameras(np.random.default_rng([seed, 0]), num_cameras, image_size)
    backgrounds = {}
    for index, name in enumerate(cameras):
        background_rng = np.random.default_rng([seed, 1, index])
        backgrounds[name] = make_background(background_rng, *image_size)
        draw_clutter(background_rng, backgrounds[name], int(background_rng.integers(3, 12)))
    images, annotations, frames = [], [], []
    for frame_index in range(num_frames):
        rng = np.random.default_rng([seed, 2, frame_index])
        person, appearance = sample_person(rng, spread_mm), sample_appearance(rng)
        views, written = {}, []
        for name, camera in cameras.items():
            image, labels, _ = compose(Scene(backgrounds[name], [person_in_view(camera, person, appearance)]), rng)
            if labels[0] is not None:
                written.append((name, image, labels[0]))
        if len(written) < 2:
            continue
        for name, image, label in written:
            image_id = len(images) + 1
            file_name = f"{name}/{frame_index:06d}.jpg"
            path = out_dir / "images" / "multiview" / file_name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])[1].tobytes())
            images.append({"id": image_id, "file_name": file_name, "width": image_size[0], "height": image_size[1]})
            annotations.append(annotation_record(label, len(annotations) + 1, image_id))
            views[name] = image_id
        frames.append(Frame(f"synth{seed}", str(person[5]), frame_index, views, world_joints(person)))
    (out_dir / "annotations").mkdir(parents=True, exist_ok=True)
    coco = {"info": {"description": f"semipose multi-view studio, seed {seed}"}, "images": images,
            "annotations": annotations, "categories": [coco_category()]}
    (out_dir / "annotations" / "multiview.json").write_text(json.dumps(coco))
    # JDR's head size: the multi-view pose code's input width / 10, here of the whole picture.
    frames_path = write_multiview(out_dir, cameras, frames, "annotations/multiview.json", "images/multiview",
                                  head_size=image_size[0] / 10.0, root=[11, 12])
    return {"out_dir": str(out_dir), "frames": len(frames), "images": len(images),
            "cameras": list(cameras), "frames_json": str(frames_path)}
