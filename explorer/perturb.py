"""Perturb a pair and see p(IsNext) move: swap A and B, replace B, shuffle B's words, zero segment ids."""

from __future__ import annotations

import random
from dataclasses import dataclass

from explorer.corpus import Corpus
from explorer.encoding import DEFAULT_MAX_LENGTH, encode_pair
from explorer.labels import IS_NEXT
from explorer.models import LoadedModel
from explorer.nsp import batch_logits, softmax

PERTURBATIONS = {
    "swap": "Swap A and B",
    "replace_b": "A random sentence as B",
    "shuffle_b": "Shuffle the words of B",
    "zero_segments": "Zero all segment ids",
}


@dataclass(frozen=True)
class Perturbed:
    kind: str
    a: str
    b: str
    zero_segments: bool = False  # score with every token_type_id = 0


def swap_ab(a: str, b: str) -> tuple[str, str]:
    return b, a


def replace_b(corpus: Corpus, doc_a: int | None, seed: int) -> str:
    """A random sentence from a document other than A's (any document when A's is unknown)."""
    rng = random.Random(seed)
    n_docs = len(corpus.documents)
    if n_docs < 2 and doc_a is not None:
        raise ValueError("replacing B needs a corpus with another document")
    doc = rng.randrange(n_docs - 1) if doc_a is not None else rng.randrange(n_docs)
    if doc_a is not None:
        doc += doc >= doc_a
    sentences = corpus.documents[doc]
    return sentences[rng.randrange(len(sentences))]


def shuffle_b_words(b: str, seed: int) -> str:
    """The words of B in a seeded random order, different from the original whenever that is possible."""
    words = b.split()
    rng = random.Random(seed)
    if len(set(words)) < 2:
        return b
    shuffled = words[:]
    while shuffled == words:  # ends quickly: at least two distinct words
        rng.shuffle(shuffled)
    return " ".join(shuffled)


def perturb(
    kind: str, a: str, b: str, corpus: Corpus | None = None, doc_a: int | None = None, seed: int = 0
) -> Perturbed:
    if kind == "swap":
        return Perturbed(kind, *swap_ab(a, b))
    if kind == "replace_b":
        if corpus is None:
            raise ValueError("replace_b needs a corpus to draw the new B from")
        return Perturbed(kind, a, replace_b(corpus, doc_a, seed))
    if kind == "shuffle_b":
        return Perturbed(kind, a, shuffle_b_words(b, seed))
    if kind == "zero_segments":
        return Perturbed(kind, a, b, zero_segments=True)
    raise ValueError(f"unknown perturbation {kind!r}: use one of {', '.join(PERTURBATIONS)}")


def nsp_probabilities(
    loaded: LoadedModel, a: str, b: str, max_length: int = DEFAULT_MAX_LENGTH, zero_segments: bool = False
):
    """softmax of the NSP logits [IsNext, NotNext]; with zero_segments every token_type_id is 0,
    so the model sees no segment signal telling A from B (as when a caller forgets to pass them)."""
    encoding = encode_pair(loaded.tokenizer, a, b, max_length, loaded.max_positions)
    inputs = encoding.tensors(loaded.device)
    if zero_segments:
        inputs["token_type_ids"] = inputs["token_type_ids"].new_zeros(inputs["token_type_ids"].shape)
    return softmax(batch_logits(loaded.model, [inputs], loaded.device)[0])


def p_is_next(loaded: LoadedModel, perturbed: Perturbed, max_length: int = DEFAULT_MAX_LENGTH) -> float:
    return float(nsp_probabilities(loaded, perturbed.a, perturbed.b, max_length, perturbed.zero_segments)[IS_NEXT])


@dataclass(frozen=True)
class Effect:
    before: float  # p(IsNext) of the original pair
    after: float  # p(IsNext) of the perturbed pair
    perturbed: Perturbed

    @property
    def change(self) -> float:
        return self.after - self.before


def effect(
    loaded: LoadedModel,
    kind: str,
    a: str,
    b: str,
    corpus: Corpus | None = None,
    doc_a: int | None = None,
    seed: int = 0,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> Effect:
    """p(IsNext) before and after one perturbation, from the same model and max length."""
    original = Perturbed("none", a, b)
    changed = perturb(kind, a, b, corpus, doc_a, seed)
    return Effect(p_is_next(loaded, original, max_length), p_is_next(loaded, changed, max_length), changed)
