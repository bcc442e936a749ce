"""Settings declared once, on a dataclass field, and derived everywhere else.

A settings dataclass (e.g. TrainConfig) declares each field with `setting(default, label=..., help=...,
low=..., high=..., choices=...)`. From that one declaration come:
- the command line (`add_arguments` / `overrides_from_args`): `--name-with-dashes`, typed, with its help;
- the range and choice checks (`range_problems`), worded for a student;
- the page's widgets (explorer.ui.settings_form reads the same metadata);
- the JSON log (`dataclasses.asdict` of the settings).

This plays the role of Hugging Face's `HfArgumentParser`, which builds a command line from dataclass
fields and their metadata; here the page and the checks are derived too.
"""

from __future__ import annotations

import argparse
import functools
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any

SETTING = "setting"  # the metadata key


@dataclass(frozen=True)
class Setting:
    """What a field means to people: its label, help, limits and choices."""

    label: str  # the page's label and the subject of its error messages
    help: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the value must be above `low`, not equal to it
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    choice_labels: Mapping[Any, str] | None = None  # how the page names each choice
    aliases: tuple[str, ...] = ()  # older flag spellings still accepted on the command line
    page: bool = True  # drawn as a widget in the page's settings form
    group: str = "main"  # which part of the form (the view decides where each group goes)
    step: float | None = None  # the widget's step (number inputs)
    only_for: str | None = None  # drawn only when train_what equals this (e.g. scratch-model sizes)

    def flag(self, name: str) -> str:
        return "--" + name.replace("_", "-")


def setting(default: Any, label: str, **meta: Any) -> Any:
    """A dataclass field whose metadata says how to show, parse and check it."""
    return field(default=default, metadata={SETTING: Setting(label, **meta)})


def declared(cls: type) -> list[tuple[Field, Setting]]:
    """The fields of a settings dataclass that carry a Setting, in declaration order."""
    return [(f, f.metadata[SETTING]) for f in fields(cls) if SETTING in f.metadata]


@functools.cache
def _type_hints(cls: type) -> dict[str, typing.Any]:
    """A class's resolved annotations, worked out once: resolving them takes ~1 ms, and a page run asks ~90 times."""
    return typing.get_type_hints(cls)


def value_type(cls: type, name: str) -> tuple[type, bool]:
    """(the field's scalar type, whether None is allowed): `float | None` -> (float, True); `bool | float` -> float."""
    hint = _type_hints(cls)[name]
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) else ()
    if not args:
        return hint, False
    concrete = [a for a in args if a is not type(None)]
    scalar = float if float in concrete else concrete[0]
    return scalar, type(None) in args


def _range_text(meta: Setting) -> str:
    low, high = meta.low, meta.high
    if high is None:
        return "a positive number" if low == 0 and meta.low_open else f"at least {low:,}"
    if meta.low_open and meta.high_open:
        return f"strictly between {low:g} and {high:g}"
    if meta.low_open:
        return f"above {low:g} and at most {high:g}"
    if meta.high_open:
        return f"from {low:g} up to (not including) {high:g}"
    return f"from {low:,} to {high:,}"


def _in_range(value: float, meta: Setting) -> bool:
    if meta.low is not None and (value < meta.low or (meta.low_open and value == meta.low)):
        return False
    return meta.high is None or not (value > meta.high or (meta.high_open and value == meta.high))


def _number_problem(meta: Setting, kind: type, value: Any) -> str | None:
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{meta.label} must be a whole number, {_range_text(meta)} (got {value!r})."
    if kind is float and not isinstance(value, (int, float)):
        return f"{meta.label} must be a number, {_range_text(meta)} (got {value!r})."
    if not math.isfinite(float(value)) or not _in_range(float(value), meta):
        return f"{meta.label} must be {_range_text(meta)} (got {value})."
    return None


def field_problem(cls: type, name: str, value: Any) -> str | None:
    """One sentence when `value` breaks the declared type, limits or choices of setting `name`, else None."""
    meta = next(m for f, m in declared(cls) if f.name == name)
    kind, optional = value_type(cls, name)
    if value is None:
        return None if optional else f"{meta.label} must be set."
    if meta.choices is not None:
        if value in meta.choices:
            return None
        return f"{meta.label} must be one of {', '.join(map(str, meta.choices))} (got {value!r})."
    if kind in (int, float):
        return _number_problem(meta, kind, value)
    return None


def widget_meta(cls: type) -> list[tuple[str, Setting, type, bool]]:
    """(name, setting, scalar type, None allowed) of each field the page draws."""
    return [(f.name, meta, *value_type(cls, f.name)) for f, meta in declared(cls) if meta.page]


def range_problems(settings: Any) -> list[str]:
    """The declared checks of every field of a settings object, in declaration order."""
    cls = type(settings)
    out = [field_problem(cls, f.name, getattr(settings, f.name)) for f, _ in declared(cls)]
    return [problem for problem in out if problem]


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One optional flag per declared field; an absent flag is None, so a preset's value stays."""
    for f, meta in declared(cls):
        kind, _ = value_type(cls, f.name)
        names = [meta.flag(f.name), *meta.aliases]
        options: dict[str, Any] = {"dest": f.name, "default": None, "help": _flag_help(meta)}
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = kind
            if meta.choices is not None:
                options["choices"] = list(meta.choices)
        parser.add_argument(*names, **options)


def _flag_help(meta: Setting) -> str:
    text = meta.help or meta.label
    if meta.low is not None and meta.choices is None:
        text += f" ({_range_text(meta)})"
    return text.replace("%", "%%")


def overrides_from_args(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The declared settings given on the command line (flags left out are not overrides)."""
    return {f.name: getattr(args, f.name) for f, _ in declared(cls) if getattr(args, f.name, None) is not None}
