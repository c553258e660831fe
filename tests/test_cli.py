"""The `semipose` command as a user types it, on seconds-long inputs."""
import json

import pytest

from semipose.cli.main import main
from tests.conftest import SHARED_DATA, synth_overrides


def test_every_subcommand_has_help_with_examples(capsys):
    for command in ["synth", "convert", "split", "train", "eval", "predict", "models", "compare", "ladder", "demo"]:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "example" in capsys.readouterr().out, command


def test_models_prints_the_published_parameter_counts(capsys):
    assert main(["models", "simplebaseline_resnet50", "hrnet_w32"]) == 0
    out = capsys.readouterr().out
    assert "33.99" in out and "28.53" in out


def test_train_eval_predict_ladder_round_trip(synth_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    overrides = synth_overrides(synth_dir, run_dir)
    assert main(["train", str(_config_file(tmp_path)), *overrides]) == 0
    checkpoint = run_dir / "best.pt"
    assert main(["eval", str(run_dir / "config.yaml"), f"checkpoint={checkpoint}", "--out",
                 str(tmp_path / "m.json")]) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["main/AP"] == pytest.approx(json.loads((run_dir / "metrics.json").read_text())["final"]["main/AP"])
    out = tmp_path / "pred"
    assert main(["predict", str(run_dir / "config.yaml"), f"checkpoint={checkpoint}",
                 "--images", str(synth_dir / "images" / "val"), "--whole-image", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results and len(results[0]["keypoints"]) == 51
    assert any((out / "drawn").iterdir())
    assert main(["ladder", str(run_dir / "config.yaml"), f"checkpoint={checkpoint}"]) == 0
    assert "Affine 60" in capsys.readouterr().out


def _config_file(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text("model: {name: tiny}\n")
    return path


def test_compare_prints_cluster_commands(tmp_path, capsys):
    assert main(["compare", str(_config_file(tmp_path)), "train.epochs=3", "--runs", "supervised",
                 "dual_jc:method.name=dual,method.hard.joint_cutout.num_joints=5", "--print-commands"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "method.hard.joint_cutout.num_joints=5" in lines[1]


def test_bad_config_key_is_one_clear_line(tmp_path, capsys):
    assert main(["train", str(_config_file(tmp_path)), "train.lrr=0.1"]) == 2
    err = capsys.readouterr().err
    assert "train.lrr" in err and "train.lr" in err and "Traceback" not in err


@pytest.mark.shared_data
def test_convert_and_split_lsp(tmp_path, capsys):
    lsp = SHARED_DATA / "lsp"
    if not lsp.exists():
        pytest.skip(f"{lsp} is absent (real photos live only on project machines)")
    out = tmp_path / "lsp.json"
    assert main(["convert", "lsp", str(lsp / "joints.mat"), str(lsp / "images"), str(out)]) == 0
    assert main(["split", str(out), str(tmp_path / "split"), "--labelled", "100", "--mode", "random",
                 "--seed", "1"]) == 0
    manifest = json.loads((tmp_path / "split" / "manifest.json").read_text())
    assert manifest["num_labelled"] == 100 and manifest["seed"] == 1
