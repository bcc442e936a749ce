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
GRID_STYLE = dict(showgrid=True, gridcolor="#eef0f3", zeroline=False)


def _base_layout(title: str, height: int) -> dict:
    return dict(
        title=dict(text=title, x=0.0, xanchor="left"),
        height=height,
        margin=dict(l=50, r=20, t=50, b=40),
        font=FONT,
        plot_bgcolor="white",
        paper_bgcolor="white",
        showlegend=False,
    )


def style(fig: go.Figure, title: str, height: int = 300, **layout: object) -> go.Figure:
    """The one look of every figure, applied to a figure already built (figures off the Explorer's hot path).

    `layout` overrides or adds layout settings (e.g. a legend, or uirevision for charts that refresh).
    """
    fig.update_layout(**(_base_layout(title, height) | layout))
    fig.update_xaxes(**GRID_STYLE)
    fig.update_yaxes(**GRID_STYLE)
    return fig


def _figure(traces: list[dict], title: str, height: int = 300, axes_win: bool = False, **layout) -> go.Figure:
    """A figure in the house style, built in one step from plain dicts.

    Plotly validates every property on each update, so building a figure and then updating it costs
    about ten times building it once, and one Explorer edit draws six figures. Each axis gets
    GRID_STYLE; with `axes_win` the figure's own axis settings override it.
    """
    for axis in ("xaxis", "yaxis"):
        own = layout.get(axis, {})
        layout[axis] = {**GRID_STYLE, **own} if axes_win else {**own, **GRID_STYLE}
    return go.Figure(data=traces, layout={**_base_layout(title, height), **layout})


def _hline(y: float, dash: str, color: str) -> dict:
    """The line fig.add_hline draws: across the whole plot width at height y."""
    return dict(type="line", x0=0, x1=1, xref="x domain", y0=y, y1=y, yref="y", line=dict(dash=dash, color=color))


def _hline_label(text: str, y: float, xanchor: str, yanchor: str) -> dict:
    """The annotation fig.add_hline puts at the right end of its line."""
    return dict(text=text, showarrow=False, x=1, xanchor=xanchor, xref="x domain", y=y, yanchor=yanchor, yref="y")


def probability_bars(probabilities, label: int | None = None, title: str = "softmax probabilities") -> go.Figure:
    """Two bars, p(IsNext) and p(NotNext); the true label (if known) is outlined."""
    probs = [float(p) for p in probabilities]
    outline = [3 if label == i else 0 for i in range(2)]
    bars = dict(
        type="bar",
        x=list(LABEL_NAMES),
        y=probs,
        marker=dict(color=[LABEL_COLORS[n] for n in LABEL_NAMES], line=dict(color="#111827", width=outline)),
        text=[f"{p:.4f}" for p in probs],
        textposition="outside",
        hovertemplate="p(%{x}) = %{y:.6f}<extra></extra>",
    )
    return _figure(
        [bars],
        title,
        yaxis=dict(range=[0, 1.12], title=dict(text="probability")),
        shapes=[_hline(0.5, "dot", "#9ca3af")],
        annotations=[_hline_label("0.5", 0.5, "left", "middle")],
    )


def logit_bars(logits, title: str = "logits (pooler path)") -> go.Figure:
    values = [float(z) for z in logits]
    bars = dict(
        type="bar",
        x=list(LABEL_NAMES),
        y=values,
        marker=dict(color=[LABEL_COLORS[n] for n in LABEL_NAMES]),
        text=[f"{z:+.4f}" for z in values],
        textposition="outside",
        hovertemplate="z(%{x}) = %{y:.6f}<extra></extra>",
    )
    span = max(1.0, max(abs(v) for v in values) * 1.3)
    return _figure([bars], title, yaxis=dict(range=[-span, span], title=dict(text="logit"), zerolinecolor="#9ca3af"))


def cross_entropy_curve(p_true: float, loss: float, label_name: str) -> go.Figure:
    """CE = -log p over p in (0, 1), with the current pair and the chance level ln 2 marked."""
    p = np.linspace(0.005, 1.0, 400)
    curve = dict(
        type="scatter",
        x=p,
        y=-np.log(p),
        mode="lines",
        line=dict(color="#374151", width=2),
        hovertemplate="p = %{x:.3f}<br>-log p = %{y:.3f}<extra></extra>",
    )
    this_pair = dict(
        type="scatter",
        x=[p_true],
        y=[loss],
        mode="markers+text",
        marker=dict(size=14, color=LABEL_COLORS[label_name], line=dict(color="#111827", width=1.5)),
        text=[f"this pair: p={p_true:.4f}, CE={loss:.4f}"],
        textposition="top right",
        hovertemplate=f"p({label_name}) = %{{x:.6f}}<br>CE = %{{y:.6f}}<extra></extra>",
    )
    half = dict(
        type="line", x0=0.5, x1=0.5, xref="x", y0=0, y1=1, yref="y domain", line=dict(dash="dot", color="#d1d5db")
    )
    return _figure(
        [curve, this_pair],
        "cross-entropy as a function of p(true label)",
        height=340,
        xaxis=dict(range=[0, 1.02], title=dict(text=f"p({label_name}) = probability of the true label")),
        yaxis=dict(range=[0, max(5.3, loss + 0.5)], title=dict(text="cross-entropy  -log p")),
        shapes=[_hline(CHANCE_LOSS, "dash", "#9ca3af"), half],
        annotations=[_hline_label(f"chance: ln 2 = {CHANCE_LOSS:.4f}", CHANCE_LOSS, "right", "bottom")],
    )


