"""Typed config machinery: building nested dataclasses, error messages, YAML, overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import pytest
import yaml

from semipose.configtools import (
    ConfigError,
    from_dict,
    load_config,
    load_yaml,
    merge,
    parse_overrides,
    to_dict,
)


@dataclass
class OptimizerSection:
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    milestones: list[int] = field(default_factory=lambda: [170, 200])

    def validate(self) -> None:
        if self.lr <= 0:
            raise ConfigError(f"lr must be positive, got {self.lr}", key="lr")


@dataclass
class ModelSection:
    backbone: Literal["resnet18", "resnet50", "hrnet_w32"] = "resnet50"
    pretrained: Optional[str] = None
    input_size: tuple[int, int] = (192, 256)
    stages: tuple[int, ...] = (1, 2, 3)


@dataclass
class RunConfig:
    name: str = "run"
    epochs: int = 210
    amp: bool = False
    seed: int | None = 0
    model: ModelSection = field(default_factory=ModelSection)
    optimizer: OptimizerSection = field(default_factory=OptimizerSection)
    loss_weights: dict[str, float] = field(default_factory=dict)
    fallback: Optional[OptimizerSection] = None


@dataclass
class NeedsName:
    name: str


# ----------------------------------------------------------------------------- from_dict


def test_missing_keys_take_defaults_and_nested_sections_are_built():
    config = from_dict(RunConfig, {"model": {"backbone": "hrnet_w32"}, "epochs": 3})
    assert config.epochs == 3 and config.name == "run"
    assert isinstance(config.model, ModelSection)
    assert config.model.backbone == "hrnet_w32" and config.model.input_size == (192, 256)
    assert config.optimizer == OptimizerSection()


def test_lists_become_tuples_where_annotated_and_ints_are_accepted_as_floats():
    config = from_dict(
        RunConfig,
        {"model": {"input_size": [288, 384], "stages": [4, 4]}, "optimizer": {"lr": 1, "betas": [0, 1]}},
    )
    assert config.model.input_size == (288, 384) and config.model.stages == (4, 4)
    assert config.optimizer.lr == 1.0 and isinstance(config.optimizer.lr, float)
    assert config.optimizer.betas == (0.0, 1.0)


def test_optional_and_union_none_accept_null_and_values():
    assert from_dict(RunConfig, {"seed": None}).seed is None
    assert from_dict(RunConfig, {"model": {"pretrained": "w.pt"}}).model.pretrained == "w.pt"
    fallback = from_dict(RunConfig, {"fallback": {"lr": 0.5}}).fallback
    assert fallback == OptimizerSection(lr=0.5)


def test_dict_of_floats():
    config = from_dict(RunConfig, {"loss_weights": {"consistency": 1, "supervised": 0.5}})
    assert config.loss_weights == {"consistency": 1.0, "supervised": 0.5}
    with pytest.raises(ConfigError, match=r"loss_weights\.consistency.*expected float.*'high'"):
        from_dict(RunConfig, {"loss_weights": {"consistency": "high"}})


def test_unknown_key_names_the_dotted_key_and_suggests_the_closest():
    with pytest.raises(ConfigError) as info:
        from_dict(RunConfig, {"optimizer": {"lrr": 0.1}})
    message = str(info.value)
    assert "optimizer.lrr" in message and "did you mean 'optimizer.lr'?" in message
    assert info.value.key == "optimizer.lrr"


def test_unknown_key_without_close_match_lists_valid_keys():
    with pytest.raises(ConfigError, match="valid keys under 'model': backbone, input_size"):
        from_dict(RunConfig, {"model": {"zzzzzz": 1}})


def test_unknown_key_inside_optional_section_is_reported_as_such():
    with pytest.raises(ConfigError, match="fallback.lrr.*did you mean 'fallback.lr'"):
        from_dict(RunConfig, {"fallback": {"lrr": 0.1}})


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"epochs": "ten"}, r"'epochs': expected int, got 'ten' \(str\)"),
        ({"epochs": 2.5}, r"'epochs': expected int, got 2.5 \(float\)"),
        ({"epochs": True}, r"'epochs': expected int, got True \(bool\)"),
        ({"amp": "yes"}, r"'amp': expected bool, got 'yes' \(str\)"),
        ({"amp": 1}, r"'amp': expected bool, got 1 \(int\)"),
        ({"optimizer": {"lr": False}}, r"'optimizer.lr': expected float, got False"),
        ({"name": 5}, r"'name': expected str, got 5 \(int\)"),
        ({"seed": "x"}, r"'seed': expected int \| None, got 'x'"),
        ({"model": {"pretrained": 3}}, r"'model.pretrained': expected Optional\[str\], got 3"),
        ({"model": {"backbone": "vgg"}}, r"'model.backbone': expected one of \['resnet18'.*got 'vgg'"),
        ({"model": {"input_size": [1, 2, 3]}}, r"'model.input_size': expected 2 items.*got 3"),
        ({"model": {"input_size": [1, "a"]}}, r"'model.input_size\[1\]': expected int, got 'a'"),
        ({"model": {"stages": 4}}, r"'model.stages': expected tuple\[int, \.\.\.\], got 4"),
        ({"optimizer": {"milestones": [1, 2.5]}}, r"'optimizer.milestones\[1\]': expected int"),
        ({"model": 3}, r"model: expected a mapping of ModelSection fields, got 3"),
    ],
)
def test_wrong_type_names_key_expected_type_and_value(data, expected):
    with pytest.raises(ConfigError, match=expected):
        from_dict(RunConfig, data)


def test_missing_required_key():
    with pytest.raises(ConfigError, match="missing required config key 'name'"):
        from_dict(NeedsName, {})


def test_validate_hook_runs_and_error_names_the_section():
    with pytest.raises(ConfigError, match="optimizer: lr must be positive, got -0.1"):
        from_dict(RunConfig, {"optimizer": {"lr": -0.1}})
    with pytest.raises(ConfigError, match="^lr must be positive"):
        from_dict(OptimizerSection, {"lr": 0})


def test_to_dict_is_plain_and_round_trips():
    config = from_dict(RunConfig, {"fallback": {}, "loss_weights": {"a": 2.0}})
    plain = to_dict(config)
    assert plain["model"]["input_size"] == [192, 256]  # list, not tuple
    assert yaml.safe_load(yaml.safe_dump(plain)) == plain
    assert from_dict(RunConfig, plain) == config


# ----------------------------------------------------------------------------- overrides, merge


def test_parse_overrides_nests_and_parses_yaml_values():
    parsed = parse_overrides(
        ["optimizer.lr=1e-3", "model.input_size=[288, 384]", "model.pretrained=null", "amp=true", "name=x=y"]
    )
    assert parsed == {
        "optimizer": {"lr": 0.001},  # 1e-3 is a float, not PyYAML 1.1's string '1e-3'
        "model": {"input_size": [288, 384], "pretrained": None},
        "amp": True,
        "name": "x=y",
    }


@pytest.mark.parametrize("item", ["epochs", "=3", "a..b=1", ".a=1", "a.=1"])
def test_malformed_override_is_rejected(item):
    with pytest.raises(ConfigError, match="expected key.sub=value"):
        parse_overrides([item])


def test_override_conflicting_with_a_scalar_is_rejected():
    with pytest.raises(ConfigError, match="'model' was already set"):
        parse_overrides(["model=3", "model.backbone=resnet18"])


def test_merge_is_recursive_and_does_not_mutate_inputs():
    base = {"model": {"backbone": "resnet50", "input_size": [192, 256]}, "epochs": 210}
    override = {"model": {"backbone": "resnet18"}, "amp": True}
    merged = merge(base, override)
    assert merged == {"model": {"backbone": "resnet18", "input_size": [192, 256]}, "epochs": 210, "amp": True}
    assert base["model"]["backbone"] == "resnet50" and "amp" not in base


# ----------------------------------------------------------------------------- YAML files


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_config_applies_file_then_overrides(tmp_path):
    config_file = write(tmp_path / "run.yaml", "epochs: 5\noptimizer:\n  lr: 2.0e-3\n  milestones: [3, 4]\n")
    config = load_config(RunConfig, config_file, ["optimizer.lr=0.5", "model.backbone=resnet18"])
    assert config.epochs == 5 and config.optimizer.lr == 0.5 and config.optimizer.milestones == [3, 4]
    assert config.model.backbone == "resnet18"
    assert load_config(RunConfig, None, []) == RunConfig()


def test_load_config_names_the_source_of_an_unknown_key(tmp_path):
    config_file = write(tmp_path / "run.yaml", "epoch: 5\n")
    with pytest.raises(ConfigError, match=r"run\.yaml: unknown config key 'epoch'; did you mean 'epochs'"):
        load_config(RunConfig, config_file, [])
    with pytest.raises(ConfigError, match=r"command-line override: unknown config key 'optimizer.lrr'"):
        load_config(RunConfig, None, ["optimizer.lrr=1"])


def test_base_file_is_merged_underneath(tmp_path):
    write(tmp_path / "common.yaml", "epochs: 100\nmodel:\n  backbone: resnet50\n  input_size: [192, 256]\n")
    child = write(tmp_path / "child.yaml", "base: common.yaml\nmodel:\n  backbone: resnet18\n")
    assert load_yaml(child) == {"epochs": 100, "model": {"backbone": "resnet18", "input_size": [192, 256]}}


def test_base_cycle_and_chain_are_errors(tmp_path):
    first = write(tmp_path / "a.yaml", "base: b.yaml\n")
    write(tmp_path / "b.yaml", "base: a.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_yaml(first)
    with pytest.raises(ConfigError, match="cycle"):
        load_yaml(write(tmp_path / "self.yaml", "base: self.yaml\n"))
    write(tmp_path / "c.yaml", "base: d.yaml\n")
    with pytest.raises(ConfigError, match="chain.*one level"):
        load_yaml(write(tmp_path / "e.yaml", "base: c.yaml\n"))


def test_bad_files_give_errors_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.yaml: config file not found"):
        load_yaml(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"broken\.yaml: invalid YAML"):
        load_yaml(write(tmp_path / "broken.yaml", "model: [1, 2\n"))
    with pytest.raises(ConfigError, match=r"list\.yaml: the top level must be a mapping"):
        load_yaml(write(tmp_path / "list.yaml", "- 1\n- 2\n"))
    with pytest.raises(ConfigError, match=r"gone\.yaml: config file not found"):
        load_yaml(write(tmp_path / "orphan.yaml", "base: gone.yaml\n"))
    assert load_yaml(write(tmp_path / "empty.yaml", "")) == {}


def test_yaml_is_loaded_safely(tmp_path):
    evil = write(tmp_path / "evil.yaml", "x: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_yaml(evil)
