"""A run's log read back: CSV rows, a summary, the moving average of the loss, the chance line's name."""

from __future__ import annotations

import csv
import io
from typing import IO, Any

from explorer.labels import CHANCE_LOSS
from explorer.training.events import EndEvent, EvalEvent, Event, StepEvent, last_of, of_type

LOG_COLUMNS = (
    "kind",
    "step",
    "loss",
    "nsp_loss",
    "mlm_loss",
    "lr",
    "elapsed",
    "steps_per_s",
    "heldout_loss",
    "accuracy",
)
AVERAGE_WINDOW = 20  # steps in the moving average of the training loss (the chart's and the page's)


def chance_text(chance_loss: float, digits: int = 3) -> str:
    """'ln 2 = 0.693' at a 50/50 NotNext share, else 'H(q) = ...': the chance loss is ln 2 only at q = 1/2."""
    name = "ln 2" if abs(chance_loss - CHANCE_LOSS) < 1e-9 else "H(q)"
    return f"{name} = {chance_loss:.{digits}f}"


def moving_average(values: list[float], window: int = AVERAGE_WINDOW) -> list[float]:
    """Trailing mean over up to `window` values, so the curve starts at the first step."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def _write_log(log: list[Event], handle: IO[str]) -> None:
    writer = csv.DictWriter(handle, fieldnames=LOG_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for event in log:
        if isinstance(event, (StepEvent, EvalEvent)):
            row = event.to_dict()
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in LOG_COLUMNS})


def write_log_csv(log: list[Event], path: Any) -> None:
    with open(path, "w", newline="") as handle:
        _write_log(log, handle)


def log_csv_text(log: list[Event]) -> str:
    """The training log as CSV text (the app's download button)."""
    buffer = io.StringIO()
    _write_log(log, buffer)
    return buffer.getvalue()


def summarize_log(log: list[Event]) -> dict[str, Any]:
    evals = of_type(log, EvalEvent)
    steps = of_type(log, StepEvent)
    end = last_of(log, EndEvent)
    return {
        "steps_done": steps[-1].step if steps else 0,
        "status": end.status if end else None,
        "message": end.message if end else None,
        "elapsed_s": end.elapsed if end else None,
        "final_train_loss": steps[-1].loss if steps else None,
        "initial_heldout_loss": evals[0].heldout_loss if evals else None,
        "initial_heldout_accuracy": evals[0].accuracy if evals else None,
        "final_heldout_loss": evals[-1].heldout_loss if evals else None,
        "final_heldout_accuracy": evals[-1].accuracy if evals else None,
    }
