"""Heatmap codec: sub-pixel round trips, refinements, and flip test on asymmetric input."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from semipose import codec


def test_render_is_gaussian_in_float64():
    heatmap = codec.render_heatmaps(torch.tensor([[[10.3, 7.6]]], dtype=torch.float64), (16, 24), sigma=2.0)[0, 0]
    ys, xs = np.mgrid[0:16, 0:24]
    expected = np.exp(-((xs - 10.3) ** 2 + (ys - 7.6) ** 2) / 8.0)
    np.testing.assert_allclose(heatmap.numpy(), expected, atol=1e-12)


def test_encode_weights_unlabelled_and_off_canvas_joints_to_zero():
    points = torch.tensor([[5.0, 5.0], [5.0, 5.0], [-3.0, 5.0], [47.4, 63.4]])
    visible = torch.tensor([2.0, 0.0, 2.0, 1.0])
    heatmaps, weight = codec.encode(points, visible, (64, 48), sigma=2.0)
    assert weight.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert heatmaps[1].abs().max() == 0 and heatmaps[2].abs().max() == 0
    assert heatmaps[0].max() == pytest.approx(1.0)


@given(st.lists(st.tuples(st.floats(6, 41), st.floats(6, 57)), min_size=1, max_size=17))
@settings(max_examples=40, deadline=None)
def test_dark_round_trip_below_a_tenth_of_an_input_pixel_at_stride_4(points):
    stride = 4
    truth = torch.tensor(points, dtype=torch.float64)
    heatmaps, _ = codec.encode(truth, torch.ones(len(points)), (64, 48), sigma=2.0)
    decoded, scores = codec.decode(heatmaps, refine="dark")
    error_input_px = (decoded - truth).norm(dim=-1).max().item() * stride
    assert error_input_px < 0.1
    assert scores.min() > 0.85


def test_quarter_offset_steps_toward_the_higher_neighbour():
    heatmaps, _ = codec.encode(torch.tensor([[10.4, 20.0], [10.0, 19.6]]), torch.ones(2), (64, 48), 2.0)
    decoded, _ = codec.decode(heatmaps, refine="quarter")
    np.testing.assert_allclose(decoded.numpy(), [[10.25, 20.0], [10.0, 19.75]])
    plain, _ = codec.decode(heatmaps, refine="none")
    np.testing.assert_allclose(plain.numpy(), [[10.0, 20.0], [10.0, 20.0]])


def test_argmax_on_the_border_is_not_shifted_off_canvas():
    heatmaps, _ = codec.encode(torch.tensor([[0.0, 0.0]]), torch.ones(1), (8, 8), 1.0)
    decoded, _ = codec.decode(heatmaps, refine="quarter")
    assert decoded.min() >= 0


def test_flip_back_restores_an_asymmetric_prediction():
    # Left wrist at x=10, right wrist at x=30 on a 48-wide map; mirror the scene as a flipped crop would.
    names_perm = [1, 0, 2]  # joints 0 and 1 are a left/right pair, joint 2 is central
    original = torch.tensor([[10.0, 20.0], [30.0, 22.0], [17.0, 5.0]])
    mirrored_points = torch.stack([47 - original[:, 0], original[:, 1]], dim=-1)[names_perm]
    mirrored_heatmaps, _ = codec.encode(mirrored_points, torch.ones(3), (64, 48), 2.0)
    restored = codec.flip_back(mirrored_heatmaps, names_perm)
    decoded, _ = codec.decode(restored, refine="dark")
    np.testing.assert_allclose(decoded.numpy(), original.numpy(), atol=0.02)
    shifted = codec.flip_back(mirrored_heatmaps, names_perm, shift=True)
    decoded_shifted, _ = codec.decode(shifted, refine="dark")
    np.testing.assert_allclose(decoded_shifted[:, 0].numpy(), original[:, 0].numpy() + 1, atol=0.02)


def test_unknown_refinement_is_a_clear_error():
    with pytest.raises(ValueError, match="dark"):
        codec.decode(torch.zeros(1, 4, 4), refine="bogus")
