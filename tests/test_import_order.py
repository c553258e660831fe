"""Imports run one way: every import of every semipose module (late imports and TYPE_CHECKING
blocks included) goes to its own layer or an earlier one of docs/architecture.md's list."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "semipose"


def declared_layers(text: str) -> dict[str, int]:
    """{first name under semipose: layer index} from the block between the import-order markers."""
    block = re.search(r"<!-- import-order -->\s*```\n(.*?)```\s*<!-- /import-order -->", text, re.S)
    if block is None:
        raise AssertionError("docs/architecture.md has no <!-- import-order --> block")
    layers = {}
    for index, line in enumerate(line for line in block.group(1).splitlines() if line.strip()):
        label, _, members = line.partition(":")
        for name in (members.split() if members else [label.strip()]):
            layers[name] = index
    return layers


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every semipose import in the file, wherever it sits."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = module_name(path, root)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from semipose import api` imports the module semipose.api
            found += [(node.lineno, f"{base}.{alias.name}" if base == "semipose" else base) for alias in node.names]
    return [(line, name) for line, name in found if name == "semipose" or name.startswith("semipose.")]


def layer_of(name: str, layers: dict[str, int]) -> int:
    parts = name.split(".")
    if len(parts) < 2:
        return -1  # the package itself (its __init__ imports nothing)
    if parts[1] not in layers:
        raise AssertionError(f"{name}: semipose.{parts[1]} is in no layer of docs/architecture.md's import order")
    return layers[parts[1]]


def violations(layers: dict[str, int], root: Path = ROOT) -> list[str]:
    """'file:line imports module' for every import that runs up the order, under root/semipose."""
    found = []
    for path in sorted((root / "semipose").rglob("*.py")):
        importer = module_name(path, root)
        if importer == "semipose":
            continue
        own = layer_of(importer, layers)
        for line, target in imported_modules(path, root):
            if layer_of(target, layers) > own:
                found.append(f"{path.relative_to(root)}:{line} imports {target}")
    return found


def test_every_import_runs_down_the_declared_order():
    layers = declared_layers((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    assert violations(layers) == []


def test_every_module_is_in_a_layer():
    layers = declared_layers((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    for path in PACKAGE.rglob("*.py"):
        if path.parent == PACKAGE and path.stem != "__init__":
            assert path.stem in layers, f"semipose/{path.name} is missing from docs/architecture.md's import order"


def test_an_upward_import_is_reported(tmp_path):
    """The checker itself: a data module importing the engine (late, inside a function) fails."""
    package = tmp_path / "semipose"
    (package / "data").mkdir(parents=True)
    (package / "engine").mkdir()
    for init in (package / "__init__.py", package / "data" / "__init__.py", package / "engine" / "__init__.py"):
        init.write_text("")
    (package / "engine" / "loop.py").write_text("from semipose.data import reader\n")
    (package / "data" / "reader.py").write_text("def read():\n    from ..engine import loop\n    return loop\n")
    layers = declared_layers("<!-- import-order -->\n```\ndata\nengine\n```\n<!-- /import-order -->")
    assert violations(layers, tmp_path) == ["semipose/data/reader.py:2 imports semipose.engine"]


@pytest.mark.parametrize("text", ["no block here", "<!-- import-order -->\n```\n```\n"])
def test_a_missing_order_block_is_an_error(text):
    with pytest.raises(AssertionError, match="import-order"):
        declared_layers(text)
