"""Dataset converters: each takes (annotation source, image directory, **options) and returns a
COCO keypoint dict that `load_person_records` accepts (each converter checks that itself).
Bad annotations raise AnnotationError; a missing or unreadable image (its size is needed)
raises ImageReadError."""
from __future__ import annotations

from semipose.data.converters.aic import aic_to_coco
from semipose.data.converters.coco_like import coco_to_coco, crowdpose_to_coco
from semipose.data.converters.lsp import lsp_to_coco
from semipose.data.converters.mpii import mpii_to_coco


CONVERTERS = {"lsp": lsp_to_coco, "mpii": mpii_to_coco, "aic": aic_to_coco, "coco": coco_to_coco,
              "crowdpose": crowdpose_to_coco}

__all__ = ["CONVERTERS", "aic_to_coco", "coco_to_coco", "crowdpose_to_coco", "lsp_to_coco", "mpii_to_coco"]
