"""Evaluate a model on a file of labelled pairs: accuracy, mean cross-entropy, confusion matrix, calibration.

A pairs file is CSV (header with columns a, b, label), JSON lines ({"a": ..., "b": ..., "label": ...}, one
object a line) or JSON (a list of such objects); label 0 = IsNext, 1 = NotNext. A sentence may be up to
MAX_SENTENCE_CHARS long, as in the Explorer's text boxes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.encoding import DEFAULT_MAX_LENGTH, MAX_SENTENCE_CHARS
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
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:40] + "…"  # a message is one short line, whatever the cell held
    raise EvalFileError(f"{where}: label must be 0 (IsNext) or 1 (NotNext), got {shown}")


def _too_long(where: str) -> EvalFileError:
    return EvalFileError(
        f"{where}: a field is longer than {MAX_SENTENCE_CHARS:,} characters, the longest sentence this app takes."
    )


def _row_to_pair(row: dict, where: str) -> LabelledPair:
    a, b = row.get("a"), row.get("b")
    if not isinstance(a, str) or not a.strip() or not isinstance(b, str) or not b.strip():
        raise EvalFileError(f"{where}: a and b must be non-empty text")
    if max(len(a), len(b)) > MAX_SENTENCE_CHARS:
        raise _too_long(where)
    return LabelledPair(a, b, _parse_label(row.get("label"), where))


def parse_pairs(data: bytes, name: str = "pairs") -> list[LabelledPair]:
    """Read pairs from the bytes of a CSV, JSON-lines or JSON file, or raise EvalFileError saying where and why."""
    if len(data) > MAX_FILE_BYTES:
        raise EvalFileError(f"{name} is larger than {MAX_FILE_BYTES // 2**20} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise EvalFileError(f"{name} is not UTF-8 text (byte {err.start}).") from err
    if not text.strip():
        raise EvalFileError(f"{name} is empty.")
    if "\x00" in text:
        raise EvalFileError(f"{name} looks like binary data, not a CSV, JSON-lines or JSON file.")
    first = text.lstrip()[0]
    readers = {"{": _parse_jsonl, "[": _parse_json}
    pairs = readers.get(first, _parse_csv)(text, name)
    if not pairs:
        raise EvalFileError(f"{name} holds no pairs.")
    return pairs


def _load_json(text: str, where: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise EvalFileError(f"{where}: not valid JSON ({err.msg}).") from None
    except ValueError:  # Python refuses to read integers of more than 4,300 digits
        raise EvalFileError(f"{where}: a number in it has too many digits.") from None
    except RecursionError:
        raise EvalFileError(f"{where}: not valid JSON (nested too deeply).") from None


def _object_to_pair(row, where: str) -> LabelledPair:
    if not isinstance(row, dict) or any(k not in row for k in REQUIRED):
        raise EvalFileError(f"{where}: needs the keys a, b and label.")
    return _row_to_pair(row, where)


def _parse_jsonl(text: str, name: str) -> list[LabelledPair]:
    # JSON lines end at "\n" only: str.splitlines() would also split at U+2028 and other characters that a
    # JSON string may hold unescaped.
    pairs = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        pairs.append(_object_to_pair(_load_json(line, where), where))
    return pairs


def _parse_json(text: str, name: str) -> list[LabelledPair]:
    rows = _load_json(text, name)
    if not isinstance(rows, list):
        raise EvalFileError(f"{name}: a JSON file must hold a list of objects with the keys a, b and label.")
    return [_object_to_pair(row, f"{name} item {number}") for number, row in enumerate(rows, start=1)]


def _parse_csv(text: str, name: str) -> list[LabelledPair]:
    # strict: a quote that never closes is an error, not a field swallowing the rest of the file.
    reader = csv.DictReader(io.StringIO(text), strict=True)
    try:
        columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    except csv.Error as err:
        raise _csv_error(err, f"{name} line {reader.line_num}") from None
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        raise EvalFileError(f"{name}: missing the {noun} {', '.join(missing)}; the header must name a, b, label.")
    reader.fieldnames = columns
    pairs: list[LabelledPair] = []
    while True:
        # The line after the last one read: where the next row starts (a quoted field may span several lines).
        where = f"{name} line {reader.line_num + 1}"
        try:
            row = next(reader)
        except StopIteration:
            return pairs
        except csv.Error as err:
            raise _csv_error(err, where) from None
        pairs.append(_row_to_pair(row, where))


def _csv_error(err: csv.Error, where: str) -> EvalFileError:
    # The csv module refuses fields above its own limit (131,072 characters), which lies above the app's.
    if "field limit" in str(err):
        return _too_long(where)
    if "new-line" in str(err):
        return EvalFileError(f"{where}: a field holds a line break but is not in double quotes.")
    if "unexpected end of data" in str(err):
        return EvalFileError(f"{where}: a double quote opens a field that is never closed.")
    if "expected after" in str(err):
        return EvalFileError(f'{where}: a quoted field goes on after its closing quote (write "" for a quote in it).')
    return EvalFileError(f"{where}: not valid CSV ({err}).")


def read_pairs(path: str | Path) -> list[LabelledPair]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in the path
        raise EvalFileError(f"Cannot read {path}: {getattr(err, 'strerror', None) or err}.") from None
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
