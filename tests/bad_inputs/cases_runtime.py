"""The corpus, part 2: configs, checkpoints and command lines (part 1, data files: cases.py)."""
from __future__ import annotations

import numpy as np
import torch

from semipose.configtools import ConfigError
from semipose.data.errors import AnnotationError
from semipose.models.checkpoint_files import CheckpointError
from semipose.models.loading import CheckpointMismatchError

from .builders import MARKER
from .generators import crowd, missing_file, set_annotation, set_keypoint_value, without_num_keypoints
from .generators_runtime import (aic_entry, as_json, checkpoint_file, command_line, config_text,
                                 data_config, dataset_writer, mat_file, mpii_entry, pickled_object,
                                 raw_bytes, saved, state_dict_of, truncated_checkpoint, with_file)
from .outcomes import Case, Loads, Raises, exits, raises

TRAIN = "{tmp}/train.json: "
CONFIG = "{tmp}/config.yaml"
MODEL = "{tmp}/model.pt: "
NOT_LOADABLE = "cannot load checkpoint: truncated, corrupted or not a PyTorch checkpoint"
REFUSED = "cannot load checkpoint: refused by weights_only loading (the file holds a pickled Python object): "
K14_HEAD = "final_layer.weight file (14, 8, 1, 1) vs model (17, 8, 1, 1)"
NO_FILE_NAME_IN_MISMATCH = (
    "api.networks_from_payload passes the loaded payload to load_weights, whose messages then say "
    "'<state dict>' instead of the checkpoint's path. Suggested fix in api.py: catch "
    "CheckpointMismatchError around load_weights and re-raise it prefixed with the checkpoint path")


def config_error(*fragments: str):
    return raises(ConfigError, *fragments)


CONFIG_CASES = [
    Case("config/file-missing", config_text(None), config_error(CONFIG + ": config file not found")),
    Case("config/invalid-yaml", config_text("train: [1, 2\n"), config_error(CONFIG + ": invalid YAML: ")),
    Case("config/top-level-list", config_text("- 1\n- 2\n"),
         config_error(CONFIG + ": the top level must be a mapping of keys, got list")),
    Case("config/unknown-key", config_text("trian:\n  lr: 0.1\n"),
         config_error(CONFIG + ": unknown config key 'trian'; did you mean 'train'?")),
    Case("config/unknown-nested-key", config_text("train:\n  lrr: 0.1\n"),
         config_error(CONFIG + ": unknown config key 'train.lrr'; did you mean 'train.lr'?")),
    Case("config/wrong-type", config_text("train:\n  batch_size: '32'\n"),
         config_error(CONFIG + ": config key 'train.batch_size': expected int, got '32' (str)")),
    Case("config/negative-learning-rate", config_text("train:\n  lr: -0.001\n"),
         config_error(CONFIG + ": train.lr must be positive, got -0.001")),
    Case("config/unknown-bad-sample-policy", config_text("data:\n  on_bad_sample: ignore\n"),
         config_error(CONFIG + ": config key 'data.on_bad_sample': expected one of ['error', 'skip'], got 'ignore'")),
    Case("config/input-size-not-a-multiple-of-the-stride", config_text("data:\n  input_size: [30, 32]\n"),
         config_error(CONFIG + ": data.input_size [30, 32] must be a positive multiple of data.heatmap_stride 4")),
    Case("config/python-object-tag-is-refused",
         config_text(f"train: !!python/object/apply:pathlib.Path.touch ['{{tmp}}/{MARKER}']\n"),
         config_error(CONFIG + ": invalid YAML: could not determine a constructor for the tag "
                      "'tag:yaml.org,2002:python/object/apply:pathlib.Path.touch'"), must_not_create=MARKER),
    Case("config/override-without-value", config_text("{}\n", ["train.lr"]),
         config_error("override 'train.lr': expected key.sub=value")),
    Case("config/override-of-wrong-type", config_text("{}\n", ["train.lr=abc"]),
         config_error("command-line override: config key 'train.lr': expected float, got 'abc' (str)")),
    Case("config/negative-learning-rate-override", config_text("{}\n", ["train.lr=-1"]),
         config_error("command-line override: train.lr must be positive, got -1.0")),
    Case("config/label-split-larger-than-the-dataset", data_config(num_labelled=100),
         raises(AnnotationError, TRAIN + "asked for 100 labelled people but only 4 are usable")),
    Case("config/label-split-of-zero", data_config(num_labelled=0),
         config_error("data.num_labelled must be positive, got 0")),
]



