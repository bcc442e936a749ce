"""The NSP label convention, shared by Google's BERT code and Hugging Face transformers."""

import math

IS_NEXT = 0  # B really follows A
NOT_NEXT = 1  # B is random text from another document
LABEL_NAMES = ("IsNext", "NotNext")

# A constant predictor on a 50/50 label prior can do no better than this loss.
CHANCE_LOSS = math.log(2)


def label_from_name(name: str) -> int:
    """Parse 'isnext' / 'notnext' (any case, also '0' / '1') into 0 / 1."""
    key = str(name).strip().lower().replace("_", "").replace("-", "")
    if key in ("isnext", "0"):
        return IS_NEXT
    if key in ("notnext", "1"):
        return NOT_NEXT
    raise ValueError(f"unknown label {name!r}: use IsNext (0) or NotNext (1)")


def binary_entropy(q: float) -> float:
    """Best loss of a constant predictor when a share q of pairs is NotNext: H(q) in nats."""
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must lie in [0, 1]")
    if q in (0.0, 1.0):
        return 0.0
    return -q * math.log(q) - (1 - q) * math.log(1 - q)


def prior_logit_gap(q: float) -> float:
    """z_NotNext - z_IsNext of the best constant predictor when a share q of pairs is NotNext: log(q / (1 - q)).

    A model that ignores the pair can still lower the loss from ln 2 to H(q) by learning this gap, which the
    head's bias can hold; accuracy then is constant_accuracy(q)."""
    if not 0.0 < q < 1.0:
        raise ValueError("q must lie strictly between 0 and 1")
    return math.log(q / (1 - q))


def constant_accuracy(q: float) -> float:
    """Accuracy of always answering the more frequent label, when a share q of pairs is NotNext."""
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must lie in [0, 1]")
    return max(q, 1 - q)
