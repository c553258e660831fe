"""Dataset converters: each takes (annotation source, image directory, **options) and returns a
COCO keypoint dict that `load_person_records` accepts (each converter checks that itself).
Bad annotations raise AnnotationError; a missing or unreadable image (its size is needed)
raises ImageReadError."""
from __future__ import annotations

from pathlib import Path
from typing import Union

from semipose.data.coco_format import load_coco_json, records_from_coco_dict
from semipose.data.converters.aic import aic_to_coco
from semipose.data.converters.lsp import lsp_to_coco
from semipose.data.converters.mpii import mpii_to_coco


def coco_to_coco(coco_json: Union[str, Path], image_dir: Union[str, Path],
                 allow_missing_meta: bool = False) -> dict:
    """A COCO keypoint json, validated as the loader would read it, returned unchanged."""
    coco = load_coco_json(coco_json)
    records_from_coco_dict(coco, image_dir, str(coco_json), for_training=False,
                           allow_missing_meta=allow_missing_meta)
    return coco


CONVERTERS = {"lsp": lsp_to_coco, "mpii": mpii_to_coco, "aic": aic_to_coco, "coco": coco_to_coco}

__all__ = ["CONVERTERS", "aic_to_coco", "coco_to_coco", "lsp_to_coco", "mpii_to_coco"]
