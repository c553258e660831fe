"""The hard view of an unlabelled sample, built on the device from its easy view (paper Sec. 3.3, 4).

Order as in the reference code: RandAugment on the easy crop, Joint Cutout at the teacher's
joints, then a random rotation/scale about the crop centre (`easy_to_hard`). The same matrix,
rescaled to heatmap pixels, maps the teacher's easy-view heatmaps onto the hard view (T_e->h).

Difference from the reference: it applies the rotation in normalised [-1, 1] grid coordinates,
which on a non-square crop is a rotation plus an anisotropic shear in pixels; here the turn is
rigid in pixels (geometry.centred_affine). The reference also uses the sampled matrix as the
grid's destination->source map, i.e. it scales by 1/s where we scale by s.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np
import torch

from semipose import codec, geometry
from semipose.augment.jitter import AffineJitter, sample_jitter
from semipose.augment.joint_cutout import joint_cutout
from semipose.augment.randaugment import rand_augment

if TYPE_CHECKING:  # runtime imports would be circular (semipose.config imports this package)
    from semipose.config import HardViewConfig
    from semipose.methods.base import MethodContext

IN_VIEW_THRESHOLD = 0.999  # a warped all-ones map is 1 exactly where bilinear sampling stays inside


def sample_easy_to_hard(batch_size: int, jitter: AffineJitter, input_wh, rng: np.random.Generator,
                        device) -> torch.Tensor:
    """(N, 2, 3) float32 affines easy crop -> hard crop: rotation and scale about the crop centre."""
    rotations, scales = sample_jitter(jitter, rng, batch_size)
    # N tiny host-side matrices (the draws are on the host anyway), one copy to the device.
    affines = np.stack([geometry.centred_affine(r, s, input_wh) for r, s in zip(rotations, scales)])
    return torch.as_tensor(affines.reshape(batch_size, 2, 3), dtype=torch.float32).to(device)


def warp_to_hard(images: torch.Tensor, easy_to_hard: torch.Tensor, input_wh) -> torch.Tensor:
    """Warp easy-view images (N, C, H, W); uncovered pixels get 0 = the normalised mean colour."""
    return geometry.warp_batch(images, easy_to_hard.to(images.dtype), (input_wh[1], input_wh[0]))


def heatmap_easy_to_hard(easy_to_hard: torch.Tensor, input_wh, heatmap_wh, convention: str = "exact") -> torch.Tensor:
    """The input-pixel easy -> hard affines expressed in heatmap pixels of the networks' convention."""
    return geometry.batch_rescale_affine(easy_to_hard, input_wh, heatmap_wh, convention)


def in_view_mask(heatmap_affines: torch.Tensor, heatmap_wh, dtype=torch.float32) -> torch.Tensor:
    """(N, 1, h, w): 1 where a hard-view heatmap pixel maps back inside the easy heatmap."""
    ones = torch.ones(heatmap_affines.shape[0], 1, heatmap_wh[1], heatmap_wh[0],
                      dtype=dtype, device=heatmap_affines.device)
    warped = geometry.warp_batch(ones, heatmap_affines.to(dtype), (heatmap_wh[1], heatmap_wh[0]))
    return (warped > IN_VIEW_THRESHOLD).to(dtype)


def map_heatmaps_to_hard(heatmaps: torch.Tensor, easy_to_hard: torch.Tensor, input_wh, heatmap_wh,
                         convention: str = "exact"):
    """T_e->h on (N, K, h, w) easy-view heatmaps: (warped heatmaps, in-view mask (N, 1, h, w))."""
    affines = heatmap_easy_to_hard(easy_to_hard, input_wh, heatmap_wh, convention).to(heatmaps.dtype)
    warped = geometry.warp_batch(heatmaps, affines, (heatmap_wh[1], heatmap_wh[0]))
    return warped, in_view_mask(affines, heatmap_wh, heatmaps.dtype)


def heatmap_peaks_in_input_px(heatmaps: torch.Tensor, input_wh, heatmap_wh, convention: str = "exact") -> torch.Tensor:
    """(N, K, 2) argmax of each heatmap, in input-crop pixels (exact: x_in = (x_hm + 0.5) * stride - 0.5)."""
    coords, _ = codec.decode(heatmaps.detach(), refine="none")
    to_input = torch.as_tensor(geometry.invert(geometry.resize_affine(input_wh, heatmap_wh, convention)),
                               dtype=coords.dtype).to(coords.device)
    return geometry.batch_apply_to_points(to_input.expand(coords.shape[0], 2, 3), coords)


