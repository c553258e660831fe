"""The public weight files the configs name: where each comes from, its SHA-256, and a checked fetch.

`sha256` is the whole digest where its publisher or a reproducible source gives it, otherwise the
digest prefix the publisher put in the file name (torchvision and OpenMMLab name files
`<model>-<first 8 hex of sha256>.pth`; torch.hub checks the same prefix). A fetch downloads with
torch.hub's downloader (a temporary `.partial` file beside the target, removed on any failure,
renamed into place only when complete), checks the hash, then opens the file with
`weights_only=True`: a file that fails any step never appears under its name.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from semipose.data.splits import file_sha256

logger = logging.getLogger(__name__)

DEFAULT_DIR = "pretrained"  # where the configs' `model.pretrained` paths point
TORCHVISION = "https://download.pytorch.org/models/"
OPENMMLAB = "https://download.openmmlab.com/mmpose/pretrain_models/"


@dataclass(frozen=True)
class WeightFile:
    name: str          # what `semipose weights fetch NAME` takes
    url: str
    sha256: str        # whole digest (64 hex) or the published prefix (see the module docstring)
    size: str          # approximate, as the publisher lists it
    what: str

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


WEIGHTS = {entry.name: entry for entry in [
    WeightFile("resnet18", TORCHVISION + "resnet18-f37072fd.pth",
               "f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec", "44.7 MB",
               "torchvision ImageNet ResNet-18 (IMAGENET1K_V1): backbone of every configs/coco/r18_* run"),
    WeightFile("resnet50", TORCHVISION + "resnet50-0676ba61.pth", "0676ba61", "97.8 MB",
               "torchvision ImageNet ResNet-50 (IMAGENET1K_V1): configs/coco/r50_*"),
    WeightFile("resnet101", TORCHVISION + "resnet101-63fe2227.pth", "63fe2227", "171 MB",
               "torchvision ImageNet ResNet-101 (IMAGENET1K_V1): configs/coco/r101_*"),
    WeightFile("resnet152", TORCHVISION + "resnet152-394f9c45.pth", "394f9c45", "230 MB",
               "torchvision ImageNet ResNet-152 (IMAGENET1K_V1): configs/coco/r152_*"),
    WeightFile("hrnet_w32", OPENMMLAB + "hrnet_w32-36af842e.pth", "36af842e", "~165 MB",
               "HRNet-W32 ImageNet backbone (the HRNet authors' file, mirrored by OpenMMLab): model.name=hrnet_w32"),
    WeightFile("hrnet_w48", OPENMMLAB + "hrnet_w48-8ef0771d.pth", "8ef0771d", "~310 MB",
               "HRNet-W48 ImageNet backbone (the HRNet authors' file, mirrored by OpenMMLab): "
               "configs/coco/hrnet_w48_* and the HRNet teacher of r18_1k_dual_hrnet_teacher"),
]}


class WeightsError(OSError):
    """A weight file that could not be fetched or does not match its table entry."""


def lookup(name: str) -> WeightFile:
    if name not in WEIGHTS:
        raise WeightsError(f"unknown weight file {name!r}; known: {', '.join(WEIGHTS)} (semipose weights list)")
    return WEIGHTS[name]


def matches(path: Path, entry: WeightFile) -> bool:
    return path.is_file() and file_sha256(path).startswith(entry.sha256)


def fetch(entry: WeightFile, directory=DEFAULT_DIR, progress: bool = False) -> Path:
    """`directory/<file name>` for `entry`, downloaded unless a file with the right hash is there."""
    import torch
    from torch.hub import download_url_to_file
    target = Path(directory) / entry.file_name
    if matches(target, entry):
        logger.info("%s: already there, hash checked", target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:  # downloads to a .partial file beside the target, deletes it on failure, renames it when complete
        download_url_to_file(entry.url, str(target), hash_prefix=entry.sha256, progress=progress)
    except RuntimeError as error:  # torch.hub's hash mismatch
        raise WeightsError(f"{entry.url}: the download does not match sha256 {entry.sha256} ({error}); "
                           f"nothing written to {target}") from None
    except OSError as error:  # URLError, HTTPError, connection reset, truncated body
        raise WeightsError(f"{entry.url}: could not download ({getattr(error, 'reason', error)}). Offline? "
                           f"Fetch the file on a connected machine and put it at {target} "
                           f"(sha256 {entry.sha256}...)") from None
    except Exception as error:  # http.client.IncompleteRead is not an OSError
        raise WeightsError(f"{entry.url}: download failed ({type(error).__name__}: {error}); "
                           f"nothing written to {target}") from None
    try:
        torch.load(target, map_location="cpu", weights_only=True)
    except Exception as error:
        target.unlink()
        raise WeightsError(f"{target}: has the right hash but is not a weights-only checkpoint ({error}); removed") from None
    return target
