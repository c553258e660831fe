"""What a bad-input case expects, and the case itself. test_bad_inputs.py checks each kind."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class Raises:
    """The call raises exactly `error` (not a subclass, not numpy's or OpenCV's); its message
    contains every fragment, with "{tmp}" standing for the case's folder."""
    error: type
    fragments: tuple = ()
    max_length: Optional[int] = None        # a message longer than this is itself a failure


@dataclass(frozen=True)
class Counts:
    """The call returns a load report (on_bad_sample="skip" or a repair): people kept and the
    counts by reason. Unusual skips must also appear in a logged warning's summary line."""
    kept: int
    skipped: dict = field(default_factory=dict)
    repaired: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Loads:
    """The call succeeds and returns `value` within `tolerance` (e.g. the largest difference, in
    grey levels, between the samples of an odd image file and of a plain RGB copy of it)."""
    value: Any
    tolerance: float = 0


@dataclass(frozen=True)
class Warns:
    """The call succeeds and a logged warning contains every fragment ("{tmp}" as above): the
    summary line of a skip that no returned report shows (validation, unlabelled folders)."""
    fragments: tuple = ()


@dataclass(frozen=True)
class Exits:
    """A command line returns exit code 2 and prints `semipose COMMAND: error: ...` on stderr,
    containing every fragment, with no traceback."""
    command: str
    fragments: tuple = ()


@dataclass(frozen=True)
class Case:
    """`make(tmp)` writes the bad file(s) into tmp and returns the call to make (no arguments)."""
    id: str
    make: Callable[[Path], Callable[[], Any]]
    outcome: Any
    must_not_create: Optional[str] = None   # a file the call must not create (code ran on load)
    xfail: Optional[str] = None             # a known gap, with the fix suggested


def raises(error: type, *fragments: str) -> Raises:
    return Raises(error, fragments)


def warns(*fragments: str) -> Warns:
    return Warns(fragments)


def exits(command: str, *fragments: str) -> Exits:
    return Exits(command, fragments)