def value_rule(override: str, *fragments: str, also: tuple[str, ...] = ()):
    """A value that parses but means nothing, given on the command line (class 1 of issue 18),
    with the overrides `also` (the method the option belongs to)."""
    return Case(f"config/value-rule-{override}", config_text("{}\n", [override, *also]),
                config_error(*fragments))


def alias_bomb(levels: int, width: int = 9) -> str:
    """`train.lr` as a list of `width ** levels` values, from a few hundred bytes of anchors and aliases."""
    items = ["&a0 [xxxxxxxxxxxxxxxxxxxxxxxx, yyyyyyyyyyyyyyyyyyyy]"]
    items += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "train:\n  lr: [" + ", ".join(items) + "]\n"


FROM_OVERRIDE = "command-line override: "
VALUE_CASES = [
    value_rule("train.iterations=0", FROM_OVERRIDE + "train.iterations must be >= 1, or null to count "
               "train.epochs, got 0"),
    value_rule("train.iterations=-5", "train.iterations must be >= 1", "got -5"),
    value_rule("train.epochs=0", "train.epochs must be >= 1 (or set train.iterations), got 0"),
    value_rule("train.log_every=0", "train.log_every must be >= 1, got 0"),
    value_rule("monitor.every=0", FROM_OVERRIDE + "monitor.every must be >= 1, got 0"),
    value_rule("data.input_size=[0,0]", "data.input_size [0, 0] must be a positive multiple of "
               "data.heatmap_stride 4"),
    value_rule("data.heatmap_stride=0", "data.heatmap_stride must be >= 1, got 0"),
    value_rule("data.sigma=.nan", "config key 'data.sigma': expected a finite number, got nan"),
    value_rule("train.lr=.inf", "config key 'train.lr': expected a finite number, got inf"),
    value_rule("train.lr=1e400", "config key 'train.lr': expected a finite number, got inf"),
    value_rule("method.rampup=[100,10]", "method.rampup must be [start, end] with end >= start, got [100, 10]"),
    value_rule("method.ema_decay=1.0", "method.ema_decay must be in (0, 1), got 1.0",
               also=("method.name=consistency",)),
    value_rule("method.hard.randaugment.magnitude=40", "method.hard.randaugment.magnitude must be in [0, 30",
               also=("method.name=single",)),
    value_rule("method.hard.randaugment.num_ops=-1", "method.hard.randaugment.num_ops must be >= 0, got -1",
               also=("method.name=dual",)),
    value_rule("method.hard.joint_cutout.half_size=[19,10]",
               "method.hard.joint_cutout.half_size must be [low, high] with 0 < low <= high, got [19.0, 10.0]",
               also=("method.name=single",)),
    value_rule("method.hard.affine.scale=1.5", "method.hard.affine.scale must be in [0, 1), got 1.5",
               also=("method.name=consistency",)),
    value_rule("method.distill_views=0", "method.distill_views must be >= 1, got 0",
               also=("method.name=datadistill", "method.teacher_checkpoint=t.pt")),
    value_rule("method.name=pseudopose", "method.teacher_checkpoint must be the checkpoint of a trained"),
    # An option the method does not have is refused at load time, naming the methods that have it.
    value_rule("method.distill_views=2", FROM_OVERRIDE + "method.distill_views: method 'single' has no option "
               "'distill_views'; it is an option of datadistill", also=("method.name=single",)),
    value_rule("method.hard.randaugment.num_ops=2", "unknown config key 'method.hard.randaugment'",
               also=("method.name=consistency",)),
    value_rule("method.name=sngle", "method.name: unknown method 'sngle'", "did you mean 'single'?"),
    value_rule("train.seed=-1", "train.seed must be in [0, 4294967295], got -1"),
    value_rule("eval.oks_nms_threshold=0", "eval.oks_nms_threshold must be in (0, 1], got 0.0"),
]

