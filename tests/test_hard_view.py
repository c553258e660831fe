"""The easy -> hard view: heatmap peaks land where the image-level affine sends the keypoint, the
out-of-view mask on a hand-built case, and the builder's composition of RandAugment, Joint Cutout
and the affine."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from semipose import codec, geometry
from semipose.augment import (
    AFFINE_60,
    HardViewBuilder,
    heatmap_peaks_in_input_px,
    map_heatmaps_to_hard,
    sample_easy_to_hard,
    warp_to_hard,
)
from semipose.config import HardViewConfig


@pytest.mark.parametrize("input_wh", [(192, 256), (64, 64)])
def test_easy_to_hard_moves_heatmap_peaks_with_the_keypoints(input_wh):
    heatmap_wh = (input_wh[0] // 4, input_wh[1] // 4)
    rng = np.random.default_rng(3)
    count, per_image = 24, 6
    easy_to_hard = sample_easy_to_hard(count, AFFINE_60, input_wh, rng, "cpu")
    # Keypoints in the middle half of the crop, so they stay on the canvas after the turn.
    centre = (np.array(input_wh) - 1) / 2
    points_input = centre + rng.uniform(-0.3, 0.3, (count, per_image, 2)) * np.array(input_wh) / 2
    to_heatmap = geometry.resize_affine(input_wh, heatmap_wh)
    easy_heatmaps = codec.render_heatmaps(torch.as_tensor(geometry.apply_to_points(to_heatmap, points_input)),
                                          (heatmap_wh[1], heatmap_wh[0]), sigma=2.0).float()

    hard_heatmaps, mask = map_heatmaps_to_hard(easy_heatmaps, easy_to_hard, input_wh, heatmap_wh)
    found, _ = codec.decode(hard_heatmaps.double(), refine="dark")

    # Independent path: float64 numpy, image-level affine first, then input -> heatmap.
    affines = easy_to_hard.double().numpy()
    expected = np.stack([geometry.apply_to_points(to_heatmap, geometry.apply_to_points(a, p))
                         for a, p in zip(affines, points_input)])
    error = np.abs(found.numpy() - expected).max()
    assert error < 0.25, f"peak moved {error:.3f} heatmap px away from the mapped keypoint"
    assert mask.shape == (count, 1, heatmap_wh[1], heatmap_wh[0])


def test_out_of_view_mask_of_a_quarter_turn_on_a_wide_canvas():
    # Input 32x16 -> heatmap 8x4. Turned by 90 degrees about the centre (3.5, 1.5), the easy heatmap
    # becomes 4 wide and 8 high: only hard columns 2..5 see it, over the full height.
    input_wh, heatmap_wh = (32, 16), (8, 4)
    quarter_turn = torch.as_tensor(geometry.centred_affine(90.0, 1.0, input_wh), dtype=torch.float32)[None]
    heatmaps = torch.ones(1, 2, 4, 8)
    warped, mask = map_heatmaps_to_hard(heatmaps, quarter_turn, input_wh, heatmap_wh)
    expected = torch.zeros(1, 1, 4, 8)
    expected[..., 2:6] = 1.0
    assert torch.equal(mask, expected)
    assert torch.allclose(warped[:, :1] * mask, mask, atol=1e-5)  # all-ones content inside the view

    identity = torch.eye(2, 3)[None]
    _, full = map_heatmaps_to_hard(heatmaps, identity, input_wh, heatmap_wh)
    assert torch.equal(full, torch.ones(1, 1, 4, 8))


def test_warp_to_hard_puts_image_content_where_the_affine_sends_it():
    input_wh = (24, 32)
    images = torch.zeros(1, 3, 32, 24)
    images[0, :, 10, 7] = 1.0                                     # a dot at x=7, y=10
    affine = torch.as_tensor(geometry.centred_affine(90.0, 1.0, input_wh), dtype=torch.float32)[None]
    warped = warp_to_hard(images, affine, input_wh)
    x, y = geometry.apply_to_points(affine[0].double().numpy(), [[7.0, 10.0]])[0]
    assert warped[0, 0, int(round(y)), int(round(x))] == pytest.approx(1.0, abs=1e-4)


def test_heatmap_peaks_come_back_in_input_pixels():
    input_wh, heatmap_wh = (192, 256), (48, 64)
    points_input = np.array([[[37.5, 201.5], [150.0, 20.0]]])
    heatmap_points = geometry.apply_to_points(geometry.resize_affine(input_wh, heatmap_wh), points_input)
    heatmaps = codec.render_heatmaps(torch.as_tensor(heatmap_points), (64, 48), sigma=2.0)
    found = heatmap_peaks_in_input_px(heatmaps, input_wh, heatmap_wh)
    assert np.abs(found.numpy() - points_input).max() <= 2.0  # argmax: within half a stride


def _context(input_wh=(24, 32), labelled=(True, True, False)):
    return SimpleNamespace(input_size=input_wh, heatmap_size=(input_wh[0] // 4, input_wh[1] // 4),
                           labelled_joints=torch.tensor(labelled), convention="exact")


def test_builder_shares_the_affine_and_mask_but_cuts_each_view_at_its_own_joints():
    config = HardViewConfig()
    config.joint_cutout.num_joints = 3
    config.joint_cutout.jitter = 0.0
    config.randaugment.num_ops = 2
    builder = HardViewBuilder(config, _context())
    easy = torch.randn(4, 3, 32, 24)
    joints_a = torch.tensor([[4.0, 4.0], [4.0, 4.0], [4.0, 4.0]]).expand(4, 3, 2)
    joints_b = torch.tensor([[19.0, 27.0], [19.0, 27.0], [19.0, 27.0]]).expand(4, 3, 2)
    view_a, view_b = builder.build_many(easy, [joints_a, joints_b], np.random.default_rng(0))
    assert view_a.images.shape == easy.shape and view_a.images.dtype == easy.dtype
    assert view_a.easy_to_hard is view_b.easy_to_hard and view_a.heatmap_mask is view_b.heatmap_mask
    assert view_a.heatmap_mask.shape == (4, 1, 8, 6)
    assert not torch.equal(view_a.images, view_b.images)

    same_seed = builder.build_many(easy, [joints_a, joints_b], np.random.default_rng(0))
    assert torch.equal(same_seed[0].images, view_a.images)


def test_builder_without_options_is_a_plain_affine_and_masking_can_be_off():
    config = HardViewConfig(mask_out_of_view=False)
    builder = HardViewBuilder(config, _context())
    easy = torch.randn(3, 3, 32, 24)
    view = builder.build(easy, None, np.random.default_rng(1))
    assert view.heatmap_mask is None
    assert torch.allclose(view.images, warp_to_hard(easy, view.easy_to_hard, (24, 32)))


def test_builder_asks_for_joints_when_joint_cutout_is_on():
    config = HardViewConfig()
    config.joint_cutout.num_joints = 5
    builder = HardViewBuilder(config, _context())
    with pytest.raises(ValueError, match="teacher joints"):
        builder.build(torch.randn(2, 3, 32, 24), None, np.random.default_rng(0))
    assert builder.cutout_joints(torch.rand(2, 3, 8, 6)).shape == (2, 3, 2)
