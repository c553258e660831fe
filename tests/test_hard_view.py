"""The easy -> hard view: heatmap peaks land where the image-level affine sends the keypoint, the
out-of-view mask on a hand-built case, and the builder's composition of RandAugment, Joint Cutout
and the affine."""
import numpy as np
import pytest
import torch

from semipose import codec, geometry
from semipose.augment import (
    HardViewBuilder,
    heatmap_peaks_in_input_px,
    map_heatmaps_to_hard,
    sample_easy_to_hard,
    warp_to_hard,
)
from semipose.config import HardViewConfig
from semipose.jitter import AFFINE_60, AffineJitter


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


STILL = AffineJitter(rotation=0.0, scale=0.0, rotation_prob=0.0)   # the hard view's affine is the identity


def _builder(config, input_wh=(24, 32), labelled=(True, True, False)):
    return HardViewBuilder(config, input_wh, (input_wh[0] // 4, input_wh[1] // 4), torch.tensor(labelled))


def _peak_heatmaps(x, y, count=4, joints=3):
    """(count, joints, 8, 6) heatmaps peaking at heatmap pixel (x, y) = input pixel 4x + 1.5."""
    heatmaps = torch.zeros(count, joints, 8, 6)
    heatmaps[:, :, y, x] = 1.0
    return heatmaps


def test_each_view_is_cut_at_its_own_teachers_joints_and_nowhere_else():
    config = HardViewConfig(affine=STILL)
    config.joint_cutout.num_joints, config.joint_cutout.jitter = 2, 0.0
    config.joint_cutout.half_size = (24.0, 24.0)                # 3 px on a 32-high crop
    easy = torch.rand(4, 3, 32, 24) + 1.0                       # no pixel is 0 before the cut
    near, far = _peak_heatmaps(1, 1), _peak_heatmaps(4, 6)      # joints at (5.5, 5.5) and (17.5, 25.5)
    view_a, view_b = _builder(config).build(easy, [near, far], np.random.default_rng(0))
    cut_a, cut_b = view_a.images == 0, view_b.images == 0
    assert cut_a[:, :, 3:9, 3:9].all() and not cut_a[:, :, 12:, :].any()
    assert cut_b[:, :, 23:29, 15:21].all() and not cut_b[:, :, :20, :].any()
    untouched = ~(cut_a | cut_b)
    assert torch.allclose(view_a.images[untouched], easy[untouched], atol=1e-5)   # identity affine
    assert view_a.easy_to_hard is view_b.easy_to_hard and view_a.heatmap_mask.eq(1).all()


def test_the_reference_convention_moves_the_cut_and_the_heatmap_map():
    """Reference convention: heatmap pixel x is input pixel 4x (not 4x + 1.5), and the easy->hard map
    in heatmap pixels is S A S^-1 with S a pure 1/4 scale: the linear part of A, its shift / 4."""
    config = HardViewConfig(affine=AFFINE_60)
    config.joint_cutout.num_joints, config.joint_cutout.jitter = 2, 0.0
    config.joint_cutout.half_size = (24.0, 24.0)                # 3 px on a 32-high crop
    builder = HardViewBuilder(config, (24, 32), (6, 8), torch.tensor([True, True, False]), "reference")
    easy = torch.rand(4, 3, 32, 24) + 1.0
    view, = builder.build(easy, [_peak_heatmaps(1, 1)], np.random.default_rng(0))
    affine = view.easy_to_hard.double()
    expected = torch.cat([affine[:, :, :2], affine[:, :, 2:] / 4.0], dim=2)
    assert torch.allclose(view.heatmap_easy_to_hard.double(), expected, atol=1e-5)

    config.affine = STILL
    still = HardViewBuilder(config, (24, 32), (6, 8), torch.tensor([True, True, False]), "reference")
    cut = still.build(easy, [_peak_heatmaps(1, 1)], np.random.default_rng(0))[0].images == 0
    assert cut[:, :, 2:6, 2:6].all()                            # around input pixel (4, 4)
    assert not cut[:, :, 8, :].any() and not cut[:, :, :, 8].any()   # exact would cut there (5.5 + 3)


def test_views_share_one_randaugment_draw_and_one_affine():
    config = HardViewConfig()
    config.randaugment.num_ops = 2
    easy = torch.rand(4, 3, 32, 24)
    first, second = _builder(config).build(easy, [None, None], np.random.default_rng(0))
    alone, = _builder(config).build(easy, [None], np.random.default_rng(0))
    assert first.images is second.images                       # without Joint Cutout: one warp, shared
    assert torch.equal(alone.images, first.images) and torch.equal(alone.easy_to_hard, first.easy_to_hard)


def test_out_of_view_pixels_are_masked_only_when_asked():
    shrink = AffineJitter(rotation=0.0, scale=0.5, rotation_prob=0.0, distribution="uniform")
    easy = torch.rand(2, 3, 32, 24)
    masked, = _builder(HardViewConfig(affine=shrink)).build(easy, [None], np.random.default_rng(1))
    scale = float(masked.easy_to_hard[0, 0, 0])
    if scale > 1.0:                                             # zoomed in: every hard pixel is seen
        assert masked.heatmap_mask[0].eq(1).all()
    else:                                                       # zoomed out: the border was never seen
        assert masked.heatmap_mask[0, 0, 0, 0] == 0 and masked.heatmap_mask[0, 0, 4, 3] == 1
    plain, = _builder(HardViewConfig(affine=shrink, mask_out_of_view=False)).build(easy, [None],
                                                                                   np.random.default_rng(1))
    assert plain.heatmap_mask is None


def test_builder_asks_for_teacher_heatmaps_when_joint_cutout_is_on():
    config = HardViewConfig()
    config.joint_cutout.num_joints = 5
    with pytest.raises(ValueError, match="teacher heatmaps"):
        _builder(config).build(torch.randn(2, 3, 32, 24), [None], np.random.default_rng(0))
