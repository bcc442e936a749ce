"""PairSampler: seeded, deterministic NSP (or SOP) pairs from a corpus, in the mode chosen from the registry."""

from __future__ import annotations

import random

from explorer.corpus import Corpus
from explorer.encoding import DEFAULT_MAX_LENGTH, SPECIAL_TOKENS_IN_PAIR
from explorer.labels import IS_NEXT, NOT_NEXT
from explorer.sampling.negatives import NegativeSource
from explorer.sampling.pairs import Pair, SamplingError, Segment, pair_of_segments, truncate_seq_pair
from explorer.sampling.recipe import recipe_problem
from explorer.sampling.registry import PAIR_MODES, PairMode
from explorer.sampling.similar import other_documents
from explorer.sampling.tokens import token_table

SHORT_SEQ_PROB = 0.1


class PairSampler:
    """Seeded, deterministic NSP (or SOP) pairs from a corpus, tokenised with the model's tokenizer."""

    def __init__(
        self,
        corpus: Corpus,
        tokenizer,
        mode: str = "bert",
        max_length: int = DEFAULT_MAX_LENGTH,
        not_next_share: float = 0.5,
        hard_negatives: bool | float = False,
        short_seq_prob: float = SHORT_SEQ_PROB,
        seed: int = 0,
        same_source_negatives: bool = False,
        similar_negatives: float = 0.0,
    ):
        problem = recipe_problem(
            mode=mode,
            max_length=max_length,
            not_next_share=not_next_share,
            short_seq_prob=short_seq_prob,
            hard_negatives=hard_negatives,
            similar_negatives=similar_negatives,
        )
        if problem:  # a SamplingError (a ValueError): callers that show sampling errors show this one too
            raise SamplingError(problem)
        mode_class = PAIR_MODES[mode]
        _check_corpus(corpus, bool(hard_negatives) and mode_class.draws_negatives)
        self.corpus = corpus
        self.tokenizer = tokenizer
        self.mode = mode
        self.max_length = int(max_length)
        self.max_tokens = self.max_length - SPECIAL_TOKENS_IN_PAIR
        self.not_next_share = float(not_next_share)
        self.short_seq_prob = float(short_seq_prob)
        self.same_source_negatives = bool(same_source_negatives)
        # Modes whose B never comes from elsewhere (SOP) take no hard or similar negatives.
        self.hard_negatives = float(hard_negatives) if mode_class.draws_negatives else 0.0
        self.similar_negatives = float(similar_negatives) if mode_class.draws_negatives else 0.0
        self.seed = seed
        self.rng = random.Random(seed)
        self.table = token_table(corpus, tokenizer)
        self.negatives = NegativeSource(
            corpus,
            self.table,
            self.rng,
            self.hard_negatives,
            self.similar_negatives,
            other_documents(corpus, self.same_source_negatives),
        )
        self.pair_mode: PairMode = mode_class(self)

    def sample(self) -> Pair:
        label = NOT_NEXT if self.rng.random() < self.not_next_share else IS_NEXT
        return self.pair_mode.draw(label)

    def sample_many(self, n: int) -> list[Pair]:
        return [self.sample() for _ in range(int(n))]

    def finish(self, a: Segment, b: Segment, label: int, short: bool) -> Pair:
        """The pair of two segments, after BERT's truncation to the max length."""
        truncate_seq_pair(a, b, self.max_tokens, self.rng)
        return pair_of_segments(self.table, a, b, label, short, self.mode)


def _check_corpus(corpus: Corpus, hard_negatives: bool) -> None:
    """Refuse a corpus that cannot give both labels (the message names the corpus and what it lacks)."""
    n_docs = len(corpus.documents)
    if n_docs < 2:
        raise SamplingError(
            f"{corpus.name} has {n_docs} document(s). NotNext pairs take B from a different document, "
            "so sampling needs at least two."
        )
    if not any(len(doc) >= 2 for doc in corpus.documents):
        raise SamplingError(f"No document of {corpus.name} has two sentences, so no IsNext pair exists.")
    if hard_negatives and not any(len(doc) >= 3 for doc in corpus.documents):
        raise SamplingError("Hard negatives need a document with at least three sentences.")
