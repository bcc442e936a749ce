"""BERT's document walk, shared by the modes that cut documents into chunks (BERT's recipe, SOP).

Documents are walked in shuffled order, ACTIVE_DOCUMENTS at a time. Each walk cuts its document into
chunks of whole sentences: a target length (max_length - 3, or with probability short_seq_prob a random
length in [2, max_length - 3]) is drawn per chunk, sentences accumulate until the target is reached or the
document ends, and A is the first sentences of the chunk (a uniform cut). The mode turns each chunk into a
pair (or none) and says where the walk goes on. Pairs wait in a pool per label, so consecutive samples come
from different documents (BERT shuffles all instances at the end), and the label asked for is taken from
this stream (a thinning of it), so the label share is exactly what was asked for.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

from explorer.sampling.pairs import Pair, SamplingError, Segment
from explorer.sampling.registry import PairMode

ACTIVE_DOCUMENTS = 16  # documents walked at once, so that neighbouring samples mix documents
POOL_SIZE = 128  # pairs of each label waiting to be drawn at random (BERT shuffles all instances)
POOL_CAP = 8 * POOL_SIZE
BARREN_PASSES = 2  # full passes over the corpus without a pair of the label asked for before giving up


@dataclass
class Chunk:
    """Sentences [a.start, stop) of a document, cut into A and the rest (None for a one-sentence chunk)."""

    a: Segment
    rest: Segment | None
    stop: int
    target: int  # the target length drawn for this chunk, in tokens without the special ones
    short: bool  # the short target was drawn


class ChunkWalkMode(PairMode):
    """A mode that builds its pairs from the chunks of BERT's document walk."""

    def __init__(self, sampler):
        super().__init__(sampler)
        self._pools: tuple[list[Pair], list[Pair]] = ([], [])
        self._stream = self._chunk_stream()

    @abstractmethod
    def pair_from_chunk(self, chunk: Chunk) -> tuple[Pair | None, int]:
        """The chunk's pair (None: it gives none) and the sentence where the walk of its document goes on."""

    @abstractmethod
    def cannot_make(self, label: int) -> str:
        """Why the walk gives no pair of this label, for the person who chose the corpus and recipe."""

    def draw(self, label: int) -> Pair:
        pool = self._fill_pool(label)
        rng = self.sampler.rng
        index = rng.randrange(len(pool))
        pool[index], pool[-1] = pool[-1], pool[index]
        return pool.pop()

    def _fill_pool(self, label: int) -> list[Pair]:
        """Walk until the pool of this label is full, keeping pairs of the other label in theirs."""
        pool = self._pools[label]
        # A one-sentence chunk gives no SOP pair and BERT's recipe may never give an IsNext one, so a
        # walk can go on forever without the label asked for: give up after BARREN_PASSES full passes
        # (plus the documents already being walked) without one.
        give_up = BARREN_PASSES * len(self.sampler.corpus.documents) + ACTIVE_DOCUMENTS
        barren = 0  # document walks ended since the last pair of this label
        while len(pool) < POOL_SIZE:
            pair = next(self._stream)
            if pair is None:
                barren += 1
                if barren > give_up:
                    if not pool:
                        raise SamplingError(self.cannot_make(label))
                    break  # a rare label: draw from the pairs there are
                continue
            if pair.label == label:
                barren = 0
            self._keep(pair)
        return pool

    def _keep(self, pair: Pair) -> None:
        other = self._pools[pair.label]
        if len(other) < POOL_CAP:
            other.append(pair)
        else:  # keep the pool bounded when one label is rarely asked for
            other[self.sampler.rng.randrange(len(other))] = pair

    def _chunk_stream(self) -> Iterator[Pair | None]:
        """Walk documents in shuffled order, ACTIVE_DOCUMENTS at a time, yielding pairs as they come.

        Yields None each time a document's walk ends, so that the caller can count walks that gave nothing.
        """
        rng, n_docs = self.sampler.rng, len(self.sampler.corpus.documents)
        order: list[int] = []
        walkers: list[Iterator[Pair]] = []
        while True:
            while len(walkers) < ACTIVE_DOCUMENTS:
                if not order:
                    order = list(range(n_docs))
                    rng.shuffle(order)
                walkers.append(self._walk_document(order.pop()))
            index = rng.randrange(len(walkers))
            pair = next(walkers[index], None)
            if pair is None:
                walkers[index] = walkers[-1]
                walkers.pop()
            yield pair

    def _walk_document(self, doc: int) -> Iterator[Pair]:
        """BERT's create_instances_from_document for one document (one pass), as a generator of pairs."""
        lengths = self.sampler.table.doc_lengths(doc)
        start = 0
        target, short = self._draw_target()
        while start < len(lengths):
            chunk = self._cut_chunk(doc, lengths, start, target, short)
            pair, start = self.pair_from_chunk(chunk)
            if pair is not None:
                yield pair
            target, short = self._draw_target()

    def _draw_target(self) -> tuple[int, bool]:
        sampler = self.sampler
        if sampler.rng.random() < sampler.short_seq_prob:
            return sampler.rng.randint(2, sampler.max_tokens), True
        return sampler.max_tokens, False

    def _cut_chunk(self, doc: int, lengths: list[int], start: int, target: int, short: bool) -> Chunk:
        """Whole sentences from start until the target is reached or the document ends; A is a uniform cut."""
        stop, n_tokens = start, 0
        while stop < len(lengths):
            n_tokens += lengths[stop]
            stop += 1
            if n_tokens >= target:
                break
        n_chunk = stop - start
        a_end = start + (self.sampler.rng.randint(1, n_chunk - 1) if n_chunk >= 2 else 1)
        a = Segment(doc, start, a_end, sum(lengths[start:a_end]))
        rest = Segment(doc, a_end, stop, n_tokens - a.n_tokens) if n_chunk >= 2 else None
        return Chunk(a, rest, stop, target, short)
