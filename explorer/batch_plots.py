"""Figures for the Batch tab, as pure functions: arrays in, plotly Figure out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.labels import CHANCE_LOSS
from explorer.plots import diverging_colours, style

BATCH_COLOR = "#2563eb"
UNSEEN_COLOR = "#9333ea"
BETTER, WORSE = "#16a34a", "#dc2626"


def matrix_heatmap(matrix, row_labels: list[str], title: str) -> go.Figure:
    """A [rows, H] tensor as one heatmap row per pair (or per class), all H columns side by side."""
    values = np.atleast_2d(np.asarray(matrix, dtype=np.float64))
    fig = go.Figure(
        go.Heatmap(
            z=values,
            y=row_labels,
            hovertemplate="%{y}, dim %{x}: %{z:.6f}<extra></extra>",
            **diverging_colours(values),
        )
    )
    fig.update_xaxes(title=f"dimension (H = {values.shape[1]})", showgrid=False)
    fig.update_yaxes(showgrid=False, autorange="reversed", type="category")
    return style(fig, title, height=90 + 16 * len(row_labels))


def loss_by_step(steps: list[int], batch_losses: list[float], unseen_losses: list[float | None]) -> go.Figure:
    """Mean CE after each SGD step, on the batch the steps were taken on and on the unseen batch."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=steps, y=batch_losses, mode="lines+markers", name="this batch", line_color=BATCH_COLOR))
    if any(u is not None for u in unseen_losses):
        fig.add_trace(
            go.Scatter(x=steps, y=unseen_losses, mode="lines+markers", name="unseen batch", line_color=UNSEEN_COLOR)
        )
    fig.add_hline(y=CHANCE_LOSS, line_dash="dot", line_color="#9ca3af", annotation_text="ln 2")
    fig.update_xaxes(title="SGD steps on the NSP head", dtick=1 if len(steps) <= 20 else None)
    fig.update_yaxes(title="mean cross-entropy", rangemode="tozero")
    fig = style(fig, "the loss, step by step", height=320)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.25))
    return fig


def ce_changes(changes) -> go.Figure:
    """Per pair: CE now minus CE before the steps; green bars got better, red ones worse."""
    delta = np.asarray(changes, dtype=np.float64)
    fig = go.Figure(
        go.Bar(
            x=[str(i) for i in range(1, len(delta) + 1)],
            y=delta,
            marker_color=[BETTER if d <= 0 else WORSE for d in delta],
            hovertemplate="pair %{x}: change in CE %{y:+.6f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="pair", type="category")
    fig.update_yaxes(title="CE now - CE before")
    return style(fig, "which pairs got better (below 0) or worse", height=280)
