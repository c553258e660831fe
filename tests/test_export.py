"""`semipose export --format onnx`: onnxruntime computes torch's heatmaps (normalisation inside the
graph), for the tiny model, a SimpleBaseline-ResNet and an HRNet, and exporting leaves every network
in the mode it was in (a dual checkpoint's Predictor keeps its outputs)."""
import re

import numpy as np
import pytest
import torch

from semipose.api import Predictor, load_config
from semipose.cli.main import main
from semipose.models import build_model
from semipose.models.onnx_export import PARITY_TOLERANCE, check_parity, export_onnx
from tests.conftest import synth_overrides

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
# ImageNet mean / std of 0..255 RGB, written out here as the reference (not read from semipose)
MEAN = np.array([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1) * 255
STD = np.array([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1) * 255


def _onnxruntime(path, images):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": images.astype(np.float32)})[0]


def _torch_reference(network, images):
    """The network on crops normalised by hand in float64, the result as float64."""
    with torch.no_grad():
        return network(torch.from_numpy(((images - MEAN) / STD).astype(np.float32))).double().numpy()


@pytest.mark.parametrize("name, options, input_hw", [("tiny", {}, (64, 48)),
                                                     ("simplebaseline_resnet18", {}, (256, 192)),
                                                     pytest.param("hrnet_w32", {}, (128, 96), marks=pytest.mark.slow)])
def test_onnxruntime_matches_torch_with_a_dynamic_batch(name, options, input_hw, tmp_path):
    torch.manual_seed(0)
    network = build_model(name, 17, **options).eval()
    path = export_onnx(network, tmp_path / f"{name}.onnx", input_hw, dynamic_batch=True)
    images = np.random.default_rng(1).uniform(0, 255, (3, 3, *input_hw))  # batch 3, exported with batch 1
    heatmaps = _onnxruntime(path, images)
    assert heatmaps.shape == (3, 17, input_hw[0] // 4, input_hw[1] // 4)
    assert np.abs(heatmaps - _torch_reference(network, images)).max() < PARITY_TOLERANCE
    assert not list(tmp_path.glob(".*tmp*"))  # the atomic write left no temporary file


def test_a_fixed_batch_graph_refuses_another_batch_and_a_wrong_graph_fails_the_check(tmp_path):
    torch.manual_seed(0)
    network = build_model("tiny", 17).eval()
    path = export_onnx(network, tmp_path / "fixed.onnx", (64, 48))
    images = np.random.default_rng(2).uniform(0, 255, (2, 3, 64, 48)).astype(np.float32)
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        _onnxruntime(path, images)
    assert check_parity(path, network, images[:1]) < PARITY_TOLERANCE
    other = build_model("tiny", 17).eval()  # other weights: the check must see it
    with pytest.raises(ValueError, match="differ by"):
        check_parity(path, other, images[:1])


def test_export_leaves_every_module_in_its_own_mode(tmp_path):
    network = build_model("tiny", 17)
    network.train()
    network.smooth.eval()  # a mixed state: the whole tree must come back exactly as it was
    before = [m.training for m in network.modules()]
    export_onnx(network, tmp_path / "m.onnx", (64, 48))
    assert [m.training for m in network.modules()] == before


@pytest.fixture(scope="module")
def dual_run(synth_dir, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("export") / "run"
    base = run_dir.parent / "base.yaml"
    base.write_text("model: {name: tiny}\n")
    assert main(["train", str(base), *synth_overrides(synth_dir, run_dir), "method.name=dual"]) == 0
    return run_dir / "config.yaml", run_dir / "best.pt"


def test_export_a_dual_checkpoint_keeps_the_predictor_unchanged(dual_run, synth_dir, tmp_path, capsys):
    config, checkpoint = dual_run
    predictor = Predictor(load_config(str(config)), str(checkpoint), device="cpu")
    photo = sorted((synth_dir / "images" / "val").iterdir())[0]
    before = predictor(str(photo), whole_image=True)
    out = tmp_path / "dual.onnx"
    assert main(["export", str(config), f"checkpoint={checkpoint}", "--format", "onnx", "--out", str(out),
                 "--dynamic-batch", "--check-images", str(photo)]) == 0
    printed = capsys.readouterr().out
    difference = float(re.search(r"max abs heatmap diff (\S+)", printed).group(1))
    assert "network mean" in printed and "on 3 crops" in printed and difference < PARITY_TOLERANCE
    np.testing.assert_array_equal(predictor(str(photo), whole_image=True), before)
    assert not any(module.training for module in predictor.network.modules())
    # the exported mean is the average of a and b
    a_out = tmp_path / "a.onnx"
    assert main(["export", str(config), f"checkpoint={checkpoint}", "--network", "a", "--out", str(a_out)]) == 0
    crop = np.random.default_rng(3).uniform(0, 255, (1, 3, 64, 48))
    b_path = tmp_path / "b.onnx"
    assert main(["export", str(config), f"checkpoint={checkpoint}", "--network", "b", "--out", str(b_path)]) == 0
    average = 0.5 * (_onnxruntime(a_out, crop).astype(np.float64) + _onnxruntime(b_path, crop))
    assert np.abs(_onnxruntime(out, crop) - average).max() < PARITY_TOLERANCE


def test_export_names_the_networks_a_checkpoint_has(dual_run, tmp_path, capsys):
    config, checkpoint = dual_run
    assert main(["export", str(config), f"checkpoint={checkpoint}", "--network", "c",
                 "--out", str(tmp_path / "c.onnx")]) == 2
    assert "--network c: this checkpoint has a, b, mean" in capsys.readouterr().err
    assert not (tmp_path / "c.onnx").exists()


def _docs_predictor():
    """The numpy + onnxruntime predictor of docs/export.md, run as written there."""
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "docs" / "export.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(code, "docs/export.md", "exec"), namespace)  # noqa: S102 (the repository's own doc)
    return namespace["onnx_pose"]


def test_the_documented_onnx_predictor_gives_the_predictors_keypoints(dual_run, synth_dir, tmp_path):
    import cv2
    config, checkpoint = dual_run
    out = tmp_path / "pose.onnx"
    assert main(["export", str(config), f"checkpoint={checkpoint}", "--out", str(out)]) == 0
    predictor = Predictor(load_config(str(config), ["eval.flip_test=false", "eval.refine=quarter"]), str(checkpoint),
                          device="cpu")
    photo = sorted((synth_dir / "images" / "val").iterdir())[0]
    image = np.ascontiguousarray(cv2.imread(str(photo))[..., ::-1])
    boxes = [[10.0, 20.0, 40.0, 90.0], [90.0, 10.0, 60.0, 100.0], [0.0, 0.0, 160.0, 128.0]]  # tall, tall, wide
    expected = predictor(image, boxes)
    documented = _docs_predictor()(out, image, boxes)
    assert documented.shape == expected.shape == (3, 17, 3)
    np.testing.assert_allclose(documented[..., :2], expected[..., :2], atol=1e-3)
    np.testing.assert_allclose(documented[..., 2], expected[..., 2], atol=1e-4)
