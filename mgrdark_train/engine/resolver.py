"""The one configuration resolver: typed dataclass settings from layers, checked before any work.

Every config of the training package (`TrainConfig`, `MTCDConfig`, `TranslatorConfig`) is a
tree of dataclasses resolved here from layers, later ones winning:

    dataclass defaults < base (a run's own config file) < command defaults < preset
                       < YAML file < CLI flags < --set KEY=VALUE

Each layer is a nested mapping of any subset of the settings. The resolver refuses, with the
dotted key in the message, an unknown key (or one that was renamed, naming the new key), a value
of the wrong type, a value outside the field's declared choices or bounds, and whatever the
config's own `problems()` reports as `(key, message)` pairs (cross-field rules such as
crop <= resize). Choices and bounds are declared next to the field with `choice(...)` and
`bounded(...)`; a registry dict (model names, translator names) serves as the choices directly.
A dataclass lists renamed keys in a `RENAMED` class variable (old name -> new dotted key).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from mgrdark_data.errors import MgrdarkError
from mgrdark_data.paths import atomic_path

T = TypeVar("T")


class ConfigError(MgrdarkError):
    """A configuration file, preset, flag or --set value is invalid."""


def choice(default: Any, choices: Iterable[Any] | Mapping[str, Any]) -> Any:
    """A dataclass field whose value must be one of `choices` (a registry dict: its keys).

    A mapping is kept by reference, so a registry filled in its own module is read when the
    config is resolved.
    """
    held = choices if isinstance(choices, Mapping) else tuple(choices)
    return dataclasses.field(default=default, metadata={"choices": held})


def bounded(default: Any, *, low: float | None = None, high: float | None = None) -> Any:
    """A numeric dataclass field that must lie in [low, high] (either end may be open)."""
    return dataclasses.field(default=default, metadata={"low": low, "high": high})


Layer = tuple[str, Mapping[str, Any]]
"""`(where, values)`: a name for messages ('preset tiny', a file name, '--set') and a nested
mapping of settings."""


def resolve(cls: type[T], layers: Iterable[Layer], *, prefix: str = "") -> T:
    """Build `cls` from its dataclass defaults and `layers`, then check every value.

    Args:
        cls: The config dataclass (fields may be nested dataclasses).
        layers: Overlays in order, each `(where, nested mapping)`.
        prefix: Dotted name of `cls` in user-facing keys (`'mtcd.'`: `mtcd.distill.alpha`).

    Raises:
        ConfigError: An unknown or renamed key, a wrong type, a value outside its choices or
            bounds, or a problem the config reports.
    """
    values = dataclasses.asdict(cls())
    for where, layer in layers:
        values = _overlay(cls, values, layer, where, prefix)
    return _build(cls, values, prefix)


def config_layers(
    presets: Mapping[str, Mapping[str, Any]],
    *,
    preset: str | None = None,
    yaml_path: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> list[Layer]:
    """The layers of one config in the order of the module docstring, named for messages.

    Args:
        presets: The config's presets by name (`preset` must be one of them).
        preset: The preset to apply, or None.
        yaml_path: A YAML file with any subset of the settings.
        overrides: Dotted keys from CLI flags; a None value means "flag not given".
        sets: Dotted keys from `--set`; a None value is kept (`--set data.light=null`).
        base: A run's saved config (over the dataclass defaults).
        defaults: A command's own defaults, under the preset.
    """
    layers: list[Layer] = []
    if base is not None:
        layers.append(("the run's saved config", base))
    if defaults:
        layers.append(("command defaults", defaults))
    if preset is not None:
        if preset not in presets:
            raise ConfigError(f"unknown preset {preset!r}; expected one of {sorted(presets)}")
        layers.append((f"preset {preset}", presets[preset]))
    if yaml_path is not None:
        layers.append((str(yaml_path), read_yaml(yaml_path)))
    if overrides:
        layers.append(("command line", dotted(overrides)))
    if sets:
        layers.append(("--set", dotted(sets, keep_none=True)))
    return layers


def dotted(flat: Mapping[str, Any], *, keep_none: bool = False) -> dict[str, Any]:
    """{'optim.lr': 0.1} -> {'optim': {'lr': 0.1}}; None values are dropped unless kept."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None and not keep_none:
            continue
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{key}: {p!r} is a setting, not a group of settings")
        node[leaf] = value
    return out


def split_keys(flat: Mapping[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Dotted keys under `prefix` (with it removed) and the others: `--set mtcd.x=1`."""
    inside = {k[len(prefix) :]: v for k, v in flat.items() if k.startswith(prefix)}
    outside = {k: v for k, v in flat.items() if not k.startswith(prefix)}
    return inside, outside


def parse_set(items: Iterable[str]) -> dict[str, Any]:
    """`--set model.depth=18` strings -> {'model.depth': 18} (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. optim.lr=0.01")
        try:
            out[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            out[key.strip()] = text  # not YAML (e.g. 'a: b'): the type check reports it
    return out


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML file of settings (a mapping at the top level)."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read config {path}: {_one_line(e)}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return data


def write_yaml(cfg: Any, path: str | os.PathLike) -> Path:
    """Write a resolved config (atomically) in the layout `read_yaml` and `resolve` take back."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))
    return Path(path)


def _overlay(cls: type, values: dict, layer: Any, where: str, path: str) -> dict:
    if not isinstance(layer, Mapping):
        what = path.rstrip(".") or "the top level"
        raise ConfigError(f"{where}: {what} must be a mapping of settings, got {layer!r}")
    fields = {f.name for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    out = dict(values)
    for key, value in layer.items():
        name = f"{path}{key}"
        if key not in fields:
            renamed = getattr(cls, "RENAMED", {}).get(key)
            if renamed:
                raise ConfigError(f"{where}: {name} is now {renamed}; set that instead")
            raise ConfigError(
                f"{where}: unknown setting {name!r}; expected one of "
                f"{[f'{path}{f}' for f in sorted(fields)]}"
            )
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            out[key] = _overlay(hint, values[key], value, where, f"{name}.")
        else:
            out[key] = value
    return out


def _build(cls: type[T], values: Mapping[str, Any], path: str) -> T:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        hint, name = hints[f.name], f"{path}{f.name}"
        if dataclasses.is_dataclass(hint):
            kwargs[f.name] = _build(hint, values[f.name], f"{name}.")
        else:
            kwargs[f.name] = _check(values[f.name], hint, f.metadata, name)
    cfg = cls(**kwargs)
    problems = getattr(cfg, "problems", None)
    for key, message in problems() if problems else ():
        raise ConfigError(f"{f'{path}{key}' if key else path.rstrip('.')}: {message}")
    return cfg


def _check(value: Any, hint: Any, meta: Mapping[str, Any], name: str) -> Any:
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    allowed = typing.get_args(hint) if union else (hint,)
    optional = type(None) in allowed
    kinds = [t for t in allowed if t is not type(None)]
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{name} may not be empty (null); expected {_names(kinds)}")
    if float in kinds and type(value) is int:
        value = float(value)  # YAML reads '1' as an int; a float field takes it
    if type(value) not in kinds:  # exact types: True is no int, 1.5 no int
        raise ConfigError(f"{name} must be {_names(kinds)}{' or null' * optional}, got {value!r}")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(
            f"{name} {value!r}: expected one of {list(choices)}{' or null' * optional}"
        )
    low, high = meta.get("low"), meta.get("high")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ConfigError(f"{name} must lie in {span}, got {value!r}")
    return value


def _names(kinds: list[Any]) -> str:
    return " or ".join(getattr(t, "__name__", str(t)) for t in kinds)


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())
