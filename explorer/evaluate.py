"""Evaluate a model on a file of labelled pairs: accuracy, mean cross-entropy, confusion matrix, calibration.

A pairs file is CSV (header with columns a, b, label) or JSON lines ({"a": ..., "b": ..., "label": ...});
label 0 = IsNext, 1 = NotNext.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.encoding import DEFAULT_MAX_LENGTH
from explorer.labels import LABEL_NAMES
from explorer.models import LoadedModel
from explorer.nsp import log_softmax, score_pairs

MAX_FILE_BYTES = 20 * 1024 * 1024
REQUIRED = ("a", "b", "label")


class EvalFileError(ValueError):
    """The pairs file cannot be used; the message says which line and why."""


@dataclass(frozen=True)
class LabelledPair:
    a: str
    b: str
    label: int


@dataclass
class ReliabilityBin:
    low: float
    high: float
    count: int
    confidence: float  # mean predicted probability of the predicted label
    accuracy: float  # share of those predictions that were right


@dataclass
class EvalReport:
    n: int
    accuracy: float
    mean_loss: float
    confusion: np.ndarray  # [true label, predicted label] counts
    ece: float  # expected calibration error of the top-label confidence
    bins: list[ReliabilityBin]
    probabilities: np.ndarray  # [n, 2]
    labels: np.ndarray  # [n]

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "mean_loss": self.mean_loss,
            "confusion": {"rows_true_cols_predicted": list(LABEL_NAMES), "counts": self.confusion.tolist()},
            "ece": self.ece,
            "reliability": [vars(b) for b in self.bins],
            "mean_p_true": float(self.probabilities[np.arange(self.n), self.labels].mean()) if self.n else None,
        }


def _parse_label(value, where: str) -> int:
    if not isinstance(value, bool):  # JSON true/false is not a label
        if str(value).strip() in ("0", "1"):
            return int(str(value).strip())
        if isinstance(value, (int, float)) and value in (0, 1):
            return int(value)
    raise EvalFileError(f"{where}: label must be 0 (IsNext) or 1 (NotNext), got {value!r}")


def _row_to_pair(row: dict, where: str) -> LabelledPair:
    a, b = row.get("a"), row.get("b")
    if not isinstance(a, str) or not a.strip() or not isinstance(b, str) or not b.strip():
        raise EvalFileError(f"{where}: a and b must be non-empty text")
    return LabelledPair(a, b, _parse_label(row.get("label"), where))


def parse_pairs(data: bytes, name: str = "pairs") -> list[LabelledPair]:
    """Read pairs from the bytes of a CSV or JSON-lines file."""
    if len(data) > MAX_FILE_BYTES:
        raise EvalFileError(f"{name} is larger than {MAX_FILE_BYTES // 2**20} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise EvalFileError(f"{name} is not UTF-8 text (byte {err.start}).") from err
    if not text.strip():
        raise EvalFileError(f"{name} is empty.")
    if "\x00" in text:
        raise EvalFileError(f"{name} looks like binary data, not a CSV or JSON-lines file.")
    first = text.lstrip()[0]
    pairs = _parse_jsonl(text, name) if first == "{" else _parse_csv(text, name)
    if not pairs:
        raise EvalFileError(f"{name} has a header but no pairs.")
    return pairs


def _parse_jsonl(text: str, name: str) -> list[LabelledPair]:
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise EvalFileError(f"{name} line {number}: not valid JSON ({err.msg}).") from err
        if not isinstance(row, dict) or any(k not in row for k in REQUIRED):
            raise EvalFileError(f"{name} line {number}: needs the keys a, b and label.")
        pairs.append(_row_to_pair(row, f"{name} line {number}"))
    return pairs


def _parse_csv(text: str, name: str) -> list[LabelledPair]:
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise EvalFileError(f"{name} is missing the column(s) {', '.join(missing)}; the header must name a, b, label.")
    reader.fieldnames = columns
    return [_row_to_pair(row, f"{name} line {number}") for number, row in enumerate(reader, start=2)]


def read_pairs(path: str | Path) -> list[LabelledPair]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise EvalFileError(f"Cannot read {path}: {err.strerror or err}.") from err
    return parse_pairs(data, path.name)


def report_from_logits(logits: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> EvalReport:
    labels = np.asarray(labels, dtype=np.int64)
    log_probs = log_softmax(logits)
    probs = np.exp(log_probs)
    n = len(labels)
    predicted = probs.argmax(axis=1)
    correct = predicted == labels
    confusion = np.zeros((2, 2), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    confidence = probs.max(axis=1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    bins, ece = [], 0.0
    for i in range(n_bins):
        members = which == i
        count = int(members.sum())
        if count:
            conf, acc = float(confidence[members].mean()), float(correct[members].mean())
            ece += count / n * abs(acc - conf)
            bins.append(ReliabilityBin(float(edges[i]), float(edges[i + 1]), count, conf, acc))
    return EvalReport(
        n=n,
        accuracy=float(correct.mean()) if n else float("nan"),
        mean_loss=float(-log_probs[np.arange(n), labels].mean()) if n else float("nan"),
        confusion=confusion,
        ece=float(ece),
        bins=bins,
        probabilities=probs,
        labels=labels,
    )


def evaluate_pairs(
    loaded: LoadedModel, pairs: list[LabelledPair], max_length: int = DEFAULT_MAX_LENGTH, batch_size: int = 32
) -> EvalReport:
    logits = score_pairs(loaded, [(p.a, p.b) for p in pairs], max_length=max_length, batch_size=batch_size)
    return report_from_logits(logits, np.array([p.label for p in pairs]))
