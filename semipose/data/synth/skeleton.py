"""A person's body as a 3D kinematic tree: proportions, joint angles, forward kinematics, camera.

Body frame (units of standing height, pelvis at the origin): +x is the person's OWN LEFT,
+y is up, +z is the direction the person faces. The camera looks along -z from +z, so with
yaw 0 the person faces the camera and their left side appears on the image's right.
Camera frame -> image: x_img = pelvis_x + s * X, y_img = pelvis_y - s * Y (orthographic).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Internal joints; the first block maps onto COCO-17, the rest only shape the drawing.
JOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
          "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
          "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
          "pelvis", "neck", "head", "left_hand", "right_hand", "left_toe", "right_toe")
JOINT_INDEX = {name: i for i, name in enumerate(JOINTS)}
NUM_COCO = 17

# Standing proportions in units of height (Drillis & Contini / Winter's segment tables).
BASE_SHAPE = {
    "spine": 0.30, "neck": 0.105, "shoulder_half": 0.11, "hip_half": 0.085,
    "upper_arm": 0.186, "forearm": 0.146, "hand": 0.085,
    "thigh": 0.245, "shank": 0.246, "foot": 0.12, "head_radius": 0.066,
    # Body widths (radii / half-widths); varied together as the person's build.
    "chest_half_width": 0.10, "waist_half_width": 0.082, "hip_half_width": 0.105,
    "torso_half_depth": 0.062, "neck_radius": 0.027,
    "upper_arm_radius": 0.031, "forearm_radius": 0.024, "hand_radius": 0.018,
    "thigh_radius": 0.05, "shank_radius": 0.034, "foot_radius": 0.02,
}
LENGTH_KEYS = ("spine", "neck", "upper_arm", "forearm", "hand", "thigh", "shank", "foot")
WIDTH_KEYS = ("shoulder_half", "hip_half", "chest_half_width", "waist_half_width",
              "hip_half_width", "torso_half_depth", "neck_radius", "upper_arm_radius",
              "forearm_radius", "hand_radius", "thigh_radius", "shank_radius", "foot_radius")

# Face marks as unit directions in the head frame (same axes as the body frame).
NOSE_DIRECTION = np.array([0.0, -0.2, 1.0]) / np.linalg.norm([0.0, -0.2, 1.0])
EYE_DIRECTION = np.array([0.36, 0.14, 0.92]) / np.linalg.norm([0.36, 0.14, 0.92])
EAR_DIRECTION = np.array([1.0, 0.02, -0.1]) / np.linalg.norm([1.0, 0.02, -0.1])
NOSE_TIP_RADIUS = 1.12  # the nose tip stands out of the skull sphere (times head radius)

# Joint-angle limits in degrees: elbows and knees bend one way only.
ANGLE_LIMITS = {
    "lean": (-25, 70), "side_bend": (-30, 30), "twist": (-45, 45),
    "head_yaw": (-70, 70), "head_pitch": (-35, 45), "head_roll": (-30, 30),
    "shoulder_flex": (-60, 180), "shoulder_abd": (-10, 180), "arm_twist": (-60, 90),
    "elbow": (0, 150), "hip_flex": (-30, 135), "hip_abd": (-20, 70), "knee": (0, 155),
    "ankle": (-30, 50),
}
LIMB_ANGLES = ("shoulder_flex", "shoulder_abd", "arm_twist", "elbow", "hip_flex", "hip_abd",
               "knee", "ankle")


@dataclass
class BodyPose:
    """Joint angles in degrees; per-limb angles are keyed 'left_elbow', 'right_knee', ...

    shoulder_flex raises the arm forward, shoulder_abd sideways, arm_twist turns the elbow's
    hinge so the forearm bends towards the body's midline, elbow bends the forearm forward;
    hip_flex swings the thigh forward, hip_abd outward, knee bends the shank backward,
    ankle points the toes down. lean bends the upper body forward.
    """
    lean: float = 0.0
    side_bend: float = 0.0
    twist: float = 0.0
    head_yaw: float = 0.0
    head_pitch: float = 0.0
    head_roll: float = 0.0
    limbs: dict = field(default_factory=dict)

    def __post_init__(self):
        known = {f"{side}_{name}" for side in ("left", "right") for name in LIMB_ANGLES}
        unknown = sorted(set(self.limbs) - known)
        if unknown:
            raise ValueError(f"BodyPose: unknown limb angle(s) {unknown}; expected names "
                             f"like 'left_elbow' from {LIMB_ANGLES}")

    def limb(self, side: str, name: str) -> float:
        return float(self.limbs.get(f"{side}_{name}", 0.0))


@dataclass
class View:
    """How the body is turned to the camera, in degrees.

    yaw: 0 faces the camera, 90 shows the person's right side (facing image right), 180 the
    back. elevation: positive = camera above, looking down. roll: in-plane rotation,
    positive = counter-clockwise as displayed (lying people have roll near +-90).
    """
    yaw: float = 0.0
    elevation: float = 0.0
    roll: float = 0.0


@dataclass
class Skeleton3D:
    joints: np.ndarray       # (len(JOINTS), 3)
    pelvis_frame: np.ndarray  # 3x3 rotations, columns = that body segment's axes
    chest_frame: np.ndarray
    waist_frame: np.ndarray
    head_frame: np.ndarray

    def rotated(self, rotation: np.ndarray) -> "Skeleton3D":
        return Skeleton3D(self.joints @ rotation.T, rotation @ self.pelvis_frame,
                          rotation @ self.chest_frame, rotation @ self.waist_frame,
                          rotation @ self.head_frame)


def rot_x(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


DOWN = np.array([0.0, -1.0, 0.0])
SIDES = (("left", 1.0), ("right", -1.0))  # the person's left is +x


def _arm(joints: dict, chest: np.ndarray, neck: np.ndarray, shape: dict, pose: BodyPose,
         side: str, sign: float) -> None:
    shoulder = neck + chest @ np.array([sign * shape["shoulder_half"], -0.02, -0.005])
    upper = chest @ rot_x(-pose.limb(side, "shoulder_flex")) @ rot_z(
        sign * pose.limb(side, "shoulder_abd"))
    elbow = shoulder + upper @ DOWN * shape["upper_arm"]
    # The elbow hinge turns with the upper arm's twist; the forearm bends to the front.
    fore = upper @ rot_y(-sign * pose.limb(side, "arm_twist")) @ rot_x(-pose.limb(side, "elbow"))
    wrist = elbow + fore @ DOWN * shape["forearm"]
    joints[f"{side}_shoulder"], joints[f"{side}_elbow"] = shoulder, elbow
    joints[f"{side}_wrist"], joints[f"{side}_hand"] = wrist, wrist + fore @ DOWN * shape["hand"]


def _leg(joints: dict, shape: dict, pose: BodyPose, side: str, sign: float) -> None:
    hip = np.array([sign * shape["hip_half"], 0.0, 0.0])
    thigh = rot_x(-pose.limb(side, "hip_flex")) @ rot_z(sign * pose.limb(side, "hip_abd"))
    knee = hip + thigh @ DOWN * shape["thigh"]
    shank = thigh @ rot_x(pose.limb(side, "knee"))  # knees bend backward only
    ankle = knee + shank @ DOWN * shape["shank"]
    toe_down = np.radians(pose.limb(side, "ankle"))
    foot_direction = np.array([0.0, -np.sin(toe_down), np.cos(toe_down)])
    toe = ankle + shank @ rot_y(sign * 12.0) @ foot_direction * shape["foot"]
    joints[f"{side}_hip"], joints[f"{side}_knee"] = hip, knee
    joints[f"{side}_ankle"], joints[f"{side}_toe"] = ankle, toe


def forward_kinematics(shape: dict, pose: BodyPose) -> Skeleton3D:
    """Joint positions in the body frame for one set of proportions and joint angles."""
    chest = rot_y(pose.twist) @ rot_z(pose.side_bend) @ rot_x(pose.lean)
    waist = rot_y(pose.twist / 2) @ rot_z(pose.side_bend / 2) @ rot_x(pose.lean / 2)
    neck = chest @ np.array([0.0, shape["spine"], 0.0])
    joints = {"pelvis": np.zeros(3), "neck": neck}
    for side, sign in SIDES:
        _arm(joints, chest, neck, shape, pose, side, sign)
        _leg(joints, shape, pose, side, sign)
    head = chest @ rot_y(pose.head_yaw) @ rot_x(pose.head_pitch) @ rot_z(pose.head_roll)
    head_centre = (neck + chest @ np.array([0.0, 0.45 * shape["neck"], 0.005])
                   + head @ np.array([0.0, 0.55 * shape["neck"], 0.01]))
    radius = shape["head_radius"]
    joints["head"] = head_centre
    joints["nose"] = head_centre + head @ NOSE_DIRECTION * radius * NOSE_TIP_RADIUS
    for side, sign in SIDES:
        mirror = np.array([sign, 1.0, 1.0])
        joints[f"{side}_eye"] = head_centre + head @ (EYE_DIRECTION * mirror) * radius
        joints[f"{side}_ear"] = head_centre + head @ (EAR_DIRECTION * mirror) * radius * 0.95
    points = np.stack([joints[name] for name in JOINTS])
    return Skeleton3D(points, np.eye(3), chest, waist, head)


def camera_rotation(view: View) -> np.ndarray:
    """Body frame -> camera frame: turn by yaw, tilt by elevation, roll in the image plane."""
    return rot_z(view.roll) @ rot_x(view.elevation) @ rot_y(view.yaw)


def to_image(points_camera: np.ndarray, height_px: float, pelvis_xy) -> np.ndarray:
    """Orthographic projection of camera-frame points to image pixels."""
    scale = float(height_px)
    return np.stack([pelvis_xy[0] + scale * points_camera[:, 0],
                     pelvis_xy[1] - scale * points_camera[:, 1]], axis=1)
