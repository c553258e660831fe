"""Joint Cutout: boxes land on the chosen joints (x = width, y = height, unlike the reference's
swapped axes), never on joints the dataset does not annotate, with sizes scaled to the crop."""
import pytest
import torch

from semipose.augment import JointCutoutError, joint_cutout


def _cut(images, joints, allowed, num_joints=1, half=(10.0, 10.0), jitter=0.0, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return joint_cutout(images, joints, num_joints, half, jitter, torch.tensor(allowed), generator)


def test_box_lands_on_a_joint_near_the_bottom_left_of_a_256x192_crop():
    images = torch.ones(1, 3, 256, 192)
    joints = torch.tensor([[[20.0, 230.0], [150.0, 30.0]]])     # (x, y): bottom-left, top-right
    out = _cut(images, joints, [True, False])
    zero = out[0, 0] == 0
    ys, xs = torch.nonzero(zero, as_tuple=True)
    assert (xs.min().item(), xs.max().item(), ys.min().item(), ys.max().item()) == (10, 30, 220, 240)
    assert zero.sum().item() == 21 * 21                           # |dx|, |dy| <= 10: the whole box
    assert torch.all(out[:, :, 220:241, 10:31] == 0)              # every channel
    assert out[0, :, 30, 150].eq(1).all()                         # the disallowed joint is untouched
    assert out[0, :, 128, 96].eq(1).all()                         # far pixels are untouched
    assert images.eq(1).all()                                     # the input is not modified


def test_never_cuts_at_joints_the_dataset_does_not_annotate():
    count = 64
    places = torch.tensor([[30.0, 40.0], [160.0, 40.0], [30.0, 220.0], [160.0, 220.0]])
    images = torch.ones(count, 3, 256, 192)
    out = _cut(images, places.expand(count, 4, 2), [True, False, True, False], num_joints=5)
    at = lambda x, y: out[:, 0, int(y), int(x)]                  # noqa: E731
    assert at(160, 40).eq(1).all() and at(160, 220).eq(1).all()   # disallowed: never
    hit_first, hit_third = at(30, 40).eq(0), at(30, 220).eq(0)
    assert (hit_first | hit_third).all()                          # each sample gets a box somewhere
    assert hit_first.any() and hit_third.any()                    # both allowed joints get chosen


def test_sizes_and_jitter_scale_with_the_crop_height():
    images = torch.ones(1, 3, 128, 96)                             # half the reference height
    out = _cut(images, torch.tensor([[[48.0, 64.0]]]), [True])
    assert (out[0, 0] == 0).sum().item() == 11 * 11               # half-size 10 -> 5 px


def test_random_boxes_stay_within_the_sampled_range_and_follow_the_seed():
    images = torch.ones(200, 1, 256, 192)
    joints = torch.tensor([[[96.0, 128.0]]]).expand(200, 1, 2)
    out = _cut(images, joints, [True], half=(10.0, 19.0), jitter=10.0, seed=5)
    zero = out[:, 0] == 0
    widths = zero.any(dim=1).sum(dim=1)
    heights = zero.any(dim=2).sum(dim=1)
    assert widths.min() >= 20 and widths.max() <= 39 and heights.min() >= 20 and heights.max() <= 39
    assert widths.float().std() > 2 and not torch.equal(widths, heights)   # independent half-sizes
    assert torch.equal(out, _cut(images, joints, [True], half=(10.0, 19.0), jitter=10.0, seed=5))


def test_bad_inputs_are_named():
    with pytest.raises(JointCutoutError, match="joints"):
        _cut(torch.ones(2, 3, 32, 24), torch.zeros(2, 3), [True, True, True])
    with pytest.raises(JointCutoutError, match="allowed_joints"):
        _cut(torch.ones(1, 3, 32, 24), torch.zeros(1, 2, 2), [False, False])
    with pytest.raises(JointCutoutError, match="half_size"):
        _cut(torch.ones(1, 3, 32, 24), torch.zeros(1, 2, 2), [True, True], half=(5.0, 2.0))
