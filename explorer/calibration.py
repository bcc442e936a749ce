"""Temperature scaling: one number T that divides the logits so probabilities match observed frequencies.

Fitted on held-out pairs after training, then folded into the NSP head (W / T, b / T), so the
calibrated model is still a plain BertForNextSentencePrediction.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from explorer.nsp import log_softmax


def mean_nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    log_probs = log_softmax(np.asarray(logits, dtype=np.float64) / temperature)
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, low: float = 0.05, high: float = 20.0) -> float:
    """The T minimising the mean cross-entropy; golden-section search on log T (the loss is unimodal there)."""
    labels = np.asarray(labels, dtype=np.int64)
    a, b = math.log(low), math.log(high)
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    for _ in range(80):
        if mean_nll(logits, labels, math.exp(c)) < mean_nll(logits, labels, math.exp(d)):
            b, d = d, c
            c = b - ratio * (b - a)
        else:
            a, c = c, d
            d = a + ratio * (b - a)
    return math.exp((a + b) / 2)


@torch.no_grad()
def fold_temperature(model, temperature: float) -> None:
    """Make the model's own logits the calibrated ones: softmax(z / T) with z = W p + b."""
    head = model.cls.seq_relationship
    head.weight.div_(temperature)
    head.bias.div_(temperature)
