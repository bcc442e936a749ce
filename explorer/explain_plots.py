"""Figures for "Why this answer?", as pure functions: data in, plotly Figure out.

Colours follow explorer.plots: A blue, B orange, special tokens grey, IsNext green, NotNext red.
Token labels are WordPiece pieces; the basic tokenizer has split every '<' and '>' off on its own, so
no label can form markup.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.attention import SHARE_PARTS
from explorer.plots import ROLE_COLORS, style

PART_COLORS = {"[CLS]": "#9ca3af", "A": ROLE_COLORS["A"], "[SEP]": "#4b5563", "B": ROLE_COLORS["B"]}
METHOD_COLORS = {
    "integrated gradients": "#7c3aed",
    "occlusion": "#0891b2",
    "attention rollout": "#d97706",
    "random": "#9ca3af",
}


def _labels(tokens: list[str]) -> list[str]:
    return [f"{i}: {t}" for i, t in enumerate(tokens)]


def cls_share_grid(shares: np.ndarray) -> go.Figure:
    """Layers x heads, coloured by the share of [CLS]'s attention that lands on B; all four shares on hover."""
    layers, heads, _ = shares.shape
    b = SHARE_PARTS.index("B")
    fig = go.Figure(
        go.Heatmap(
            z=shares[:, :, b],
            x=[f"head {h}" for h in range(heads)],
            y=[f"layer {l_}" for l_ in range(layers)],
            customdata=shares,
            zmin=0.0,
            zmax=1.0,
            colorscale=[[0.0, "#ffffff"], [1.0, ROLE_COLORS["B"]]],
            colorbar=dict(title="share on B"),
            texttemplate="%{z:.2f}",
            hovertemplate="%{y}, %{x}<br>"
            + "<br>".join(f"{p}: %{{customdata[{i}]:.3f}}" for i, p in enumerate(SHARE_PARTS))
            + "<extra></extra>",
        )
    )
    style(fig, "share of [CLS]'s attention that goes to sentence B, per layer and head", height=80 + 34 * layers)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False)
    return fig


def cls_share_bars(shares: np.ndarray) -> go.Figure:
    """Per layer, the heads' mean share of [CLS]'s attention on [CLS], A, [SEP] and B, stacked to 1."""
    mean = shares.mean(axis=1)
    layers = [f"layer {l_}" for l_ in range(mean.shape[0])]
    fig = go.Figure()
    for i, part in enumerate(SHARE_PARTS):
        fig.add_trace(
            go.Bar(
                x=layers,
                y=mean[:, i],
                name=part,
                marker_color=PART_COLORS[part],
                hovertemplate=f"%{{x}}: {part} %{{y:.3f}}<extra></extra>",
            )
        )
    style(fig, "where [CLS] looks, per layer (mean over heads)", height=320)
    fig.update_layout(barmode="stack", showlegend=True)
    fig.update_yaxes(range=[0, 1], title="share of attention")
    return fig


def head_matrix(attention: np.ndarray, tokens: list[str], layer: int, head: int) -> go.Figure:
    """The full token-to-token attention of one head: row = the token that looks, column = where."""
    labels = _labels(tokens)
    fig = go.Figure(
        go.Heatmap(
            z=attention,
            x=labels,
            y=labels,
            zmin=0.0,
            zmax=1.0,
            colorscale="Blues",
            colorbar=dict(title="weight"),
            hovertemplate="%{y} → %{x}<br>weight %{z:.4f}<extra></extra>",
        )
    )
    side = min(900, 160 + 16 * len(tokens))
    style(fig, f"layer {layer}, head {head}: each row (a token) spreads weight 1 over the columns", height=side)
    fig.update_yaxes(autorange="reversed", showgrid=False, tickfont=dict(size=10))
    fig.update_xaxes(showgrid=False, tickangle=-60, tickfont=dict(size=10))
    return fig


def token_bars(tokens: list[str], roles: list[str], values: np.ndarray, title: str, axis: str) -> go.Figure:
    """One bar per token coloured by part (A blue, B orange, special grey): rollout or an attribution."""
    fig = go.Figure(
        go.Bar(
            x=_labels(tokens),
            y=np.asarray(values, dtype=float),
            marker_color=[ROLE_COLORS[r] for r in roles],
            hovertemplate="%{x}<br>%{y:.4f}<extra></extra>",
        )
    )
    style(fig, title, height=320)
    fig.update_xaxes(tickangle=-60, tickfont=dict(size=10))
    fig.update_yaxes(title=axis)
    return fig


def deletion_plot(fractions: np.ndarray, curves: dict[str, np.ndarray], areas: dict[str, float], answer: str):
    """p(answer) as the top-ranked words are deleted, one line per ranking, the area in the legend."""
    fig = go.Figure()
    k = np.arange(len(fractions))
    for name, curve in curves.items():
        fig.add_trace(
            go.Scatter(
                x=fractions,
                y=curve,
                customdata=k,
                mode="lines+markers",
                name=f"{name} (area {areas[name]:.3f})",
                line=dict(color=METHOD_COLORS.get(name, "#111827"), width=2, dash="dot" if name == "random" else None),
                hovertemplate=f"{name}: %{{customdata}} words deleted<br>p({answer}) = %{{y:.4f}}<extra></extra>",
            )
        )
    style(fig, f"deletion curves: p({answer}) as the top-ranked words are deleted (lower area = more faithful)")
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.25), height=380)
    fig.update_xaxes(range=[0, 1], title="fraction of the words deleted")
    fig.update_yaxes(range=[0, 1.02], title=f"p({answer})")
    return fig
