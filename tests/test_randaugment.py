"""Batched RandAugment: each op against PIL on uint8 images (the reference code runs PIL), and the
contract: shape/dtype kept, a no-op at num_ops=0, photometric ops leave geometry alone."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageOps

from semipose.augment import RANDAUGMENT_OPS, RandAugmentError, rand_augment
from semipose.augment.randaugment import op_value, to_normalised, to_unit_rgb

PHOTOMETRIC = [name for name in RANDAUGMENT_OPS if name != "cutout"]


def _random_uint8(seed=0, size=(24, 20)):
    rng = np.random.default_rng(seed)
    image = rng.integers(20, 200, (*size, 3)).astype(np.uint8)
    image[:4, :4] = 250                                         # some structure and a bright corner
    return image


def _ours(name, image_uint8, value, negative=False):
    unit = torch.from_numpy(image_uint8).permute(2, 0, 1)[None].float() / 255.0
    draws = torch.tensor([[0.0 if negative else 1.0, 0.5, 0.5]])
    out = RANDAUGMENT_OPS[name][0](unit, value, draws)
    return (out[0].permute(1, 2, 0) * 255.0).numpy()


PIL_REFERENCE = {   # name -> (value, PIL result) with the reference code's parameter mapping
    "autocontrast": (0.0, lambda im, v: ImageOps.autocontrast(im)),
    "equalize": (0.0, lambda im, v: ImageOps.equalize(im)),
    "invert": (0.0, lambda im, v: ImageOps.invert(im)),
    "posterize": (2.7, lambda im, v: ImageOps.posterize(im, max(2, 6 - int(v)))),
    "solarize": (170.0, lambda im, v: ImageOps.solarize(im, 256 - v)),
    "solarize_add": (73.0, lambda im, v: ImageOps.solarize(
        Image.fromarray(np.clip(np.array(im).astype(np.int64) + int(v), 0, 255).astype(np.uint8)), 128)),
    "color": (0.6, lambda im, v: ImageEnhance.Color(im).enhance(1 + v)),
    "contrast": (0.6, lambda im, v: ImageEnhance.Contrast(im).enhance(1 + v)),
    "brightness": (0.6, lambda im, v: ImageEnhance.Brightness(im).enhance(1 + v)),
    "sharpness": (0.6, lambda im, v: ImageEnhance.Sharpness(im).enhance(1 + v)),
}


@pytest.mark.parametrize("name", sorted(PIL_REFERENCE))
def test_each_photometric_op_matches_pil(name):
    image = _random_uint8()
    value, reference = PIL_REFERENCE[name]
    expected = np.asarray(reference(Image.fromarray(image), value), dtype=np.float64)
    ours = _ours(name, image, value)
    assert np.abs(ours - expected).max() <= 1.5, f"{name} differs from PIL by more than rounding"


def test_enhancement_sign_is_drawn_per_image():
    image = _random_uint8(1)
    expected = np.asarray(ImageEnhance.Brightness(Image.fromarray(image)).enhance(0.4), dtype=np.float64)
    assert np.abs(_ours("brightness", image, 0.6, negative=True) - expected).max() <= 1.5


def test_magnitude_maps_onto_the_reference_ranges():
    assert op_value("cutout", 30) == 80.0 and op_value("solarize", 0) == 0.0
    assert op_value("color", 20) == pytest.approx(0.6)


def test_keeps_shape_and_dtype_and_is_a_no_op_without_ops():
    images = torch.randn(6, 3, 32, 24)
    out = rand_augment(images, 2, 20, np.random.default_rng(0))
    assert out.shape == images.shape and out.dtype == images.dtype and not torch.equal(out, images)
    assert rand_augment(images, 0, 20, np.random.default_rng(0)) is images
    assert torch.allclose(to_normalised(to_unit_rgb(images)), images, atol=1e-5)


def test_photometric_ops_leave_a_solid_image_solid():
    solid = to_normalised(torch.tensor([0.2, 0.5, 0.7]).view(1, 3, 1, 1).expand(8, 3, 32, 24).clone())
    out = rand_augment(solid, 3, 30, np.random.default_rng(2), op_names=tuple(PHOTOMETRIC))
    spread = out.amax(dim=(-2, -1)) - out.amin(dim=(-2, -1))
    assert spread.max() < 1e-5                                   # no pixel moved: geometry untouched


def test_cutout_fills_a_scaled_square_with_the_mean_colour():
    images = torch.randn(16, 3, 128, 96) + 5.0                   # nothing is 0 before the cutout
    out = rand_augment(images, 1, 30, np.random.default_rng(3), op_names=("cutout",))
    blank = (out == 0).all(dim=1)                                # the normalised mean colour is 0
    sides = blank.any(dim=1).sum(dim=1), blank.any(dim=2).sum(dim=1)
    assert blank.any(dim=(1, 2)).all()
    assert max(side.max().item() for side in sides) == 40        # 80 px at 256 high -> 40 px at 128
    assert torch.equal(blank.sum(dim=(1, 2)), sides[0] * sides[1])  # a rectangle (clipped at borders)


def test_bad_settings_are_named():
    with pytest.raises(RandAugmentError, match="magnitude"):
        rand_augment(torch.zeros(1, 3, 8, 8), 2, 31, np.random.default_rng(0))
    with pytest.raises(RandAugmentError, match="unknown ops"):
        rand_augment(torch.zeros(1, 3, 8, 8), 2, 10, np.random.default_rng(0), op_names=("rotate",))
