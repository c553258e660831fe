"""What a sub-command provides to the `semipose` parser."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    description: str          # shown by `semipose NAME --help`, with examples
    add_arguments: Callable
    run: Callable
