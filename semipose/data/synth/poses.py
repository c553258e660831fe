"""Random proportions, poses (standing, walking, running, arms raised, sitting, crouching,
lying, anything within the joint limits) and views for synthetic people."""
from __future__ import annotations

import numpy as np

from semipose.data.synth.skeleton import (ANGLE_LIMITS, BASE_SHAPE, LENGTH_KEYS, LIMB_ANGLES,
                                          WIDTH_KEYS, BodyPose, View)

POSE_KINDS = ("standing", "walking", "running", "arms_raised", "sitting", "crouching",
              "lying", "random")
POSE_WEIGHTS = (0.18, 0.18, 0.14, 0.12, 0.1, 0.1, 0.08, 0.1)


def _factor(rng: np.random.Generator, spread: float, low: float, high: float) -> float:
    return min(max(float(rng.normal(1.0, spread)), low), high)


def sample_shape(rng: np.random.Generator) -> dict:
    """Proportions varied per person: each length ~6 % (clipped at 12 %), the build ~10 %."""
    shape = dict(BASE_SHAPE)
    for key in LENGTH_KEYS:
        shape[key] *= _factor(rng, 0.06, 0.88, 1.12)
    build = _factor(rng, 0.1, 0.8, 1.25)
    for key in WIDTH_KEYS:
        shape[key] *= build * _factor(rng, 0.04, 0.92, 1.08)
    shape["head_radius"] *= _factor(rng, 0.05, 0.9, 1.12)
    return shape


def _clip(name: str, value: float) -> float:
    low, high = ANGLE_LIMITS[name]
    return min(max(float(value), low), high)


def _limbs(rng, arm: dict, leg: dict) -> dict:
    """Per-side angles from (mean, spread) pairs; a 2-tuple of means gives left/right values."""
    limbs = {}
    for table in (arm, leg):
        for name, (means, spread) in table.items():
            pair = means if isinstance(means, tuple) else (means, means)
            for side, mean in zip(("left", "right"), pair):
                limbs[f"{side}_{name}"] = _clip(name, rng.normal(mean, spread))
    return limbs


def _gait(rng, stride: float, arm_swing: float, knee_bend: float, elbow: float) -> dict:
    """Walking and running: legs swing in antiphase, arms against the legs."""
    phase = rng.uniform(0, 2 * np.pi)
    swing = np.sin(phase)
    leg = {"hip_flex": ((stride * swing + 8, -stride * swing + 8), 6),
           "knee": ((knee_bend * max(0.0, -np.cos(phase)) + 8,
                     knee_bend * max(0.0, np.cos(phase)) + 8), 8),
           "hip_abd": (3, 3), "ankle": (5, 10)}
    arm = {"shoulder_flex": ((-arm_swing * swing, arm_swing * swing), 8),
           "shoulder_abd": (8, 5), "elbow": (elbow, 12), "arm_twist": (10, 10)}
    return _limbs(rng, arm, leg)


def _limbs_for(kind: str, rng: np.random.Generator) -> tuple[dict, float]:
    """(limb angles, upper-body lean) for one pose kind."""
    if kind == "walking":
        return _gait(rng, 25, 25, 45, 20), rng.normal(3, 3)
    if kind == "running":
        return _gait(rng, 50, 55, 100, 85), rng.normal(14, 5)
    if kind == "arms_raised":
        both = rng.random() < 0.6
        raised = (rng.uniform(120, 180), rng.uniform(120, 180) if both else rng.uniform(-10, 40))
        abd = (rng.uniform(0, 60), rng.uniform(0, 60))
        arm = {"shoulder_flex": (raised, 10), "shoulder_abd": (abd, 10),
               "elbow": ((rng.uniform(0, 60), rng.uniform(0, 60)), 10), "arm_twist": (0, 15)}
        leg = {"hip_flex": (5, 8), "hip_abd": (6, 5), "knee": (5, 5), "ankle": (0, 8)}
        return _limbs(rng, arm, leg), rng.normal(0, 5)
    if kind == "sitting":
        arm = {"shoulder_flex": (25, 20), "shoulder_abd": (10, 8), "elbow": (60, 25),
               "arm_twist": (25, 15)}
        leg = {"hip_flex": (90, 10), "hip_abd": (10, 8), "knee": (90, 15), "ankle": (0, 10)}
        return _limbs(rng, arm, leg), rng.normal(0, 8)
    if kind == "crouching":
        arm = {"shoulder_flex": (40, 25), "shoulder_abd": (15, 10), "elbow": (50, 30),
               "arm_twist": (20, 15)}
        leg = {"hip_flex": (115, 12), "hip_abd": (20, 10), "knee": (130, 12), "ankle": (-15, 10)}
        return _limbs(rng, arm, leg), rng.normal(35, 10)
    if kind == "random":
        limbs = {f"{side}_{name}": rng.uniform(*ANGLE_LIMITS[name])
                 for side in ("left", "right") for name in LIMB_ANGLES}
        return limbs, rng.uniform(-15, 45)
    # standing and lying share the relaxed stance.
    arm = {"shoulder_flex": (5, 15), "shoulder_abd": (12, 10), "elbow": (15, 15),
           "arm_twist": (10, 15)}
    leg = {"hip_flex": (3, 6), "hip_abd": (6, 5), "knee": (4, 5), "ankle": (0, 6)}
    return _limbs(rng, arm, leg), rng.normal(0, 4)


def sample_pose(rng: np.random.Generator, kind: str | None = None) -> tuple[str, BodyPose]:
    """A pose kind (drawn by POSE_WEIGHTS unless given) and its joint angles."""
    if kind is None:
        kind = POSE_KINDS[rng.choice(len(POSE_KINDS), p=POSE_WEIGHTS)]
    if kind not in POSE_KINDS:
        raise ValueError(f"unknown pose kind {kind!r}; expected one of {POSE_KINDS}")
    limbs, lean = _limbs_for(kind, rng)
    pose = BodyPose(lean=_clip("lean", lean), side_bend=_clip("side_bend", rng.normal(0, 6)),
                    twist=_clip("twist", rng.normal(0, 10)),
                    head_yaw=_clip("head_yaw", rng.normal(0, 22)),
                    head_pitch=_clip("head_pitch", rng.normal(5, 12)),
                    head_roll=_clip("head_roll", rng.normal(0, 8)), limbs=limbs)
    return kind, pose


def sample_view(rng: np.random.Generator, kind: str) -> View:
    """Mostly facing the camera, as photographed people are (which is what lets a network learn
    left from right before it reads faces well), else any direction; upright people lean little
    in the image, lying ones ~90 deg."""
    yaw = rng.normal(0, 35) if rng.random() < 0.7 else rng.uniform(0, 360)
    elevation = min(max(float(rng.normal(8, 10)), -20.0), 35.0)
    if kind == "lying":
        roll = rng.choice([-1, 1]) * rng.uniform(65, 115)
    elif rng.random() < 0.08:
        roll = rng.uniform(-180, 180)  # acrobatics, falls, odd camera angles
    else:
        roll = min(max(float(rng.normal(0, 8)), -25.0), 25.0)
    return View(yaw=float(yaw), elevation=elevation, roll=float(roll))
