"""Where the B of a NotNext pair comes from: another document (any, of A's source, or one like A's) or,
for hard negatives, A's own document with at least one sentence between them.

The walk of every pair mode that makes NotNext pairs draws its B here, with the sampler's random state.
"""

from __future__ import annotations

import random

from explorer.corpus import Corpus
from explorer.sampling.pairs import Segment
from explorer.sampling.similar import OtherDocuments, similar_for
from explorer.sampling.tokens import TokenTable


class NegativeSource:
    """The NotNext rules of one sampler: hard and similar shares, and the candidates of each document."""

    def __init__(
        self,
        corpus: Corpus,
        table: TokenTable,
        rng: random.Random,
        hard_share: float,
        similar_share: float,
        other_docs: OtherDocuments,
    ):
        self.corpus, self.table, self.rng = corpus, table, rng
        self.hard_share = hard_share  # share of NotNext B from A's own document
        self.similar_share = similar_share  # share of NotNext B from a document like A's
        self.other_docs = other_docs
        self.similar: list[list[int]] | None = similar_for(corpus, other_docs) if similar_share > 0.0 else None

    def draw_hard(self) -> bool:
        """Whether this NotNext B comes from A's own document (no random draw when all or none do)."""
        share = self.hard_share
        return share >= 1.0 or (share > 0.0 and self.rng.random() < share)

    def b_for(self, a: Segment, target_b: int) -> Segment | None:
        """B for a NotNext pair: from another document, or (hard negatives) from A's, not adjacent."""
        if self.draw_hard():
            b = self._hard_b(a, target_b)
            if b is not None or self.hard_share >= 1.0:
                return b  # in a mix, a chunk with no room for a hard B takes one from another document
        doc = self.negative_document(a.doc)
        n_sentences = len(self.corpus.documents[doc])
        start = self.rng.randint(0, n_sentences - 1)
        return self.fill(doc, start, n_sentences, target_b)

    def negative_document(self, doc: int) -> int:
        """The document of a NotNext B: one of the most similar to A's (a share of similar_negatives), or any."""
        share = self.similar_share
        if self.similar is not None and (share >= 1.0 or (share > 0.0 and self.rng.random() < share)):
            near = self.similar[doc]  # never empty: every document has another candidate
            return near[self.rng.randrange(len(near))]
        return self._other_document(doc)

    def _other_document(self, doc: int) -> int:
        """A document for a NotNext B: uniform over A's candidates, never A's own."""
        if self.other_docs is None:
            k = self.rng.randrange(len(self.corpus.documents) - 1)
            return k + (k >= doc)
        group, place = self.other_docs[doc]
        k = self.rng.randrange(len(group) - 1)
        return group[k + (k >= place)]

    def _hard_b(self, a: Segment, target_b: int) -> Segment | None:
        # Leave at least one sentence between A and B on either side, so B never continues A
        # and A never continues B.
        n_sentences = len(self.corpus.documents[a.doc])
        before = list(range(0, a.start - 1))  # B starts here and must end before a.start - 1
        after = list(range(a.stop + 1, n_sentences))
        if not before and not after:
            return None
        pick = self.rng.randrange(len(before) + len(after))
        if pick < len(before):
            return self.fill(a.doc, before[pick], a.start - 1, target_b)
        return self.fill(a.doc, after[pick - len(before)], n_sentences, target_b)

    def fill(self, doc: int, start: int, limit: int, target_b: int) -> Segment:
        """Sentences from start until the target length (at least one sentence), as BERT fills B."""
        stop, n_tokens = start, 0
        while stop < limit:
            n_tokens += self.table.length(doc, stop)
            stop += 1
            if n_tokens >= target_b:
                break
        return Segment(doc, start, stop, n_tokens)
