"""Generic typed-config machinery: nested dataclasses <-> dicts, YAML files, `key.sub=value` overrides.

Nothing here knows the concrete config classes (those live in `semipose.config`); every function
works on any tree of dataclasses whose fields are annotated with plain types, `Optional[X]`,
`list[X]`, `tuple[X, ...]`, `tuple[X, Y]`, `dict[str, X]`, `Literal[...]` or nested dataclasses.
A dataclass with a `config_variant(mapping, dotted_key) -> subclass` classmethod is a section
whose class depends on its content (the `method:` section: one class per method).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
import reprlib
import types
import typing
from pathlib import Path
from typing import Any, Literal, Mapping, Union

import yaml


class ConfigError(ValueError):
    """A config value, key or file is invalid. `key` is the dotted key at fault, when known."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


MAX_YAML_BYTES = 1_000_000     # a config is a few kB; anything near this is not a config
MAX_YAML_NODES = 100_000       # values after alias expansion (an "alias bomb" expands to billions)
MAX_YAML_DEPTH = 50            # nested mappings / lists (a config nests 4 deep)
_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict, _REPR.maxlevel = 80, 80, 8, 6, 3


def short_repr(value: Any, limit: int = 200) -> str:
    """repr() for messages, bounded in time and length however large the value is."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _SafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader that also reads `1e-3` as a float (YAML 1.2) instead of the string '1e-3',
    refuses a key given twice in one mapping (the later block would silently replace the first),
    and refuses documents whose aliases expand to more than MAX_YAML_NODES values."""

    def compose_document(self):
        node = super().compose_document()
        _count_expanded_nodes(node, {}, set())
        return node

    def compose_node(self, parent, index):
        self.depth = getattr(self, "depth", 0) + 1
        if self.depth > MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"values nested more than {MAX_YAML_DEPTH} deep",
                                              self.peek_event().start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            _refuse_duplicate_keys(self, node)
        return super().construct_mapping(node, deep=deep)


# add_implicit_resolver copies the resolver table first: yaml.SafeLoader itself is untouched
_EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(\.[0-9_]*)?[eE][-+]?[0-9]+$")
_SafeLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))


def _count_expanded_nodes(node, sizes: dict, open_nodes: set) -> int:
    """Values under `node` with every alias expanded; memoised, so a bomb is measured cheaply."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_nodes:
        raise yaml.composer.ComposerError(None, None, "an alias refers to a value containing itself",
                                          node.start_mark)
    open_nodes.add(id(node))
    children = node.value if isinstance(node, yaml.SequenceNode) else (
        [item for pair in node.value for item in pair] if isinstance(node, yaml.MappingNode) else [])
    size = 1 + sum(_count_expanded_nodes(child, sizes, open_nodes) for child in children)
    if size > MAX_YAML_NODES:
        raise yaml.composer.ComposerError(None, None, f"aliases expand to more than {MAX_YAML_NODES} values "
                                          "(an alias bomb?)", node.start_mark)
    open_nodes.discard(id(node))
    sizes[id(node)] = size
    return size


def _refuse_duplicate_keys(loader: yaml.SafeLoader, node: yaml.MappingNode) -> None:
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
            continue
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"the key {short_repr(key)} appears twice in one "
                                                    "mapping (the first one would be lost)", key_node.start_mark)
        seen.add(key)


def _yaml_load(text: str) -> Any:
    if len(text) > MAX_YAML_BYTES:
        raise yaml.YAMLError(f"{len(text)} characters, more than the {MAX_YAML_BYTES} a config may have")
    return yaml.load(text, Loader=_SafeLoader)  # a SafeLoader subclass: no arbitrary objects


# ----------------------------------------------------------------------------- dict -> dataclass

_PIPE_UNION = getattr(types, "UnionType", Union)  # `int | None` (Python >= 3.10)


def from_dict(cls: type, data: Mapping[str, Any], path: str = "") -> Any:
    """Build dataclass `cls` from a nested dict, checking every value against the annotations.

    Missing keys take the dataclass defaults; unknown keys and wrong types raise ConfigError
    naming the full dotted key. Calls `instance.validate()` when the class defines it.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or 'config'}: expected a mapping of {cls.__name__} fields, "
                          f"got {short_repr(data)}", path)
    hints = typing.get_type_hints(cls)
    fields = {field.name: field for field in dataclasses.fields(cls) if field.init}
    for key in data:
        if key not in fields:
            raise _unknown_key_error(str(key), list(fields), path)
    kwargs = {}
    for name, field in fields.items():
        dotted = _join(path, name)
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], dotted)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing required config key '{dotted}'", key=dotted)
    instance = cls(**kwargs)
    _run_validate(instance, path)
    return instance


