"""Single sentences: A and B are one sentence each; B is the next sentence (IsNext) or a sentence of
another document (NotNext, or of A's own document, not adjacent, with hard negatives). Easier to read in
class than BERT's chunks."""

from __future__ import annotations

import bisect

import numpy as np

from explorer.labels import IS_NEXT
from explorer.sampling.pairs import Pair, Segment
from explorer.sampling.registry import PairMode, register_mode


@register_mode
class SingleSentences(PairMode):
    name = "sentences"
    description = "single sentences: A and B are one sentence each"

    def __init__(self, sampler):
        super().__init__(sampler)
        self._starts: np.ndarray | None = None  # global indices of sentences that have a successor

    def draw(self, label: int) -> Pair:
        # A is drawn from the same sentences for both labels, so A alone never gives the label away.
        sampler, rng = self.sampler, self.sampler.rng
        starts = self._sentence_starts()
        doc, i = self._locate(int(starts[rng.randrange(len(starts))]))
        a = Segment(doc, i, i + 1, sampler.table.length(doc, i))
        b_doc, j = self._b_sentence(doc, i, label)
        b = Segment(b_doc, j, j + 1, sampler.table.length(b_doc, j))
        return sampler.finish(a, b, label, False)

    def _b_sentence(self, doc: int, i: int, label: int) -> tuple[int, int]:
        """(document, sentence) of B: the next one, a far one of A's document (hard), or one of another."""
        negatives, rng = self.sampler.negatives, self.sampler.rng
        if label == IS_NEXT:
            return doc, i + 1
        if negatives.draw_hard():
            far = [j for j in range(len(self.sampler.corpus.documents[doc])) if abs(j - i) >= 2]
            return doc, far[rng.randrange(len(far))]
        b_doc = negatives.negative_document(doc)
        return b_doc, rng.randrange(len(self.sampler.corpus.documents[b_doc]))

    def _sentence_starts(self) -> np.ndarray:
        """Global indices of sentences that have a next sentence (and, for hard negatives, room for B)."""
        if self._starts is None:
            sampler = self.sampler
            hard = sampler.negatives.hard_share > 0.0
            starts = [
                sampler.table.doc_starts[d] + i
                for d, doc in enumerate(sampler.corpus.documents)
                for i in range(len(doc) - 1)
                if not hard or i >= 2 or i + 2 < len(doc)  # room for a far B
            ]
            self._starts = np.asarray(starts, dtype=np.int64)
        return self._starts

    def _locate(self, g: int) -> tuple[int, int]:
        """(document, sentence in it) of a global sentence index."""
        doc_starts = self.sampler.table.doc_starts
        doc = bisect.bisect_right(doc_starts, g) - 1
        return doc, g - doc_starts[doc]
