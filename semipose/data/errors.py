"""Exceptions for bad annotation files and unreadable images.

Both derive from ValueError so callers can catch "bad input" in one place, and both carry
the offending file in their message so a user never has to read a traceback to find it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

PathLike = Union[str, Path]


class AnnotationError(ValueError):
    """An annotation file (or one entry in it) is not what semipose expects.

    The message names the file and, where known, the image id, the annotation id, the
    field and what was expected, e.g.
    ``train.json: annotation id=7: image id=3: field 'bbox': got 'abc' (expected [x, y, w, h])``.
    ``reason`` is a short key ("bad_bbox", "bad_keypoints", ...) that loaders use to count
    skipped samples under the "skip" policy.
    """

    def __init__(self, file: PathLike, problem: str, *, image_id: Any = None,
                 ann_id: Any = None, field: Optional[str] = None,
                 expected: Optional[str] = None, reason: str = "bad_file"):
        self.file = str(file)
        self.problem = problem
        self.image_id = image_id
        self.ann_id = ann_id
        self.field = field
        self.expected = expected
        self.reason = reason
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = [self.file]
        if self.ann_id is not None:
            where.append(f"annotation id={self.ann_id!r}")
        if self.image_id is not None:
            where.append(f"image id={self.image_id!r}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        message = ": ".join(where) + ": " + self.problem
        if self.expected is not None:
            message += f" (expected {self.expected})"
        return message

    def __reduce__(self):
        # Exceptions re-create themselves from self.args on unpickling (DataLoader workers
        # send them across processes), which would lose the keyword-only fields.
        keywords = dict(image_id=self.image_id, ann_id=self.ann_id, field=self.field,
                        expected=self.expected, reason=self.reason)
        return (_rebuild_annotation_error, (self.file, self.problem, keywords))


def _rebuild_annotation_error(file: str, problem: str, keywords: dict) -> AnnotationError:
    return AnnotationError(file, problem, **keywords)


class ImageReadError(ValueError):
    """An image file is missing, empty, truncated, not an image, or too large to decode."""

    def __init__(self, file: PathLike, reason: str):
        self.file = str(file)
        self.reason = reason
        super().__init__(f"{self.file}: cannot read image: {reason}")

    def __reduce__(self):
        return (ImageReadError, (self.file, self.reason))