def _run_validate(instance: Any, path: str) -> None:
    validate = getattr(instance, "validate", None)
    if not callable(validate):
        return
    try:
        validate()
    except ConfigError as err:
        if not path:
            raise
        raise ConfigError(f"{path}: {err}", key=err.key or path) from None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _unknown_key_error(key: str, valid: list[str], path: str) -> ConfigError:
    dotted = _join(path, key)
    close = difflib.get_close_matches(key, valid, n=1)
    if close:
        hint = f"did you mean '{_join(path, close[0])}'?"
    else:
        hint = f"valid keys{' under ' + repr(path) if path else ''}: {', '.join(sorted(valid))}"
    return ConfigError(f"unknown config key '{dotted}'; {hint}", key=dotted)


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("NoneType", "None")


def _wrong_type(annotation: Any, value: Any, key: str) -> ConfigError:
    expected = _type_name(annotation)
    return ConfigError(f"config key '{key}': expected {expected}, got {short_repr(value)} ({type(value).__name__})",
                       key)


def _convert(annotation: Any, value: Any, key: str) -> Any:
    """Check `value` against `annotation` and return it in the annotated form (tuples, dataclasses)."""
    if annotation is Any:
        return value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Union or origin is _PIPE_UNION:
        return _convert_union(annotation, args, value, key)
    if origin is Literal:
        if any(value == choice and type(value) is type(choice) for choice in args):
            return value
        raise ConfigError(f"config key '{key}': expected one of {list(args)}, got {short_repr(value)}", key)
    if origin in (list, tuple) or annotation in (list, tuple):
        return _convert_sequence(annotation, origin or annotation, args, value, key)
    if origin is dict or annotation is dict:
        return _convert_mapping(annotation, args, value, key)
    if dataclasses.is_dataclass(annotation):
        if isinstance(value, annotation):
            return value
        choose_variant = getattr(annotation, "config_variant", None)
        if choose_variant is not None and isinstance(value, Mapping):
            annotation = choose_variant(value, key)  # a section typed by one of its values (method.name)
        return from_dict(annotation, value, key)
    return _convert_scalar(annotation, value, key)


def _convert_union(annotation: Any, args: tuple, value: Any, key: str) -> Any:
    options = [option for option in args if option is not type(None)]
    if value is None and len(options) < len(args):
        return None
    nested_errors = []
    for option in options:
        try:
            return _convert(option, value, key)
        except ConfigError as err:
            if err.key != key:  # the value has the right shape but a bad item/key inside it
                nested_errors.append(err)
    if nested_errors:
        raise nested_errors[0]
    raise _wrong_type(annotation, value, key)


def _convert_sequence(annotation: Any, origin: type, args: tuple, value: Any, key: str) -> Any:
    if not isinstance(value, (list, tuple)):
        raise _wrong_type(annotation, value, key)
    if origin is list:
        item_type = args[0] if args else Any
        return [_convert(item_type, item, f"{key}[{i}]") for i, item in enumerate(value)]
    if not args:
        return tuple(value)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_convert(args[0], item, f"{key}[{i}]") for i, item in enumerate(value))
    if len(value) != len(args):
        expected = f"{len(args)} items ({_type_name(annotation)})"
        raise ConfigError(f"config key '{key}': expected {expected}, got {len(value)}: {short_repr(value)}", key)
    return tuple(_convert(t, item, f"{key}[{i}]") for i, (t, item) in enumerate(zip(args, value)))


def _convert_mapping(annotation: Any, args: tuple, value: Any, key: str) -> dict:
    if not isinstance(value, Mapping):
        raise _wrong_type(annotation, value, key)
    key_type, value_type = args if args else (Any, Any)
    return {_convert(key_type, k, f"{key}.<key>"): _convert(value_type, v, f"{key}.{k}") for k, v in value.items()}


