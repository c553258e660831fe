"""The typed configuration of a run. YAML files and `key.sub=value` overrides fill these
dataclasses (semipose/configtools.py); the resolved tree is saved with every run and checkpoint."""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Mapping, Optional

from semipose.config_rules import ConfigValueError, check_config, check_loss_weight
from semipose.jitter import AffineJitter

__all__ = ["Config", "ConfigValueError"]  # + the section dataclasses below


@dataclass
class DetectorConfig:
    """An ONNX person detector (YOLOX / RTMDet exports; semipose/data/person_detector.py)."""
    model: str = ""
    preset: Literal["yolox", "rtmdet"] = "yolox"   # the input normalisation the model was trained with
    score_threshold: float = 0.3
    nms_iou: float = 0.45


@dataclass
class AnnotationSource:
    """One COCO-format set: an image root plus an annotation json and/or a source of person boxes.
    Images nobody annotated need boxes chosen explicitly: a detection file, a detector, or whole_image."""
    images: str = ""
    json: Optional[str] = None
    detections: Optional[str] = None      # COCO results file of person boxes (for val or unlabelled)
    det_score_threshold: float = 0.0
    detector: Optional[DetectorConfig] = None   # find the people with this model (json's images, or the folder)
    whole_image: bool = False             # a folder of single-person crops: each whole image is one person


@dataclass
class KeypointSetConfig:
    """Optional keypoint description when the json's category lacks it (see data/keypoints.py)."""
    allow_missing: bool = False           # opt in to PCK-only evaluation / no flipping


