"""ShownPair: the Sample tab's pair on screen, built from a sampled pair or a classroom example."""

from __future__ import annotations

import pytest
from transformers import BertTokenizerFast

from explorer.corpus import Corpus
from explorer.examples import load_examples
from explorer.labels import LABEL_NAMES, NOT_NEXT
from explorer.models import bundled_encoder_dir
from explorer.sampling import PairSampler
from explorer.sampling.shown import ShownPair


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizerFast.from_pretrained(bundled_encoder_dir())


def _corpus() -> Corpus:
    docs = [[f"Story {d} goes on with part {i} of its plot." for i in range(6)] for d in range(4)]
    return Corpus("stories", docs, titles=[f"Story {d}" for d in range(4)])


@pytest.mark.parametrize("mode", ["bert", "sentences", "sop"])
def test_a_sampled_pair_keeps_its_text_label_documents_and_token_counts(tokenizer, mode):
    corpus = _corpus()
    pairs = PairSampler(corpus, tokenizer, mode=mode, max_length=24, seed=3).sample_many(20)
    for pair in pairs:
        shown = ShownPair.sampled(pair, corpus)
        assert (shown.a, shown.b, shown.label, shown.mode) == (pair.a, pair.b, pair.label, mode)
        assert (shown.doc_a, shown.doc_b) == (pair.doc_a, pair.doc_b)
        assert shown.tokens == (len(pair.a_ids), len(pair.b_ids)) and not shown.note
        assert shown.source == f"Story {pair.doc_a} → Story {pair.doc_b}"
        swapped = mode == "sop" and pair.label == NOT_NEXT
        assert shown.truth_name == ("swapped" if swapped else LABEL_NAMES[pair.label])
    assert {p.label for p in pairs} == {0, 1}


def test_a_classroom_example_has_no_documents_and_keeps_its_note():
    chosen = load_examples()[0]
    shown = ShownPair.example(chosen)
    assert (shown.a, shown.b, shown.label, shown.note) == (chosen.a, chosen.b, chosen.label, chosen.note)
    assert shown.doc_a is None and shown.tokens is None and chosen.id in shown.source
    assert shown.truth_name == LABEL_NAMES[chosen.label]
