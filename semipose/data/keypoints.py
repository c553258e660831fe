"""Keypoint metadata: joint names, skeleton, left/right flip pairs and OKS sigmas.

All indices here are 0-based. COCO json stores its skeleton 1-based; `meta_from_category`
converts it. Sigmas are the per-joint OKS constants (COCO's `kpt_oks_sigmas`); `None` means
the layout has no OKS constants and is evaluated with PCK only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from semipose.data.coco_checks import is_int, is_number
from semipose.data.errors import AnnotationError

log = logging.getLogger(__name__)
Pair = tuple[int, int]


@dataclass(frozen=True)
class KeypointMeta:
    names: tuple[str, ...]
    skeleton: tuple[Pair, ...]
    flip_pairs: tuple[Pair, ...]
    sigmas: Optional[tuple[float, ...]]

    def __post_init__(self):
        k = len(self.names)
        for i, j in self.skeleton + self.flip_pairs:
            if not (0 <= i < k and 0 <= j < k):
                raise ValueError(f"pair ({i}, {j}) out of range for {k} keypoints")
        flat = [index for pair in self.flip_pairs for index in pair]
        if len(flat) != len(set(flat)):
            raise ValueError(f"flip pairs reuse a keypoint: {self.flip_pairs}")
        if self.sigmas is not None and len(self.sigmas) != k:
            raise ValueError(f"{len(self.sigmas)} sigmas for {k} keypoints")

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    @property
    def has_flip(self) -> bool:
        return len(self.flip_pairs) > 0

    @property
    def has_sigmas(self) -> bool:
        return self.sigmas is not None

    def flip_test_permutation(self) -> Optional[list[int]]:
        """flip_permutation() as a list for the flip test and flip augmentation, None when the set has
        no left/right pairs (nothing may be mirrored then)."""
        return [int(j) for j in self.flip_permutation()] if self.has_flip else None

    def flip_permutation(self) -> np.ndarray:
        """perm[i] = the mirror partner of joint i (i itself for centre joints)."""
        perm = np.arange(self.num_keypoints)
        for i, j in self.flip_pairs:
            perm[i], perm[j] = j, i
        return perm


def _from_one_based(pairs: Sequence[Sequence[int]]) -> tuple[Pair, ...]:
    return tuple((i - 1, j - 1) for i, j in pairs)


COCO17 = KeypointMeta(
    names=("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
           "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
           "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"),
    # person_keypoints_*.json's own skeleton, converted from 1-based.
    skeleton=_from_one_based([[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12],
                              [7, 13], [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3],
                              [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]),
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    # cocoapi's COCOeval kpt_oks_sigmas.
    sigmas=tuple(s / 10.0 for s in (.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62,
                                    1.07, 1.07, .87, .87, .89, .89)),
)

LSP14 = KeypointMeta(
    names=("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
           "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
           "left_wrist", "neck", "head_top"),
    skeleton=((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 12), (12, 9),
              (9, 10), (10, 11), (12, 13), (8, 2), (9, 3)),
    flip_pairs=((0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9)),
    sigmas=None,  # LSP is evaluated with PCK; it has no official OKS constants.
)

MPII16 = KeypointMeta(
    names=("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
           "pelvis", "thorax", "upper_neck", "head_top", "right_wrist", "right_elbow",
           "right_shoulder", "left_shoulder", "left_elbow", "left_wrist"),
    skeleton=((0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
              (10, 11), (11, 12), (12, 7), (7, 13), (13, 14), (14, 15)),
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
    sigmas=None,  # MPII is evaluated with PCKh.
)

AIC14 = KeypointMeta(
    names=("right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
           "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
           "left_ankle", "head_top", "neck"),
    skeleton=_from_one_based([[3, 2], [2, 1], [1, 14], [14, 4], [4, 5], [5, 6], [9, 8],
                              [8, 7], [7, 10], [10, 11], [11, 12], [13, 14], [1, 7], [4, 10]]),
    flip_pairs=((0, 3), (1, 4), (2, 5), (6, 9), (7, 10), (8, 11)),
    # AI Challenger 2017 keypoint_eval.py's delta / 2, as tabulated in mmpose's aic dataset info.
    sigmas=(0.01388152, 0.01515228, 0.01057665, 0.01417709, 0.01497891, 0.01402144,
            0.03909642, 0.03686941, 0.01981803, 0.03843971, 0.03412318, 0.02415081,
            0.01291456, 0.01236173),
)

CROWDPOSE14 = KeypointMeta(
    names=("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
           "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "head", "neck"),
    # The released json carries COCO-17's skeleton (indices up to 17): this is CrowdPose's own.
    skeleton=((11, 9), (9, 7), (10, 8), (8, 6), (6, 7), (0, 6), (1, 7), (0, 1), (0, 2), (1, 3), (2, 4),
              (3, 5), (12, 13), (1, 13), (0, 13)),
    flip_pairs=((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)),
    # crowdpose-api's COCOeval sigmas (COCO's for the body joints, .79 for head and neck).
    sigmas=(.079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089, .079, .079),
)

# Layouts recognised by their joint names: a category that lists exactly these names (after
# `normalise_name`) gets the layout's flip pairs, sigmas (None for the PCK-only LSP / MPII)
# and skeleton wherever the category does not give its own.
KNOWN_LAYOUTS = {"coco17": COCO17, "aic14": AIC14, "lsp14": LSP14, "mpii16": MPII16, "crowdpose14": CROWDPOSE14}


def normalise_name(name: str) -> str:
    """'Right Shoulder' / 'right-shoulder' -> 'right_shoulder'."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def flip_pairs_from_names(names: Sequence[str]) -> Optional[tuple[Pair, ...]]:
    """Pairs 'left_X' with 'right_X' (names normalised first).

    Returns None unless every left_/right_ name has its partner and at least one pair exists;
    names without a side prefix are centre joints that map to themselves.
    """
    index = {normalise_name(n): i for i, n in enumerate(names)}
    pairs = []
    for name, i in index.items():
        side, _, part = name.partition("_")
        if side not in ("left", "right") or not part:
            continue
        partner = index.get(("right_" if side == "left" else "left_") + part)
        if partner is None:
            return None
        if side == "left":
            pairs.append((i, partner))
    return tuple(sorted(pairs)) or None