YAML_CASES = [
    Case("config/alias-bomb-is-refused-quickly", config_text(alias_bomb(9)),
         Raises(ConfigError, (CONFIG + ": invalid YAML: aliases expand to more than 100000 values",), 500)),
    Case("config/small-alias-bomb-gives-a-short-message", config_text(alias_bomb(5)),
         Raises(ConfigError, ("config key 'train.lr': expected float, got [['xxxxxxxx",), 500)),
    Case("config/section-given-twice", config_text("train:\n  run_dir: runs/a\nmodel: {}\ntrain:\n  lr: 0.1\n"),
         config_error(CONFIG + ": invalid YAML: the key 'train' appears twice in one mapping", "line 4")),
    Case("config/nested-key-given-twice", config_text("train:\n  lr: 0.1\n  lr: 0.2\n"),
         config_error("the key 'lr' appears twice in one mapping", "line 3")),
    Case("config/alias-containing-itself", config_text("train: &t\n  lr: *t\n"),
         config_error("an alias refers to a value containing itself")),
    Case("config/nested-too-deeply", config_text("train:\n  lr: " + "[" * 5000 + "]" * 5000 + "\n"),
         Raises(ConfigError, ("invalid YAML: values nested more than 50 deep",), 500)),
    Case("config/document-too-large", config_text("# " + "x" * 1_100_000 + "\ntrain: {}\n"),
         config_error("invalid YAML: 1100013 characters, more than the 1000000 a config may have")),
    Case("config/override-value-quoted-briefly", config_text("{}\n", ["train.run_dir=[" + "1," * 5000 + "1]"]),
         Raises(ConfigError, ("config key 'train.run_dir': expected str, got [1, 1, 1",), 400)),
]

CHECKPOINT_CASES = [
    Case("checkpoint/file-missing", checkpoint_file(lambda path: None),
         raises(CheckpointError, MODEL + "checkpoint file not found")),
    Case("checkpoint/empty-file", checkpoint_file(raw_bytes(b"")), raises(CheckpointError, MODEL + NOT_LOADABLE)),
    Case("checkpoint/text-file", checkpoint_file(raw_bytes(b"weights\n")),
         raises(CheckpointError, MODEL + NOT_LOADABLE, "(UnpicklingError: Unsupported operand 119)")),
    Case("checkpoint/truncated", checkpoint_file(truncated_checkpoint), raises(CheckpointError, MODEL + NOT_LOADABLE)),
    Case("checkpoint/pickled-object-is-refused", checkpoint_file(pickled_object),
         raises(CheckpointError, MODEL + REFUSED, "GLOBAL"), must_not_create=MARKER),
    Case("checkpoint/not-a-dict", checkpoint_file(saved(torch.zeros(3))),
         raises(CheckpointError, MODEL + "expected a dict payload, got Tensor")),
    Case("weights/other-number-of-keypoints", checkpoint_file(state_dict_of(14), "weights"),
         raises(CheckpointMismatchError, "strict load failed, the checkpoint does not fit the model.",
                "{tmp}/model.pt (strict): loaded ", "shape mismatch (2): " + K14_HEAD)),
    Case("weights/other-architecture", checkpoint_file(state_dict_of(17, "simplebaseline_resnet18"), "weights"),
         raises(CheckpointMismatchError, "{tmp}/model.pt (strict): loaded 1 tensors",
                "missing from the file (85): stem.0.0.weight", "not in the model (138): conv1.weight",
                "shape mismatch (1): final_layer.weight file (17, 256, 1, 1) vs model (17, 8, 1, 1)")),
    Case("weights/truncated", checkpoint_file(truncated_checkpoint, "weights"),
         raises(CheckpointError, MODEL + NOT_LOADABLE)),
    Case("weights/pickled-object-is-refused", checkpoint_file(pickled_object, "weights"),
         raises(CheckpointError, MODEL + REFUSED, "GLOBAL"), must_not_create=MARKER),
    Case("weights/entry-that-is-not-a-tensor", checkpoint_file(saved({"final_layer.weight": "abc"}), "weights"),
         raises(CheckpointError, MODEL + "entry 'final_layer.weight' is a str, not a tensor")),
    Case("evaluate/pickled-object-is-refused", checkpoint_file(pickled_object, "evaluate"),
         raises(CheckpointError, MODEL + REFUSED), must_not_create=MARKER),
    Case("evaluate/other-number-of-keypoints", checkpoint_file(state_dict_of(14), "evaluate"),
         raises(CheckpointMismatchError, "{tmp}/model.pt", K14_HEAD)),
]


