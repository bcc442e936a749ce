"""Figures for the explorer, as pure functions: data in, plotly Figure out. Nothing here knows Streamlit.

One colour convention everywhere: sentence A blue, sentence B orange, special tokens grey;
IsNext green, NotNext red.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from explorer.labels import CHANCE_LOSS, LABEL_NAMES

ROLE_COLORS = {"A": "#2563eb", "B": "#ea580c", "special": "#6b7280"}
LABEL_COLORS = {"IsNext": "#16a34a", "NotNext": "#dc2626"}
FONT = dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=13)


def style(fig: go.Figure, title: str, height: int = 300, **layout: object) -> go.Figure:
    """The one look of every figure (explorer and training): title at the left, white, light grid.

    `layout` overrides or adds layout settings (e.g. a legend, or uirevision for charts that refresh).
    """
    settings: dict[str, object] = dict(
        title=dict(text=title, x=0.0, xanchor="left"),
        height=height,
        margin=dict(l=50, r=20, t=50, b=40),
        font=FONT,
        plot_bgcolor="white",
        paper_bgcolor="white",
        showlegend=False,
    )
    fig.update_layout(**(settings | layout))
    fig.update_xaxes(showgrid=True, gridcolor="#eef0f3", zeroline=False)
    fig.update_yaxes(showgrid=True, gridcolor="#eef0f3", zeroline=False)
    return fig


_layout = style  # the older name, still used by figures added on parallel branches; new code calls style()


def probability_bars(probabilities, label: int | None = None, title: str = "softmax probabilities") -> go.Figure:
    """Two bars, p(IsNext) and p(NotNext); the true label (if known) is outlined."""
    probs = [float(p) for p in probabilities]
    outline = [3 if label == i else 0 for i in range(2)]
    fig = go.Figure(
        go.Bar(
            x=list(LABEL_NAMES),
            y=probs,
            marker=dict(color=[LABEL_COLORS[n] for n in LABEL_NAMES], line=dict(color="#111827", width=outline)),
            text=[f"{p:.4f}" for p in probs],
            textposition="outside",
            hovertemplate="p(%{x}) = %{y:.6f}<extra></extra>",
        )
    )
    fig.add_hline(y=0.5, line_dash="dot", line_color="#9ca3af", annotation_text="0.5", annotation_position="right")
    fig.update_yaxes(range=[0, 1.12], title="probability")
    return style(fig, title)


def logit_bars(logits, title: str = "logits (pooler path)") -> go.Figure:
    values = [float(z) for z in logits]
    fig = go.Figure(
        go.Bar(
            x=list(LABEL_NAMES),
            y=values,
            marker_color=[LABEL_COLORS[n] for n in LABEL_NAMES],
            text=[f"{z:+.4f}" for z in values],
            textposition="outside",
            hovertemplate="z(%{x}) = %{y:.6f}<extra></extra>",
        )
    )
    span = max(1.0, max(abs(v) for v in values) * 1.3)
    fig.update_yaxes(range=[-span, span], title="logit", zeroline=True, zerolinecolor="#9ca3af")
    return style(fig, title)


def cross_entropy_curve(p_true: float, loss: float, label_name: str) -> go.Figure:
    """CE = -log p over p in (0, 1), with the current pair and the chance level ln 2 marked."""
    p = np.linspace(0.005, 1.0, 400)
    fig = go.Figure(
        go.Scatter(
            x=p,
            y=-np.log(p),
            mode="lines",
            line=dict(color="#374151", width=2),
            hovertemplate="p = %{x:.3f}<br>-log p = %{y:.3f}<extra></extra>",
        )
    )
    fig.add_hline(
        y=CHANCE_LOSS,
        line_dash="dash",
        line_color="#9ca3af",
        annotation_text=f"chance: ln 2 = {CHANCE_LOSS:.4f}",
        annotation_position="top right",
    )
    fig.add_vline(x=0.5, line_dash="dot", line_color="#d1d5db")
    fig.add_trace(
        go.Scatter(
            x=[p_true],
            y=[loss],
            mode="markers+text",
            marker=dict(size=14, color=LABEL_COLORS[label_name], line=dict(color="#111827", width=1.5)),
            text=[f"this pair: p={p_true:.4f}, CE={loss:.4f}"],
            textposition="top right",
            hovertemplate=f"p({label_name}) = %{{x:.6f}}<br>CE = %{{y:.6f}}<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 1.02], title=f"p({label_name}) = probability of the true label")
    fig.update_yaxes(range=[0, max(5.3, loss + 0.5)], title="cross-entropy  -log p")
    return style(fig, "cross-entropy as a function of p(true label)", height=340)


def vector_heatmap(vector, title: str, columns: int = 32, zmax: float | None = None) -> go.Figure:
    """A hidden vector folded into a grid of `columns` so all H numbers fit on screen."""
    v = np.asarray(vector, dtype=np.float64).ravel()
    rows = math.ceil(len(v) / columns)
    grid = np.full(rows * columns, np.nan)
    grid[: len(v)] = v
    index = np.arange(rows * columns).reshape(rows, columns)
    # A robust colour range: one outlier dimension would otherwise wash out all the others.
    limit = zmax or float(np.nanpercentile(np.abs(v), 98)) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=grid.reshape(rows, columns),
            customdata=index,
            colorscale="RdBu",
            zmid=0,
            zmin=-limit,
            zmax=limit,
            hovertemplate="dim %{customdata}: %{z:.4f}<extra></extra>",
            colorbar=dict(thickness=10),
        )
    )
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, autorange="reversed")
    return style(fig, title, height=60 + 18 * rows)


def embedding_norms(tokens: list[str], roles: list[str], norms: dict[str, np.ndarray]) -> go.Figure:
    """Per token: how large the token, position and segment parts are, and the size of their sum."""
    x = [f"{i}: {t}" for i, t in enumerate(tokens)]
    fig = go.Figure()
    styles = {"token": "#8b5cf6", "position": "#14b8a6", "segment": "#f59e0b"}
    for part, color in styles.items():
        fig.add_trace(
            go.Bar(
                x=x,
                y=norms[part],
                name=f"{part} embedding",
                marker_color=color,
                hovertemplate=f"%{{x}}<br>|{part}| = %{{y:.3f}}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=norms["sum"],
            name="|sum|",
            mode="markers",
            marker=dict(
                symbol="diamond", size=9, color=[ROLE_COLORS[r] for r in roles], line=dict(color="#111827", width=1)
            ),
            hovertemplate="%{x}<br>|token + position + segment| = %{y:.3f}<extra></extra>",
        )
    )
    style(fig, "L2 norm of each part of the input embedding, per token", height=340)
    fig.update_layout(barmode="group", showlegend=True, legend=dict(orientation="h", y=-0.3))
    fig.update_xaxes(tickangle=-45)
    return fig


def embedding_heatmap(tokens: list[str], matrix: np.ndarray, title: str, dims: int = 48) -> go.Figure:
    """Tokens x the first `dims` dimensions of an embedding matrix."""
    m = np.asarray(matrix)[:, :dims]
    limit = float(np.abs(m).max()) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=m,
            y=[f"{i}: {t}" for i, t in enumerate(tokens)],
            colorscale="RdBu",
            zmid=0,
            zmin=-limit,
            zmax=limit,
            colorbar=dict(thickness=10),
            hovertemplate="%{y}<br>dim %{x}: %{z:.4f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(title=f"dimension (first {m.shape[1]})", showgrid=False)
    return style(fig, title, height=max(260, 60 + 16 * len(tokens)))


def segment_vector_plot(e_a: np.ndarray, e_b: np.ndarray) -> go.Figure:
    """E_A and E_B dimension by dimension, and their difference."""
    dims = np.arange(len(e_a))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=dims, y=e_a, mode="lines", name="E_A (segment 0)", line=dict(color=ROLE_COLORS["A"])))
    fig.add_trace(go.Scatter(x=dims, y=e_b, mode="lines", name="E_B (segment 1)", line=dict(color=ROLE_COLORS["B"])))
    fig.add_trace(go.Bar(x=dims, y=e_b - e_a, name="E_B - E_A", marker_color="#9ca3af", opacity=0.6))
    style(fig, "the two segment embeddings, dimension by dimension", height=300)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(title="dimension")
    return fig


def confusion_matrix(counts, title: str = "confusion matrix") -> go.Figure:
    """Rows: true label; columns: predicted label."""
    counts = np.asarray(counts)
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=[f"predicted {n}" for n in LABEL_NAMES],
            y=[f"true {n}" for n in LABEL_NAMES],
            colorscale="Blues",
            showscale=False,
            text=counts,
            texttemplate="%{text}",
            hovertemplate="%{y}, %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False, side="top")
    return style(fig, title, height=300)


def reliability_diagram(bins, ece: float) -> go.Figure:
    """Accuracy against confidence per bin; a calibrated model lies on the diagonal."""
    mids = [(b.low + b.high) / 2 for b in bins]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dash", color="#9ca3af"), hoverinfo="skip")
    )
    fig.add_trace(
        go.Bar(
            x=mids,
            y=[b.accuracy for b in bins],
            width=[b.high - b.low for b in bins],
            marker_color="#60a5fa",
            opacity=0.8,
            customdata=[[b.count, b.confidence] for b in bins],
            hovertemplate="confidence %{customdata[1]:.3f}<br>accuracy %{y:.3f}<br>"
            "%{customdata[0]} pairs<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[b.confidence for b in bins],
            y=[b.accuracy for b in bins],
            mode="markers",
            marker=dict(color="#1d4ed8", size=8),
            hoverinfo="skip",
        )
    )
    fig.update_xaxes(range=[0, 1], title="confidence (probability of the predicted label)")
    fig.update_yaxes(range=[0, 1.05], title="accuracy")
    return style(fig, f"reliability diagram · ECE = {ece:.4f}", height=340)
