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


def test_options_may_come_before_or_after_overrides(capsys):
    from semipose.cli.main import parse_arguments
    args = parse_arguments(["train", "c.yaml", "a.b=1", "--resume", "r.pt", "train.lr=5e-4", "x.y=2"])
    assert (args.config, args.resume, args.overrides) == ("c.yaml", "r.pt", ["a.b=1", "train.lr=5e-4", "x.y=2"])
    args = parse_arguments(["eval", "c.yaml", "--device", "cpu", "checkpoint=best.pt"])
    assert args.overrides == ["checkpoint=best.pt"] and args.device == "cpu"
    for stray in (["train", "c.yaml", "--resume", "r.pt", "--bogus"], ["models", "tiny", "--keypoints", "3", "a=1"],
                  ["train", "c.yaml", "--resume", "r.pt", "loose_word"]):
        with pytest.raises(SystemExit) as exit_info:
            parse_arguments(stray)
        assert exit_info.value.code == 2
        assert "unrecognized arguments" in capsys.readouterr().err


def test_help_examples_and_config_comments_name_files_that_exist():
    import re
    from pathlib import Path
    from semipose.cli.main import SUBCOMMANDS
    root = Path(__file__).resolve().parents[1]
    texts = {f"semipose {c.name} --help": c.description for c in SUBCOMMANDS}
    texts.update({str(p.relative_to(root)): "\n".join(line for line in p.read_text().splitlines() if "#" in line)
                  for p in (root / "configs").rglob("*.yaml")})
    named = {(where, path) for where, text in texts.items() for path in re.findall(r"configs/[\w/.-]+\.yaml", text)}
    assert len(named) > 5
    assert sorted((where, path) for where, path in named if not (root / path).is_file()) == []
    recipe = (root / "configs" / "coco" / "_r18_256x192.yaml").read_text()
    assert "reference_recipe.md" not in recipe  # a file of the authors' workspace, not of this repository


def test_models_input_size_is_width_then_height_like_the_config(capsys):
    from semipose.models.flops import model_table
    assert main(["models", "tiny", "--input-size", "96", "128"]) == 0
    out = capsys.readouterr().out
    assert "data.input_size=[96, 128]" in out and out.splitlines()[-1].split()[1:5] == ["96", "128", "24", "32"]
    assert model_table(["tiny"], (128, 96))[0]["heatmap_hw"] == (32, 24)
    assert main(["models", "tiny", "--input", "256x192"]) == 2
    assert "--input-size 192 256" in capsys.readouterr().err


def test_a_pck_only_keypoint_set_with_the_ap_metric_is_refused_before_training(synth_dir, tmp_path, capsys):
    coco = json.loads((synth_dir / "annotations" / "train.json").read_text())
    category = coco["categories"][0]
    category["keypoints"] = [f"joint{i}" for i in range(len(category["keypoints"]))]  # a set semipose does not know
    category.pop("sigmas", None)
    category.pop("flip_pairs", None)
    for name in ("train", "val"):
        (tmp_path / f"{name}.json").write_text(json.dumps(coco))
    run_dir = tmp_path / "run"
    overrides = synth_overrides(synth_dir, run_dir) + [f"data.train.json={tmp_path / 'train.json'}",
                                                       f"data.val.json={tmp_path / 'val.json'}",
                                                       "data.val.images=" + str(synth_dir / "images" / "train"),
                                                       "data.keypoints.allow_missing=true"]
    assert main(["train", str(_config_file(tmp_path)), *overrides, "eval.metric=AP"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'val.json'}: this keypoint set has no OKS sigmas" in err and "eval.metric=PCK" in err
    assert not list(run_dir.glob("*.pt"))  # nothing trained
