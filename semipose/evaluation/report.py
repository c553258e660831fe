"""Print evaluation results as an aligned text table and write them as JSON (atomically).

Numbers are shown as given (metrics are fractions, e.g. AP 0.7312, not percentages):
floats with 4 decimals, integers as integers, nan as "nan". A single dict becomes a
two-column "metric | value" table; a list of dicts (e.g. one per checkpoint or per
network) becomes one row per dict with a column per key, "-" where a row lacks a key.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

FLOAT_DIGITS = 4


def format_value(value: Any) -> str:
    """One cell: floats with FLOAT_DIGITS decimals, ints as ints, sequences space-separated."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{FLOAT_DIGITS}f}"
    if isinstance(value, (list, tuple)):
        return " ".join(format_value(item) for item in value)
    if isinstance(value, dict):
        return " ".join(f"{key}={format_value(item)}" for key, item in value.items())
    return str(value)


def _align(rows: list[list[str]], title: str | None) -> str:
    """Rows of cells (the first row is the header) as left-aligned columns under a rule."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    if title:
        lines.insert(0, title)
    return "\n".join(lines)


def format_table(results: dict | Sequence[dict], title: str | None = None) -> str:
    """An aligned text table of one results dict (metric | value) or of a list of them (rows)."""
    if isinstance(results, dict):
        rows = [["metric", "value"]]
        rows += [[str(key), format_value(value)] for key, value in results.items()]
        return _align(rows, title)

    results = list(results)
    if not results:
        return (title + "\n" if title else "") + "(no results)"
    columns: list[str] = []
    for row in results:
        columns += [key for key in row if key not in columns]
    rows = [list(map(str, columns))]
    rows += [[format_value(row[key]) if key in row else "-" for key in columns]
             for row in results]
    return _align(rows, title)


def to_jsonable(obj: Any) -> Any:
    """`obj` with numpy values made plain and non-finite floats as None (strict JSON has no nan)."""
    if isinstance(obj, dict):
        return {str(key): to_jsonable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [to_jsonable(item) for item in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    """Write `obj` as JSON to `path` atomically (a temporary file, then os.replace).

    A reader never sees a half-written file, even if the writer is killed midway.
    `indent=None` writes compact JSON (for large results files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