def meta_from_category(category: Any, source: str, allow_missing: bool = False) -> KeypointMeta:
    """Build KeypointMeta from a COCO category dict (`keypoints`, `skeleton` 1-based,
    optional extra fields `flip_pairs` 0-based and `sigmas`).

    Missing flip pairs are derived from left_/right_ names when every side name pairs up;
    a known layout (KNOWN_LAYOUTS) fills what the category leaves out. A category may say
    `"sigmas": null` to declare PCK-only evaluation. Anything still missing is an
    AnnotationError unless allow_missing=True (then sigmas=None, flip_pairs=()).
    """
    def fail(field: str, problem: str, expected: Optional[str] = None):
        raise AnnotationError(source, problem, field=f"categories[].{field}",
                              expected=expected, reason="bad_category")

    if not isinstance(category, dict):
        fail("", f"category must be an object, got {type(category).__name__}")
    names = category.get("keypoints")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        fail("keypoints", f"got {names!r}", "a non-empty list of joint names")
    if len({normalise_name(n) for n in names}) != len(names):
        fail("keypoints", f"duplicate joint names in {names}")
    k = len(names)
    known = next((m for m in KNOWN_LAYOUTS.values()
                  if m.names == tuple(normalise_name(n) for n in names)), None)

    skeleton = _skeleton(category.get("skeleton"), k, source)
    if skeleton is None:
        skeleton = known.skeleton if known else ()
    if "flip_pairs" in category:
        flip_pairs = _pairs(category["flip_pairs"], k, 0, lambda p: fail("flip_pairs", p,
                            f"pairs of 0-based joint indices in 0..{k - 1}"))
    else:
        flip_pairs = known.flip_pairs if known else flip_pairs_from_names(names)
    if "sigmas" in category:
        sigmas = _sigmas(category["sigmas"], k, lambda p: fail("sigmas", p,
                         f"null or a list of {k} positive numbers"))
    elif known is not None:
        sigmas = known.sigmas
    elif allow_missing:
        sigmas = None
    else:
        fail("sigmas", "missing for a non-COCO keypoint layout; add a 'sigmas' list (OKS "
             "constants) or 'sigmas': null to the category (`semipose convert coco ... --pck-only` "
             "writes it), or set data.keypoints.allow_missing=true for PCK-only evaluation")
    if flip_pairs is None:
        if not allow_missing:
            fail("flip_pairs", "missing and not derivable from left_/right_ joint names; add "
                 "'flip_pairs' (0-based index pairs, [] if none) to the category, or "
                 "use --pck-only / data.keypoints.allow_missing=true (no flip augmentation)")
        flip_pairs = ()
    try:
        return KeypointMeta(tuple(names), skeleton, flip_pairs, sigmas)
    except ValueError as error:
        fail("flip_pairs", str(error))


def _skeleton(value: Any, k: int, source: str) -> Optional[tuple[Pair, ...]]:
    """COCO's 1-based skeleton -> 0-based pairs. The skeleton only draws pictures, so a broken
    one (real files have them: 0-based, or copied from another layout) is not fatal: a list
    that is valid only as 0-based pairs is read as such, anything else is dropped (None);
    both with a warning."""
    if value is None:
        return None

    def invalid(problem: str):
        raise ValueError(problem)

    try:
        return _pairs(value, k, 1, invalid)
    except ValueError:
        pass
    try:
        pairs = _pairs(value, k, 0, invalid)
        log.warning("%s: category skeleton is 0-based, not COCO's 1-based; reading it as "
                    "0-based", source)
        return pairs
    except ValueError:
        log.warning("%s: category skeleton %s does not fit %d keypoints; ignoring it",
                    source, str(value)[:80], k)
        return None


def _pairs(value: Any, k: int, base: int, fail) -> tuple[Pair, ...]:
    if not isinstance(value, list):
        fail(f"got {type(value).__name__}")
    pairs = []
    for entry in value:
        if (not isinstance(entry, (list, tuple)) or len(entry) != 2
                or not all(is_int(x) and base <= x < k + base for x in entry)):
            fail(f"bad entry {entry!r}")
        pairs.append((entry[0] - base, entry[1] - base))
    return tuple(pairs)


def _sigmas(value: Any, k: int, fail) -> Optional[tuple[float, ...]]:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != k
            or not all(is_number(s) and 0 < s < float("inf") for s in value)):
        fail(f"got {value!r}")
    return tuple(float(s) for s in value)

