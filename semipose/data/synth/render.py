"""Drawing one person onto a BGR image and a per-pixel id buffer (painter's algorithm).

Every body part is drawn twice: anti-aliased into the image and aliased into `ids` with the
part's id, so after a scene is drawn `ids` says which person / part / object is frontmost at
each pixel (0 = background). Parts are drawn far to near by their depth in the camera frame,
so far-side limbs end up behind the torso. Geometry is sub-pixel (OpenCV's `shift`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import cv2
import numpy as np

from semipose.data.synth.appearance import Appearance
from semipose.data.synth.head import draw_head, face_self_visible
from semipose.data.synth.skeleton import (JOINT_INDEX, NUM_COCO, BodyPose, Skeleton3D, View,
                                          camera_rotation, forward_kinematics, to_image)

PARTS = ("torso_lower", "torso_upper", "neck", "head",
         "left_upper_arm", "left_forearm", "left_hand", "right_upper_arm", "right_forearm",
         "right_hand", "left_thigh", "left_shank", "left_foot", "right_thigh", "right_shank",
         "right_foot")
PART_INDEX = {name: i for i, name in enumerate(PARTS)}
IDS_PER_PERSON = 32
SHIFT = 4  # OpenCV fixed-point bits: coordinates are drawn to 1/16 pixel

# The body parts a COCO keypoint belongs to: it is visible when one of them is frontmost.
_KEYPOINT_PART_NAMES = (("head",),) * 5 + tuple(
    tuple(f"{side}_{part}" for part in parts)
    for parts in (("upper_arm",), ("upper_arm", "forearm"), ("forearm", "hand"), ("thigh",),
                  ("thigh", "shank"), ("shank", "foot"))
    for side in ("left", "right"))
KEYPOINT_PARTS = tuple(tuple(PART_INDEX[name] for name in names)
                       for names in _KEYPOINT_PART_NAMES)

# (part, from joint, to joint, radius key at the start, radius at the end as key and factor)
_LIMBS = (("upper_arm", "shoulder", "elbow", "upper_arm_radius", ("upper_arm_radius", 0.8)),
          ("forearm", "elbow", "wrist", "forearm_radius", ("forearm_radius", 0.75)),
          ("hand", "wrist", "hand", "hand_radius", ("hand_radius", 0.85)),
          ("thigh", "hip", "knee", "thigh_radius", ("shank_radius", 1.05)),
          ("shank", "knee", "ankle", "shank_radius", ("shank_radius", 0.65)),
          ("foot", "ankle", "toe", "foot_radius", ("foot_radius", 0.85)))
# Painter's order ties: limbs in front of the torso at equal depth, distal over proximal,
# hanging arms in front of the thighs' sides.
_DEPTH_BIAS = {"torso_lower": -0.004, "torso_upper": 0.0, "neck": -0.02, "head": 0.025,
               "upper_arm": 0.020, "forearm": 0.021, "hand": 0.022,
               "thigh": 0.008, "shank": 0.009, "foot": 0.010}


@dataclass
class PersonSpec:
    shape: dict
    pose: BodyPose
    view: View
    height_px: float                  # standing height in pixels
    pelvis_xy: tuple                  # image position of the pelvis (mid-hips)
    appearance: Appearance
    kind: str = "custom"
    # Camera-frame skeleton, computed on first use; a spec is not edited after drawing.
    skeleton: Optional[Skeleton3D] = field(default=None, repr=False, compare=False)
    # Camera-frame points -> pixels; None = orthographic (`to_image`). The multi-view studio
    # sets a perspective camera here (synth/studio.py); widths stay at height_px's scale.
    projector: Optional[Callable] = field(default=None, repr=False, compare=False)

    def image_points(self, points_camera: np.ndarray) -> np.ndarray:
        if self.projector is not None:
            return self.projector(points_camera)
        return to_image(points_camera, self.height_px, self.pelvis_xy)


@dataclass
class RenderedPerson:
    keypoints: np.ndarray      # (17, 2) image pixels, COCO order
    self_visible: np.ndarray   # (17,) False for face marks turned away from the camera
    id_base: int               # ids of this person's parts are id_base + PART_INDEX[part]
    bbox: Optional[tuple]      # (x0, y0, x1, y1) inclusive pixel bounds of the drawn body


def person_id_base(person_index: int) -> int:
    return 1 + person_index * IDS_PER_PERSON


def fixed_point(points) -> np.ndarray:
    return np.round(np.asarray(points, dtype=np.float64) * (1 << SHIFT)).astype(np.int32)


def fill_polygon(image, ids, points, colour, part_id: int) -> None:
    """Fill the convex hull of `points` (N, 2) in the image (anti-aliased) and the id buffer."""
    hull = fixed_point(cv2.convexHull(np.asarray(points, dtype=np.float32))[:, 0])
    cv2.fillConvexPoly(image, hull, colour, cv2.LINE_AA, SHIFT)
    cv2.fillConvexPoly(ids, hull, int(part_id), cv2.LINE_8, SHIFT)


def draw_capsule(image, ids, start, end, start_radius, end_radius, colour, part_id) -> None:
    """A tapered limb: a quadrilateral between two discs (plain floats: this is the hot loop)."""
    one = 1 << SHIFT
    (xa, ya), (xb, yb) = (float(v) for v in start), (float(v) for v in end)
    for x, y, radius in ((xa, ya, start_radius), (xb, yb, end_radius)):
        centre, radius_fixed = (round(x * one), round(y * one)), max(1, round(radius * one))
        cv2.circle(image, centre, radius_fixed, colour, -1, cv2.LINE_AA, SHIFT)
        cv2.circle(ids, centre, radius_fixed, part_id, -1, cv2.LINE_8, SHIFT)
    length = math.hypot(xb - xa, yb - ya)
    if length > 1e-6:
        nx, ny = (ya - yb) / length, (xb - xa) / length
        quad = np.array([[xa + nx * start_radius, ya + ny * start_radius],
                         [xb + nx * end_radius, yb + ny * end_radius],
                         [xb - nx * end_radius, yb - ny * end_radius],
                         [xa - nx * start_radius, ya - ny * start_radius]]) * one
        quad = np.round(quad).astype(np.int32)
        cv2.fillConvexPoly(image, quad, colour, cv2.LINE_AA, SHIFT)
        cv2.fillConvexPoly(ids, quad, part_id, cv2.LINE_8, SHIFT)


_RING_ANGLES = np.linspace(0, 2 * np.pi, 10, endpoint=False)
_RING_UNIT = np.stack([np.cos(_RING_ANGLES), np.zeros(10), np.sin(_RING_ANGLES)], axis=1)


def _ring(centre, frame, half_width, half_depth) -> np.ndarray:
    """Points of an elliptical torso cross-section (camera frame)."""
    return centre + (_RING_UNIT * [half_width, 0.0, half_depth]) @ frame.T


def _torso_parts(skeleton, shape: dict):
    """(part, camera-frame outline points) of the shirt and trouser halves of the torso."""
    joints, chest, waist = skeleton.joints, skeleton.chest_frame, skeleton.waist_frame
    pelvis_frame = skeleton.pelvis_frame
    pelvis, neck = joints[JOINT_INDEX["pelvis"]], joints[JOINT_INDEX["neck"]]
    depth = shape["torso_half_depth"]
    upper = np.concatenate([
        _ring(neck, chest, 0.45 * shape["shoulder_half"], 0.7 * depth),
        _ring(neck + chest @ [0, -0.035, 0], chest, shape["shoulder_half"] + 0.01, 0.85 * depth),
        _ring(neck + chest @ [0, -0.11, 0], chest, shape["chest_half_width"], depth),
        _ring(pelvis + 0.38 * (neck - pelvis), waist, shape["waist_half_width"], 0.9 * depth)])
    lower = np.concatenate([
        _ring(pelvis + 0.45 * (neck - pelvis), waist, shape["waist_half_width"], 0.9 * depth),
        _ring(pelvis + pelvis_frame @ [0, -0.02, 0], pelvis_frame, shape["hip_half_width"], depth),
        _ring(pelvis + pelvis_frame @ [0, -0.08, 0], pelvis_frame, 0.9 * shape["hip_half"],
              0.8 * depth)])
    return (("torso_lower", lower), ("torso_upper", upper))


# The shirt's front differs from its back, as real clothes do: a collar opening at the neck
# and, often, a print in the middle of the chest. With the face these make front and back (and
# so left and right) decidable from the torso, not from a few face pixels alone. Both marks are
# mirror-symmetric, so a flipped training crop still shows a plausible person.
FRONT_MIN_FACING = 0.15


def _front_patch(skeleton, shape: dict, centre_xy_body, half_size, points: int = 12):
    """Camera-frame outline of a small ellipse on the chest's front surface (chest frame)."""
    angles = np.linspace(0, 2 * np.pi, points, endpoint=False)
    local = np.stack([centre_xy_body[0] + half_size[0] * np.cos(angles),
                      centre_xy_body[1] + half_size[1] * np.sin(angles),
                      np.full(points, shape["torso_half_depth"])], axis=1)
    return skeleton.joints[JOINT_INDEX["neck"]] + local @ skeleton.chest_frame.T


