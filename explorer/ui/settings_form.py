"""Widgets derived from a settings dataclass's declarations (explorer.settings): one widget per setting.

The label, help, limits and choices come from the field's Setting; the widget key is `prefix + name`,
so the page, the CLI flag (--name) and the code share one name per setting.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from explorer.settings import Setting, widget_meta


def key_of(prefix: str, name: str) -> str:
    return f"{prefix}{name}"


def load_into_state(settings: Any, prefix: str) -> None:
    """Copy a settings object's values into the widgets' state (e.g. when a preset is chosen)."""
    for name, _, _, _ in widget_meta(type(settings)):
        st.session_state[key_of(prefix, name)] = getattr(settings, name)


def values_from_state(cls: type, prefix: str, names: list[str]) -> dict[str, Any]:
    """The widgets' values of the given settings, by setting name."""
    return {name: st.session_state[key_of(prefix, name)] for name in names}


def _number(place: Any, meta: Setting, kind: type, optional: bool, key: str, disabled: bool) -> None:
    if kind is int:
        int_low = int(meta.low) if meta.low is not None else None
        int_high = int(meta.high) if meta.high is not None else None
        place.number_input(
            meta.label, int_low, int_high, step=int(meta.step or 1), key=key, help=meta.help, disabled=disabled
        )
        return
    low = float(meta.low) if meta.low is not None else None
    high = float(meta.high) if meta.high is not None else None
    step = float(meta.step) if meta.step else 0.01
    place.number_input(
        meta.label + (" (empty = none)" if optional else ""),
        low,
        high,
        step=step,
        format="%.6g" if step < 0.01 else "%.3f",
        key=key,
        help=meta.help,
        disabled=disabled,
        placeholder="none" if optional else None,
    )


def setting_widget(
    place: Any, name: str, meta: Setting, kind: type, optional: bool, prefix: str, disabled: bool
) -> None:
    """Draw the widget of one setting in `place` (st, a column or an expander)."""
    key = key_of(prefix, name)
    if meta.choices is not None:
        labels = meta.choice_labels or {}
        place.selectbox(
            meta.label,
            list(meta.choices),
            format_func=lambda c: labels.get(c, str(c)),
            key=key,
            help=meta.help,
            disabled=disabled,
        )
    elif kind is bool:
        place.checkbox(meta.label, key=key, help=meta.help, disabled=disabled)
    elif kind in (int, float):
        _number(place, meta, kind, optional, key, disabled)
    else:
        place.text_input(meta.label, key=key, help=meta.help, disabled=disabled)


def settings_widgets(
    cls: type, prefix: str, names: list[str], places: list[Any], disabled: bool, disabled_names: tuple[str, ...] = ()
) -> None:
    """The widgets of the named settings, dealt across `places` (columns) in declaration order."""
    metas = {name: (meta, kind, optional) for name, meta, kind, optional in widget_meta(cls)}
    for i, name in enumerate(names):
        meta, kind, optional = metas[name]
        place = places[i % len(places)]
        setting_widget(place, name, meta, kind, optional, prefix, disabled or name in disabled_names)


def page_names(cls: type, group: str, only_for: str | None = None) -> list[str]:
    """The page's settings of one group (and, for `only_for`, those drawn only for that choice)."""
    return [name for name, meta, _, _ in widget_meta(cls) if meta.group == group and meta.only_for == only_for]
