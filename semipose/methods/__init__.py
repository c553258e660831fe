"""Training methods: one module per method (the method and its config class), one interface
(semipose/methods/base.py), one registry. Adding a method: its module, one line here, a test."""
from __future__ import annotations

from semipose.config import ConfigValueError, MethodConfig
from semipose.methods.base import Method, MethodContext, StepOutput
from semipose.methods.consistency import Consistency, ConsistencyConfig
from semipose.methods.datadistill import DataDistill, DataDistillConfig
from semipose.methods.dual import Dual, DualConfig
from semipose.methods.pseudopose import PseudoPose, PseudoPoseConfig
from semipose.methods.single import Single, SingleConfig
from semipose.methods.supervised import Supervised

METHODS: dict[str, tuple[type[Method], type[MethodConfig]]] = {
    "supervised": (Supervised, MethodConfig),
    "consistency": (Consistency, ConsistencyConfig),
    "pseudopose": (PseudoPose, PseudoPoseConfig),
    "datadistill": (DataDistill, DataDistillConfig),
    "single": (Single, SingleConfig),
    "dual": (Dual, DualConfig),
}
# Loading a config picks the `method:` section's class by its name from here (MethodConfig.config_variant).
MethodConfig.variants.update({name: config_class for name, (_, config_class) in METHODS.items()})


def method_class(config: MethodConfig) -> type[Method]:
    """The method a config section belongs to; the config must be that method's own class."""
    config_class = MethodConfig.config_variant({"name": config.name}, "method")  # unknown name: a clear error
    if type(config) is not config_class:
        raise ConfigValueError(f"method: method {config.name!r} takes a {config_class.__name__}, "
                               f"got a {type(config).__name__}", key="method")
    return METHODS[config.name][0]


def method_config(name: str, **options) -> MethodConfig:
    """The config of method `name` with `options` (for code; YAML files go through load_config)."""
    return MethodConfig.config_variant({"name": name, **options}, "method")(name=name, **options)


def build_method(config: MethodConfig, context: MethodContext) -> Method:
    return method_class(config)(config, context)


__all__ = ["METHODS", "Method", "MethodContext", "StepOutput", "build_method", "method_class", "method_config"]