def _convert_scalar(annotation: Any, value: Any, key: str) -> Any:
    # bool is a subclass of int in Python, so `True` must not pass as an int or a float.
    if annotation is bool:
        ok = isinstance(value, bool)
    elif annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif annotation is float:
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value) if abs(value) < 2**1023 else math.inf  # refused below
        ok = isinstance(value, float)
        if ok and not math.isfinite(value):
            raise ConfigError(f"config key '{key}': expected a finite number, got {value}", key)
    elif annotation is Path:
        if isinstance(value, str):
            return Path(value)
        ok = isinstance(value, Path)
    elif isinstance(annotation, type):
        ok = isinstance(value, annotation)
    else:
        raise ConfigError(f"config key '{key}': unsupported annotation {annotation!r}", key=key)
    if not ok:
        raise _wrong_type(annotation, value, key)
    return value


# ----------------------------------------------------------------------------- dataclass -> dict


def to_dict(instance: Any) -> Any:
    """Plain nested dict/list/str/number form of a dataclass tree (YAML-, JSON- and weights_only-safe)."""
    if dataclasses.is_dataclass(instance) and not isinstance(instance, type):
        return {f.name: to_dict(getattr(instance, f.name)) for f in dataclasses.fields(instance)}
    if isinstance(instance, (list, tuple)):
        return [to_dict(item) for item in instance]
    if isinstance(instance, Mapping):
        return {key: to_dict(value) for key, value in instance.items()}
    if isinstance(instance, Path):
        return str(instance)
    return instance


# ----------------------------------------------------------------------------- YAML, overrides


def _read_yaml_mapping(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = _yaml_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, got {type(data).__name__}")
    return data


def load_yaml(path: str | Path) -> dict:
    """Read a YAML config file. An optional top-level `base: other.yaml` (relative to this file)
    is loaded underneath and overridden by this file; one level only (a base may not have a base)."""
    path = Path(path)
    data = _read_yaml_mapping(path)
    if "base" not in data:
        return data
    base_name = data.pop("base")
    if not isinstance(base_name, str):
        raise ConfigError(f"{path}: 'base' must be a file name, got {base_name!r}", key="base")
    base_path = path.parent / base_name
    if base_path.resolve() == path.resolve():
        raise ConfigError(f"{path}: 'base' cycle: the file names itself as its base", key="base")
    base = _read_yaml_mapping(base_path)
    if "base" in base:
        grand_base = base_path.parent / str(base["base"])
        what = "cycle" if grand_base.resolve() == path.resolve() else "chain"
        message = f"its base {base_path} names another base ({base['base']}); only one level is supported"
        raise ConfigError(f"{path}: 'base' {what}: {message}", key="base")
    return merge(base, data)


def parse_overrides(items: list[str]) -> dict:
    """Turn ["a.b=3", "c=[1,2]", "d=null"] into a nested dict; values are parsed as YAML."""
    result: dict = {}
    for item in items:
        dotted, sep, raw = item.partition("=")
        dotted = dotted.strip()
        parts = dotted.split(".")
        if not sep or not dotted or not all(parts):
            raise ConfigError(f"override {short_repr(item)}: expected key.sub=value")
        try:
            value = _yaml_load(raw)
        except yaml.YAMLError as err:
            raise ConfigError(f"override {short_repr(item)}: value is not valid YAML: {err}") from None
        node = result
        for depth, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                prefix = ".".join(parts[: depth + 1])
                raise ConfigError(f"override {short_repr(item)}: '{prefix}' was already set to a value", key=prefix)
        node[parts[-1]] = value
    return result


def merge(base: Mapping, override: Mapping) -> dict:
    """Recursive merge: mappings are merged key by key, anything else in `override` replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(cls: type, yaml_path: str | Path | None, overrides: list[str] | None = None) -> Any:
    """Defaults of `cls` <- YAML file (if any) <- command-line overrides, type-checked and validated."""
    file_data = load_yaml(yaml_path) if yaml_path else {}
    override_data = parse_overrides(list(overrides or []))
    try:
        return from_dict(cls, merge(file_data, override_data))
    except ConfigError as err:
        source = "command-line override" if _has_key(override_data, err.key) else str(yaml_path or "config")
        raise ConfigError(f"{source}: {err}", key=err.key) from None
    except ValueError as err:  # a validate() rule (e.g. a negative learning rate); it names the key
        source = str(yaml_path or "config") + (" + command-line overrides" if override_data else "")
        raise ConfigError(f"{source}: {err}") from None


def _has_key(data: Mapping, dotted: str | None) -> bool:
    if not dotted:
        return False
    node: Any = data
    for part in re.sub(r"\[\d+\]", "", dotted).split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True
