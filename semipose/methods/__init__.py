"""Training methods: one file per method, one interface (semipose/methods/base.py), one registry."""
from __future__ import annotations

import difflib

from semipose.config import ConfigValueError, MethodConfig
from semipose.methods.base import Method, MethodContext, StepOutput
from semipose.methods.consistency import Consistency
from semipose.methods.datadistill import DataDistill
from semipose.methods.dual import Dual
from semipose.methods.pseudopose import PseudoPose
from semipose.methods.single import Single
from semipose.methods.supervised import Supervised

METHODS = {
    "supervised": Supervised,
    "consistency": Consistency,
    "pseudopose": PseudoPose,
    "datadistill": DataDistill,
    "single": Single,
    "dual": Dual,
}


def build_method(config: MethodConfig, context: MethodContext) -> Method:
    if config.name not in METHODS:
        close = difflib.get_close_matches(config.name, METHODS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigValueError(f"method.name: unknown method {config.name!r}, choose one of "
                               f"{', '.join(METHODS)}{hint}")
    return METHODS[config.name](config, context)


__all__ = ["METHODS", "Method", "MethodContext", "StepOutput", "build_method"]
