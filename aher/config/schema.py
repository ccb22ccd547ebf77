"""Typed config sections: frozen dataclasses whose fields say their type, range and choices.

Contract: a section is a frozen dataclass deriving from :class:`Section` whose fields are declared with :func:`setting`
(type from the annotation; ``choices``, ``low``/``high`` bounds and an optional ``check``
in the field).  ``build(cls, mapping, where)`` turns the mapping of one YAML section into
an instance: every key must be a field, every field without a default must be given, values
are checked and normalised (lists -> tuples, ints where floats are wanted -> float), nested
sections are built recursively.  Every failure is one :class:`aher.errors.ConfigError` line
that names the dotted key, the value and what is allowed.  ``to_dict(instance)`` gives the
plain nested dict back (tuples -> lists), so a resolved config round-trips through YAML.
Supported annotations: ``int``, ``float``, ``bool``, ``str``, ``X | None``, ``tuple[X, ...]``,
``tuple[X, X]`` and nested section classes.
Limits: no unions other than ``X | None``; no free-form mappings (declare a section).
"""

import dataclasses
import types
import typing

from aher.errors import ConfigError

_MISSING = dataclasses.MISSING


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a field accepts beyond its type."""

    choices: tuple = ()
    low: float | None = None            # inclusive unless low_open
    high: float | None = None           # inclusive unless high_open
    low_open: bool = False
    high_open: bool = False
    check: object = None                # callable(value) -> error text or None


def setting(default=_MISSING, *, choices=(), low=None, high=None, low_open=False, high_open=False, check=None):
    """A section field with its rule (``default`` omitted: the key is required)."""
    rule = Rule(tuple(choices), low, high, low_open, high_open, check)
    if isinstance(default, (list, dict)):
        raise TypeError("use a tuple or a section class for a structured default")
    return dataclasses.field(default=default, metadata={"rule": rule})


def _describe(annotation):
    if annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(annotation))
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0])}"
        return f"a list of {len(args)} values ({', '.join(_describe(a) for a in args)})"
    if dataclasses.is_dataclass(annotation):
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(annotation,
                                                                                              str(annotation))


class _Invalid(Exception):
    """Raised by the converters; carries the allowed-values text."""


def _convert(annotation, value, where):
    """``value`` checked against and normalised to ``annotation``; raises :class:`_Invalid`."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _convert_union(annotation, value, where)
    if origin is tuple:
        return _convert_tuple(annotation, value, where)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise _Invalid(_describe(annotation))
        return build(annotation, value, where)
    return _convert_scalar(annotation, value)


def _convert_union(annotation, value, where):
    args = typing.get_args(annotation)
    if value is None and type(None) in args:
        return None
    for arg in (a for a in args if a is not type(None)):
        try:
            return _convert(arg, value, where)
        except _Invalid:
            continue
    raise _Invalid(_describe(annotation))


def _convert_tuple(annotation, value, where):
    args = typing.get_args(annotation)
    if not isinstance(value, (list, tuple)):
        raise _Invalid(_describe(annotation))
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_convert(args[0], v, where) for v in value)
    if len(value) != len(args):
        raise _Invalid(_describe(annotation))
    return tuple(_convert(a, v, where) for a, v in zip(args, value))


def _convert_scalar(annotation, value):
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif annotation is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    else:
        raise TypeError(f"unsupported annotation {annotation!r}")
    raise _Invalid(_describe(annotation))


def _bound_text(rule):
    low = f"{'>' if rule.low_open else '>='} {rule.low:g}" if rule.low is not None else ""
    high = f"{'<' if rule.high_open else '<='} {rule.high:g}" if rule.high is not None else ""
    return " and ".join(t for t in (low, high) if t)


def _check_rule(rule, value):
    """The allowed-values text when ``value`` breaks ``rule``, else None."""
    if rule.choices and value not in rule.choices:
        return "one of " + ", ".join(str(c) for c in rule.choices)
    numbers = value if isinstance(value, tuple) else (value,)
    for number in (n for n in numbers if isinstance(n, (int, float)) and not isinstance(n, bool)):
        if rule.low is not None and (number < rule.low or (rule.low_open and number == rule.low)):
            return _bound_text(rule)
        if rule.high is not None and (number > rule.high or (rule.high_open and number == rule.high)):
            return _bound_text(rule)
    return rule.check(value) if rule.check is not None else None


class Section:
    """Base of the section dataclasses: direct construction checks every field's rule too."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            rule, value = f.metadata.get("rule"), getattr(self, f.name)
            problem = _check_rule(rule, value) if rule is not None and value is not None else None
            if problem:
                raise ValueError(f"{f.name}: {value!r} is not allowed; allowed: {problem}")


def _field_value(f, hints, mapping, where):
    key = f"{where}.{f.name}" if where else f.name
    if f.name not in mapping:
        if f.default is not _MISSING:
            return f.default
        if f.default_factory is not _MISSING:
            return f.default_factory()
        raise ConfigError(f"{key}: missing (every config needs it; see configs/defaults.yaml)")
    value = mapping[f.name]
    try:
        converted = _convert(hints[f.name], value, key)
    except _Invalid as exc:
        raise ConfigError(f"{key}: {value!r} is not {exc}") from None
    problem = _check_rule(f.metadata.get("rule", Rule()), converted)
    if problem:
        raise ConfigError(f"{key}: {value!r} is not allowed; allowed: {problem}")
    return converted


def build(cls, mapping, where=""):
    """An instance of the section ``cls`` from ``mapping`` (one-line ConfigError otherwise)."""
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping of keys, not {mapping!r}")
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = {f.name for f in fields}
    unknown = [k for k in mapping if k not in names]
    if unknown:
        key = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ConfigError(f"unknown config key '{key}'; allowed here: {', '.join(sorted(names))}")
    hints = typing.get_type_hints(cls)
    values = {f.name: _field_value(f, hints, mapping, where) for f in fields}
    try:
        return cls(**values)
    except ValueError as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from None


def to_dict(section):
    """The plain nested dict of a section (tuples become lists), ready for YAML."""
    out = {}
    for f in dataclasses.fields(section):
        if not f.init:
            continue
        value = getattr(section, f.name)
        out[f.name] = _plain(value)
    return out


def _plain(value):
    if dataclasses.is_dataclass(value):
        return to_dict(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
