"""A whole synthetic picture: a cluttered background, 1-4 people, occluding objects, camera
effects, and the COCO labels read back from the per-pixel id buffer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from semipose.data.synth.appearance import random_colour, sample_appearance
from semipose.data.synth.background import camera_effects, draw_clutter, make_background
from semipose.data.synth.poses import sample_pose, sample_shape, sample_view
from semipose.data.synth.render import (IDS_PER_PERSON, KEYPOINT_PARTS, PersonSpec,
                                        RenderedPerson, fill_polygon, project_person,
                                        render_person)
from semipose.data.synth.skeleton import NUM_COCO

OCCLUDER_ID = 30000
MIN_BOX_SIDE = 6        # people whose drawn box is thinner than this (px) are dropped
MIN_VISIBLE_PIXELS = 30


@dataclass
class Occluder:
    polygon: np.ndarray  # (N, 2) image pixels; drawn as its convex hull in front of people
    colour: tuple


@dataclass
class PersonLabel:
    keypoints: np.ndarray   # (17, 3): x, y, v with v = 0 (outside, x = y = 0), 1 hidden, 2 seen
    bbox: tuple             # x, y, w, h of the whole drawn body inside the image
    area: int               # pixels of the body left visible (like COCO's segment area)

    @property
    def num_keypoints(self) -> int:
        return int((self.keypoints[:, 2] > 0).sum())


@dataclass
class Scene:
    background: np.ndarray                      # uint8 (H, W, 3) BGR, clutter included
    people: list                                # PersonSpec, drawn in this order (far first)
    occluders: list = field(default_factory=list)


# _OWN_PART[k, p]: part p (person-local id) is one of keypoint k's own body parts.
_OWN_PART = np.zeros((NUM_COCO, IDS_PER_PERSON + 1), bool)
for _k, _parts in enumerate(KEYPOINT_PARTS):
    _OWN_PART[_k, list(_parts)] = True


def keypoint_labels(ids: np.ndarray, person: RenderedPerson, tolerance: int) -> np.ndarray:
    """x, y, v per COCO keypoint: v = 2 when one of the joint's own body parts is frontmost
    within `tolerance` px and the mark faces the camera, 1 when hidden, 0 outside (x = y = 0)."""
    height, width = ids.shape
    x, y = person.keypoints[:, 0], person.keypoints[:, 1]
    inside = (x >= -0.5) & (x < width - 0.5) & (y >= -0.5) & (y < height - 0.5)
    steps = np.arange(-tolerance, tolerance + 1)
    cols = np.floor(x + 0.5).astype(np.int64)[:, None, None] + steps[None, None, :]
    rows = np.floor(y + 0.5).astype(np.int64)[:, None, None] + steps[None, :, None]
    window = ids[np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)].astype(np.int64)
    local = window - person.id_base  # person-local part index, or out of range
    local = np.where((local >= 0) & (local < IDS_PER_PERSON), local, IDS_PER_PERSON)
    own = _OWN_PART[np.arange(NUM_COCO)[:, None, None], local].any(axis=(1, 2))
    labels = np.zeros((NUM_COCO, 3))
    labels[inside, 0], labels[inside, 1] = x[inside], y[inside]
    labels[inside, 2] = np.where(own & person.self_visible, 2, 1)[inside]
    return labels


def _box_xywh(box) -> tuple:
    """Inclusive pixel bounds -> COCO xywh, as pycocotools.mask.toBbox gives for a mask."""
    return (float(box[0]), float(box[1]), float(box[2] - box[0] + 1), float(box[3] - box[1] + 1))


def label_people(ids: np.ndarray, specs: list, rendered: list) -> list:
    """A PersonLabel per drawn person, or None for people dropped as outside or tiny."""
    height, width = ids.shape
    counts = np.bincount(ids.ravel().astype(np.int64), minlength=OCCLUDER_ID + 1)
    labels = []
    for spec, person in zip(specs, rendered):
        area = int(counts[person.id_base:person.id_base + IDS_PER_PERSON].sum())
        if person.bbox is None or area < MIN_VISIBLE_PIXELS:
            labels.append(None)
            continue
        tolerance = max(1, int(round(0.008 * spec.height_px)))
        label = PersonLabel(keypoint_labels(ids, person, tolerance),
                            _box_xywh(person.bbox), area)
        too_thin = min(label.bbox[2], label.bbox[3]) < MIN_BOX_SIDE
        labels.append(None if too_thin or label.num_keypoints == 0 else label)
    return labels


def compose(scene: Scene, effects_rng: Optional[np.random.Generator] = None):
    """Draw a scene; returns (uint8 BGR image, labels per person (None = dropped), ids)."""
    image = scene.background.copy()
    ids = np.zeros(image.shape[:2], np.int16)
    rendered = [render_person(image, ids, spec, index) for index, spec in enumerate(scene.people)]
    for occluder in scene.occluders:
        fill_polygon(image, ids, occluder.polygon, occluder.colour, OCCLUDER_ID)
    labels = label_people(ids, scene.people, rendered)
    if effects_rng is not None:
        image = camera_effects(effects_rng, image)
    return image, labels, ids


def _place_person(rng, width: int, height: int, height_range, placed: list) -> PersonSpec:
    """A random person whose body box centre lands in the picture, sometimes beside another."""
    kind, pose = sample_pose(rng)
    low, high = height_range
    height_px = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    spec = PersonSpec(sample_shape(rng), pose, sample_view(rng, kind), height_px, (0.0, 0.0),
                      sample_appearance(rng), kind)
    points = project_person(spec)[1]
    low_corner, high_corner = points.min(axis=0), points.max(axis=0)
    if placed and rng.random() < 0.4:  # overlap a person placed before
        other = placed[rng.integers(len(placed))]
        centre = np.asarray(other.pelvis_xy) + rng.normal(0, 0.3, 2) * (high_corner - low_corner)
    else:
        centre = np.array([rng.uniform(0.05, 0.95) * width, rng.uniform(0.1, 0.9) * height])
    spec.pelvis_xy = tuple(float(v) for v in centre - (low_corner + high_corner) / 2)
    return spec


def _occluder_near(rng, spec: PersonSpec) -> Occluder:
    """A box, ellipse or polygon over one of the person's joints."""
    points = project_person(spec)[1][:NUM_COCO]
    centre = points[rng.integers(NUM_COCO)] + rng.normal(0, 0.05 * spec.height_px, 2)
    size = spec.height_px * rng.uniform(0.12, 0.45)
    kind = rng.integers(3)
    if kind == 0:
        polygon = cv2.boxPoints(((float(centre[0]), float(centre[1])),
                                 (float(size), float(size * rng.uniform(0.25, 1.5))),
                                 float(rng.uniform(0, 180))))
    elif kind == 1:
        angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        axes = size / 2 * np.array([1.0, rng.uniform(0.3, 1.0)])
        polygon = centre + np.stack([np.cos(angles) * axes[0], np.sin(angles) * axes[1]], 1)
    else:
        angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 7))))
        polygon = centre + size / 2 * np.stack([np.cos(angles), np.sin(angles)], 1)
    return Occluder(np.asarray(polygon, np.float64), random_colour(rng))


