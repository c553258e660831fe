"""Synthetic people: the built-in default data set (no download needed).

README
======
`generate_dataset(out_dir, num_people, seed)` writes COCO-keypoint data that every loader in
semipose reads like real COCO: `images/{train,val}/*.jpg` and `annotations/{train,val}.json`
(or, with `unlabelled_only=True`, `images/unlabelled/`, `annotations/unlabelled.json` with
images only and `annotations/detections.json` in COCO results format).

How a picture is made (one numpy Generator per picture, seeded by (seed, split, index), so
pictures can be made in any order and the same seed gives byte-identical files):

- people (skeleton.py, poses.py): a 3D kinematic tree - pelvis -> spine -> neck -> head,
  shoulders -> elbows -> wrists -> hands, hips -> knees -> ankles -> toes - with human
  proportions varied ~6 % per segment (clipped at 12 %) and ~10 % in build; joint-angle
  limits (elbows and knees bend one way); standing, walking, running, arms raised, sitting,
  crouching, lying and random poses; mostly facing the camera, but any direction (front, back,
  profiles and in between: shoulder and hip widths foreshorten), camera elevation and in-plane roll;
  standing height 40-250 px; 1-4 people per picture, sometimes overlapping.
- drawing (render.py, head.py, appearance.py): filled tapered limbs and a torso hull in
  clothing colours (shirt on torso and upper arms, trousers or shorts, skin on forearms,
  hands and face, shoes), stripes and grain; parts drawn far to near, so far-side limbs
  pass behind the torso; the head is ray-cast so eyes, nose, mouth, ears and hair move with
  where it faces. Shirts differ front and back (a collar opening, often a chest print), feet
  point forward and knees bend backward: with the face, these are the cues for which side is
  the person's left. Most people (70 %) roughly face the camera, as in photographs; with
  facing directions uniform, a small network guessed left/right even for frontal people.
- scene (scene.py, background.py): gradients, blotches, floors, stripes, random shapes and
  limb-like distractor sticks; occluding objects in front of people; uneven light, colour
  cast, blur, sensor noise; JPEG quality drawn per picture (default 60-95).

Labels: COCO-17 keypoints in COCO order, LEFT = the person's own left. A per-pixel id buffer
records which person part or object is frontmost: v=2 when one of the joint's own parts is
frontmost within a pixel or two (and, for face marks, the mark faces the camera), v=1 when
hidden (by another person, an object or the body itself, e.g. the far ear in profile),
v=0 with x=y=0 outside the picture. `bbox` is the tight box of all the person's drawn
pixels inside the picture (occluded ones included, so it holds every labelled joint), as
pycocotools.mask.toBbox gives for a mask: x = first column, w = number of columns. `area`
is the number of the person's pixels left VISIBLE (like COCO's segment area; OKS scale).
People whose drawing is off the picture or tiny (< 6 px box side, < 30 visible pixels, or
no keypoint in the picture) are dropped. Image and annotation ids start at 1 per file.
The category carries `flip_pairs` (0-based) and `sigmas` besides COCO's fields.
"""
from semipose.data.synth.scene import Occluder, PersonLabel, Scene, compose, random_image
from semipose.data.synth.writer import SynthConfigError, coco_category, generate_dataset

__all__ = ["generate_dataset", "SynthConfigError", "coco_category", "random_image", "compose",
           "Scene", "Occluder", "PersonLabel"]