def _shirt_front(skeleton, shape: dict, look: Appearance):
    """[(camera-frame outline, colour)] of the front marks that face the camera."""
    if skeleton.chest_frame[2, 2] < FRONT_MIN_FACING:  # chest's forward axis, camera z part
        return []
    neck = skeleton.joints[JOINT_INDEX["neck"]]
    collar_half = 0.35 * shape["shoulder_half"]
    depth = shape["torso_half_depth"]
    collar = neck + np.array([[-collar_half, -0.005, 0.7 * depth], [collar_half, -0.005, 0.7 * depth],
                              [0.0, -0.06, 0.95 * depth]]) @ skeleton.chest_frame.T
    marks = [(collar, look.skin)]
    if look.chest_print is not None:
        chest_half = shape["chest_half_width"]
        marks.append((_front_patch(skeleton, shape, (0.0, -0.11), (0.45 * chest_half, 0.035)),
                      look.chest_print))
    return marks


def _shade(colour, factor: float) -> tuple:
    return tuple(min(255.0, c * factor) for c in colour)


def _part_colour(part: str, look: Appearance) -> tuple:
    kind = part.split("_", 1)[-1]
    if kind in ("upper_arm", "upper"):
        return look.shirt
    if kind == "forearm":
        return look.shirt if look.long_sleeves else look.skin
    if kind in ("thigh", "lower"):
        return look.trousers
    if kind == "shank":
        return look.skin if look.shorts else look.trousers
    return {"foot": look.shoes, "hand": look.skin, "neck": look.skin}[kind]


