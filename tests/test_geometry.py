"""Affine helpers: round trips, compositions, and the torch warp agreeing with cv2 pixel for pixel."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from semipose import geometry

angles = st.floats(-180, 180)
scales = st.floats(0.3, 3.0)
coords = st.floats(-500, 500)


@given(cx=coords, cy=coords, w=st.floats(10, 400), h=st.floats(10, 400), rot=angles, flip=st.booleans())
@settings(max_examples=60, deadline=None)
def test_crop_affine_round_trip(cx, cy, w, h, rot, flip):
    affine = geometry.crop_affine((cx, cy), (w, h), rot, (192, 256), flip=flip)
    points = np.array([[cx, cy], [cx + 13.5, cy - 7.25], [0.0, 0.0]])
    back = geometry.apply_to_points(geometry.invert(affine), geometry.apply_to_points(affine, points))
    np.testing.assert_allclose(back, points, atol=1e-6)


def test_crop_affine_maps_region_edges_to_output_edges():
    affine = geometry.crop_affine((100.0, 50.0), (40.0, 80.0), 0.0, (20, 40))
    corners = np.array([[80.0, 10.0], [120.0, 90.0], [100.0, 50.0]])
    mapped = geometry.apply_to_points(affine, corners)
    np.testing.assert_allclose(mapped, [[-0.5, -0.5], [19.5, 39.5], [9.5, 19.5]], atol=1e-9)


def test_positive_rotation_turns_counter_clockwise_on_screen():
    # A point to the right of the centre moves up (smaller y) under a +90 degree turn.
    affine = geometry.crop_affine((0.0, 0.0), (10.0, 10.0), 90.0, (11, 11))
    mapped = geometry.apply_to_points(affine, [[1.0, 0.0]])[0]
    centre = 5.0
    assert mapped[0] == pytest.approx(centre, abs=1e-9) and mapped[1] < centre


def test_flip_mirrors_about_the_crop_centre():
    plain = geometry.crop_affine((30.0, 40.0), (64.0, 64.0), 15.0, (48, 64))
    flipped = geometry.crop_affine((30.0, 40.0), (64.0, 64.0), 15.0, (48, 64), flip=True)
    points = np.random.default_rng(0).uniform(0, 80, size=(5, 2))
    a, b = geometry.apply_to_points(plain, points), geometry.apply_to_points(flipped, points)
    np.testing.assert_allclose(b[:, 0], 47.0 - a[:, 0], atol=1e-9)
    np.testing.assert_allclose(b[:, 1], a[:, 1], atol=1e-9)


@given(r1=angles, s1=scales, r2=angles, s2=scales, tx=coords, ty=coords)
@settings(max_examples=60, deadline=None)
def test_compose_is_sequential_application(r1, s1, r2, s2, tx, ty):
    first = geometry.centred_affine(r1, s1, (48, 64))
    first[:, 2] += (tx, ty)
    second = geometry.centred_affine(r2, s2, (48, 64))
    points = np.array([[3.0, 4.0], [-20.0, 17.5]])
    expected = geometry.apply_to_points(second, geometry.apply_to_points(first, points))
    np.testing.assert_allclose(geometry.apply_to_points(geometry.compose(second, first), points), expected,
                               rtol=1e-9, atol=1e-6)


def test_centred_affine_is_rigid_on_non_square_canvas():
    affine = geometry.centred_affine(90.0, 1.0, (192, 256))
    centre = np.array([95.5, 127.5])
    mapped = geometry.apply_to_points(affine, [centre, centre + [10.0, 0.0]])
    np.testing.assert_allclose(mapped[0], centre, atol=1e-9)
    assert np.linalg.norm(mapped[1] - mapped[0]) == pytest.approx(10.0)


def test_box_to_center_size_fixes_aspect_and_pads():
    center, size = geometry.box_to_center_size((10, 20, 30, 100), aspect_ratio=0.75)
    np.testing.assert_allclose(center, [25.0, 70.0])
    np.testing.assert_allclose(size, [75.0 * 1.25, 100.0 * 1.25])


@given(rot=angles, scale=st.floats(0.5, 1.5))
@settings(max_examples=30, deadline=None)
def test_rescaled_affine_maps_heatmap_points_like_input_points(rot, scale):
    input_affine = geometry.centred_affine(rot, scale, (192, 256))
    heatmap_affine = geometry.rescale_affine(input_affine, (192, 256), (48, 64))
    down = geometry.resize_affine((192, 256), (48, 64))
    points = np.array([[50.3, 60.7], [140.0, 200.1]])
    via_input = geometry.apply_to_points(down, geometry.apply_to_points(input_affine, points))
    via_heatmap = geometry.apply_to_points(heatmap_affine, geometry.apply_to_points(down, points))
    np.testing.assert_allclose(via_heatmap, via_input, atol=1e-9)
    batch = geometry.batch_rescale_affine(torch.tensor(input_affine[None]), (192, 256), (48, 64))
    np.testing.assert_allclose(batch[0].numpy(), heatmap_affine, atol=1e-9)


def _blob_image(height, width, centre, sigma=3.0):
    ys, xs = np.mgrid[0:height, 0:width]
    return np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * sigma ** 2)).astype(np.float32)


@given(rot=angles, scale=st.floats(0.6, 1.4), tx=st.floats(-10, 10), ty=st.floats(-10, 10))
@settings(max_examples=25, deadline=None)
def test_torch_warp_matches_cv2(rot, scale, tx, ty):
    source = _blob_image(64, 48, (20.3, 35.6))
    affine = geometry.centred_affine(rot, scale, (48, 64))
    affine[:, 2] += (tx, ty)
    by_cv2 = geometry.warp_image(source, affine, (40, 56))
    by_torch = geometry.warp_batch(torch.from_numpy(source)[None, None].double(),
                                   torch.from_numpy(affine)[None], (56, 40))[0, 0].numpy()
    np.testing.assert_allclose(by_torch, by_cv2, atol=2e-3)


@given(rot=angles, scale=st.floats(0.6, 1.4), tx=st.floats(-10, 10), ty=st.floats(-10, 10))
@settings(max_examples=25, deadline=None)
def test_torch_warp_puts_content_where_the_matrix_sends_points(rot, scale, tx, ty):
    # Bilinear sampling reproduces a linear function exactly, so warping the source's own
    # coordinate grids reads back, at each destination pixel, the source point it came from.
    ys, xs = np.mgrid[0:64, 0:48].astype(np.float64)
    affine = geometry.centred_affine(rot, scale, (48, 64))
    affine[:, 2] += (tx, ty)
    grids = torch.from_numpy(np.stack([xs, ys]))[None]
    warped = geometry.warp_batch(grids, torch.from_numpy(affine)[None], (56, 40))[0].numpy()
    dest = np.stack(np.meshgrid(np.arange(40.0), np.arange(56.0)), axis=-1)
    expected = geometry.apply_to_points(geometry.invert(affine), dest)
    interior = ((expected[..., 0] >= 0) & (expected[..., 0] <= 47) & (expected[..., 1] >= 0)
                & (expected[..., 1] <= 63))
    assert interior.sum() > 100
    error = np.abs(np.moveaxis(warped, 0, -1) - expected)[interior]
    assert error.max() < 1e-3


def test_batch_helpers_agree_with_numpy():
    rng = np.random.default_rng(3)
    first = np.stack([geometry.centred_affine(a, s, (48, 64)) for a, s in rng.uniform([-90, 0.5], [90, 1.5], (4, 2))])
    second = np.stack([geometry.centred_affine(a, s, (48, 64)) for a, s in rng.uniform([-90, 0.5], [90, 1.5], (4, 2))])
    composed = geometry.batch_compose(torch.from_numpy(second), torch.from_numpy(first)).numpy()
    points = rng.uniform(0, 60, (4, 17, 2))
    mapped = geometry.batch_apply_to_points(torch.from_numpy(composed), torch.from_numpy(points)).numpy()
    for i in range(4):
        np.testing.assert_allclose(composed[i], geometry.compose(second[i], first[i]), atol=1e-12)
        np.testing.assert_allclose(mapped[i], geometry.apply_to_points(composed[i], points[i]), atol=1e-9)
