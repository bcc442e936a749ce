"""A run's data: corpus -> split by document into train / held-out -> sampled pairs -> tensor batches (+ MLM masks)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from explorer.corpus import Corpus, CorpusError, combine, load_corpus, load_named_corpus, split_by_document
from explorer.encoding import pair_layout
from explorer.nsp import pad_batch
from explorer.sampling import PairSampler
from explorer.training.config import TrainConfig, TrainConfigError
from explorer.training.model import IGNORE

MLM_MASK_SHARE = 0.15  # BERT masks 15% of tokens: 80% [MASK], 10% random token, 10% unchanged


def load_training_corpus(name: str) -> Corpus:
    """The corpus a run samples from (tests swap in a synthetic one by passing corpus= to Trainer)."""
    return load_named_corpus(name)


def with_extra_documents(train_part: Corpus, config: TrainConfig) -> Corpus:
    """The training side of the split plus the documents of config.extra_corpus (none of them held out)."""
    if not config.extra_corpus:
        return train_part
    return combine([train_part, load_corpus(config.extra_corpus)])


def split_corpus(corpus: Corpus, config: TrainConfig) -> tuple[Corpus, Corpus]:
    """Train / held-out corpora with no document in common; refuse corpora too small to split."""
    try:
        return split_by_document(corpus, config.heldout_fraction, config.seed)
    except CorpusError as err:
        raise TrainConfigError(
            f"{err} Training needs that many, so that held-out pairs come from documents never seen in training "
            "and NotNext sentences come from another document."
        ) from err


def trained_documents(config: TrainConfig) -> list[list[str]]:
    """Every document a run with these settings trains on: the training side of its split and its extra corpus."""
    train_part, _ = split_corpus(load_training_corpus(config.corpus), config)
    return with_extra_documents(train_part, config).documents


def heldout_halves(corpus_name: str, seed: int = 0) -> tuple[Corpus, Corpus]:
    """Validation and test corpora: alternate documents of the held-out split a run with this seed makes.

    The shipped models chose their settings on the validation half; their reported numbers come from the test
    half, which no training step and no choice saw.
    """
    corpus = load_named_corpus(corpus_name)
    _, heldout = split_corpus(corpus, replace(TrainConfig(), corpus=corpus_name, seed=seed))
    docs, titles = heldout.documents, [heldout.title(i) for i in range(len(heldout.documents))]
    sources = [heldout.source(i) for i in range(len(docs))]
    return (
        Corpus("validation", docs[0::2], titles[0::2], sources=sources[0::2]),
        Corpus("test", docs[1::2], titles[1::2], sources=sources[1::2]),
    )


def make_sampler(corpus: Corpus, tokenizer: Any, config: TrainConfig, seed: int) -> PairSampler:
    return PairSampler(
        corpus,
        tokenizer,
        mode=config.mode,
        max_length=config.max_length,
        not_next_share=config.not_next_share,
        hard_negatives=config.hard_negatives,
        short_seq_prob=config.short_seq_prob,
        seed=seed,
        same_source_negatives=config.same_source_negatives,
        similar_negatives=config.similar_negatives,
    )


def pairs_to_batch(pairs: Any, tokenizer: Any) -> dict[str, torch.Tensor]:
    """[CLS] A [SEP] B [SEP] with segments 0/1, right-padded; labels 0 = IsNext, 1 = NotNext."""
    layouts = [pair_layout(tokenizer.cls_token_id, tokenizer.sep_token_id, pair.a_ids, pair.b_ids) for pair in pairs]
    batch = pad_batch([ids for ids, _ in layouts], [segments for _, segments in layouts], tokenizer.pad_token_id)
    batch["labels"] = torch.tensor([int(pair.label) for pair in pairs], dtype=torch.long)
    return batch


def mask_for_mlm(
    batch: dict[str, torch.Tensor], tokenizer: Any, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: 15% of real tokens are predicted; of those 80% -> [MASK], 10% random, 10% kept."""
    ids = batch["input_ids"]
    special = (ids == tokenizer.cls_token_id) | (ids == tokenizer.sep_token_id) | (batch["attention_mask"] == 0)
    chosen = (torch.rand(ids.shape, generator=generator) < MLM_MASK_SHARE) & ~special
    mlm_labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    roll = torch.rand(ids.shape, generator=generator)
    masked_ids = ids.clone()
    masked_ids[chosen & (roll < 0.8)] = tokenizer.mask_token_id
    random_slot = chosen & (roll >= 0.8) & (roll < 0.9)
    masked_ids[random_slot] = torch.randint(len(tokenizer), ids.shape, generator=generator)[random_slot]
    return masked_ids, mlm_labels
