"""How faithful is an explanation for this pair: deletion curves (the picture behind ERASER's comprehensiveness).

Delete the words an explanation ranks as the strongest evidence for the model's answer, k = 0, 1, ..., all
of them, re-score each shortened pair, and follow p(answer). A ranking that really names what the model
uses makes the curve fall fast, so a smaller area under it means a more faithful explanation. Random
orders (averaged) are the yardstick every method should beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.attribution import p_is_next_of
from explorer.encoding import PairEncoding
from explorer.labels import IS_NEXT, LABEL_NAMES
from explorer.models import LoadedModel
from explorer.pair_words import Word, pair_words, without_words

RANDOM = "random"
RANDOM_ORDERS = 4  # random orders averaged into one curve
RANDOM_SEED = 0


@dataclass
class DeletionCurves:
    words: list[Word]
    answer: int  # the label the model predicts for the full pair; the curves follow p(answer)
    orders: dict[str, list[int]]  # method -> word numbers, strongest evidence first
    curves: dict[str, np.ndarray]  # method -> [words + 1]: p(answer) after deleting the first k words

    @property
    def answer_name(self) -> str:
        return LABEL_NAMES[self.answer]

    @property
    def fractions(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, len(self.words) + 1)

    @property
    def areas(self) -> dict[str, float]:
        """Area under each curve over the deleted fraction of words (0..1): lower = more faithful."""
        return {name: area_under_curve(curve) for name, curve in self.curves.items()}

    @property
    def most_faithful(self) -> str:
        """The explanation whose deletion curve falls fastest: the smallest area, random orders left out."""
        areas = self.areas
        return min((name for name in areas if name != RANDOM), key=areas.__getitem__)


def area_under_curve(curve: np.ndarray) -> float:
    """Trapezoid area under p(answer) against the deleted fraction of words, k / n."""
    if len(curve) < 2:
        return float(curve[0]) if len(curve) else 0.0
    return float(np.trapezoid(curve, dx=1.0 / (len(curve) - 1)))


def evidence_order(word_scores: np.ndarray, answer: int, signed: bool = True) -> list[int]:
    """Word numbers, strongest evidence for the answer first.

    Scores are effects on p(IsNext) (or log p(IsNext)); for a NotNext answer the sign flips. Unsigned
    scores (attention rollout) are ranked by size.
    """
    evidence = np.asarray(word_scores, dtype=float)
    if signed and answer != IS_NEXT:
        evidence = -evidence
    return [int(i) for i in np.argsort(-evidence, kind="stable")]


def random_orders(n_words: int, count: int = RANDOM_ORDERS, seed: int = RANDOM_SEED) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [[int(i) for i in rng.permutation(n_words)] for _ in range(count)]


def deletion_curves(
    loaded: LoadedModel, encoding: PairEncoding, orders: dict[str, list[list[int]]], answer: int
) -> DeletionCurves:
    """Score every prefix deletion of every order in one batched pass.

    orders: method -> its orders; a method's curve is the mean over them (RANDOM has several, a ranking one).
    """
    words = pair_words(encoding)
    flat = [(name, order) for name, method_orders in orders.items() for order in method_orders]
    variants = [(encoding.input_ids, encoding.token_type_ids)]
    for _, order in flat:
        variants += [without_words(encoding, words, set(order[:k])) for k in range(1, len(words) + 1)]
    p_is_next = p_is_next_of(loaded, variants)
    p_answer = p_is_next if answer == IS_NEXT else 1.0 - p_is_next
    per_order = p_answer[1:].reshape(len(flat), len(words))
    curves: dict[str, list[np.ndarray]] = {}
    for (name, _), row in zip(flat, per_order):
        curves.setdefault(name, []).append(np.concatenate([[p_answer[0]], row]))
    return DeletionCurves(
        words=words,
        answer=answer,
        orders={name: method_orders[0] for name, method_orders in orders.items()},
        curves={name: np.mean(rows, axis=0) for name, rows in curves.items()},
    )