@dataclass
class DataConfig:
    train: AnnotationSource = field(default_factory=lambda: AnnotationSource("data/synth/images/train",
                                                                             "data/synth/annotations/train.json"))
    val: AnnotationSource = field(default_factory=lambda: AnnotationSource("data/synth/images/val",
                                                                           "data/synth/annotations/val.json"))
    unlabelled: Optional[AnnotationSource] = None   # default: the train set's people beyond num_labelled
    num_labelled: Optional[int] = None              # labelled people taken from train (None = all)
    split_mode: Literal["first", "random"] = "first"
    split_seed: int = 0
    unlabelled_includes_labelled: bool = True       # the paper's code uses all of train as unlabelled
    keypoints: KeypointSetConfig = field(default_factory=KeypointSetConfig)
    input_size: tuple[int, int] = (192, 256)        # (width, height) of the crop
    heatmap_stride: int = 4
    sigma: float = 2.0
    padding: float = 1.25
    easy: AffineJitter = field(default_factory=AffineJitter)
    flip: bool = True
    half_body_prob: float = 0.0
    on_bad_sample: Literal["error", "skip"] = "error"
    check_images: bool = True                       # read every image header before training starts
    workers: int = 2
    cache_images: bool = False                      # keep decoded images in memory (small sets)
    fast_decode: bool = True                        # decode JPEGs at 1/2..1/8 size when the crop shrinks that much
    crop_cache: Optional[str] = None                # folder of a person-crop cache (`semipose cache CONFIG`)
    # Pixel convention of the networks (geometry.CONVENTIONS). null: taken from the checkpoint a run
    # starts from or evaluates ("exact" for semipose's, "reference" for public files), else "exact".
    convention: Optional[Literal["exact", "reference"]] = None

    @property
    def pixel_convention(self) -> str:
        return self.convention or "exact"

    @property
    def heatmap_size(self) -> tuple[int, int]:
        return (self.input_size[0] // self.heatmap_stride, self.input_size[1] // self.heatmap_stride)


@dataclass
class ModelConfig:
    name: str = "tiny"
    pretrained: Optional[str] = None                  # ImageNet backbone file (torchvision names)
    checkpoint: Optional[str] = None                  # a whole pose model (a public file, or a run's: network A)
    load_mode: Literal["strict", "partial"] = "strict"
    allow_head_mismatch: bool = False                 # load a checkpoint trained for another K
    width: Optional[int] = None                       # the tiny model's base width


@dataclass
class RandAugmentConfig:
    num_ops: int = 0          # 0 = off; the paper uses 2
    magnitude: float = 20.0   # on the 0..30 scale of the reference code


@dataclass
class JointCutoutConfig:
    num_joints: int = 0                                  # 0 = off; "JC 5" = 5
    half_size: tuple[float, float] = (10.0, 19.0)        # in pixels of a 256-high crop; scaled with input
    jitter: float = 10.0                                 # std of the centre jitter, same units


@dataclass
class HardViewConfig:
    affine: AffineJitter = field(default_factory=lambda: AffineJitter(rotation_prob=0.8))
    randaugment: RandAugmentConfig = field(default_factory=RandAugmentConfig)
    joint_cutout: JointCutoutConfig = field(default_factory=JointCutoutConfig)
    mask_out_of_view: bool = True          # drop heatmap pixels the easy view cannot see


@dataclass
class MethodConfig:
    """The `method:` section every method has; each method's module extends it with its own options
    (methods/dual.py: DualConfig) and registers both (semipose/methods/__init__.py, METHODS).
    Supervised training uses this class as it is. `unsup_weight` and `rampup` weight the unlabelled
    term of L = L_s + lambda L_u; every method takes them, so one base config can compare
    supervised training (which has no L_u) with the SSL methods.

    Loading picks the class from `name` (`variants`, filled by the registry): a key the chosen
    method does not have is an error naming it."""
    name: str = "supervised"
    unsup_weight: float = 1.0                             # lambda in L = L_s + lambda L_u
    rampup: tuple[int, int] = (0, 0)                      # linear lambda ramp between these steps

    variants: ClassVar[dict[str, type]] = {}              # method name -> its config class

    @classmethod
    def config_variant(cls, data: Mapping, path: str) -> type:
        """The config class of the method named in `data` (configtools calls this before building)."""
        name = data.get("name", cls.name) if isinstance(data, Mapping) else cls.name
        if name not in cls.variants:
            close = difflib.get_close_matches(str(name), cls.variants, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigValueError(f"{path}.name: unknown method {name!r}, choose one of "
                                   f"{', '.join(cls.variants) or '(none registered: import semipose.methods)'}{hint}",
                                   key=f"{path}.name")
        variant = cls.variants[name]
        own = {field.name for field in dataclasses.fields(variant)}
        for key in data:
            if key not in own:
                raise ConfigValueError(_foreign_option_message(str(key), name, variant, cls.variants, path),
                                       key=f"{path}.{key}")
        return variant

    def check(self, key: str) -> None:
        """The value rules of these options (config_rules.py runs them at load time); methods with
        options of their own extend it."""
        check_loss_weight(self, key)


def _foreign_option_message(option: str, name: str, variant: type, variants: dict, path: str) -> str:
    owners = [other for other, cls in variants.items() if option in {f.name for f in dataclasses.fields(cls)}]
    belongs = f"; it is an option of {', '.join(owners)}" if owners else ""
    options = ", ".join(f.name for f in dataclasses.fields(variant))
    return f"{path}.{option}: method {name!r} has no option {option!r}{belongs} (its options: {options})"


@dataclass
class TrainConfig:
    epochs: int = 100
    iterations: Optional[int] = None         # >= 1: count iterations instead of epochs; null: use epochs
    batch_size: int = 32                     # labelled people per step
    unlabelled_batch_size: Optional[int] = None   # default: equal to batch_size (the paper)
    lr: float = 1e-3
    lr_steps: tuple[float, ...] = (70, 90)   # epochs (or iterations when `iterations` is set)
    lr_factor: float = 0.1
    weight_decay: float = 0.0
    seed: int = 0
    deterministic: bool = False
    device: str = "cpu"
    val_every: int = 1                       # epochs (or iterations when `iterations` is set); 0: at the end only
    checkpoint_every: int = 1                # same unit; 0: at the end only
    log_every: int = 20                      # iterations
    keep_checkpoints: int = 2
    run_dir: str = "runs/default"
    auto_resume: bool = True
    resume: Optional[str] = None
    resume_changes: tuple[str, ...] = ()     # config keys a resume may change (e.g. [train.iterations]): resumes.jsonl
    nan_policy: Literal["stop", "skip"] = "stop"
    max_skipped_steps: int = 10
    # Scale and speed (docs/distributed.md). batch_size above is PER PROCESS under torchrun.
    amp: Literal["none", "bf16", "fp16"] = "none"   # autocast of the network forwards; fp16 adds a GradScaler
    channels_last: bool = False              # NHWC networks and images (faster convolutions on recent GPUs)
    compile: bool = False                    # torch.compile each network (in place: checkpoint keys unchanged)
    sync_bn: bool = False                    # SyncBatchNorm across processes (CUDA only)
    dist_timeout_s: int = 1800               # a collective waiting longer than this fails the run


@dataclass
class EvalConfig:
    flip_test: bool = False
    refine: Literal["quarter", "dark", "none"] = "quarter"
    metric: Literal["AP", "PCK"] = "AP"
    pck_alpha: float = 0.2
    pck_normaliser: Literal["torso", "bbox"] = "torso"
    oks_nms_threshold: float = 0.9
    nms_area: Literal["crop", "record"] = "crop"   # OKS-NMS area: padded crop (the reference) or the json's area
    keypoint_score_threshold: float = 0.2    # for rescoring detection boxes
    batch_size: int = 64
    backend: Literal["pycocotools", "faster_coco_eval"] = "pycocotools"


@dataclass
class MonitorConfig:
    every: int = 50                          # iterations between heatmap-response checks
    alarm_fraction: float = 0.3              # unlabelled / labelled response below this = collapsing
    patience: int = 3                        # consecutive low checks before the alarm
    action: Literal["warn", "stop", "rollback"] = "warn"


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)

    def validate(self):
        check_config(self)  # every value rule of a run, before any data is read (config_rules.py)
