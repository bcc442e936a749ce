"""How far to trust the shipped model's p(IsNext) on single sentences from unfamiliar styles.

Measured, not guessed: the out-of-domain benchmark's VALIDATION halves (explorer/ood.py) are scored by
the shipped model and its answers grouped by confidence (the probability of the predicted label, in the
bins of evaluate.py's reliability table). A bin whose answers were not measurably better than a coin
flip (the 95% Wilson interval of its accuracy reaches down to 50%) is a "not sure" band, and the
Explorer shows the measured accuracy next to p(IsNext) there.
Lexical signals of unfamiliar input (rare words, WordPiece splits, word frequency in the training text)
were tried on the same pairs and did not predict being wrong, so the note depends on confidence alone.

scripts/build_ood_reliability.py writes the table to RELIABILITY_PATH; the page only reads it.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np

from explorer.evaluate import report_from_logits
from explorer.models import BUNDLED_TRAINED, LoadedModel
from explorer.ood import DEFAULT_SEED, OodPair, evaluate_benchmark

RELIABILITY_PATH = Path(__file__).resolve().parent / "data" / "ood_reliability.json"
N_BINS = 10  # bins of width 0.1; a top-label confidence is at least 0.5, so five of them are used
COIN_FLIP = 0.5
Z_95 = 1.959964  # two-sided 95% normal quantile
MIN_BIN_PAIRS = 30  # fewer validation pairs say too little to print a percentage


def wilson_low(accuracy: float, n: int, z: float = Z_95) -> float:
    """Lower end of the Wilson score interval for a share `accuracy` of n trials."""
    centre = accuracy + z * z / (2 * n)
    spread = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def not_sure(accuracy: float, count: int) -> bool:
    """Enough pairs, and their answers not measurably better than a coin flip."""
    return count >= MIN_BIN_PAIRS and wilson_low(accuracy, count) <= COIN_FLIP


def reliability_table(loaded: LoadedModel, pairs_by_source: dict[str, list[OodPair]], seed: int = DEFAULT_SEED) -> dict:
    """The file's content: per confidence bin, how often the model's answers were right on these pairs."""
    result = evaluate_benchmark(loaded, pairs_by_source)
    labels = np.array([p.label for pairs in pairs_by_source.values() for p in pairs], dtype=np.int64)
    report = report_from_logits(result.logits, labels, n_bins=N_BINS)
    bins = [
        {**vars(b), "accuracy_low_95": wilson_low(b.accuracy, b.count), "not_sure": not_sure(b.accuracy, b.count)}
        for b in report.bins
    ]
    return {
        "model": loaded.source,
        "half": "validation",
        "seed": seed,
        "sources": {name: len(pairs) for name, pairs in pairs_by_source.items()},
        "n": report.n,
        "accuracy": report.accuracy,
        "ece": report.ece,
        "not_sure_rule": "95% Wilson interval of the bin's accuracy reaches 50%",
        "bins": bins,
    }


@functools.cache
def load_table(path: Path = RELIABILITY_PATH) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # no table: the page simply shows no note


def _bin_of(confidence: float, bins: list[dict]) -> dict | None:
    for b in bins:  # evaluate.py's bins hold (low, high]
        if b["low"] < confidence <= b["high"]:
            return b
    lowest = min(bins, key=lambda b: b["low"], default=None)
    return lowest if lowest is not None and confidence <= lowest["low"] else None  # exactly 50/50


def confidence_note(loaded: LoadedModel, probabilities: np.ndarray, table: dict | None = None) -> str | None:
    """A one-line warning when the answer falls in a measured "not sure" band; None otherwise.

    The table describes the shipped model only, so any other model gets no note.
    """
    table = load_table() if table is None else table
    if table is None or loaded.source != BUNDLED_TRAINED or table.get("model") != BUNDLED_TRAINED:
        return None
    confidence = float(np.max(probabilities))
    found = _bin_of(confidence, table["bins"])
    if found is None or not found["not_sure"]:
        return None
    styles = ", ".join(table["sources"])
    return (
        f"Not sure: on single sentences from styles this model was not trained on ({styles}; "
        f"{table['n']:,} validation pairs), answers with a confidence from {found['low']:.1f} to {found['high']:.1f} "
        f"were right only {found['accuracy']:.0%} of the time ({found['count']} pairs): not measurably better "
        "than a coin flip. Treat this p(IsNext) as a guess."
    )
