"""The single-sentence out-of-domain benchmark: what people type, from styles the model never saw.

A pair is one sentence A and one sentence B. IsNext: B is the sentence that follows A in its document.
NotNext: B is a sentence of another document of the same source (BERT's draw), never one that also
occurs in A's document or follows A's text anywhere else. Each source is split by document into a
validation half (for every choice, such as the page's confidence note) and a test half (for the
numbers reported); the same seed gives the same halves and the same pairs.
"""

from __future__ import annotations

import functools
import itertools
import zlib
from dataclasses import asdict, dataclass

import numpy as np

from explorer.corpus import MIN_WORDS, Corpus, load_corpus
from explorer.encoding import DEFAULT_MAX_LENGTH
from explorer.evaluate import EvalReport, report_from_logits
from explorer.labels import IS_NEXT, NOT_NEXT
from explorer.models import LoadedModel
from explorer.nsp import score_pairs
from explorer.ood_sources import OOD_SOURCES, load_ood_corpus

# What the shipped model trained on (scripts/build_nsp_model.py: TRAIN_CORPUS sotu+wiki, kjv added in its
# last step): a benchmark source must be none of them.
TRAINING_CORPORA = ("sotu", "wiki", "kjv")
HALVES = ("validation", "test")
DEFAULT_SEED = 15
DEFAULT_PAIRS_PER_SOURCE = 200
MAX_NOT_NEXT_TRIES = 20


@dataclass(frozen=True)
class OodPair:
    a: str
    b: str
    label: int
    source: str
    document: str  # title of A's document


def check_not_training(names: list[str] | tuple[str, ...]) -> None:
    """Raise if a benchmark source is a training corpus: its numbers would not be out of domain."""
    overlap = sorted(set(names) & set(TRAINING_CORPORA))
    if overlap:
        raise ValueError(f"benchmark sources {overlap} are training corpora")


@functools.cache
def training_sentences() -> frozenset[str]:
    """Every sentence of the training corpora: a pair never uses one (dialogue's "That's good to hear." is in sotu)."""
    return frozenset(s for name in TRAINING_CORPORA for doc in load_corpus(name).documents for s in doc)


def _source_seed(seed: int, name: str) -> int:
    # Each source gets its own stream, so adding a source never changes another one's pairs.
    return seed * 1_000_003 + zlib.crc32(name.encode("utf-8"))


def split_halves(corpus: Corpus, seed: int = DEFAULT_SEED) -> dict[str, Corpus]:
    """The corpus split by document into a validation half and a test half (seeded, deterministic)."""
    order = np.random.default_rng(_source_seed(seed, corpus.name)).permutation(len(corpus.documents))
    cut = len(order) // 2
    halves = {}
    for half, ids in zip(HALVES, (sorted(order[:cut]), sorted(order[cut:])), strict=True):
        titles = [corpus.title(int(i)) for i in ids]
        documents = [corpus.documents[int(i)] for i in ids]
        halves[half] = Corpus(corpus.name, documents, titles, corpus.layout)
    return halves


def _usable(sentence: str, exclude: frozenset[str]) -> bool:
    return len(sentence.split()) >= MIN_WORDS and sentence not in exclude


def _next_positions(corpus: Corpus, exclude: frozenset[str]) -> list[tuple[int, int]]:
    """(document, index) of every sentence whose next sentence exists, both usable in a pair."""
    return [
        (d, j)
        for d, doc in enumerate(corpus.documents)
        for j in range(len(doc) - 1)
        if _usable(doc[j], exclude) and _usable(doc[j + 1], exclude)
    ]


def _followers(corpus: Corpus) -> dict[str, set[str]]:
    """Every sentence that follows a given sentence text anywhere in the corpus (a chatbot line recurs)."""
    follows: dict[str, set[str]] = {}
    for doc in corpus.documents:
        for a, b in itertools.pairwise(doc):
            follows.setdefault(a, set()).add(b)
    return follows