def _draw_list(skeleton, points, spec: PersonSpec):
    """Every part as (depth, part name, what to draw), unsorted; and the torso's depth."""
    joints, shape, scale = skeleton.joints, spec.shape, spec.height_px
    torso_depth = float(joints[JOINT_INDEX["neck"], 2] + joints[JOINT_INDEX["pelvis"], 2]) / 2
    items = []
    for part, outline in _torso_parts(skeleton, shape):
        outline_2d = spec.image_points(outline)
        items.append((float(outline[:, 2].mean()) + _DEPTH_BIAS[part], part, ("poly", outline_2d)))
    neck, head = JOINT_INDEX["neck"], JOINT_INDEX["head"]
    items.append((float(joints[neck, 2]) + _DEPTH_BIAS["neck"], "neck",
                  ("capsule", points[neck], points[head], shape["neck_radius"] * scale,
                   shape["neck_radius"] * scale)))
    items.append((float(joints[head, 2]) + _DEPTH_BIAS["head"], "head", ("head",)))
    for side in ("left", "right"):
        for kind, start, end, radius_key, (end_key, end_factor) in _LIMBS:
            a, b = JOINT_INDEX[f"{side}_{start}"], JOINT_INDEX[f"{side}_{end}"]
            depth = float(joints[a, 2] + joints[b, 2]) / 2
            items.append((depth + _DEPTH_BIAS[kind], f"{side}_{kind}",
                          ("capsule", points[a], points[b], shape[radius_key] * scale,
                           shape[end_key] * end_factor * scale)))
    return items, torso_depth


