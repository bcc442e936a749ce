"""A batch of k labelled pairs, as a training step sees it: where the pairs come from, and one padded input.

Pairs come from the sampler (BERT's recipe, NotNext share 50/50 by default), from the classroom
examples, or from a file in the eval format (CSV or JSON lines with a, b, label). Every source ends
in the same checked list of LabelledPair, so the loss and gradient code never sees a bad row.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from explorer.encoding import DEFAULT_MAX_LENGTH, PairEncoding, PairInputError, encode_pair
from explorer.evaluate import EvalFileError, LabelledPair, parse_pairs
from explorer.examples import load_examples
from explorer.labels import IS_NEXT, NOT_NEXT
from explorer.models import LoadedModel
from explorer.nsp import pad_batch

MIN_K = 1
MAX_K = 64  # a batch the page can show pair by pair and a laptop CPU scores in well under a second
DEFAULT_K = 8
SOURCES = ("sample", "examples")  # anything else names an eval-format file


class BatchInputError(ValueError):
    """The batch cannot be built; the message is written for the person who asked for it."""


def check_k(k: int) -> int:
    """k must be a whole number of pairs from MIN_K to MAX_K."""
    if isinstance(k, bool) or not isinstance(k, int) or not MIN_K <= k <= MAX_K:
        raise BatchInputError(f"The batch size k must be a whole number from {MIN_K} to {MAX_K}, got {k!r}.")
    return k


def check_pairs(pairs: list[LabelledPair]) -> list[LabelledPair]:
    """A batch has MIN_K..MAX_K pairs, each with text on both sides and a label 0 or 1."""
    if not MIN_K <= len(pairs) <= MAX_K:
        raise BatchInputError(f"A batch holds {MIN_K} to {MAX_K} pairs; this one has {len(pairs)}.")
    for number, pair in enumerate(pairs, start=1):
        if pair.label not in (IS_NEXT, NOT_NEXT) or isinstance(pair.label, bool):
            raise BatchInputError(f"Pair {number}: label must be 0 (IsNext) or 1 (NotNext), got {pair.label!r}.")
        if not str(pair.a).strip() or not str(pair.b).strip():
            raise BatchInputError(f"Pair {number}: sentences A and B must both have text.")
    return pairs


def sampled_pairs(
    tokenizer, k: int, seed: int, not_next_share: float = 0.5, max_length: int = DEFAULT_MAX_LENGTH, corpus=None
) -> list[LabelledPair]:
    """k pairs drawn with BERT's recipe from the default corpus (or the one given)."""
    from explorer.corpus import load_default_corpus  # the corpus is only read when the sampler is the source
    from explorer.sampling import PairSampler, SamplingError

    check_k(k)
    if not 0.0 <= not_next_share <= 1.0:
        raise BatchInputError("The NotNext share must lie between 0 and 1.")
    try:
        sampler = PairSampler(
            corpus or load_default_corpus(),
            tokenizer,
            max_length=max_length,
            not_next_share=not_next_share,
            seed=seed,
        )
        drawn = sampler.sample_many(k)
    except SamplingError as err:
        raise BatchInputError(str(err)) from err
    return [LabelledPair(p.a, p.b, p.label) for p in drawn]


def example_pairs(k: int, seed: int) -> list[LabelledPair]:
    """k of the classroom examples, in an order shuffled by the seed."""
    examples = list(load_examples())
    check_k(k)
    if k > len(examples):
        raise BatchInputError(f"There are {len(examples)} classroom examples; choose k of at most {len(examples)}.")
    random.Random(seed).shuffle(examples)
    return [LabelledPair(e.a, e.b, e.label) for e in examples[:k]]


def file_pairs(data: bytes, name: str = "pairs") -> list[LabelledPair]:
    """The pairs of an eval-format file (CSV with a, b, label or JSON lines), checked as a batch."""
    try:
        return check_pairs(parse_pairs(data, name))
    except EvalFileError as err:
        raise BatchInputError(str(err)) from err


def unseen_seed(seed: int) -> int:
    """The seed of the second batch: a different draw, so its pairs were not in the batch the head stepped on."""
    return seed + 1_000_003


def unseen_draw(
    tokenizer, k: int, seed: int, not_next_share: float, max_length: int
) -> Callable[[], list[LabelledPair]]:
    """How the second batch is drawn (page and CLI): k pairs sampled like a sampled first batch, at the same max
    length and NotNext share, with another seed, so that none of them was stepped on."""
    return partial(sampled_pairs, tokenizer, k, unseen_seed(seed), not_next_share, max_length)


@dataclass
class EncodedBatch:
    """k pairs as one right-padded model input (padding: id 0, mask 0, segment 0) and their labels."""

    pairs: list[LabelledPair]
    encodings: list[PairEncoding]
    inputs: dict[str, torch.Tensor]  # input_ids, token_type_ids, attention_mask: [k, L]
    labels: torch.Tensor  # [k], 0 IsNext, 1 NotNext

    @property
    def k(self) -> int:
        return len(self.pairs)


def encode_batch(loaded: LoadedModel, pairs: list[LabelledPair], max_length: int = DEFAULT_MAX_LENGTH) -> EncodedBatch:
    """Tokenise each pair as [CLS] A [SEP] B [SEP] and pad them into one batch."""
    check_pairs(pairs)
    encodings = []
    for number, pair in enumerate(pairs, start=1):
        try:
            encodings.append(encode_pair(loaded.tokenizer, pair.a, pair.b, max_length, loaded.max_positions))
        except PairInputError as err:
            raise BatchInputError(f"Pair {number}: {err}") from err
    inputs = pad_batch(
        [e.input_ids for e in encodings], [e.token_type_ids for e in encodings], loaded.tokenizer.pad_token_id
    )
    labels = torch.tensor([p.label for p in pairs], dtype=torch.long)
    return EncodedBatch(pairs, encodings, {k: v.to(loaded.device) for k, v in inputs.items()}, labels.to(loaded.device))


def encoder_states(loaded: LoadedModel, batch: EncodedBatch) -> torch.Tensor:
    """h_[CLS] for every pair [k, H]: the shared encoder runs once, without gradients, and is never changed.

    no_grad rather than inference_mode: the result feeds the head's autograd graph later.
    """
    with torch.no_grad():
        hidden = loaded.model.bert(**batch.inputs).last_hidden_state
    return hidden[:, 0].float().clone()