def _random_b(
    corpus: Corpus, doc: int, rng: np.random.Generator, exclude: frozenset[str], not_next: set[str]
) -> str | None:
    """A sentence of another document, neither in document `doc` nor in `not_next` (else it could be the next)."""
    banned = set(corpus.documents[doc]) | not_next
    for _ in range(MAX_NOT_NEXT_TRIES):
        other = int(rng.integers(len(corpus.documents)))
        candidates = [s for s in corpus.documents[other] if _usable(s, exclude) and s not in banned]
        if other != doc and candidates:
            return candidates[int(rng.integers(len(candidates)))]
    return None


def build_pairs(
    corpus: Corpus, n: int, seed: int = DEFAULT_SEED, exclude: frozenset[str] = frozenset()
) -> list[OodPair]:
    """Up to n single-sentence pairs, half IsNext and half NotNext, each A a different sentence; no sentence
    in `exclude` (the training sentences) is used."""
    check_not_training([corpus.name])
    rng = np.random.default_rng(_source_seed(seed + 1, corpus.name))
    positions = _next_positions(corpus, exclude)
    follows = _followers(corpus)
    pairs: list[OodPair] = []
    used: set[str] = set()
    for i in rng.permutation(len(positions)):
        if len(pairs) == n:
            break
        d, j = positions[int(i)]
        doc = corpus.documents[d]
        if doc[j] in used:
            continue
        label = IS_NEXT if len(pairs) % 2 == 0 else NOT_NEXT
        b = doc[j + 1] if label == IS_NEXT else _random_b(corpus, d, rng, exclude, follows[doc[j]])
        if b is not None:
            used.add(doc[j])
            pairs.append(OodPair(doc[j], b, label, corpus.name, corpus.title(d)))
    return pairs


def benchmark_pairs(
    half: str = "validation", n_per_source: int = DEFAULT_PAIRS_PER_SOURCE, seed: int = DEFAULT_SEED
) -> dict[str, list[OodPair]]:
    """The benchmark's pairs of one half, per source."""
    if half not in HALVES:
        raise ValueError(f"half must be one of {', '.join(HALVES)}")
    check_not_training(list(OOD_SOURCES))
    exclude = training_sentences()
    return {
        name: build_pairs(split_halves(load_ood_corpus(name), seed)[half], n_per_source, seed, exclude)
        for name in OOD_SOURCES
    }


@dataclass
class OodResult:
    """One model's numbers on the benchmark: per source and all sources together."""

    per_source: dict[str, EvalReport]
    overall: EvalReport
    logits: np.ndarray  # [n, 2] of every pair, sources in order, for reliability tables

    def to_dict(self) -> dict:
        def brief(report: EvalReport) -> dict:
            full = report.to_dict()
            return {k: full[k] for k in ("n", "accuracy", "mean_loss", "ece", "mean_p_true")}

        return {"per_source": {k: brief(v) for k, v in self.per_source.items()}, "overall": brief(self.overall)}


def evaluate_benchmark(
    loaded: LoadedModel,
    pairs_by_source: dict[str, list[OodPair]],
    max_length: int = DEFAULT_MAX_LENGTH,
    batch_size: int = 32,
) -> OodResult:
    """Score every pair once; the per-source and overall metrics come from evaluate.py's report."""
    per_source, all_logits, all_labels = {}, [], []
    for name, pairs in pairs_by_source.items():
        logits = score_pairs(loaded, [(p.a, p.b) for p in pairs], max_length=max_length, batch_size=batch_size)
        labels = np.array([p.label for p in pairs], dtype=np.int64)
        per_source[name] = report_from_logits(logits, labels)
        all_logits.append(logits)
        all_labels.append(labels)
    logits = np.concatenate(all_logits) if all_logits else np.zeros((0, 2))
    overall = report_from_logits(logits, np.concatenate(all_labels) if all_labels else np.zeros(0, dtype=np.int64))
    return OodResult(per_source, overall, logits)


def pair_to_dict(pair: OodPair) -> dict:
    return asdict(pair)