def _apply_textures(image, ids, base: int, spec: PersonSpec, points, box) -> None:
    """Shirt stripes across the torso axis and grain on trousers, on this person's pixels."""
    x0, y0, x1, y1 = box
    look, region = spec.appearance, ids[y0:y1 + 1, x0:x1 + 1]
    if look.stripe_period is not None:
        shirt = np.isin(region, [base + PART_INDEX[p] for p in
                                 ("torso_upper", "left_upper_arm", "right_upper_arm")])
        axis = points[JOINT_INDEX["neck"]] - points[JOINT_INDEX["pelvis"]]
        axis = axis / max(float(np.hypot(*axis)), 1e-6)
        period = look.stripe_period * spec.height_px
        phase = (np.arange(x0, x1 + 1)[None, :] * (axis[0] / period)
                 + np.arange(y0, y1 + 1)[:, None] * (axis[1] / period))
        dark = shirt & (np.floor(phase).astype(np.int64) % 2 == 1)
        image[y0:y1 + 1, x0:x1 + 1][dark] = (image[y0:y1 + 1, x0:x1 + 1][dark] * 0.6).astype(
            np.uint8)
    if look.trouser_noise > 0:
        trousers = np.isin(region, [base + PART_INDEX[p] for p in
                                    ("torso_lower", "left_thigh", "right_thigh")])
        grain_rng = np.random.default_rng(look.texture_seed)
        grain = 1.0 + look.trouser_noise * grain_rng.standard_normal(int(trousers.sum()))
        patch = image[y0:y1 + 1, x0:x1 + 1]
        patch[trousers] = np.clip(patch[trousers] * grain[:, None], 0, 255).astype(np.uint8)


def _silhouette_box(ids, base: int) -> Optional[tuple]:
    """Tight inclusive box of the pixels that carry this person's ids right after drawing."""
    mine = (ids >= base) & (ids < base + IDS_PER_PERSON)
    rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
    if len(rows) == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def project_person(spec: PersonSpec):
    """(camera-frame skeleton, (len(JOINTS), 2) image positions of all joints)."""
    if spec.skeleton is None:
        spec.skeleton = forward_kinematics(spec.shape, spec.pose).rotated(
            camera_rotation(spec.view))
    return spec.skeleton, spec.image_points(spec.skeleton.joints)


def render_person(image: np.ndarray, ids: np.ndarray, spec: PersonSpec,
                  person_index: int) -> RenderedPerson:
    """Draw one person (over what is already drawn) and return its keypoints and box."""
    skeleton, points = project_person(spec)
    base = person_id_base(person_index)
    items, torso_depth = _draw_list(skeleton, points, spec)
    for depth, part, geometry in sorted(items, key=lambda item: item[0]):
        part_id = base + PART_INDEX[part]
        if geometry[0] == "head":
            draw_head(image, ids, points[JOINT_INDEX["head"]], skeleton.head_frame,
                      spec.shape["head_radius"] * spec.height_px, spec.appearance, part_id)
            continue
        # Far-side parts a little darker, arms a little darker than the chest.
        factor = min(max(1.0 + 1.5 * (depth - torso_depth), 0.7), 1.12)
        factor *= 0.92 if "arm" in part or "hand" in part else 1.0
        colour = _shade(_part_colour(part, spec.appearance), factor)
        if geometry[0] == "poly":
            fill_polygon(image, ids, geometry[1], colour, part_id)
            if part == "torso_upper":
                for outline, mark_colour in _shirt_front(skeleton, spec.shape, spec.appearance):
                    fill_polygon(image, ids, spec.image_points(outline),
                                 _shade(mark_colour, factor), part_id)
        else:
            draw_capsule(image, ids, *geometry[1:], colour, part_id)
    box = _silhouette_box(ids, base)
    if box is not None:
        _apply_textures(image, ids, base, spec, points, box)
    self_visible = np.ones(NUM_COCO, dtype=bool)
    self_visible[:5] = face_self_visible(skeleton.head_frame)
    return RenderedPerson(points[:NUM_COCO].copy(), self_visible, base, box)