@dataclass
class HardView:
    images: torch.Tensor                  # (N, 3, H, W) normalised
    easy_to_hard: torch.Tensor            # (N, 2, 3) input pixels
    heatmap_easy_to_hard: torch.Tensor    # (N, 2, 3) heatmap pixels
    heatmap_mask: Optional[torch.Tensor]  # (N, 1, h, w) in-view pixels, None when masking is off

    def warp_heatmaps(self, easy_heatmaps: torch.Tensor) -> torch.Tensor:
        """T_e->h: teacher heatmaps of the easy view, mapped onto this hard view."""
        return geometry.warp_batch(easy_heatmaps, self.heatmap_easy_to_hard.to(easy_heatmaps.dtype),
                                   easy_heatmaps.shape[-2:])


class HardViewBuilder:
    """Builds hard views per `HardViewConfig`: "A", "A+JC", "A+RA", "A+RA+JC" are all configs."""

    def __init__(self, config: "HardViewConfig", context: "MethodContext"):
        self.config = config
        self.input_wh = tuple(context.input_size)
        self.heatmap_wh = tuple(context.heatmap_size)
        self.convention = context.convention
        self.allowed_joints = torch.as_tensor(context.labelled_joints, dtype=torch.bool).cpu()
        if self.uses_joint_cutout and not bool(self.allowed_joints.any()):
            raise ValueError("method.hard.joint_cutout: the labelled set annotates no joint, nothing to cut out")
        self._generators: dict[str, torch.Generator] = {}

    @property
    def uses_joint_cutout(self) -> bool:
        return self.config.joint_cutout.num_joints > 0

    def cutout_joints(self, teacher_heatmaps: torch.Tensor) -> Optional[torch.Tensor]:
        """Where Joint Cutout should cut, from the teacher's easy-view heatmaps (None when JC is off)."""
        if not self.uses_joint_cutout:
            return None
        return heatmap_peaks_in_input_px(teacher_heatmaps, self.input_wh, self.heatmap_wh, self.convention)

    def build(self, easy_images: torch.Tensor, cutout_joints: Optional[torch.Tensor],
              rng: np.random.Generator) -> HardView:
        return self.build_many(easy_images, [cutout_joints], rng)[0]

    def build_many(self, easy_images: torch.Tensor, cutout_joints: Sequence[Optional[torch.Tensor]],
                   rng: np.random.Generator) -> list[HardView]:
        """One hard view per entry of `cutout_joints` (dual: each network masked at the other's joints).

        All views share the RandAugment draw, the affine and the mask; only the cutouts differ.
        """
        with torch.no_grad():
            count, device = easy_images.shape[0], easy_images.device
            augment = self.config.randaugment
            augmented = rand_augment(easy_images, augment.num_ops, augment.magnitude, rng)
            easy_to_hard = sample_easy_to_hard(count, self.config.affine, self.input_wh, rng, device)
            heatmap_affine = heatmap_easy_to_hard(easy_to_hard, self.input_wh, self.heatmap_wh, self.convention)
            mask = in_view_mask(heatmap_affine, self.heatmap_wh) if self.config.mask_out_of_view else None
            generator = self._generator(device, rng)
            if not self.uses_joint_cutout:  # the views are identical: warp once, share the images
                shared = HardView(warp_to_hard(augmented, easy_to_hard, self.input_wh), easy_to_hard,
                                  heatmap_affine, mask)
                return [shared] * len(cutout_joints)
            views = []
            for joints in cutout_joints:
                images = self._cut_out(augmented, joints, generator)
                views.append(HardView(warp_to_hard(images, easy_to_hard, self.input_wh),
                                      easy_to_hard, heatmap_affine, mask))
            return views

    def _cut_out(self, images: torch.Tensor, joints: Optional[torch.Tensor], generator) -> torch.Tensor:
        if not self.uses_joint_cutout:
            return images
        if joints is None:
            raise ValueError("method.hard.joint_cutout.num_joints > 0 but no teacher joints were given "
                             "(use HardViewBuilder.cutout_joints on the teacher's heatmaps)")
        cut = self.config.joint_cutout
        return joint_cutout(images, joints, cut.num_joints, cut.half_size, cut.jitter, self.allowed_joints,
                            generator)

    def _generator(self, device, rng: np.random.Generator) -> torch.Generator:
        """A torch generator on `device`, re-seeded from `rng` so every draw follows the numpy stream."""
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device)
        return self._generators[key].manual_seed(int(rng.integers(2 ** 62)))