def train(*args: str, **options):
    return command_line("train", CONFIG, *args, **options)


def convert(fmt: str, source: str, write_source):
    return command_line("convert", fmt, "{tmp}/" + source, "{tmp}/images", "{tmp}/out.json",
                        dataset=with_file(source, write_source))


COMMAND_LINE_CASES = [
    Case("cli/train-empty-annotation-file", train(dataset=dataset_writer(text="")),
         exits("train", TRAIN + "empty file")),
    Case("cli/train-nan-keypoint", train(dataset=dataset_writer(set_keypoint_value(0, float("nan")))),
         exits("train", TRAIN + "annotation id=11: image id=1: field 'keypoints': NaN")),
    Case("cli/train-missing-image-file", train(dataset=with_file("images/im1.png", missing_file)),
         exits("train", "train.json: image id=1: field 'images[].file_name': cannot read image {tmp}/images/im1.png: "
                        "file not found")),
    Case("cli/train-unknown-config-key", train(config={"trian": {}}),
         exits("train", CONFIG + ": unknown config key 'trian'; did you mean 'train'?")),
    Case("cli/train-missing-config-file", command_line("train", "{tmp}/absent.yaml"),
         exits("train", "{tmp}/absent.yaml: config file not found")),
    Case("cli/train-override-of-wrong-type", train("train.batch_size=two"),
         exits("train", "command-line override: config key 'train.batch_size': expected int, got 'two' (str)")),
    Case("cli/train-negative-learning-rate", train("train.lr=-0.1"),
         exits("train", "command-line override: train.lr must be positive, got -0.1")),
    Case("cli/train-label-split-larger-than-the-dataset", train("data.num_labelled=100"),
         exits("train", TRAIN + "asked for 100 labelled people but only 4 are usable")),
    Case("cli/train-crowd-only-set", train(dataset=dataset_writer(crowd(0, 1, 2, 3))),
         exits("train", TRAIN, "no usable people")),
    Case("cli/train-model-checkpoint-of-other-k", train("model.checkpoint={tmp}/k14.pt",
                                                        dataset=with_file("k14.pt", state_dict_of(14))),
         exits("train", "{tmp}/k14.pt (strict): loaded ", K14_HEAD)),
    Case("cli/train-resume-from-pickled-object", train("--resume", "{tmp}/model.pt",
                                                       dataset=with_file("model.pt", pickled_object)),
         exits("train", MODEL + REFUSED), must_not_create=MARKER),
    Case("cli/train-resume-from-a-plain-state-dict", train("--resume", "{tmp}/model.pt",
                                                           dataset=with_file("model.pt", state_dict_of(17))),
         exits("train", "{tmp}/model.pt", "not a semipose training checkpoint")),
    Case("cli/train-validation-json-without-num-keypoints",
         train(dataset=with_file("val_bare.json", as_json(without_num_keypoints())),
               config={"data": {"val": {"images": "{tmp}/images", "json": "{tmp}/val_bare.json"}}}),
         Loads(0)),
    Case("cli/eval-without-checkpoint", command_line("eval", CONFIG),
         exits("eval", "semipose eval needs checkpoint=PATH")),
    Case("cli/eval-truncated-checkpoint", command_line("eval", CONFIG, "checkpoint={tmp}/model.pt",
                                                       dataset=with_file("model.pt", truncated_checkpoint)),
         exits("eval", MODEL + NOT_LOADABLE)),
    Case("cli/eval-pickled-object-is-refused", command_line("eval", CONFIG, "checkpoint={tmp}/model.pt",
                                                            dataset=with_file("model.pt", pickled_object)),
         exits("eval", MODEL + REFUSED), must_not_create=MARKER),
    Case("cli/convert-lsp-not-a-matlab-file", convert("lsp", "joints.mat", raw_bytes(b"not matlab")),
         exits("convert", "{tmp}/joints.mat: not a readable MATLAB file (")),
    Case("cli/convert-lsp-joints-of-wrong-shape", convert("lsp", "joints.mat", mat_file(np.zeros((3, 10, 2)))),
         exits("convert", "{tmp}/joints.mat: field 'joints': shape (3, 10, 2) (expected (3, 14, N) or (14, 3, N))")),
    Case("cli/convert-mpii-missing-image", convert("mpii", "mpii.json", as_json([mpii_entry(image="absent.jpg")])),
         exits("convert", "{tmp}/images/absent.jpg: cannot read image: file not found")),
    Case("cli/convert-mpii-visibility-2", convert("mpii", "mpii.json", as_json([mpii_entry(joints_vis=[2] * 16)])),
         exits("convert", "{tmp}/mpii.json: field 'joints_vis': entry 0: got [2, 2, ", "(expected 16 flags 0 / 1)")),
    Case("cli/convert-aic-visibility-4", convert("aic", "aic.json", as_json([aic_entry(visibility=4)])),
         exits("convert", "{tmp}/aic.json: field 'keypoint_annotations.human1': entry 0: got [10, 8, 4, ",
               "(expected 14 x [x, y, v] with v in {1, 2, 3})")),
    Case("cli/convert-coco-duplicate-annotation-id",
         command_line("convert", "coco", "{tmp}/train.json", "{tmp}/images", "{tmp}/out.json",
                      dataset=dataset_writer(set_annotation(1, "id", 11))),
         exits("convert", TRAIN + "annotation id=11: field 'id': duplicate annotation id")),
    Case("cli/split-larger-than-the-dataset",
         command_line("split", "{tmp}/train.json", "{tmp}/splits", "--labelled", "100"),
         exits("split", TRAIN + "asked for 100 labelled people but only 4 are usable")),
    Case("cli/split-truncated-json",
         command_line("split", "{tmp}/train.json", "{tmp}/splits", "--labelled", "1",
                      dataset=dataset_writer(text='{"images": [')),
         exits("split", TRAIN + "not valid JSON (truncated?): ")),
    Case("cli/split-without-labelled-count", command_line("split", "{tmp}/train.json", "{tmp}/splits"),
         exits("split", "the following arguments are required: --labelled")),
    Case("cli/split-labelled-count-not-a-number",
         command_line("split", "{tmp}/train.json", "{tmp}/splits", "--labelled", "ten"),
         exits("split", "argument --labelled: invalid int value: 'ten'")),
]

RUN_CASES = CONFIG_CASES + VALUE_CASES + YAML_CASES + CHECKPOINT_CASES + COMMAND_LINE_CASES