def sample_scene(rng: np.random.Generator, image_size=(320, 256), height_range=(40, 250),
                 people_range=(1, 4), max_people: Optional[int] = None) -> Scene:
    """Background with clutter, 1-4 people (nearer = taller = drawn later), occluders."""
    width, height = image_size
    background = make_background(rng, width, height)
    draw_clutter(rng, background, int(rng.integers(3, 16)))
    count = int(rng.integers(people_range[0], people_range[1] + 1))
    if max_people is not None:
        count = min(count, max_people)
    people = []
    for _ in range(count):
        people.append(_place_person(rng, width, height, height_range, people))
    people.sort(key=lambda spec: spec.height_px * rng.uniform(0.8, 1.2))
    occluders = []
    if people and rng.random() < 0.45:
        occluders = [_occluder_near(rng, people[rng.integers(len(people))])
                     for _ in range(rng.integers(1, 3))]
    return Scene(background, people, occluders)


def random_image(rng: np.random.Generator, image_size=(320, 256), height_range=(40, 250),
                 people_range=(1, 4), max_people: Optional[int] = None):
    """(uint8 BGR image, kept PersonLabels) of one random scene."""
    scene = sample_scene(rng, image_size, height_range, people_range, max_people)
    image, labels, _ = compose(scene, rng)
    return image, [label for label in labels if label is not None]
