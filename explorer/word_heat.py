"""Sentences A and B drawn as their words, each word's background coloured by an attribution score.

Diverging scale: green pushes p(IsNext) up, red pushes it down, white is no effect; the legend gives the
numbers. Every word is HTML-escaped here, so text a user typed can never become markup on the page.
"""

from __future__ import annotations

import html

import numpy as np

from explorer.pair_words import Word

_UP = (22, 163, 74)  # IsNext green (explorer.plots.LABEL_COLORS)
_DOWN = (220, 38, 38)  # NotNext red
_STYLE = """<style>
.nsp-heat{font-family:ui-sans-serif,system-ui,sans-serif;font-size:16px;line-height:2.1;}
.nsp-heat .w{padding:2px 4px;border-radius:4px;margin:0 1px;color:#111827;}
.nsp-heat .part{font-weight:700;margin-right:8px;}
.nsp-legend{display:flex;align-items:center;gap:8px;font-size:12px;color:#374151;margin-top:4px;}
.nsp-legend .bar{width:220px;height:12px;border-radius:3px;border:1px solid #d1d5db;}
</style>"""


def _rgba(score: float, limit: float) -> str:
    strength = min(1.0, abs(score) / limit) if limit > 0 else 0.0
    r, g, b = _UP if score >= 0 else _DOWN
    return f"rgba({r},{g},{b},{0.85 * strength:.3f})"


def color_limit(scores: np.ndarray) -> float:
    """The score that gets full colour: the largest magnitude (so the legend's ends are real values)."""
    return float(np.max(np.abs(scores))) if len(scores) else 0.0


def words_html(words: list[Word], scores: np.ndarray, unit: str) -> str:
    """A and B on their own lines, each word coloured by its score; hover shows the number."""
    limit = color_limit(scores)
    lines = []
    for part, color in (("A", "#2563eb"), ("B", "#ea580c")):
        spans = [
            f'<span class="w" style="background:{_rgba(s, limit)}" '
            f'title="{html.escape(w.text, quote=True)}: {s:+.4f} {html.escape(unit)}">{html.escape(w.text)}</span>'
            for w, s in zip(words, scores)
            if w.role == part
        ]
        lines.append(f'<div><span class="part" style="color:{color}">{part}</span>{"".join(spans)}</div>')
    return f'{_STYLE}<div class="nsp-heat">{"".join(lines)}{legend_html(limit, unit)}</div>'


def legend_html(limit: float, unit: str) -> str:
    down, up = _rgba(-limit, limit), _rgba(limit, limit)
    return (
        f'<div class="nsp-legend"><span>{-limit:+.4f}</span>'
        f'<span class="bar" style="background:linear-gradient(90deg,{down},rgba(255,255,255,1),{up})"></span>'
        f"<span>{limit:+.4f}</span><span>{html.escape(unit)} · red pushes p(IsNext) down, green up</span></div>"
    )
