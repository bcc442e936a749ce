"""Training curves as pure functions: the run's typed events in, a plotly Figure out. Knows nothing of Streamlit.

Colours follow explorer.plots: training loss grey with its moving average dark, held-out blue,
the chance line ln 2 dashed grey; MLM and total (scratch pretraining) get their own colours.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from explorer.labels import CHANCE_LOSS
from explorer.plots import style
from explorer.training.events import EvalEvent, Event, StartEvent, StepEvent, first_of, of_type
from explorer.training.log import AVERAGE_WINDOW, chance_text, moving_average

TRAIN_COLOR = "#9ca3af"
AVERAGE_COLOR = "#111827"
HELDOUT_COLOR = "#2563eb"
MLM_COLOR = "#a855f7"
NSP_COLOR = "#ea580c"
ACCURACY_COLOR = "#16a34a"


def curves(log: list[Event], window: int = AVERAGE_WINDOW) -> dict[str, list[Any]]:
    """The series a chart needs, from the run's step and eval events."""
    steps = of_type(log, StepEvent)
    evals = of_type(log, EvalEvent)
    losses = [e.loss for e in steps]
    return {
        "step": [e.step for e in steps],
        "loss": losses,
        "loss_avg": moving_average(losses, window),
        "nsp_loss": [e.nsp_loss for e in steps],
        "mlm_loss": [e.mlm_loss for e in steps],
        "eval_step": [e.step for e in evals],
        "heldout_loss": [e.heldout_loss for e in evals],
        "accuracy": [e.accuracy for e in evals],
    }


def _style(fig: go.Figure, title: str, height: int) -> go.Figure:
    """explorer.plots' look, plus a legend on top and the zoom kept while the chart refreshes."""
    fig.update_xaxes(title="step")
    return style(
        fig,
        title,
        height,
        showlegend=None,  # plotly's default: a legend once there are two traces
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
        uirevision="training",
    )


def _eval_curve(fig: go.Figure, c: dict[str, list[Any]], series: str, name: str, color: str, **extra: Any) -> None:
    """One value per evaluation, drawn as a line with a marker at each evaluation."""
    fig.add_scatter(
        x=c["eval_step"], y=c[series], name=name, mode="lines+markers", line=dict(color=color, width=2),
        marker=dict(size=7), **extra,
    )  # fmt: skip


def loss_figure(
    log: list[Event], total_steps: int | None = None, window: int = AVERAGE_WINDOW, height: int = 340
) -> go.Figure:
    """Training cross-entropy per step and its moving average, held-out loss at each evaluation, chance ln 2."""
    c = curves(log, window)
    start = first_of(log, StartEvent)
    chance = start.chance_loss if start else CHANCE_LOSS  # H(q) when the NotNext share q is not 1/2
    fig = go.Figure()
    with_mlm = any(v is not None for v in c["mlm_loss"])
    if with_mlm:
        # Scratch pretraining: total = MLM + NSP, as BERT adds them; each part gets its own curve.
        for part, color in (("MLM", MLM_COLOR), ("NSP", NSP_COLOR)):
            values = moving_average(c[f"{part.lower()}_loss"], window)
            fig.add_scatter(
                x=c["step"], y=values, name=f"{part} (avg)", mode="lines", line=dict(color=color, width=1.5)
            )
    fig.add_scatter(
        x=c["step"],
        y=c["loss"],
        name="total loss per step" if with_mlm else "training loss per step",
        mode="lines",
        line=dict(color=TRAIN_COLOR, width=1),
    )
    fig.add_scatter(
        x=c["step"],
        y=c["loss_avg"],
        name=f"moving average ({window} steps)",
        mode="lines",
        line=dict(color=AVERAGE_COLOR, width=2),
    )
    _eval_curve(fig, c, "heldout_loss", "held-out NSP loss", HELDOUT_COLOR)
    fig.add_hline(
        y=chance,
        line_dash="dash",
        line_color="#6b7280",
        annotation_text=f"chance: {chance_text(chance)}",
        annotation_position="bottom right",
    )
    if total_steps:
        fig.update_xaxes(range=[0, total_steps])
    fig.update_yaxes(title="cross-entropy (nats)", rangemode="tozero")
    return _style(fig, "Loss: falls below ln 2 when the model learns", height)


def accuracy_figure(log: list[Event], total_steps: int | None = None, height: int = 260) -> go.Figure:
    """Held-out NSP accuracy at each evaluation, with what always giving the more frequent label gets (50% at 50/50)."""
    c = curves(log)
    start = first_of(log, StartEvent)
    chance = start.chance_accuracy if start else 0.5
    fig = go.Figure()
    _eval_curve(
        fig, c, "accuracy", "held-out accuracy", ACCURACY_COLOR,
        hovertemplate="step %{x}<br>accuracy %{y:.1%}<extra></extra>",
    )  # fmt: skip
    fig.add_hline(
        y=chance,
        line_dash="dash",
        line_color="#6b7280",
        annotation_text=f"chance: {chance:.0%}" if chance == 0.5 else f"always the more frequent label: {chance:.0%}",
        annotation_position="bottom right",
    )
    if total_steps:
        fig.update_xaxes(range=[0, total_steps])
    fig.update_yaxes(title="accuracy", range=[0, 1], tickformat=".0%")
    return _style(fig, "Held-out accuracy (documents never trained on)", height)
