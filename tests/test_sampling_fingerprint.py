"""The pairs each mode draws with a fixed seed, pinned by a fingerprint (a regression test for refactors).

The fingerprints were recorded from the sampler before its modes became strategy objects; a change in
any pair (text, ids, label, spans, cuts or the order they come in) changes the digest.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from transformers import BertTokenizerFast

from explorer.corpus import Corpus
from explorer.models import bundled_encoder_dir
from explorer.sampling import PairSampler

N_PAIRS = 300

# name -> (PairSampler options, sha256 of the pairs drawn)
RECIPES: dict[str, tuple[dict, str]] = {
    "bert": ({"mode": "bert"}, "e73bb207fcd21e6142668c309c37e8891ca504a1b37111bbc69efee4e7979a63"),
    "bert-short": (
        {"mode": "bert", "max_length": 24, "short_seq_prob": 0.5, "not_next_share": 0.3},
        "10090b7125fb593ae75feda0bf1a8566a7f5f9e26641e07210afd92ee0a27bee",
    ),
    "bert-hard": (
        {"mode": "bert", "hard_negatives": True},
        "d9e3ffae6c0506cbe4066164c68cacbd851be00c7c058cabac3282c8f9085e8f",
    ),
    "bert-hard-share": (
        {"mode": "bert", "hard_negatives": 0.4, "similar_negatives": 0.5},
        "08282b1f4b6c547938b410ad095eb41519507e576a2316d53d8590b14ab19cae",
    ),
    "bert-same-source": (
        {"mode": "bert", "max_length": 96, "same_source_negatives": True, "similar_negatives": 1.0},
        "3c5a52c356b343ce891ff07185429c1db1f10db60eaf39b32ad12a1e79dc5f9d",
    ),
    "sentences": ({"mode": "sentences"}, "6e07e2d42e19b419743da376df2d3b210b77536a818fc58506dd954b72d6807b"),
    "sentences-hard": (
        {"mode": "sentences", "hard_negatives": 0.5},
        "81a044ff735910c1715f40c96567e05075bcad6c1ebbda27ea4b797ec8a55885",
    ),
    "sentences-similar": (
        {"mode": "sentences", "similar_negatives": 1.0, "same_source_negatives": True},
        "7f03b38ab0146301acc74d788cb61e69668438ffad6bc4ab334b4cea77df073b",
    ),
    "sop": ({"mode": "sop", "not_next_share": 0.4}, "59818b2ee51eba9887ef3df4eb3022d9bdee59c858e9bf96e7b36a4247f9af16"),
    "sop-short": (
        {"mode": "sop", "max_length": 96, "short_seq_prob": 0.7, "hard_negatives": True},
        "e8fd884688cb711b704a67f54dc115c3708ac337db7e68cd5e591e94514df935",
    ),
}


def _mixed_corpus() -> Corpus:
    """Two sources, documents of uneven length and sentences of uneven token counts (so chunks vary)."""
    words = [
        "river",
        "market",
        "winter",
        "harbour",
        "letter",
        "engine",
        "garden",
        "council",
        "signal",
        "lantern",
        "orchard",
        "meadow",
    ]
    docs, sources = [], []
    for d in range(10):
        n_sentences = 3 + (d * 5) % 11
        doc = []
        for i in range(n_sentences):
            n_words = 3 + (d * 7 + i * 3) % 13
            text = " ".join(words[(d + i * j) % len(words)] for j in range(n_words))
            doc.append(f"In part {i} of story {d}, the {text}.")
        docs.append(doc)
        sources.append("alpha" if d % 2 else "beta")
    return Corpus("fingerprint", docs, sources=sources)


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizerFast.from_pretrained(bundled_encoder_dir())


def fingerprint(options: dict, tokenizer) -> str:
    sampler = PairSampler(_mixed_corpus(), tokenizer, **{"max_length": 48, "seed": 11, **options})
    digest = hashlib.sha256()
    for pair in sampler.sample_many(N_PAIRS):
        record = {**pair.to_dict(), "a_ids": pair.a_ids, "b_ids": pair.b_ids}
        digest.update(json.dumps(record, sort_keys=True).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("name", list(RECIPES))
def test_each_mode_draws_the_pairs_it_drew_before(name, tokenizer):
    options, expected = RECIPES[name]
    assert fingerprint(options, tokenizer) == expected
