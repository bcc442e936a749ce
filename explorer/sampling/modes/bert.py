"""BERT's recipe (create_pretraining_data.py): A and B are chunks of whole sentences up to the max length.

B is the rest of the chunk (IsNext) or, for a one-sentence chunk or with probability not_next_share, text
from a different document starting at a random sentence and filled to the target, with the unused
sentences of the chunk put back; truncate_seq_pair then trims the longer side from a random end.

Where this differs from BERT, on purpose:
- BERT draws the target length once per document pass; here it is drawn per chunk, so every pair
  independently has short_seq_prob of being short (BERT's per-document draw makes short documents'
  passes produce many more pairs, so its pair-level short share is not short_seq_prob).
- BERT forces one-sentence chunks to NotNext, so its NotNext share is above 0.5. Here the label is drawn
  first with probability not_next_share and the next pair of that label is taken from BERT's stream.
- BERT tries 10 times to draw a different document and may silently use the same one; here B is drawn
  from the other documents only (a one-document corpus is refused).
"""

from __future__ import annotations

from explorer.labels import IS_NEXT, NOT_NEXT
from explorer.sampling.modes.walk import Chunk, ChunkWalkMode
from explorer.sampling.pairs import Pair
from explorer.sampling.registry import register_mode


@register_mode
class BertChunks(ChunkWalkMode):
    name = "bert"
    description = "BERT's recipe: chunks of whole sentences up to the max length"

    def pair_from_chunk(self, chunk: Chunk) -> tuple[Pair | None, int]:
        sampler, a = self.sampler, chunk.a
        if chunk.rest is None or sampler.rng.random() < sampler.not_next_share:
            b = sampler.negatives.b_for(a, chunk.target - a.n_tokens)
            if b is not None:  # the sentences of the chunk after A go back to the walk
                return sampler.finish(a, b, NOT_NEXT, chunk.short), a.stop
            if chunk.rest is None:
                return None, chunk.stop
            # no room for a hard negative here: keep the true continuation
        return sampler.finish(a, chunk.rest, IS_NEXT, chunk.short), chunk.stop

    def cannot_make(self, label: int) -> str:
        if label == IS_NEXT:
            return (
                f"With max length {self.sampler.max_length} almost every sentence fills a chunk on its own, so "
                "BERT's recipe makes no IsNext pairs: raise the max length or use single sentences."
            )
        return "This corpus and recipe cannot make NotNext pairs."