def diverging_colours(values, limit: float | None = None) -> dict:
    """A heatmap's colours centred on 0; by default a robust range, the 98th percentile of |values|,
    because one outlier dimension would otherwise wash out all the others."""
    limit = limit or float(np.nanpercentile(np.abs(values), 98)) or 1.0
    return dict(colorscale="RdBu", zmid=0, zmin=-limit, zmax=limit, colorbar=dict(thickness=10))


def vector_heatmap(vector, title: str, columns: int = 32, zmax: float | None = None) -> go.Figure:
    """A hidden vector folded into a grid of `columns` so all H numbers fit on screen."""
    v = np.asarray(vector, dtype=np.float64).ravel()
    rows = math.ceil(len(v) / columns)
    grid = np.full(rows * columns, np.nan)
    grid[: len(v)] = v
    index = np.arange(rows * columns).reshape(rows, columns)
    heatmap = dict(
        type="heatmap",
        z=grid.reshape(rows, columns),
        customdata=index,
        hovertemplate="dim %{customdata}: %{z:.4f}<extra></extra>",
        **diverging_colours(v, zmax),
    )
    return _figure(
        [heatmap],
        title,
        height=60 + 18 * rows,
        xaxis=dict(showticklabels=False),
        yaxis=dict(showticklabels=False, autorange="reversed"),
    )


def embedding_norms(tokens: list[str], roles: list[str], norms: dict[str, np.ndarray]) -> go.Figure:
    """Per token: how large the token, position and segment parts are, and the size of their sum."""
    x = [f"{i}: {t}" for i, t in enumerate(tokens)]
    styles = {"token": "#8b5cf6", "position": "#14b8a6", "segment": "#f59e0b"}
    traces = [
        dict(
            type="bar",
            x=x,
            y=norms[part],
            name=f"{part} embedding",
            marker=dict(color=color),
            hovertemplate=f"%{{x}}<br>|{part}| = %{{y:.3f}}<extra></extra>",
        )
        for part, color in styles.items()
    ]
    traces.append(
        dict(
            type="scatter",
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
    return _figure(
        traces,
        "L2 norm of each part of the input embedding, per token",
        height=340,
        axes_win=True,
        xaxis=dict(tickangle=-45),
        barmode="group",
        showlegend=True,
        legend=dict(orientation="h", y=-0.3),
    )


def embedding_heatmap(tokens: list[str], matrix: np.ndarray, title: str, dims: int = 48) -> go.Figure:
    """Tokens x the first `dims` dimensions of an embedding matrix."""
    m = np.asarray(matrix)[:, :dims]
    heatmap = dict(
        type="heatmap",
        z=m,
        y=[f"{i}: {t}" for i, t in enumerate(tokens)],
        **diverging_colours(m, float(np.abs(m).max()) or 1.0),  # the full range: every token's row compared
        hovertemplate="%{y}<br>dim %{x}: %{z:.4f}<extra></extra>",
    )
    return _figure(
        [heatmap],
        title,
        height=max(260, 60 + 16 * len(tokens)),
        xaxis=dict(title=dict(text=f"dimension (first {m.shape[1]})")),
        yaxis=dict(autorange="reversed"),
    )


def segment_vector_plot(e_a: np.ndarray, e_b: np.ndarray) -> go.Figure:
    """E_A and E_B dimension by dimension, and their difference."""
    dims = np.arange(len(e_a))
    traces = [
        dict(type="scatter", x=dims, y=e_a, mode="lines", name="E_A (segment 0)", line=dict(color=ROLE_COLORS["A"])),
        dict(type="scatter", x=dims, y=e_b, mode="lines", name="E_B (segment 1)", line=dict(color=ROLE_COLORS["B"])),
        dict(type="bar", x=dims, y=e_b - e_a, name="E_B - E_A", marker=dict(color="#9ca3af"), opacity=0.6),
    ]
    return _figure(
        traces,
        "the two segment embeddings, dimension by dimension",
        axes_win=True,
        xaxis=dict(title=dict(text="dimension")),
        showlegend=True,
        legend=dict(orientation="h", y=-0.25),
    )


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
