"""ALBERT's sentence-order prediction: A and B are two consecutive segments of a chunk of BERT's walk;
label 0 keeps the order, label 1 (with probability not_next_share) swaps them."""

from __future__ import annotations

from explorer.labels import IS_NEXT, NOT_NEXT
from explorer.sampling.modes.walk import Chunk, ChunkWalkMode
from explorer.sampling.pairs import Pair
from explorer.sampling.registry import register_mode

# ALBERT's reason for SOP, with its own numbers (ALBERT Table 5, see docs/nsp-reference.md).
SOP_RATIONALE = (
    "ALBERT proposed sentence-order prediction because NSP can be solved mostly by spotting a change "
    "of topic: a model trained on NSP scores 90.5% on NSP but only 52.0% (chance) on SOP, while a model "
    "trained on SOP scores 86.5% on SOP and still 78.9% on NSP, so SOP forces it to learn coherence."
)


@register_mode
class SentenceOrder(ChunkWalkMode):
    name = "sop"
    description = "sentence order (ALBERT): B follows A, or the two are swapped"
    negative_name = "swapped"
    positive_name = "in order"
    task = "SOP"
    draws_negatives = False  # both segments always come from one chunk
    rationale = SOP_RATIONALE

    def pair_from_chunk(self, chunk: Chunk) -> tuple[Pair | None, int]:
        if chunk.rest is None:  # a one-sentence chunk has no order to predict
            return None, chunk.stop
        sampler = self.sampler
        if sampler.rng.random() < sampler.not_next_share:
            return sampler.finish(chunk.rest, chunk.a, NOT_NEXT, chunk.short), chunk.stop
        return sampler.finish(chunk.a, chunk.rest, IS_NEXT, chunk.short), chunk.stop

    def cannot_make(self, label: int) -> str:
        return (
            f"This corpus and max length {self.sampler.max_length} give no sentence-order pairs (no chunk holds "
            "two sentences): raise the max length or use longer documents."
        )
