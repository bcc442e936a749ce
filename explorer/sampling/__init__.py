"""Sample NSP training pairs the way BERT's create_pretraining_data.py builds them.

- tokens: every sentence of a corpus tokenised once per (corpus, tokenizer), cached;
- pairs: a Pair, the segments it is cut from, BERT's truncate_seq_pair;
- registry + modes/: the pair modes, one strategy class each ("bert", "sentences", "sop"), registered once;
  modes/walk.py is BERT's document walk that the chunk modes share;
- negatives + similar: where a NotNext B comes from (another document, one of A's source, one like A's
  by TF-IDF, or A's own, not adjacent);
- sampler: PairSampler, which checks the recipe and draws labels, and hands each draw to its mode.

Options of every mode that draws NotNext pairs from elsewhere:
- hard_negatives: a NotNext B comes from A's own document, with at least one sentence between them
  (True: every NotNext pair; a number q in (0, 1): that share of them, the rest from other documents).
- same_source_negatives: in a mixture of corpora ("sotu+wiki"), a NotNext B comes from another document
  of A's own source. With BERT's uniform draw most NotNext pairs of a mixture cross sources, and a model
  learns to spot the change of style instead of the change of topic.
- similar_negatives: a share of the NotNext B come from one of the SIMILAR_NEIGHBOURS documents most like
  A's (TF-IDF cosine over the words, among A's candidates: its source with same_source_negatives). Two
  articles on one theme are the NotNext pairs a topic detector gets wrong.
"""

from explorer.sampling import modes  # noqa: F401  (registers the pair modes before MODES is read)
from explorer.sampling.modes.sop import SOP_RATIONALE
from explorer.sampling.pairs import Pair, SamplingError, truncate_seq_pair
from explorer.sampling.registry import PAIR_MODES, PairMode, register_mode
from explorer.sampling.sampler import SHORT_SEQ_PROB, PairSampler
from explorer.sampling.similar import SIMILAR_NEIGHBOURS, similar_documents
from explorer.sampling.tokens import TokenTable, token_table, tokenizer_key

MODES = tuple(PAIR_MODES)  # the mode names, in menu order
MODE_DESCRIPTIONS = {name: mode.description for name, mode in PAIR_MODES.items()}


def label_names(mode: str) -> tuple[str, str]:
    """How the page names labels 0 and 1 for pairs of this mode: ("IsNext", "NotNext"), or "in order" / "swapped"."""
    return PAIR_MODES[mode].positive_name, PAIR_MODES[mode].negative_name


def task_of(mode: str) -> str:
    """The task a model trained on this mode's pairs learns: "NSP" or "SOP"."""
    return PAIR_MODES[mode].task


__all__ = [
    "MODES",
    "MODE_DESCRIPTIONS",
    "PAIR_MODES",
    "SHORT_SEQ_PROB",
    "SIMILAR_NEIGHBOURS",
    "SOP_RATIONALE",
    "Pair",
    "PairMode",
    "PairSampler",
    "SamplingError",
    "TokenTable",
    "label_names",
    "register_mode",
    "similar_documents",
    "task_of",
    "token_table",
    "tokenizer_key",
    "truncate_seq_pair",
]
